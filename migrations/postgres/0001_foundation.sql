-- Kontor foundation schema (PostgreSQL). Keep in step with migrations/sqlite/0001_foundation.sql.
-- Money and other exact decimals are NUMERIC. Integers read by the server are BIGINT.

CREATE TABLE server_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id                    BIGSERIAL PRIMARY KEY,
    email                 TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    password_hash         TEXT NOT NULL,
    roles                 TEXT NOT NULL,
    weekly_capacity_hours NUMERIC NOT NULL DEFAULT 40,
    internal_cost_rate    NUMERIC,
    default_sales_rate    NUMERIC,
    active                BOOLEAN NOT NULL DEFAULT TRUE,
    version               BIGINT NOT NULL DEFAULT 1,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);

CREATE TABLE refresh_tokens (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    family_id   TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE login_attempts (
    id         BIGSERIAL PRIMARY KEY,
    email      TEXT NOT NULL,
    ip         TEXT NOT NULL,
    success    BOOLEAN NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_attempts_email_at ON login_attempts(email, at);
CREATE INDEX login_attempts_ip_at ON login_attempts(ip, at);

CREATE TABLE api_clients (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL,
    key_prefix    TEXT NOT NULL UNIQUE,
    key_hash      TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    created_by    BIGINT REFERENCES users(id),
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);

CREATE TABLE customers (
    id                  BIGSERIAL PRIMARY KEY,
    number              TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    address_street      TEXT,
    address_postal_code TEXT,
    address_city        TEXT,
    address_country     TEXT,
    vat_id              TEXT,
    billing_email       TEXT,
    currency            TEXT NOT NULL,
    payment_terms_days  BIGINT NOT NULL,
    vat_treatment       TEXT NOT NULL,
    billing_mode        TEXT NOT NULL,
    invoice_detail      TEXT NOT NULL,
    helpdesk_ref        TEXT UNIQUE,
    accounting_ref      TEXT UNIQUE,
    notes               TEXT,
    archived_at         TIMESTAMPTZ,
    version             BIGINT NOT NULL DEFAULT 1,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX customers_name ON customers(name, id);

CREATE TABLE customer_contacts (
    id           BIGSERIAL PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES customers(id),
    name         TEXT NOT NULL,
    email        TEXT,
    phone        TEXT,
    position     TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX customer_contacts_customer ON customer_contacts(customer_id, id);

CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor_type   TEXT NOT NULL,
    actor_id     BIGINT,
    actor_name   TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    BIGINT NOT NULL,
    action       TEXT NOT NULL,
    before_state TEXT,
    after_state  TEXT,
    request_id   TEXT
);
CREATE INDEX audit_log_entity ON audit_log(entity_type, entity_id, id);

CREATE TABLE idempotency_keys (
    principal      TEXT NOT NULL,
    idem_key       TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    status_code    BIGINT,
    response_headers TEXT,
    response_body  TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (principal, idem_key)
);

-- Counters for human-readable numbers (customer numbers, later ticket and invoice numbers).
-- Allocated by an upsert inside the transaction that uses the number: gapless and unique.
CREATE TABLE number_sequences (
    name       TEXT PRIMARY KEY,
    next_value BIGINT NOT NULL
);

-- Kontor foundation schema (SQLite). Keep in step with migrations/postgres/0001_foundation.sql.
-- Money and other exact decimals are TEXT holding a canonical decimal string, never REAL.
-- Timestamps are TEXT in RFC 3339 UTC, so they sort chronologically.

CREATE TABLE server_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    email                 TEXT NOT NULL UNIQUE,          -- stored lower-cased
    name                  TEXT NOT NULL,
    password_hash         TEXT NOT NULL,
    roles                 TEXT NOT NULL,                 -- comma-separated role names
    weekly_capacity_hours TEXT NOT NULL DEFAULT '40',
    internal_cost_rate    TEXT,
    default_sales_rate    TEXT,
    active                BOOLEAN NOT NULL DEFAULT 1,
    version               INTEGER NOT NULL DEFAULT 1,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);

CREATE TABLE refresh_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    family_id   TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE login_attempts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email      TEXT NOT NULL,
    ip         TEXT NOT NULL,
    success    BOOLEAN NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX login_attempts_email_at ON login_attempts(email, at);
CREATE INDEX login_attempts_ip_at ON login_attempts(ip, at);

CREATE TABLE api_clients (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    key_prefix    TEXT NOT NULL UNIQUE,
    key_hash      TEXT NOT NULL,
    scopes        TEXT NOT NULL,                         -- comma-separated scope names
    created_by    INTEGER REFERENCES users(id),
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);

CREATE TABLE customers (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    number              TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    address_street      TEXT,
    address_postal_code TEXT,
    address_city        TEXT,
    address_country     TEXT,
    vat_id              TEXT,
    billing_email       TEXT,
    currency            TEXT NOT NULL,
    payment_terms_days  INTEGER NOT NULL,
    vat_treatment       TEXT NOT NULL,
    billing_mode        TEXT NOT NULL,
    invoice_detail      TEXT NOT NULL,
    helpdesk_ref        TEXT UNIQUE,
    accounting_ref      TEXT UNIQUE,
    notes               TEXT,
    archived_at         TEXT,
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX customers_name ON customers(name, id);

CREATE TABLE customer_contacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    name         TEXT NOT NULL,
    email        TEXT,
    phone        TEXT,
    position     TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX customer_contacts_customer ON customer_contacts(customer_id, id);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    actor_type   TEXT NOT NULL,                          -- user | api_client | system
    actor_id     INTEGER,
    actor_name   TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    INTEGER NOT NULL,
    action       TEXT NOT NULL,
    before_state TEXT,                                   -- JSON
    after_state  TEXT,                                   -- JSON
    request_id   TEXT
);
CREATE INDEX audit_log_entity ON audit_log(entity_type, entity_id, id);

CREATE TABLE idempotency_keys (
    principal      TEXT NOT NULL,
    idem_key       TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    status_code    INTEGER,                              -- NULL while the first request runs
    response_headers TEXT,                               -- JSON object
    response_body  TEXT,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (principal, idem_key)
);

-- Counters for human-readable numbers (customer numbers, later ticket and invoice numbers).
-- Allocated by an upsert inside the transaction that uses the number: gapless and unique.
CREATE TABLE number_sequences (
    name       TEXT PRIMARY KEY,
    next_value INTEGER NOT NULL
);

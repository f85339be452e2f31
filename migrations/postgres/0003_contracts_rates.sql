-- Contracts, rates, surcharges, rounding rules, holidays (PostgreSQL; money NUMERIC).
-- Keep in step with migrations/sqlite/0003_contracts_rates.sql.

-- Contracts with their covered services and overage tiers.
CREATE TABLE contracts (
    id                         BIGSERIAL PRIMARY KEY,
    customer_id                BIGINT NOT NULL REFERENCES customers(id),
    number                     TEXT NOT NULL UNIQUE,             -- e.g. V-2026-0001
    name                       TEXT NOT NULL,
    kind                       TEXT NOT NULL,                    -- time_and_material | flat_fee | prepaid_hours | prepaid_budget
    start_date                 DATE NOT NULL,
    end_date                   DATE,                             -- last day (inclusive); NULL = open-ended
    billing_period             TEXT NOT NULL,                    -- monthly | quarterly | yearly
    fee_timing                 TEXT NOT NULL,                    -- in_advance | in_arrears
    fee                        NUMERIC NOT NULL,                 -- per full period; 0 for time and material
    fee_vat_rate               NUMERIC NOT NULL,                 -- percent
    covers_all_work            BOOLEAN NOT NULL,                  -- else: the services in contract_services
    separate_invoice           BOOLEAN NOT NULL,
    quota_thresholds           TEXT NOT NULL DEFAULT '[80,100]', -- JSON array of percents
    rounding_increment_minutes BIGINT,                            -- contract rounding rule (all three or none)
    rounding_minimum_minutes   BIGINT,
    rounding_mode              TEXT,                             -- up | nearest | down
    hours_per_period           NUMERIC,                          -- prepaid_hours
    budget_per_period          NUMERIC,                          -- prepaid_budget
    carry_over                 TEXT NOT NULL DEFAULT 'none',     -- none | carry
    carry_over_cap             NUMERIC,                          -- hours (prepaid_hours) or money (prepaid_budget)
    carry_over_expiry_periods  BIGINT,
    overage                    TEXT NOT NULL DEFAULT 'resolved_rates', -- resolved_rates | tiers
    archived_at                TIMESTAMPTZ,
    version                    BIGINT NOT NULL DEFAULT 1,
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);
CREATE INDEX contracts_customer ON contracts(customer_id, id);

CREATE TABLE contract_services (
    contract_id BIGINT NOT NULL REFERENCES contracts(id),
    service_id  BIGINT NOT NULL REFERENCES services(id),
    PRIMARY KEY (contract_id, service_id)
);

CREATE TABLE contract_overage_tiers (
    id          BIGSERIAL PRIMARY KEY,
    contract_id BIGINT NOT NULL REFERENCES contracts(id),
    position    BIGINT NOT NULL,                                  -- 1, 2, … in order
    up_to_hours NUMERIC,                                         -- overage hours in this tier; NULL = all beyond
    unit_price  NUMERIC NOT NULL,
    UNIQUE (contract_id, position)
);

-- Rate entries: a price per unit of a service (or any service), optionally for one user,
-- valid for [valid_from, valid_to), at the contract, project or customer level.
CREATE TABLE rate_entries (
    id          BIGSERIAL PRIMARY KEY,
    owner_type  TEXT NOT NULL,                                   -- contract | project | customer
    owner_id    BIGINT NOT NULL,
    service_id  BIGINT REFERENCES services(id),
    user_id     BIGINT REFERENCES users(id),
    unit_price  NUMERIC NOT NULL,
    currency    TEXT NOT NULL,
    valid_from  DATE NOT NULL,
    valid_to    DATE,                                            -- exclusive; NULL = open-ended
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX rate_entries_owner ON rate_entries(owner_type, owner_id, valid_from);

-- Surcharges in percent for work started on weekends, public holidays or outside
-- business hours, company-wide (owner_type global, owner_id 0) or per level.
CREATE TABLE surcharges (
    id          BIGSERIAL PRIMARY KEY,
    owner_type  TEXT NOT NULL,                                   -- global | contract | project | customer
    owner_id    BIGINT NOT NULL,                                  -- 0 for global
    kind        TEXT NOT NULL,                                   -- weekend | holiday | outside_business_hours
    percent     NUMERIC NOT NULL,
    valid_from  DATE NOT NULL,
    valid_to    DATE,
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX surcharges_owner ON surcharges(owner_type, owner_id);

-- Rounding rules: the global default (owner_type global, owner_id 0) and per customer.
-- Contracts carry their own rule in the contracts table.
CREATE TABLE rounding_rules (
    id                BIGSERIAL PRIMARY KEY,
    owner_type        TEXT NOT NULL,                             -- global | customer
    owner_id          BIGINT NOT NULL,                            -- 0 for global
    increment_minutes BIGINT NOT NULL,
    minimum_minutes   BIGINT NOT NULL,
    mode              TEXT NOT NULL,                             -- up | nearest | down
    version           BIGINT NOT NULL DEFAULT 1,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (owner_type, owner_id)
);

-- Public holidays (for holiday surcharges).
CREATE TABLE holidays (
    holiday_date DATE PRIMARY KEY,
    name         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

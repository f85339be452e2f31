-- Invoice runs, invoices and credit notes, the positions they settle, the quota ledger
-- (PostgreSQL; money NUMERIC). Keep in step with migrations/sqlite/0004_invoices.sql.

-- A committed invoice run: its parameters, who started it and what it produced.
CREATE TABLE invoice_runs (
    id                    BIGSERIAL PRIMARY KEY,
    started_via           TEXT NOT NULL,                    -- api | ticket_resolved
    scope                 TEXT NOT NULL,                    -- all | customer | contract | project | ticket
    scope_id              BIGINT,
    period_start          DATE,
    period_end            DATE NOT NULL,
    status                TEXT NOT NULL,                    -- running | completed
    started_by_type       TEXT NOT NULL,                    -- user | api_client | system
    started_by_id         BIGINT,
    started_by_name       TEXT NOT NULL,
    request_id            TEXT,
    idempotency_principal TEXT,
    idempotency_key       TEXT,
    customers_billed      BIGINT NOT NULL DEFAULT 0,
    customers_blocked     BIGINT NOT NULL DEFAULT 0,
    invoices_created      BIGINT NOT NULL DEFAULT 0,
    positions_reserved    BIGINT NOT NULL DEFAULT 0,
    problems              TEXT NOT NULL DEFAULT '[]',       -- JSON: blocked customers and their problems
    started_at            TIMESTAMPTZ NOT NULL,
    finished_at           TIMESTAMPTZ,
    UNIQUE (idempotency_principal, idempotency_key)
);

-- Invoices and credit notes. A draft has no number; issuing assigns the next number of
-- its series and year (gapless: the counter advances in the issuing transaction).
CREATE TABLE invoices (
    id                  BIGSERIAL PRIMARY KEY,
    kind                TEXT NOT NULL,                      -- invoice | credit_note
    status              TEXT NOT NULL,                      -- draft | issued | paid | cancelled
    run_id              BIGINT REFERENCES invoice_runs(id),
    customer_id         BIGINT NOT NULL REFERENCES customers(id),
    contract_id         BIGINT REFERENCES contracts(id),    -- a separate-invoice contract
    scope_ticket_id     BIGINT REFERENCES tickets(id),      -- created for one ticket
    scope_project_id    BIGINT REFERENCES projects(id),     -- created for one project
    series              TEXT,
    number_year         BIGINT,
    number_seq          BIGINT,
    number              TEXT UNIQUE,
    currency            TEXT NOT NULL,
    period_start        DATE,
    period_end          DATE NOT NULL,
    issue_date          DATE,
    due_date            DATE,
    legal_note          TEXT,                               -- reverse_charge | export
    net                 NUMERIC NOT NULL,
    vat                 NUMERIC NOT NULL,
    gross               NUMERIC NOT NULL,
    vat_breakdown       TEXT NOT NULL DEFAULT '[]',         -- JSON [{rate, net, vat}]
    quota_summaries     TEXT NOT NULL DEFAULT '[]',         -- JSON, from the run
    threshold_crossings TEXT NOT NULL DEFAULT '[]',         -- JSON, emitted as events on issue
    customer_snapshot   TEXT,                               -- JSON, the customer as of issue
    notes               TEXT,
    cancels_id          BIGINT UNIQUE REFERENCES invoices(id), -- credit note → the invoice it cancels
    cancelled_by_id     BIGINT UNIQUE REFERENCES invoices(id), -- invoice → its credit note
    feed_seq            BIGINT UNIQUE,                      -- order of the accounting feed
    exported_at         TIMESTAMPTZ,
    paid_on             DATE,
    issued_at           TIMESTAMPTZ,
    cancelled_at        TIMESTAMPTZ,
    version             BIGINT NOT NULL DEFAULT 1,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    UNIQUE (series, number_year, number_seq),
    CHECK ((status = 'draft') = (number IS NULL)),
    CHECK ((status = 'draft') = (feed_seq IS NULL))
);
CREATE INDEX invoices_customer ON invoices(customer_id, id);
CREATE INDEX invoices_status ON invoices(status, id);
CREATE INDEX invoices_run ON invoices(run_id);

CREATE TABLE invoice_lines (
    id          BIGSERIAL PRIMARY KEY,
    invoice_id  BIGINT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    line_no     BIGINT NOT NULL,
    kind        TEXT NOT NULL,                              -- fee | work | overage | mapped | expense | manual
    description TEXT NOT NULL,
    contract_id BIGINT,
    service_id  BIGINT,
    ticket_id   BIGINT,
    quantity    NUMERIC NOT NULL,
    minutes     BIGINT,
    unit        TEXT NOT NULL,
    unit_price  NUMERIC NOT NULL,
    net         NUMERIC NOT NULL,
    vat_rate    NUMERIC NOT NULL,
    surcharge   TEXT,
    positions   TEXT NOT NULL DEFAULT '[]'                  -- JSON: the positions the line bills
);
CREATE INDEX invoice_lines_invoice ON invoice_lines(invoice_id, line_no);

-- Every position an invoice settles (billed, covered or non-billable) with its treatment.
-- A position is in at most one invoice that is not cancelled: the partial unique index
-- enforces it, also for concurrent runs on several nodes.
CREATE TABLE invoice_positions (
    id               BIGSERIAL PRIMARY KEY,
    invoice_id       BIGINT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    position_key     TEXT NOT NULL,                         -- booking:7 | booking_field:7:2 | expense:3 | fee:5:2026-11-01
    booking_id       BIGINT REFERENCES bookings(id) ON DELETE SET NULL,
    expense_id       BIGINT REFERENCES expenses(id) ON DELETE SET NULL,
    fee_contract_id  BIGINT REFERENCES contracts(id),
    fee_period_start DATE,
    contract_id      BIGINT,                                -- the contract it was billed under
    treatment        TEXT NOT NULL,                         -- billed | covered | partly_covered | non_billable
    actual_minutes   BIGINT,
    rounded_minutes  BIGINT,
    covered_minutes  BIGINT,
    covered_value    NUMERIC,
    position_version BIGINT,                                -- booking/expense version when reserved
    active           BOOLEAN NOT NULL                       -- false once the invoice is cancelled
);
CREATE UNIQUE INDEX invoice_positions_once ON invoice_positions(position_key) WHERE active;
CREATE INDEX invoice_positions_invoice ON invoice_positions(invoice_id);
CREATE INDEX invoice_positions_booking ON invoice_positions(booking_id);
CREATE INDEX invoice_positions_expense ON invoice_positions(expense_id);
CREATE INDEX invoice_positions_fee ON invoice_positions(fee_contract_id, fee_period_start);

-- The quota-ledger entries a draft writes when it is issued.
CREATE TABLE invoice_quota_entries (
    id                  BIGSERIAL PRIMARY KEY,
    invoice_id          BIGINT NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    contract_id         BIGINT NOT NULL REFERENCES contracts(id),
    period_start        DATE NOT NULL,
    origin_period_start DATE NOT NULL,
    kind                TEXT NOT NULL,
    amount              NUMERIC NOT NULL,
    position            TEXT                                -- JSON position, if any
);
CREATE INDEX invoice_quota_entries_invoice ON invoice_quota_entries(invoice_id);
CREATE INDEX invoice_quota_entries_contract ON invoice_quota_entries(contract_id);

-- The quota ledger of prepaid contracts: append-only entries written by issued invoices
-- and reversed by their credit notes. Balances are derived, never stored.
CREATE TABLE quota_ledger (
    id                  BIGSERIAL PRIMARY KEY,
    contract_id         BIGINT NOT NULL REFERENCES contracts(id),
    period_start        DATE NOT NULL,
    origin_period_start DATE NOT NULL,
    kind                TEXT NOT NULL,                      -- grant | consumption | carry_out | carry_in | expiry | reversal | overage | close
    amount              NUMERIC NOT NULL,
    position            TEXT,
    invoice_id          BIGINT NOT NULL REFERENCES invoices(id),
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX quota_ledger_contract ON quota_ledger(contract_id, period_start, id);

-- Per customer, a counter every change of what is invoiced advances (drafts created,
-- removed, cancelled). A run computed on older data notices and computes again.
CREATE TABLE customer_billing_state (
    customer_id BIGINT PRIMARY KEY REFERENCES customers(id),
    version     BIGINT NOT NULL
);

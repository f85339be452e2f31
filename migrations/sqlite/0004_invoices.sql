-- Invoice runs, invoices and credit notes, the positions they settle, the quota ledger
-- (SQLite; money and exact decimals as canonical TEXT). Keep in step with migrations/postgres/0004_invoices.sql.

-- A committed invoice run: its parameters, who started it and what it produced.
CREATE TABLE invoice_runs (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    started_via           TEXT NOT NULL,                    -- api | ticket_resolved
    scope                 TEXT NOT NULL,                    -- all | customer | contract | project | ticket
    scope_id              INTEGER,
    period_start          DATE,
    period_end            DATE NOT NULL,
    status                TEXT NOT NULL,                    -- running | completed
    started_by_type       TEXT NOT NULL,                    -- user | api_client | system
    started_by_id         INTEGER,
    started_by_name       TEXT NOT NULL,
    request_id            TEXT,
    idempotency_principal TEXT,
    idempotency_key       TEXT,
    customers_billed      INTEGER NOT NULL DEFAULT 0,
    customers_blocked     INTEGER NOT NULL DEFAULT 0,
    invoices_created      INTEGER NOT NULL DEFAULT 0,
    positions_reserved    INTEGER NOT NULL DEFAULT 0,
    problems              TEXT NOT NULL DEFAULT '[]',       -- JSON: blocked customers and their problems
    started_at            TEXT        NOT NULL,
    finished_at           TEXT       ,
    UNIQUE (idempotency_principal, idempotency_key)
);

-- Invoices and credit notes. A draft has no number; issuing assigns the next number of
-- its series and year (gapless: the counter advances in the issuing transaction).
CREATE TABLE invoices (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL,                      -- invoice | credit_note
    status              TEXT NOT NULL,                      -- draft | issued | paid | cancelled
    run_id              INTEGER REFERENCES invoice_runs(id),
    customer_id         INTEGER NOT NULL REFERENCES customers(id),
    contract_id         INTEGER REFERENCES contracts(id),    -- a separate-invoice contract
    scope_ticket_id     INTEGER REFERENCES tickets(id),      -- created for one ticket
    scope_project_id    INTEGER REFERENCES projects(id),     -- created for one project
    series              TEXT,
    number_year         INTEGER,
    number_seq          INTEGER,
    number              TEXT UNIQUE,
    currency            TEXT NOT NULL,
    period_start        DATE,
    period_end          DATE NOT NULL,
    issue_date          DATE,
    due_date            DATE,
    legal_note          TEXT,                               -- reverse_charge | export
    net                 TEXT NOT NULL,
    vat                 TEXT NOT NULL,
    gross               TEXT NOT NULL,
    vat_breakdown       TEXT NOT NULL DEFAULT '[]',         -- JSON [{rate, net, vat}]
    quota_summaries     TEXT NOT NULL DEFAULT '[]',         -- JSON, from the run
    threshold_crossings TEXT NOT NULL DEFAULT '[]',         -- JSON, emitted as events on issue
    customer_snapshot   TEXT,                               -- JSON, the customer as of issue
    notes               TEXT,
    cancels_id          INTEGER UNIQUE REFERENCES invoices(id), -- credit note → the invoice it cancels
    cancelled_by_id     INTEGER UNIQUE REFERENCES invoices(id), -- invoice → its credit note
    feed_seq            INTEGER UNIQUE,                      -- order of the accounting feed
    exported_at         TEXT       ,
    paid_on             DATE,
    issued_at           TEXT       ,
    cancelled_at        TEXT       ,
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT        NOT NULL,
    updated_at          TEXT        NOT NULL,
    UNIQUE (series, number_year, number_seq),
    CHECK ((status = 'draft') = (number IS NULL)),
    CHECK ((status = 'draft') = (feed_seq IS NULL))
);
CREATE INDEX invoices_customer ON invoices(customer_id, id);
CREATE INDEX invoices_status ON invoices(status, id);
CREATE INDEX invoices_run ON invoices(run_id);

CREATE TABLE invoice_lines (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id  INTEGER NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    line_no     INTEGER NOT NULL,
    kind        TEXT NOT NULL,                              -- fee | work | overage | mapped | expense | manual
    description TEXT NOT NULL,
    contract_id INTEGER,
    service_id  INTEGER,
    ticket_id   INTEGER,
    quantity    TEXT NOT NULL,
    minutes     INTEGER,
    unit        TEXT NOT NULL,
    unit_price  TEXT NOT NULL,
    net         TEXT NOT NULL,
    vat_rate    TEXT NOT NULL,
    surcharge   TEXT,
    positions   TEXT NOT NULL DEFAULT '[]'                  -- JSON: the positions the line bills
);
CREATE INDEX invoice_lines_invoice ON invoice_lines(invoice_id, line_no);

-- Every position an invoice settles (billed, covered or non-billable) with its treatment.
-- A position is in at most one invoice that is not cancelled: the partial unique index
-- enforces it, also for concurrent runs on several nodes.
CREATE TABLE invoice_positions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id       INTEGER NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    position_key     TEXT NOT NULL,                         -- booking:7 | booking_field:7:2 | expense:3 | fee:5:2026-11-01
    booking_id       INTEGER REFERENCES bookings(id) ON DELETE SET NULL,
    expense_id       INTEGER REFERENCES expenses(id) ON DELETE SET NULL,
    fee_contract_id  INTEGER REFERENCES contracts(id),
    fee_period_start DATE,
    contract_id      INTEGER,                                -- the contract it was billed under
    treatment        TEXT NOT NULL,                         -- billed | covered | partly_covered | non_billable
    actual_minutes   INTEGER,
    rounded_minutes  INTEGER,
    covered_minutes  INTEGER,
    covered_value    TEXT,
    position_version INTEGER,                                -- booking/expense version when reserved
    active           BOOLEAN NOT NULL                       -- false once the invoice is cancelled
);
CREATE UNIQUE INDEX invoice_positions_once ON invoice_positions(position_key) WHERE active;
CREATE INDEX invoice_positions_invoice ON invoice_positions(invoice_id);
CREATE INDEX invoice_positions_booking ON invoice_positions(booking_id);
CREATE INDEX invoice_positions_expense ON invoice_positions(expense_id);
CREATE INDEX invoice_positions_fee ON invoice_positions(fee_contract_id, fee_period_start);

-- The quota-ledger entries a draft writes when it is issued.
CREATE TABLE invoice_quota_entries (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id          INTEGER NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    contract_id         INTEGER NOT NULL REFERENCES contracts(id),
    period_start        DATE NOT NULL,
    origin_period_start DATE NOT NULL,
    kind                TEXT NOT NULL,
    amount              TEXT NOT NULL,
    position            TEXT                                -- JSON position, if any
);
CREATE INDEX invoice_quota_entries_invoice ON invoice_quota_entries(invoice_id);
CREATE INDEX invoice_quota_entries_contract ON invoice_quota_entries(contract_id);

-- The quota ledger of prepaid contracts: append-only entries written by issued invoices
-- and reversed by their credit notes. Balances are derived, never stored.
CREATE TABLE quota_ledger (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id         INTEGER NOT NULL REFERENCES contracts(id),
    period_start        DATE NOT NULL,
    origin_period_start DATE NOT NULL,
    kind                TEXT NOT NULL,                      -- grant | consumption | carry_out | carry_in | expiry | reversal | overage | close
    amount              TEXT NOT NULL,
    position            TEXT,
    invoice_id          INTEGER NOT NULL REFERENCES invoices(id),
    created_at          TEXT        NOT NULL
);
CREATE INDEX quota_ledger_contract ON quota_ledger(contract_id, period_start, id);

-- Per customer, a counter every change of what is invoiced advances (drafts created,
-- removed, cancelled). A run computed on older data notices and computes again.
CREATE TABLE customer_billing_state (
    customer_id INTEGER PRIMARY KEY REFERENCES customers(id),
    version     INTEGER NOT NULL
);

-- Settlements (SQLite; keep in step with migrations/postgres/0006_settlements.sql): a committed
-- proposal without lines settles its positions and closes quota periods, but takes no number
-- and never enters the accounting feed. The invoices' CHECK constraints allow that for kind
-- 'settlement'. SQLite cannot alter a CHECK, so the table is rebuilt (the documented
-- procedure: new table, copy, drop, rename, indexes). Migrations run with foreign-key
-- enforcement off (`Store::migrate`), so dropping the old table cascades to nothing.
CREATE TABLE invoices_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL,                      -- invoice | credit_note | settlement
    status              TEXT NOT NULL,                      -- draft | issued | paid | cancelled | settled
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
    CHECK ((status = 'draft' OR kind = 'settlement') = (number IS NULL)),
    CHECK ((status = 'draft' OR kind = 'settlement') = (feed_seq IS NULL))
);
INSERT INTO invoices_new SELECT * FROM invoices;
DROP TABLE invoices;
ALTER TABLE invoices_new RENAME TO invoices;
CREATE INDEX invoices_customer ON invoices(customer_id, id);
CREATE INDEX invoices_status ON invoices(status, id);
CREATE INDEX invoices_run ON invoices(run_id);

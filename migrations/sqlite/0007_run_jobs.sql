-- Invoice runs as jobs (SQLite; keep in step with migrations/postgres/0007_run_jobs.sql).
-- A committed run over all customers is queued and billed by a worker that holds a lease
-- (owner, expiry renewed by heartbeats); a run whose lease expired is resumed by the next
-- worker after `last_customer_id` (customers are billed in id order). Issuing all drafts
-- of a run is a job of its own (`invoice_run_issues`). Statuses: queued | running |
-- succeeded | failed | cancelled; the old `completed` becomes `succeeded`.
-- `started_at` becomes optional (a queued run has not started), which SQLite can only do
-- by rebuilding the table (new table, copy, drop, rename). Migrations run with foreign-key
-- enforcement off (`Store::migrate`), so dropping the old table cascades to nothing.
CREATE TABLE invoice_runs_new (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    started_via           TEXT NOT NULL,                    -- api | ticket_resolved
    scope                 TEXT NOT NULL,                    -- all | customer | contract | project | ticket
    scope_id              INTEGER,
    period_start          DATE,
    period_end            DATE NOT NULL,
    status                TEXT NOT NULL,                    -- queued | running | succeeded | failed | cancelled
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
    started_at            TEXT       ,
    finished_at           TEXT       ,
    queued_at             TEXT       ,
    customers_total       INTEGER,                          -- known once a worker planned the run
    customers_done        INTEGER NOT NULL DEFAULT 0,
    last_customer_id      INTEGER,                          -- customers up to this id are done
    lease_owner           TEXT,                             -- the worker holding the run
    lease_expires_at      TEXT       ,                      -- renewed by its heartbeats
    cancel_requested      BOOLEAN NOT NULL DEFAULT 0,
    failure               TEXT,                             -- why a failed run failed
    attempts              INTEGER NOT NULL DEFAULT 0,       -- claims by a worker (retried until the limit)
    projects_billed       TEXT NOT NULL DEFAULT '[]',       -- JSON: projects the run moved to `billed`
    UNIQUE (idempotency_principal, idempotency_key)
);
INSERT INTO invoice_runs_new (id, started_via, scope, scope_id, period_start, period_end, status, started_by_type,
    started_by_id, started_by_name, request_id, idempotency_principal, idempotency_key, customers_billed,
    customers_blocked, invoices_created, positions_reserved, problems, started_at, finished_at, queued_at)
SELECT id, started_via, scope, scope_id, period_start, period_end,
    CASE status WHEN 'completed' THEN 'succeeded' ELSE status END, started_by_type,
    started_by_id, started_by_name, request_id, idempotency_principal, idempotency_key, customers_billed,
    customers_blocked, invoices_created, positions_reserved, problems, started_at, finished_at, started_at
FROM invoice_runs;
DROP TABLE invoice_runs;
ALTER TABLE invoice_runs_new RENAME TO invoice_runs;
CREATE INDEX invoice_runs_active ON invoice_runs(status, id) WHERE status IN ('queued', 'running');

-- Issuing the drafts of a run: one job per request, in customer-number order, one
-- transaction per invoice; drafts that cannot be issued are listed in `problems`.
CREATE TABLE invoice_run_issues (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id                INTEGER NOT NULL REFERENCES invoice_runs(id),
    status                TEXT NOT NULL,                    -- queued | running | succeeded | failed | cancelled
    series                TEXT NOT NULL,
    issue_date            DATE NOT NULL,
    started_by_type       TEXT NOT NULL,
    started_by_id         INTEGER,
    started_by_name       TEXT NOT NULL,
    request_id            TEXT,
    idempotency_principal TEXT,
    idempotency_key       TEXT,
    invoices_total        INTEGER,                          -- known once a worker started
    invoices_issued       INTEGER NOT NULL DEFAULT 0,
    invoices_skipped      INTEGER NOT NULL DEFAULT 0,
    problems              TEXT NOT NULL DEFAULT '[]',       -- JSON: drafts not issued and why
    queued_at             TEXT        NOT NULL,
    started_at            TEXT       ,
    finished_at           TEXT       ,
    lease_owner           TEXT,
    lease_expires_at      TEXT       ,
    cancel_requested      BOOLEAN NOT NULL DEFAULT 0,
    failure               TEXT,
    attempts              INTEGER NOT NULL DEFAULT 0,
    UNIQUE (idempotency_principal, idempotency_key)
);
CREATE INDEX invoice_run_issues_run ON invoice_run_issues(run_id, id);
CREATE INDEX invoice_run_issues_active ON invoice_run_issues(status, id) WHERE status IN ('queued', 'running');
-- At most one issue job per run at a time.
CREATE UNIQUE INDEX invoice_run_issues_one_active ON invoice_run_issues(run_id) WHERE status IN ('queued', 'running');

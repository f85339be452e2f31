-- Invoice runs as jobs (PostgreSQL; keep in step with migrations/sqlite/0007_run_jobs.sql).
-- A committed run over all customers is queued and billed by a worker that holds a lease
-- (owner, expiry renewed by heartbeats); a run whose lease expired is resumed by the next
-- worker after `last_customer_id` (customers are billed in id order). Issuing all drafts
-- of a run is a job of its own (`invoice_run_issues`). Statuses: queued | running |
-- succeeded | failed | cancelled; the old `completed` becomes `succeeded`.
ALTER TABLE invoice_runs
    ALTER COLUMN started_at DROP NOT NULL,
    ADD COLUMN queued_at        TIMESTAMPTZ,
    ADD COLUMN customers_total  BIGINT,                     -- known once a worker planned the run
    ADD COLUMN customers_done   BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN last_customer_id BIGINT,                     -- customers up to this id are done
    ADD COLUMN lease_owner      TEXT,                       -- the worker holding the run
    ADD COLUMN lease_expires_at TIMESTAMPTZ,                -- renewed by its heartbeats
    ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN failure          TEXT,                       -- why a failed run failed
    ADD COLUMN attempts         BIGINT NOT NULL DEFAULT 0,  -- claims by a worker (retried until the limit)
    ADD COLUMN projects_billed  TEXT NOT NULL DEFAULT '[]'; -- JSON: projects the run moved to `billed`
UPDATE invoice_runs SET status = CASE status WHEN 'completed' THEN 'succeeded' ELSE status END,
    queued_at = started_at;
CREATE INDEX invoice_runs_active ON invoice_runs(status, id) WHERE status IN ('queued', 'running');

-- Issuing the drafts of a run: one job per request, in customer-number order, one
-- transaction per invoice; drafts that cannot be issued are listed in `problems`.
CREATE TABLE invoice_run_issues (
    id                    BIGSERIAL PRIMARY KEY,
    run_id                BIGINT NOT NULL REFERENCES invoice_runs(id),
    status                TEXT NOT NULL,                    -- queued | running | succeeded | failed | cancelled
    series                TEXT NOT NULL,
    issue_date            DATE NOT NULL,
    started_by_type       TEXT NOT NULL,
    started_by_id         BIGINT,
    started_by_name       TEXT NOT NULL,
    request_id            TEXT,
    idempotency_principal TEXT,
    idempotency_key       TEXT,
    invoices_total        BIGINT,                           -- known once a worker started
    invoices_issued       BIGINT NOT NULL DEFAULT 0,
    invoices_skipped      BIGINT NOT NULL DEFAULT 0,
    problems              TEXT NOT NULL DEFAULT '[]',       -- JSON: drafts not issued and why
    queued_at             TIMESTAMPTZ NOT NULL,
    started_at            TIMESTAMPTZ,
    finished_at           TIMESTAMPTZ,
    lease_owner           TEXT,
    lease_expires_at      TIMESTAMPTZ,
    cancel_requested      BOOLEAN NOT NULL DEFAULT FALSE,
    failure               TEXT,
    attempts              BIGINT NOT NULL DEFAULT 0,
    UNIQUE (idempotency_principal, idempotency_key)
);
CREATE INDEX invoice_run_issues_run ON invoice_run_issues(run_id, id);
CREATE INDEX invoice_run_issues_active ON invoice_run_issues(status, id) WHERE status IN ('queued', 'running');
-- At most one issue job per run at a time.
CREATE UNIQUE INDEX invoice_run_issues_one_active ON invoice_run_issues(run_id) WHERE status IN ('queued', 'running');

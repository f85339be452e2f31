-- Webhooks (SQLite; keep in step with migrations/postgres/0013_webhooks.sql): where events go,
-- one delivery per webhook and event (retried with back-off until it succeeds or the schedule
-- is used up), and every attempt of it. The dispatcher marks an event `delivered_at` once it
-- has made the deliveries of every webhook that wants it.
CREATE TABLE webhooks (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    url                   TEXT NOT NULL,
    description           TEXT,
    event_types           TEXT NOT NULL,        -- JSON array of patterns: invoice.issued, invoice.*, *
    active                BOOLEAN NOT NULL,
    secret                TEXT NOT NULL,        -- whsec_<base64 key>
    previous_secret       TEXT,                 -- still signs until previous_secret_until (rotation)
    previous_secret_until TEXT,
    first_event_id        INTEGER NOT NULL,        -- events after this one are delivered
    failing_since         TEXT,                  -- first failure of the current streak
    disabled_reason       TEXT,
    version               INTEGER NOT NULL DEFAULT 1,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id         INTEGER NOT NULL REFERENCES events(id),
    status           TEXT NOT NULL,             -- pending | succeeded | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    lease_until      TEXT,                       -- claimed by a dispatcher until then
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);

CREATE TABLE webhook_attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id      INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    status_code      INTEGER,                      -- NULL when no answer came (timeout, refused)
    latency_ms       INTEGER NOT NULL,
    response_excerpt TEXT,
    error            TEXT,
    attempted_at     TEXT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);

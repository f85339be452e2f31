-- Webhooks (PostgreSQL; keep in step with migrations/sqlite/0013_webhooks.sql): where events go,
-- one delivery per webhook and event (retried with back-off until it succeeds or the schedule
-- is used up), and every attempt of it. The dispatcher marks an event `delivered_at` once it
-- has made the deliveries of every webhook that wants it.
CREATE TABLE webhooks (
    id                    BIGSERIAL PRIMARY KEY,
    url                   TEXT NOT NULL,
    description           TEXT,
    event_types           TEXT NOT NULL,        -- JSON array of patterns: invoice.issued, invoice.*, *
    active                BOOLEAN NOT NULL,
    secret                TEXT NOT NULL,        -- whsec_<base64 key>
    previous_secret       TEXT,                 -- still signs until previous_secret_until (rotation)
    previous_secret_until TIMESTAMPTZ,
    first_event_id        BIGINT NOT NULL,        -- events after this one are delivered
    failing_since         TIMESTAMPTZ,                  -- first failure of the current streak
    disabled_reason       TEXT,
    version               BIGINT NOT NULL DEFAULT 1,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    webhook_id       BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id         BIGINT NOT NULL REFERENCES events(id),
    status           TEXT NOT NULL,             -- pending | succeeded | failed
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    lease_until      TIMESTAMPTZ,                       -- claimed by a dispatcher until then
    last_status_code BIGINT,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);

CREATE TABLE webhook_attempts (
    id               BIGSERIAL PRIMARY KEY,
    delivery_id      BIGINT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt          BIGINT NOT NULL,
    status_code      BIGINT,                      -- NULL when no answer came (timeout, refused)
    latency_ms       BIGINT NOT NULL,
    response_excerpt TEXT,
    error            TEXT,
    attempted_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);

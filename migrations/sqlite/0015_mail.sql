-- E-mail (SQLite; keep in step with migrations/postgres/0015_mail.sql): the language users and
-- customers read their mail in, whether a customer's contacts hear of their tickets' status,
-- who looks after a customer (quota mails), and the mail outbox that is also the mail log.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'de';
ALTER TABLE customers ADD COLUMN language TEXT NOT NULL DEFAULT 'de';
ALTER TABLE customers ADD COLUMN keep_client_informed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE customers ADD COLUMN account_manager_id INTEGER REFERENCES users(id);

-- One mail to one recipient, written in the transaction that handles its cause (the event's
-- fan-out, or a report sent by hand) and sent by the mail dispatcher of some node.
CREATE TABLE mail_messages (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id          INTEGER REFERENCES events(id),   -- the event it tells of; NULL: sent by hand
    kind              TEXT NOT NULL,                    -- project_step | estimate_exceeded | … | report
    entity_type       TEXT NOT NULL,                    -- project | contract | ticket | invoice
    entity_id         INTEGER NOT NULL,
    recipient         TEXT NOT NULL,
    language          TEXT NOT NULL,
    subject           TEXT NOT NULL,
    body              TEXT NOT NULL,
    attachment_name   TEXT,
    attachment_type   TEXT,
    attachment_render TEXT,                             -- invoice document format rendered when sent
    attachment        BLOB,                             -- the file (NULL: the invoice, rendered when sent)
    status            TEXT NOT NULL,                    -- pending | sent | failed | not_configured
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   TEXT NOT NULL,
    lease_until       TEXT,
    last_error        TEXT,
    sent_at           TEXT,
    created_by        INTEGER REFERENCES users(id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (event_id, kind, recipient)
);
CREATE INDEX mail_messages_due ON mail_messages(status, next_attempt_at);
CREATE INDEX mail_messages_entity ON mail_messages(entity_type, entity_id, id);

-- Events that may cause mail, queued by the webhook fan-out in the transaction that hands them
-- out and removed in the transaction that writes their mails: each is mailed exactly once.
CREATE TABLE mail_queue (
    event_id INTEGER PRIMARY KEY REFERENCES events(id)
);

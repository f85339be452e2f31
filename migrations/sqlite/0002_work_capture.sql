-- Work capture: catalog, teams, custom fields, projects, tickets with registers, bookings, expenses.
-- SQLite: money TEXT (exact decimal), timestamps TEXT (RFC 3339 UTC), dates TEXT (YYYY-MM-DD).
-- Keep in step with migrations/postgres/0002_work_capture.sql.

-- Service catalog (Leistungen / výkony).
CREATE TABLE services (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    code                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    unit                TEXT NOT NULL,                  -- hour | km | piece | flat
    kind                TEXT NOT NULL,                  -- work | travel | material | fee
    default_price       TEXT,
    vat_rate            TEXT NOT NULL,               -- percent, e.g. 19
    billable_by_default BOOLEAN NOT NULL,
    archived_at         TEXT,
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

-- Teams and their members.
CREATE TABLE teams (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    archived_at TEXT,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE team_members (
    team_id    INTEGER NOT NULL REFERENCES teams(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

-- Admin-defined extra fields of bookings and tickets.
CREATE TABLE custom_field_definitions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    entity             TEXT NOT NULL,                   -- booking | ticket
    field_key          TEXT NOT NULL,                   -- JSON key of the value, e.g. km
    label              TEXT NOT NULL,
    field_type         TEXT NOT NULL,                   -- number | text | boolean | date | select
    required           BOOLEAN NOT NULL,
    options            TEXT,                            -- JSON array of allowed values (select)
    min_value          TEXT,
    max_value          TEXT,
    billing_service_id INTEGER REFERENCES services(id),   -- number fields of bookings only
    archived_at        TEXT,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    UNIQUE (entity, field_key)
);

-- Projects (internal or for a customer) and their tasks.
CREATE TABLE projects (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    name                 TEXT NOT NULL,
    description          TEXT,
    internal             BOOLEAN NOT NULL,
    customer_id          INTEGER REFERENCES customers(id),
    project_manager_id   INTEGER REFERENCES users(id),
    account_manager_id   INTEGER REFERENCES users(id),
    project_lead_id      INTEGER REFERENCES users(id),
    estimate_hours       TEXT,
    budget               TEXT,
    status               TEXT NOT NULL,                 -- open | lead_done | manager_done | billed | archived
    estimate_exceeded_at TEXT,
    version              INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX projects_customer ON projects(customer_id, id);

CREATE TABLE project_tasks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id     INTEGER NOT NULL REFERENCES projects(id),
    name           TEXT NOT NULL,
    assignee_id    INTEGER REFERENCES users(id),
    estimate_hours TEXT,
    notes          TEXT,
    done           BOOLEAN NOT NULL DEFAULT 0,
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX project_tasks_project ON project_tasks(project_id, id);

-- Domain events, written in the same transaction as the change (the outbox).
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type   TEXT NOT NULL,                         -- e.g. project.estimate_exceeded
    entity_type  TEXT NOT NULL,
    entity_id    INTEGER NOT NULL,
    payload      TEXT NOT NULL,                         -- JSON
    created_at   TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX events_undelivered ON events(delivered_at, id);

-- Tickets (and work orders) with human-readable numbers.
CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    number           TEXT NOT NULL UNIQUE,              -- T-2026-000123
    ticket_type      TEXT NOT NULL,                     -- ticket | work_order
    title            TEXT NOT NULL,
    description      TEXT,
    customer_id      INTEGER REFERENCES customers(id),
    contact_id       INTEGER REFERENCES customer_contacts(id),
    project_id       INTEGER REFERENCES projects(id),
    task_id          INTEGER REFERENCES project_tasks(id),
    contract_id      INTEGER,                             -- contracts arrive with invoicing
    assignee_user_id INTEGER REFERENCES users(id),
    assignee_team_id INTEGER REFERENCES teams(id),
    priority         TEXT NOT NULL,                     -- low | normal | high | urgent
    status           TEXT NOT NULL,                     -- new | open | in_progress | waiting | resolved | closed
    due_date         DATE,
    estimate_minutes INTEGER,
    source           TEXT NOT NULL,                     -- api | helpdesk | email | phone | portal
    external_system  TEXT,
    external_id      TEXT,
    external_url     TEXT,
    custom_fields    TEXT NOT NULL DEFAULT '{}',        -- JSON object
    resolved_at      TEXT,
    closed_at        TEXT,
    created_by       TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (external_system, external_id)
);
CREATE INDEX tickets_customer ON tickets(customer_id, id);
CREATE INDEX tickets_status ON tickets(status, id);
CREATE INDEX tickets_project ON tickets(project_id, id);

CREATE TABLE ticket_appointments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL,
    user_id    INTEGER REFERENCES users(id),
    location   TEXT,
    notes      TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX ticket_appointments_ticket ON ticket_appointments(ticket_id, starts_at);

-- Stored files (scans, photos, e-mails), addressed by content hash on the filesystem.
CREATE TABLE documents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id    INTEGER REFERENCES tickets(id),
    project_id   INTEGER REFERENCES projects(id),
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

-- The ticket's registers: append-only timeline of notes, correspondence, documents and
-- automatic status-change entries. Corrections are new entries.
CREATE TABLE ticket_timeline (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
    entry_type  TEXT NOT NULL,                          -- note | correspondence | document | status_change | assignment
    visibility  TEXT NOT NULL,                          -- internal | customer
    in_report   BOOLEAN NOT NULL,
    body        TEXT,
    channel     TEXT,                                   -- phone | email_in | email_out (correspondence)
    from_addr   TEXT,
    to_addr     TEXT,
    subject     TEXT,
    document_id INTEGER REFERENCES documents(id),
    old_status  TEXT,
    new_status  TEXT,
    corrects_id INTEGER REFERENCES ticket_timeline(id),
    author_type TEXT NOT NULL,
    author_id   INTEGER,
    author_name TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX ticket_timeline_ticket ON ticket_timeline(ticket_id, id);

-- Time bookings.
CREATE TABLE bookings (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users(id),
    work_date        DATE NOT NULL,
    start_time       TEXT,
    end_time         TEXT,
    duration_minutes INTEGER NOT NULL,
    service_id       INTEGER NOT NULL REFERENCES services(id),
    description      TEXT NOT NULL,
    customer_id      INTEGER REFERENCES customers(id),    -- derived from ticket or project
    ticket_id        INTEGER REFERENCES tickets(id),
    project_id       INTEGER REFERENCES projects(id),
    task_id          INTEGER REFERENCES project_tasks(id),
    billable         BOOLEAN NOT NULL,
    rate_override    TEXT,
    custom_fields    TEXT NOT NULL DEFAULT '{}',        -- JSON object
    state            TEXT NOT NULL,                     -- open | billed
    created_by       TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX bookings_user_date ON bookings(user_id, work_date);
CREATE INDEX bookings_customer_date ON bookings(customer_id, work_date);
CREATE INDEX bookings_ticket ON bookings(ticket_id);
CREATE INDEX bookings_project ON bookings(project_id, task_id);

-- Expenses and material.
CREATE TABLE expenses (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER REFERENCES users(id),
    expense_date DATE NOT NULL,
    service_id   INTEGER REFERENCES services(id),
    description  TEXT NOT NULL,
    quantity     TEXT NOT NULL,
    unit         TEXT NOT NULL,
    unit_price   TEXT NOT NULL,
    vat_rate     TEXT NOT NULL,
    billable     BOOLEAN NOT NULL,
    customer_id  INTEGER REFERENCES customers(id),
    ticket_id    INTEGER REFERENCES tickets(id),
    project_id   INTEGER REFERENCES projects(id),
    task_id      INTEGER REFERENCES project_tasks(id),
    state        TEXT NOT NULL,                         -- open | billed
    created_by   TEXT NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX expenses_customer_date ON expenses(customer_id, expense_date);
CREATE INDEX expenses_ticket ON expenses(ticket_id);

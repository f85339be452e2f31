-- Work capture: catalog, teams, custom fields, projects, tickets with registers, bookings, expenses.
-- PostgreSQL: money NUMERIC, timestamps TIMESTAMPTZ.
-- Keep in step with migrations/sqlite/0002_work_capture.sql.

-- Service catalog (Leistungen / výkony).
CREATE TABLE services (
    id                  BIGSERIAL PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    unit                TEXT NOT NULL,                  -- hour | km | piece | flat
    kind                TEXT NOT NULL,                  -- work | travel | material | fee
    default_price       NUMERIC,
    vat_rate            NUMERIC NOT NULL,               -- percent, e.g. 19
    billable_by_default BOOLEAN NOT NULL,
    archived_at         TIMESTAMPTZ,
    version             BIGINT NOT NULL DEFAULT 1,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

-- Teams and their members.
CREATE TABLE teams (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    archived_at TIMESTAMPTZ,
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE team_members (
    team_id    BIGINT NOT NULL REFERENCES teams(id),
    user_id    BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

-- Admin-defined extra fields of bookings and tickets.
CREATE TABLE custom_field_definitions (
    id                 BIGSERIAL PRIMARY KEY,
    entity             TEXT NOT NULL,                   -- booking | ticket
    field_key          TEXT NOT NULL,                   -- JSON key of the value, e.g. km
    label              TEXT NOT NULL,
    field_type         TEXT NOT NULL,                   -- number | text | boolean | date | select
    required           BOOLEAN NOT NULL,
    options            TEXT,                            -- JSON array of allowed values (select)
    min_value          NUMERIC,
    max_value          NUMERIC,
    billing_service_id BIGINT REFERENCES services(id),   -- number fields of bookings only
    archived_at        TIMESTAMPTZ,
    version            BIGINT NOT NULL DEFAULT 1,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (entity, field_key)
);

-- Projects (internal or for a customer) and their tasks.
CREATE TABLE projects (
    id                   BIGSERIAL PRIMARY KEY,
    name                 TEXT NOT NULL,
    description          TEXT,
    internal             BOOLEAN NOT NULL,
    customer_id          BIGINT REFERENCES customers(id),
    project_manager_id   BIGINT REFERENCES users(id),
    account_manager_id   BIGINT REFERENCES users(id),
    project_lead_id      BIGINT REFERENCES users(id),
    estimate_hours       NUMERIC,
    budget               NUMERIC,
    status               TEXT NOT NULL,                 -- open | lead_done | manager_done | billed | archived
    estimate_exceeded_at TIMESTAMPTZ,
    version              BIGINT NOT NULL DEFAULT 1,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX projects_customer ON projects(customer_id, id);

CREATE TABLE project_tasks (
    id             BIGSERIAL PRIMARY KEY,
    project_id     BIGINT NOT NULL REFERENCES projects(id),
    name           TEXT NOT NULL,
    assignee_id    BIGINT REFERENCES users(id),
    estimate_hours NUMERIC,
    notes          TEXT,
    done           BOOLEAN NOT NULL DEFAULT FALSE,
    version        BIGINT NOT NULL DEFAULT 1,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX project_tasks_project ON project_tasks(project_id, id);

-- Domain events, written in the same transaction as the change (the outbox).
CREATE TABLE events (
    id           BIGSERIAL PRIMARY KEY,
    event_type   TEXT NOT NULL,                         -- e.g. project.estimate_exceeded
    entity_type  TEXT NOT NULL,
    entity_id    BIGINT NOT NULL,
    payload      TEXT NOT NULL,                         -- JSON
    created_at   TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ
);
CREATE INDEX events_undelivered ON events(delivered_at, id);

-- Tickets (and work orders) with human-readable numbers.
CREATE TABLE tickets (
    id               BIGSERIAL PRIMARY KEY,
    number           TEXT NOT NULL UNIQUE,              -- T-2026-000123
    ticket_type      TEXT NOT NULL,                     -- ticket | work_order
    title            TEXT NOT NULL,
    description      TEXT,
    customer_id      BIGINT REFERENCES customers(id),
    contact_id       BIGINT REFERENCES customer_contacts(id),
    project_id       BIGINT REFERENCES projects(id),
    task_id          BIGINT REFERENCES project_tasks(id),
    contract_id      BIGINT,                             -- contracts arrive with invoicing
    assignee_user_id BIGINT REFERENCES users(id),
    assignee_team_id BIGINT REFERENCES teams(id),
    priority         TEXT NOT NULL,                     -- low | normal | high | urgent
    status           TEXT NOT NULL,                     -- new | open | in_progress | waiting | resolved | closed
    due_date         DATE,
    estimate_minutes BIGINT,
    source           TEXT NOT NULL,                     -- api | helpdesk | email | phone | portal
    external_system  TEXT,
    external_id      TEXT,
    external_url     TEXT,
    custom_fields    TEXT NOT NULL DEFAULT '{}',        -- JSON object
    resolved_at      TIMESTAMPTZ,
    closed_at        TIMESTAMPTZ,
    created_by       TEXT NOT NULL,
    version          BIGINT NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (external_system, external_id)
);
CREATE INDEX tickets_customer ON tickets(customer_id, id);
CREATE INDEX tickets_status ON tickets(status, id);
CREATE INDEX tickets_project ON tickets(project_id, id);

CREATE TABLE ticket_appointments (
    id         BIGSERIAL PRIMARY KEY,
    ticket_id  BIGINT NOT NULL REFERENCES tickets(id),
    starts_at  TIMESTAMPTZ NOT NULL,
    ends_at    TIMESTAMPTZ NOT NULL,
    user_id    BIGINT REFERENCES users(id),
    location   TEXT,
    notes      TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ticket_appointments_ticket ON ticket_appointments(ticket_id, starts_at);

-- Stored files (scans, photos, e-mails), addressed by content hash on the filesystem.
CREATE TABLE documents (
    id           BIGSERIAL PRIMARY KEY,
    ticket_id    BIGINT REFERENCES tickets(id),
    project_id   BIGINT REFERENCES projects(id),
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

-- The ticket's registers: append-only timeline of notes, correspondence, documents and
-- automatic status-change entries. Corrections are new entries.
CREATE TABLE ticket_timeline (
    id          BIGSERIAL PRIMARY KEY,
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    entry_type  TEXT NOT NULL,                          -- note | correspondence | document | status_change | assignment
    visibility  TEXT NOT NULL,                          -- internal | customer
    in_report   BOOLEAN NOT NULL,
    body        TEXT,
    channel     TEXT,                                   -- phone | email_in | email_out (correspondence)
    from_addr   TEXT,
    to_addr     TEXT,
    subject     TEXT,
    document_id BIGINT REFERENCES documents(id),
    old_status  TEXT,
    new_status  TEXT,
    corrects_id BIGINT REFERENCES ticket_timeline(id),
    author_type TEXT NOT NULL,
    author_id   BIGINT,
    author_name TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX ticket_timeline_ticket ON ticket_timeline(ticket_id, id);

-- Time bookings.
CREATE TABLE bookings (
    id               BIGSERIAL PRIMARY KEY,
    user_id          BIGINT NOT NULL REFERENCES users(id),
    work_date        DATE NOT NULL,
    start_time       TIME,
    end_time         TIME,
    duration_minutes BIGINT NOT NULL,
    service_id       BIGINT NOT NULL REFERENCES services(id),
    description      TEXT NOT NULL,
    customer_id      BIGINT REFERENCES customers(id),    -- derived from ticket or project
    ticket_id        BIGINT REFERENCES tickets(id),
    project_id       BIGINT REFERENCES projects(id),
    task_id          BIGINT REFERENCES project_tasks(id),
    billable         BOOLEAN NOT NULL,
    rate_override    NUMERIC,
    custom_fields    TEXT NOT NULL DEFAULT '{}',        -- JSON object
    state            TEXT NOT NULL,                     -- open | billed
    created_by       TEXT NOT NULL,
    version          BIGINT NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX bookings_user_date ON bookings(user_id, work_date);
CREATE INDEX bookings_customer_date ON bookings(customer_id, work_date);
CREATE INDEX bookings_ticket ON bookings(ticket_id);
CREATE INDEX bookings_project ON bookings(project_id, task_id);

-- Expenses and material.
CREATE TABLE expenses (
    id           BIGSERIAL PRIMARY KEY,
    user_id      BIGINT REFERENCES users(id),
    expense_date DATE NOT NULL,
    service_id   BIGINT REFERENCES services(id),
    description  TEXT NOT NULL,
    quantity     NUMERIC NOT NULL,
    unit         TEXT NOT NULL,
    unit_price   NUMERIC NOT NULL,
    vat_rate     NUMERIC NOT NULL,
    billable     BOOLEAN NOT NULL,
    customer_id  BIGINT REFERENCES customers(id),
    ticket_id    BIGINT REFERENCES tickets(id),
    project_id   BIGINT REFERENCES projects(id),
    task_id      BIGINT REFERENCES project_tasks(id),
    state        TEXT NOT NULL,                         -- open | billed
    created_by   TEXT NOT NULL,
    version      BIGINT NOT NULL DEFAULT 1,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX expenses_customer_date ON expenses(customer_id, expense_date);
CREATE INDEX expenses_ticket ON expenses(ticket_id);

-- Periodic work orders and capacity planning (SQLite; keep in step with migrations/postgres/0016_work_orders.sql).
--
-- Order types say how much lead time an order needs (internal checks a few days, on-site
-- work about three weeks). A schedule on a contract recurs (fixed calendar or after
-- completion); the generator creates a work order — a ticket of type `work_order` — for
-- each occurrence. `work_orders` links the ticket to its (schedule, occurrence): the unique
-- key makes creating an occurrence happen exactly once, on any number of nodes.
CREATE TABLE order_types (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    code               TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    lead_days          INTEGER NOT NULL,
    on_site            BOOLEAN NOT NULL,
    default_service_id INTEGER REFERENCES services(id),
    label              TEXT,                              -- colour or short label for planners
    archived_at        TEXT,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
INSERT INTO order_types (code, name, lead_days, on_site, label, created_at, updated_at) VALUES
    ('internal', 'Internal', 3, 0, '#607d8b', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('remote', 'Remote', 7, 0, '#1e88e5', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('on_site', 'On site', 21, 1, '#e53935', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE work_order_schedules (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id        INTEGER NOT NULL REFERENCES contracts(id),
    title              TEXT NOT NULL,
    instructions       TEXT NOT NULL DEFAULT '[]',        -- JSON array of checklist items
    order_type_id      INTEGER NOT NULL REFERENCES order_types(id),
    mode               TEXT NOT NULL,                     -- fixed | after_completion
    interval_unit      TEXT NOT NULL,                     -- days | weeks | months | years
    interval_every     INTEGER NOT NULL,
    anchor_date        DATE NOT NULL,
    day_of_month       INTEGER,
    weekday            TEXT,
    lead_days          INTEGER,                           -- NULL: the order type's
    assignee_user_id   INTEGER REFERENCES users(id),
    assignee_team_id   INTEGER REFERENCES teams(id),
    estimate_minutes   INTEGER,
    window_end         DATE,
    window_count       INTEGER,
    execution_billing  TEXT NOT NULL,                     -- covered | fixed_price
    fixed_price        TEXT,                              -- per execution (fixed_price)
    extra_work_billing TEXT NOT NULL,                     -- time_and_material | contract
    service_id         INTEGER REFERENCES services(id),   -- NULL: the order type's default
    paused             BOOLEAN NOT NULL DEFAULT 0,
    not_before         DATE,                              -- resumed without back-fill
    archived_at        TEXT,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX work_order_schedules_contract ON work_order_schedules(contract_id, id);

CREATE TABLE work_orders (
    ticket_id          INTEGER PRIMARY KEY REFERENCES tickets(id),
    schedule_id        INTEGER NOT NULL REFERENCES work_order_schedules(id),
    occurrence         INTEGER NOT NULL,
    planned_due        DATE NOT NULL,                     -- by the rule; the ticket's due_date may move
    checklist          TEXT NOT NULL DEFAULT '[]',        -- JSON [{item, done}]
    skipped_at         TEXT,
    skip_reason        TEXT,
    reschedule_reason  TEXT,
    overdue_at         TEXT,               -- when `workorder.overdue` was announced
    UNIQUE (schedule_id, occurrence)
);
CREATE INDEX tickets_due ON tickets(due_date, id) WHERE due_date IS NOT NULL;

-- Absences (vacation, sick leave) of employees, for the capacity view: whole days,
-- `start_date` to `end_date` inclusive.
CREATE TABLE absences (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    start_date  DATE NOT NULL,
    end_date    DATE NOT NULL,
    kind        TEXT NOT NULL,                             -- vacation | sick | other
    note        TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX absences_user ON absences(user_id, start_date);

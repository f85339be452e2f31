-- Helpdesk push integration (SQLite; keep in step with migrations/postgres/0014_helpdesk_links.sql):
-- the time entry of an external system (e.g. a Zammad time accounting) that a booking was
-- created from. The key makes `PUT /integrations/{system}/time-entries/{external_id}`
-- idempotent under concurrency; deleting the booking forgets the link.
CREATE TABLE external_bookings (
    external_system TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    booking_id      INTEGER NOT NULL UNIQUE REFERENCES bookings(id) ON DELETE CASCADE,
    PRIMARY KEY (external_system, external_id)
);


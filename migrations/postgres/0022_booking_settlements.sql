-- Booking settlements under the names SQLite gives them (PostgreSQL; keep in step with
-- migrations/sqlite/0022_booking_settlements.sql).
--
-- SQLite moved the settlement of a booking out of the booking row into `booking_settlements`,
-- with `open_bookings` listing the bookings no document holds: a run there no longer rewrites
-- the bookings table once per chunk. Here a stamp stays on the booking row — a row version
-- per booking either way, and the row lock is what serializes a run against an edit of the
-- same booking on two nodes — and these views give queries shared by both backends the same
-- shape. Writes keep going to `bookings`.
CREATE VIEW booking_settlements AS
SELECT id AS booking_id, invoice_id, version - 1 AS position_version, settled_contract_id, treatment,
       actual_minutes, rounded_minutes, covered_minutes, covered_value, settled_fields
FROM bookings WHERE invoice_id IS NOT NULL;

CREATE VIEW open_bookings AS
SELECT customer_id, work_date, id AS booking_id FROM bookings WHERE invoice_id IS NULL AND customer_id IS NOT NULL;

-- Which document holds a booking, in the shape SQLite's table `booking_holds` has since its
-- 0027 (PostgreSQL; keep in step with migrations/sqlite/0027_booking_holds.sql): here the
-- stamp on the booking row. Queries that find a booking's holder read it on both backends.
CREATE VIEW booking_holds AS
SELECT id AS booking_id, invoice_id FROM bookings WHERE invoice_id IS NOT NULL;

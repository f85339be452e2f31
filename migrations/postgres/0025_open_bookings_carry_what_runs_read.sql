-- The columns SQLite's `open_bookings` gained in its 0025 (PostgreSQL; keep in step with
-- migrations/sqlite/0025_open_bookings_carry_what_runs_read.sql), from the booking row.
CREATE OR REPLACE VIEW open_bookings AS
SELECT customer_id, work_date, id AS booking_id, version, user_id, start_time, duration_minutes, service_id,
       description, ticket_id, project_id, billable, rate_override, custom_fields
FROM bookings WHERE invoice_id IS NULL AND customer_id IS NOT NULL;

-- The columns SQLite's booking settlements and open bookings gained in its 0023 (PostgreSQL;
-- keep in step with migrations/sqlite/0023_settlements_by_document.sql): the customer and
-- work date a booking was held under, the version of an open booking. Here they are the
-- booking row's own; the views keep queries shared by both backends in one shape.
CREATE OR REPLACE VIEW booking_settlements AS
SELECT id AS booking_id, invoice_id, version - 1 AS position_version, settled_contract_id, treatment,
       actual_minutes, rounded_minutes, covered_minutes, covered_value, settled_fields, customer_id, work_date
FROM bookings WHERE invoice_id IS NOT NULL;

CREATE OR REPLACE VIEW open_bookings AS
SELECT customer_id, work_date, id AS booking_id, version
FROM bookings WHERE invoice_id IS NULL AND customer_id IS NOT NULL;

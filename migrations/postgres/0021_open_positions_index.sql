-- Open positions by customer (PostgreSQL; keep in step with migrations/sqlite/0021_open_positions_index.sql).
--
-- A run reads each customer's open bookings and expenses up to the period's end, and first
-- lists the customers that have any. Through `bookings_customer_date` that walked every
-- booking the customer ever had up to then — billed history included, which after a few
-- years is most of the table — and looked each row up to see whether it is open. Partial
-- indexes over the open positions only make both reads proportional to what is open.
--
-- Unlike SQLite, `bookings_invoice` / `expenses_invoice` stay whole here: a stamp writes a new
-- row version, which enters every index whose condition it meets — `*_invoice` either way, not
-- `*_open` — so a partial `*_invoice` would save nothing, and right after a large run (before
-- autovacuum analyzes the table again) the planner, which still saw it empty, took it for a
-- tiny index and scanned all of it per project when looking for finished projects (11 s).
CREATE INDEX bookings_open ON bookings(customer_id, work_date) WHERE invoice_id IS NULL;
CREATE INDEX expenses_open ON expenses(customer_id, expense_date) WHERE invoice_id IS NULL;

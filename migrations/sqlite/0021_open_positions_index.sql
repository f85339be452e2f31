-- Open positions by customer (sqlite; keep in step with migrations/postgres/0021_open_positions_index.sql).
--
-- A run reads each customer's open bookings and expenses up to the period's end, and first
-- lists the customers that have any. Through `bookings_customer_date` that walked every
-- booking the customer ever had up to then — billed history included, which after a few
-- years is most of the table — and looked each row up to see whether it is open. Partial
-- indexes over the open positions only make both reads proportional to what is open.
--
-- `bookings_invoice` / `expenses_invoice` lose their entries for open rows (every open row
-- was one entry under NULL, which nothing looks up by): a stamp still costs one index entry
-- removed (from `*_open`) and one added (to `*_invoice`), as before.
CREATE INDEX bookings_open ON bookings(customer_id, work_date) WHERE invoice_id IS NULL;
CREATE INDEX expenses_open ON expenses(customer_id, expense_date) WHERE invoice_id IS NULL;
DROP INDEX bookings_invoice;
CREATE INDEX bookings_invoice ON bookings(invoice_id) WHERE invoice_id IS NOT NULL;
DROP INDEX expenses_invoice;
CREATE INDEX expenses_invoice ON expenses(invoice_id) WHERE invoice_id IS NOT NULL;

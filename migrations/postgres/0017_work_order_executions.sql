-- The fixed price of a work order's execution (postgres; keep in step with
-- migrations/sqlite/0017_work_order_executions.sql).
--
-- When an order of a `fixed_price` schedule is done, its price becomes an expense on the
-- order's ticket, billed with the contract's fee for the period. The column records that
-- expense once per order (no foreign key: the office may delete the expense to waive the
-- price; completing the order again does not re-create it).
ALTER TABLE work_orders ADD COLUMN execution_expense_id BIGINT;

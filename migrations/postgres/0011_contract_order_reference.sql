-- The buyer's order reference (purchase order number, BT-13) a contract's invoices carry
-- unless a draft names its own (PostgreSQL; keep in step with
-- migrations/sqlite/0011_contract_order_reference.sql).
ALTER TABLE contracts ADD COLUMN order_reference TEXT;

-- Settlements (PostgreSQL; keep in step with migrations/sqlite/0006_settlements.sql): a
-- committed proposal without lines settles its positions and closes quota periods, but takes
-- no number and never enters the accounting feed. The invoices' CHECK constraints allow that
-- for kind 'settlement'.
ALTER TABLE invoices
    DROP CONSTRAINT invoices_check,
    DROP CONSTRAINT invoices_check1,
    ADD CONSTRAINT invoices_numbered CHECK ((status = 'draft' OR kind = 'settlement') = (number IS NULL)),
    ADD CONSTRAINT invoices_in_feed CHECK ((status = 'draft' OR kind = 'settlement') = (feed_seq IS NULL));

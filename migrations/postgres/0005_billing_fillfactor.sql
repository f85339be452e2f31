-- Billing writes every booking and expense twice (reserved by a draft, billed by the issue)
-- without touching an indexed column. Free space in each page lets PostgreSQL keep the new
-- row version on the same page (a HOT update): no index entry is written for it, and the
-- invoice run's updates cost a heap write instead of a heap write plus one per index.
ALTER TABLE bookings SET (fillfactor = 80);
ALTER TABLE expenses SET (fillfactor = 80);

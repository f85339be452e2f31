-- PostgreSQL's 0005 leaves free space in the pages of bookings and expenses for the billing
-- updates (HOT updates). SQLite has no fill factor and rewrites only the indexes whose columns
-- change, so there is nothing to do here; the file keeps both migration histories in step.
SELECT 1;

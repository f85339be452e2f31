-- How many lines each document has (PostgreSQL; keep in step with
-- migrations/sqlite/0024_line_counts.sql, where the count is stored beside the document's
-- lines so that counting does not parse them). Here the `invoice_lines` table is counted
-- through its index on the document.
CREATE VIEW invoice_line_counts AS SELECT invoice_id, COUNT(*) AS line_count FROM invoice_lines GROUP BY invoice_id;

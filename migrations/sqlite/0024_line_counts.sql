-- How many lines each document has, without reading them (sqlite; PostgreSQL:
-- migrations/postgres/0024_line_counts.sql). Issuing a batch of drafts and listing a run's
-- documents counted each document's lines through the `invoice_lines` view, which parses the
-- document's whole JSON array of lines: 0.2 s of the 1.3 s that issuing 5,000 drafts with
-- 530 k lines took. The count is kept beside the array: set when lines are stored, added to
-- when lines are appended (the store), lowered when a line is deleted (the trigger below).
ALTER TABLE invoice_line_sets ADD COLUMN line_count INTEGER NOT NULL DEFAULT 0;
UPDATE invoice_line_sets SET line_count = json_array_length(lines);

DROP TRIGGER invoice_lines_delete;
CREATE TRIGGER invoice_lines_delete INSTEAD OF DELETE ON invoice_lines
BEGIN
    UPDATE invoice_line_sets
    SET lines = (SELECT json_group_array(json(j.value) ORDER BY j.key)
                 FROM json_each(invoice_line_sets.lines) j
                 WHERE j.value ->> 0 IS NOT OLD.id),
        line_count = line_count - 1
    WHERE invoice_id = OLD.invoice_id;
END;

-- Shared by both backends' queries.
CREATE VIEW invoice_line_counts AS SELECT invoice_id, line_count FROM invoice_line_sets;

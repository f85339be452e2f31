-- A document's lines kept with the document (sqlite only: PostgreSQL keeps its
-- `invoice_lines` table, which it writes in one statement per run chunk anyway). A committed
-- run wrote one row per line (15 columns, two B-trees); now it writes one row per document:
-- `invoice_line_sets.lines`, a JSON array with one array per line —
-- `[id, line_no, kind, description, contract_id, service_id, ticket_id, quantity, minutes,
-- unit, unit_price, net, vat_rate, surcharge, positions]`, decimals as text, `positions` the
-- JSON array of the positions the line bills.
--
-- `invoice_lines` becomes a view over those arrays with the table's columns, so everything
-- that reads lines reads them as before. Lines are added by `INSERT … ON CONFLICT` on
-- `invoice_line_sets` (the store appends the new arrays to the document's); deleting from the
-- view deletes the line from its document (trigger). Line ids come from
-- `invoice_line_ids.next` and continue the table's.

CREATE TABLE invoice_line_sets (
    invoice_id INTEGER PRIMARY KEY REFERENCES invoices(id) ON DELETE CASCADE,
    lines      TEXT NOT NULL DEFAULT '[]'
);

INSERT INTO invoice_line_sets (invoice_id, lines)
SELECT invoice_id,
       json_group_array(json_array(id, line_no, kind, description, contract_id, service_id, ticket_id, quantity,
                                   minutes, unit, unit_price, net, vat_rate, surcharge, json(positions))
                        ORDER BY line_no)
FROM invoice_lines
GROUP BY invoice_id;

-- The next line id: after the highest the table ever gave out.
CREATE TABLE invoice_line_ids (next INTEGER NOT NULL);
INSERT INTO invoice_line_ids (next)
SELECT MAX(COALESCE((SELECT MAX(id) FROM invoice_lines), 0),
           COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'invoice_lines'), 0)) + 1;

DROP TABLE invoice_lines;

CREATE VIEW invoice_lines AS
SELECT j.value ->> 0  AS id,
       s.invoice_id   AS invoice_id,
       j.value ->> 1  AS line_no,
       j.value ->> 2  AS kind,
       j.value ->> 3  AS description,
       j.value ->> 4  AS contract_id,
       j.value ->> 5  AS service_id,
       j.value ->> 6  AS ticket_id,
       j.value ->> 7  AS quantity,
       j.value ->> 8  AS minutes,
       j.value ->> 9  AS unit,
       j.value ->> 10 AS unit_price,
       j.value ->> 11 AS net,
       j.value ->> 12 AS vat_rate,
       j.value ->> 13 AS surcharge,
       j.value ->> 14 AS positions
FROM invoice_line_sets s, json_each(s.lines) j;

CREATE TRIGGER invoice_lines_delete INSTEAD OF DELETE ON invoice_lines
BEGIN
    UPDATE invoice_line_sets
    SET lines = (SELECT json_group_array(json(j.value) ORDER BY j.key)
                 FROM json_each(invoice_line_sets.lines) j
                 WHERE j.value ->> 0 IS NOT OLD.id)
    WHERE invoice_id = OLD.invoice_id;
END;

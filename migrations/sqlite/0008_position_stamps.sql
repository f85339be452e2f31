-- Positions carry the document that holds them (SQLite; keep in step with
-- migrations/postgres/0008_position_stamps.sql).
--
-- A committed run records, once per position, which draft holds it: the booking's or
-- expense's `invoice_id` (with the treatment it was settled with), or a row of
-- `contract_fee_periods` for a contract fee. One column holds one document, so a position is in
-- at most one non-cancelled document by construction. Whether it is reserved or billed follows
-- from the document's status: issuing writes the invoice row only. Cancelling a document
-- copies its positions into `invoice_positions` (now the history of cancelled documents only,
-- for their proof of service and for re-billing) and clears the stamps.
ALTER TABLE bookings ADD COLUMN invoice_id INTEGER REFERENCES invoices(id);
ALTER TABLE bookings ADD COLUMN settled_contract_id INTEGER;   -- the contract it was billed under
ALTER TABLE bookings ADD COLUMN treatment TEXT;                -- billed | covered | partly_covered | non_billable
ALTER TABLE bookings ADD COLUMN actual_minutes INTEGER;
ALTER TABLE bookings ADD COLUMN rounded_minutes INTEGER;
ALTER TABLE bookings ADD COLUMN covered_minutes INTEGER;
ALTER TABLE bookings ADD COLUMN covered_value TEXT;
-- JSON [{"field_id", "contract_id", "treatment", "covered_value"}]: the custom-field quantities
-- of the booking the document settles (NULL when none).
ALTER TABLE bookings ADD COLUMN settled_fields TEXT;
CREATE INDEX bookings_invoice ON bookings(invoice_id);

ALTER TABLE expenses ADD COLUMN invoice_id INTEGER REFERENCES invoices(id);
ALTER TABLE expenses ADD COLUMN settled_contract_id INTEGER;
ALTER TABLE expenses ADD COLUMN treatment TEXT;
ALTER TABLE expenses ADD COLUMN covered_value TEXT;
CREATE INDEX expenses_invoice ON expenses(invoice_id);

-- The contract fee periods a live document bills: one per period.
CREATE TABLE contract_fee_periods (
    contract_id  INTEGER NOT NULL REFERENCES contracts(id),
    period_start DATE NOT NULL,
    invoice_id   INTEGER NOT NULL REFERENCES invoices(id),
    PRIMARY KEY (contract_id, period_start)
);
CREATE INDEX contract_fee_periods_invoice ON contract_fee_periods(invoice_id);

-- Existing live positions move to their stamps; invoice_positions keeps the cancelled ones.
UPDATE bookings SET invoice_id = p.invoice_id, settled_contract_id = p.contract_id, treatment = p.treatment,
    actual_minutes = p.actual_minutes, rounded_minutes = p.rounded_minutes, covered_minutes = p.covered_minutes,
    covered_value = p.covered_value
FROM invoice_positions p WHERE p.active AND p.booking_id = bookings.id AND p.position_key LIKE 'booking:%';
UPDATE bookings SET invoice_id = (SELECT MIN(p.invoice_id) FROM invoice_positions p
        WHERE p.active AND p.booking_id = bookings.id AND p.position_key LIKE 'booking_field:%'),
    settled_fields = (SELECT json_group_array(json_object(
            'field_id', CAST(substr(p.position_key, length('booking_field:' || p.booking_id || ':') + 1) AS INTEGER),
            'contract_id', p.contract_id, 'treatment', p.treatment, 'covered_value', p.covered_value))
        FROM invoice_positions p WHERE p.active AND p.booking_id = bookings.id AND p.position_key LIKE 'booking_field:%')
WHERE EXISTS (SELECT 1 FROM invoice_positions p WHERE p.active AND p.booking_id = bookings.id
    AND p.position_key LIKE 'booking_field:%');
UPDATE expenses SET invoice_id = p.invoice_id, settled_contract_id = p.contract_id, treatment = p.treatment,
    covered_value = p.covered_value
FROM invoice_positions p WHERE p.active AND p.expense_id = expenses.id;
INSERT INTO contract_fee_periods (contract_id, period_start, invoice_id)
SELECT fee_contract_id, fee_period_start, invoice_id FROM invoice_positions WHERE active AND fee_contract_id IS NOT NULL;
DELETE FROM invoice_positions WHERE active;

-- "open" is now "not held by a document": the state column goes.
ALTER TABLE bookings DROP COLUMN state;
ALTER TABLE expenses DROP COLUMN state;

-- Every position a document settles, live or cancelled, in the shape of invoice_positions:
-- the stamps of live documents and the history of cancelled ones.
CREATE VIEW settled_positions AS
SELECT b.invoice_id, 'booking:' || b.id AS position_key, b.id AS booking_id, NULL AS expense_id,
       NULL AS fee_contract_id, NULL AS fee_period_start, b.settled_contract_id AS contract_id, b.treatment,
       b.actual_minutes, b.rounded_minutes, b.covered_minutes, b.covered_value, b.version - 1 AS position_version,
       1 AS active
FROM bookings b WHERE b.invoice_id IS NOT NULL AND b.treatment IS NOT NULL
UNION ALL
SELECT b.invoice_id, 'booking_field:' || b.id || ':' || json_extract(f.value, '$.field_id'), b.id, NULL, NULL, NULL,
       json_extract(f.value, '$.contract_id'), json_extract(f.value, '$.treatment'), NULL, NULL, NULL,
       json_extract(f.value, '$.covered_value'), b.version - 1, 1
FROM bookings b, json_each(b.settled_fields) f WHERE b.invoice_id IS NOT NULL AND b.settled_fields IS NOT NULL
UNION ALL
SELECT e.invoice_id, 'expense:' || e.id, NULL, e.id, NULL, NULL, e.settled_contract_id, e.treatment,
       NULL, NULL, NULL, e.covered_value, e.version - 1, 1
FROM expenses e WHERE e.invoice_id IS NOT NULL
UNION ALL
SELECT f.invoice_id, 'fee:' || f.contract_id || ':' || f.period_start, NULL, NULL, f.contract_id, f.period_start,
       f.contract_id, 'billed', NULL, NULL, NULL, NULL, NULL, 1
FROM contract_fee_periods f
UNION ALL
SELECT invoice_id, position_key, booking_id, expense_id, fee_contract_id, fee_period_start, contract_id, treatment,
       actual_minutes, rounded_minutes, covered_minutes, covered_value, position_version, 0
FROM invoice_positions;

-- Positions carry the document that holds them (PostgreSQL; keep in step with
-- migrations/sqlite/0008_position_stamps.sql).
--
-- A committed run records, once per position, which draft holds it: the booking's or
-- expense's `invoice_id` (with the treatment it was settled with), or a row of
-- `contract_fee_periods` for a contract fee. One column holds one document, so a position is in
-- at most one non-cancelled document by construction. Whether it is reserved or billed follows
-- from the document's status: issuing writes the invoice row only. Cancelling a document
-- copies its positions into `invoice_positions` (now the history of cancelled documents only,
-- for their proof of service and for re-billing) and clears the stamps.
ALTER TABLE bookings ADD COLUMN invoice_id BIGINT REFERENCES invoices(id);
ALTER TABLE bookings ADD COLUMN settled_contract_id BIGINT;   -- the contract it was billed under
ALTER TABLE bookings ADD COLUMN treatment TEXT;                -- billed | covered | partly_covered | non_billable
ALTER TABLE bookings ADD COLUMN actual_minutes BIGINT;
ALTER TABLE bookings ADD COLUMN rounded_minutes BIGINT;
ALTER TABLE bookings ADD COLUMN covered_minutes BIGINT;
ALTER TABLE bookings ADD COLUMN covered_value NUMERIC;
-- JSON [{"field_id", "contract_id", "treatment", "covered_value"}]: the custom-field quantities
-- of the booking the document settles (NULL when none).
ALTER TABLE bookings ADD COLUMN settled_fields TEXT;
CREATE INDEX bookings_invoice ON bookings(invoice_id);

ALTER TABLE expenses ADD COLUMN invoice_id BIGINT REFERENCES invoices(id);
ALTER TABLE expenses ADD COLUMN settled_contract_id BIGINT;
ALTER TABLE expenses ADD COLUMN treatment TEXT;
ALTER TABLE expenses ADD COLUMN covered_value NUMERIC;
CREATE INDEX expenses_invoice ON expenses(invoice_id);

-- The contract fee periods a live document bills: one per period.
CREATE TABLE contract_fee_periods (
    contract_id  BIGINT NOT NULL REFERENCES contracts(id),
    period_start DATE NOT NULL,
    invoice_id   BIGINT NOT NULL REFERENCES invoices(id),
    PRIMARY KEY (contract_id, period_start)
);
CREATE INDEX contract_fee_periods_invoice ON contract_fee_periods(invoice_id);

-- Existing live positions move to their stamps; invoice_positions keeps the cancelled ones.
UPDATE bookings SET invoice_id = p.invoice_id, settled_contract_id = p.contract_id, treatment = p.treatment,
    actual_minutes = p.actual_minutes, rounded_minutes = p.rounded_minutes, covered_minutes = p.covered_minutes,
    covered_value = p.covered_value
FROM invoice_positions p WHERE p.active AND p.booking_id = bookings.id AND p.position_key LIKE 'booking:%';
UPDATE bookings SET invoice_id = f.invoice_id, settled_fields = f.fields
FROM (SELECT p.booking_id, MIN(p.invoice_id) AS invoice_id, jsonb_agg(jsonb_build_object(
        'field_id', CAST(split_part(p.position_key, ':', 3) AS BIGINT), 'contract_id', p.contract_id,
        'treatment', p.treatment, 'covered_value', CAST(p.covered_value AS TEXT)))::text AS fields
      FROM invoice_positions p WHERE p.active AND p.position_key LIKE 'booking_field:%' GROUP BY p.booking_id) f
WHERE f.booking_id = bookings.id;
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
SELECT b.invoice_id, 'booking:' || b.id AS position_key, b.id AS booking_id, CAST(NULL AS BIGINT) AS expense_id,
       CAST(NULL AS BIGINT) AS fee_contract_id, CAST(NULL AS DATE) AS fee_period_start, b.settled_contract_id AS contract_id, b.treatment,
       b.actual_minutes, b.rounded_minutes, b.covered_minutes, b.covered_value, b.version - 1 AS position_version,
       TRUE AS active
FROM bookings b WHERE b.invoice_id IS NOT NULL AND b.treatment IS NOT NULL
UNION ALL
SELECT b.invoice_id, 'booking_field:' || b.id || ':' || (f.value->>'field_id'), b.id, NULL, NULL, NULL,
       CAST(f.value->>'contract_id' AS BIGINT), f.value->>'treatment', NULL, NULL, NULL,
       CAST(f.value->>'covered_value' AS NUMERIC), b.version - 1, TRUE
FROM bookings b CROSS JOIN LATERAL jsonb_array_elements(b.settled_fields::jsonb) f
WHERE b.invoice_id IS NOT NULL AND b.settled_fields IS NOT NULL
UNION ALL
SELECT e.invoice_id, 'expense:' || e.id, NULL, e.id, NULL, NULL, e.settled_contract_id, e.treatment,
       NULL, NULL, NULL, e.covered_value, e.version - 1, TRUE
FROM expenses e WHERE e.invoice_id IS NOT NULL
UNION ALL
SELECT f.invoice_id, 'fee:' || f.contract_id || ':' || f.period_start, NULL, NULL, f.contract_id, f.period_start,
       f.contract_id, 'billed', NULL, NULL, NULL, NULL, NULL, TRUE
FROM contract_fee_periods f
UNION ALL
SELECT invoice_id, position_key, booking_id, expense_id, fee_contract_id, fee_period_start, contract_id, treatment,
       actual_minutes, rounded_minutes, covered_minutes, covered_value, position_version, FALSE
FROM invoice_positions;

-- Booking settlements in a narrow table of their own (sqlite; PostgreSQL keeps them on the
-- booking row and gives them the same names as views: migrations/postgres/0022_booking_settlements.sql).
--
-- A committed run recorded which draft holds each booking by stamping the booking row (its
-- `invoice_id` and settlement columns). In production the bookings table is in entry order —
-- a day's bookings of every customer side by side — so one chunk of a run (about a hundred
-- customers) touched most of the table's pages, and a run over all customers rewrote the
-- whole table once per chunk: 23 s for 1 M bookings where the same data in customer order
-- took 4.6 s. Now holding a booking inserts one narrow row into `booking_settlements` (keyed
-- by the booking, so a booking is in at most one live document by construction) and deletes
-- its row from `open_bookings`, the open bookings clustered by customer and date (what a run
-- reads); the booking row is not written, and its version does not change. Releasing (cancel,
-- remove from a draft, delete a draft) deletes the settlement. Triggers keep `open_bookings`
-- in step with bookings and settlements, whichever statement writes them.
CREATE TABLE booking_settlements (
    booking_id          INTEGER PRIMARY KEY REFERENCES bookings(id),
    invoice_id          INTEGER NOT NULL REFERENCES invoices(id),
    position_version    INTEGER NOT NULL,   -- the booking's version the document priced
    settled_contract_id INTEGER,            -- the contract it was billed under
    treatment           TEXT,               -- billed | covered | partly_covered | non_billable
    actual_minutes      INTEGER,
    rounded_minutes     INTEGER,
    covered_minutes     INTEGER,
    covered_value       TEXT,
    -- JSON [{"field_id", "contract_id", "treatment", "covered_value"}]: the custom-field
    -- quantities of the booking the document settles (NULL when none).
    settled_fields      TEXT
);
CREATE INDEX booking_settlements_invoice ON booking_settlements(invoice_id);

-- The bookings no document holds, by customer and work date (bookings without a customer are
-- never billed and not listed).
CREATE TABLE open_bookings (
    customer_id INTEGER NOT NULL,
    work_date   DATE NOT NULL,
    booking_id  INTEGER NOT NULL,
    PRIMARY KEY (customer_id, work_date, booking_id)
) WITHOUT ROWID;

-- A stamped booking had its version raised when it was held: the priced version is one less.
INSERT INTO booking_settlements (booking_id, invoice_id, position_version, settled_contract_id, treatment,
                                 actual_minutes, rounded_minutes, covered_minutes, covered_value, settled_fields)
SELECT id, invoice_id, version - 1, settled_contract_id, treatment, actual_minutes, rounded_minutes,
       covered_minutes, covered_value, settled_fields
FROM bookings WHERE invoice_id IS NOT NULL;

INSERT INTO open_bookings (customer_id, work_date, booking_id)
SELECT customer_id, work_date, id FROM bookings WHERE invoice_id IS NULL AND customer_id IS NOT NULL;

DROP VIEW settled_positions;
DROP INDEX bookings_open;
DROP INDEX bookings_invoice;
ALTER TABLE bookings DROP COLUMN invoice_id;
ALTER TABLE bookings DROP COLUMN settled_contract_id;
ALTER TABLE bookings DROP COLUMN treatment;
ALTER TABLE bookings DROP COLUMN actual_minutes;
ALTER TABLE bookings DROP COLUMN rounded_minutes;
ALTER TABLE bookings DROP COLUMN covered_minutes;
ALTER TABLE bookings DROP COLUMN covered_value;
ALTER TABLE bookings DROP COLUMN settled_fields;

CREATE TRIGGER open_bookings_on_insert AFTER INSERT ON bookings WHEN NEW.customer_id IS NOT NULL
BEGIN
    INSERT INTO open_bookings (customer_id, work_date, booking_id) VALUES (NEW.customer_id, NEW.work_date, NEW.id);
END;

CREATE TRIGGER open_bookings_on_move AFTER UPDATE OF customer_id, work_date ON bookings
WHEN OLD.customer_id IS NOT NEW.customer_id OR OLD.work_date IS NOT NEW.work_date
BEGIN
    DELETE FROM open_bookings
    WHERE customer_id = OLD.customer_id AND work_date = OLD.work_date AND booking_id = OLD.id;
    INSERT INTO open_bookings (customer_id, work_date, booking_id)
    SELECT NEW.customer_id, NEW.work_date, NEW.id
    WHERE NEW.customer_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM booking_settlements WHERE booking_id = NEW.id);
END;

CREATE TRIGGER open_bookings_on_delete AFTER DELETE ON bookings
BEGIN
    DELETE FROM open_bookings
    WHERE customer_id = OLD.customer_id AND work_date = OLD.work_date AND booking_id = OLD.id;
END;

CREATE TRIGGER open_bookings_on_hold AFTER INSERT ON booking_settlements
BEGIN
    DELETE FROM open_bookings
    WHERE customer_id = (SELECT customer_id FROM bookings WHERE id = NEW.booking_id)
      AND work_date = (SELECT work_date FROM bookings WHERE id = NEW.booking_id)
      AND booking_id = NEW.booking_id;
END;

CREATE TRIGGER open_bookings_on_release AFTER DELETE ON booking_settlements
BEGIN
    INSERT INTO open_bookings (customer_id, work_date, booking_id)
    SELECT customer_id, work_date, id FROM bookings WHERE id = OLD.booking_id AND customer_id IS NOT NULL;
END;

-- Every position a document settles, live or cancelled, in the shape of invoice_positions.
CREATE VIEW settled_positions AS
SELECT s.invoice_id, 'booking:' || s.booking_id AS position_key, s.booking_id, NULL AS expense_id,
       NULL AS fee_contract_id, NULL AS fee_period_start, s.settled_contract_id AS contract_id, s.treatment,
       s.actual_minutes, s.rounded_minutes, s.covered_minutes, s.covered_value, s.position_version,
       1 AS active
FROM booking_settlements s WHERE s.treatment IS NOT NULL
UNION ALL
SELECT s.invoice_id, 'booking_field:' || s.booking_id || ':' || json_extract(f.value, '$.field_id'), s.booking_id,
       NULL, NULL, NULL, json_extract(f.value, '$.contract_id'), json_extract(f.value, '$.treatment'), NULL, NULL, NULL,
       json_extract(f.value, '$.covered_value'), s.position_version, 1
FROM booking_settlements s, json_each(s.settled_fields) f WHERE s.settled_fields IS NOT NULL
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

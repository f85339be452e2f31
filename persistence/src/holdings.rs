//! What holds a position, as SQL on each backend: whether a booking or expense is open,
//! reserved by a draft or billed, the document holding a booking (a stamp on the row on
//! PostgreSQL, a row of `booking_settlements` on SQLite: migrations 0008 and 0022), and the
//! conflict an edit of a held position meets.

use crate::Result;

/// The billing state of a booking row (`$t` its table alias or name) as SQL: `open` when no
/// document holds it (no settlement), `reserved` by a draft, `billed` by any other live document.
macro_rules! booking_state {
    ($t:literal) => {
        concat!(
            "COALESCE((SELECT CASE WHEN h.status = 'draft' THEN 'reserved' ELSE 'billed' END \
             FROM booking_holds s JOIN invoices h ON h.id = s.invoice_id WHERE s.booking_id = ",
            $t,
            ".id), 'open')"
        )
    };
}
pub(crate) use booking_state;

/// The id of the document holding booking row `b` (`NULL` when open) as SQL, on `backend`:
/// the stamp on the row (PostgreSQL), the booking's settlement (SQLite, which keeps them apart:
/// migrations/sqlite/0022). For looking up from bookings; the bookings of a document are found
/// through `booking_settlements` on both.
pub(crate) fn booking_holder(backend: crate::Backend, b: &str) -> String {
    match backend {
        crate::Backend::Sqlite => {
            format!("(SELECT s.invoice_id FROM booking_holds s WHERE s.booking_id = {b}.id)")
        }
        crate::Backend::Postgres => format!("{b}.invoice_id"),
    }
}

/// Joins the document holding booking row `b` as `i` (held bookings only), on `backend`: by
/// the stamp on the row (PostgreSQL), through the booking's settlement (SQLite, in this order:
/// its planner would otherwise start from the documents and walk the bookings per document).
pub(crate) fn join_holding_document(backend: crate::Backend, b: &str, i: &str) -> String {
    match backend {
        crate::Backend::Sqlite => format!(
            "CROSS JOIN booking_holds {i}_s ON {i}_s.booking_id = {b}.id \
             CROSS JOIN invoices {i} ON {i}.id = {i}_s.invoice_id"
        ),
        crate::Backend::Postgres => format!("JOIN invoices {i} ON {i}.id = {b}.invoice_id"),
    }
}

/// The condition that row `bookings` is held by no document, on `backend` — the guard of an
/// edit or delete. PostgreSQL reads the row's own stamp, which it checks again on the row
/// version it locks when a run stamps it concurrently; SQLite writes one at a time.
pub(crate) fn booking_unheld(backend: crate::Backend) -> String {
    format!("{} IS NULL", booking_holder(backend, "bookings"))
}

/// The billing state of an expense row (`$t` its table alias or name) as SQL: `open` when no
/// document holds it, `reserved` by a draft, `billed` by any other live document.
macro_rules! held_state {
    ($t:literal) => {
        concat!(
            "CASE WHEN ",
            $t,
            ".invoice_id IS NULL THEN 'open' WHEN (SELECT h.status FROM invoices h WHERE h.id = ",
            $t,
            ".invoice_id) = 'draft' THEN 'reserved' ELSE 'billed' END"
        )
    };
}
pub(crate) use held_state;

/// Fails with a conflict when a booking or expense (`what`) in `state` is locked by an
/// invoice: `reserved` by a draft, or `billed` by an issued invoice.
pub fn check_open(what: &str, state: &str) -> Result<()> {
    match state {
        "reserved" => Err(crate::StoreError::Conflict(format!(
            "the {what} is on a draft invoice and locked; remove it from the draft (or delete the draft) to change it"
        ))),
        "billed" => Err(crate::StoreError::Conflict(format!(
            "the {what} is billed and locked; cancel its invoice to change it"
        ))),
        _ => Ok(()),
    }
}

//! The bulk writes of invoice runs — a customer's draft lines and quota entries, the stamps
//! that make its bookings and expenses held by a draft, its fee periods; issuing many drafts
//! at once (numbers, ledger, events, audit) — and the history of cancelled documents, in the
//! form each backend writes fastest:
//!
//! - PostgreSQL: one statement per table over `UNNEST` of column arrays (a handful of
//!   parameters whatever the row count; the statement is prepared once per connection);
//! - SQLite: multi-row `VALUES` statements of a few fixed shapes with anonymous parameters;
//!   a document's lines are one row, a JSON array in `invoice_line_sets` (migration 0019),
//!   which the `invoice_lines` view shows line by line.
//!
//! Rows are found by primary key in every update, never by scanning a table.

use crate::audit::Actor;
use crate::types::DbTime;
use crate::Result;
use domain::engine::{InvoiceLine, PositionStatus};
use domain::quota::QuotaEntry;
use rust_decimal::Decimal;
use time::Date;

/// A table whose rows are invoice positions (held by at most one document: `invoice_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PositionTable {
    Bookings,
    Expenses,
}

/// The stamp a draft writes on a booking or expense it holds: which document holds it and
/// how it settles it. Written only where the row is still open in `version`.
#[derive(Debug, Clone)]
pub(crate) struct PositionStamp {
    pub(crate) id: i64,
    pub(crate) version: i64,
    /// Where the position was read open (customer, date): SQLite finds a booking's
    /// `open_bookings` row by them.
    pub(crate) customer_id: i64,
    pub(crate) date: Date,
    pub(crate) invoice_id: i64,
    pub(crate) contract_id: Option<i64>,
    /// `None` for a booking whose own minutes the document does not settle (only fields).
    pub(crate) treatment: Option<PositionStatus>,
    pub(crate) actual: Option<i64>,
    pub(crate) rounded: Option<i64>,
    pub(crate) covered: Option<i64>,
    pub(crate) covered_value: Option<Decimal>,
    /// Bookings: the settled custom-field quantities as JSON ([`SettledField`]s).
    pub(crate) fields: Option<String>,
}

/// A custom-field quantity of a booking that a document settles (in `bookings.settled_fields`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SettledField {
    pub(crate) field_id: i64,
    pub(crate) contract_id: Option<i64>,
    pub(crate) treatment: String,
    pub(crate) covered_value: Option<String>,
}

/// One settled position of a document (as `settled_positions` shows it; cancelled documents
/// keep theirs in `invoice_positions`).
#[derive(Debug, Clone)]
pub(crate) struct PositionInsert {
    pub(crate) key: String,
    pub(crate) booking_id: Option<i64>,
    pub(crate) expense_id: Option<i64>,
    pub(crate) fee: Option<(i64, Date)>,
    pub(crate) contract_id: Option<i64>,
    pub(crate) treatment: PositionStatus,
    pub(crate) actual: Option<i64>,
    pub(crate) rounded: Option<i64>,
    pub(crate) covered: Option<i64>,
    pub(crate) covered_value: Option<Decimal>,
    pub(crate) version: Option<i64>,
}

/// One line of a draft: invoice id, line number, the line.
pub(crate) type LineInsert<'a> = (i64, i64, &'a InvoiceLine);

/// The lines of a new document, and on SQLite maybe serialized ahead ([`PackedLines`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DocumentLines<'a> {
    pub(crate) invoice_id: i64,
    pub(crate) lines: &'a [InvoiceLine],
    pub(crate) packed: Option<&'a PackedLines>,
}

/// What issuing sets on one draft of a batch (series, year, issue date and time are the
/// batch's).
#[derive(Debug, Clone)]
pub(crate) struct IssuedNumber {
    pub(crate) id: i64,
    pub(crate) seq: i64,
    pub(crate) number: String,
    pub(crate) due_date: Date,
    /// The customer snapshot as JSON.
    pub(crate) snapshot: String,
    pub(crate) feed_seq: i64,
}

/// The numbering of a batch of drafts issued together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IssueBatchHead<'a> {
    pub(crate) series: &'a str,
    pub(crate) year: i64,
    pub(crate) issue_date: Date,
    pub(crate) at: DbTime,
    /// The seller profile frozen into every draft of the batch (JSON).
    pub(crate) seller: Option<&'a str>,
}

/// An event to record (`events` row): type, entity type, entity id, payload JSON.
pub(crate) type EventInsert<'a> = (&'a str, &'a str, i64, String);

/// An audit record of one entity (`audit_log` row): entity id, state before and after (JSON).
pub(crate) type AuditInsert = (i64, Option<String>, Option<String>);

/// Bulk writes inside a transaction (`&mut *tx`).
pub(crate) trait BulkWrite {
    /// Inserts invoice lines.
    async fn insert_lines(&mut self, rows: &[LineInsert<'_>]) -> Result<usize>;
    /// Inserts the lines of new documents (each one's numbered from 1).
    async fn insert_document_lines(&mut self, docs: &[DocumentLines<'_>]) -> Result<usize>;
    /// Inserts the positions of a cancelled document into the history (`invoice_positions`).
    async fn insert_history(&mut self, rows: &[(i64, PositionInsert)]) -> Result<usize>;
    /// Inserts the quota entries a draft writes when issued (`(invoice id, entry)`).
    async fn insert_quota_entries(&mut self, rows: &[(i64, &QuotaEntry)]) -> Result<usize>;
    /// Stamps the rows of `table` with the document holding them, each only if it is open
    /// (no document) and still in the version computed; returns how many were stamped.
    async fn stamp(&mut self, table: PositionTable, rows: &[PositionStamp]) -> Result<u64>;
    /// Holds bookings as [`BulkWrite::stamp`] does, with their documents' settlement arrays
    /// built ahead ([`settlement_arrays`] of `rows`; SQLite keeps them, PostgreSQL stamps the
    /// rows and has no use for them).
    async fn hold_bookings(&mut self, rows: &[PositionStamp], arrays: &[(i64, String)]) -> Result<u64>;
    /// Records the fee periods `(invoice id, contract id, period start)` a document bills. A
    /// period another live document bills fails with [`crate::StoreError::Duplicate`].
    async fn insert_fee_periods(&mut self, rows: &[(i64, i64, Date)]) -> Result<usize>;
    /// Issues the drafts `rows` (each only while it is a draft); returns how many were issued.
    async fn issue_drafts(&mut self, head: IssueBatchHead<'_>, rows: &[IssuedNumber]) -> Result<u64>;
    /// Writes the quota entries of the documents `ids` to the ledger, document by document
    /// in the order given (each document's entries in their order).
    async fn write_ledger(&mut self, ids: &[i64], at: DbTime) -> Result<u64>;
    /// Records events, in order, at `at`.
    async fn insert_events(&mut self, rows: &[EventInsert<'_>], at: DbTime) -> Result<u64>;
    /// Records what `actor` did (`action`) to entities of `entity_type`, in order.
    async fn insert_audit(
        &mut self,
        actor: &Actor,
        entity_type: &str,
        action: &str,
        rows: &[AuditInsert],
    ) -> Result<u64>;
}

/// A count of minutes as stored (`None` when absent or beyond `i64`).
pub(crate) fn to_i64(v: Option<u64>) -> Option<i64> {
    v.and_then(|m| i64::try_from(m).ok())
}

mod postgres;
mod sqlite;

pub(crate) use sqlite::settlement_arrays;

pub(crate) use sqlite::PackedLines;
pub(crate) use sqlite::{batches, values_sql};

//! Storage of invoices and credit notes: drafts created by committed runs, their lines,
//! the positions they settle, the quota-ledger entries they write, and the life cycle
//! (edit, delete, issue, mark paid, cancel by credit note) with numbering.
//!
//! Invariants the database enforces, not only this code:
//! - a position is settled by at most one document that is not cancelled: a booking or
//!   expense carries the one document holding it (`invoice_id`, stamped only while it is
//!   NULL), a fee period is one row of `contract_fee_periods` (primary key contract and
//!   period); cancelling clears the stamps and keeps the history in `invoice_positions`;
//! - whether a held position is reserved or billed follows from its document's status, so
//!   issuing writes the invoice row only;
//! - numbers are unique per series and year, and a draft has none (checks and unique keys);
//! - numbers are gapless: the counter row advances inside the issuing transaction, so a
//!   failed issue gives its number back;
//! - the accounting feed order (`feed_seq`) is allocated last inside the issuing or
//!   cancelling transaction from one counter row, whose lock is held until commit, so
//!   feed positions become visible in order and a reader never skips one.
//!
//! Every step of issuing (number, customer snapshot, positions locked, ledger written,
//! events) and cancelling (credit note, positions released, ledger reversed) happens in
//! one transaction: a crash leaves the invoice as it was before.
//!
//! A proposal without lines is stored as a *settlement*: final when committed (its
//! positions settled, its quota entries in the ledger) but without number, due date or
//! feed position. Cancelling it opens its positions again without a credit note.
//!
//! This module holds the stored shapes, the steps the others share (as macros, defined
//! before the submodules so that they can use them) and the reads; `drafts` stores a
//! run's proposals, `editing` changes drafts, `lifecycle` issues, settles and cancels, `issue_batch` issues
//! many drafts at once, `reads` reads documents, their positions and ledgers,
//! `feed` serves the accounting pull, `rebill` compares re-billed positions with
//! cancelled invoices.

use crate::audit::Actor;
use crate::billing::PositionVersions;
use crate::bulk::{
    to_i64, BulkWrite, DocumentLines, LineInsert, PackedLines, PositionInsert, PositionStamp, PositionTable,
    SettledField,
};
use crate::page::{Page, PageRequest};
use crate::types::{DbTime, ExactDecimal};
use crate::{Result, Store, StoreError};
use domain::catalog::Unit;
use domain::engine::{CustomerBilling, InvoiceLine, LegalNote, LineKind, PositionOutcome, PositionStatus};
use domain::invoice::{self, InvoiceAction, InvoiceKind, InvoiceStatus, PriorSettlement};
use domain::money::{Totals, VatAmount};
use domain::position::PositionRef;
use domain::quota::{QuotaEntry, QuotaSummary, ThresholdCrossing};
use domain::Currency;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use time::Date;

/// The storage key of a position (unique among invoices that are not cancelled).
pub fn position_key(p: &PositionRef) -> String {
    match p {
        PositionRef::Booking { id } => format!("booking:{id}"),
        PositionRef::BookingField { booking_id, field_id } => format!("booking_field:{booking_id}:{field_id}"),
        PositionRef::Expense { id } => format!("expense:{id}"),
        PositionRef::ContractFee { contract_id, period_start } => format!("fee:{contract_id}:{period_start}"),
    }
}

/// The customer as printed on an issued invoice (frozen at issue).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CustomerSnapshot {
    pub customer_id: i64,
    /// Customer (debtor) number.
    pub number: String,
    pub name: String,
    pub address_street: Option<String>,
    pub address_postal_code: Option<String>,
    pub address_city: Option<String>,
    pub address_country: Option<String>,
    pub vat_id: Option<String>,
    pub billing_email: Option<String>,
    /// Debtor number in the accounting system.
    pub accounting_ref: Option<String>,
    pub payment_terms_days: i64,
    pub vat_treatment: String,
    /// Buyer reference of its e-invoices (BT-10), as of issue.
    #[serde(default)]
    pub buyer_reference: Option<String>,
    /// Electronic address of its e-invoices (BT-49) and its scheme, as of issue.
    #[serde(default)]
    pub e_invoice_address: Option<String>,
    #[serde(default)]
    pub e_invoice_address_scheme: Option<String>,
}

impl CustomerSnapshot {
    /// The snapshot of a customer record as it is now.
    pub fn of(c: &crate::Customer) -> CustomerSnapshot {
        let d = &c.data;
        CustomerSnapshot {
            customer_id: c.id,
            number: d.number.clone(),
            name: d.name.clone(),
            address_street: d.address_street.clone(),
            address_postal_code: d.address_postal_code.clone(),
            address_city: d.address_city.clone(),
            address_country: d.address_country.clone(),
            vat_id: d.vat_id.clone(),
            billing_email: d.billing_email.clone(),
            accounting_ref: d.accounting_ref.clone(),
            payment_terms_days: d.payment_terms_days,
            vat_treatment: d.vat_treatment.as_str().to_string(),
            buyer_reference: d.buyer_reference.clone(),
            e_invoice_address: d.e_invoice_address.clone(),
            e_invoice_address_scheme: d.e_invoice_address_scheme.clone(),
        }
    }
}

/// A stored line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredLine {
    pub id: i64,
    /// Order on the invoice (1, 2, …).
    pub line_no: i64,
    #[serde(flatten)]
    pub line: InvoiceLine,
}

/// A position an invoice settles, with its treatment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SettledPosition {
    pub position: PositionRef,
    pub contract_id: Option<i64>,
    pub treatment: PositionStatus,
    pub actual_minutes: Option<i64>,
    pub rounded_minutes: Option<i64>,
    pub covered_minutes: Option<i64>,
    pub covered_value: Option<Decimal>,
    /// False once the invoice is cancelled (the position is open again).
    pub active: bool,
}

/// A stored invoice or credit note with its lines.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Invoice {
    pub id: i64,
    pub kind: InvoiceKind,
    pub status: InvoiceStatus,
    pub run_id: Option<i64>,
    pub customer_id: i64,
    /// The contract the invoice is for (a separate-invoice contract or a contract run).
    pub contract_id: Option<i64>,
    /// Created for one ticket ("invoice this ticket", immediate billing).
    pub scope_ticket_id: Option<i64>,
    /// Created for one project.
    pub scope_project_id: Option<i64>,
    pub series: Option<String>,
    pub number: Option<String>,
    pub currency: Currency,
    pub period_start: Option<Date>,
    pub period_end: Date,
    pub issue_date: Option<Date>,
    pub due_date: Option<Date>,
    pub legal_note: Option<LegalNote>,
    pub totals: Totals,
    pub vat: Vec<VatAmount>,
    pub quota_summaries: Vec<QuotaSummary>,
    pub threshold_crossings: Vec<ThresholdCrossing>,
    /// The customer as of issue (`None` for drafts).
    pub customer_snapshot: Option<CustomerSnapshot>,
    /// The seller profile as of issue (`None` for drafts and for documents issued before a
    /// profile was stored).
    pub seller_snapshot: Option<domain::company::SellerProfile>,
    pub notes: Option<String>,
    /// The buyer's order reference (purchase order number) the invoice names.
    pub order_reference: Option<String>,
    /// Credit note: the invoice it cancels.
    pub cancels_id: Option<i64>,
    /// Cancelled invoice: its credit note.
    pub cancelled_by_id: Option<i64>,
    /// Position in the accounting feed (issued documents).
    pub feed_seq: Option<i64>,
    pub exported_at: Option<DbTime>,
    /// The document format the export acknowledged, when it named one.
    pub exported_format: Option<String>,
    pub paid_on: Option<Date>,
    pub issued_at: Option<DbTime>,
    pub cancelled_at: Option<DbTime>,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    /// (An `invoice.*` event stores the invoice without them: see [`Invoice::event_payload`].)
    #[serde(skip_deserializing)]
    pub lines: Vec<StoredLine>,
}

impl Invoice {
    /// The payload of an `invoice.*` event: `facts` (what the mail derivation reads) with
    /// the invoice after the change under `invoice`, without its lines (`line_count` says
    /// how many): `GET /events` and webhooks show it as `GET /invoices/{id}` does.
    pub(crate) fn event_payload(&self, line_count: usize, mut facts: serde_json::Value) -> Result<serde_json::Value> {
        let mut head = serde_json::to_value(self)?;
        if let Some(fields) = head.as_object_mut() {
            fields.remove("lines");
        }
        facts["invoice"] = head;
        facts["line_count"] = line_count.into();
        Ok(facts)
    }

    /// Fails with a conflict unless the document allows `action`.
    pub fn check(&self, action: InvoiceAction) -> Result<()> {
        self.status.check(self.kind, action).map_err(StoreError::Conflict)
    }
}

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    id: i64,
    kind: String,
    status: String,
    run_id: Option<i64>,
    customer_id: i64,
    contract_id: Option<i64>,
    scope_ticket_id: Option<i64>,
    scope_project_id: Option<i64>,
    series: Option<String>,
    number: Option<String>,
    currency: String,
    period_start: Option<Date>,
    period_end: Date,
    issue_date: Option<Date>,
    due_date: Option<Date>,
    legal_note: Option<String>,
    net: ExactDecimal,
    vat: ExactDecimal,
    gross: ExactDecimal,
    vat_breakdown: String,
    quota_summaries: String,
    threshold_crossings: String,
    customer_snapshot: Option<String>,
    seller_snapshot: Option<String>,
    notes: Option<String>,
    order_reference: Option<String>,
    cancels_id: Option<i64>,
    cancelled_by_id: Option<i64>,
    feed_seq: Option<i64>,
    exported_at: Option<DbTime>,
    exported_format: Option<String>,
    paid_on: Option<Date>,
    issued_at: Option<DbTime>,
    cancelled_at: Option<DbTime>,
    version: i64,
    created_at: DbTime,
    updated_at: DbTime,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    invoice_id: i64,
    line_no: i64,
    kind: String,
    description: String,
    contract_id: Option<i64>,
    service_id: Option<i64>,
    ticket_id: Option<i64>,
    quantity: ExactDecimal,
    minutes: Option<i64>,
    unit: String,
    unit_price: ExactDecimal,
    net: ExactDecimal,
    vat_rate: ExactDecimal,
    surcharge: Option<String>,
    positions: String,
}

#[derive(sqlx::FromRow)]
struct PositionRow {
    invoice_id: i64,
    position_key: String,
    booking_id: Option<i64>,
    expense_id: Option<i64>,
    fee_contract_id: Option<i64>,
    fee_period_start: Option<Date>,
    contract_id: Option<i64>,
    treatment: String,
    actual_minutes: Option<i64>,
    rounded_minutes: Option<i64>,
    covered_minutes: Option<i64>,
    covered_value: Option<ExactDecimal>,
    position_version: Option<i64>,
    active: bool,
}

fn bad(what: String) -> StoreError {
    crate::types::decode_error(what)
}

fn parse_enum<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T> {
    s.parse().map_err(bad)
}

impl InvoiceRow {
    fn into_invoice(self, lines: Vec<StoredLine>) -> Result<Invoice> {
        Ok(Invoice {
            id: self.id,
            kind: parse_enum(&self.kind)?,
            status: parse_enum(&self.status)?,
            run_id: self.run_id,
            customer_id: self.customer_id,
            contract_id: self.contract_id,
            scope_ticket_id: self.scope_ticket_id,
            scope_project_id: self.scope_project_id,
            series: self.series,
            number: self.number,
            currency: self.currency.parse().map_err(|e: domain::currency::UnknownCurrency| bad(e.to_string()))?,
            period_start: self.period_start,
            period_end: self.period_end,
            issue_date: self.issue_date,
            due_date: self.due_date,
            legal_note: self.legal_note.as_deref().map(legal_note_from).transpose()?,
            totals: Totals { net: self.net.0, vat: self.vat.0, gross: self.gross.0 },
            vat: serde_json::from_str(&self.vat_breakdown)?,
            quota_summaries: serde_json::from_str(&self.quota_summaries)?,
            threshold_crossings: serde_json::from_str(&self.threshold_crossings)?,
            customer_snapshot: self.customer_snapshot.as_deref().map(serde_json::from_str).transpose()?,
            seller_snapshot: self.seller_snapshot.as_deref().map(serde_json::from_str).transpose()?,
            notes: self.notes,
            order_reference: self.order_reference,
            cancels_id: self.cancels_id,
            cancelled_by_id: self.cancelled_by_id,
            feed_seq: self.feed_seq,
            exported_at: self.exported_at,
            exported_format: self.exported_format,
            paid_on: self.paid_on,
            issued_at: self.issued_at,
            cancelled_at: self.cancelled_at,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            lines,
        })
    }
}

fn legal_note_text(n: LegalNote) -> &'static str {
    match n {
        LegalNote::ReverseCharge => "reverse_charge",
        LegalNote::Export => "export",
    }
}

fn legal_note_from(s: &str) -> Result<LegalNote> {
    match s {
        "reverse_charge" => Ok(LegalNote::ReverseCharge),
        "export" => Ok(LegalNote::Export),
        other => Err(bad(format!("unknown legal note `{other}`"))),
    }
}

impl LineRow {
    fn into_line(self) -> Result<StoredLine> {
        let surcharge = self.surcharge.as_deref().map(parse_enum).transpose()?;
        Ok(StoredLine {
            id: self.id,
            line_no: self.line_no,
            line: InvoiceLine {
                kind: parse_enum(&self.kind)?,
                description: self.description,
                contract_id: self.contract_id,
                service_id: self.service_id,
                ticket_id: self.ticket_id,
                quantity: self.quantity.0,
                minutes: self.minutes.and_then(|m| u64::try_from(m).ok()),
                unit: parse_enum::<Unit>(&self.unit)?,
                unit_price: self.unit_price.0,
                net: self.net.0,
                vat_rate: self.vat_rate.0,
                surcharge,
                positions: serde_json::from_str(&self.positions)?,
            },
        })
    }
}

impl PositionRow {
    fn position(&self) -> Result<PositionRef> {
        if let Some(id) = self.expense_id {
            return Ok(PositionRef::Expense { id });
        }
        if let (Some(contract_id), Some(period_start)) = (self.fee_contract_id, self.fee_period_start) {
            return Ok(PositionRef::ContractFee { contract_id, period_start });
        }
        // Bookings and booking fields (their booking id may be gone after a cancellation
        // and a delete, the key stays).
        let mut parts = self.position_key.split(':');
        let kind = parts.next();
        let nums: Vec<i64> = parts.filter_map(|p| p.parse().ok()).collect();
        match (kind, nums.as_slice()) {
            (Some("booking"), [id]) => Ok(PositionRef::Booking { id: *id }),
            (Some("booking_field"), [booking_id, field_id]) => {
                Ok(PositionRef::BookingField { booking_id: *booking_id, field_id: *field_id })
            }
            _ => Err(bad(format!("unknown position key `{}`", self.position_key))),
        }
    }

    /// The row as written to the history of a cancelled document.
    fn into_history(self) -> Result<PositionInsert> {
        Ok(PositionInsert {
            treatment: parse_enum(&self.treatment)?,
            key: self.position_key,
            booking_id: self.booking_id,
            expense_id: self.expense_id,
            fee: self.fee_contract_id.zip(self.fee_period_start),
            contract_id: self.contract_id,
            actual: self.actual_minutes,
            rounded: self.rounded_minutes,
            covered: self.covered_minutes,
            covered_value: self.covered_value.map(|v| v.0),
            version: self.position_version,
        })
    }

    fn into_settled(self) -> Result<SettledPosition> {
        Ok(SettledPosition {
            position: self.position()?,
            contract_id: self.contract_id,
            treatment: parse_enum(&self.treatment)?,
            actual_minutes: self.actual_minutes,
            rounded_minutes: self.rounded_minutes,
            covered_minutes: self.covered_minutes,
            covered_value: self.covered_value.map(|d| d.0),
            active: self.active,
        })
    }
}

/// Which invoices to list (newest first).
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub customer_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub run_id: Option<i64>,
    pub status: Option<InvoiceStatus>,
    pub kind: Option<InvoiceKind>,
    /// Issued on or after.
    pub issued_from: Option<Date>,
    /// Issued on or before.
    pub issued_to: Option<Date>,
    /// Only invoices billing a position of this ticket.
    pub ticket_id: Option<i64>,
    /// Only invoices billing a position of this project.
    pub project_id: Option<i64>,
}

/// A manual line for a draft.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualLine {
    pub description: String,
    pub quantity: Decimal,
    pub unit: Unit,
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
}

/// How to issue a draft.
#[derive(Debug, Clone)]
pub struct IssueOptions {
    /// Number series (e.g. `RE`).
    pub series: String,
    /// Issue date (its year is the number's year).
    pub issue_date: Date,
}

/// The drafts a run commits for one customer.
#[derive(Debug)]
pub struct DraftBatch<'a> {
    pub run_id: i64,
    pub customer_id: i64,
    /// The billing version the computation read; the drafts are stored only if it is
    /// still current.
    pub billing_version: i64,
    pub billing: &'a CustomerBilling,
    pub versions: &'a PositionVersions,
    pub scope_ticket_id: Option<i64>,
    pub scope_project_id: Option<i64>,
    pub scope_contract_id: Option<i64>,
    pub actor: &'a Actor,
    /// What the drafts hold, worked out ahead ([`DraftHolding::of`]); `None`: worked out
    /// while they are stored.
    pub holding: Option<&'a DraftHolding>,
}

/// What storing a customer's drafts did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftOutcome {
    /// Drafts created (ids) and the number of positions they reserve.
    Created { invoice_ids: Vec<i64>, positions: usize },
    /// What the computation read changed meanwhile (another run, a draft deleted, a
    /// position edited): compute again.
    Stale,
}

/// The audit record of an invoice change (totals and state, not every line).
#[derive(serde::Serialize)]
struct AuditView<'a> {
    kind: &'a str,
    status: &'a str,
    number: Option<&'a str>,
    customer_id: i64,
    net: Decimal,
    vat: Decimal,
    gross: Decimal,
    lines: usize,
}

fn audit_view(i: &Invoice) -> AuditView<'_> {
    AuditView {
        kind: i.kind.as_str(),
        status: i.status.as_str(),
        number: i.number.as_deref(),
        customer_id: i.customer_id,
        net: i.totals.net,
        vat: i.totals.vat,
        gross: i.totals.gross,
        lines: i.lines.len(),
    }
}

/// Advances the customer's billing version inside `$tx`. With `Some(expected)` only if the
/// version is still `expected`; evaluates to whether it advanced.
macro_rules! advance_billing_version {
    ($tx:expr, $customer_id:expr, $expected:expr) => {{
        let expected: Option<i64> = $expected;
        let row: Option<i64> = sqlx::query_scalar(
            "INSERT INTO customer_billing_state (customer_id, version) VALUES ($1, 1) \
             ON CONFLICT (customer_id) DO UPDATE SET version = customer_billing_state.version + 1 \
             WHERE $2 IS NULL OR customer_billing_state.version = $2 RETURNING version",
        )
        .bind($customer_id)
        .bind(expected)
        .fetch_optional(&mut *$tx)
        .await
        .map_err(StoreError::from)?;
        match (row, expected) {
            (Some(v), Some(e)) => v == e + 1,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }};
}

/// Locks the invoice row inside `$tx` (a no-op write) and reads it with its lines.
macro_rules! lock_invoice {
    ($tx:expr, $id:expr) => {{
        let id: i64 = $id;
        let n = sqlx::query("UPDATE invoices SET version = version WHERE id = $1")
            .bind(id)
            .execute(&mut *$tx)
            .await
            .map_err(StoreError::from)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        fetch_invoice!(&mut *$tx, id)
    }};
}

/// Reads an invoice with its lines through `$conn`.
macro_rules! fetch_invoice {
    ($conn:expr, $id:expr) => {{
        let id: i64 = $id;
        let row: InvoiceRow = sqlx::query_as("SELECT * FROM invoices WHERE id = $1")
            .bind(id)
            .fetch_one($conn)
            .await
            .map_err(StoreError::from)?;
        let lines: Vec<LineRow> = sqlx::query_as("SELECT * FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no")
            .bind(id)
            .fetch_all($conn)
            .await
            .map_err(StoreError::from)?;
        row.into_invoice(lines.into_iter().map(LineRow::into_line).collect::<Result<Vec<_>>>()?)?
    }};
}

/// The `SET` list that opens a stamped booking again (PostgreSQL): no document, no settlement.
macro_rules! booking_unstamped {
    () => {
        "invoice_id = NULL, settled_contract_id = NULL, treatment = NULL, actual_minutes = NULL, \
         rounded_minutes = NULL, covered_minutes = NULL, covered_value = NULL, settled_fields = NULL, \
         version = version + 1"
    };
}

/// Takes booking `$2` out of document `$1`'s array of settlements (SQLite), if it is in it.
const SQLITE_RELEASE_ONE: &str = "UPDATE booking_settlement_sets SET settlements = json_remove(settlements, \
    (SELECT '$[' || e.key || ']' FROM json_each(settlements) e WHERE e.value ->> 0 = $2)) \
    WHERE invoice_id = $1 AND EXISTS (SELECT 1 FROM json_each(settlements) e WHERE e.value ->> 0 = $2)";

/// The statement that opens the bookings document `$1` holds again — only booking `$2` when
/// `one` — on `backend`: SQLite deletes their settlements (migrations/sqlite/0027),
/// PostgreSQL clears the stamps on the booking rows.
pub(crate) fn booking_release_sql(backend: crate::Backend, one: bool) -> &'static str {
    match (backend, one) {
        // The document's array of settlements (the holds follow it: migrations/sqlite/0027).
        (crate::Backend::Sqlite, false) => "DELETE FROM booking_settlement_sets WHERE invoice_id = $1",
        (crate::Backend::Sqlite, true) => SQLITE_RELEASE_ONE,
        (crate::Backend::Postgres, false) => {
            concat!("UPDATE bookings SET ", booking_unstamped!(), " WHERE invoice_id = $1")
        }
        (crate::Backend::Postgres, true) => {
            concat!("UPDATE bookings SET ", booking_unstamped!(), " WHERE invoice_id = $1 AND id = $2")
        }
    }
}

/// The `SET` list that opens an expense again (as a literal).
macro_rules! expense_unstamped {
    () => {
        "invoice_id = NULL, settled_contract_id = NULL, treatment = NULL, covered_value = NULL, version = version + 1"
    };
}

/// Opens every position document `$id` holds again inside `$tx`: releases its bookings and
/// clears the stamps of its expenses (found through their `invoice_id` indexes) and deletes
/// its fee periods.
macro_rules! release_positions {
    ($tx:expr, $id:expr) => {{
        let id: i64 = $id;
        for sql in [
            crate::invoices::booking_release_sql(crate::store::backend_of(&$tx), false),
            concat!("UPDATE expenses SET ", expense_unstamped!(), " WHERE invoice_id = $1"),
            "DELETE FROM contract_fee_periods WHERE invoice_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *$tx).await.map_err(StoreError::from)?;
        }
    }};
}

/// The contracts whose quota entries invoice `$id` carries.
macro_rules! contracts_with_quota {
    ($tx:expr, $id:expr) => {{
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT contract_id FROM invoice_quota_entries WHERE invoice_id = $1 ORDER BY contract_id",
        )
        .bind($id)
        .fetch_all(&mut *$tx)
        .await
        .map_err(StoreError::from)?;
        ids
    }};
}

/// The earliest open draft (invoice or settlement, id below `$before`) carrying quota
/// entries of `$contract_id` — the draft whose periods a later document continues. (Read
/// from the contract's quota entries, not by scanning the invoices before `$before`.)
macro_rules! earlier_quota_draft {
    ($tx:expr, $before:expr, $contract_id:expr) => {{
        let earlier: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(q.invoice_id) FROM invoice_quota_entries q JOIN invoices i ON i.id = q.invoice_id \
             WHERE q.contract_id = $2 AND q.invoice_id < $1 AND i.status = 'draft'",
        )
        .bind($before)
        .bind($contract_id)
        .fetch_one(&mut *$tx)
        .await
        .map_err(StoreError::from)?;
        earlier
    }};
}

/// Fails with a conflict when the issue date is before the newest document of the series
/// and year (numbers follow the dates).
macro_rules! check_issue_date {
    ($tx:expr, $series:expr, $year:expr, $date:expr) => {{
        let latest: Option<Date> =
            sqlx::query_scalar("SELECT MAX(issue_date) FROM invoices WHERE series = $1 AND number_year = $2")
                .bind($series)
                .bind(i64::from($year))
                .fetch_one(&mut *$tx)
                .await
                .map_err(StoreError::from)?;
        if let Some(latest) = latest.filter(|l| $date < *l) {
            return Err(StoreError::Conflict(format!(
                "the issue date is before {latest}, the date of the newest document of series {}; numbers follow the dates",
                $series
            )));
        }
    }};
}

/// What issuing and settling share, inside `$tx`: the quota entries of `$id` written to the
/// ledger and its threshold crossings emitted. (Its positions are billed because the
/// document is: nothing to write per position.)
macro_rules! bill_positions_and_write_ledger {
    ($tx:expr, $id:expr, $crossings:expr, $now:expr) => {{
        let id: i64 = $id;
        BulkWrite::write_ledger(&mut *$tx, &[id], $now).await?;
        for c in $crossings {
            emit_event!($tx, "contract.quota_threshold", "contract", c.contract_id, c);
        }
    }};
}

/// Settles settlement `$id` inside `$tx`: [`bill_positions_and_write_ledger`], status
/// `settled` — no number, no feed — and `invoice.settled` (from which, like from
/// `invoice.issued`, the dispatcher derives `ticket.billed`).
macro_rules! settle {
    ($tx:expr, $id:expr, $crossings:expr, $now:expr) => {{
        let id: i64 = $id;
        bill_positions_and_write_ledger!($tx, id, $crossings, $now);
        let row: InvoiceRow = sqlx::query_as(
            "UPDATE invoices SET status = 'settled', version = version + 1, updated_at = $1 WHERE id = $2 RETURNING *")
            .bind($now)
            .bind(id)
            .fetch_one(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
        let settled = row.into_invoice(Vec::new())?;
        let facts = serde_json::json!({"invoice_id": id, "customer_id": settled.customer_id});
        emit_event!($tx, SETTLED_EVENT, "invoice", id, &settled.event_payload(0, facts)?);
    }};
}

/// A settlement became final (it bills nothing: no number, no lines).
pub const SETTLED_EVENT: &str = "invoice.settled";

mod draft_rows;
mod drafts;
pub use drafts::DraftHolding;
mod editing;
mod feed;
mod issue_batch;
mod lifecycle;
mod reads;
mod rebill;
#[cfg(test)]
pub(crate) mod tests;
pub(crate) mod tickets_billed;

/// The order of a document's positions: bookings (each before its custom-field quantities),
/// expenses, fees.
const SETTLED_ORDER: &str = "ORDER BY fee_contract_id IS NOT NULL, expense_id IS NOT NULL, \
    COALESCE(booking_id, expense_id, fee_contract_id), fee_period_start, position_key";

/// `$from`, `$from + 1`, … (`n` numbered parameters, comma separated): an `IN` list.
fn numbered_params(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

fn check_version(inv: &Invoice, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != inv.version => Err(StoreError::StaleVersion),
        _ => Ok(()),
    }
}

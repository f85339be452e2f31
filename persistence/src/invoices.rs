//! Storage of invoices and credit notes: drafts created by committed runs, their lines,
//! the positions they settle, the quota-ledger entries they write, and the life cycle
//! (edit, delete, issue, mark paid, cancel by credit note) with numbering.
//!
//! Invariants the database enforces, not only this code:
//! - a position is settled by at most one invoice that is not cancelled
//!   (`invoice_positions_once`, a partial unique index over the position key);
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

use crate::audit::Actor;
use crate::billing::PositionVersions;
use crate::bulk::{to_i64, BulkWrite, LineInsert, PositionInsert, PositionState, PositionTable};
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
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
    pub notes: Option<String>,
    /// Credit note: the invoice it cancels.
    pub cancels_id: Option<i64>,
    /// Cancelled invoice: its credit note.
    pub cancelled_by_id: Option<i64>,
    /// Position in the accounting feed (issued documents).
    pub feed_seq: Option<i64>,
    pub exported_at: Option<DbTime>,
    pub paid_on: Option<Date>,
    pub issued_at: Option<DbTime>,
    pub cancelled_at: Option<DbTime>,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub lines: Vec<StoredLine>,
}

impl Invoice {
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
    notes: Option<String>,
    cancels_id: Option<i64>,
    cancelled_by_id: Option<i64>,
    feed_seq: Option<i64>,
    exported_at: Option<DbTime>,
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
    active: bool,
}

/// A position of a cancelled invoice with that invoice's number.
#[derive(sqlx::FromRow)]
struct CancelledPositionRow {
    #[sqlx(flatten)]
    position: PositionRow,
    number: Option<String>,
}

/// What `create_drafts` reads back from a new draft's row (for its audit record).
#[derive(sqlx::FromRow)]
struct CreatedRow {
    id: i64,
    kind: String,
    status: String,
    number: Option<String>,
    customer_id: i64,
    net: ExactDecimal,
    vat: ExactDecimal,
    gross: ExactDecimal,
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
            notes: self.notes,
            cancels_id: self.cancels_id,
            cancelled_by_id: self.cancelled_by_id,
            feed_seq: self.feed_seq,
            exported_at: self.exported_at,
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

/// Writes the totals of the invoice's remaining lines inside `$tx` (after an edit).
macro_rules! retotal {
    ($tx:expr, $invoice:expr, $lines:expr) => {{
        let inv: &Invoice = $invoice;
        let lines: &[&InvoiceLine] = $lines;
        let (vat, totals) = invoice::document_totals(lines.iter().map(|l| (l.vat_rate, l.net)), inv.currency)
            .ok_or_else(|| StoreError::Conflict("the invoice totals would overflow".into()))?;
        sqlx::query(
            "UPDATE invoices SET net = $1, vat = $2, gross = $3, vat_breakdown = $4, version = version + 1, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(ExactDecimal(totals.net))
        .bind(ExactDecimal(totals.vat))
        .bind(ExactDecimal(totals.gross))
        .bind(serde_json::to_string(&vat).map_err(StoreError::from)?)
        .bind(DbTime::now())
        .bind(inv.id)
        .execute(&mut *$tx)
        .await
        .map_err(StoreError::from)?;
    }};
}

/// Sets the bookings and expenses that invoice `$id` settles (active positions) from state
/// `$from` to `$to` inside `$tx`, found by primary key from the invoice's positions.
macro_rules! move_positions {
    ($tx:expr, $id:expr, $from:expr, $to:expr) => {{
        let id: i64 = $id;
        // `active` is filtered here, not in SQL: with a condition on `active` PostgreSQL may
        // combine the invoice index with the partial unique index (`WHERE active`, every
        // active position) and read all of it for each invoice.
        let settled: Vec<(Option<i64>, Option<i64>, bool)> =
            sqlx::query_as("SELECT booking_id, expense_id, active FROM invoice_positions WHERE invoice_id = $1")
                .bind(id)
                .fetch_all(&mut *$tx)
                .await
                .map_err(StoreError::from)?;
        let active = || settled.iter().filter(|r| r.2);
        let bookings: Vec<i64> = active().filter_map(|r| r.0).collect::<BTreeSet<_>>().into_iter().collect();
        let expenses: Vec<i64> = active().filter_map(|r| r.1).collect::<BTreeSet<_>>().into_iter().collect();
        BulkWrite::move_state(&mut *$tx, PositionTable::Bookings, &bookings, $from, $to).await?;
        BulkWrite::move_state(&mut *$tx, PositionTable::Expenses, &expenses, $from, $to).await?;
    }};
}

/// Fails with a conflict when a later document (not cancelled) of one of `$contracts`
/// continues this draft's quota entries (its periods, carry-over and consumption).
macro_rules! check_no_later_contract_invoice {
    ($tx:expr, $invoice_id:expr, $contracts:expr) => {{
        for contract_id in $contracts {
            let later: Option<(i64, Option<String>)> = sqlx::query_as(
                "SELECT i.id, i.number FROM invoices i WHERE i.id > $1 AND i.status <> 'cancelled' AND i.kind <> 'credit_note' \
                 AND EXISTS (SELECT 1 FROM invoice_quota_entries q WHERE q.invoice_id = i.id AND q.contract_id = $2) \
                 ORDER BY i.id LIMIT 1",
            )
            .bind($invoice_id)
            .bind(contract_id)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
            if let Some((id, number)) = later {
                return Err(StoreError::Conflict(format!(
                    "invoice {} of contract {contract_id} was created later and continues this draft's quota; \
                     delete or cancel it first",
                    number.unwrap_or_else(|| format!("{id} (a draft or settlement)"))
                )));
            }
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

/// Writes the quota-ledger entries of invoice `$id` (issued, or a settlement) inside `$tx`.
macro_rules! write_ledger {
    ($tx:expr, $id:expr, $now:expr) => {{
        sqlx::query(
            "INSERT INTO quota_ledger (contract_id, period_start, origin_period_start, kind, amount, position, \
             invoice_id, created_at) SELECT contract_id, period_start, origin_period_start, kind, amount, position, \
             invoice_id, $1 FROM invoice_quota_entries WHERE invoice_id = $2 ORDER BY id",
        )
        .bind($now)
        .bind($id)
        .execute(&mut *$tx)
        .await
        .map_err(StoreError::from)?;
    }};
}

/// What issuing and settling share, inside `$tx`: the positions of `$id` locked (reserved
/// → billed, found by primary key from its active positions: planners misjudge
/// `state = 'reserved'` with stale statistics and scan the table for a subquery), its quota
/// entries written to the ledger and its threshold crossings emitted.
macro_rules! bill_positions_and_write_ledger {
    ($tx:expr, $id:expr, $crossings:expr, $now:expr) => {{
        let id: i64 = $id;
        move_positions!($tx, id, PositionState::Reserved, PositionState::Billed);
        write_ledger!($tx, id, $now);
        for c in $crossings {
            emit_event!($tx, "contract.quota_threshold", "contract", c.contract_id, c);
        }
    }};
}

/// Settles settlement `$id` inside `$tx`: [`bill_positions_and_write_ledger`], status
/// `settled` — no number, no feed.
macro_rules! settle {
    ($tx:expr, $id:expr, $crossings:expr, $now:expr) => {{
        let id: i64 = $id;
        bill_positions_and_write_ledger!($tx, id, $crossings, $now);
        sqlx::query("UPDATE invoices SET status = 'settled', version = version + 1, updated_at = $1 WHERE id = $2")
            .bind($now)
            .bind(id)
            .execute(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
    }};
}

/// Every position a proposal settles: its outcomes, plus the line positions without an
/// outcome of their own (fees, custom-field quantities), all billed.
fn settled_positions(
    outcomes: &[PositionOutcome],
    lines: &[InvoiceLine],
    versions: &PositionVersions,
) -> Vec<PositionInsert> {
    let mut seen: BTreeSet<PositionRef> = BTreeSet::new();
    let mut out = Vec::with_capacity(outcomes.len() + 4);
    let mut push = |p: PositionRef, contract_id: Option<i64>, o: Option<&PositionOutcome>| {
        if !seen.insert(p) {
            return;
        }
        let (booking_id, expense_id, fee) = match p {
            PositionRef::Booking { id } => (Some(id), None, None),
            PositionRef::BookingField { booking_id, .. } => (Some(booking_id), None, None),
            PositionRef::Expense { id } => (None, Some(id), None),
            PositionRef::ContractFee { contract_id, period_start } => (None, None, Some((contract_id, period_start))),
        };
        let version = match p {
            PositionRef::BookingField { booking_id, .. } => versions.get(&PositionRef::Booking { id: booking_id }),
            other => versions.get(&other),
        };
        out.push(PositionInsert {
            key: position_key(&p),
            booking_id,
            expense_id,
            fee,
            contract_id,
            treatment: o.map_or(PositionStatus::Billed, |o| o.status),
            actual: o.and_then(|o| o.actual_minutes).map(i64::from),
            rounded: to_i64(o.and_then(|o| o.rounded_minutes)),
            covered: to_i64(o.and_then(|o| o.covered_minutes)),
            covered_value: o.and_then(|o| o.covered_value),
            version: version.copied(),
        });
    };
    for o in outcomes {
        push(o.position, o.contract_id, Some(o));
    }
    for l in lines {
        for p in &l.positions {
            push(*p, l.contract_id, None);
        }
    }
    out
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

/// Inserts the credit note cancelling `$before` (numbered in `$opts`' series, every amount
/// negated, its lines mirrored) inside `$tx`; evaluates to its id.
macro_rules! insert_credit_note {
    ($tx:expr, $before:expr, $opts:expr, $reason:expr, $now:expr) => {{
        let before: &Invoice = $before;
        let opts: &IssueOptions = $opts;
        let reason: Option<&str> = $reason;
        let now: DbTime = $now;
        let year = opts.issue_date.year();
        if before.issue_date.is_some_and(|d| opts.issue_date < d) {
            return Err(StoreError::Conflict("the credit note cannot be dated before the invoice".into()));
        }
        let customer: crate::Customer = sqlx::query_as("SELECT * FROM customers WHERE id = $1")
            .bind(before.customer_id)
            .fetch_one(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
        let snapshot = CustomerSnapshot::of(&customer);
        let neg = |v: Decimal| invoice::credit_amount(v);
        let vat: Vec<VatAmount> =
            before.vat.iter().map(|v| VatAmount { rate: v.rate, net: neg(v.net), vat: neg(v.vat) }).collect();
        let notes = match reason {
            Some(r) => format!("Cancels invoice {}: {r}", before.number.as_deref().unwrap_or_default()),
            None => format!("Cancels invoice {}", before.number.as_deref().unwrap_or_default()),
        };
        // The series lock first, then the date check under it (see issue_invoice).
        let seq = next_number!($tx, invoice::sequence_name(&opts.series, year), 1)?;
        check_issue_date!($tx, &opts.series, year, opts.issue_date);
        let number = invoice::format_number(&opts.series, year, seq);
        let feed_seq = next_number!($tx, "accounting_feed", 1)?;
        let credit_id: i64 = sqlx::query_scalar(
            "INSERT INTO invoices (kind, status, run_id, customer_id, contract_id, scope_ticket_id, scope_project_id, \
             currency, period_start, period_end, legal_note, net, vat, gross, vat_breakdown, quota_summaries, \
             threshold_crossings, notes, cancels_id, version, created_at, updated_at, \
             series, number_year, number_seq, number, issue_date, due_date, customer_snapshot, feed_seq, issued_at) \
             VALUES ('credit_note', 'issued', NULL, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '[]', '[]', $13, \
             $14, 1, $15, $15, $16, $17, $18, $19, $20, $20, $21, $22, $15) RETURNING id",
        )
        .bind(before.customer_id)
        .bind(before.contract_id)
        .bind(before.scope_ticket_id)
        .bind(before.scope_project_id)
        .bind(before.currency.code())
        .bind(before.period_start)
        .bind(before.period_end)
        .bind(before.legal_note.map(legal_note_text))
        .bind(ExactDecimal(neg(before.totals.net)))
        .bind(ExactDecimal(neg(before.totals.vat)))
        .bind(ExactDecimal(neg(before.totals.gross)))
        .bind(serde_json::to_string(&vat).map_err(StoreError::from)?)
        .bind(notes)
        .bind(before.id)
        .bind(now)
        .bind(&opts.series)
        .bind(i64::from(year))
        .bind(seq)
        .bind(&number)
        .bind(opts.issue_date)
        .bind(serde_json::to_string(&snapshot).map_err(StoreError::from)?)
        .bind(feed_seq)
        .fetch_one(&mut *$tx)
        .await
        .map_err(StoreError::from)?;
        let credit_lines: Vec<(i64, InvoiceLine)> = before
            .lines
            .iter()
            .map(|l| {
                let line = InvoiceLine {
                    quantity: neg(l.line.quantity),
                    net: neg(l.line.net),
                    minutes: None,
                    positions: Vec::new(),
                    ..l.line.clone()
                };
                (l.line_no, line)
            })
            .collect();
        let rows: Vec<LineInsert<'_>> = credit_lines.iter().map(|(no, l)| (credit_id, *no, l)).collect();
        BulkWrite::insert_lines(&mut *$tx, &rows).await?;
        credit_id
    }};
}

const SETTLED_ORDER: &str = "ORDER BY id";

impl Store {
    /// Stores the drafts of one customer's committable computation in one transaction,
    /// reserving their positions — only if the customer's billing version is still the
    /// one read and every position is still open in the version read; otherwise nothing
    /// is written and [`DraftOutcome::Stale`] asks for a new computation.
    pub async fn create_drafts(&self, b: &DraftBatch<'_>) -> Result<DraftOutcome> {
        let outcome = in_tx!(self, tx => {
            if !advance_billing_version!(tx, b.customer_id, Some(b.billing_version)) {
                return Ok(DraftOutcome::Stale);
            }
            let now = DbTime::now();
            let mut ids = Vec::with_capacity(b.billing.proposals.len());
            let mut lines: Vec<LineInsert<'_>> = Vec::new();
            let mut settled: Vec<(i64, PositionInsert)> = Vec::new();
            let mut quota: Vec<(i64, &QuotaEntry)> = Vec::new();
            let mut settlements: Vec<(i64, Vec<&ThresholdCrossing>)> = Vec::new();
            for p in &b.billing.proposals {
                let contract_id = p.contract_id.or(b.scope_contract_id);
                // A proposal without lines bills nothing: it becomes a settlement, final at once.
                // (It waits as a draft while it continues the quota of an earlier open draft:
                // the ledger is written in order.)
                let kind = InvoiceKind::of_proposal(p.lines.len());
                let mut status = InvoiceStatus::Draft;
                if kind == InvoiceKind::Settlement {
                    status = InvoiceStatus::Settled;
                    let contracts: BTreeSet<i64> = p.quota_entries.iter().map(|e| e.contract_id).collect();
                    for c in contracts {
                        if earlier_quota_draft!(tx, i64::MAX, c).is_some() {
                            status = InvoiceStatus::Draft;
                        }
                    }
                }
                let crossings: Vec<&ThresholdCrossing> = b
                    .billing
                    .threshold_crossings
                    .iter()
                    .filter(|c| p.quota_entries.iter().any(|e| e.contract_id == c.contract_id))
                    .collect();
                let created: CreatedRow = sqlx::query_as(
                    "INSERT INTO invoices (kind, status, run_id, customer_id, contract_id, scope_ticket_id, \
                     scope_project_id, currency, period_start, period_end, legal_note, net, vat, gross, vat_breakdown, \
                     quota_summaries, threshold_crossings, version, created_at, updated_at) \
                     VALUES ($17, $18, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $16) \
                     RETURNING id, kind, status, number, customer_id, net, vat, gross")
                    .bind(b.run_id).bind(b.customer_id).bind(contract_id).bind(b.scope_ticket_id).bind(b.scope_project_id)
                    .bind(p.currency.code()).bind(p.period_start).bind(p.period_end)
                    .bind(p.legal_note.map(legal_note_text))
                    .bind(ExactDecimal(p.totals.net)).bind(ExactDecimal(p.totals.vat)).bind(ExactDecimal(p.totals.gross))
                    .bind(serde_json::to_string(&p.vat)?).bind(serde_json::to_string(&p.quota_summaries)?)
                    .bind(serde_json::to_string(&crossings)?).bind(now).bind(kind.as_str()).bind(status.as_str())
                    .fetch_one(&mut *tx).await?;
                let id = created.id;
                if status == InvoiceStatus::Settled {
                    settlements.push((id, crossings));
                }
                lines.extend(p.lines.iter().enumerate().map(|(i, l)| (id, i as i64 + 1, l)));
                settled.extend(settled_positions(&p.positions, &p.lines, b.versions).into_iter().map(|s| (id, s)));
                quota.extend(p.quota_entries.iter().map(|e| (id, e)));
                // The stored draft as `audit_view` shows it: the invoice row as written and
                // its lines.
                let view = AuditView {
                    kind: &created.kind,
                    status: &created.status,
                    number: created.number.as_deref(),
                    customer_id: created.customer_id,
                    net: created.net.0,
                    vat: created.vat.0,
                    gross: created.gross.0,
                    lines: p.lines.len(),
                };
                audit!(tx, b.actor, "invoice", id, "create", None::<&AuditView>, Some(&view));
                ids.push(id);
            }
            BulkWrite::insert_lines(&mut *tx, &lines).await?;
            let reserved = match BulkWrite::insert_positions(&mut *tx, &settled).await {
                Ok(n) => n,
                // Another run took a position first: compute again.
                Err(StoreError::Duplicate(_)) => return Ok(DraftOutcome::Stale),
                Err(e) => return Err(e),
            };
            BulkWrite::insert_quota_entries(&mut *tx, &quota).await?;
            // Reserve exactly the versions computed: a position changed or taken meanwhile
            // makes the count differ and the whole customer is computed again. The rows are
            // found by primary key from the (id, version) pairs the positions were stored with.
            // (A booking settled twice — its minutes and a custom-field quantity — is one row.)
            let (mut bookings, mut expenses) = (BTreeSet::new(), BTreeSet::new());
            let (mut booking_versions, mut expense_versions) = (BTreeSet::new(), BTreeSet::new());
            for (_, s) in &settled {
                if let Some(id) = s.booking_id {
                    bookings.insert(id);
                    booking_versions.extend(s.version.map(|v| (id, v)));
                }
                if let Some(id) = s.expense_id {
                    expenses.insert(id);
                    expense_versions.extend(s.version.map(|v| (id, v)));
                }
            }
            let booking_versions: Vec<(i64, i64)> = booking_versions.into_iter().collect();
            let expense_versions: Vec<(i64, i64)> = expense_versions.into_iter().collect();
            let booked = BulkWrite::reserve(&mut *tx, PositionTable::Bookings, &booking_versions).await?;
            let spent = BulkWrite::reserve(&mut *tx, PositionTable::Expenses, &expense_versions).await?;
            if booked != bookings.len() as u64 || spent != expenses.len() as u64 {
                return Ok(DraftOutcome::Stale);
            }
            // Settlements are final: their positions are settled and their quota entries
            // enter the ledger now, as an issue would do, but without number or feed position.
            for (id, crossings) in &settlements {
                settle!(tx, *id, crossings, now);
            }
            DraftOutcome::Created { invoice_ids: ids, positions: reserved }
        });
        Ok(outcome)
    }

    /// The invoice with its lines.
    pub async fn get_invoice(&self, id: i64) -> Result<Invoice> {
        Ok(with_pool!(self, pool => fetch_invoice!(pool, id)))
    }

    /// The positions an invoice settles, in the order they were stored.
    pub async fn invoice_positions(&self, id: i64) -> Result<Vec<SettledPosition>> {
        let rows: Vec<PositionRow> = with_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT * FROM invoice_positions WHERE invoice_id = $1 {SETTLED_ORDER}"))
            .bind(id).fetch_all(pool).await?);
        rows.into_iter().map(PositionRow::into_settled).collect()
    }

    /// Lists invoices, newest first, after the id `page.after`.
    pub async fn list_invoices(&self, f: &InvoiceFilter, page: &PageRequest<i64>) -> Result<Page<Invoice, i64>> {
        let rows: Vec<InvoiceRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM invoices i WHERE ($1 IS NULL OR i.customer_id = $1) AND ($2 IS NULL OR i.contract_id = $2) \
             AND ($3 IS NULL OR i.run_id = $3) AND ($4 IS NULL OR i.status = $4) AND ($5 IS NULL OR i.kind = $5) \
             AND ($6 IS NULL OR i.issue_date >= $6) AND ($7 IS NULL OR i.issue_date <= $7) \
             AND ($8 IS NULL OR EXISTS (SELECT 1 FROM invoice_positions p JOIN bookings b ON b.id = p.booking_id \
                  WHERE p.invoice_id = i.id AND b.ticket_id = $8) \
                  OR EXISTS (SELECT 1 FROM invoice_positions p JOIN expenses e ON e.id = p.expense_id \
                  WHERE p.invoice_id = i.id AND e.ticket_id = $8)) \
             AND ($9 IS NULL OR EXISTS (SELECT 1 FROM invoice_positions p JOIN bookings b ON b.id = p.booking_id \
                  WHERE p.invoice_id = i.id AND b.project_id = $9) \
                  OR EXISTS (SELECT 1 FROM invoice_positions p JOIN expenses e ON e.id = p.expense_id \
                  WHERE p.invoice_id = i.id AND e.project_id = $9)) \
             AND ($10 IS NULL OR i.id < $10) ORDER BY i.id DESC LIMIT $11")
            .bind(f.customer_id).bind(f.contract_id).bind(f.run_id).bind(f.status.map(|s| s.as_str()))
            .bind(f.kind.map(|k| k.as_str())).bind(f.issued_from).bind(f.issued_to).bind(f.ticket_id)
            .bind(f.project_id).bind(page.after).bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        let page = Page::from_overfetch(rows, page.limit, |r| r.id);
        Ok(Page { items: self.with_lines(page.items).await?, next: page.next })
    }

    /// The invoices of `rows` with their lines, read in one query for the whole page.
    async fn with_lines(&self, rows: Vec<InvoiceRow>) -> Result<Vec<Invoice>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let params = (1..=rows.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT * FROM invoice_lines WHERE invoice_id IN ({params}) ORDER BY invoice_id, line_no");
        let lines: Vec<LineRow> = with_pool!(self, pool => {
            let mut q = sqlx::query_as(&sql);
            for r in &rows {
                q = q.bind(r.id);
            }
            q.fetch_all(pool).await?
        });
        let mut by_invoice: BTreeMap<i64, Vec<StoredLine>> = BTreeMap::new();
        for l in lines {
            by_invoice.entry(l.invoice_id).or_default().push(l.into_line()?);
        }
        rows.into_iter()
            .map(|r| {
                let lines = by_invoice.remove(&r.id).unwrap_or_default();
                r.into_invoice(lines)
            })
            .collect()
    }

    /// Adds a manual line to a draft and recomputes its totals.
    pub async fn add_manual_line(
        &self,
        id: i64,
        expected_version: Option<i64>,
        line: &ManualLine,
        actor: &Actor,
    ) -> Result<Invoice> {
        let after = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Edit)?;
            let net = invoice::manual_line_net(line.quantity, line.unit_price, before.currency)
                .ok_or_else(|| StoreError::Conflict("the line's net would overflow".into()))?;
            let new = InvoiceLine {
                kind: LineKind::Manual,
                description: line.description.clone(),
                contract_id: None,
                service_id: None,
                ticket_id: None,
                quantity: line.quantity,
                minutes: None,
                unit: line.unit,
                unit_price: line.unit_price,
                net,
                vat_rate: line.vat_rate,
                surcharge: None,
                positions: Vec::new(),
            };
            let next_no = before.lines.iter().map(|l| l.line_no).max().unwrap_or(0) + 1;
            BulkWrite::insert_lines(&mut *tx, &[(id, next_no, &new)]).await?;
            let mut all: Vec<&InvoiceLine> = before.lines.iter().map(|l| &l.line).collect();
            all.push(&new);
            retotal!(tx, &before, &all);
            let after = fetch_invoice!(&mut *tx, id);
            audit!(tx, actor, "invoice", id, "add_line", Some(&audit_view(&before)), Some(&audit_view(&after)));
            after
        });
        Ok(after)
    }

    /// Removes a line from a draft, together with every line billing a part of the same
    /// bookings and expenses; their positions are open again. A line whose positions used
    /// prepaid quota, or a fee a later invoice continues from, cannot be removed (delete
    /// the draft instead). Returns the draft and the ids of the lines removed.
    pub async fn remove_invoice_line(
        &self,
        id: i64,
        line_id: i64,
        expected_version: Option<i64>,
        actor: &Actor,
    ) -> Result<(Invoice, Vec<i64>)> {
        let out = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Edit)?;
            let idx = before.lines.iter().position(|l| l.id == line_id).ok_or(StoreError::NotFound)?;
            // The customer's billing row first (see delete_draft).
            advance_billing_version!(tx, before.customer_id, None);
            let line_positions: Vec<Vec<PositionRef>> = before.lines.iter().map(|l| l.line.positions.clone()).collect();
            let leaving = invoice::lines_leaving_with(&line_positions, idx);
            let settled: Vec<PositionRow> = sqlx::query_as(&format!(
                "SELECT * FROM invoice_positions WHERE invoice_id = $1 {SETTLED_ORDER}"))
                .bind(id).fetch_all(&mut *tx).await?;
            let all: Vec<PositionRef> = settled.iter().map(PositionRow::position).collect::<Result<_>>()?;
            let released = invoice::released_positions(&line_positions, &leaving, &all);
            let quota_rows: Vec<crate::billing::LedgerRow> = sqlx::query_as(
                "SELECT contract_id, period_start, origin_period_start, kind, amount, position FROM invoice_quota_entries \
                 WHERE invoice_id = $1").bind(id).fetch_all(&mut *tx).await?;
            for e in quota_rows {
                let e = e.into_entry()?;
                if e.position.is_some_and(|p| released.contains(&p)) {
                    return Err(StoreError::Conflict(format!(
                        "the line bills work that used the prepaid quota of contract {}; delete the draft and run again \
                         instead (e.g. after marking the work not billable)",
                        e.contract_id
                    )));
                }
            }
            let fee_contracts: BTreeSet<i64> = released
                .iter()
                .filter_map(|p| match p {
                    PositionRef::ContractFee { contract_id, .. } => Some(*contract_id),
                    _ => None,
                })
                .collect();
            check_no_later_contract_invoice!(tx, id, fee_contracts);
            let removed: Vec<i64> = leaving.iter().filter_map(|&i| before.lines.get(i)).map(|l| l.id).collect();
            for key in released.iter().map(position_key) {
                // Release the booking or expense itself (once per owner).
                let row = settled.iter().find(|r| r.position_key == key);
                if let Some(r) = row {
                    if let Some(bid) = r.booking_id.filter(|_| key.starts_with("booking:")) {
                        sqlx::query("UPDATE bookings SET state = 'open', version = version + 1 WHERE id = $1 AND state = 'reserved'")
                            .bind(bid).execute(&mut *tx).await?;
                    }
                    if let Some(eid) = r.expense_id {
                        sqlx::query("UPDATE expenses SET state = 'open', version = version + 1 WHERE id = $1 AND state = 'reserved'")
                            .bind(eid).execute(&mut *tx).await?;
                    }
                }
                sqlx::query("DELETE FROM invoice_positions WHERE invoice_id = $1 AND position_key = $2")
                    .bind(id).bind(&key).execute(&mut *tx).await?;
            }
            for lid in &removed {
                sqlx::query("DELETE FROM invoice_lines WHERE id = $1").bind(lid).execute(&mut *tx).await?;
            }
            let remaining: Vec<&InvoiceLine> =
                before.lines.iter().filter(|l| !removed.contains(&l.id)).map(|l| &l.line).collect();
            retotal!(tx, &before, &remaining);
            let after = fetch_invoice!(&mut *tx, id);
            audit!(tx, actor, "invoice", id, "remove_line", Some(&audit_view(&before)), Some(&audit_view(&after)));
            (after, removed)
        });
        Ok(out)
    }

    /// Changes a draft's notes (printed on the invoice).
    pub async fn set_invoice_notes(
        &self,
        id: i64,
        expected_version: Option<i64>,
        notes: Option<&str>,
        actor: &Actor,
    ) -> Result<Invoice> {
        let after = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Edit)?;
            sqlx::query("UPDATE invoices SET notes = $1, version = version + 1, updated_at = $2 WHERE id = $3")
                .bind(notes).bind(DbTime::now()).bind(id).execute(&mut *tx).await?;
            let after = fetch_invoice!(&mut *tx, id);
            audit!(tx, actor, "invoice", id, "update", Some(&audit_view(&before)), Some(&audit_view(&after)));
            after
        });
        Ok(after)
    }

    /// Deletes a draft; its positions are open again and its quota entries vanish. A draft
    /// a later invoice continues from (quota or fees of the same contract) is a conflict.
    pub async fn delete_draft(&self, id: i64, expected_version: Option<i64>, actor: &Actor) -> Result<()> {
        in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Delete)?;
            // Take the customer's billing row first: a run storing drafts meanwhile either
            // committed before (and is seen below) or waits and computes again.
            advance_billing_version!(tx, before.customer_id, None);
            let contracts = contracts_with_quota!(tx, id);
            check_no_later_contract_invoice!(tx, id, contracts);
            move_positions!(tx, id, PositionState::Reserved, PositionState::Open);
            sqlx::query("DELETE FROM invoice_quota_entries WHERE invoice_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM invoice_positions WHERE invoice_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM invoice_lines WHERE invoice_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM invoices WHERE id = $1").bind(id).execute(&mut *tx).await?;
            audit!(tx, actor, "invoice", id, "delete", Some(&audit_view(&before)), None::<&AuditView>);
        });
        Ok(())
    }

    /// Issues a draft in one transaction: the next number of the series and year, the
    /// customer snapshot, due date, positions locked (`billed`), quota-ledger entries
    /// written, `invoice.issued` and quota-threshold events, the accounting-feed position.
    ///
    /// A draft continuing the quota periods of an earlier open draft of the same contract
    /// waits for it (conflict). A draft without lines is refused (it bills nothing). A
    /// settlement that waited for an earlier draft is settled instead: positions billed,
    /// ledger written, no number and no feed position.
    pub async fn issue_invoice(
        &self,
        id: i64,
        expected_version: Option<i64>,
        opts: &IssueOptions,
        actor: &Actor,
    ) -> Result<Invoice> {
        let after = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Issue)?;
            // The ledger is written in order: a draft continuing the quota periods of an
            // earlier open draft of the same contract waits for it.
            for c in contracts_with_quota!(tx, id) {
                if let Some(earlier) = earlier_quota_draft!(tx, id, c) {
                    return Err(StoreError::Conflict(format!(
                        "draft {earlier} of contract {c} comes first: this document continues its quota periods; \
                         issue that draft first (or delete this one)"
                    )));
                }
            }
            if before.kind == InvoiceKind::Settlement {
                let now = DbTime::now();
                settle!(tx, id, &before.threshold_crossings, now);
                let after = fetch_invoice!(&mut *tx, id);
                audit!(tx, actor, "invoice", id, "settle", Some(&audit_view(&before)), Some(&audit_view(&after)));
                after
            } else {
                if before.lines.is_empty() {
                    return Err(StoreError::Conflict(
                        "the draft has no lines and bills nothing; delete it (its positions open again) and run again \
                         to settle them without an invoice number"
                            .into(),
                    ));
                }
                let year = opts.issue_date.year();
                let customer: crate::Customer = sqlx::query_as("SELECT * FROM customers WHERE id = $1")
                    .bind(before.customer_id).fetch_one(&mut *tx).await?;
                let snapshot = CustomerSnapshot::of(&customer);
                let due = invoice::due_date(opts.issue_date, customer.data.payment_terms_days)
                    .ok_or_else(|| StoreError::Conflict("the due date is beyond the supported calendar".into()))?;
                let now = DbTime::now();
                bill_positions_and_write_ledger!(tx, id, &before.threshold_crossings, now);
                // Counters last: their row locks are held until commit. The date check runs under
                // the series lock, so a later number never gets an earlier date.
                let seq = next_number!(tx, invoice::sequence_name(&opts.series, year), 1)?;
                check_issue_date!(tx, &opts.series, year, opts.issue_date);
                let number = invoice::format_number(&opts.series, year, seq);
                let feed_seq = next_number!(tx, "accounting_feed", 1)?;
                sqlx::query(
                    "UPDATE invoices SET status = 'issued', series = $1, number_year = $2, number_seq = $3, number = $4, \
                     issue_date = $5, due_date = $6, customer_snapshot = $7, feed_seq = $8, issued_at = $9, \
                     version = version + 1, updated_at = $9 WHERE id = $10")
                    .bind(&opts.series).bind(i64::from(year)).bind(seq).bind(&number).bind(opts.issue_date).bind(due)
                    .bind(serde_json::to_string(&snapshot)?).bind(feed_seq).bind(now).bind(id)
                    .execute(&mut *tx).await?;
                emit_event!(tx, "invoice.issued", "invoice", id, &serde_json::json!({
                    "invoice_id": id, "number": number, "customer_id": before.customer_id,
                    "gross": before.totals.gross.to_string(), "currency": before.currency.code(),
                }));
                // Issuing changes the invoice row only: its lines are those read above.
                let row: InvoiceRow = sqlx::query_as("SELECT * FROM invoices WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
                let after = row.into_invoice(before.lines.clone())?;
                audit!(tx, actor, "invoice", id, "issue", Some(&audit_view(&before)), Some(&audit_view(&after)));
                after
            }
        });
        Ok(after)
    }

    /// Records the payment of an issued invoice.
    pub async fn mark_invoice_paid(
        &self,
        id: i64,
        expected_version: Option<i64>,
        paid_on: Date,
        actor: &Actor,
    ) -> Result<Invoice> {
        let after = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::MarkPaid)?;
            if before.issue_date.is_some_and(|d| paid_on < d) {
                return Err(StoreError::Conflict("the payment date is before the issue date".into()));
            }
            sqlx::query("UPDATE invoices SET status = 'paid', paid_on = $1, version = version + 1, updated_at = $2 WHERE id = $3")
                .bind(paid_on).bind(DbTime::now()).bind(id).execute(&mut *tx).await?;
            emit_event!(tx, "invoice.paid", "invoice", id, &serde_json::json!({
                "invoice_id": id, "number": before.number, "paid_on": paid_on.to_string(),
            }));
            let after = fetch_invoice!(&mut *tx, id);
            audit!(tx, actor, "invoice", id, "mark_paid", Some(&audit_view(&before)), Some(&audit_view(&after)));
            after
        });
        Ok(after)
    }

    /// Cancels an issued (or paid) invoice by a credit note, in one transaction: the credit
    /// note with its own number referencing the original and every amount negated, the
    /// original `cancelled`, its positions open again, its quota consumption reversed in
    /// the ledger. Returns the cancelled original and the credit note.
    ///
    /// A settlement is cancelled the same way but without a credit note (it billed
    /// nothing): its positions are open again and its quota consumption reversed.
    pub async fn cancel_invoice(
        &self,
        id: i64,
        expected_version: Option<i64>,
        opts: &IssueOptions,
        reason: Option<&str>,
        actor: &Actor,
    ) -> Result<(Invoice, Option<Invoice>)> {
        let out = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Cancel)?;
            let now = DbTime::now();
            let credit = if before.kind == InvoiceKind::Settlement {
                None
            } else {
                Some(insert_credit_note!(tx, &before, opts, reason, now))
            };
            // The reversal entries are the credit note's; a settlement's are its own.
            let reversed_by = credit.unwrap_or(id);
            move_positions!(tx, id, PositionState::Billed, PositionState::Open);
            sqlx::query("UPDATE invoice_positions SET active = FALSE WHERE invoice_id = $1")
                .bind(id).execute(&mut *tx).await?;
            let written: Vec<crate::billing::LedgerRow> = sqlx::query_as(
                "SELECT contract_id, period_start, origin_period_start, kind, amount, position FROM quota_ledger \
                 WHERE invoice_id = $1 ORDER BY id").bind(id).fetch_all(&mut *tx).await?;
            let written: Vec<QuotaEntry> =
                written.into_iter().map(crate::billing::LedgerRow::into_entry).collect::<Result<_>>()?;
            for e in domain::quota::reversal_entries(&written) {
                sqlx::query(
                    "INSERT INTO quota_ledger (contract_id, period_start, origin_period_start, kind, amount, position, \
                     invoice_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(e.contract_id).bind(e.period_start).bind(e.origin_period_start).bind(e.kind.as_str())
                    .bind(ExactDecimal(e.amount)).bind(e.position.map(|p| serde_json::to_string(&p)).transpose()?)
                    .bind(reversed_by).bind(now).execute(&mut *tx).await?;
            }
            sqlx::query(
                "UPDATE invoices SET status = 'cancelled', cancelled_by_id = $1, cancelled_at = $2, version = version + 1, \
                 updated_at = $2 WHERE id = $3")
                .bind(credit).bind(now).bind(id).execute(&mut *tx).await?;
            advance_billing_version!(tx, before.customer_id, None);
            emit_event!(tx, "invoice.cancelled", "invoice", id, &serde_json::json!({
                "invoice_id": id, "kind": before.kind.as_str(), "number": before.number, "credit_note_id": credit,
            }));
            let original = fetch_invoice!(&mut *tx, id);
            audit!(tx, actor, "invoice", id, "cancel", Some(&audit_view(&before)), Some(&audit_view(&original)));
            let credit = match credit {
                Some(credit_id) => {
                    let credit = fetch_invoice!(&mut *tx, credit_id);
                    audit!(tx, actor, "invoice", credit_id, "create", None::<&AuditView>, Some(&audit_view(&credit)));
                    Some(credit)
                }
                None => None,
            };
            (original, credit)
        });
        Ok(out)
    }

    /// The newest accounting-feed position allocated so far (0 before the first issue): a
    /// cursor beyond it was not handed out by the feed.
    pub async fn accounting_feed_head(&self) -> Result<i64> {
        let head: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT next_value FROM number_sequences WHERE name = 'accounting_feed'")
            .fetch_optional(pool).await?);
        Ok(head.unwrap_or(0))
    }

    /// Issued invoices and credit notes in feed order after `after` (exclusive).
    pub async fn accounting_feed(&self, after: Option<i64>, limit: u32) -> Result<Page<Invoice, i64>> {
        let rows: Vec<InvoiceRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM invoices WHERE feed_seq IS NOT NULL AND ($1 IS NULL OR feed_seq > $1) ORDER BY feed_seq LIMIT $2")
            .bind(after).bind(i64::from(limit) + 1).fetch_all(pool).await?);
        let page = Page::from_overfetch(rows, limit, |r| r.feed_seq.unwrap_or_default());
        Ok(Page { items: self.with_lines(page.items).await?, next: page.next })
    }

    /// Records that an accounting system exported the invoice (`exported_at`, kept from the
    /// first acknowledgement; repeating it changes nothing). Drafts are not exportable.
    pub async fn acknowledge_export(&self, id: i64, actor: &Actor) -> Result<Invoice> {
        let after = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            if before.feed_seq.is_none() {
                return Err(StoreError::Conflict("a draft is not exported; issue it first".into()));
            }
            if before.exported_at.is_none() {
                sqlx::query("UPDATE invoices SET exported_at = $1 WHERE id = $2")
                    .bind(DbTime::now()).bind(id).execute(&mut *tx).await?;
                let after = fetch_invoice!(&mut *tx, id);
                audit!(tx, actor, "invoice", id, "export", Some(&audit_view(&before)), Some(&audit_view(&after)));
                after
            } else {
                before
            }
        });
        Ok(after)
    }

    /// The written quota ledger of a contract (issued invoices and their credit notes).
    pub async fn contract_ledger(&self, contract_id: i64) -> Result<Vec<QuotaEntry>> {
        let rows: Vec<crate::billing::LedgerRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT contract_id, period_start, origin_period_start, kind, amount, position FROM quota_ledger \
             WHERE contract_id = $1 ORDER BY id").bind(contract_id).fetch_all(pool).await?);
        rows.into_iter().map(crate::billing::LedgerRow::into_entry).collect()
    }

    /// The quota entries of a contract's open drafts (written when they are issued).
    pub async fn contract_draft_quota(&self, contract_id: i64) -> Result<Vec<QuotaEntry>> {
        let rows: Vec<crate::billing::LedgerRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT q.contract_id, q.period_start, q.origin_period_start, q.kind, q.amount, q.position \
             FROM invoice_quota_entries q JOIN invoices i ON i.id = q.invoice_id \
             WHERE q.contract_id = $1 AND i.status = 'draft' ORDER BY q.id").bind(contract_id).fetch_all(pool).await?);
        rows.into_iter().map(crate::billing::LedgerRow::into_entry).collect()
    }

    /// How the customer's cancelled invoices settled their positions, oldest first (the
    /// latest per position is what billing it again is compared with,
    /// [`domain::invoice::rebill_changes`]).
    pub async fn cancelled_settlements(&self, customer_id: i64) -> Result<Vec<PriorSettlement>> {
        let rows: Vec<CancelledPositionRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT p.*, i.number FROM invoices i JOIN invoice_positions p ON p.invoice_id = i.id \
             WHERE i.customer_id = $1 AND i.status || '' = 'cancelled' ORDER BY i.id, p.id")
            .bind(customer_id).fetch_all(pool).await?);
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let fee_lines: Vec<(i64, ExactDecimal, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT l.invoice_id, l.net, l.positions FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id \
             WHERE i.customer_id = $1 AND i.status || '' = 'cancelled' AND l.kind = 'fee'")
            .bind(customer_id).fetch_all(pool).await?);
        let mut fee_nets: BTreeMap<(i64, PositionRef), Decimal> = BTreeMap::new();
        for (invoice_id, net, positions) in fee_lines {
            for p in serde_json::from_str::<Vec<PositionRef>>(&positions)? {
                fee_nets.insert((invoice_id, p), net.0);
            }
        }
        let minutes = |v: Option<i64>| v.and_then(|m| u64::try_from(m).ok());
        rows.into_iter()
            .map(|CancelledPositionRow { position: row, number }| {
                let invoice_id = row.invoice_id;
                let settled = row.into_settled()?;
                let billed = match settled.treatment {
                    PositionStatus::NonBillable => Some(0),
                    _ => minutes(settled.rounded_minutes)
                        .map(|r| r.saturating_sub(minutes(settled.covered_minutes).unwrap_or(0))),
                };
                Ok(PriorSettlement {
                    position: settled.position,
                    invoice_id,
                    number,
                    treatment: settled.treatment,
                    billed_minutes: billed,
                    covered_minutes: minutes(settled.covered_minutes),
                    fee_net: fee_nets.get(&(invoice_id, settled.position)).copied(),
                })
            })
            .collect()
    }

    /// Open (not reserved, not billed) positions of a project, dated any time.
    pub async fn project_open_positions(&self, project_id: i64) -> Result<i64> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM bookings WHERE project_id = $1 AND state = 'open') + \
                    (SELECT COUNT(*) FROM expenses WHERE project_id = $1 AND state = 'open')")
            .bind(project_id).fetch_one(pool).await?))
    }

    /// The projects whose positions the invoices of run `run_id` settle (one query for the
    /// whole run).
    pub async fn projects_of_run(&self, run_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT b.project_id FROM invoices i JOIN invoice_positions p ON p.invoice_id = i.id \
             JOIN bookings b ON b.id = p.booking_id WHERE i.run_id = $1 AND b.project_id IS NOT NULL \
             UNION SELECT e.project_id FROM invoices i JOIN invoice_positions p ON p.invoice_id = i.id \
             JOIN expenses e ON e.id = p.expense_id WHERE i.run_id = $1 AND e.project_id IS NOT NULL \
             ORDER BY 1")
            .bind(run_id).fetch_all(pool).await?);
        Ok(rows)
    }
}

fn check_version(inv: &Invoice, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != inv.version => Err(StoreError::StaleVersion),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{BillingSetup, CustomerRun, InputParams, PositionScope};
    use crate::test_support::fresh_store;
    use domain::engine::compute_customer;
    use time::macros::date;

    async fn exec(store: &Store, sql: &str) {
        with_pool!(store, pool => sqlx::query(sql).execute(pool).await.map(|_| ())).expect(sql);
    }

    async fn count(store: &Store, sql: &str) -> i64 {
        with_pool!(store, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).expect(sql)
    }

    /// A technician, remote support at 100.00 an hour, a customer with three bookings and a
    /// hard disk in November 2026, and a run record.
    async fn seed(store: &Store) {
        let now = DbTime::now();
        with_pool!(store, pool => {
            sqlx::query(
                "INSERT INTO users (email, name, password_hash, roles, weekly_capacity_hours, internal_cost_rate, \
                 active, version, created_at, updated_at) VALUES ('t@x.example', 'Tech', '!', 'agent', $1, $2, TRUE, 1, $3, $3)")
                .bind(ExactDecimal(Decimal::from(40))).bind(ExactDecimal(Decimal::from(40))).bind(now)
                .execute(pool).await.unwrap();
            sqlx::query(
                "INSERT INTO services (code, name, unit, kind, default_price, vat_rate, billable_by_default, version, \
                 created_at, updated_at) VALUES ('REMOTE', 'Remote support', 'hour', 'work', $1, $2, TRUE, 1, $3, $3)")
                .bind(ExactDecimal(Decimal::new(10000, 2))).bind(ExactDecimal(Decimal::from(19))).bind(now)
                .execute(pool).await.unwrap();
            sqlx::query(
                "INSERT INTO customers (number, name, currency, payment_terms_days, vat_treatment, billing_mode, \
                 invoice_detail, version, created_at, updated_at) \
                 VALUES ('10001', 'Customer', 'EUR', 14, 'domestic', 'period_end', 'per_booking', 1, $1, $1)")
                .bind(now).execute(pool).await.unwrap();
            for (day, minutes) in [(2u8, 30i64), (3, 45), (4, 60)] {
                sqlx::query(
                    "INSERT INTO bookings (user_id, work_date, duration_minutes, service_id, description, customer_id, \
                     billable, state, created_by, version, created_at, updated_at) \
                     VALUES (1, $1, $2, 1, 'Support', 1, TRUE, 'open', 'test', 1, $3, $3)")
                    .bind(Date::from_calendar_date(2026, time::Month::November, day).unwrap()).bind(minutes).bind(now)
                    .execute(pool).await.unwrap();
            }
            sqlx::query(
                "INSERT INTO expenses (user_id, expense_date, service_id, description, quantity, unit, unit_price, \
                 vat_rate, billable, customer_id, state, created_by, version, created_at, updated_at) \
                 VALUES (1, $1, 1, 'Hard disk', $2, 'piece', $3, $4, TRUE, 1, 'open', 'test', 1, $5, $5)")
                .bind(date!(2026 - 11 - 05)).bind(ExactDecimal(Decimal::ONE)).bind(ExactDecimal(Decimal::new(8900, 2)))
                .bind(ExactDecimal(Decimal::from(19))).bind(now)
                .execute(pool).await.unwrap();
            sqlx::query(
                "INSERT INTO invoice_runs (started_via, scope, period_end, status, started_by_type, started_by_name, \
                 started_at) VALUES ('api', 'all', $1, 'running', 'system', 'system', $2)")
                .bind(date!(2026 - 11 - 30)).bind(now).execute(pool).await.unwrap();
        });
    }

    async fn compute(setup: &BillingSetup, store: &Store) -> (CustomerRun, CustomerBilling) {
        let params = InputParams {
            period_start: Some(date!(2026 - 11 - 01)),
            period_end: date!(2026 - 11 - 30),
            scope: PositionScope::default(),
            contract_id: None,
            partial: false,
            per_booking: false,
        };
        let cr = setup.customer_input(store, 1, params).await.unwrap();
        let billing = compute_customer(&setup.ctx, &cr.input);
        assert!(billing.is_committable(), "{:?}", billing.problems);
        (cr, billing)
    }

    async fn drafts(store: &Store, cr: &CustomerRun, billing: &CustomerBilling) -> DraftOutcome {
        let actor = Actor::system();
        let batch = DraftBatch {
            run_id: 1,
            customer_id: 1,
            billing_version: cr.billing_version,
            billing,
            versions: &cr.versions,
            scope_ticket_id: None,
            scope_project_id: None,
            scope_contract_id: None,
            actor: &actor,
        };
        store.create_drafts(&batch).await.unwrap()
    }

    const OPEN: &str = "SELECT (SELECT COUNT(*) FROM bookings WHERE state = 'open') \
                        + (SELECT COUNT(*) FROM expenses WHERE state = 'open')";

    #[tokio::test]
    async fn drafts_reserve_exactly_the_versions_computed_and_issuing_bills_them() {
        let test = fresh_store().await;
        let store = &test.store;
        seed(store).await;
        let setup = BillingSetup::load(store).await.unwrap();

        // A booking edited after it was read: nothing is written, compute again.
        let (cr, billing) = compute(&setup, store).await;
        exec(store, "UPDATE bookings SET version = version + 1 WHERE id = 2").await;
        assert_eq!(drafts(store, &cr, &billing).await, DraftOutcome::Stale);
        assert_eq!(count(store, "SELECT COUNT(*) FROM invoices").await, 0);
        assert_eq!(count(store, "SELECT COUNT(*) FROM invoice_positions").await, 0);
        assert_eq!(count(store, OPEN).await, 4);
        assert_eq!(store.billing_version(1).await.unwrap(), cr.billing_version, "rolled back");

        // Computed again: one draft reserving the four positions in the versions read.
        let (cr, billing) = compute(&setup, store).await;
        let DraftOutcome::Created { invoice_ids, positions } = drafts(store, &cr, &billing).await else {
            panic!("created")
        };
        assert_eq!((invoice_ids.len(), positions), (1, 4));
        let id = invoice_ids[0];
        assert_eq!(count(store, OPEN).await, 0);
        assert_eq!(count(store, "SELECT COUNT(*) FROM bookings WHERE state = 'reserved' AND version = 2").await, 2);
        assert_eq!(count(store, "SELECT COUNT(*) FROM bookings WHERE state = 'reserved' AND version = 3").await, 1);
        let draft = store.get_invoice(id).await.unwrap();
        let created: Option<String> = with_pool!(store, pool => sqlx::query_scalar(
            "SELECT after_state FROM audit_log WHERE entity_type = 'invoice' AND entity_id = $1 AND action = 'create'")
            .bind(id).fetch_one(pool).await)
        .unwrap();
        assert_eq!(created, Some(serde_json::to_string(&audit_view(&draft)).unwrap()), "audit of the stored draft");

        // The same computation once more: the billing version moved on.
        assert_eq!(drafts(store, &cr, &billing).await, DraftOutcome::Stale);
        // A position a draft holds, open again by hand: the unique index refuses it.
        exec(store, "UPDATE bookings SET state = 'open' WHERE id = 1").await;
        let (cr, billing) = compute(&setup, store).await;
        assert_eq!(drafts(store, &cr, &billing).await, DraftOutcome::Stale);
        assert_eq!(count(store, "SELECT COUNT(*) FROM invoices").await, 1);
        exec(store, "UPDATE bookings SET state = 'reserved' WHERE id = 1").await;

        // Issuing bills exactly the draft's positions and returns the stored invoice.
        let opts = IssueOptions { series: "RE".into(), issue_date: date!(2026 - 12 - 01) };
        let issued = store.issue_invoice(id, None, &opts, &Actor::system()).await.unwrap();
        assert_eq!(issued, store.get_invoice(id).await.unwrap());
        assert_eq!(issued.number.as_deref(), Some("RE-2026-00001"));
        assert_eq!(issued.lines, draft.lines);
        assert_eq!(count(store, "SELECT COUNT(*) FROM bookings WHERE state = 'billed'").await, 3);
        assert_eq!(count(store, "SELECT COUNT(*) FROM expenses WHERE state = 'billed'").await, 1);
        test.remove().await;
    }
}

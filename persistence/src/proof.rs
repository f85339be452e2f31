//! Reading the proof of service (Leistungsnachweis / Tätigkeitsnachweis): the time
//! bookings and expenses of an invoice, a ticket or a project with how each was settled,
//! and the ticket notes flagged `in_report`.
//!
//! - An invoice's report lists the positions it settles (`settled_positions`: the stamps of
//!   a live document, the history of a cancelled one), with the treatment and minutes
//!   stored when it was created.
//! - A ticket's or project's report lists its bookings and expenses with the invoice (draft
//!   or issued, never a cancelled one) that settles each now; unsettled work is open.
//!   A project's report includes the work on the project's tickets.
//! - Notes: the `in_report` notes, correspondence and documents of the tickets involved,
//!   oldest first; an entry corrected by a later one is replaced by its correction.
//!
//! Only reads; the same SQL text runs on both backends.

use crate::types::{DbTime, ExactDecimal};
use crate::{Result, Store};
use domain::engine::PositionStatus;
use domain::invoice::InvoiceStatus;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use time::{Date, Time};

/// A ticket named on the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofTicket {
    pub id: i64,
    pub number: String,
    pub title: String,
}

/// The invoice that settles a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlingInvoice {
    pub id: i64,
    /// `None` while a draft.
    pub number: Option<String>,
    pub status: InvoiceStatus,
}

/// How an invoice settled a booking or expense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub invoice: SettlingInvoice,
    pub status: PositionStatus,
    /// Bookings: the minutes as settled.
    pub actual_minutes: Option<i64>,
    pub rounded_minutes: Option<i64>,
    pub covered_minutes: Option<i64>,
}

/// One time booking on the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ProofBooking {
    pub id: i64,
    pub work_date: Date,
    pub start_time: Option<Time>,
    pub end_time: Option<Time>,
    pub user_id: i64,
    pub user_name: String,
    pub ticket: Option<ProofTicket>,
    pub project: Option<(i64, String)>,
    pub task: Option<(i64, String)>,
    pub service_id: i64,
    pub service_code: String,
    pub service_name: String,
    /// The activity text.
    pub description: String,
    pub billable: bool,
    /// The booking's current duration.
    pub duration_minutes: i64,
    /// `None`: no invoice settles it (open).
    pub settlement: Option<Settlement>,
}

/// One expense or material line on the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ProofExpense {
    pub id: i64,
    pub expense_date: Date,
    pub description: String,
    pub quantity: Decimal,
    pub unit: String,
    /// Catalog item (id, code, name), if any.
    pub service: Option<(i64, String, String)>,
    pub ticket: Option<ProofTicket>,
    pub project_id: Option<i64>,
    pub billable: bool,
    pub settlement: Option<Settlement>,
}

/// A ticket-timeline entry flagged `in_report`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportNote {
    pub id: i64,
    pub ticket: ProofTicket,
    /// `note`, `correspondence` or `document`.
    pub entry_type: String,
    /// `internal` or `customer`.
    pub visibility: String,
    /// The note's body; correspondence without a body: its subject; a document without a
    /// note: its file name.
    pub text: String,
    pub document_id: Option<i64>,
    pub author_id: Option<i64>,
    pub author_name: String,
    pub created_at: DbTime,
}

/// What a proof of service lists.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProofOfService {
    /// By work date, start time, id.
    pub bookings: Vec<ProofBooking>,
    /// By date, id.
    pub expenses: Vec<ProofExpense>,
    /// By ticket, then oldest first.
    pub notes: Vec<ReportNote>,
    /// Every ticket of the bookings, expenses and notes, by id.
    pub tickets: Vec<ProofTicket>,
    /// Invoice report: settled bookings and expenses deleted after the invoice was
    /// cancelled (they are in no list).
    pub missing_positions: i64,
}

/// Work dates (inclusive) a ticket or project report covers; `None` is open-ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkPeriod {
    pub from: Option<Date>,
    pub to: Option<Date>,
}

/// A ticket or project report would list more than this many bookings, expenses or notes
/// (each counted separately): the caller is to narrow the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportTooLarge {
    /// The bound that was exceeded.
    pub max_entries: usize,
}

#[derive(sqlx::FromRow)]
struct BookingRow {
    id: i64,
    work_date: Date,
    start_time: Option<Time>,
    end_time: Option<Time>,
    user_id: i64,
    user_name: String,
    ticket_id: Option<i64>,
    ticket_number: Option<String>,
    ticket_title: Option<String>,
    project_id: Option<i64>,
    project_name: Option<String>,
    task_id: Option<i64>,
    task_name: Option<String>,
    service_id: i64,
    service_code: String,
    service_name: String,
    description: String,
    billable: bool,
    duration_minutes: i64,
    #[sqlx(flatten)]
    settled: SettledRow,
}

#[derive(sqlx::FromRow)]
struct ExpenseRow {
    id: i64,
    expense_date: Date,
    description: String,
    quantity: ExactDecimal,
    unit: String,
    service_id: Option<i64>,
    service_code: Option<String>,
    service_name: Option<String>,
    ticket_id: Option<i64>,
    ticket_number: Option<String>,
    ticket_title: Option<String>,
    project_id: Option<i64>,
    billable: bool,
    #[sqlx(flatten)]
    settled: SettledRow,
}

/// The settling position and invoice columns (all `NULL` for open work).
#[derive(sqlx::FromRow)]
struct SettledRow {
    treatment: Option<String>,
    actual_minutes: Option<i64>,
    rounded_minutes: Option<i64>,
    covered_minutes: Option<i64>,
    invoice_id: Option<i64>,
    invoice_number: Option<String>,
    invoice_status: Option<String>,
}

#[derive(sqlx::FromRow)]
struct NoteRow {
    id: i64,
    ticket_id: i64,
    ticket_number: String,
    ticket_title: String,
    entry_type: String,
    visibility: String,
    body: Option<String>,
    subject: Option<String>,
    file_name: Option<String>,
    document_id: Option<i64>,
    author_id: Option<i64>,
    author_name: String,
    created_at: DbTime,
}

fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T> {
    s.parse().map_err(crate::types::decode_error)
}

fn ticket_of(id: Option<i64>, number: Option<String>, title: Option<String>) -> Option<ProofTicket> {
    Some(ProofTicket { id: id?, number: number.unwrap_or_default(), title: title.unwrap_or_default() })
}

impl SettledRow {
    fn into_settlement(self) -> Result<Option<Settlement>> {
        let (Some(treatment), Some(id), Some(status)) = (self.treatment, self.invoice_id, self.invoice_status) else {
            return Ok(None);
        };
        Ok(Some(Settlement {
            invoice: SettlingInvoice { id, number: self.invoice_number, status: parse(&status)? },
            status: parse(&treatment)?,
            actual_minutes: self.actual_minutes,
            rounded_minutes: self.rounded_minutes,
            covered_minutes: self.covered_minutes,
        }))
    }
}

impl BookingRow {
    fn into_booking(self) -> Result<ProofBooking> {
        Ok(ProofBooking {
            id: self.id,
            work_date: self.work_date,
            start_time: self.start_time,
            end_time: self.end_time,
            user_id: self.user_id,
            user_name: self.user_name,
            ticket: ticket_of(self.ticket_id, self.ticket_number, self.ticket_title),
            project: self.project_id.map(|id| (id, self.project_name.unwrap_or_default())),
            task: self.task_id.map(|id| (id, self.task_name.unwrap_or_default())),
            service_id: self.service_id,
            service_code: self.service_code,
            service_name: self.service_name,
            description: self.description,
            billable: self.billable,
            duration_minutes: self.duration_minutes,
            settlement: self.settled.into_settlement()?,
        })
    }
}

impl ExpenseRow {
    fn into_expense(self) -> Result<ProofExpense> {
        let service = match (self.service_id, self.service_code, self.service_name) {
            (Some(id), Some(code), Some(name)) => Some((id, code, name)),
            _ => None,
        };
        Ok(ProofExpense {
            id: self.id,
            expense_date: self.expense_date,
            description: self.description,
            quantity: self.quantity.0,
            unit: self.unit,
            service,
            ticket: ticket_of(self.ticket_id, self.ticket_number, self.ticket_title),
            project_id: self.project_id,
            billable: self.billable,
            settlement: self.settled.into_settlement()?,
        })
    }
}

impl NoteRow {
    fn into_note(self) -> ReportNote {
        let text = self.body.or(self.subject).or(self.file_name).unwrap_or_default();
        ReportNote {
            id: self.id,
            ticket: ProofTicket { id: self.ticket_id, number: self.ticket_number, title: self.ticket_title },
            entry_type: self.entry_type,
            visibility: self.visibility,
            text,
            document_id: self.document_id,
            author_id: self.author_id,
            author_name: self.author_name,
            created_at: self.created_at,
        }
    }
}

/// The columns of a booking with how `{p}` settles it (`p`: a document's position, `bs`: the
/// booking's settlement by the document holding it now).
const BOOKING_SELECT: &str = "SELECT b.id, b.work_date, b.start_time, b.end_time, b.user_id, u.name AS user_name, \
    b.ticket_id, t.number AS ticket_number, t.title AS ticket_title, b.project_id, pr.name AS project_name, \
    b.task_id, tk.name AS task_name, b.service_id, s.code AS service_code, s.name AS service_name, b.description, \
    b.billable, b.duration_minutes, {p}.treatment, {p}.actual_minutes, {p}.rounded_minutes, {p}.covered_minutes, \
    i.id AS invoice_id, i.number AS invoice_number, i.status AS invoice_status \
    FROM bookings b JOIN users u ON u.id = b.user_id JOIN services s ON s.id = b.service_id \
    LEFT JOIN tickets t ON t.id = b.ticket_id LEFT JOIN projects pr ON pr.id = b.project_id \
    LEFT JOIN project_tasks tk ON tk.id = b.task_id";

/// Bookings with a start time first within a day (the same on both backends: `NULL`s
/// sort differently in SQLite and PostgreSQL).
const BOOKING_ORDER: &str = "ORDER BY b.work_date, b.start_time IS NULL, b.start_time, b.id";

/// The columns of an expense with how `{p}` settles it (`p`: a document's position, `e`: the
/// stamp on the expense itself, which has no minutes).
const EXPENSE_SELECT: &str = "SELECT e.id, e.expense_date, e.description, e.quantity, e.unit, e.service_id, \
    s.code AS service_code, s.name AS service_name, e.ticket_id, t.number AS ticket_number, t.title AS ticket_title, \
    e.project_id, e.billable, {p}.treatment, {minutes} \
    i.id AS invoice_id, i.number AS invoice_number, i.status AS invoice_status \
    FROM expenses e LEFT JOIN services s ON s.id = e.service_id LEFT JOIN tickets t ON t.id = e.ticket_id";

/// [`BOOKING_SELECT`] settled by the invoice's positions (`p`) or by the booking's current
/// settlement (`bs`, [`CURRENT_BOOKING_SETTLEMENT`]).
fn booking_select(by_position: bool) -> String {
    BOOKING_SELECT.replace("{p}", if by_position { "p" } else { "bs" })
}

/// [`EXPENSE_SELECT`] settled by the invoice's positions (`p`) or by the expense's stamp.
fn expense_select(by_position: bool) -> String {
    let minutes = if by_position {
        "p.actual_minutes, p.rounded_minutes, p.covered_minutes,"
    } else {
        "CAST(NULL AS BIGINT) AS actual_minutes, CAST(NULL AS BIGINT) AS rounded_minutes, \
         CAST(NULL AS BIGINT) AS covered_minutes,"
    };
    EXPENSE_SELECT.replace("{p}", if by_position { "p" } else { "e" }).replace("{minutes}", minutes)
}

const EXPENSE_ORDER: &str = "ORDER BY e.expense_date, e.id";

/// The positions invoice `$1` settles (a cancelled invoice: settled, from the history).
/// `booking:` keys only — `booking_field:` keys are the custom-field quantities of the same
/// bookings. (The view is read for the one invoice first, then joined.)
const INVOICE_BOOKINGS: &str = "JOIN (SELECT * FROM settled_positions WHERE invoice_id = $1 \
    AND position_key LIKE 'booking:%') p ON p.booking_id = b.id JOIN invoices i ON i.id = p.invoice_id";
const INVOICE_EXPENSES: &str = "JOIN (SELECT * FROM settled_positions WHERE invoice_id = $1 \
    AND expense_id IS NOT NULL) p ON p.expense_id = e.id JOIN invoices i ON i.id = p.invoice_id";

/// The document (draft or issued) that holds the booking now, with the booking's settlement;
/// an expense's stamp is on its row.
const CURRENT_BOOKING_SETTLEMENT: &str =
    "LEFT JOIN booking_holds h ON h.booking_id = b.id LEFT JOIN booking_settlements bs \
     ON bs.invoice_id = h.invoice_id AND bs.booking_id = b.id LEFT JOIN invoices i ON i.id = h.invoice_id";
const CURRENT_EXPENSE_SETTLEMENT: &str = "LEFT JOIN invoices i ON i.id = e.invoice_id";

/// `$2`/`$3`: first and last work date, or `NULL`.
const BOOKING_DATES: &str = "($2 IS NULL OR b.work_date >= $2) AND ($3 IS NULL OR b.work_date <= $3)";
const EXPENSE_DATES: &str = "($2 IS NULL OR e.expense_date >= $2) AND ($3 IS NULL OR e.expense_date <= $3)";

const NOTE_SELECT: &str = "SELECT n.id, n.ticket_id, t.number AS ticket_number, t.title AS ticket_title, \
    n.entry_type, n.visibility, n.body, n.subject, d.file_name, n.document_id, n.author_id, n.author_name, n.created_at \
    FROM ticket_timeline n JOIN tickets t ON t.id = n.ticket_id LEFT JOIN documents d ON d.id = n.document_id \
    WHERE n.in_report AND n.entry_type IN ('note', 'correspondence', 'document') \
    AND NOT EXISTS (SELECT 1 FROM ticket_timeline c WHERE c.corrects_id = n.id) \
    AND ($2 IS NULL OR n.created_at >= $2) AND ($3 IS NULL OR n.created_at < $3)";

const NOTE_ORDER: &str = "ORDER BY n.ticket_id, n.id";

/// The tickets of the bookings and expenses invoice `$1` settles.
const INVOICE_TICKETS: &str = "n.ticket_id IN (SELECT b.ticket_id FROM booking_settlements bs \
    JOIN bookings b ON b.id = bs.booking_id WHERE bs.invoice_id = $1 AND b.ticket_id IS NOT NULL \
    UNION SELECT e.ticket_id FROM expenses e WHERE e.invoice_id = $1 AND e.ticket_id IS NOT NULL \
    UNION SELECT b.ticket_id FROM invoice_positions p JOIN bookings b ON b.id = p.booking_id \
    WHERE p.invoice_id = $1 AND b.ticket_id IS NOT NULL \
    UNION SELECT e.ticket_id FROM invoice_positions p JOIN expenses e ON e.id = p.expense_id \
    WHERE p.invoice_id = $1 AND e.ticket_id IS NOT NULL)";

/// The tickets of project `$1` and those its bookings and expenses are on.
const PROJECT_TICKETS: &str = "n.ticket_id IN (SELECT id FROM tickets WHERE project_id = $1 \
    UNION SELECT ticket_id FROM bookings WHERE project_id = $1 AND ticket_id IS NOT NULL \
    UNION SELECT ticket_id FROM expenses WHERE project_id = $1 AND ticket_id IS NOT NULL)";

/// The first instant of `d` and of the day after `to` (UTC), for filtering timestamps by day.
fn day_bounds(p: WorkPeriod) -> (Option<DbTime>, Option<DbTime>) {
    let start = |d: Date| DbTime(d.midnight().assume_utc());
    (p.from.map(start), p.to.and_then(|d| d.next_day()).map(start))
}

impl Store {
    /// The proof of service of an invoice: every booking and expense it settles, with the
    /// treatment and minutes it stored, and the report notes of their tickets. The invoice
    /// must exist (see [`Store::get_invoice`]).
    pub async fn invoice_proof(&self, invoice_id: i64) -> Result<ProofOfService> {
        let bookings = format!("{} {INVOICE_BOOKINGS} {BOOKING_ORDER}", booking_select(true));
        let expenses = format!("{} {INVOICE_EXPENSES} {EXPENSE_ORDER}", expense_select(true));
        let notes = format!("{NOTE_SELECT} AND {INVOICE_TICKETS} {NOTE_ORDER}");
        let (b, e, n, missing): (Vec<BookingRow>, Vec<ExpenseRow>, Vec<NoteRow>, i64) = with_pool!(self, pool => {
            let b = sqlx::query_as(&bookings).bind(invoice_id).fetch_all(pool).await?;
            let e = sqlx::query_as(&expenses).bind(invoice_id).fetch_all(pool).await?;
            let n = sqlx::query_as(&notes).bind(invoice_id).bind(None::<DbTime>).bind(None::<DbTime>)
                .fetch_all(pool).await?;
            let missing = sqlx::query_scalar(
                "SELECT COUNT(*) FROM settled_positions WHERE invoice_id = $1 \
                 AND ((position_key LIKE 'booking:%' AND booking_id IS NULL) \
                   OR (position_key LIKE 'expense:%' AND expense_id IS NULL))")
                .bind(invoice_id).fetch_one(pool).await?;
            (b, e, n, missing)
        });
        assemble(b, e, n, missing)
    }

    /// The proof of service of a ticket: its bookings and expenses in `period` with the
    /// invoice settling each now (open when none), and its report notes written in it.
    /// At most `max_entries` bookings, expenses and notes each are read.
    pub async fn ticket_proof(
        &self,
        ticket_id: i64,
        period: WorkPeriod,
        max_entries: usize,
    ) -> Result<std::result::Result<ProofOfService, ReportTooLarge>> {
        let bookings = format!(
            "{} {CURRENT_BOOKING_SETTLEMENT} WHERE b.ticket_id = $1 AND {BOOKING_DATES} {BOOKING_ORDER}",
            booking_select(false)
        );
        let expenses = format!(
            "{} {CURRENT_EXPENSE_SETTLEMENT} WHERE e.ticket_id = $1 AND {EXPENSE_DATES} {EXPENSE_ORDER}",
            expense_select(false)
        );
        let notes = format!("{NOTE_SELECT} AND n.ticket_id = $1 {NOTE_ORDER}");
        self.work_proof(ticket_id, period, max_entries, &bookings, &expenses, &notes).await
    }

    /// The proof of service of a project: the bookings and expenses in `period` on the
    /// project or on its tickets, with the invoice settling each now (open when none), and
    /// the report notes written in it on the tickets involved.
    /// At most `max_entries` bookings, expenses and notes each are read.
    pub async fn project_proof(
        &self,
        project_id: i64,
        period: WorkPeriod,
        max_entries: usize,
    ) -> Result<std::result::Result<ProofOfService, ReportTooLarge>> {
        let bookings = format!(
            "{} {CURRENT_BOOKING_SETTLEMENT} WHERE (b.project_id = $1 OR t.project_id = $1) \
             AND {BOOKING_DATES} {BOOKING_ORDER}",
            booking_select(false)
        );
        let expenses = format!(
            "{} {CURRENT_EXPENSE_SETTLEMENT} WHERE (e.project_id = $1 OR t.project_id = $1) \
             AND {EXPENSE_DATES} {EXPENSE_ORDER}",
            expense_select(false)
        );
        let notes = format!("{NOTE_SELECT} AND {PROJECT_TICKETS} {NOTE_ORDER}");
        self.work_proof(project_id, period, max_entries, &bookings, &expenses, &notes).await
    }

    /// Runs a ticket or project report's three queries (`$1` the id, `$2`/`$3` the period),
    /// each reading at most one row more than `max_entries`.
    async fn work_proof(
        &self,
        id: i64,
        period: WorkPeriod,
        max_entries: usize,
        bookings: &str,
        expenses: &str,
        notes: &str,
    ) -> Result<std::result::Result<ProofOfService, ReportTooLarge>> {
        let bounded = |sql: &str| format!("{sql} LIMIT {}", max_entries.saturating_add(1));
        let (bookings, expenses, notes) = (bounded(bookings), bounded(expenses), bounded(notes));
        let (bookings, expenses, notes) = (bookings.as_str(), expenses.as_str(), notes.as_str());
        let (from_t, to_t) = day_bounds(period);
        let (b, e, n): (Vec<BookingRow>, Vec<ExpenseRow>, Vec<NoteRow>) = with_pool!(self, pool => {
            let b = sqlx::query_as(bookings).bind(id).bind(period.from).bind(period.to).fetch_all(pool).await?;
            let e = sqlx::query_as(expenses).bind(id).bind(period.from).bind(period.to).fetch_all(pool).await?;
            let n = sqlx::query_as(notes).bind(id).bind(from_t).bind(to_t).fetch_all(pool).await?;
            (b, e, n)
        });
        if b.len().max(e.len()).max(n.len()) > max_entries {
            return Ok(Err(ReportTooLarge { max_entries }));
        }
        assemble(b, e, n, 0).map(Ok)
    }
}

fn assemble(b: Vec<BookingRow>, e: Vec<ExpenseRow>, n: Vec<NoteRow>, missing: i64) -> Result<ProofOfService> {
    let bookings: Vec<ProofBooking> = b.into_iter().map(BookingRow::into_booking).collect::<Result<_>>()?;
    let expenses: Vec<ProofExpense> = e.into_iter().map(ExpenseRow::into_expense).collect::<Result<_>>()?;
    let notes: Vec<ReportNote> = n.into_iter().map(NoteRow::into_note).collect();
    let mut tickets = BTreeMap::new();
    let named = bookings
        .iter()
        .filter_map(|b| b.ticket.as_ref())
        .chain(expenses.iter().filter_map(|e| e.ticket.as_ref()))
        .chain(notes.iter().map(|n| &n.ticket));
    for t in named {
        tickets.entry(t.id).or_insert_with(|| t.clone());
    }
    Ok(ProofOfService {
        bookings,
        expenses,
        notes,
        tickets: tickets.into_values().collect(),
        missing_positions: missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn a_period_filters_timestamps_from_the_first_day_to_the_end_of_the_last() {
        let (from, to) = day_bounds(WorkPeriod { from: Some(date!(2026 - 11 - 01)), to: Some(date!(2026 - 11 - 30)) });
        assert_eq!(from, Some(DbTime(datetime!(2026-11-01 0:00 UTC))));
        assert_eq!(to, Some(DbTime(datetime!(2026-12-01 0:00 UTC))));
        assert_eq!(day_bounds(WorkPeriod::default()), (None, None));
    }
}

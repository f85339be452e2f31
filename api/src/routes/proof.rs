//! Proof of service (Leistungsnachweis / Tätigkeitsnachweis) per invoice, ticket or
//! project: every time booking with who worked when on what, the minutes worked against
//! the minutes billed and covered, how each was settled, the expenses, and the ticket
//! notes flagged `in_report` — what the billing office sends along with an invoice.
//!
//! Reads only. The queries live in [`persistence::proof`], the minute rules (billed =
//! rounded − covered, open work) in [`domain::proof`].

use crate::auth::Principal;
use crate::dto::{date_text, timestamp, DecimalString};
use crate::error::{not_found, ApiError, FieldError, Problem};
use crate::extract::{path_id, Query};
use crate::routes::proof_document::{respond, wants_pdf};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::company::SellerProfile;
use domain::invoice::{InvoiceKind, InvoiceStatus};
use domain::proof::{booking_minutes, BookingMinutes, MinuteTotals, SettledMinutes, Treatment};
use domain::Permission;
use persistence::invoices::Invoice;
use persistence::projects::Project;
use persistence::proof::{
    ProofBooking, ProofExpense, ProofOfService, ProofTicket, ReportNote, ReportTooLarge, Settlement, SettlingInvoice,
    WorkPeriod,
};
use persistence::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, Time};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(invoice_report, ticket_report, project_report),
    tags((name = "proof-of-service", description = "Proof of service (Leistungsnachweis / Tätigkeitsnachweis) per invoice, ticket or project: every booking with actual vs. billed minutes, its treatment, and the notes flagged `in_report`"))
)]
pub struct Doc;

// ---- DTOs ----

/// What the report is about.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProofScope {
    /// What an invoice settled.
    Invoice,
    /// The work on a ticket.
    Ticket,
    /// The work on a project and its tickets.
    Project,
}

/// The invoice a report is for.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofInvoice {
    pub id: i64,
    pub kind: InvoiceKind,
    pub status: InvoiceStatus,
    /// `null` while a draft.
    pub number: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_start: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub period_end: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub issue_date: Option<String>,
}

/// A ticket named on the report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProofTicketRef {
    pub id: i64,
    #[schema(example = "T-2026-000123")]
    pub number: String,
    pub title: String,
}

/// The customer the work was for (as printed on an issued invoice, otherwise current).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofCustomer {
    pub id: i64,
    /// Customer (debtor) number.
    pub number: String,
    pub name: String,
}

/// A record named by id and name (user, project, task).
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedRef {
    pub id: i64,
    pub name: String,
}

/// A catalog service.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofService {
    pub id: i64,
    #[schema(example = "REMOTE")]
    pub code: String,
    pub name: String,
}

/// The invoice that settles a booking or expense.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofSettlingInvoice {
    pub id: i64,
    /// `null` while the invoice is a draft.
    pub number: Option<String>,
    /// `draft` (in a draft, not yet billed), `issued`, `paid`, or — on the report of a
    /// cancelled invoice — `cancelled`.
    pub status: InvoiceStatus,
}

/// One time booking.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofBookingOut {
    pub booking_id: i64,
    #[schema(value_type = String, format = Date, example = "2026-11-05")]
    pub work_date: String,
    /// `HH:MM`, when recorded.
    #[schema(example = "09:15")]
    pub start_time: Option<String>,
    #[schema(example = "09:22")]
    pub end_time: Option<String>,
    /// Who worked.
    pub user: NamedRef,
    pub ticket: Option<ProofTicketRef>,
    pub project: Option<NamedRef>,
    pub task: Option<NamedRef>,
    pub service: ProofService,
    /// The activity text.
    pub description: String,
    /// The booking's billable flag.
    pub billable: bool,
    /// Minutes worked (as settled by the invoice, otherwise as booked).
    #[schema(example = 7)]
    pub actual_minutes: i64,
    /// Minutes charged: rounded minus covered (7 minutes under 15-minute rounding → 15);
    /// 0 for covered and non-billable work; `null` while open.
    #[schema(example = 15)]
    pub billed_minutes: Option<i64>,
    /// Minutes covered by a flat fee, prepaid quota or budget; `null` while open.
    #[schema(example = 0)]
    pub covered_minutes: Option<i64>,
    /// `billed`, `covered`, `partly_covered`, `non_billable`, or `open` (on no invoice yet).
    pub treatment: Treatment,
    /// The invoice settling it; `null` while open.
    pub invoice: Option<ProofSettlingInvoice>,
}

/// One expense or material line.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofExpenseOut {
    pub expense_id: i64,
    #[schema(value_type = String, format = Date)]
    pub date: String,
    pub description: String,
    #[schema(value_type = String, example = "1")]
    pub quantity: DecimalString,
    /// `hour`, `km`, `piece` or `flat`.
    pub unit: String,
    pub service: Option<ProofService>,
    pub ticket: Option<ProofTicketRef>,
    pub billable: bool,
    /// `billed`, `covered`, `non_billable`, or `open` (on no invoice yet).
    pub treatment: Treatment,
    pub invoice: Option<ProofSettlingInvoice>,
}

/// Who wrote a note.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteAuthor {
    /// User or API client id (`null` for the system).
    pub id: Option<i64>,
    pub name: String,
}

/// A ticket note, phone note, e-mail or document flagged `in_report`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportNoteOut {
    /// Id of the timeline entry.
    pub id: i64,
    /// Day it was written (UTC).
    #[schema(value_type = String, format = Date)]
    pub date: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    /// `note`, `correspondence` or `document`.
    pub entry_type: String,
    /// `internal` or `customer`.
    pub visibility: String,
    pub author: NoteAuthor,
    /// The note's text (correspondence without a body: its subject; a document without a
    /// note: its file name).
    pub text: String,
    /// The attached document, for `document` entries.
    pub document_id: Option<i64>,
}

/// A ticket on the report with its report notes and the sums of its bookings.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofTicketOut {
    pub id: i64,
    pub number: String,
    pub title: String,
    /// Entries flagged `in_report`, oldest first; a corrected entry is replaced by its correction.
    pub notes: Vec<ReportNoteOut>,
    /// Sums of this ticket's bookings on the report.
    pub totals: MinuteTotals,
}

/// A proof of service.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofOfServiceOut {
    pub scope: ProofScope,
    /// Invoice report: the invoice.
    pub invoice: Option<ProofInvoice>,
    /// Ticket report: the ticket.
    pub ticket: Option<ProofTicketRef>,
    /// Project report: the project.
    pub project: Option<NamedRef>,
    /// The customer (`null` for internal projects and tickets without customer).
    pub customer: Option<ProofCustomer>,
    /// First work date covered (ticket and project reports, when filtered).
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last work date covered.
    #[schema(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// Every booking, by work date and start time.
    pub bookings: Vec<ProofBookingOut>,
    /// Every expense and material line, by date.
    pub expenses: Vec<ProofExpenseOut>,
    /// Every ticket of the bookings, expenses and notes, by id, with its report notes.
    pub tickets: Vec<ProofTicketOut>,
    /// Sums of all bookings.
    pub totals: MinuteTotals,
    /// Invoice report: settled bookings and expenses deleted after the invoice was
    /// cancelled; they are in no list and no total.
    pub missing_positions: i64,
}

/// How an invoice's report is answered.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `json` (default) or `pdf`: the printed proof of service the customer signs (also
    /// chosen by `Accept: application/pdf` without `format`).
    #[param(example = "pdf")]
    pub format: Option<String>,
}

/// Work-date filter of a ticket or project report, and its format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// `json` (default) or `pdf`: the printed proof of service the customer signs (also
    /// chosen by `Accept: application/pdf` without `format`).
    #[param(example = "pdf")]
    pub format: Option<String>,
    /// First work date (inclusive), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub from: Option<Date>,
    /// Last work date (inclusive), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub to: Option<Date>,
}

// ---- mapping ----

fn clock(t: Option<Time>) -> Option<String> {
    t.map(|t| format!("{:02}:{:02}", t.hour(), t.minute()))
}

fn ticket_ref(t: ProofTicket) -> ProofTicketRef {
    ProofTicketRef { id: t.id, number: t.number, title: t.title }
}

fn invoice_ref(i: SettlingInvoice) -> ProofSettlingInvoice {
    ProofSettlingInvoice { id: i.id, number: i.number, status: i.status }
}

fn settled_minutes(s: &Settlement) -> SettledMinutes {
    SettledMinutes {
        status: s.status,
        actual_minutes: s.actual_minutes,
        rounded_minutes: s.rounded_minutes,
        covered_minutes: s.covered_minutes,
    }
}

/// The booking as the report shows it, with its minutes for the sums.
fn booking_out(b: ProofBooking) -> (ProofBookingOut, BookingMinutes) {
    let m = booking_minutes(b.duration_minutes, b.settlement.as_ref().map(settled_minutes).as_ref());
    let out = ProofBookingOut {
        booking_id: b.id,
        work_date: date_text(b.work_date),
        start_time: clock(b.start_time),
        end_time: clock(b.end_time),
        user: NamedRef { id: b.user_id, name: b.user_name },
        ticket: b.ticket.map(ticket_ref),
        project: b.project.map(|(id, name)| NamedRef { id, name }),
        task: b.task.map(|(id, name)| NamedRef { id, name }),
        service: ProofService { id: b.service_id, code: b.service_code, name: b.service_name },
        description: b.description,
        billable: b.billable,
        actual_minutes: m.actual,
        billed_minutes: m.billed,
        covered_minutes: m.covered,
        treatment: m.treatment,
        invoice: b.settlement.map(|s| invoice_ref(s.invoice)),
    };
    (out, m)
}

fn expense_out(e: ProofExpense) -> ProofExpenseOut {
    ProofExpenseOut {
        expense_id: e.id,
        date: date_text(e.expense_date),
        description: e.description,
        quantity: DecimalString(e.quantity),
        unit: e.unit,
        service: e.service.map(|(id, code, name)| ProofService { id, code, name }),
        ticket: e.ticket.map(ticket_ref),
        billable: e.billable,
        treatment: e.settlement.as_ref().map_or(Treatment::Open, |s| s.status.into()),
        invoice: e.settlement.map(|s| invoice_ref(s.invoice)),
    }
}

fn note_out(n: ReportNote) -> ReportNoteOut {
    ReportNoteOut {
        id: n.id,
        date: date_text(n.created_at.0.date()),
        created_at: timestamp(&n.created_at),
        entry_type: n.entry_type,
        visibility: n.visibility,
        author: NoteAuthor { id: n.author_id, name: n.author_name },
        text: n.text,
        document_id: n.document_id,
    }
}

/// The header of a report.
struct Subject {
    scope: ProofScope,
    invoice: Option<ProofInvoice>,
    ticket: Option<ProofTicket>,
    project: Option<NamedRef>,
    customer: Option<ProofCustomer>,
    period: WorkPeriod,
}

/// Assembles the report: bookings with their minutes, tickets with notes and sums, totals.
fn report(s: Subject, proof: ProofOfService) -> ProofOfServiceOut {
    let mut tickets: BTreeMap<i64, ProofTicketOut> = BTreeMap::new();
    for t in proof.tickets.into_iter().chain(s.ticket.clone()) {
        tickets.entry(t.id).or_insert_with(|| ProofTicketOut {
            id: t.id,
            number: t.number,
            title: t.title,
            notes: Vec::new(),
            totals: MinuteTotals::default(),
        });
    }
    for n in proof.notes {
        if let Some(t) = tickets.get_mut(&n.ticket.id) {
            t.notes.push(note_out(n));
        }
    }
    let mut totals = MinuteTotals::default();
    let mut bookings = Vec::with_capacity(proof.bookings.len());
    for b in proof.bookings {
        let (out, m) = booking_out(b);
        totals.add(&m);
        if let Some(t) = out.ticket.as_ref().and_then(|t| tickets.get_mut(&t.id)) {
            t.totals.add(&m);
        }
        bookings.push(out);
    }
    ProofOfServiceOut {
        scope: s.scope,
        invoice: s.invoice,
        ticket: s.ticket.map(ticket_ref),
        project: s.project,
        customer: s.customer,
        from: s.period.from.map(date_text),
        to: s.period.to.map(date_text),
        bookings,
        expenses: proof.expenses.into_iter().map(expense_out).collect(),
        tickets: tickets.into_values().collect(),
        totals,
        missing_positions: proof.missing_positions,
    }
}

/// The customer's number and name as they are now (`None` without customer).
async fn current_customer(state: &AppState, id: Option<i64>) -> Result<Option<ProofCustomer>, ApiError> {
    let Some(id) = id else { return Ok(None) };
    match state.store.get_customer(id).await {
        Ok(c) => Ok(Some(ProofCustomer { id: c.id, number: c.data.number, name: c.data.name })),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn invoice_header(i: &Invoice) -> ProofInvoice {
    ProofInvoice {
        id: i.id,
        kind: i.kind,
        status: i.status,
        number: i.number.clone(),
        period_start: i.period_start.map(date_text),
        period_end: date_text(i.period_end),
        issue_date: i.issue_date.map(date_text),
    }
}

fn work_period(q: &PeriodQuery) -> Result<WorkPeriod, ApiError> {
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from > to {
            return Err(ApiError::invalid("to", "range", "must not be before from"));
        }
    }
    Ok(WorkPeriod { from: q.from, to: q.to })
}

/// A report over the bound of `KONTOR_MAX_REPORT_ENTRIES`: 422 naming the period.
fn too_large(e: ReportTooLarge) -> ApiError {
    let message = format!(
        "the report would list more than {} bookings, expenses or notes: narrow it with from and to",
        e.max_entries
    );
    ApiError::Validation(vec![
        FieldError::new("from", "report_too_large", message.clone()),
        FieldError::new("to", "report_too_large", message),
    ])
}

// ---- handlers ----

/// Proof of service of an invoice (Leistungsnachweis).
///
/// Every time booking the invoice settles — date, start and end, who, ticket, project and
/// task, service, activity text — with the minutes worked, the minutes billed (rounded
/// minus covered: 7 minutes under the default 15-minute rounding bill 15) and covered, and
/// the treatment the invoice gave it (`billed`, `covered`, `partly_covered`,
/// `non_billable`); its expenses; and per ticket the notes flagged `in_report` and the
/// sums. Minutes and treatments are those stored when the invoice was created; a cancelled
/// invoice still shows what it had billed (dates and texts are the bookings' current ones).
/// A credit note settles nothing: read the report of the invoice it cancels.
///
/// `format=pdf` (or `Accept: application/pdf`) answers the report as the PDF/A-3 the
/// customer signs (Leistungsnachweis: letterhead of the seller profile as of issue, every
/// booking with date, time, who, ticket and activity, hours worked and billed, expenses,
/// notes, sums, lines for place, date and signature; German).
#[utoipa::path(get, path = "/api/v1/invoices/{id}/proof-of-service", operation_id = "invoice_proof_of_service",
    tag = "proof-of-service", params(("id" = i64, Path), ReportQuery),
    security(("bearer" = []), ("api_key" = ["invoices:read"]), ("api_key" = ["invoices:export"])),
    responses(
        (status = 200, description = "The report (JSON, or the PDF with `format=pdf`)", content(
            (ProofOfServiceOut = "application/json"),
            (crate::routes::invoice_documents::DocumentFile = "application/pdf"))),
        (status = 422, description = "Unknown `format`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an invalid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not billing, manager or admin (API keys: `invoices:read`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice", body = Problem, content_type = "application/problem+json")))]
pub async fn invoice_report(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    q: Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadInvoices)?;
    let id = path_id(&req, "id")?;
    let pdf = wants_pdf(&req, q.0.format.as_deref())?;
    let invoice = state.store.get_invoice(id).await.map_err(not_found("invoice"))?;
    let proof = state.store.invoice_proof(id).await?;
    let customer = match &invoice.customer_snapshot {
        Some(s) => Some(ProofCustomer { id: s.customer_id, number: s.number.clone(), name: s.name.clone() }),
        None => current_customer(&state, Some(invoice.customer_id)).await?,
    };
    let subject = Subject {
        scope: ProofScope::Invoice,
        invoice: Some(invoice_header(&invoice)),
        ticket: None,
        project: None,
        customer,
        period: WorkPeriod::default(),
    };
    let stem = format!("proof-{}", invoice.number.clone().unwrap_or_else(|| format!("draft-{id}")));
    let seller = match (pdf, invoice.seller_snapshot) {
        (false, _) => Default::default(),
        (true, Some(frozen)) => frozen,
        (true, None) => state.store.seller_profile().await?.profile,
    };
    respond(&state, report(subject, proof), pdf, &seller, &stem).await
}

/// The seller profile of a ticket or project report's letterhead (only read for a PDF).
async fn current_seller(state: &AppState, pdf: bool) -> Result<SellerProfile, ApiError> {
    Ok(if pdf { state.store.seller_profile().await?.profile } else { SellerProfile::default() })
}

/// Proof of service of a ticket.
///
/// Its time bookings (optionally only those with a work date from `from` to `to`) with the
/// minutes worked, billed and covered and how each is settled now — by a draft
/// (`invoice.status` `draft`, no number yet) or an issued invoice — or `open` while no
/// invoice settles it; its expenses; the ticket's notes flagged `in_report` written in the
/// period; and the sums. `format=pdf` (or `Accept: application/pdf`): the printed report the
/// customer signs, with the current seller profile's letterhead.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/proof-of-service", operation_id = "ticket_proof_of_service",
    tag = "proof-of-service", params(("id" = i64, Path), PeriodQuery),
    security(("bearer" = []), ("api_key" = ["invoices:read"]), ("api_key" = ["invoices:export"])),
    responses(
        (status = 200, description = "The report (JSON, or the PDF with `format=pdf`)", content(
            (ProofOfServiceOut = "application/json"),
            (crate::routes::invoice_documents::DocumentFile = "application/pdf"))),
        (status = 401, description = "No or an invalid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not billing, manager or admin (API keys: `invoices:read`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such ticket", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `from`/`to` (not `YYYY-MM-DD`, or `to` before `from`), or `report_too_large`: the period holds more bookings, expenses or notes than one report lists (`KONTOR_MAX_REPORT_ENTRIES`, default 10,000 each)", body = Problem, content_type = "application/problem+json")))]
pub async fn ticket_report(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    q: Query<PeriodQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadInvoices)?;
    let id = path_id(&req, "id")?;
    let period = work_period(&q.0)?;
    let pdf = wants_pdf(&req, q.0.format.as_deref())?;
    let ticket = state.store.get_ticket(id).await.map_err(not_found("ticket"))?;
    let stem = format!("proof-{}", ticket.number);
    let proof = state.store.ticket_proof(id, period, state.config.max_report_entries).await?.map_err(too_large)?;
    let subject = Subject {
        scope: ProofScope::Ticket,
        invoice: None,
        customer: current_customer(&state, ticket.data.customer_id).await?,
        ticket: Some(ProofTicket { id: ticket.id, number: ticket.number, title: ticket.data.title }),
        project: None,
        period,
    };
    respond(&state, report(subject, proof), pdf, &current_seller(&state, pdf).await?, &stem).await
}

/// Proof of service of a project (Tätigkeitsnachweis).
///
/// The time bookings on the project and on its tickets (optionally only those with a work
/// date from `from` to `to`), with the minutes worked, billed and covered and how each is
/// settled now — by a draft or an issued invoice — or `open`; the expenses; per ticket the
/// notes flagged `in_report` written in the period; and the sums. Internal projects are
/// never invoiced: their work stays `open`. `format=pdf` (or `Accept: application/pdf`): the
/// printed report the customer signs, with the current seller profile's letterhead.
#[utoipa::path(get, path = "/api/v1/projects/{id}/proof-of-service", operation_id = "project_proof_of_service",
    tag = "proof-of-service", params(("id" = i64, Path), PeriodQuery),
    security(("bearer" = []), ("api_key" = ["invoices:read"]), ("api_key" = ["invoices:export"])),
    responses(
        (status = 200, description = "The report (JSON, or the PDF with `format=pdf`)", content(
            (ProofOfServiceOut = "application/json"),
            (crate::routes::invoice_documents::DocumentFile = "application/pdf"))),
        (status = 401, description = "No or an invalid credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not billing, manager or admin (API keys: `invoices:read`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `from`/`to` (not `YYYY-MM-DD`, or `to` before `from`), or `report_too_large`: the period holds more bookings, expenses or notes than one report lists (`KONTOR_MAX_REPORT_ENTRIES`, default 10,000 each)", body = Problem, content_type = "application/problem+json")))]
pub async fn project_report(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    q: Query<PeriodQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadInvoices)?;
    let id = path_id(&req, "id")?;
    let period = work_period(&q.0)?;
    let pdf = wants_pdf(&req, q.0.format.as_deref())?;
    let project = state.store.get_project(id).await.map_err(not_found("project"))?;
    let report = project_proof_out(&state, &project, period).await?;
    let stem = format!("proof-project-{id}");
    respond(&state, report, pdf, &current_seller(&state, pdf).await?, &stem).await
}

/// The proof of service of a project's work in `period` (the project report lists it too).
pub async fn project_proof_out(
    state: &AppState,
    project: &Project,
    period: WorkPeriod,
) -> Result<ProofOfServiceOut, ApiError> {
    let proof =
        state.store.project_proof(project.id, period, state.config.max_report_entries).await?.map_err(too_large)?;
    let subject = Subject {
        scope: ProofScope::Project,
        invoice: None,
        customer: current_customer(state, project.data.customer_id).await?,
        ticket: None,
        project: Some(NamedRef { id: project.id, name: project.data.name.clone() }),
        period,
    };
    Ok(report(subject, proof))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/invoices/{id}/proof-of-service").route(web::get().to(invoice_report)))
        .service(web::resource("/tickets/{id}/proof-of-service").route(web::get().to(ticket_report)))
        .service(web::resource("/projects/{id}/proof-of-service").route(web::get().to(project_report)));
}

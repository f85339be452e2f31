//! Invoices and credit notes: list and read; edit a draft (manual lines, remove lines —
//! their positions are open again —, notes) or delete it; issue it (number, customer
//! snapshot, positions locked, quota ledger written, all at once); mark it paid; cancel it
//! by a credit note. Issued documents are immutable. A run's proposal without lines is a
//! settlement (no number, not in the accounting feed, never sent; cancelled without a
//! credit note). The storage rules live in
//! [`persistence::invoices`], the life cycle in [`domain::invoice`].

use crate::auth::Principal;
use crate::dto::{clean, date_text, timestamp, DecimalString};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{path_id, versioned, IfMatch, Json, OptionalJson, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::catalog::Unit;
use domain::engine::{InvoiceLine, LegalNote};
use domain::invoice::{self, InvoiceKind, InvoiceStatus};
use domain::money::{Totals, VatAmount};
use domain::quota::QuotaSummary;
use domain::{Permission, VatTreatment};
use persistence::invoices::{CustomerSnapshot, Invoice, InvoiceFilter, IssueOptions, ManualLine};
use persistence::{PageRequest, StoreError};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{OpenApi, ToSchema};

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list, get, update, delete, add_line, remove_line, release_position, issue, mark_paid, cancel),
    tags((name = "invoices", description = "Invoices and credit notes: drafts, issuing with gapless numbers, payment, cancellation by credit note"))
)]
pub struct Doc;

/// The billed customer as printed on the invoice: frozen at issue, the current record
/// while the invoice is a draft.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceCustomer {
    pub id: i64,
    /// Customer (debtor) number.
    pub number: String,
    pub name: String,
    pub address: InvoiceAddress,
    pub vat_id: Option<String>,
    pub billing_email: Option<String>,
    /// Debtor number in the accounting system.
    pub accounting_ref: Option<String>,
    pub payment_terms_days: i64,
    /// `domestic`, `eu_reverse_charge` or `export`.
    pub vat_treatment: String,
}

/// Billing address.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceAddress {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

impl From<CustomerSnapshot> for InvoiceCustomer {
    fn from(s: CustomerSnapshot) -> Self {
        InvoiceCustomer {
            id: s.customer_id,
            number: s.number,
            name: s.name,
            address: InvoiceAddress {
                street: s.address_street,
                postal_code: s.address_postal_code,
                city: s.address_city,
                country: s.address_country,
            },
            vat_id: s.vat_id,
            billing_email: s.billing_email,
            accounting_ref: s.accounting_ref,
            payment_terms_days: s.payment_terms_days,
            vat_treatment: s.vat_treatment,
        }
    }
}

/// One invoice line.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceLineOut {
    pub id: i64,
    /// Order on the invoice.
    pub line_no: i64,
    #[serde(flatten)]
    pub line: InvoiceLine,
}

/// A position the document settles and how: `billed` on a line, `covered` by the
/// contract, `partly_covered`, or `non_billable` — a draft reserves all of them, and
/// issuing it settles them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettledPositionOut {
    pub position: domain::position::PositionRef,
    pub treatment: domain::engine::PositionStatus,
    /// The contract it was billed or covered under.
    pub contract_id: Option<i64>,
    /// Bookings: minutes worked, after rounding, and covered by the contract.
    pub actual_minutes: Option<i64>,
    pub rounded_minutes: Option<i64>,
    pub covered_minutes: Option<i64>,
    /// Value of the covered part at the resolved rate (profitability).
    #[schema(value_type = Option<String>, example = "96.00")]
    pub covered_value: Option<DecimalString>,
}

/// How much of a document an answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceDetail {
    /// Header, totals, counts (`GET /invoices?fields=summary`).
    Summary,
    /// With lines (lists, the accounting feed).
    Lines,
    /// With lines and the positions it settles (single documents).
    Full,
}

/// What `GET /invoices` returns per document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceFields {
    /// Everything but the settled positions (default).
    #[default]
    Lines,
    /// Header, totals and counts: no `lines`.
    Summary,
}

/// Another document this one refers to.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentRef {
    pub id: i64,
    pub number: Option<String>,
}

/// An invoice or credit note with everything an accounting system needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceOut {
    pub id: i64,
    /// `invoice`, `credit_note` or `settlement` (a committed proposal without lines: it
    /// settles covered and non-billable positions and closes quota periods but bills
    /// nothing, so it has no number, is never in the accounting feed and is never sent).
    pub kind: InvoiceKind,
    /// `draft`, `issued`, `paid` or `cancelled`; a settlement is `settled` when committed
    /// and `cancelled` once cancelled.
    pub status: InvoiceStatus,
    /// e.g. `RE-2026-00017`; `null` while a draft, and always for a settlement.
    pub number: Option<String>,
    /// Number series (`RE`, credit notes `GS`); set at issue.
    pub series: Option<String>,
    pub customer_id: i64,
    pub customer: InvoiceCustomer,
    /// The contract the invoice is for (a separate-invoice contract or a contract run).
    pub contract_id: Option<i64>,
    /// The run that created the draft.
    pub run_id: Option<i64>,
    /// Created for one ticket ("invoice this ticket", immediate billing).
    pub ticket_id: Option<i64>,
    /// Created for one project.
    pub project_id: Option<i64>,
    /// ISO 4217.
    pub currency: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_start: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub period_end: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub issue_date: Option<String>,
    /// Issue date plus the customer's payment terms.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<String>,
    /// The lines (absent with `GET /invoices?fields=summary`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<InvoiceLineOut>>,
    /// Number of lines.
    pub line_count: usize,
    /// Every position the document settles with its treatment — billed, covered and
    /// non-billable work alike (single-document answers only; the proof of service shows
    /// them with dates and texts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub positions: Option<Vec<SettledPositionOut>>,
    /// VAT per rate: the summed nets of the lines with that rate and the VAT on the sum.
    pub vat: Vec<VatAmount>,
    pub totals: Totals,
    /// `reverse_charge` or `export` (0 % VAT).
    pub legal_note: Option<LegalNote>,
    /// The sentence the legal note prints.
    pub legal_note_text: Option<String>,
    pub notes: Option<String>,
    /// Prepaid quota and budget figures of the contract periods the invoice settles.
    pub quota_summaries: Vec<QuotaSummary>,
    /// Credit note: the invoice it cancels.
    pub cancels: Option<DocumentRef>,
    /// Cancelled invoice: its credit note.
    pub cancelled_by: Option<DocumentRef>,
    /// When an accounting system acknowledged the export.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub exported_at: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub paid_on: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub issued_at: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<String>,
    /// What may be done with the document now (`edit`, `delete`, `issue`, `mark_paid`, `cancel`).
    pub allowed_actions: Vec<String>,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
}

list_response!(InvoiceList, InvoiceOut, "A page of invoices and credit notes, newest first.");

fn legal_text(n: LegalNote) -> &'static str {
    match n {
        LegalNote::ReverseCharge => {
            "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Council Directive 2006/112/EC)."
        }
        LegalNote::Export => "Export outside the EU: not subject to VAT.",
    }
}

/// The invoice as the API shows it. Drafts show the customer's current record; issued
/// documents the snapshot taken at issue.
pub async fn invoice_out(state: &AppState, i: Invoice, detail: InvoiceDetail) -> Result<InvoiceOut, ApiError> {
    let customer = match i.customer_snapshot.clone() {
        Some(s) => s,
        None => CustomerSnapshot::of(&state.store.get_customer(i.customer_id).await?),
    };
    let reference = |id: Option<i64>| async move {
        match id {
            Some(id) => Ok::<_, ApiError>(Some(DocumentRef { id, number: state.store.get_invoice(id).await?.number })),
            None => Ok(None),
        }
    };
    let cancels = reference(i.cancels_id).await?;
    let cancelled_by = reference(i.cancelled_by_id).await?;
    let positions = match detail {
        InvoiceDetail::Full => Some(
            state
                .store
                .invoice_positions(i.id)
                .await?
                .into_iter()
                .map(|p| SettledPositionOut {
                    position: p.position,
                    treatment: p.treatment,
                    contract_id: p.contract_id,
                    actual_minutes: p.actual_minutes,
                    rounded_minutes: p.rounded_minutes,
                    covered_minutes: p.covered_minutes,
                    covered_value: p.covered_value.map(|v| DecimalString::money(v, i.currency)),
                })
                .collect(),
        ),
        _ => None,
    };
    let line_count = i.lines.len();
    let lines = (detail != InvoiceDetail::Summary)
        .then(|| i.lines.into_iter().map(|l| InvoiceLineOut { id: l.id, line_no: l.line_no, line: l.line }).collect());
    Ok(InvoiceOut {
        id: i.id,
        kind: i.kind,
        status: i.status,
        number: i.number,
        series: i.series,
        customer_id: i.customer_id,
        customer: InvoiceCustomer::from(customer),
        contract_id: i.contract_id,
        run_id: i.run_id,
        ticket_id: i.scope_ticket_id,
        project_id: i.scope_project_id,
        currency: i.currency.code().to_string(),
        period_start: i.period_start.map(date_text),
        period_end: date_text(i.period_end),
        issue_date: i.issue_date.map(date_text),
        due_date: i.due_date.map(date_text),
        lines,
        line_count,
        positions,
        vat: i.vat,
        totals: i.totals,
        legal_note: i.legal_note,
        legal_note_text: i.legal_note.map(|n| legal_text(n).to_string()),
        notes: i.notes,
        quota_summaries: i.quota_summaries,
        cancels,
        cancelled_by,
        exported_at: i.exported_at.as_ref().map(timestamp),
        paid_on: i.paid_on.map(date_text),
        issued_at: i.issued_at.as_ref().map(timestamp),
        cancelled_at: i.cancelled_at.as_ref().map(timestamp),
        allowed_actions: i.status.allowed_actions(i.kind).iter().map(|a| a.as_str().to_string()).collect(),
        version: i.version,
        created_at: timestamp(&i.created_at),
        updated_at: timestamp(&i.updated_at),
    })
}

async fn respond(state: &AppState, status: StatusCode, i: Invoice) -> Result<HttpResponse, ApiError> {
    let (id, version) = (i.id, i.version);
    Ok(versioned(status, "invoice", id, version, invoice_out(state, i, InvoiceDetail::Full).await?))
}

fn store_problem(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::NotFound("invoice".into()),
        other => other.into(),
    }
}

/// Filters of the invoice list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InvoiceQuery {
    pub customer_id: Option<i64>,
    pub contract_id: Option<i64>,
    /// Drafts of one run.
    pub run_id: Option<i64>,
    /// Invoices billing positions of this ticket.
    pub ticket_id: Option<i64>,
    /// Invoices billing positions of this project.
    pub project_id: Option<i64>,
    /// `draft`, `issued`, `paid`, `cancelled` or `settled`.
    #[param(inline)]
    pub status: Option<InvoiceStatus>,
    /// `invoice`, `credit_note` or `settlement`.
    #[param(inline)]
    pub kind: Option<InvoiceKind>,
    /// Issued on or after (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub issued_from: Option<Date>,
    /// Issued on or before.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub issued_to: Option<Date>,
    /// `lines` (default: each document with its lines) or `summary` (header, totals and
    /// `line_count` only: a smaller answer for overviews).
    #[param(inline)]
    #[serde(default)]
    pub fields: InvoiceFields,
    /// Page size (1–200, default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List invoices and credit notes, newest first (keyset-paginated).
#[utoipa::path(get, path = "/api/v1/invoices", operation_id = "list_invoices", tag = "invoices", params(InvoiceQuery),
    security(("bearer" = []), ("api_key" = ["invoices:read"]), ("api_key" = ["invoices:export"])),
    responses(
        (status = 200, body = InvoiceList)))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<InvoiceQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadInvoices)?;
    let q = q.0;
    let detail = match q.fields {
        InvoiceFields::Lines => InvoiceDetail::Lines,
        InvoiceFields::Summary => InvoiceDetail::Summary,
    };
    let filter = InvoiceFilter {
        customer_id: q.customer_id,
        contract_id: q.contract_id,
        run_id: q.run_id,
        status: q.status,
        kind: q.kind,
        issued_from: q.issued_from,
        issued_to: q.issued_to,
        ticket_id: q.ticket_id,
        project_id: q.project_id,
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<i64>(q.cursor.as_deref())? };
    let page = state.store.list_invoices(&filter, &page).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for i in page.items {
        items.push(invoice_out(&state, i, detail).await?);
    }
    Ok(HttpResponse::Ok().json(InvoiceList { items, next_cursor: page.next.map(|k| encode_cursor(&k)) }))
}

/// Read an invoice or credit note with its lines, VAT breakdown and totals.
#[utoipa::path(get, path = "/api/v1/invoices/{id}", operation_id = "get_invoice", tag = "invoices", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = ["invoices:read"]), ("api_key" = ["invoices:export"])),
    responses(
        (status = 200, body = InvoiceOut, headers(("ETag" = String)))))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadInvoices)?;
    let id = path_id(&req, "id")?;
    let i = state.store.get_invoice(id).await.map_err(store_problem)?;
    respond(&state, StatusCode::OK, i).await
}

/// Changes to a draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoicePatch {
    /// Text printed on the invoice (`null` clears it; at most 2000 characters).
    #[serde(default, deserialize_with = "crate::dto::double_option")]
    pub notes: Option<Option<String>>,
}

const CONFLICT_DOC: &str = "Not a draft (issued documents are immutable), or a later invoice builds on it";

/// Change a draft's notes. Send `If-Match` with the ETag you read (412 when stale).
#[utoipa::path(patch, path = "/api/v1/invoices/{id}", operation_id = "update_invoice", tag = "invoices",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = InvoicePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = InvoiceOut, headers(("ETag" = String))),
        (status = 409, description = "Not a draft", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<InvoicePatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageInvoices)?;
    let id = path_id(&req, "id")?;
    let patch = body.into_inner()?;
    let version = IfMatch::from_request(&req, "invoice", id).version()?;
    let before = state.store.get_invoice(id).await.map_err(store_problem)?;
    let notes = match patch.notes {
        None => before.notes.clone(),
        Some(n) => clean(n.as_deref()),
    };
    if notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(ApiError::invalid("notes", "length", "at most 2000 characters"));
    }
    let i =
        state.store.set_invoice_notes(id, version, notes.as_deref(), &p.actor(&req)).await.map_err(store_problem)?;
    respond(&state, StatusCode::OK, i).await
}

/// Delete a draft: its positions are open again and its quota entries vanish. A draft a
/// later invoice of the same contract builds on (quota, fees) is 409 until that one is
/// deleted or cancelled.
#[utoipa::path(delete, path = "/api/v1/invoices/{id}", operation_id = "delete_invoice", tag = "invoices",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you deleted")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = CONFLICT_DOC, body = Problem, content_type = "application/problem+json")))]
pub async fn delete(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageInvoices)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "invoice", id).version()?;
    state.store.delete_draft(id, version, &p.actor(&req)).await.map_err(store_problem)?;
    Ok(HttpResponse::NoContent().finish())
}

/// A line added by hand to a draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualLineIn {
    /// Text printed on the line (1–1000 characters).
    pub description: String,
    /// Quantity, e.g. `"3"` (not 0; negative for a discount).
    #[schema(value_type = String, example = "3")]
    pub quantity: DecimalString,
    /// `hour`, `km`, `piece` or `flat` (default `piece`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub unit: Option<Unit>,
    #[schema(value_type = String, example = "4.99")]
    pub unit_price: DecimalString,
    /// VAT rate in percent (0–100); must be 0 for reverse-charge and export customers.
    #[schema(value_type = String, example = "19")]
    pub vat_rate: DecimalString,
}

/// Add a manual line to a draft (e.g. cables, a goodwill discount); totals are recomputed.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/lines", operation_id = "add_invoice_line", tag = "invoices",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = ManualLineIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = InvoiceOut, headers(("ETag" = String))),
        (status = 409, description = "Not a draft", body = Problem, content_type = "application/problem+json")))]
pub async fn add_line(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ManualLineIn>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageInvoices)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let version = IfMatch::from_request(&req, "invoice", id).version()?;
    let before = state.store.get_invoice(id).await.map_err(store_problem)?;
    let customer = state.store.get_customer(before.customer_id).await?;
    let mut errors = Vec::new();
    let description = b.description.trim().to_string();
    if description.is_empty() || description.chars().count() > 1000 {
        errors.push(FieldError::new("description", "length", "1 to 1000 characters"));
    }
    if b.quantity.0.is_zero() || b.quantity.0.abs() > rust_decimal::Decimal::from(1_000_000_000) {
        errors.push(FieldError::new("quantity", "range", "not 0, at most 1000000000 in absolute value"));
    }
    if b.unit_price.0.abs() > rust_decimal::Decimal::from(1_000_000_000) {
        errors.push(FieldError::new("unit_price", "range", "at most 1000000000 in absolute value"));
    }
    if b.vat_rate.0 < rust_decimal::Decimal::ZERO || b.vat_rate.0 > rust_decimal::Decimal::ONE_HUNDRED {
        errors.push(FieldError::new("vat_rate", "range", "from 0 to 100"));
    } else if customer.data.vat_treatment != VatTreatment::Domestic && !b.vat_rate.0.is_zero() {
        errors.push(FieldError::new(
            "vat_rate",
            "vat_treatment",
            "the customer is billed without VAT (reverse charge or export): use 0",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let line = ManualLine {
        description,
        quantity: b.quantity.0,
        unit: b.unit.unwrap_or(Unit::Piece),
        unit_price: b.unit_price.0,
        vat_rate: b.vat_rate.0,
    };
    let i = state.store.add_manual_line(id, version, &line, &p.actor(&req)).await.map_err(store_problem)?;
    respond(&state, StatusCode::CREATED, i).await
}

/// Remove a line from a draft. Lines billing another part of the same bookings or
/// expenses (a custom-field quantity) go with it; the positions are open again for the
/// next run. Work that used prepaid quota, and a fee a later invoice continues from, cannot
/// be removed (409: delete the draft instead). Totals are recomputed.
#[utoipa::path(delete, path = "/api/v1/invoices/{id}/lines/{line_id}", operation_id = "remove_invoice_line", tag = "invoices",
    params(("id" = i64, Path), ("line_id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = InvoiceOut, headers(("ETag" = String))),
        (status = 409, description = CONFLICT_DOC, body = Problem, content_type = "application/problem+json")))]
pub async fn remove_line(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageInvoices)?;
    let id = path_id(&req, "id")?;
    let line_id = path_id(&req, "line_id")?;
    let version = IfMatch::from_request(&req, "invoice", id).version()?;
    let (i, _) = state.store.remove_invoice_line(id, line_id, version, &p.actor(&req)).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("invoice or line".into()),
        other => other.into(),
    })?;
    respond(&state, StatusCode::OK, i).await
}

/// What kind of position to move out of a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleasableKind {
    Bookings,
    Expenses,
}

/// Move a covered or non-billable booking or expense out of a draft.
///
/// A draft reserves every position it settles — also the covered and non-billable work it
/// documents (`positions` with `treatment` `covered` or `non_billable`), which would be
/// settled without being billed when the draft is issued. This moves one such booking
/// (with its custom-field quantities) or expense out: it is `open` again for the next run
/// (e.g. after making it billable), and the draft keeps its lines and totals. A position
/// billed on a line is removed with its line (409 names the line); one that used prepaid
/// quota only by deleting the draft (409).
#[utoipa::path(delete, path = "/api/v1/invoices/{id}/positions/{kind}/{position_id}", operation_id = "release_invoice_position", tag = "invoices",
    params(("id" = i64, Path), ("kind" = inline(ReleasableKind), Path, description = "`bookings` or `expenses`"),
        ("position_id" = i64, Path, description = "Id of the booking or expense"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = InvoiceOut, headers(("ETag" = String))),
        (status = 404, description = "No such draft, or it does not settle that booking or expense", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft, billed on a line, or used prepaid quota", body = Problem, content_type = "application/problem+json")))]
pub async fn release_position(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageInvoices)?;
    let id = path_id(&req, "id")?;
    let kind = match req.match_info().get("kind") {
        Some("bookings") => ReleasableKind::Bookings,
        Some("expenses") => ReleasableKind::Expenses,
        _ => return Err(ApiError::NotFound("no such kind of position: bookings or expenses".into())),
    };
    let position_id = path_id(&req, "position_id")?;
    let position = match kind {
        ReleasableKind::Bookings => domain::position::PositionRef::Booking { id: position_id },
        ReleasableKind::Expenses => domain::position::PositionRef::Expense { id: position_id },
    };
    let version = IfMatch::from_request(&req, "invoice", id).version()?;
    let i = state.store.release_settled_position(id, position, version, &p.actor(&req)).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("invoice, or a booking or expense it settles".into()),
        other => other.into(),
    })?;
    respond(&state, StatusCode::OK, i).await
}

/// How to number a document.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueIn {
    /// Number series, 1–10 upper-case letters or digits starting with a letter (default
    /// `RE` for invoices, `GS` for credit notes).
    pub series: Option<String>,
    /// Issue date (default today); its year is the number's year. Not before the newest
    /// document of the series and year.
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub issue_date: Option<Date>,
}

pub(crate) fn issue_options(b: IssueIn, default_series: &str) -> Result<IssueOptions, ApiError> {
    let series = b.series.unwrap_or_else(|| default_series.to_string());
    if !invoice::valid_series(&series) {
        return Err(ApiError::invalid(
            "series",
            "format",
            "1 to 10 upper-case letters or digits, starting with a letter",
        ));
    }
    Ok(IssueOptions { series, issue_date: b.issue_date.unwrap_or_else(|| time::OffsetDateTime::now_utc().date()) })
}

/// Issue a draft: the next number of the series and year (gapless, e.g. `RE-2026-00017`),
/// the customer snapshot, the due date, its positions locked (`billed`), its quota-ledger
/// entries written and `invoice.issued` (and `contract.quota_threshold`) events — in one
/// transaction. The body is optional. The invoice is immutable afterwards. A draft without
/// lines bills nothing and cannot be issued (409): delete it and run again, and the run
/// settles its positions as a settlement.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/issue", operation_id = "issue_invoice", tag = "invoices",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the draft you checked")),
    request_body(content = Option<IssueIn>),
    security(("bearer" = [])),
    responses(
        (status = 200, body = InvoiceOut, headers(("ETag" = String))),
        (status = 409, description = "Not a draft, a draft without lines, or dated before the newest document of the series", body = Problem, content_type = "application/problem+json")))]
pub async fn issue(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: OptionalJson<IssueIn>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageInvoices)?;
    let id = path_id(&req, "id")?;
    let opts = issue_options(body.into_inner()?, invoice::INVOICE_SERIES)?;
    let version = IfMatch::from_request(&req, "invoice", id).version()?;
    let i = state.store.issue_invoice(id, version, &opts, &p.actor(&req)).await.map_err(store_problem)?;
    respond(&state, StatusCode::OK, i).await
}

/// Payment of an invoice.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaidIn {
    /// Day the payment arrived (default today; not before the issue date).
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub paid_on: Option<Date>,
}

/// Mark an issued invoice paid. The body is optional.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/mark-paid", operation_id = "mark_invoice_paid", tag = "invoices",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body(content = Option<PaidIn>),
    security(("bearer" = [])),
    responses(
        (status = 200, body = InvoiceOut, headers(("ETag" = String))),
        (status = 409, description = "Not issued (a draft, paid already, cancelled, a credit note)", body = Problem, content_type = "application/problem+json")))]
pub async fn mark_paid(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: OptionalJson<PaidIn>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageInvoices)?;
    let id = path_id(&req, "id")?;
    let paid_on = body.into_inner()?.paid_on.unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
    let version = IfMatch::from_request(&req, "invoice", id).version()?;
    let i = state.store.mark_invoice_paid(id, version, paid_on, &p.actor(&req)).await.map_err(store_problem)?;
    respond(&state, StatusCode::OK, i).await
}

/// How to cancel an invoice.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelIn {
    /// Series of the credit note's number (default `GS`).
    pub series: Option<String>,
    /// Date of the credit note (default today; not before the invoice).
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub issue_date: Option<Date>,
    /// Why (printed on the credit note; at most 500 characters).
    pub reason: Option<String>,
}

/// The cancelled invoice and its credit note.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cancellation {
    pub invoice: InvoiceOut,
    /// The credit note; `null` when a settlement was cancelled (it billed nothing).
    pub credit_note: Option<InvoiceOut>,
}

/// Cancel an issued or paid invoice by a credit note: the credit note gets its own number
/// (series `GS`) and references the original; every amount is negated; the original is
/// `cancelled`; its positions are open again (the next run bills them anew); its quota
/// consumption is reversed in the ledger — in one transaction. The body is optional.
///
/// A settlement is cancelled without a credit note (200, `credit_note: null`): its
/// positions are open again and its quota consumption is reversed.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/cancel", operation_id = "cancel_invoice", tag = "invoices",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body(content = Option<CancelIn>),
    security(("bearer" = [])),
    responses(
        (status = 201, body = Cancellation, headers(("Location" = String, description = "The credit note"))),
        (status = 200, description = "A settlement cancelled (no credit note)", body = Cancellation),
        (status = 409, description = "A draft (delete it instead), cancelled already, or a credit note", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: OptionalJson<CancelIn>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageInvoices)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let version = IfMatch::from_request(&req, "invoice", id).version()?;
    let reason = clean(b.reason.as_deref());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::invalid("reason", "length", "at most 500 characters"));
    }
    let opts = issue_options(IssueIn { series: b.series, issue_date: b.issue_date }, invoice::CREDIT_NOTE_SERIES)?;
    let (original, credit) = state
        .store
        .cancel_invoice(id, version, &opts, reason.as_deref(), &p.actor(&req))
        .await
        .map_err(store_problem)?;
    let invoice = invoice_out(&state, original, InvoiceDetail::Full).await?;
    Ok(match credit {
        Some(credit) => {
            let location = format!("/api/v1/invoices/{}", credit.id);
            let body =
                Cancellation { invoice, credit_note: Some(invoice_out(&state, credit, InvoiceDetail::Full).await?) };
            crate::extract::created_at(HttpResponse::Created().json(body), &location)
        }
        None => HttpResponse::Ok().json(Cancellation { invoice, credit_note: None }),
    })
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/invoices").route(web::get().to(list)))
        .service(
            web::resource("/invoices/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(delete)),
        )
        .service(web::resource("/invoices/{id}/lines").route(web::post().to(add_line)))
        .service(web::resource("/invoices/{id}/lines/{line_id}").route(web::delete().to(remove_line)))
        .service(
            web::resource("/invoices/{id}/positions/{kind}/{position_id}").route(web::delete().to(release_position)),
        )
        .service(web::resource("/invoices/{id}/issue").route(web::post().to(issue)))
        .service(web::resource("/invoices/{id}/mark-paid").route(web::post().to(mark_paid)))
        .service(web::resource("/invoices/{id}/cancel").route(web::post().to(cancel)));
}

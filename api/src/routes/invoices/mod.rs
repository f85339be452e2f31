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

mod view;
pub use view::*;

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list, get, update, delete, add_line, remove_line, release_position, issue, mark_paid, cancel),
    tags((name = "invoices", description = "Invoices and credit notes: drafts, issuing with gapless numbers, payment, cancellation by credit note"))
)]
pub struct Doc;

async fn respond(state: &AppState, status: StatusCode, i: Invoice) -> Result<HttpResponse, ApiError> {
    let (id, version) = (i.id, i.version);
    Ok(versioned(status, "invoice", id, version, invoice_out(&state.store, i, InvoiceDetail::Full).await?))
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
        items.push(invoice_out(&state.store, i, detail).await?);
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
    /// The buyer's order reference, e.g. its purchase order number (e-invoices carry it as
    /// BT-13; `null` clears it; at most 100 characters on one line).
    #[serde(default, deserialize_with = "crate::dto::double_option")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub order_reference: Option<Option<String>>,
}

const CONFLICT_DOC: &str = "Not a draft (issued documents are immutable), or a later invoice builds on it";

/// Change a draft's notes and the buyer's order reference. Send `If-Match` with the ETag you
/// read (412 when stale).
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
    let mut errors = Vec::new();
    let order_reference = match patch.order_reference {
        None => before.order_reference.clone(),
        Some(r) => crate::dto::order_reference(r.as_deref(), &mut errors),
    };
    if notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        errors.push(FieldError::new("notes", "length", "at most 2000 characters"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let i = state
        .store
        .set_invoice_texts(id, version, notes.as_deref(), order_reference.as_deref(), &p.actor(&req))
        .await
        .map_err(store_problem)?;
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
    let invoice = invoice_out(&state.store, original, InvoiceDetail::Full).await?;
    Ok(match credit {
        Some(credit) => {
            let location = format!("/api/v1/invoices/{}", credit.id);
            let body = Cancellation {
                invoice,
                credit_note: Some(invoice_out(&state.store, credit, InvoiceDetail::Full).await?),
            };
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

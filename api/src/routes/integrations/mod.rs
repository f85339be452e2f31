//! Helpdesk push integration. A helpdesk (any system, named in the path: `zammad`,
//! `freshdesk`, `otrs` …) pushes its tickets and time entries by its own ids, with API keys
//! holding `tickets:write` / `bookings:write`; pushing the same thing twice changes nothing.
//! Zammad's own webhook is understood out of the box (`zammad`). The upserts themselves live
//! in `upsert`, shared by both.

mod upsert;
pub mod zammad;

use crate::auth::Principal;
use crate::dto::{clean, validate};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{created_at, versioned, Json};
use crate::routes::bookings::BookingOut;
use crate::routes::tickets::{valid_url, TicketOut};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::helpdesk::{CustomerMatch, UpsertResult};
use domain::ticket::{Priority, TicketStatus, TicketType};
use domain::Permission;
use serde::{Deserialize, Serialize};
use time::Date;
use upsert::{upsert_ticket, upsert_time_entry, PushedTicket, PushedTimeEntry};
use utoipa::{OpenApi, ToSchema};
use validator::Validate;

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(put_ticket, put_time_entry, zammad::webhook),
    tags((name = "integrations", description = "Helpdesk push integration: idempotent upserts of tickets and time entries by the helpdesk's ids, and Zammad's webhook"))
)]
pub struct Doc;

/// The requester of a pushed ticket; becomes (or finds) a contact of the customer.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushedContact {
    #[validate(email, length(max = 254))]
    #[schema(max_length = 254, example = "emily@example.com")]
    pub email: String,
    #[validate(length(max = 200))]
    #[schema(max_length = 200, example = "Emily Adams")]
    pub name: Option<String>,
}

/// A ticket as the helpdesk knows it. `title` is always sent; other absent fields keep
/// what Kontor has (on creation: priority `normal`, status `new`).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketUpsert {
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300, example = "Printer on 2nd floor offline")]
    pub title: String,
    #[validate(length(max = 20000))]
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    /// The helpdesk's status; any status is taken (the helpdesk owns the ticket's life) and
    /// recorded on the timeline.
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub ticket_type: Option<TicketType>,
    /// The helpdesk's reference of the customer (organization), matched against the
    /// customers' `helpdesk_ref`. Used when the ticket is created.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, example = "org-42")]
    pub customer_ref: Option<String>,
    /// The requester. Without a `customer_ref` match, the customer is the one customer with
    /// a contact or billing e-mail at the requester's domain (shared mail domains such as
    /// gmail.com never match).
    #[validate(nested)]
    pub contact: Option<PushedContact>,
    /// Link to the ticket in the helpdesk.
    #[validate(length(max = 2000), custom(function = "valid_url"))]
    #[schema(max_length = 2000)]
    pub external_url: Option<String>,
}

/// The answer to a ticket push.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketUpserted {
    /// `created`, `updated`, or `unchanged` (nothing written).
    pub result: UpsertResult,
    /// How the customer was found (`existing` for a ticket Kontor already had).
    pub customer_match: CustomerMatch,
    pub ticket: TicketOut,
}

/// A time entry as the helpdesk knows it, on a ticket pushed before.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeEntryUpsert {
    /// The helpdesk's id of the ticket (pushed with `PUT …/tickets/{external_id}`).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, example = "81")]
    pub ticket_external_id: String,
    /// The Kontor user who worked, by e-mail.
    #[validate(email, length(max = 254))]
    #[schema(max_length = 254, example = "emma@chrispresso.com")]
    pub user_email: String,
    /// Code of an hourly catalog service.
    #[validate(length(min = 1, max = 50))]
    #[schema(min_length = 1, max_length = 50, example = "SUPPORT")]
    pub service_code: String,
    #[schema(value_type = String, format = Date, example = "2026-11-23")]
    #[serde(deserialize_with = "crate::dto::business_date")]
    pub work_date: Date,
    #[validate(range(min = 1, max = 1440))]
    #[schema(minimum = 1, maximum = 1440, example = 15)]
    pub duration_minutes: i64,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, example = "Reset the print spooler")]
    pub description: String,
    /// Default on creation: the service's default; absent later: unchanged.
    pub billable: Option<bool>,
}

/// The answer to a time-entry push.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeEntryUpserted {
    /// `created`, `updated`, or `unchanged` (nothing written).
    pub result: UpsertResult,
    pub booking: BookingOut,
}

/// The system and external id of a push path, checked.
fn push_path(req: &HttpRequest) -> Result<(String, String), ApiError> {
    let system = req.match_info().get("system").unwrap_or("").to_string();
    let external_id = req.match_info().get("external_id").unwrap_or("").trim().to_string();
    let mut errors = Vec::new();
    if system.is_empty()
        || system.len() > 100
        || !system.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        errors.push(FieldError::new("system", "invalid_path", "a system name is 1–100 of a-z, 0-9, - and _"));
    }
    if external_id.is_empty() || external_id.chars().count() > 200 || external_id.chars().any(char::is_control) {
        errors.push(FieldError::new("external_id", "invalid_path", "an external id is 1–200 printable characters"));
    }
    if errors.is_empty() {
        Ok((system, external_id))
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Create or update the ticket a helpdesk knows as `external_id` (idempotent). A new
/// ticket's customer is the one whose `helpdesk_ref` equals `customer_ref`, else the one
/// customer with an address at the contact's e-mail domain, else 422 naming both ways.
#[utoipa::path(put, path = "/api/v1/integrations/{system}/tickets/{external_id}", operation_id = "push_ticket",
    tag = "integrations", request_body = TicketUpsert,
    params(("system" = String, Path, description = "The helpdesk, e.g. `zammad`", pattern = "^[a-z0-9_-]{1,100}$"),
           ("external_id" = String, Path, description = "The helpdesk's ticket id")),
    security(("bearer" = []), ("api_key" = ["tickets:write"])),
    responses(
        (status = 200, description = "Updated or unchanged", body = TicketUpserted, headers(("ETag" = String))),
        (status = 201, description = "Created", body = TicketUpserted, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "Changed by another push meanwhile; push again", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, or no customer matches", body = Problem, content_type = "application/problem+json")))]
pub async fn put_ticket(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<TicketUpsert>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteTickets)?;
    let (system, external_id) = push_path(&req)?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let pushed = PushedTicket {
        title: b.title.trim().to_string(),
        description: clean(b.description.as_deref()),
        new_description: None,
        status: b.status,
        priority: b.priority,
        ticket_type: b.ticket_type,
        customer_refs: clean(b.customer_ref.as_deref()).into_iter().collect(),
        contact: b.contact.map(|c| (c.email.trim().to_string(), clean(c.name.as_deref()))),
        external_url: clean(b.external_url.as_deref()),
    };
    let done = upsert_ticket(&state, &p.actor(&req), &system, &external_id, pushed).await?;
    let (id, version) = (done.ticket.id, done.ticket.version);
    let body = TicketUpserted {
        result: done.result,
        customer_match: done.customer_match,
        ticket: TicketOut::from(done.ticket),
    };
    Ok(upsert_answer(done.result, "ticket", "tickets", id, version, body))
}

/// The HTTP answer of an upsert of the `kind` record `id` (at `version`, under `path`): 201
/// with `Location` when created, else 200; with its ETag.
fn upsert_answer(
    result: UpsertResult,
    kind: &str,
    path: &str,
    id: i64,
    version: i64,
    body: impl Serialize,
) -> HttpResponse {
    let created = result == UpsertResult::Created;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let res = versioned(status, kind, id, version, body);
    if created {
        created_at(res, &format!("/api/v1/{path}/{id}"))
    } else {
        res
    }
}

/// Create or update the booking of the time entry a helpdesk knows as `external_id`
/// (idempotent), on a ticket pushed before. A booking on a draft or issued invoice is 409
/// and unchanged, unless the push says what it already says (`unchanged`).
#[utoipa::path(put, path = "/api/v1/integrations/{system}/time-entries/{external_id}", operation_id = "push_time_entry",
    tag = "integrations", request_body = TimeEntryUpsert,
    params(("system" = String, Path, description = "The helpdesk, e.g. `zammad`", pattern = "^[a-z0-9_-]{1,100}$"),
           ("external_id" = String, Path, description = "The helpdesk's time-entry id")),
    security(("bearer" = []), ("api_key" = ["bookings:write"])),
    responses(
        (status = 200, description = "Updated or unchanged", body = TimeEntryUpserted, headers(("ETag" = String))),
        (status = 201, description = "Created", body = TimeEntryUpserted, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "The booking is on an invoice and locked", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid, or an unknown ticket, user or service", body = Problem, content_type = "application/problem+json")))]
pub async fn put_time_entry(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<TimeEntryUpsert>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteBookings)?;
    let (system, external_id) = push_path(&req)?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let pushed = PushedTimeEntry {
        ticket_external_id: b.ticket_external_id.trim().to_string(),
        user_email: b.user_email.trim().to_string(),
        service_code: b.service_code.trim().to_string(),
        work_date: b.work_date,
        duration_minutes: b.duration_minutes,
        description: b.description.trim().to_string(),
        billable: b.billable,
    };
    let done = upsert_time_entry(&state, &p, &p.actor(&req), &system, &external_id, &pushed).await?;
    let (id, version) = (done.booking.id, done.booking.version);
    let body = TimeEntryUpserted { result: done.result, booking: BookingOut::from(done.booking) };
    Ok(upsert_answer(done.result, "booking", "bookings", id, version, body))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/integrations/zammad/webhook").route(web::post().to(zammad::webhook)))
        .service(web::resource("/integrations/{system}/tickets/{external_id}").route(web::put().to(put_ticket)))
        .service(
            web::resource("/integrations/{system}/time-entries/{external_id}").route(web::put().to(put_time_entry)),
        );
}

//! Time bookings: who worked how long on which ticket or project, with which service,
//! billable or not. Agents book and change only their own time; managers, the billing
//! office and `bookings:write` integrations book for anyone. A booking on a draft or issued invoice is locked.

mod batch;
mod derive;

pub(crate) use derive::{booking_user, build as build_booking, may_change, resolve_target, Draft as BookingDraft};

use crate::auth::Principal;
use crate::dto::{date_text, double_option, timestamp, validate, DecimalString};
use crate::error::{not_found, ApiError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use derive::{booking_data, build, clock, requested_user, user_in, Draft};
use domain::Permission;
use persistence::bookings::{Booking, BookingData, BookingFilter, SummaryGroup, SummaryRow};
use persistence::refs::{BookingRefIds, BookingRefs};
use persistence::PageRequest;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::Validate;

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list, create, batch::create, get, update, delete, summary),
    tags((name = "bookings", description = "Time bookings on tickets and projects"))
)]
pub struct Doc;

/// A time booking.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingOut {
    pub id: i64,
    pub user_id: i64,
    #[schema(value_type = String, format = Date, example = "2026-11-23")]
    pub work_date: String,
    /// `HH:MM`, when recorded.
    #[schema(example = "09:15")]
    pub start_time: Option<String>,
    #[schema(example = "11:00")]
    pub end_time: Option<String>,
    /// Actual minutes worked (rounding happens when billing).
    pub duration_minutes: i64,
    pub service_id: i64,
    /// Activity text printed on the invoice.
    pub description: String,
    /// Derived from the ticket or project.
    pub customer_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    pub billable: bool,
    #[schema(value_type = Option<String>, example = "110.00")]
    pub rate_override: Option<DecimalString>,
    #[schema(value_type = crate::routes::custom_fields::CustomFieldValues)]
    pub custom_fields: serde_json::Value,
    /// `open`, `reserved` (on a draft invoice, locked) or `billed` (locked).
    pub state: String,
    pub created_by: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Booking> for BookingOut {
    fn from(b: Booking) -> Self {
        let d = b.data;
        BookingOut {
            id: b.id,
            user_id: d.user_id,
            work_date: date_text(d.work_date),
            start_time: clock(d.start_time),
            end_time: clock(d.end_time),
            duration_minutes: d.duration_minutes,
            service_id: d.service_id,
            description: d.description,
            customer_id: d.customer_id,
            ticket_id: d.ticket_id,
            project_id: d.project_id,
            task_id: d.task_id,
            billable: d.billable,
            rate_override: d.rate_override.map(|r| DecimalString::company_money(r.0)),
            custom_fields: d.custom_fields.0,
            state: b.state,
            created_by: b.created_by,
            version: b.version,
            created_at: timestamp(&b.created_at),
            updated_at: timestamp(&b.updated_at),
        }
    }
}

list_response!(BookingList, BookingOut, "A page of bookings, newest work date first.");

/// A new booking: a duration, or start and end (an end before the start runs past
/// midnight), on a ticket and/or project.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingCreate {
    /// Whose time; default the caller. Only managers, billing and admins book for others.
    pub user_id: Option<i64>,
    #[schema(value_type = String, format = Date, example = "2026-11-23")]
    #[serde(deserialize_with = "crate::dto::business_date")]
    pub work_date: Date,
    #[schema(example = 45)]
    pub duration_minutes: Option<i64>,
    #[schema(example = "09:15")]
    pub start_time: Option<String>,
    #[schema(example = "10:00")]
    pub end_time: Option<String>,
    /// An hourly catalog service (e.g. remote support).
    pub service_id: i64,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    #[schema(example = "Replaced the toner and tested printing")]
    pub description: String,
    pub ticket_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    /// Default: the service's default, never on internal projects.
    pub billable: Option<bool>,
    /// Price per hour instead of the resolved rate (billing office only).
    #[schema(value_type = Option<String>, example = "110.00")]
    pub rate_override: Option<DecimalString>,
    /// Values of booking custom fields, e.g. `{"km": 42}`.
    #[schema(value_type = Option<crate::routes::custom_fields::CustomFieldValuesIn>)]
    pub custom_fields: Option<serde_json::Value>,
}

/// Changes to an open booking; absent fields stay, `null` clears.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingPatch {
    pub user_id: Option<i64>,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub work_date: Option<Date>,
    pub duration_minutes: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub start_time: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub end_time: Option<Option<String>>,
    pub service_id: Option<i64>,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub ticket_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub project_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub task_id: Option<Option<i64>>,
    pub billable: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub rate_override: Option<Option<DecimalString>>,
    #[schema(value_type = Option<crate::routes::custom_fields::CustomFieldValuesIn>)]
    pub custom_fields: Option<serde_json::Value>,
}

fn booking_response(status: StatusCode, b: Booking) -> HttpResponse {
    versioned(status, "booking", b.id, b.version, BookingOut::from(b))
}

/// Filters of the booking list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BookingQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub user_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub service_id: Option<i64>,
    /// First work date (inclusive), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub from: Option<Date>,
    /// Last work date (inclusive).
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub to: Option<Date>,
    pub billable: Option<bool>,
    /// `open`, `reserved` (on a draft invoice) or `billed`.
    pub state: Option<String>,
}

/// List bookings, newest work date first.
#[utoipa::path(get, path = "/api/v1/bookings", operation_id = "list_bookings", tag = "bookings", params(BookingQuery),
    security(("bearer" = []), ("api_key" = ["bookings:read"]), ("api_key" = ["bookings:write"])),
    responses((status = 200, body = BookingList), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<BookingQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBookings)?;
    let q = q.0;
    if let Some(s) = q.state.as_deref() {
        if !matches!(s, "open" | "reserved" | "billed") {
            return Err(ApiError::invalid("state", "invalid_query", "must be open, reserved or billed"));
        }
    }
    let filter = BookingFilter {
        user_id: q.user_id,
        customer_id: q.customer_id,
        project_id: q.project_id,
        task_id: q.task_id,
        ticket_id: q.ticket_id,
        service_id: q.service_id,
        from: q.from,
        to: q.to,
        billable: q.billable,
        state: q.state,
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<(Date, i64)>(q.cursor.as_deref())? };
    let page = state.store.list_bookings(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(BookingList {
        items: page.items.into_iter().map(BookingOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Book time. Always accepted on a ticket or project in any state (continuous recording:
/// the next invoice run bills only what is still open).
#[utoipa::path(post, path = "/api/v1/bookings", operation_id = "create_booking", tag = "bookings", request_body = BookingCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation")),
    security(("bearer" = []), ("api_key" = ["bookings:write"])),
    responses(
        (status = 201, body = BookingOut, headers(("ETag" = String), ("Location" = String))),
        (status = 403, description = "Booking for someone else, or a rate override without the billing role", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<BookingCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteBookings)?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let refs = state.store.booking_refs(&ref_ids([&b], &p)).await?;
    let fields = state.store.booking_fields(&refs).await?;
    let data = booking_data(&refs, &fields, &p, draft(&refs, &p, b)?)?;
    let booking = state.store.create_booking(&data, &p.actor(&req)).await?;
    let location = format!("/api/v1/bookings/{}", booking.id);
    Ok(created_at(booking_response(StatusCode::CREATED, booking), &location))
}

/// The records new bookings point at, for one read of them all.
fn ref_ids<'a>(items: impl IntoIterator<Item = &'a BookingCreate>, p: &Principal) -> BookingRefIds {
    let mut ids = BookingRefIds::default();
    for b in items {
        ids.users.extend(requested_user(p, b.user_id));
        ids.services.push(b.service_id);
        ids.tickets.extend(b.ticket_id);
        ids.projects.extend(b.project_id);
        ids.tasks.extend(b.task_id);
    }
    ids
}

/// A new booking with its defaults, for the user it is for (the own-booking rule applied).
fn draft(refs: &BookingRefs, p: &Principal, b: BookingCreate) -> Result<Draft, ApiError> {
    Ok(Draft {
        user_id: user_in(refs, p, b.user_id)?,
        work_date: b.work_date,
        duration: b.duration_minutes,
        start: b.start_time,
        end: b.end_time,
        service_id: b.service_id,
        description: b.description,
        ticket_id: b.ticket_id,
        project_id: b.project_id,
        task_id: b.task_id,
        billable: b.billable,
        override_changed: b.rate_override.is_some(),
        rate_override: b.rate_override,
        custom_fields: Ok(b.custom_fields.unwrap_or_else(|| serde_json::json!({}))),
    })
}

/// Read a booking.
#[utoipa::path(get, path = "/api/v1/bookings/{id}", operation_id = "get_booking", tag = "bookings", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = ["bookings:read"]), ("api_key" = ["bookings:write"])),
    responses((status = 200, body = BookingOut, headers(("ETag" = String))), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBookings)?;
    let booking = state.store.get_booking(path_id(&req, "id")?).await.map_err(not_found("booking"))?;
    Ok(booking_response(StatusCode::OK, booking))
}

/// Change an open booking (agents: only their own). A booking on a draft or issued invoice is 409.
#[utoipa::path(patch, path = "/api/v1/bookings/{id}", operation_id = "update_booking", tag = "bookings",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)), request_body = BookingPatch,
    security(("bearer" = []), ("api_key" = ["bookings:write"])),
    responses(
        (status = 200, body = BookingOut, headers(("ETag" = String))),
        (status = 409, description = "Billed and locked", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<BookingPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteBookings)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let current = state.store.get_booking(id).await.map_err(not_found("booking"))?;
    may_change(&p, Some(current.data.user_id))?;
    persistence::holdings::check_open("booking", &current.state)?;
    let version = IfMatch::from_request(&req, "booking", id).version()?;
    let c = current.data.clone();
    let user_id = match b.user_id {
        Some(u) if u != c.user_id => booking_user(&state, &p, Some(u)).await?,
        _ => c.user_id,
    };
    let pick = |patch: Option<Option<i64>>, cur: Option<i64>| patch.unwrap_or(cur);
    // Changing the times without a new duration recomputes the duration from them.
    let times_changed = b.start_time.is_some() || b.end_time.is_some();
    let start = match b.start_time {
        Some(v) => v,
        None => clock(c.start_time),
    };
    let end = match b.end_time {
        Some(v) => v,
        None => clock(c.end_time),
    };
    let duration = match (b.duration_minutes, times_changed, start.is_some()) {
        (Some(d), _, _) => Some(d),
        (None, true, true) => None,
        _ if start.is_some() => None,
        _ => Some(c.duration_minutes),
    };
    let ticket_id = pick(b.ticket_id, c.ticket_id);
    let ticket_changed = b.ticket_id.is_some();
    let data = build(
        &state,
        &p,
        Draft {
            user_id,
            work_date: b.work_date.unwrap_or(c.work_date),
            duration,
            start,
            end,
            service_id: b.service_id.unwrap_or(c.service_id),
            description: b.description.unwrap_or(c.description),
            ticket_id,
            // A new ticket brings its own project unless one is given explicitly.
            project_id: if ticket_changed && b.project_id.is_none() { None } else { pick(b.project_id, c.project_id) },
            task_id: if ticket_changed && b.task_id.is_none() { None } else { pick(b.task_id, c.task_id) },
            billable: Some(b.billable.unwrap_or(c.billable)),
            override_changed: b.rate_override.as_ref().is_some_and(|v| v.map(|d| d.0) != c.rate_override.map(|r| r.0)),
            rate_override: match b.rate_override {
                Some(v) => v,
                None => c.rate_override.map(|r| DecimalString(r.0)),
            },
            custom_fields: b.custom_fields.ok_or(c.custom_fields.0),
        },
    )
    .await?;
    let booking = state
        .store
        .update_booking(
            id,
            version.or(Some(current.version)),
            &p.actor(&req),
            |_: &Booking| -> Result<BookingData, ApiError> { Ok(data) },
        )
        .await?;
    Ok(booking_response(StatusCode::OK, booking))
}

/// Delete an open booking (agents: only their own). A booking on a draft or issued invoice is 409.
#[utoipa::path(delete, path = "/api/v1/bookings/{id}", operation_id = "delete_booking", tag = "bookings",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = []), ("api_key" = ["bookings:write"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Billed and locked", body = Problem, content_type = "application/problem+json")))]
pub async fn delete(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteBookings)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "booking", id).version()?;
    state
        .store
        .delete_booking(id, version, &p.actor(&req), |b: &Booking| may_change(&p, Some(b.data.user_id)))
        .await
        .map_err(|e| match e {
        ApiError::NotFound(_) => ApiError::NotFound("booking".into()),
        other => other,
    })?;
    Ok(HttpResponse::NoContent().finish())
}

/// How to group the summary.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    User,
    Customer,
    Project,
    Service,
}

/// Parameters of the summary.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// `user`, `customer`, `project` or `service`.
    #[param(inline)]
    pub group_by: GroupBy,
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub from: Option<Date>,
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub to: Option<Date>,
}

/// One group of the summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryRowOut {
    /// Id of the user/customer/project/service (`null`: bookings without one, e.g. internal work).
    pub key: Option<i64>,
    /// Name (service: code).
    pub label: Option<String>,
    pub bookings: i64,
    pub minutes: i64,
    pub billable_minutes: i64,
}

/// Booked minutes per group.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingSummary {
    pub group_by: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub rows: Vec<SummaryRowOut>,
    pub total_minutes: i64,
    pub total_billable_minutes: i64,
}

/// Minutes and billable minutes per user, customer, project or service in a date range.
#[utoipa::path(get, path = "/api/v1/bookings/summary", operation_id = "booking_summary", tag = "bookings", params(SummaryQuery),
    security(("bearer" = []), ("api_key" = ["bookings:read"]), ("api_key" = ["bookings:write"])),
    responses((status = 200, body = BookingSummary), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn summary(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBookings)?;
    let q = q.0;
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from > to {
            return Err(ApiError::invalid("to", "range", "must not be before from"));
        }
    }
    let (group, name) = match q.group_by {
        GroupBy::User => (SummaryGroup::User, "user"),
        GroupBy::Customer => (SummaryGroup::Customer, "customer"),
        GroupBy::Project => (SummaryGroup::Project, "project"),
        GroupBy::Service => (SummaryGroup::Service, "service"),
    };
    let rows: Vec<SummaryRow> = state.store.booking_summary(group, q.from, q.to, &Default::default()).await?;
    Ok(HttpResponse::Ok().json(BookingSummary {
        group_by: name.into(),
        from: q.from.map(date_text),
        to: q.to.map(date_text),
        total_minutes: rows.iter().map(|r| r.minutes).sum(),
        total_billable_minutes: rows.iter().map(|r| r.billable_minutes).sum(),
        rows: rows
            .into_iter()
            .map(|r| SummaryRowOut {
                key: r.key,
                label: r.label,
                bookings: r.bookings,
                minutes: r.minutes,
                billable_minutes: r.billable_minutes,
            })
            .collect(),
    }))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/bookings/summary").route(web::get().to(summary)))
        .service(web::resource("/bookings/batch").route(web::post().to(batch::create)))
        .service(web::resource("/bookings").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/bookings/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(delete)),
        );
}

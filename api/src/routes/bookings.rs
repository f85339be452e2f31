//! Time bookings: who worked how long on which ticket or project, with which service,
//! billable or not. Agents book and change only their own time; managers, the billing
//! office and `bookings:write` integrations book for anyone. A booking on a draft or issued invoice is locked.

use crate::auth::Principal;
use crate::dto::{date_text, double_option, timestamp, validate, DecimalString};
use crate::error::{not_found, ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::routes::custom_fields::validate_custom_fields;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::catalog::Unit;
use domain::custom_field::CustomFieldEntity;
use domain::timekeeping::booked_minutes;
use domain::Permission;
use persistence::bookings::{Booking, BookingData, BookingFilter, SummaryGroup, SummaryRow};
use persistence::types::{ExactDecimal, JsonText};
use persistence::PageRequest;
use serde::{Deserialize, Serialize};
use time::{Date, Time};
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::Validate;

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, delete, summary),
    tags((name = "bookings", description = "Time bookings on tickets and projects"))
)]
pub struct Doc;

/// Where a position was worked: the ticket and/or project it is booked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorkTarget {
    pub customer_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    /// Booked on an internal project: never billable.
    pub internal: bool,
}

/// Resolves ticket/project/task into a consistent target: the ticket's project and task
/// are inherited, a task implies its project, and the customer comes from the ticket or
/// the (customer) project.
pub(crate) async fn resolve_target(
    state: &AppState,
    ticket_id: Option<i64>,
    mut project_id: Option<i64>,
    mut task_id: Option<i64>,
) -> Result<WorkTarget, ApiError> {
    let store = &state.store;
    let mut errors = Vec::new();
    let mut customer_id = None;
    if ticket_id.is_none() && project_id.is_none() && task_id.is_none() {
        // No single field is missing: one of three is. Name them all.
        let message = "book on a ticket, a project or a project task: give ticket_id, project_id or task_id";
        return Err(ApiError::Validation(
            ["ticket_id", "project_id", "task_id"].map(|f| FieldError::new(f, "one_required", message)).to_vec(),
        ));
    }
    if let Some(t) = ticket_id {
        match store.ticket_ref(t).await? {
            None => errors.push(FieldError::new("ticket_id", "unknown_reference", "no such ticket")),
            Some(ticket) => {
                customer_id = ticket.customer_id;
                match (project_id, ticket.project_id) {
                    (None, p) => {
                        project_id = p;
                        if task_id.is_none() {
                            task_id = ticket.task_id;
                        }
                    }
                    (Some(p), Some(tp)) if p != tp => {
                        errors.push(FieldError::new("project_id", "mismatch", "the ticket belongs to another project"))
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(task) = task_id {
        match (store.task_project(task).await?, project_id) {
            (None, _) => errors.push(FieldError::new("task_id", "unknown_reference", "no such task")),
            (Some(tp), None) => project_id = Some(tp),
            (Some(tp), Some(p)) if tp != p => {
                errors.push(FieldError::new("task_id", "mismatch", "the task belongs to another project"))
            }
            _ => {}
        }
    }
    let mut internal = false;
    if let Some(p) = project_id {
        match store.project_ref(p).await? {
            None => errors.push(FieldError::new("project_id", "unknown_reference", "no such project")),
            Some(project) if project.archived => {
                errors.push(FieldError::new("project_id", "archived", "the project is archived and read-only"))
            }
            Some(project) => {
                internal = project.internal;
                match (customer_id, project.customer_id) {
                    (None, pc) => customer_id = pc,
                    (Some(c), Some(pc)) if c != pc => errors.push(FieldError::new(
                        "project_id",
                        "mismatch",
                        "the project belongs to another customer than the ticket",
                    )),
                    _ => {}
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(WorkTarget { customer_id, ticket_id, project_id, task_id, internal })
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// The user a write is for: agents only for themselves; others for anyone (given) or
/// themselves (absent). API clients must name the user.
pub(crate) async fn booking_user(state: &AppState, p: &Principal, requested: Option<i64>) -> Result<i64, ApiError> {
    let all = p.require(Permission::WriteAllBookings).is_ok();
    let user = match (p, requested) {
        (Principal::User { id, .. }, None) => *id,
        (Principal::User { id, .. }, Some(u)) if u != *id && !all => {
            return Err(ApiError::Forbidden("agents book only their own time".into()))
        }
        (_, Some(u)) => u,
        (Principal::ApiClient { .. }, None) => {
            return Err(ApiError::invalid("user_id", "required", "an API client books for a named user"))
        }
    };
    match state.store.user_ref(user).await? {
        Some(true) => Ok(user),
        Some(false) => Err(ApiError::invalid("user_id", "inactive", "the user is deactivated")),
        None => Err(ApiError::invalid("user_id", "unknown_reference", "no such user")),
    }
}

/// Whether the principal may change a position recorded for `owner`.
pub(crate) fn may_change(p: &Principal, owner: Option<i64>) -> Result<(), ApiError> {
    if p.require(Permission::WriteAllBookings).is_ok() {
        return Ok(());
    }
    match p {
        Principal::User { id, .. } if owner == Some(*id) => Ok(()),
        _ => Err(ApiError::Forbidden("you may change only your own bookings and expenses".into())),
    }
}

fn parse_clock(field: &str, s: &str) -> Result<Time, ApiError> {
    let fmt = time::macros::format_description!("[hour]:[minute]");
    let fmt_s = time::macros::format_description!("[hour]:[minute]:[second]");
    Time::parse(s, &fmt)
        .or_else(|_| Time::parse(s, &fmt_s))
        .map_err(|_| ApiError::invalid(field, "invalid_time", "must be a time of day like 09:30"))
}

fn clock(t: Option<Time>) -> Option<String> {
    t.map(|t| format!("{:02}:{:02}", t.hour(), t.minute()))
}

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

/// Everything a booking write needs, after defaults: validated into `BookingData`.
struct Draft {
    user_id: i64,
    work_date: Date,
    duration: Option<i64>,
    start: Option<String>,
    end: Option<String>,
    service_id: i64,
    description: String,
    ticket_id: Option<i64>,
    project_id: Option<i64>,
    task_id: Option<i64>,
    billable: Option<bool>,
    rate_override: Option<DecimalString>,
    /// Whether this write sets or changes the override (that needs the billing role).
    override_changed: bool,
    /// New values (validated against the active definitions), or `Err(stored)` to keep
    /// the stored ones as they are even if a definition changed since.
    custom_fields: Result<serde_json::Value, serde_json::Value>,
}

async fn build(state: &AppState, p: &Principal, d: Draft) -> Result<BookingData, ApiError> {
    let start = d.start.as_deref().map(|s| parse_clock("start_time", s)).transpose()?;
    let end = d.end.as_deref().map(|s| parse_clock("end_time", s)).transpose()?;
    let minutes = booked_minutes(d.duration, start, end)
        .map_err(|e| ApiError::invalid("duration_minutes", "invalid_duration", e.to_string()))?;
    let service = state
        .store
        .find_service(d.service_id)
        .await?
        .ok_or_else(|| ApiError::invalid("service_id", "unknown_reference", "no such service"))?;
    if service.is_archived() {
        return Err(ApiError::invalid("service_id", "archived", "the service is archived"));
    }
    if service.data.unit != Unit::Hour {
        return Err(ApiError::invalid(
            "service_id",
            "unit",
            format!(
                "time is booked on hourly services; `{}` is measured in {} (record it as an expense)",
                service.data.name, service.data.unit
            ),
        ));
    }
    let target = resolve_target(state, d.ticket_id, d.project_id, d.task_id).await?;
    if target.internal && d.billable == Some(true) {
        return Err(ApiError::invalid(
            "billable",
            "internal_project",
            "bookings on internal projects are never billable",
        ));
    }
    if d.override_changed {
        p.require(Permission::OverrideRates)
            .map_err(|_| ApiError::Forbidden("only the billing office may set or change a rate override".into()))?;
    }
    if let Some(r) = &d.rate_override {
        if r.0.is_sign_negative() {
            return Err(ApiError::invalid("rate_override", "range", "must not be negative"));
        }
    }
    let custom_fields = match d.custom_fields {
        Ok(new) => serde_json::Value::Object(validate_custom_fields(state, CustomFieldEntity::Booking, &new).await?),
        Err(stored) => stored,
    };
    Ok(BookingData {
        user_id: d.user_id,
        work_date: d.work_date,
        start_time: start,
        end_time: end,
        duration_minutes: minutes,
        service_id: d.service_id,
        description: d.description.trim().to_string(),
        customer_id: target.customer_id,
        ticket_id: target.ticket_id,
        project_id: target.project_id,
        task_id: target.task_id,
        billable: !target.internal && d.billable.unwrap_or(service.data.billable_by_default),
        rate_override: d.rate_override.map(|r| ExactDecimal(r.0)),
        custom_fields: JsonText(custom_fields),
    })
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
    let user_id = booking_user(&state, &p, b.user_id).await?;
    let data = build(
        &state,
        &p,
        Draft {
            user_id,
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
        },
    )
    .await?;
    let booking = state.store.create_booking(&data, &p.actor(&req)).await?;
    let location = format!("/api/v1/bookings/{}", booking.id);
    Ok(created_at(booking_response(StatusCode::CREATED, booking), &location))
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
    persistence::billing::check_open("booking", &current.state)?;
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
    let rows: Vec<SummaryRow> = state.store.booking_summary(group, q.from, q.to).await?;
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
        .service(web::resource("/bookings").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/bookings/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(delete)),
        );
}

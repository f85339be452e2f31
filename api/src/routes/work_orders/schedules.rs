//! Work-order schedules on contracts: what recurs (title, checklist, order type), when
//! (recurrence, window, lead time), for whom (assignee user and/or team, estimate) and how
//! its executions are billed (covered or a fixed price; extra work separately).
//!
//! Read with the billing permission (contracts); maintained by admins, the billing office
//! and managers. Deleting a schedule archives it: it creates nothing more, its work orders stay.

use crate::auth::Principal;
use crate::dto::{business_date_opt, date_text, double_option, timestamp, validate, DecimalString};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::routes::catalog::{ArchiveFilter, StoreProblem};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::schedule::{ExecutionBilling, ExtraWorkBilling, IntervalUnit, Recurrence, RecurrenceMode};
use domain::Permission;
use persistence::types::{ExactDecimal, JsonText};
use persistence::work_orders::{Schedule, ScheduleData, ScheduleFilter};
use persistence::StoreError;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// When a schedule recurs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurrenceDto {
    /// `fixed` (default): occurrence n is n intervals after the anchor, month ends clamped
    /// ("the 31st" is the last day of February). `after_completion`: the next one is due an
    /// interval after the previous one was completed or skipped.
    #[serde(default = "fixed_mode")]
    pub mode: RecurrenceMode,
    pub unit: IntervalUnit,
    /// Units per interval, 1–999 (default 1).
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 999, example = 3)]
    pub every: u32,
    /// The first possible due date (the start of the schedule).
    #[schema(value_type = String, format = Date, example = "2027-01-05")]
    #[serde(with = "date_format")]
    pub anchor: Date,
    /// Fixed months/years: the day of the month, 1–31, clamped to the month's last day
    /// (default: the anchor's day).
    #[schema(minimum = 1, maximum = 31)]
    pub day_of_month: Option<u8>,
    /// Fixed weeks: `monday` … `sunday` (default: the anchor's weekday).
    #[schema(example = "monday", pattern = "^(monday|tuesday|wednesday|thursday|friday|saturday|sunday)$")]
    pub weekday: Option<String>,
}

fn fixed_mode() -> RecurrenceMode {
    RecurrenceMode::Fixed
}

fn one() -> u32 {
    1
}

mod date_format {
    use serde::{Deserializer, Serializer};
    pub fn serialize<S: Serializer>(d: &time::Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::dto::date_text(*d))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<time::Date, D::Error> {
        crate::dto::business_date(d)
    }
}

/// Where a schedule ends: after a last due date and/or a number of occurrences (both
/// absent: open-ended; it always ends with its contract).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowDto {
    /// The last possible due date (inclusive).
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "business_date_opt", serialize_with = "opt_date")]
    pub end: Option<Date>,
    /// How many occurrences at most.
    #[schema(minimum = 1)]
    pub count: Option<u32>,
}

fn opt_date<S: serde::Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&date_text(*d)),
        None => s.serialize_none(),
    }
}

/// A work-order schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleOut {
    pub id: i64,
    pub contract_id: i64,
    #[schema(example = "Quarterly server maintenance")]
    pub title: String,
    /// The checklist of each work order.
    pub instructions: Vec<String>,
    pub order_type_id: i64,
    pub recurrence: RecurrenceDto,
    pub window: WindowDto,
    /// Own lead time in days (`null`: the order type's).
    pub lead_days: Option<i64>,
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
    /// Planned effort of one execution.
    pub estimate_minutes: Option<i64>,
    pub execution_billing: ExecutionBilling,
    /// Price of one execution (`fixed_price` billing), in the contract's currency.
    #[schema(value_type = Option<String>, example = "450.00")]
    pub fixed_price: Option<DecimalString>,
    pub extra_work_billing: ExtraWorkBilling,
    /// The service booked on the orders (`null`: the order type's default).
    pub service_id: Option<i64>,
    /// A paused schedule creates nothing.
    pub paused: bool,
    /// Occurrences due before this day were passed over (resumed without back-fill).
    #[schema(value_type = Option<String>, format = Date)]
    pub not_before: Option<String>,
    pub archived: bool,
    pub archived_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl TryFrom<Schedule> for ScheduleOut {
    type Error = ApiError;
    fn try_from(s: Schedule) -> Result<Self, ApiError> {
        let r = s.data.recurrence()?;
        let d = s.data;
        Ok(ScheduleOut {
            id: s.id,
            contract_id: s.contract_id,
            title: d.title,
            instructions: serde_json::from_value(d.instructions.0).unwrap_or_default(),
            order_type_id: d.order_type_id,
            recurrence: RecurrenceDto {
                mode: r.mode,
                unit: r.unit,
                every: r.every,
                anchor: r.anchor,
                day_of_month: r.day_of_month,
                weekday: r.weekday.map(|w| domain::schedule::weekday_name(w).to_string()),
            },
            window: WindowDto { end: d.window_end, count: d.window_count.and_then(|c| u32::try_from(c).ok()) },
            lead_days: d.lead_days,
            assignee_user_id: d.assignee_user_id,
            assignee_team_id: d.assignee_team_id,
            estimate_minutes: d.estimate_minutes,
            execution_billing: d.execution_billing,
            fixed_price: d.fixed_price.map(|p| DecimalString(p.0)),
            extra_work_billing: d.extra_work_billing,
            service_id: d.service_id,
            paused: d.paused,
            not_before: d.not_before.map(date_text),
            archived: s.archived_at.is_some(),
            archived_at: s.archived_at.as_ref().map(timestamp),
            version: s.version,
            created_at: timestamp(&s.created_at),
            updated_at: timestamp(&s.updated_at),
        })
    }
}

list_response!(ScheduleList, ScheduleOut, "A page of schedules.");

/// A new schedule on a contract.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleCreate {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, example = "Quarterly server maintenance")]
    pub title: String,
    /// Checklist items (at most 50, each 1–500 characters).
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub instructions: Vec<String>,
    pub order_type_id: i64,
    pub recurrence: RecurrenceDto,
    #[serde(default)]
    pub window: WindowDto,
    /// Own lead time, 0–366 days (default: the order type's).
    #[validate(range(min = 0, max = 366))]
    #[schema(minimum = 0, maximum = 366)]
    pub lead_days: Option<i64>,
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
    #[validate(range(min = 0, max = 100000))]
    #[schema(minimum = 0, maximum = 100000)]
    pub estimate_minutes: Option<i64>,
    /// `covered` (default) or `fixed_price` (then `fixed_price` is required).
    #[serde(default = "covered")]
    pub execution_billing: ExecutionBilling,
    #[schema(value_type = Option<String>, example = "450.00")]
    pub fixed_price: Option<DecimalString>,
    /// `time_and_material` (default) or `contract`.
    #[serde(default = "time_and_material")]
    pub extra_work_billing: ExtraWorkBilling,
    pub service_id: Option<i64>,
    #[serde(default)]
    pub paused: bool,
}

fn covered() -> ExecutionBilling {
    ExecutionBilling::Covered
}

fn time_and_material() -> ExtraWorkBilling {
    ExtraWorkBilling::TimeAndMaterial
}

/// Changes to a schedule; absent fields stay, `null` clears the optional ones;
/// `recurrence` and `window` are replaced as a whole. Setting `paused` to false resumes
/// the schedule from today: occurrences that fell due while it was paused are passed over
/// unless `backfill` is true.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePatch {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub instructions: Option<Vec<String>>,
    pub order_type_id: Option<i64>,
    pub recurrence: Option<RecurrenceDto>,
    pub window: Option<WindowDto>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 366)]
    pub lead_days: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_user_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_team_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 100000)]
    pub estimate_minutes: Option<Option<i64>>,
    pub execution_billing: Option<ExecutionBilling>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub fixed_price: Option<Option<DecimalString>>,
    pub extra_work_billing: Option<ExtraWorkBilling>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub service_id: Option<Option<i64>>,
    pub paused: Option<bool>,
    /// With `paused: false`: also create what fell due while paused.
    #[serde(default)]
    pub backfill: bool,
}

/// Query of a contract's schedules.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ScheduleQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `active` (default), `archived` or `all`.
    #[param(inline)]
    pub status: Option<ArchiveFilter>,
}

/// Checks a complete schedule and turns it into what is stored; every problem at once.
fn schedule_data(b: ScheduleCreate, not_before: Option<Date>) -> Result<ScheduleData, ApiError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let weekday = match &b.recurrence.weekday {
        Some(w) => match domain::schedule::parse_weekday(w) {
            Some(d) => Some(d),
            None => {
                errors.push(FieldError::new("recurrence.weekday", "invalid", "one of monday … sunday"));
                None
            }
        },
        None => None,
    };
    let r = Recurrence {
        mode: b.recurrence.mode,
        unit: b.recurrence.unit,
        every: b.recurrence.every,
        anchor: b.recurrence.anchor,
        day_of_month: b.recurrence.day_of_month,
        weekday,
    };
    if let Err((field, message)) = r.validate() {
        errors.push(FieldError::new(field, "invalid", message));
    }
    if b.window.count == Some(0) {
        errors.push(FieldError::new("window.count", "range", "at least 1"));
    }
    if b.window.end.is_some_and(|end| end < b.recurrence.anchor) {
        errors.push(FieldError::new("window.end", "invalid", "the window ends before the anchor date"));
    }
    for (i, item) in b.instructions.iter().enumerate() {
        if item.trim().is_empty() || item.chars().count() > 500 {
            errors.push(FieldError::new(format!("instructions[{i}]"), "length", "1 to 500 characters"));
        }
    }
    match (b.execution_billing, &b.fixed_price) {
        (ExecutionBilling::FixedPrice, None) => errors.push(FieldError::new(
            "fixed_price",
            "required",
            "a fixed price per execution is required with `execution_billing: fixed_price`",
        )),
        (ExecutionBilling::Covered, Some(_)) => {
            errors.push(FieldError::new("fixed_price", "not_allowed", "only with `execution_billing: fixed_price`"))
        }
        (_, Some(p)) if p.0.is_sign_negative() => {
            errors.push(FieldError::new("fixed_price", "range", "must not be negative"))
        }
        _ => {}
    }
    validate(&b, errors)?;
    Ok(ScheduleData {
        title: b.title.trim().to_string(),
        instructions: JsonText(serde_json::json!(b.instructions.iter().map(|i| i.trim()).collect::<Vec<_>>())),
        order_type_id: b.order_type_id,
        mode: r.mode,
        interval_unit: r.unit,
        interval_every: i64::from(r.every),
        anchor_date: r.anchor,
        day_of_month: r.day_of_month.map(i64::from),
        weekday: r.weekday.map(|w| domain::schedule::weekday_name(w).to_string()),
        lead_days: b.lead_days,
        assignee_user_id: b.assignee_user_id,
        assignee_team_id: b.assignee_team_id,
        estimate_minutes: b.estimate_minutes,
        window_end: b.window.end,
        window_count: b.window.count.map(i64::from),
        execution_billing: b.execution_billing,
        fixed_price: b.fixed_price.map(|p| ExactDecimal(p.0)),
        extra_work_billing: b.extra_work_billing,
        service_id: b.service_id,
        paused: b.paused,
        not_before,
    })
}

/// The stored schedule as a complete create body (the base a patch applies to).
fn as_create(s: &Schedule) -> Result<ScheduleCreate, ApiError> {
    let out = ScheduleOut::try_from(s.clone())?;
    Ok(ScheduleCreate {
        title: out.title,
        instructions: out.instructions,
        order_type_id: out.order_type_id,
        recurrence: out.recurrence,
        window: out.window,
        lead_days: out.lead_days,
        assignee_user_id: out.assignee_user_id,
        assignee_team_id: out.assignee_team_id,
        estimate_minutes: out.estimate_minutes,
        execution_billing: out.execution_billing,
        fixed_price: out.fixed_price,
        extra_work_billing: out.extra_work_billing,
        service_id: out.service_id,
        paused: out.paused,
    })
}

fn store_problem(e: StoreError) -> ApiError {
    super::reference_problem(e).unwrap_or_else(|e| StoreProblem::map(e, "schedule", "id"))
}

/// Errors of the update closure.
struct ScheduleProblem(ApiError);

impl From<StoreError> for ScheduleProblem {
    fn from(e: StoreError) -> Self {
        ScheduleProblem(store_problem(e))
    }
}

impl From<ApiError> for ScheduleProblem {
    fn from(e: ApiError) -> Self {
        ScheduleProblem(e)
    }
}

fn respond(status: StatusCode, s: Schedule) -> Result<HttpResponse, ApiError> {
    let (id, version) = (s.id, s.version);
    Ok(versioned(status, "schedule", id, version, ScheduleOut::try_from(s)?))
}

/// List a contract's schedules by id.
#[utoipa::path(operation_id = "list_contract_schedules", get, path = "/api/v1/contracts/{id}/schedules",
    tag = "work-orders", params(("id" = i64, Path), ScheduleQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ScheduleList),
        (status = 404, description = "No such contract", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    q: Query<ScheduleQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let contract_id = path_id(&req, "id")?;
    state.store.get_contract(contract_id).await.map_err(|e| StoreProblem::map(e, "contract", "number"))?;
    let q = q.0;
    let page_size = limit(q.limit)?;
    let after = decode_cursor::<i64>(q.cursor.as_deref())?;
    let filter =
        ScheduleFilter { contract_id: Some(contract_id), archived_only: q.status.unwrap_or_default().archived_only() };
    let mut rows = state.store.list_schedules(&filter, after, page_size + 1).await?;
    let next = (rows.len() > page_size as usize).then(|| {
        rows.truncate(page_size as usize);
        rows.last().map(|s| encode_cursor(&s.id))
    });
    Ok(HttpResponse::Ok().json(ScheduleList {
        items: rows.into_iter().map(ScheduleOut::try_from).collect::<Result<_, _>>()?,
        next_cursor: next.flatten(),
    }))
}

/// Plan periodic work on a contract (admin, billing, manager). The generator creates its
/// work orders from the next run on (or `POST /work-orders/generate`).
#[utoipa::path(operation_id = "create_contract_schedule", post, path = "/api/v1/contracts/{id}/schedules",
    tag = "work-orders", params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body replay the first response; the same key with another body is 422")),
    request_body = ScheduleCreate,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ScheduleOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contract is archived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or an unknown order type, user, team or service (see `errors`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ScheduleCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::PlanWorkOrders)?;
    let contract_id = path_id(&req, "id")?;
    let data = schedule_data(body.into_inner()?, None)?;
    let s = state.store.create_schedule(contract_id, &data, &p.actor(&req)).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("contract".into()),
        other => store_problem(other),
    })?;
    let location = format!("/api/v1/schedules/{}", s.id);
    Ok(created_at(respond(StatusCode::CREATED, s)?, &location))
}

/// Read a schedule.
#[utoipa::path(operation_id = "get_schedule", get, path = "/api/v1/schedules/{id}", tag = "work-orders",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ScheduleOut, headers(("ETag" = String)))))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let s = state.store.get_schedule(path_id(&req, "id")?).await.map_err(store_problem)?;
    respond(StatusCode::OK, s)
}

/// Change a schedule (admin, billing, manager): see the patch's fields for pausing and
/// resuming. Work orders already created keep their dates. Send `If-Match`; a stale one is 412.
#[utoipa::path(operation_id = "update_schedule", patch, path = "/api/v1/schedules/{id}", tag = "work-orders",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = SchedulePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ScheduleOut, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The schedule is archived", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (see `errors`)", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<SchedulePatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::PlanWorkOrders)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let version = IfMatch::from_request(&req, "schedule", id).version()?;
    let today = time::OffsetDateTime::now_utc().date();
    let s = state
        .store
        .update_schedule(id, version, &p.actor(&req), |cur: &Schedule| -> Result<ScheduleData, ScheduleProblem> {
            let mut c = as_create(cur)?;
            let b = &b;
            if let Some(v) = &b.title {
                c.title = v.clone();
            }
            if let Some(v) = &b.instructions {
                c.instructions = v.clone();
            }
            c.order_type_id = b.order_type_id.unwrap_or(c.order_type_id);
            if let Some(v) = &b.recurrence {
                c.recurrence = v.clone();
            }
            if let Some(v) = &b.window {
                c.window = v.clone();
            }
            c.lead_days = b.lead_days.unwrap_or(c.lead_days);
            c.assignee_user_id = b.assignee_user_id.unwrap_or(c.assignee_user_id);
            c.assignee_team_id = b.assignee_team_id.unwrap_or(c.assignee_team_id);
            c.estimate_minutes = b.estimate_minutes.unwrap_or(c.estimate_minutes);
            c.execution_billing = b.execution_billing.unwrap_or(c.execution_billing);
            c.fixed_price = b.fixed_price.unwrap_or(c.fixed_price);
            c.extra_work_billing = b.extra_work_billing.unwrap_or(c.extra_work_billing);
            c.service_id = b.service_id.unwrap_or(c.service_id);
            let resumed = cur.data.paused && b.paused == Some(false);
            c.paused = b.paused.unwrap_or(c.paused);
            let not_before = match resumed && !b.backfill {
                true => Some(today),
                false => cur.data.not_before,
            };
            Ok(schedule_data(c, not_before)?)
        })
        .await
        .map_err(|e| e.0)?;
    respond(StatusCode::OK, s)
}

/// End a schedule ("delete", admin, billing, manager): it creates no more work orders;
/// those created stay. Restorable. Idempotent.
#[utoipa::path(operation_id = "archive_schedule", delete, path = "/api/v1/schedules/{id}", tag = "work-orders",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "Archived", body = ScheduleOut, headers(("ETag" = String)))))]
pub async fn archive(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, true).await
}

/// Restore an archived schedule (admin, billing, manager). Idempotent.
#[utoipa::path(operation_id = "restore_schedule", post, path = "/api/v1/schedules/{id}/restore", tag = "work-orders",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "Active again", body = ScheduleOut, headers(("ETag" = String)))))]
pub async fn restore(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, false).await
}

async fn set_archived(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    archive: bool,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::PlanWorkOrders)?;
    let id = path_id(&req, "id")?;
    let s = state.store.set_schedule_archived(id, archive, &p.actor(&req)).await.map_err(store_problem)?;
    respond(StatusCode::OK, s)
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/contracts/{id}/schedules").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/schedules/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(archive)),
        )
        .service(web::resource("/schedules/{id}/restore").route(web::post().to(restore)));
}

//! The planning view of generated work orders (`GET /work-orders`) and what a dispatcher
//! does with one: reschedule it to the day agreed with the customer, or skip it.
//! A work order is a ticket: it is worked, booked on and resolved through `/tickets/{id}`.

use crate::auth::Principal;
use crate::dto::{business_date, business_date_opt, date_text, timestamp, validate};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{path_id, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::ticket::TicketStatus;
use domain::Permission;
use persistence::work_orders::orders::{OrderState, WorkOrder, WorkOrderFilter};
use persistence::{PageRequest, StoreError};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// One checklist item of a work order.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// What to do (from the schedule's instructions, or added by the technician).
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500, example = "Check the backup logs")]
    pub item: String,
    pub done: bool,
}

/// The whole checklist of a work order, as ticked by the technician.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistRequest {
    /// At most 100 items; the order given is kept.
    #[validate(length(max = 100), nested)]
    #[schema(max_items = 100)]
    pub items: Vec<ChecklistItem>,
}

/// The planning state of a work order.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderState {
    /// Still to do.
    Open,
    /// Resolved or closed.
    Done,
    /// Skipped by a dispatcher.
    Skipped,
}

/// A work order generated from a schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkOrderOut {
    /// The ticket's id (`/tickets/{id}`).
    pub id: i64,
    #[schema(example = "T-2026-000123")]
    pub number: String,
    pub title: String,
    /// The ticket's status.
    pub status: TicketStatus,
    pub state: WorkOrderState,
    /// Open and due before today.
    pub overdue: bool,
    pub customer_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub schedule_id: i64,
    pub order_type_id: i64,
    /// The occurrence's number in its schedule (0 for the first).
    pub occurrence: i64,
    /// When it is due (moved by rescheduling).
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<String>,
    /// When the schedule made it due.
    #[schema(value_type = String, format = Date)]
    pub planned_due: String,
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
    pub estimate_minutes: Option<i64>,
    pub checklist: Vec<ChecklistItem>,
    pub reschedule_reason: Option<String>,
    pub skipped_at: Option<String>,
    pub skip_reason: Option<String>,
    /// The expense (`/expenses/{id}`) that bills the execution's fixed price: created once,
    /// when an order of a `fixed_price` schedule is done; the invoice run bills it with the
    /// contract's fee.
    pub execution_expense_id: Option<i64>,
}

impl WorkOrderOut {
    fn new(o: WorkOrder, today: Date) -> Self {
        let state = match (o.skipped_at.is_some(), o.status.is_done()) {
            (true, _) => WorkOrderState::Skipped,
            (false, true) => WorkOrderState::Done,
            (false, false) => WorkOrderState::Open,
        };
        WorkOrderOut {
            id: o.id,
            number: o.number,
            title: o.title,
            status: o.status,
            state,
            overdue: matches!(state, WorkOrderState::Open) && o.due_date.is_some_and(|d| d < today),
            customer_id: o.customer_id,
            contract_id: o.contract_id,
            schedule_id: o.schedule_id,
            order_type_id: o.order_type_id,
            occurrence: o.occurrence,
            due_date: o.due_date.map(date_text),
            planned_due: date_text(o.planned_due),
            assignee_user_id: o.assignee_user_id,
            assignee_team_id: o.assignee_team_id,
            estimate_minutes: o.estimate_minutes,
            checklist: serde_json::from_value(o.checklist.0).unwrap_or_default(),
            reschedule_reason: o.reschedule_reason,
            skipped_at: o.skipped_at.as_ref().map(timestamp),
            skip_reason: o.skip_reason,
            execution_expense_id: o.execution_expense_id,
        }
    }
}

list_response!(WorkOrderList, WorkOrderOut, "A page of work orders, by due date.");

/// Filters of the work-order list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WorkOrderQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
    /// Due on or after this day.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "business_date_opt")]
    pub from: Option<Date>,
    /// Due on or before this day.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "business_date_opt")]
    pub to: Option<Date>,
    pub team_id: Option<i64>,
    /// Assigned to this user.
    pub assignee_id: Option<i64>,
    pub order_type_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub schedule_id: Option<i64>,
    /// `open`, `done` or `skipped`.
    #[param(inline)]
    pub state: Option<WorkOrderState>,
    /// Only open orders due before today.
    pub overdue: Option<bool>,
}

/// Moving a work order to another day.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleRequest {
    /// The new due date.
    #[schema(value_type = String, format = Date, example = "2027-01-12")]
    #[serde(deserialize_with = "business_date")]
    pub due_date: Date,
    /// Why (on the order's timeline), e.g. the date agreed with the customer.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Skipping a work order.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkipRequest {
    /// Why (on the order's timeline).
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

fn store_problem(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::NotFound("work order".into()),
        other => other.into(),
    }
}

/// List work orders by due date: the planning board (filters combine).
#[utoipa::path(operation_id = "list_work_orders", get, path = "/api/v1/work-orders", tag = "work-orders",
    params(WorkOrderQuery),
    security(("bearer" = []), ("api_key" = ["tickets:read"])),
    responses(
        (status = 200, body = WorkOrderList),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<WorkOrderQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadTickets)?;
    let q = q.0;
    let today = today();
    let filter = WorkOrderFilter {
        due_from: q.from,
        due_to: q.to,
        team_id: q.team_id,
        assignee_id: q.assignee_id,
        order_type_id: q.order_type_id,
        customer_id: q.customer_id,
        contract_id: q.contract_id,
        schedule_id: q.schedule_id,
        state: q.state.map(|s| match s {
            WorkOrderState::Open => OrderState::Open,
            WorkOrderState::Done => OrderState::Done,
            WorkOrderState::Skipped => OrderState::Skipped,
        }),
        overdue_on: (q.overdue == Some(true)).then_some(today),
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<(Date, i64)>(q.cursor.as_deref())? };
    let page = state.store.list_work_orders(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(WorkOrderList {
        items: page.items.into_iter().map(|o| WorkOrderOut::new(o, today)).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Read a work order.
#[utoipa::path(operation_id = "get_work_order", get, path = "/api/v1/work-orders/{id}", tag = "work-orders",
    params(("id" = i64, Path, description = "The ticket's id")),
    security(("bearer" = []), ("api_key" = ["tickets:read"])),
    responses(
        (status = 200, body = WorkOrderOut),
        (status = 404, description = "No such work order", body = Problem, content_type = "application/problem+json")))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadTickets)?;
    let o = state.store.get_work_order(path_id(&req, "id")?).await.map_err(store_problem)?;
    Ok(HttpResponse::Ok().json(WorkOrderOut::new(o, today())))
}

/// Move an open work order to another day (admin, billing, manager), e.g. the date agreed
/// with the customer for on-site work; the reason goes on its timeline. An
/// `after_completion` schedule is not affected until the order is done.
#[utoipa::path(operation_id = "reschedule_work_order", post, path = "/api/v1/work-orders/{id}/reschedule",
    tag = "work-orders", params(("id" = i64, Path)), request_body = RescheduleRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = WorkOrderOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such work order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Done or skipped already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json")))]
pub async fn reschedule(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<RescheduleRequest>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::PlanWorkOrders)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let o = state
        .store
        .reschedule_work_order(id, b.due_date, b.reason.trim(), &p.actor(&req))
        .await
        .map_err(store_problem)?;
    Ok(HttpResponse::Ok().json(WorkOrderOut::new(o, today())))
}

/// Skip an open work order (admin, billing, manager): it is closed without being done, the
/// reason on its timeline. An `after_completion` schedule's next order follows an interval
/// after the skip.
#[utoipa::path(operation_id = "skip_work_order", post, path = "/api/v1/work-orders/{id}/skip",
    tag = "work-orders", params(("id" = i64, Path)), request_body = SkipRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = WorkOrderOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such work order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Done or skipped already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json")))]
pub async fn skip(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<SkipRequest>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::PlanWorkOrders)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let o = state.store.skip_work_order(id, b.reason.trim(), &p.actor(&req)).await.map_err(store_problem)?;
    Ok(HttpResponse::Ok().json(WorkOrderOut::new(o, today())))
}

/// Tick a work order's checklist (technicians and planners): the whole list as it stands now —
/// items done, items added on site. Allowed until the order is skipped (also after it was
/// resolved, to complete the record).
#[utoipa::path(operation_id = "set_work_order_checklist", put, path = "/api/v1/work-orders/{id}/checklist",
    tag = "work-orders", params(("id" = i64, Path)), request_body = ChecklistRequest,
    security(("bearer" = []), ("api_key" = ["tickets:write"])),
    responses(
        (status = 200, body = WorkOrderOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such work order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Skipped", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid items (see `errors`)", body = Problem, content_type = "application/problem+json")))]
pub async fn set_checklist(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ChecklistRequest>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteTickets)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let blank: Vec<FieldError> = b
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.item.trim().is_empty() && !i.item.is_empty())
        .map(|(n, _)| FieldError::new(format!("items[{n}].item"), "blank", "must not be blank"))
        .collect();
    validate(&b, blank)?;
    let items: Vec<ChecklistItem> =
        b.items.into_iter().map(|i| ChecklistItem { item: i.item.trim().to_string(), done: i.done }).collect();
    let checklist = serde_json::to_value(&items).map_err(|e| ApiError::Internal(e.to_string()))?;
    let o = state.store.set_work_order_checklist(id, &checklist, &p.actor(&req)).await.map_err(store_problem)?;
    Ok(HttpResponse::Ok().json(WorkOrderOut::new(o, today())))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/work-orders").route(web::get().to(list)))
        .service(web::resource("/work-orders/{id}").route(web::get().to(get)))
        .service(web::resource("/work-orders/{id}/reschedule").route(web::post().to(reschedule)))
        .service(web::resource("/work-orders/{id}/skip").route(web::post().to(skip)))
        .service(web::resource("/work-orders/{id}/checklist").route(web::put().to(set_checklist)));
}

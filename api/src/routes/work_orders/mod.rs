//! Periodic work orders (seed 004): order types, schedules on contracts, and the generator
//! that turns their occurrences into work orders (tickets of type `work_order`) — on demand
//! here, and in the background on every node ([`scheduler`]).

pub mod capacity;
pub mod order_types;
pub mod orders;
pub mod scheduler;
pub mod schedules;

use crate::auth::Principal;
use crate::dto::{business_date_opt, date_text};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use persistence::work_orders::generate::GeneratedOrder;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{OpenApi, ToSchema};

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(
    paths(
        order_types::list, order_types::create, order_types::get, order_types::update, order_types::archive,
        order_types::restore, schedules::list, schedules::create, schedules::get, schedules::update,
        schedules::archive, schedules::restore, generate, orders::list, orders::get, orders::reschedule,
        orders::skip, orders::set_checklist, capacity::capacity, capacity::list, capacity::create, capacity::delete
    ),
    tags((name = "work-orders", description = "Periodic work orders: order types, schedules on contracts, generation, planning, absences and capacity"))
)]
pub struct Doc;

/// Most orders listed in a generation's answer (the count covers all).
const LISTED: usize = 1000;

/// What to generate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// Create every order whose creation day (due date minus lead time) is this day or
    /// earlier (default: today). At most a year ahead.
    #[schema(value_type = Option<String>, format = Date, example = "2027-01-31")]
    #[serde(default, deserialize_with = "business_date_opt")]
    pub until: Option<Date>,
    /// Only say what would be created.
    #[serde(default)]
    pub dry_run: bool,
}

/// A work order created (or, in a dry run, to be created).
#[derive(Debug, Serialize, ToSchema)]
pub struct GeneratedOut {
    pub schedule_id: i64,
    pub contract_id: i64,
    pub customer_id: i64,
    /// The occurrence's number in its schedule (0 for the first).
    pub occurrence: u32,
    #[schema(value_type = String, format = Date)]
    pub due_date: String,
    /// The day the order was due to be created (due date minus lead time).
    #[schema(value_type = String, format = Date)]
    pub create_on: String,
    /// The work order (a ticket); `null` in a dry run.
    pub ticket_id: Option<i64>,
    #[schema(example = "T-2026-000123")]
    pub number: Option<String>,
}

impl From<GeneratedOrder> for GeneratedOut {
    fn from(g: GeneratedOrder) -> Self {
        GeneratedOut {
            schedule_id: g.schedule_id,
            contract_id: g.contract_id,
            customer_id: g.customer_id,
            occurrence: g.occurrence,
            due_date: date_text(g.due_date),
            create_on: date_text(g.create_on),
            ticket_id: g.ticket_id,
            number: g.number,
        }
    }
}

/// The outcome of a generation.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerateOut {
    pub dry_run: bool,
    #[schema(value_type = String, format = Date)]
    pub until: String,
    /// How many orders were (or would be) created.
    pub count: usize,
    /// The first 1,000 of them, by schedule and occurrence.
    pub items: Vec<GeneratedOut>,
    /// Whether `items` stops before `count`.
    pub truncated: bool,
    /// Open orders newly announced overdue (`workorder.overdue`; not in a dry run).
    pub overdue_announced: usize,
}

/// Create the due work orders now (admin, billing, manager) — what the background generator
/// does on every node (`KONTOR_SCHEDULER`) — and announce open orders that became overdue
/// (`workorder.overdue`, once each). Exactly once per schedule and occurrence: run
/// twice, or on two nodes at once, it creates nothing twice. Paused or archived schedules
/// and archived contracts create nothing; a schedule ends with its contract's end date.
#[utoipa::path(operation_id = "generate_work_orders", post, path = "/api/v1/work-orders/generate", tag = "work-orders",
    request_body = GenerateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = GenerateOut),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`until` more than a year ahead", body = Problem, content_type = "application/problem+json")))]
pub async fn generate(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<GenerateRequest>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::PlanWorkOrders)?;
    let b = body.into_inner()?;
    let today = time::OffsetDateTime::now_utc().date();
    let until = b.until.unwrap_or(today);
    if until > today + time::Duration::days(366) {
        return Err(ApiError::invalid("until", "range", "at most a year ahead"));
    }
    let orders = state.store.generate_work_orders(until, b.dry_run, &p.actor(&req)).await?;
    let overdue_announced = match b.dry_run {
        true => 0,
        false => state.store.announce_overdue_work_orders(today).await?,
    };
    let count = orders.len();
    Ok(HttpResponse::Ok().json(GenerateOut {
        dry_run: b.dry_run,
        until: date_text(until),
        count,
        items: orders.into_iter().take(LISTED).map(GeneratedOut::from).collect(),
        truncated: count > LISTED,
        overdue_announced,
    }))
}

/// A reference the store found missing (it names the field) as a 422 on that field; any
/// other error back.
fn reference_problem(e: persistence::StoreError) -> Result<ApiError, persistence::StoreError> {
    match e {
        persistence::StoreError::MissingReference(field) => {
            Ok(ApiError::invalid(&field, "unknown_reference", "no such record, or it is archived or deactivated"))
        }
        other => Err(other),
    }
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    order_types::configure(cfg);
    schedules::configure(cfg);
    // Before `/work-orders/{id}`.
    cfg.service(web::resource("/work-orders/generate").route(web::post().to(generate)));
    orders::configure(cfg);
    capacity::configure(cfg);
}

//! Contract evaluation (seed 004): revenue against effort of a contract per billing period,
//! per work-order schedule and per order type, with how its work orders went —
//! `GET /contracts/{id}/evaluation` — and the same totals across contracts,
//! `GET /reports/contracts`. The figures are computed by [`domain::evaluation`] from
//! [`persistence::contract_evaluation`].

use crate::auth::Principal;
use crate::dto::{date_text, DecimalString};
use crate::error::{ApiError, Problem};
use crate::extract::{path_id, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::contract::ContractKind;
use domain::evaluation::{evaluate, Evaluation, Figures, Inputs};
use domain::Permission;
use persistence::contract_evaluation::EvaluationInputs;
use persistence::contracts::{ContractFilter, StoredContract};
use persistence::rates::DEFAULT_COMPANY_CURRENCY;
use persistence::PageRequest;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::{Date, Month, OffsetDateTime};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(paths(contract_evaluation, contracts_report))]
pub struct Doc;

/// Longest range one evaluation covers.
const MAX_YEARS: i32 = 5;

/// The days evaluated.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EvaluationQuery {
    /// First day (default: 1 January of this year).
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub from: Option<Date>,
    /// Last day, inclusive (default: 31 December of `from`'s year); at most five years after `from`.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub to: Option<Date>,
}

/// The range and filters of the report across contracts.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContractsReportQuery {
    /// First day (default: 1 January of this year).
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub from: Option<Date>,
    /// Last day, inclusive (default: 31 December of `from`'s year).
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub to: Option<Date>,
    /// Only this customer's contracts.
    pub customer_id: Option<i64>,
    #[param(inline)]
    pub kind: Option<ContractKind>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
}

/// How the work orders due in a slice went.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionsOut {
    /// Work orders due (skipped ones included).
    pub due: u32,
    pub done: u32,
    /// Neither done nor skipped (overdue ones included).
    pub open: u32,
    /// Open and due before today.
    pub overdue: u32,
    pub skipped: u32,
}

/// Revenue against effort of one slice.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresOut {
    /// Contract fees billed (in `currency`).
    #[schema(value_type = String, example = "3600.00")]
    pub fees: DecimalString,
    /// Fixed prices of work-order executions billed.
    #[schema(value_type = String, example = "450.00")]
    pub fixed_prices: DecimalString,
    /// Everything else billed under the contract: extra work, overage, material.
    #[schema(value_type = String, example = "120.00")]
    pub extras: DecimalString,
    /// `fees + fixed_prices + extras`.
    #[schema(value_type = String, example = "4170.00")]
    pub revenue: DecimalString,
    /// Time booked (actual minutes).
    pub minutes: i64,
    #[schema(value_type = String, example = "12.5")]
    pub hours: DecimalString,
    /// Booked time at the people's internal cost rates (in `cost_currency`).
    #[schema(value_type = String, example = "750.00")]
    pub cost: DecimalString,
    /// Minutes of people without an internal cost rate (not in `cost`).
    pub uncosted_minutes: i64,
    /// `revenue − cost`; `null` when the contract is billed in another currency than the cost rates.
    #[schema(value_type = Option<String>, example = "3420.00")]
    pub margin: Option<DecimalString>,
    /// The margin as a percentage of revenue (to a tenth).
    #[schema(value_type = Option<String>, example = "82.0")]
    pub margin_percent: Option<DecimalString>,
    pub executions: ExecutionsOut,
}

/// One billing period of the contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodFigures {
    #[schema(value_type = String, format = Date)]
    pub period_start: String,
    /// Last day of the period.
    #[schema(value_type = String, format = Date)]
    pub period_end: String,
    pub figures: FiguresOut,
}

/// One work-order schedule of the contract: its fixed prices and the extras billed on its
/// orders (fees belong to the contract), the time booked on its orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleFigures {
    pub schedule_id: i64,
    pub title: String,
    pub order_type_id: i64,
    pub figures: FiguresOut,
}

/// One order type: the sum of the contract's schedules of that type.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderTypeFigures {
    pub order_type_id: i64,
    #[schema(example = "on_site")]
    pub code: String,
    pub name: String,
    pub figures: FiguresOut,
}

/// A contract's evaluation over a range of days.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractEvaluation {
    pub contract_id: i64,
    pub contract_number: String,
    pub contract_name: String,
    pub customer_id: i64,
    /// ISO 4217 of revenue and margin (the customer's currency).
    #[schema(example = "EUR")]
    pub currency: String,
    /// ISO 4217 of cost (the company's, like the internal cost rates).
    #[schema(example = "EUR")]
    pub cost_currency: String,
    #[schema(value_type = String, format = Date)]
    pub from: String,
    #[schema(value_type = String, format = Date)]
    pub to: String,
    pub total: FiguresOut,
    /// Per billing period overlapping the range (a period is evaluated within the range only).
    pub periods: Vec<PeriodFigures>,
    pub schedules: Vec<ScheduleFigures>,
    pub order_types: Vec<OrderTypeFigures>,
}

/// A contract's totals in the report across contracts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractFigures {
    pub contract_id: i64,
    pub contract_number: String,
    pub contract_name: String,
    pub customer_id: i64,
    pub kind: ContractKind,
    #[schema(example = "EUR")]
    pub currency: String,
    pub total: FiguresOut,
}

list_response!(ContractFiguresList, ContractFigures, "A page of contracts with their evaluation totals, by number.");

/// The range asked for, defaulted and checked.
fn range(from: Option<Date>, to: Option<Date>) -> Result<(Date, Date), ApiError> {
    let this_year = OffsetDateTime::now_utc().year();
    let bad = |why: &str| ApiError::invalid("to", "range", why.to_string());
    let from = match from {
        Some(d) => d,
        None => Date::from_calendar_date(this_year, Month::January, 1).map_err(|_| bad("no such day"))?,
    };
    let to = match to {
        Some(d) => d,
        None => Date::from_calendar_date(from.year(), Month::December, 31).map_err(|_| bad("no such day"))?,
    };
    if to < from {
        return Err(bad("must not be before from"));
    }
    if from.replace_year(from.year() + MAX_YEARS).is_ok_and(|limit| to >= limit) {
        return Err(bad("at most five years"));
    }
    Ok((from, to))
}

fn figures_out(f: &Figures, currency: domain::Currency) -> FiguresOut {
    let x = &f.executions;
    FiguresOut {
        fees: DecimalString::money(f.fees, currency),
        fixed_prices: DecimalString::money(f.fixed_prices, currency),
        extras: DecimalString::money(f.extras, currency),
        revenue: DecimalString::money(f.revenue, currency),
        minutes: f.minutes,
        hours: DecimalString(domain::project::minutes_to_hours(f.minutes)),
        cost: DecimalString::company_money(f.cost),
        uncosted_minutes: f.uncosted_minutes,
        margin: f.margin.map(|m| DecimalString::money(m, currency)),
        margin_percent: f.margin_percent.map(DecimalString),
        executions: ExecutionsOut { due: x.due, done: x.done, open: x.open, overdue: x.overdue, skipped: x.skipped },
    }
}

/// Evaluates one contract from its inputs.
fn evaluate_contract(c: &StoredContract, inputs: &EvaluationInputs, from: Date, to: Date) -> Evaluation {
    let schedules: Vec<(i64, i64)> = inputs.schedules.iter().map(|s| (s.id, s.order_type_id)).collect();
    evaluate(&Inputs {
        period: c.data.billing_period,
        from,
        to,
        today: OffsetDateTime::now_utc().date(),
        schedules: &schedules,
        billed: &inputs.billed,
        effort: &inputs.effort,
        executions: &inputs.executions,
        same_currency: c.currency.code() == DEFAULT_COMPANY_CURRENCY.code(),
    })
}

/// Evaluate a contract (admin, billing, manager): per billing period, per work-order schedule
/// and per order type — revenue (fees, fixed prices of executions and extras billed on issued
/// invoices) against effort (time booked under the contract, costed at each person's internal
/// cost rate), margin, and the work orders due, done, open, overdue and skipped.
///
/// Revenue counts issued and paid invoices (a cancelled one was reversed by its credit note),
/// dated by what they bill: a fee by its period, work by its day, an execution's fixed price
/// by the day the order is due. A line that bills several positions is split by their
/// minutes. Effort counts bookings billed under the contract or, not yet billed, on its
/// tickets and work orders; work orders count by the day they are due.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/evaluation", operation_id = "contract_evaluation", tag = "contracts",
    params(("id" = i64, Path), EvaluationQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContractEvaluation),
        (status = 404, description = "No such contract", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad range (`to` before `from`, more than five years)", body = Problem, content_type = "application/problem+json")))]
pub async fn contract_evaluation(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    q: Query<EvaluationQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let id = path_id(&req, "id")?;
    let (from, to) = range(q.0.from, q.0.to)?;
    let c = state.store.get_contract(id).await.map_err(crate::error::not_found("contract"))?;
    let mut inputs = state.store.contract_evaluation_inputs(&[id], from, to).await?;
    let inputs = inputs.remove(&id).unwrap_or_default();
    let e = evaluate_contract(&c, &inputs, from, to);
    let types: HashMap<i64, (String, String)> = state
        .store
        .list_order_types(Some(false))
        .await?
        .into_iter()
        .map(|t| (t.id, (t.data.code, t.data.name)))
        .collect();
    let schedules: HashMap<i64, &persistence::contract_evaluation::EvaluatedSchedule> =
        inputs.schedules.iter().map(|s| (s.id, s)).collect();
    let cur = c.currency;
    Ok(HttpResponse::Ok().json(ContractEvaluation {
        contract_id: c.id,
        contract_number: c.data.number.clone(),
        contract_name: c.data.name.clone(),
        customer_id: c.data.customer_id,
        currency: cur.code().to_string(),
        cost_currency: DEFAULT_COMPANY_CURRENCY.code().to_string(),
        from: date_text(from),
        to: date_text(to),
        total: figures_out(&e.total, cur),
        periods: e
            .periods
            .iter()
            .map(|(period, f)| PeriodFigures {
                period_start: date_text(period.start),
                period_end: date_text(period.last_day().unwrap_or(period.start)),
                figures: figures_out(f, cur),
            })
            .collect(),
        schedules: e
            .schedules
            .iter()
            .map(|(sid, f)| ScheduleFigures {
                schedule_id: *sid,
                title: schedules.get(sid).map_or_else(String::new, |s| s.title.clone()),
                order_type_id: schedules.get(sid).map_or(0, |s| s.order_type_id),
                figures: figures_out(f, cur),
            })
            .collect(),
        order_types: e
            .order_types
            .iter()
            .map(|(tid, f)| {
                let (code, name) = types.get(tid).cloned().unwrap_or_default();
                OrderTypeFigures { order_type_id: *tid, code, name, figures: figures_out(f, cur) }
            })
            .collect(),
    }))
}

/// Contracts report (admin, billing, manager): each contract's evaluation totals over a range
/// — revenue, effort, cost, margin and work orders, as in `GET /contracts/{id}/evaluation` —
/// by contract number, a page at a time (filters: customer, kind; archived contracts too).
#[utoipa::path(get, path = "/api/v1/reports/contracts", operation_id = "contracts_report", tag = "reports",
    params(ContractsReportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContractFiguresList),
        (status = 422, description = "Bad range, filter or cursor", body = Problem, content_type = "application/problem+json")))]
pub async fn contracts_report(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<ContractsReportQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let q = q.0;
    let (from, to) = range(q.from, q.to)?;
    let filter = ContractFilter {
        customer_id: q.customer_id,
        kind: q.kind,
        active_on: None,
        search: None,
        archived_only: Some(false),
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<(String, i64)>(q.cursor.as_deref())? };
    let page = state.store.list_contracts(&filter, &page).await?;
    let ids: Vec<i64> = page.items.iter().map(|c| c.id).collect();
    let inputs = state.store.contract_evaluation_inputs(&ids, from, to).await?;
    let items = page
        .items
        .iter()
        .map(|c| {
            let e = evaluate_contract(c, inputs.get(&c.id).unwrap_or(&EvaluationInputs::default()), from, to);
            ContractFigures {
                contract_id: c.id,
                contract_number: c.data.number.clone(),
                contract_name: c.data.name.clone(),
                customer_id: c.data.customer_id,
                kind: c.data.kind(),
                currency: c.currency.code().to_string(),
                total: figures_out(&e.total, c.currency),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(ContractFiguresList { items, next_cursor: page.next.map(|k| encode_cursor(&k)) }))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/contracts/{id}/evaluation").route(web::get().to(contract_evaluation)))
        .service(web::resource("/reports/contracts").route(web::get().to(contracts_report)));
}

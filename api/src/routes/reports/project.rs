//! The project report (`GET /projects/{id}/report`): the project and its people, tasks with
//! estimate vs. actual, every booking and expense with the notes flagged `in_report` (the
//! project's proof of service), and profitability — what its work earned on issued
//! invoices, what its open work is worth, what the time cost — as JSON or as one printable
//! HTML page.

use super::printed::{self, PrintFormat};
use super::{accept_language, imprint, ReportCustomer};
use crate::auth::Principal;
use crate::dto::DecimalString;
use crate::error::{not_found, ApiError, Problem};
use crate::extract::path_id;
use crate::routes::invoice_runs::customer_ready;
use crate::routes::projects::{project_effort_out, ProjectEffortOut};
use crate::routes::proof::{project_proof_out, NamedRef, ProofOfServiceOut};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::profitability::{profitability, project_share, BookedTime};
use domain::project::ProjectStatus;
use domain::Permission;
use persistence::proof::WorkPeriod;
use persistence::rates::DEFAULT_COMPANY_CURRENCY;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

/// What the project's work earned and cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectProfitability {
    /// Currency of `billed`, `unbilled` and `margin` (the customer's); `null` for an
    /// internal project, which is never invoiced.
    pub currency: Option<String>,
    /// Net billed on issued invoices: the project's share of every line that bills its
    /// bookings or expenses (a line shared with other work by minutes).
    #[schema(value_type = String, example = "4200.00")]
    pub billed: DecimalString,
    /// Open billable work up to today at today's rates.
    #[schema(value_type = String, example = "960.00")]
    pub unbilled: DecimalString,
    /// Booked time at each person's internal cost rate, in `cost_currency`.
    #[schema(value_type = String, example = "2650.00")]
    pub cost: DecimalString,
    pub cost_currency: String,
    /// Hours of people without an internal cost rate (not in `cost`).
    #[schema(value_type = String, example = "0.00")]
    pub uncosted_hours: DecimalString,
    /// `billed + unbilled − cost`; `null` when the customer pays in another currency than
    /// the cost rates are in.
    #[schema(value_type = Option<String>, example = "2510.00")]
    pub margin: Option<DecimalString>,
    /// The margin as a share of `billed + unbilled`, in percent.
    #[schema(value_type = Option<String>, example = "48.6")]
    pub margin_percent: Option<DecimalString>,
}

/// The project, who is responsible, its work and its profitability.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectReport {
    pub project_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub status: ProjectStatus,
    pub internal: bool,
    /// `null` for an internal project.
    pub customer: Option<ReportCustomer>,
    pub project_manager: Option<NamedRef>,
    pub account_manager: Option<NamedRef>,
    pub project_lead: Option<NamedRef>,
    /// Estimate vs. actual in total, per task and per person.
    pub effort: ProjectEffortOut,
    /// Every booking and expense with its treatment and invoice, and per ticket the notes
    /// flagged `in_report` (as `GET /projects/{id}/proof-of-service`).
    pub work: ProofOfServiceOut,
    pub profitability: ProjectProfitability,
}

/// A user's id and name (`None` without one, or a user that no longer exists).
async fn person(state: &AppState, id: Option<i64>) -> Result<Option<NamedRef>, ApiError> {
    let Some(id) = id else { return Ok(None) };
    match state.store.get_user(id).await {
        Ok(u) => Ok(Some(NamedRef { id, name: u.name })),
        Err(persistence::StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The report of project `id`.
pub async fn project_report(state: &AppState, id: i64) -> Result<ProjectReport, ApiError> {
    let project = state.store.get_project(id).await.map_err(not_found("project"))?;
    let effort = project_effort_out(state, &project).await?;
    let work = project_proof_out(state, &project, WorkPeriod::default()).await?;
    let d = &project.data;
    let customer = match d.customer_id {
        Some(customer_id) => {
            let c = state.store.get_customer(customer_id).await?;
            Some((ReportCustomer { id: c.id, number: c.data.number, name: c.data.name }, c.data.currency))
        }
        None => None,
    };
    let billed: Decimal = state
        .store
        .project_invoice_lines(id)
        .await?
        .iter()
        .map(|(net, positions)| project_share(*net, positions))
        .sum();
    let unbilled = match &customer {
        Some((c, _)) if !d.internal => {
            let today = time::OffsetDateTime::now_utc().date();
            customer_ready(state, c.id, today)
                .await?
                .and_then(|mut r| r.projects.remove(&id))
                .map(|r| r.unbilled_value.0)
        }
        _ => None,
    }
    .unwrap_or_default();
    let mut time = Vec::with_capacity(effort.users.len());
    for u in &effort.users {
        let cost_rate = state.store.get_user(u.user_id).await?.internal_cost_rate;
        time.push(BookedTime { minutes: u.actual_minutes, cost_rate });
    }
    let currency = customer.as_ref().map(|(_, c)| *c);
    let same_currency = currency.is_none_or(|c| c.code() == DEFAULT_COMPANY_CURRENCY.code());
    let p = profitability(billed, unbilled, &time, same_currency);
    let money = |amount: Decimal| match currency {
        Some(c) => DecimalString::money(amount, c),
        None => DecimalString::company_money(amount),
    };
    let profitability = ProjectProfitability {
        currency: currency.map(|c| c.code().to_string()),
        billed: money(p.billed),
        unbilled: money(p.unbilled),
        cost: DecimalString::company_money(p.cost),
        cost_currency: DEFAULT_COMPANY_CURRENCY.code().to_string(),
        uncosted_hours: DecimalString(domain::project::minutes_to_hours(p.uncosted_minutes)),
        margin: p.margin.map(money),
        margin_percent: p.margin_percent.map(DecimalString),
    };
    Ok(ProjectReport {
        project_id: id,
        name: d.name.clone(),
        description: d.description.clone(),
        status: project.status,
        internal: d.internal,
        customer: customer.map(|(c, _)| c),
        project_manager: person(state, d.project_manager_id).await?,
        account_manager: person(state, d.account_manager_id).await?,
        project_lead: person(state, d.project_lead_id).await?,
        effort,
        work,
        profitability,
    })
}

/// Project report (admin, billing, manager): the project with its manager, account manager
/// and lead; tasks with estimate vs. actual; every booking and expense (with its treatment
/// and invoice) and the notes flagged `in_report`; and profitability — net billed on issued
/// invoices (the project's share of each line, by minutes), open work at today's rates,
/// booked time at the internal cost rates, margin. With `Accept: text/html`: one printable,
/// self-contained page; with `Accept: application/pdf` a PDF/A; German or English by
/// `Accept-Language`.
#[utoipa::path(operation_id = "get_project_report", get, path = "/api/v1/projects/{id}/report", tag = "reports",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report (JSON; HTML with `Accept: text/html`; PDF with `Accept: application/pdf`)", content(
            (ProjectReport = "application/json"), (String = "text/html"), (Vec<u8> = "application/pdf"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not admin, billing or manager", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`report_too_large`: more bookings, expenses or notes than one report lists (`KONTOR_MAX_REPORT_ENTRIES`)", body = Problem, content_type = "application/problem+json")))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let id = path_id(&req, "id")?;
    let report = project_report(&state, id).await?;
    match PrintFormat::accepted(&req) {
        Some(format) => {
            let imprint = imprint(&state, printed::from_accept_language(accept_language(&req))).await;
            format.respond(&printed::project_document(&report, &imprint))
        }
        None => Ok(HttpResponse::Ok().json(report)),
    }
}

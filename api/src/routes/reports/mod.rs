//! Status reports (`GET /reports/status`): where a customer, a project or a contract
//! stands in a period — open tickets, hours by service, quota used and left, estimate vs.
//! actual of the projects, and the value of the work not invoiced yet. The figures come from
//! the same reads as their own resources (`/contracts/{id}/quota`, `/projects/{id}/effort`,
//! `/billing/ready`); the report puts them on one page, as JSON or printed as
//! HTML or PDF (`Accept: text/html` / `application/pdf`, see `printed`).

mod printed;
mod project;
mod send;

pub use project::{project_report, ProjectProfitability, ProjectReport};

use crate::auth::Principal;
use crate::dto::{date_text, timestamp, DecimalString};
use crate::error::{not_found, ApiError, FieldError, Problem};
use crate::extract::Query;
use crate::routes::invoice_runs::{customer_ready, ReadyItem};
use crate::routes::projects::{project_effort_out, ProjectEffortOut};
use crate::routes::quota::{contract_quota_at, ContractQuota};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::ticket::{Priority, TicketStatus};
use domain::Permission;
use persistence::bookings::{SummaryFilter, SummaryGroup};
use persistence::projects::{ProjectFilter, StatusFilter};
use persistence::tickets::TicketFilter;
use persistence::PageRequest;
use printed::PrintFormat;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(status, project::get, send::send),
    tags((name = "reports", description = "Status reports for customers, projects and contracts, the project report, as JSON or printable HTML; sending them by e-mail"))
)]
pub struct Doc;

/// Most open tickets and projects a report lists.
const MAX_ITEMS: u32 = 200;

/// What to report on and when.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    /// Report on this customer (give exactly one of `customer_id`, `project_id`, `contract_id`).
    pub customer_id: Option<i64>,
    /// Report on this project.
    pub project_id: Option<i64>,
    /// Report on this contract (its quota and open work; tickets and hours of its customer).
    pub contract_id: Option<i64>,
    /// First day of the period (default: the first of this month).
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub from: Option<Date>,
    /// Last day of the period (default: the last of `from`'s month); quota and unbilled work
    /// are as of this day.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub to: Option<Date>,
}

/// What a report is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportSubject {
    /// `customer`, `project` or `contract`.
    pub kind: String,
    pub id: i64,
    /// Customer name, project name or contract number.
    pub label: String,
}

/// The customer of a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportCustomer {
    pub id: i64,
    pub number: String,
    pub name: String,
}

/// A ticket not resolved or closed yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenTicket {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub created_at: String,
}

/// Time booked with one service in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceHours {
    pub service_id: i64,
    /// The service's code.
    pub service: String,
    pub bookings: i64,
    pub minutes: i64,
    #[schema(value_type = String, example = "12.50")]
    pub hours: DecimalString,
    pub billable_minutes: i64,
}

/// Where a customer, project or contract stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusReport {
    pub subject: ReportSubject,
    /// `null` for an internal project.
    pub customer: Option<ReportCustomer>,
    #[schema(value_type = String, format = Date)]
    pub from: String,
    #[schema(value_type = String, format = Date)]
    pub to: String,
    /// Tickets not resolved or closed (today), newest first; at most 200.
    pub open_tickets: Vec<OpenTicket>,
    /// More tickets are open than `open_tickets` lists (`GET /tickets?status=…` has them all).
    pub open_tickets_truncated: bool,
    /// Time booked in the period, by service.
    pub hours_by_service: Vec<ServiceHours>,
    pub total_minutes: i64,
    #[schema(value_type = String, example = "42.75")]
    pub total_hours: DecimalString,
    /// The quota of the prepaid contracts in the period that holds `to`.
    pub quota: Vec<ContractQuota>,
    /// Estimate vs. actual of the projects (not archived); at most 200.
    pub projects: Vec<ProjectEffortOut>,
    /// The customer has more projects than `projects` lists.
    pub projects_truncated: bool,
    /// Open billable work up to `to` and its value at today's rates (`null` for an internal
    /// project).
    pub unbilled: Option<ReadyItem>,
}

/// The subject of a report, resolved.
struct Subject {
    kind: &'static str,
    id: i64,
    label: String,
    customer_id: Option<i64>,
    project_id: Option<i64>,
    contract_id: Option<i64>,
}

async fn subject(state: &AppState, q: &StatusQuery) -> Result<Subject, ApiError> {
    match (q.customer_id, q.project_id, q.contract_id) {
        (Some(id), None, None) => {
            let c = state.store.get_customer(id).await.map_err(not_found("customer"))?;
            Ok(Subject {
                kind: "customer",
                id,
                label: c.data.name,
                customer_id: Some(id),
                project_id: None,
                contract_id: None,
            })
        }
        (None, Some(id), None) => {
            let p = state.store.get_project(id).await.map_err(not_found("project"))?;
            Ok(Subject {
                kind: "project",
                id,
                label: p.data.name,
                customer_id: p.data.customer_id,
                project_id: Some(id),
                contract_id: None,
            })
        }
        (None, None, Some(id)) => {
            let c = state.store.get_contract(id).await.map_err(not_found("contract"))?;
            Ok(Subject {
                kind: "contract",
                id,
                label: c.data.number.clone(),
                customer_id: Some(c.data.customer_id),
                project_id: None,
                contract_id: Some(id),
            })
        }
        _ => {
            let message = "give exactly one of customer_id, project_id and contract_id";
            Err(ApiError::Validation(
                ["contract_id", "customer_id", "project_id"]
                    .map(|f| FieldError::new(f, "one_required", message))
                    .to_vec(),
            ))
        }
    }
}

/// The period of a report: `from`–`to`, by default the current month.
fn period(q: &StatusQuery) -> Result<(Date, Date), ApiError> {
    let today = time::OffsetDateTime::now_utc().date();
    let from = q.from.unwrap_or_else(|| q.to.unwrap_or(today).replace_day(1).unwrap_or(today));
    let to = q.to.unwrap_or_else(|| {
        let days = from.month().length(from.year());
        from.replace_day(days).unwrap_or(from)
    });
    if to < from {
        return Err(ApiError::invalid("to", "range", "must not be before `from`"));
    }
    Ok((from, to))
}

/// Status report of a customer, a project or a contract for a period: open tickets, hours
/// by service, quota used and left, estimate vs. actual, and the value of the work not
/// invoiced yet. `Accept: text/html` gives the same as one printable, self-contained page,
/// `Accept: application/pdf` as a PDF/A; German or English by `Accept-Language`.
#[utoipa::path(get, path = "/api/v1/reports/status", operation_id = "status_report", tag = "reports",
    params(StatusQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report (JSON; HTML with `Accept: text/html`; PDF with `Accept: application/pdf`)", content(
            (StatusReport = "application/json"),
            (String = "text/html"),
            (Vec<u8> = "application/pdf"))),
        (status = 404, description = "No such customer, project or contract", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not exactly one subject, or a period that ends before it starts", body = Problem, content_type = "application/problem+json")))]
pub async fn status(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    q: Query<StatusQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let report = status_report(&state, &q.0).await?;
    match PrintFormat::accepted(&req) {
        Some(format) => {
            let imprint = imprint(&state, printed::from_accept_language(accept_language(&req))).await;
            format.respond(&printed::status_document(&report, &imprint))
        }
        None => Ok(HttpResponse::Ok().json(report)),
    }
}

/// How a report is printed today in `lang`, by the company of the seller profile.
pub async fn imprint(state: &AppState, lang: domain::notification::Language) -> printed::Imprint {
    let issuer = state.store.seller_profile().await.ok().and_then(|s| s.profile.legal_name).unwrap_or_default();
    printed::Imprint { lang, issuer, today: time::OffsetDateTime::now_utc().date() }
}

/// The status report `q` asks for.
pub async fn status_report(state: &AppState, q: &StatusQuery) -> Result<StatusReport, ApiError> {
    let (from, to) = period(q)?;
    let s = subject(state, q).await?;
    let (customer, currency) = match s.customer_id {
        Some(id) => {
            let c = state.store.get_customer(id).await.map_err(not_found("customer"))?;
            let currency = c.data.currency.code().to_string();
            (Some(ReportCustomer { id, number: c.data.number, name: c.data.name }), currency)
        }
        None => (None, String::new()),
    };

    let filter = TicketFilter {
        statuses: vec![TicketStatus::New, TicketStatus::Open, TicketStatus::InProgress, TicketStatus::Waiting],
        customer_id: if s.project_id.is_some() { None } else { s.customer_id },
        project_id: s.project_id,
        ..Default::default()
    };
    let tickets = state.store.list_tickets(&filter, &PageRequest { limit: MAX_ITEMS, after: None }).await?;
    let open_tickets_truncated = tickets.next.is_some();
    let open_tickets = tickets
        .items
        .into_iter()
        .map(|t| OpenTicket {
            id: t.id,
            number: t.number,
            title: t.data.title,
            status: t.status,
            priority: t.data.priority,
            created_at: timestamp(&t.created_at),
        })
        .collect();

    let summary = SummaryFilter {
        customer_id: if s.project_id.is_some() { None } else { s.customer_id },
        project_id: s.project_id,
    };
    let rows = state.store.booking_summary(SummaryGroup::Service, Some(from), Some(to), &summary).await?;
    let total_minutes: i64 = rows.iter().map(|r| r.minutes).sum();
    let hours_by_service = rows
        .into_iter()
        .map(|r| ServiceHours {
            service_id: r.key.unwrap_or_default(),
            service: r.label.unwrap_or_default(),
            bookings: r.bookings,
            minutes: r.minutes,
            hours: DecimalString(domain::project::minutes_to_hours(r.minutes)),
            billable_minutes: r.billable_minutes,
        })
        .collect();

    let mut quota = Vec::new();
    if s.project_id.is_none() {
        if let Some(customer_id) = s.customer_id {
            for c in state.store.contracts_of_customer(customer_id).await? {
                if s.contract_id.is_none_or(|id| id == c.id) {
                    quota.extend(contract_quota_at(state, &c, to).await?);
                }
            }
        }
    }

    let mut projects = Vec::new();
    let mut projects_truncated = false;
    match (s.project_id, s.contract_id, s.customer_id) {
        (Some(id), _, _) => projects.push(project_effort_out(state, &state.store.get_project(id).await?).await?),
        (None, None, Some(customer_id)) => {
            let filter = ProjectFilter {
                status: StatusFilter::NotArchived,
                customer_id: Some(customer_id),
                ..Default::default()
            };
            let page = state.store.list_projects(&filter, &PageRequest { limit: MAX_ITEMS, after: None }).await?;
            projects_truncated = page.next.is_some();
            for project in &page.items {
                projects.push(project_effort_out(state, project).await?);
            }
        }
        _ => {}
    }

    let unbilled = match s.customer_id {
        Some(customer_id) => {
            let ready = customer_ready(state, customer_id, to).await?;
            let empty = || ReadyItem {
                id: s.id,
                customer_id,
                label: s.label.clone(),
                currency: currency.clone(),
                unbilled_value: DecimalString(rust_decimal::Decimal::ZERO),
                ..Default::default()
            };
            Some(match (s.project_id, s.contract_id) {
                (Some(p), _) => ready.and_then(|mut r| r.projects.remove(&p)).unwrap_or_else(empty),
                (_, Some(c)) => ready.and_then(|mut r| r.contracts.remove(&c)).unwrap_or_else(empty),
                _ => ready.map(|r| r.total).unwrap_or_else(empty),
            })
        }
        None => None,
    };

    Ok(StatusReport {
        subject: ReportSubject { kind: s.kind.into(), id: s.id, label: s.label },
        customer,
        from: date_text(from),
        to: date_text(to),
        open_tickets,
        open_tickets_truncated,
        hours_by_service,
        total_minutes,
        total_hours: DecimalString(domain::project::minutes_to_hours(total_minutes)),
        quota,
        projects,
        projects_truncated,
        unbilled,
    })
}

/// The caller's `Accept-Language`.
fn accept_language(req: &HttpRequest) -> Option<&str> {
    req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reports/status").route(web::get().to(status)))
        .service(web::resource("/projects/{id}/report").route(web::get().to(project::get)))
        .service(web::resource("/reports/send").route(web::post().to(send::send)));
}

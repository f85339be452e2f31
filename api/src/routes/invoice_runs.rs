//! Invoice runs. The preview runs the billing engine over the open positions in scope,
//! customer by customer, and returns the invoices it would create with every line plus
//! the blocking problems — writing nothing. (Committing runs arrives with invoices.)

use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use domain::custom_field::{billing_mappings, CustomFieldEntity};
use domain::engine::{
    compute_customer, BillingContext, ContractInput, CustomerBilling, CustomerInput, CustomerSettings,
};
use domain::Permission;
use persistence::billing::PositionScope;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{OpenApi, ToSchema};

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(paths(preview), tags((name = "invoice-runs", description = "Invoice runs: preview what would be invoiced")))]
pub struct Doc;

/// What a run bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunScope {
    /// Every customer with open positions or contracts.
    All,
    /// One customer (with its contract fees).
    Customer,
    /// The open positions of one project (no contract fees).
    Project,
    /// The open positions of one ticket (no contract fees): "create an invoice from the ticket".
    Ticket,
}

/// Parameters of a run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub scope: RunScope,
    /// Id of the customer, project or ticket (not for `all`).
    pub scope_id: Option<i64>,
    /// First day of the service period (informational; older open positions are included).
    #[schema(value_type = Option<String>, format = Date, example = "2026-11-01")]
    pub period_start: Option<Date>,
    /// Last day of the service period: positions up to this day are billed.
    #[schema(value_type = String, format = Date, example = "2026-11-30")]
    pub period_end: Date,
}

/// Totals of a preview.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunSummary {
    pub customers: usize,
    pub proposals: usize,
    pub problems: usize,
}

/// What a run would create.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunPreview {
    pub scope: RunScope,
    pub scope_id: Option<i64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_start: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub period_end: String,
    /// True when no customer has a blocking problem.
    pub committable: bool,
    pub summary: RunSummary,
    /// Per customer: invoice proposals with every line, the quota-ledger entries issuing
    /// would write, blocking problems (each naming its position), quota threshold
    /// crossings and profitability.
    pub customers: Vec<CustomerBilling>,
}

/// Customers in scope and which of their positions to take.
async fn customers_in_scope(state: &AppState, r: &RunRequest) -> Result<(Vec<i64>, PositionScope, bool), ApiError> {
    let store = &state.store;
    let id =
        || r.scope_id.ok_or_else(|| ApiError::invalid("scope_id", "required", "name the customer, project or ticket"));
    match r.scope {
        RunScope::All => {
            if r.scope_id.is_some() {
                return Err(ApiError::invalid(
                    "scope_id",
                    "not_applicable",
                    "a run over all customers takes no scope_id",
                ));
            }
            Ok((store.customers_to_bill(r.period_end).await?, PositionScope::default(), true))
        }
        RunScope::Customer => {
            let c = id()?;
            store
                .customer_ref(c)
                .await?
                .ok_or_else(|| ApiError::invalid("scope_id", "unknown_reference", "no such customer"))?;
            Ok((vec![c], PositionScope::default(), true))
        }
        RunScope::Project => {
            let p = id()?;
            let project = store
                .project_ref(p)
                .await?
                .ok_or_else(|| ApiError::invalid("scope_id", "unknown_reference", "no such project"))?;
            let customer = project.customer_id.filter(|_| !project.internal).ok_or_else(|| {
                ApiError::invalid("scope_id", "internal_project", "internal projects are never invoiced")
            })?;
            Ok((vec![customer], PositionScope { project_id: Some(p), ticket_id: None }, false))
        }
        RunScope::Ticket => {
            let t = id()?;
            let ticket = store
                .ticket_ref(t)
                .await?
                .ok_or_else(|| ApiError::invalid("scope_id", "unknown_reference", "no such ticket"))?;
            let customer = ticket.customer_id.ok_or_else(|| {
                ApiError::invalid("scope_id", "internal_project", "the ticket has no customer to invoice")
            })?;
            Ok((vec![customer], PositionScope { project_id: None, ticket_id: Some(t) }, false))
        }
    }
}

/// Preview an invoice run: the invoices it would create, with every line and the
/// positions each line bills, and the blocking problems (e.g. a missing rate). Writes
/// nothing. All open positions dated up to `period_end` are included, also older ones.
/// Contract fees due by `period_end` are proposed for `all` and `customer` runs.
#[utoipa::path(post, path = "/api/v1/invoice-runs/preview", operation_id = "preview_invoice_run", tag = "invoice-runs",
    request_body = RunRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RunPreview),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn preview(
    p: Principal,
    state: web::Data<AppState>,
    body: Json<RunRequest>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let r = body.0;
    if r.period_start.is_some_and(|s| s > r.period_end) {
        return Err(ApiError::invalid("period_start", "range", "must not be after period_end"));
    }
    let (customers, scope, with_fees) = customers_in_scope(&state, &r).await?;
    let store = &state.store;
    let booking_fields = store.billed_custom_fields().await?;
    let booking_fields: Vec<_> =
        booking_fields.into_iter().filter(|d| d.entity == CustomFieldEntity::Booking).collect();
    let ctx = BillingContext {
        catalog: store.catalog().await?,
        users: store.user_directory().await?,
        calendar: store.work_calendar().await?,
        custom_field_mappings: billing_mappings(&booking_fields),
        company_currency: store.company_currency().await?,
    };
    let mut results = Vec::with_capacity(customers.len());
    for customer_id in customers {
        let customer = store.get_customer(customer_id).await?;
        let (rounding, _) = store.effective_rounding(customer_id).await?;
        let contracts = store
            .contracts_of_customer(customer_id)
            .await?
            .iter()
            .map(|c| ContractInput {
                contract: c.to_domain(),
                ledger: Vec::new(),
                // Fees belong to periodic runs; a ticket or project run bills its positions only.
                fees_billed_until: if with_fees { None } else { Some(r.period_end) },
            })
            .collect();
        let (bookings, expenses) = store.open_positions(customer_id, r.period_end, scope, &booking_fields).await?;
        let input = CustomerInput {
            customer: CustomerSettings {
                id: customer_id,
                currency: customer.data.currency,
                vat_treatment: customer.data.vat_treatment,
                invoice_detail: customer.data.invoice_detail,
                rounding,
            },
            period_start: r.period_start,
            period_end: r.period_end,
            contracts,
            rates: store.rate_book(customer_id).await?,
            bookings,
            expenses,
        };
        let billing = compute_customer(&ctx, &input);
        if !billing.proposals.is_empty() || !billing.problems.is_empty() {
            results.push(billing);
        }
    }
    let summary = RunSummary {
        customers: results.len(),
        proposals: results.iter().map(|c| c.proposals.len()).sum(),
        problems: results.iter().map(|c| c.problems.len()).sum(),
    };
    Ok(HttpResponse::Ok().json(RunPreview {
        scope: r.scope,
        scope_id: r.scope_id,
        period_start: r.period_start.map(crate::dto::date_text),
        period_end: crate::dto::date_text(r.period_end),
        committable: summary.problems == 0,
        summary,
        customers: results,
    }))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/invoice-runs/preview").route(web::post().to(preview)));
}

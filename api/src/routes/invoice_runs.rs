//! Invoice runs and what is ready to invoice. The preview runs the billing engine over the
//! open positions in scope, customer by customer, and returns the invoices it would create
//! with every line plus the blocking problems — writing nothing. "Ready to invoice" uses
//! the same engine to value the open billable work per customer, contract, project and
//! ticket. (Committing runs arrives with invoices.)

use crate::auth::Principal;
use crate::dto::DecimalString;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use domain::custom_field::{billing_mappings, CustomFieldEntity};
use domain::engine::{
    compute_customer, BillingContext, ContractInput, CustomerBilling, CustomerInput, CustomerSettings,
};
use domain::position::PositionRef;
use domain::{InvoiceDetail, Permission};
use persistence::billing::PositionScope;
use persistence::Customer;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;
use utoipa::{OpenApi, ToSchema};

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(paths(preview, ready), tags((name = "invoice-runs", description = "Invoice runs: what is ready to invoice, and a preview of what a run would create")))]
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

/// The shared, read-only part of every customer's computation.
struct EngineSetup {
    ctx: BillingContext,
    booking_fields: Vec<domain::custom_field::CustomFieldDefinition>,
}

/// How one customer is computed.
#[derive(Debug, Clone, Copy)]
struct RunParams {
    period_start: Option<Date>,
    period_end: Date,
    scope: PositionScope,
    /// Propose contract fees due by the period end.
    with_fees: bool,
    /// One line per position (to attribute values), whatever the customer's detail level.
    per_booking: bool,
}

impl EngineSetup {
    async fn load(state: &AppState) -> Result<EngineSetup, ApiError> {
        let store = &state.store;
        let booking_fields: Vec<_> = store
            .billed_custom_fields()
            .await?
            .into_iter()
            .filter(|d| d.entity == CustomFieldEntity::Booking)
            .collect();
        let ctx = BillingContext {
            catalog: store.catalog().await?,
            users: store.user_directory().await?,
            calendar: store.work_calendar().await?,
            custom_field_mappings: billing_mappings(&booking_fields),
            company_currency: store.company_currency().await?,
        };
        Ok(EngineSetup { ctx, booking_fields })
    }

    /// Loads one customer's input and runs the engine on it; also returns the input and the
    /// customer record it was built from.
    async fn compute(
        &self,
        state: &AppState,
        customer_id: i64,
        run: RunParams,
    ) -> Result<(CustomerBilling, CustomerInput, Customer), ApiError> {
        let store = &state.store;
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
                fees_billed_until: if run.with_fees { None } else { Some(run.period_end) },
            })
            .collect();
        let (bookings, expenses) =
            store.open_positions(customer_id, run.period_end, run.scope, &self.booking_fields).await?;
        let input = CustomerInput {
            customer: CustomerSettings {
                id: customer_id,
                currency: customer.data.currency,
                vat_treatment: customer.data.vat_treatment,
                invoice_detail: if run.per_booking { InvoiceDetail::PerBooking } else { customer.data.invoice_detail },
                rounding,
            },
            period_start: run.period_start,
            period_end: run.period_end,
            contracts,
            rates: store.rate_book(customer_id).await?,
            bookings,
            expenses,
        };
        Ok((compute_customer(&self.ctx, &input), input, customer))
    }
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
    let engine = EngineSetup::load(&state).await?;
    let mut results = Vec::with_capacity(customers.len());
    for customer_id in customers {
        let run =
            RunParams { period_start: r.period_start, period_end: r.period_end, scope, with_fees, per_booking: false };
        let (billing, _, _) = engine.compute(&state, customer_id, run).await?;
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

/// Open billable work of one customer, contract, project or ticket.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ReadyItem {
    /// Id of the customer, contract, project or ticket.
    pub id: i64,
    pub customer_id: i64,
    /// Customer name, contract number or name, project name, or ticket number.
    pub label: String,
    /// Open billable bookings and expenses.
    pub open_positions: usize,
    /// Their actual minutes (bookings).
    pub billable_minutes: i64,
    /// What they would be invoiced at today (contract fees not included), in `currency`.
    #[schema(value_type = String, example = "1250.00")]
    pub unbilled_value: DecimalString,
    /// ISO 4217.
    pub currency: String,
    /// Positions that cannot be priced yet (e.g. missing rate): see the run preview.
    pub unpriced_positions: usize,
}

/// Everything with open billable work.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyToInvoice {
    #[schema(value_type = String, format = Date)]
    pub as_of: String,
    pub customers: Vec<ReadyItem>,
    pub contracts: Vec<ReadyItem>,
    pub projects: Vec<ReadyItem>,
    pub tickets: Vec<ReadyItem>,
}

/// Parameters of "ready to invoice".
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReadyQuery {
    /// Positions dated up to this day (default today).
    #[param(value_type = Option<String>, format = Date)]
    pub as_of: Option<Date>,
}

/// Ready to invoice: customers, contracts, projects and tickets with open billable
/// positions, their minutes and their unbilled value at today's rates (the billing engine
/// prices each position; contract fees are not included; covered work counts as 0).
#[utoipa::path(get, path = "/api/v1/billing/ready", operation_id = "ready_to_invoice", tag = "invoice-runs",
    params(ReadyQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReadyToInvoice),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn ready(p: Principal, state: web::Data<AppState>, q: Query<ReadyQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let as_of = q.0.as_of.unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
    let engine = EngineSetup::load(&state).await?;
    let (mut customers, mut contracts, mut projects, mut tickets) =
        (Vec::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for customer_id in state.store.customers_to_bill(as_of).await? {
        let run = RunParams {
            period_start: None,
            period_end: as_of,
            scope: PositionScope::default(),
            with_fees: false,
            per_booking: true,
        };
        let (billing, input, customer) = engine.compute(&state, customer_id, run).await?;
        let currency = input.customer.currency.code().to_string();
        // Each position's priced value (per-booking detail: one position per line).
        let mut value: BTreeMap<PositionRef, (Decimal, Option<i64>)> = BTreeMap::new();
        for line in billing.proposals.iter().flat_map(|p| &p.lines) {
            let owner = line.positions.iter().find(|p| !matches!(p, PositionRef::ContractFee { .. }));
            if let Some(position) = owner {
                let booking = match position {
                    PositionRef::BookingField { booking_id, .. } => PositionRef::Booking { id: *booking_id },
                    other => *other,
                };
                let entry = value.entry(booking).or_insert((Decimal::ZERO, line.contract_id));
                entry.0 += line.net;
            }
        }
        let unpriced: std::collections::BTreeSet<PositionRef> =
            billing.problems.iter().filter_map(|p| p.position).collect();
        let mut total = ReadyItem {
            id: customer_id,
            customer_id,
            label: customer.data.name,
            currency: currency.clone(),
            ..Default::default()
        };
        let add = |item: &mut ReadyItem, r: PositionRef, minutes: i64| {
            let (net, _) = value.get(&r).copied().unwrap_or((Decimal::ZERO, None));
            item.open_positions += 1;
            item.billable_minutes += minutes;
            item.unbilled_value.0 += net;
            if unpriced.contains(&r) {
                item.unpriced_positions += 1;
            }
        };
        let blank = |id: i64, label: String| ReadyItem {
            id,
            customer_id,
            label,
            currency: currency.clone(),
            unbilled_value: DecimalString(Decimal::ZERO),
            ..Default::default()
        };
        let positions = input
            .bookings
            .iter()
            .filter(|b| b.billable)
            .map(|b| (PositionRef::Booking { id: b.id }, i64::from(b.minutes), b.ticket.clone(), b.project_id))
            .chain(
                input
                    .expenses
                    .iter()
                    .filter(|e| e.billable)
                    .map(|e| (PositionRef::Expense { id: e.id }, 0, e.ticket.clone(), e.project_id)),
            );
        for (r, minutes, ticket, project) in positions {
            add(&mut total, r, minutes);
            if let Some(contract) = value.get(&r).and_then(|(_, c)| *c) {
                let label = input
                    .contracts
                    .iter()
                    .find(|c| c.contract.id == contract)
                    .map(|c| c.contract.number.clone())
                    .unwrap_or_default();
                add(contracts.entry(contract).or_insert_with(|| blank(contract, label)), r, minutes);
            }
            if let Some(p) = project {
                add(projects.entry(p).or_insert_with(|| blank(p, String::new())), r, minutes);
            }
            if let Some(t) = ticket {
                add(tickets.entry(t.id).or_insert_with(|| blank(t.id, t.number.clone())), r, minutes);
            }
        }
        if total.open_positions > 0 {
            customers.push(total);
        }
    }
    let mut projects: Vec<ReadyItem> = projects.into_values().collect();
    for p in &mut projects {
        if let Ok(project) = state.store.get_project(p.id).await {
            p.label = project.data.name;
        }
    }
    Ok(HttpResponse::Ok().json(ReadyToInvoice {
        as_of: crate::dto::date_text(as_of),
        customers,
        contracts: contracts.into_values().collect(),
        projects,
        tickets: tickets.into_values().collect(),
    }))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/invoice-runs/preview").route(web::post().to(preview)))
        .service(web::resource("/billing/ready").route(web::get().to(ready)));
}

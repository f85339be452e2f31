//! "Ready to invoice": the open billable work per customer, contract, project and
//! ticket, valued by the same engine as a run (`GET /billing/ready`).

use super::billing_setup;
use crate::auth::Principal;
use crate::dto::DecimalString;
use crate::error::ApiError;
use crate::extract::Query;
use crate::pagination::{decode_cursor, encode_cursor, limit};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use domain::engine::compute_customer;
use domain::position::PositionRef;
use domain::Permission;
use persistence::billing::{InputParams, PositionScope};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;
use utoipa::ToSchema;

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
    /// Pass as `cursor` (with the same `as_of`) for the next customers; `null` on the last
    /// page.
    pub next_cursor: Option<String>,
}

/// Parameters of "ready to invoice".
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReadyQuery {
    /// Positions dated up to this day (default today).
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub as_of: Option<Date>,
    /// Customers per page (1–200, default 50); their contracts, projects and tickets come
    /// on the same page.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Ready to invoice: customers, contracts, projects and tickets with open billable
/// positions, their minutes and their unbilled value at today's rates (the billing engine
/// prices each position; contract fees are not included; covered work counts as 0).
/// Paged by customer in id order: a page holds up to `limit` customers with open billable
/// work and the contracts, projects and tickets of exactly these customers.
#[utoipa::path(get, path = "/api/v1/billing/ready", operation_id = "ready_to_invoice", tag = "invoice-runs",
    params(ReadyQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReadyToInvoice)))]
pub async fn ready(p: Principal, state: web::Data<AppState>, q: Query<ReadyQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let q = q.0;
    let page_size = limit(q.limit)? as usize;
    let after: Option<i64> = decode_cursor(q.cursor.as_deref())?;
    let as_of = q.as_of.unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
    let setup = billing_setup(&state).await?;
    let (mut customers, mut contracts, mut projects, mut tickets) =
        (Vec::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut next_cursor = None;
    for customer_id in state.store.customers_to_bill(as_of).await?.into_iter().filter(|&c| after.is_none_or(|a| c > a))
    {
        if customers.len() == page_size {
            next_cursor = customers.last().map(|c: &ReadyItem| encode_cursor(&c.customer_id));
            break;
        }
        if let Some(ready) = ready_of(&state, &setup, customer_id, as_of).await? {
            customers.push(ready.total);
            contracts.extend(ready.contracts);
            projects.extend(ready.projects);
            tickets.extend(ready.tickets);
        }
    }
    let mut projects: Vec<ReadyItem> = projects.into_values().collect();
    name_projects(&state, projects.iter_mut()).await;
    Ok(HttpResponse::Ok().json(ReadyToInvoice {
        as_of: crate::dto::date_text(as_of),
        customers,
        contracts: contracts.into_values().collect(),
        projects,
        tickets: tickets.into_values().collect(),
        next_cursor,
    }))
}

/// Open billable work of one customer up to `as_of`: in total and per contract, project
/// and ticket (by id). `None` when the customer has none.
pub struct CustomerReady {
    pub total: ReadyItem,
    pub contracts: BTreeMap<i64, ReadyItem>,
    pub projects: BTreeMap<i64, ReadyItem>,
    pub tickets: BTreeMap<i64, ReadyItem>,
}

/// [`CustomerReady`] of one customer (reads the billing setup itself).
pub(crate) async fn customer_ready(
    state: &AppState,
    customer_id: i64,
    as_of: Date,
) -> Result<Option<CustomerReady>, ApiError> {
    let setup = billing_setup(state).await?;
    let mut ready = ready_of(state, &setup, customer_id, as_of).await?;
    if let Some(r) = &mut ready {
        name_projects(state, r.projects.values_mut()).await;
    }
    Ok(ready)
}

/// Labels project items with their projects' names.
async fn name_projects(state: &AppState, items: impl Iterator<Item = &mut ReadyItem>) {
    for p in items {
        if let Ok(project) = state.store.get_project(p.id).await {
            p.label = project.data.name;
        }
    }
}

async fn ready_of(
    state: &AppState,
    setup: &persistence::billing::BillingSetup,
    customer_id: i64,
    as_of: Date,
) -> Result<Option<CustomerReady>, ApiError> {
    let (mut contracts, mut projects, mut tickets) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let params = InputParams {
        period_start: None,
        period_end: as_of,
        scope: PositionScope::default(),
        contract_id: None,
        partial: true,
        per_booking: true,
    };
    let cr = setup.customer_input(&state.store, customer_id, params).await?;
    let billing = compute_customer(&setup.ctx, &cr.input);
    let (input, customer) = (cr.input, cr.customer);
    let currency = input.customer.currency.code().to_string();
    let zero = DecimalString::money(Decimal::ZERO, input.customer.currency);
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
        unbilled_value: zero,
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
        unbilled_value: zero,
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
    Ok((total.open_positions > 0).then_some(CustomerReady { total, contracts, projects, tickets }))
}

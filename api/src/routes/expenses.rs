//! Expenses and material: catalog items (unit, price and VAT from the catalog unless
//! overridden) or free-text lines, on a ticket and/or project. Same ownership and locking
//! rules as time bookings.

use crate::auth::Principal;
use crate::dto::{clean, date_text, timestamp, validate, DecimalString};
use crate::error::{not_found, ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::routes::bookings::{booking_user, may_change, resolve_target};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::catalog::Unit;
use domain::Permission;
use persistence::expenses::{Expense, ExpenseData, ExpenseFilter};
use persistence::types::ExactDecimal;
use persistence::PageRequest;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::Validate;

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, delete),
    tags((name = "expenses", description = "Expenses and material on tickets and projects"))
)]
pub struct Doc;

/// An expense or material line.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExpenseOut {
    pub id: i64,
    /// Who recorded it.
    pub user_id: Option<i64>,
    #[schema(value_type = String, format = Date)]
    pub expense_date: String,
    /// Catalog item, if any.
    pub service_id: Option<i64>,
    pub description: String,
    #[schema(value_type = String, example = "2")]
    pub quantity: DecimalString,
    /// `hour`, `km`, `piece` or `flat`.
    #[schema(example = "piece")]
    pub unit: String,
    #[schema(value_type = String, example = "89.00")]
    pub unit_price: DecimalString,
    /// VAT rate in percent.
    #[schema(value_type = String, example = "19")]
    pub vat_rate: DecimalString,
    pub billable: bool,
    pub customer_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    /// `open`, `reserved` (on a draft invoice, locked) or `billed` (locked).
    pub state: String,
    pub created_by: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Expense> for ExpenseOut {
    fn from(e: Expense) -> Self {
        let d = e.data;
        ExpenseOut {
            id: e.id,
            user_id: d.user_id,
            expense_date: date_text(d.expense_date),
            service_id: d.service_id,
            description: d.description,
            quantity: DecimalString(d.quantity.0),
            unit: d.unit,
            unit_price: DecimalString::company_money(d.unit_price.0),
            vat_rate: DecimalString(d.vat_rate.0),
            billable: d.billable,
            customer_id: d.customer_id,
            ticket_id: d.ticket_id,
            project_id: d.project_id,
            task_id: d.task_id,
            state: e.state,
            created_by: e.created_by,
            version: e.version,
            created_at: timestamp(&e.created_at),
            updated_at: timestamp(&e.updated_at),
        }
    }
}

list_response!(ExpenseList, ExpenseOut, "A page of expenses, newest first.");

/// A new expense: a catalog item (`service_id`; unit, price, VAT and description default
/// from the catalog) or free text (`description`, `unit`, `unit_price`, `vat_rate` required).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpenseCreate {
    /// Who recorded it; default the caller.
    pub user_id: Option<i64>,
    #[schema(value_type = String, format = Date, example = "2026-11-23")]
    #[serde(deserialize_with = "crate::dto::business_date")]
    pub expense_date: Date,
    pub service_id: Option<i64>,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    #[schema(example = "Hard disk 1 TB")]
    pub description: Option<String>,
    #[schema(value_type = String, example = "1")]
    pub quantity: DecimalString,
    /// `hour`, `km`, `piece` or `flat`; default the catalog item's.
    pub unit: Option<Unit>,
    #[schema(value_type = Option<String>, example = "89.00")]
    pub unit_price: Option<DecimalString>,
    #[schema(value_type = Option<String>, example = "19")]
    pub vat_rate: Option<DecimalString>,
    pub billable: Option<bool>,
    pub ticket_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
}

/// Changes to an open expense; absent fields stay.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpensePatch {
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub expense_date: Option<Date>,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub description: Option<String>,
    #[schema(value_type = Option<String>)]
    pub quantity: Option<DecimalString>,
    pub unit: Option<Unit>,
    #[schema(value_type = Option<String>)]
    pub unit_price: Option<DecimalString>,
    #[schema(value_type = Option<String>)]
    pub vat_rate: Option<DecimalString>,
    pub billable: Option<bool>,
}

fn check_amounts(quantity: Option<Decimal>, price: Option<Decimal>, vat: Option<Decimal>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if quantity.is_some_and(|q| q <= Decimal::ZERO) {
        errors.push(FieldError::new("quantity", "range", "must be greater than 0"));
    }
    if price.is_some_and(|p| p.is_sign_negative() && !p.is_zero()) {
        errors.push(FieldError::new("unit_price", "range", "must not be negative"));
    }
    if vat.is_some_and(|v| v < Decimal::ZERO || v > Decimal::from(100)) {
        errors.push(FieldError::new("vat_rate", "range", "must be a percentage from 0 to 100"));
    }
    errors
}

fn expense_response(status: StatusCode, e: Expense) -> HttpResponse {
    versioned(status, "expense", e.id, e.version, ExpenseOut::from(e))
}

/// Filters of the expense list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExpenseQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub user_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub project_id: Option<i64>,
    pub ticket_id: Option<i64>,
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub from: Option<Date>,
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub to: Option<Date>,
    pub billable: Option<bool>,
    /// `open`, `reserved` (on a draft invoice) or `billed`.
    pub state: Option<String>,
}

/// List expenses, newest first.
#[utoipa::path(get, path = "/api/v1/expenses", operation_id = "list_expenses", tag = "expenses", params(ExpenseQuery),
    security(("bearer" = []), ("api_key" = ["bookings:read"]), ("api_key" = ["bookings:write"])),
    responses((status = 200, body = ExpenseList), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<ExpenseQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBookings)?;
    let q = q.0;
    if q.state.as_deref().is_some_and(|s| !matches!(s, "open" | "reserved" | "billed")) {
        return Err(ApiError::invalid("state", "invalid_query", "must be open, reserved or billed"));
    }
    let filter = ExpenseFilter {
        user_id: q.user_id,
        customer_id: q.customer_id,
        project_id: q.project_id,
        ticket_id: q.ticket_id,
        from: q.from,
        to: q.to,
        billable: q.billable,
        state: q.state,
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<(Date, i64)>(q.cursor.as_deref())? };
    let page = state.store.list_expenses(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(ExpenseList {
        items: page.items.into_iter().map(ExpenseOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Record an expense or material.
#[utoipa::path(post, path = "/api/v1/expenses", operation_id = "create_expense", tag = "expenses", request_body = ExpenseCreate,
    security(("bearer" = []), ("api_key" = ["bookings:write"])),
    responses(
        (status = 201, body = ExpenseOut, headers(("ETag" = String), ("Location" = String)))))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ExpenseCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteBookings)?;
    let b = body.into_inner()?;
    validate(&b, check_amounts(Some(b.quantity.0), b.unit_price.map(|d| d.0), b.vat_rate.map(|d| d.0)))?;
    let user_id = booking_user(&state, &p, b.user_id).await?;
    let service = match b.service_id {
        Some(id) => match state.store.find_service(id).await? {
            Some(s) if !s.is_archived() => Some(s.data),
            Some(_) => return Err(ApiError::invalid("service_id", "archived", "the service is archived")),
            None => return Err(ApiError::invalid("service_id", "unknown_reference", "no such service")),
        },
        None => None,
    };
    let mut missing = Vec::new();
    let description = clean(b.description.as_deref()).or_else(|| service.as_ref().map(|s| s.name.clone()));
    let unit = b.unit.or_else(|| service.as_ref().map(|s| s.unit)).map(|u| u.as_str().to_string());
    let unit_price = b.unit_price.map(|d| d.0).or_else(|| service.as_ref().and_then(|s| s.default_price));
    let vat_rate = b.vat_rate.map(|d| d.0).or_else(|| service.as_ref().map(|s| s.vat_rate));
    for (field, present) in [
        ("description", description.is_some()),
        ("unit", unit.is_some()),
        ("unit_price", unit_price.is_some()),
        ("vat_rate", vat_rate.is_some()),
    ] {
        if !present {
            missing.push(FieldError::new(
                field,
                "required",
                "required for an expense without a catalog item (or one without a default)",
            ));
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::Validation(missing));
    }
    let target = resolve_target(&state, b.ticket_id, b.project_id, b.task_id).await?;
    if target.internal && b.billable == Some(true) {
        return Err(ApiError::invalid(
            "billable",
            "internal_project",
            "expenses on internal projects are never billable",
        ));
    }
    let data = ExpenseData {
        user_id: Some(user_id),
        expense_date: b.expense_date,
        service_id: b.service_id,
        description: description.unwrap_or_default(),
        quantity: ExactDecimal(b.quantity.0),
        unit: unit.unwrap_or_default(),
        unit_price: ExactDecimal(unit_price.unwrap_or_default()),
        vat_rate: ExactDecimal(vat_rate.unwrap_or_default()),
        billable: !target.internal
            && b.billable.unwrap_or(service.as_ref().map(|s| s.billable_by_default).unwrap_or(true)),
        customer_id: target.customer_id,
        ticket_id: target.ticket_id,
        project_id: target.project_id,
        task_id: target.task_id,
    };
    let expense = state.store.create_expense(&data, &p.actor(&req)).await?;
    let location = format!("/api/v1/expenses/{}", expense.id);
    Ok(created_at(expense_response(StatusCode::CREATED, expense), &location))
}

/// Read an expense.
#[utoipa::path(get, path = "/api/v1/expenses/{id}", operation_id = "get_expense", tag = "expenses", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = ["bookings:read"]), ("api_key" = ["bookings:write"])),
    responses((status = 200, body = ExpenseOut, headers(("ETag" = String))), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBookings)?;
    let expense = state.store.get_expense(path_id(&req, "id")?).await.map_err(not_found("expense"))?;
    Ok(expense_response(StatusCode::OK, expense))
}

/// Change an open expense (agents: only their own). An expense on a draft or issued invoice is 409.
#[utoipa::path(patch, path = "/api/v1/expenses/{id}", operation_id = "update_expense", tag = "expenses",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)), request_body = ExpensePatch,
    security(("bearer" = []), ("api_key" = ["bookings:write"])),
    responses(
        (status = 200, body = ExpenseOut, headers(("ETag" = String))),
        (status = 409, description = "Billed and locked", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ExpensePatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteBookings)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, check_amounts(b.quantity.map(|d| d.0), b.unit_price.map(|d| d.0), b.vat_rate.map(|d| d.0)))?;
    let version = IfMatch::from_request(&req, "expense", id).version()?;
    let current = state.store.get_expense(id).await.map_err(not_found("expense"))?;
    may_change(&p, current.data.user_id)?;
    if b.billable == Some(true) {
        if let Some(project) = current.data.project_id {
            if state.store.project_ref(project).await?.is_some_and(|p| p.internal) {
                return Err(ApiError::invalid(
                    "billable",
                    "internal_project",
                    "expenses on internal projects are never billable",
                ));
            }
        }
    }
    let expense = state
        .store
        .update_expense(
            id,
            version.or(Some(current.version)),
            &p.actor(&req),
            |cur: &Expense| -> Result<ExpenseData, ApiError> {
                let c = cur.data.clone();
                Ok(ExpenseData {
                    expense_date: b.expense_date.unwrap_or(c.expense_date),
                    description: b.description.as_deref().map(|d| d.trim().to_string()).unwrap_or(c.description),
                    quantity: b.quantity.map(|d| ExactDecimal(d.0)).unwrap_or(c.quantity),
                    unit: b.unit.map(|u| u.as_str().to_string()).unwrap_or(c.unit),
                    unit_price: b.unit_price.map(|d| ExactDecimal(d.0)).unwrap_or(c.unit_price),
                    vat_rate: b.vat_rate.map(|d| ExactDecimal(d.0)).unwrap_or(c.vat_rate),
                    billable: b.billable.unwrap_or(c.billable),
                    ..c
                })
            },
        )
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("expense".into()),
            other => other,
        })?;
    Ok(expense_response(StatusCode::OK, expense))
}

/// Delete an open expense (agents: only their own). An expense on a draft or issued invoice is 409.
#[utoipa::path(delete, path = "/api/v1/expenses/{id}", operation_id = "delete_expense", tag = "expenses",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = []), ("api_key" = ["bookings:write"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Billed and locked", body = Problem, content_type = "application/problem+json")))]
pub async fn delete(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteBookings)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "expense", id).version()?;
    state
        .store
        .delete_expense(id, version, &p.actor(&req), |e: &Expense| may_change(&p, e.data.user_id))
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("expense".into()),
            other => other,
        })?;
    Ok(HttpResponse::NoContent().finish())
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/expenses").route(web::get().to(list)).route(web::post().to(create))).service(
        web::resource("/expenses/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}

//! Contracts: the four kinds, covered services, overage tiers, carry-over, fees.
//!
//! A contract says how a customer's work is billed: `time_and_material` (resolved rates,
//! no fee), `flat_fee` (a fee per period that includes the covered work),
//! `prepaid_hours` (the fee includes a quota of hours; carry-over and overage tiers) or
//! `prepaid_budget` (a prepaid amount drawn down at resolved rates). What is accepted here
//! is exactly what the billing engine bills with: every write is built into a
//! [`domain::contract::Contract`] and checked by its `validate()` as well.
//!
//! The billing office (admin, billing) maintains contracts; managers read them. API keys
//! have no access. Contracts are archived, never deleted; archived ones are read-only.
//!
//! This module owns the handlers, the routes and the OpenAPI [`Doc`]. `dto` holds the
//! wire shapes (and how a stored contract is shown), `builder` turns a write into the
//! contract data that is stored, checking it against the kind, the limits and the domain.

use crate::auth::Principal;
use crate::dto::{clean, validate};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit};
use crate::routes::catalog::ArchiveFilter;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::contract::ContractKind;
use domain::Permission;
use persistence::contracts::{ContractData, ContractFilter, StoredContract};
use persistence::{PageRequest, StoreError};
use serde::Deserialize;
use time::Date;
use utoipa::{IntoParams, OpenApi};
use validator::Validate;

mod builder;
mod dto;

use builder::{build, invalid, service_states, Changes};
pub use dto::*;

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, archive, restore),
    tags((name = "contracts", description = "Customer contracts: time and material, flat fee, prepaid hours, prepaid budget (read: admin, billing, manager; write: admin, billing)"))
)]
pub struct Doc;

// ---- handlers ----

/// Query of the contract list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContractQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
    /// Only this customer's contracts.
    pub customer_id: Option<i64>,
    #[param(inline)]
    pub kind: Option<ContractKind>,
    /// Only contracts active on this day (`YYYY-MM-DD`): started, and not ended before it.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub active_on: Option<Date>,
    /// Case-insensitive search in number and name.
    pub q: Option<String>,
    /// `active` (default), `archived` or `all`.
    #[param(inline)]
    pub status: Option<ArchiveFilter>,
}

fn contract_response(status: StatusCode, c: StoredContract) -> HttpResponse {
    versioned(status, "contract", c.id, c.version, ContractOut::from(c))
}

fn store_problem(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::NotFound("contract".into()),
        StoreError::Duplicate(_) => ApiError::Conflict("another contract already uses this `number`".into()),
        other => other.into(),
    }
}

/// List contracts, sorted by number.
///
/// Keyset-paginated: pass `next_cursor` back as `cursor` with the same filters.
/// Archived contracts are left out unless `status=archived` or `status=all`.
#[utoipa::path(operation_id = "list_contracts", get, path = "/api/v1/contracts", tag = "contracts", params(ContractQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContractList),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<ContractQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let q = q.0;
    let filter = ContractFilter {
        customer_id: q.customer_id,
        kind: q.kind,
        active_on: q.active_on,
        search: clean(q.q.as_deref()),
        archived_only: q.status.unwrap_or_default().archived_only(),
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<(String, i64)>(q.cursor.as_deref())? };
    let page = state.store.list_contracts(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(ContractList {
        items: page.items.into_iter().map(ContractOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Create a contract (admin, billing).
///
/// Example: prepaid 10 h per month for 800.00, unused hours carried (at most 5 h),
/// overage at 90.00 for the first 5 h and 110.00 beyond:
/// `{"customer_id": 1, "name": "Support 10 h", "kind": "prepaid_hours", "start_date": "2026-01-01",
/// "fee": "800.00", "hours_per_period": "10", "carry_over": {"policy": "carry", "cap": "5"},
/// "overage": {"type": "tiers", "tiers": [{"up_to_hours": "5", "unit_price": "90.00"},
/// {"up_to_hours": null, "unit_price": "110.00"}]}}`.
#[utoipa::path(operation_id = "create_contract", post, path = "/api/v1/contracts", tag = "contracts", request_body = ContractCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body replay the first response; the same key with another body is 422")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ContractOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Number taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, fields that do not fit the kind, unknown customer or service (see `errors`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ContractCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let b = body.into_inner()?;
    let mut errors = Vec::new();
    match if b.customer_id > 0 { state.store.customer_ref(b.customer_id).await? } else { None } {
        None => errors.push(FieldError::new("customer_id", "unknown_reference", "no such customer")),
        Some(true) => errors.push(FieldError::new("customer_id", "archived", "the customer is archived")),
        Some(false) => {}
    }
    let services = service_states(&state, b.covered_service_ids.as_ref()).await?;
    if let Err(e) = b.validate() {
        errors.extend(crate::dto::validation_errors(&e));
    }
    let (kind, customer_id) = (b.kind, b.customer_id);
    let data = match build(kind, customer_id, None, Changes::from(b), &services) {
        Ok(data) if errors.is_empty() => data,
        Ok(_) => return Err(invalid(errors)),
        Err(more) => {
            errors.extend(more);
            return Err(invalid(errors));
        }
    };
    let contract = state.store.create_contract(&data, &p.actor(&req)).await.map_err(store_problem)?;
    let location = format!("/api/v1/contracts/{}", contract.id);
    Ok(created_at(contract_response(StatusCode::CREATED, contract), &location))
}

/// Read a contract with its covered services and overage tiers (archived ones included).
#[utoipa::path(operation_id = "get_contract", get, path = "/api/v1/contracts/{id}", tag = "contracts", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContractOut, headers(("ETag" = String)))))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let id = path_id(&req, "id")?;
    let contract = state.store.get_contract(id).await.map_err(store_problem)?;
    Ok(contract_response(StatusCode::OK, contract))
}

/// Change a contract (admin, billing). Send `If-Match` with the ETag you read; a stale one
/// is 412. Archived contracts are read-only (409).
#[utoipa::path(operation_id = "update_contract", patch, path = "/api/v1/contracts/{id}", tag = "contracts",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = ContractPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContractOut, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or number taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ContractPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let version = IfMatch::from_request(&req, "contract", id).version()?;
    // An archived customer is read-only, and so are its contracts.
    if let Some((customer, _)) = state.store.contract_ref(id).await? {
        if state.store.customer_ref(customer).await? == Some(true) {
            return Err(ApiError::Conflict(
                "the customer is archived; restore it before changing its contracts".into(),
            ));
        }
    }
    let services = service_states(&state, b.covered_service_ids.as_ref()).await?;
    let contract = state
        .store
        .update_contract(id, version, &p.actor(&req), |cur: &StoredContract| -> Result<ContractData, ApiError> {
            let c = &cur.data;
            let kind = c.kind();
            let mut errors = Vec::new();
            if b.customer_id.is_some_and(|v| v != c.customer_id) {
                errors.push(FieldError::new(
                    "customer_id",
                    "immutable",
                    "the customer of a contract cannot change; create a contract for the other customer",
                ));
            }
            if b.kind.is_some_and(|v| v != kind) {
                errors.push(FieldError::new(
                    "kind",
                    "immutable",
                    "the kind of a contract cannot change; end it and create a contract of the other kind",
                ));
            }
            match build(kind, c.customer_id, Some(c), Changes::from(b), &services) {
                Ok(data) if errors.is_empty() => Ok(data),
                Ok(_) => Err(invalid(errors)),
                Err(more) => {
                    errors.extend(more);
                    Err(invalid(errors))
                }
            }
        })
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("contract".into()),
            ApiError::Conflict(msg) if msg.contains("already uses") => {
                ApiError::Conflict("another contract already uses this `number`".into())
            }
            other => other,
        })?;
    Ok(contract_response(StatusCode::OK, contract))
}

/// Archive a contract ("delete", admin, billing). It stays readable — invoices and the
/// quota ledger refer to it — but is hidden from default lists, no longer billed by
/// invoice runs and read-only until restored. Idempotent.
#[utoipa::path(operation_id = "archive_contract", delete, path = "/api/v1/contracts/{id}", tag = "contracts",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Archived", body = ContractOut, headers(("ETag" = String)))))]
pub async fn archive(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, true).await
}

/// Restore an archived contract (admin, billing). Idempotent.
#[utoipa::path(operation_id = "restore_contract", post, path = "/api/v1/contracts/{id}/restore", tag = "contracts",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Active again", body = ContractOut, headers(("ETag" = String)))))]
pub async fn restore(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, false).await
}

async fn set_archived(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    archive: bool,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "contract", id).version()?;
    let contract =
        state.store.set_contract_archived(id, version, archive, &p.actor(&req)).await.map_err(store_problem)?;
    Ok(contract_response(StatusCode::OK, contract))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/contracts").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/contracts/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(archive)),
        )
        .service(web::resource("/contracts/{id}/restore").route(web::post().to(restore)));
}

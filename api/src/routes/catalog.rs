//! The service catalog (Leistungen / výkony): what can be booked and billed.
//!
//! Everyone signed in (and every API key) reads the catalog; the billing office
//! (admin, billing) maintains it. Services are archived, never deleted, because bookings,
//! expenses, rates and custom-field mappings refer to them.

use crate::auth::Principal;
use crate::dto::{clean, double_option, timestamp, validate, DecimalString};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::catalog::{ServiceKind, Unit};
use domain::Permission;
use persistence::catalog::{Service, ServiceData, ServiceFilter};
use persistence::{PageRequest, StoreError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::{Validate, ValidationError};

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, archive, restore),
    tags((name = "catalog", description = "The service catalog: what can be booked and billed (read: everyone; write: admin, billing)"))
)]
pub struct Doc;

/// Largest default price and most decimal places of prices.
const MAX_PRICE: i64 = 1_000_000_000;
const PRICE_SCALE: u32 = 4;
const VAT_SCALE: u32 = 2;

fn valid_service_code(s: &str) -> Result<(), ValidationError> {
    // An empty code is the length rule's error.
    if s.is_empty()
        || (!s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)))
    {
        Ok(())
    } else {
        let mut err = ValidationError::new("format");
        err.message = Some("may contain only letters, digits and - _ . /".into());
        Err(err)
    }
}

/// A catalog service.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOut {
    pub id: i64,
    /// Short unique code (upper case).
    #[schema(example = "REMOTE")]
    pub code: String,
    /// Name printed on invoice lines.
    #[schema(example = "Remote support")]
    pub name: String,
    pub unit: Unit,
    pub kind: ServiceKind,
    /// Default unit price in the company currency (last level of rate resolution).
    #[schema(value_type = Option<String>, example = "95.00")]
    pub default_price: Option<DecimalString>,
    /// VAT rate in percent.
    #[schema(value_type = String, example = "19")]
    pub vat_rate: DecimalString,
    /// Whether bookings on this service are billable unless marked otherwise.
    pub billable_by_default: bool,
    /// Archived services stay readable and billable for existing positions but are hidden
    /// from default lists and read-only until restored.
    pub archived: bool,
    pub archived_at: Option<String>,
    /// Increases with every change; the `ETag` carries it.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Service> for ServiceOut {
    fn from(s: Service) -> Self {
        let d = s.data;
        ServiceOut {
            id: s.id,
            code: d.code,
            name: d.name,
            unit: d.unit,
            kind: d.kind,
            default_price: d.default_price.map(DecimalString::company_money),
            vat_rate: DecimalString(d.vat_rate),
            billable_by_default: d.billable_by_default,
            archived: s.archived_at.is_some(),
            archived_at: s.archived_at.as_ref().map(timestamp),
            version: s.version,
            created_at: timestamp(&s.created_at),
            updated_at: timestamp(&s.updated_at),
        }
    }
}

list_response!(ServiceList, ServiceOut, "A page of catalog services.");

/// A new catalog service.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceCreate {
    /// Unique code; letters, digits and `- _ . /`; stored upper case.
    #[validate(length(min = 1, max = 32), custom(function = "valid_service_code"))]
    #[schema(min_length = 1, max_length = 32)]
    #[schema(example = "REMOTE")]
    pub code: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    #[schema(example = "Remote support")]
    pub name: String,
    pub unit: Unit,
    pub kind: ServiceKind,
    /// Default unit price (≥ 0, at most 4 decimal places); optional.
    #[schema(value_type = Option<String>, example = "95.00")]
    pub default_price: Option<DecimalString>,
    /// VAT rate in percent, 0–100 (at most 2 decimal places).
    #[schema(value_type = String, example = "19")]
    pub vat_rate: DecimalString,
    /// Default true.
    pub billable_by_default: Option<bool>,
}

/// Changes to a service; absent fields stay, `null` clears the default price.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePatch {
    #[validate(length(min = 1, max = 32), custom(function = "valid_service_code"))]
    #[schema(min_length = 1, max_length = 32)]
    pub code: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub unit: Option<Unit>,
    pub kind: Option<ServiceKind>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub default_price: Option<Option<DecimalString>>,
    #[schema(value_type = Option<String>)]
    pub vat_rate: Option<DecimalString>,
    pub billable_by_default: Option<bool>,
}

fn check_amounts(price: Option<&DecimalString>, vat: Option<&DecimalString>) -> Vec<FieldError> {
    let mut e = Vec::new();
    if let Some(p) = price.map(|d| d.0) {
        if p.is_sign_negative() && !p.is_zero() {
            e.push(FieldError::new("default_price", "range", "must not be negative"));
        } else if p >= Decimal::from(MAX_PRICE) {
            e.push(FieldError::new("default_price", "range", format!("must be less than {MAX_PRICE}")));
        } else if p.normalize().scale() > PRICE_SCALE {
            e.push(FieldError::new("default_price", "scale", format!("at most {PRICE_SCALE} decimal places")));
        }
    }
    if let Some(v) = vat.map(|d| d.0) {
        if v < Decimal::ZERO || v > Decimal::ONE_HUNDRED {
            e.push(FieldError::new("vat_rate", "range", "must be a percentage from 0 to 100"));
        } else if v.normalize().scale() > VAT_SCALE {
            e.push(FieldError::new("vat_rate", "scale", format!("at most {VAT_SCALE} decimal places")));
        }
    }
    e
}

fn normalize_code(code: &str) -> String {
    code.trim().to_uppercase()
}

/// Query of the service list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ServiceQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
    /// Case-insensitive search in code and name.
    pub q: Option<String>,
    /// Exact code (case-insensitive).
    pub code: Option<String>,
    #[param(inline)]
    pub kind: Option<ServiceKind>,
    #[param(inline)]
    pub unit: Option<Unit>,
    /// `active` (default), `archived` or `all`.
    #[param(inline)]
    pub status: Option<ArchiveFilter>,
}

fn service_response(status: StatusCode, s: Service) -> HttpResponse {
    versioned(status, "service", s.id, s.version, ServiceOut::from(s))
}

/// A store error in this module's words: which record is missing, which field is taken.
pub(crate) struct StoreProblem(pub ApiError);

impl StoreProblem {
    /// Maps `NotFound` to "`kind` not found" and `Duplicate` to a conflict on `field`.
    pub(crate) fn map(e: StoreError, kind: &str, field: &str) -> ApiError {
        match e {
            StoreError::NotFound => ApiError::NotFound(kind.into()),
            StoreError::Duplicate(_) => ApiError::Conflict(format!("another {kind} already uses this `{field}`")),
            other => other.into(),
        }
    }
}

impl From<StoreError> for StoreProblem {
    fn from(e: StoreError) -> Self {
        StoreProblem(StoreProblem::map(e, "service", "code"))
    }
}

impl From<ApiError> for StoreProblem {
    fn from(e: ApiError) -> Self {
        StoreProblem(e)
    }
}

fn store_problem(e: StoreError) -> ApiError {
    StoreProblem::map(e, "service", "code")
}

/// Which records of a list to show, by archive state.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveFilter {
    /// Only active records (default).
    #[default]
    Active,
    /// Only archived records.
    Archived,
    /// Both.
    All,
}

impl ArchiveFilter {
    /// The store's filter value: `None` active only, `Some(true)` archived only, `Some(false)` all.
    pub fn archived_only(self) -> Option<bool> {
        match self {
            ArchiveFilter::Active => None,
            ArchiveFilter::Archived => Some(true),
            ArchiveFilter::All => Some(false),
        }
    }
}

/// List catalog services, sorted by code.
///
/// Keyset-paginated: pass `next_cursor` back as `cursor` with the same filters.
/// Archived services are left out unless `status=archived` or `status=all`.
#[utoipa::path(operation_id = "list_services", get, path = "/api/v1/services", tag = "catalog", params(ServiceQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = ServiceList),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<ServiceQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCatalog)?;
    let q = q.0;
    let filter = ServiceFilter {
        search: clean(q.q.as_deref()),
        code: clean(q.code.as_deref()).map(|c| normalize_code(&c)),
        kind: q.kind,
        unit: q.unit,
        archived_only: q.status.unwrap_or_default().archived_only(),
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<(String, i64)>(q.cursor.as_deref())? };
    let page = state.store.list_services(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(ServiceList {
        items: page.items.into_iter().map(ServiceOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Add a service to the catalog (admin, billing).
#[utoipa::path(operation_id = "create_service", post, path = "/api/v1/services", tag = "catalog", request_body = ServiceCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body replay the first response; the same key with another body is 422")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ServiceOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (see `errors`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ServiceCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteCatalog)?;
    let b = body.into_inner()?;
    validate(&b, check_amounts(b.default_price.as_ref(), Some(&b.vat_rate)))?;
    let data = ServiceData {
        code: normalize_code(&b.code),
        name: b.name.trim().to_string(),
        unit: b.unit,
        kind: b.kind,
        default_price: b.default_price.map(|d| d.0),
        vat_rate: b.vat_rate.0,
        billable_by_default: b.billable_by_default.unwrap_or(true),
    };
    let service = state.store.create_service(&data, &p.actor(&req)).await.map_err(store_problem)?;
    let location = format!("/api/v1/services/{}", service.id);
    Ok(created_at(service_response(StatusCode::CREATED, service), &location))
}

/// Read a catalog service (archived ones included).
#[utoipa::path(operation_id = "get_service", get, path = "/api/v1/services/{id}", tag = "catalog", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = ServiceOut, headers(("ETag" = String)))))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCatalog)?;
    let id = path_id(&req, "id")?;
    let service = state.store.get_service(id).await.map_err(store_problem)?;
    Ok(service_response(StatusCode::OK, service))
}

/// Change a service (admin, billing). Send `If-Match` with the ETag you read; a stale one is 412.
#[utoipa::path(operation_id = "update_service", patch, path = "/api/v1/services/{id}", tag = "catalog",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = ServicePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ServiceOut, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or code taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ServicePatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteCatalog)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let price = b.default_price.as_ref().and_then(|p| p.as_ref());
    validate(&b, check_amounts(price, b.vat_rate.as_ref()))?;
    let version = IfMatch::from_request(&req, "service", id).version()?;
    let service = state
        .store
        .update_service(id, version, &p.actor(&req), |cur: &Service| -> Result<ServiceData, StoreProblem> {
            let c = &cur.data;
            Ok(ServiceData {
                code: b.code.as_deref().map(normalize_code).unwrap_or_else(|| c.code.clone()),
                name: b.name.as_deref().map(|n| n.trim().to_string()).unwrap_or_else(|| c.name.clone()),
                unit: b.unit.unwrap_or(c.unit),
                kind: b.kind.unwrap_or(c.kind),
                default_price: match &b.default_price {
                    Some(v) => v.map(|d| d.0),
                    None => c.default_price,
                },
                vat_rate: b.vat_rate.map(|d| d.0).unwrap_or(c.vat_rate),
                billable_by_default: b.billable_by_default.unwrap_or(c.billable_by_default),
            })
        })
        .await
        .map_err(|e| e.0)?;
    Ok(service_response(StatusCode::OK, service))
}

/// Archive a service ("delete", admin, billing). It stays readable — bookings refer to
/// it — but is hidden from default lists and read-only until restored. Idempotent.
#[utoipa::path(operation_id = "archive_service", delete, path = "/api/v1/services/{id}", tag = "catalog",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Archived", body = ServiceOut, headers(("ETag" = String)))))]
pub async fn archive(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, true).await
}

/// Restore an archived service (admin, billing). Idempotent.
#[utoipa::path(operation_id = "restore_service", post, path = "/api/v1/services/{id}/restore", tag = "catalog",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Active again", body = ServiceOut, headers(("ETag" = String)))))]
pub async fn restore(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, false).await
}

async fn set_archived(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    archive: bool,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteCatalog)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "service", id).version()?;
    let service =
        state.store.set_service_archived(id, version, archive, &p.actor(&req)).await.map_err(store_problem)?;
    Ok(service_response(StatusCode::OK, service))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/services").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/services/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(archive)),
        )
        .service(web::resource("/services/{id}/restore").route(web::post().to(restore)));
}

//! Rates, surcharges, rounding rules and holidays, and the explained rate resolution.
//!
//! The billing office (admin, billing) maintains them; managers read them. Every change is
//! audited. `GET /rates/resolve` answers which price a booking gets and why: the level and
//! entry that won, the surcharge, the rounding rule and where it came from, and every
//! other price that was considered. A missing rate is a problem, never a zero.
//!
//! This module owns the rate entries (`/rates`, `/rates/{id}`), the checks the rate
//! resources share (owners and their currency, validity ranges, store errors), the routes
//! of all of them and their OpenAPI [`Doc`]. The other resources live in submodules:
//! `surcharges`, `rounding_rules`, `holidays` and `resolution` (`GET /rates/resolve`).

use crate::auth::Principal;
use crate::dto::date_text;
use crate::dto::{double_option, timestamp, validate, DecimalString};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::rates::RateOwner;
use domain::{Currency, Permission};
use persistence::rates::{rate_owner_parts, OwnerCustomer, RateEntryData, RateFilter, StoredRateEntry};
use persistence::{PageRequest, StoreError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::Validate;

mod holidays;
mod resolution;
mod rounding_rules;
mod surcharges;

pub use holidays::*;
pub use resolution::*;
pub use rounding_rules::*;
pub use surcharges::*;

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(
    paths(
        list_rates, create_rate, get_rate, update_rate, delete_rate, resolve,
        list_surcharges, create_surcharge, get_surcharge, update_surcharge, delete_surcharge,
        list_rounding_rules, get_global_rounding, put_global_rounding, get_customer_rounding, put_customer_rounding,
        delete_customer_rounding,
        list_holidays, put_holiday, delete_holiday
    ),
    tags((name = "rates", description = "Rates, surcharges, rounding rules, holidays and the explained rate resolution (read: admin, billing, manager; write: admin, billing)"))
)]
pub struct Doc;

const MAX_PRICE: i64 = 1_000_000_000;
const PRICE_SCALE: u32 = 4;

/// Owner of a rate entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateOwnerType {
    Contract,
    Project,
    Customer,
}

impl RateOwnerType {
    fn with_id(self, id: i64) -> RateOwner {
        match self {
            RateOwnerType::Contract => RateOwner::Contract(id),
            RateOwnerType::Project => RateOwner::Project(id),
            RateOwnerType::Customer => RateOwner::Customer(id),
        }
    }
    fn as_str(self) -> &'static str {
        rate_owner_parts(self.with_id(0)).0
    }
}

fn date_opt(d: Option<Date>) -> Option<String> {
    d.map(date_text)
}

fn map_store(kind: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound(kind.into()),
        other => other.into(),
    }
}

/// A store or API error inside an update closure.
struct Fail(ApiError);

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail(map_store("rate entry")(e))
    }
}

impl From<ApiError> for Fail {
    fn from(e: ApiError) -> Self {
        Fail(e)
    }
}

fn check_validity(from: Date, to: Option<Date>) -> Result<(), ApiError> {
    match to {
        Some(t) if t <= from => {
            Err(ApiError::invalid("valid_to", "range", "must be after valid_from (it is exclusive)"))
        }
        _ => Ok(()),
    }
}

fn check_price(field: &str, p: Decimal, errors: &mut Vec<FieldError>) {
    if p.is_sign_negative() && !p.is_zero() {
        errors.push(FieldError::new(field, "range", "must not be negative"));
    } else if p >= Decimal::from(MAX_PRICE) {
        errors.push(FieldError::new(field, "range", format!("must be less than {MAX_PRICE}")));
    } else if p.normalize().scale() > PRICE_SCALE {
        errors.push(FieldError::new(field, "scale", format!("at most {PRICE_SCALE} decimal places")));
    }
}

/// The customer currency of an existing owner that bills a customer, or field errors.
async fn owner_currency(
    state: &AppState,
    owner: RateOwner,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Currency>, ApiError> {
    Ok(match state.store.owner_customer(owner).await? {
        OwnerCustomer::Missing => {
            errors.push(FieldError::new("owner_id", "unknown_reference", "no such owner of this owner_type"));
            None
        }
        OwnerCustomer::Internal => {
            errors.push(FieldError::new("owner_id", "internal_project", "internal projects are never invoiced"));
            None
        }
        OwnerCustomer::Customer { currency, .. } => Some(currency),
    })
}

async fn check_refs(
    state: &AppState,
    service_id: Option<i64>,
    user_id: Option<i64>,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if let Some(s) = service_id {
        if state.store.find_service(s).await?.is_none() {
            errors.push(FieldError::new("service_id", "unknown_reference", "no such service"));
        }
    }
    if let Some(u) = user_id {
        if state.store.user_ref(u).await?.is_none() {
            errors.push(FieldError::new("user_id", "unknown_reference", "no such user"));
        }
    }
    Ok(())
}

/// The currency of a rate: the given one (must be the owner's customer's) or the customer's.
fn rate_currency(given: Option<&str>, customer: Option<Currency>, errors: &mut Vec<FieldError>) -> Option<Currency> {
    match (given.map(|c| c.trim().to_uppercase()), customer) {
        (None, c) => c,
        (Some(code), c) => match code.parse::<Currency>() {
            Err(e) => {
                errors.push(FieldError::new("currency", "currency", e.to_string()));
                None
            }
            Ok(cur) if c.is_some_and(|c| c != cur) => {
                errors.push(FieldError::new(
                    "currency",
                    "mismatch",
                    format!("must be the customer's currency {}", c.map(|c| c.code().to_string()).unwrap_or_default()),
                ));
                None
            }
            Ok(cur) => Some(cur),
        },
    }
}

// ---------------------------------------------------------------------------------------
// Rate entries
// ---------------------------------------------------------------------------------------

/// A price per unit of a service on a contract's, project's or customer's rate card,
/// valid on `[valid_from, valid_to)`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateOut {
    pub id: i64,
    pub owner_type: RateOwnerType,
    pub owner_id: i64,
    /// `null`: any hourly service.
    pub service_id: Option<i64>,
    /// `null`: any user.
    pub user_id: Option<i64>,
    #[schema(value_type = String, example = "95.00")]
    pub unit_price: DecimalString,
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(value_type = String, format = Date, example = "2026-01-01")]
    pub valid_from: String,
    /// First day no longer valid; `null` = open-ended.
    #[schema(value_type = Option<String>, format = Date, example = "2027-01-01")]
    pub valid_to: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<StoredRateEntry> for RateOut {
    fn from(e: StoredRateEntry) -> Self {
        let d = e.data;
        let owner_type = match d.owner {
            RateOwner::Contract(_) => RateOwnerType::Contract,
            RateOwner::Project(_) => RateOwnerType::Project,
            RateOwner::Customer(_) => RateOwnerType::Customer,
        };
        RateOut {
            id: e.id,
            owner_type,
            owner_id: rate_owner_parts(d.owner).1,
            service_id: d.service_id,
            user_id: d.user_id,
            unit_price: DecimalString::money(d.unit_price, d.currency),
            currency: d.currency.code().to_string(),
            valid_from: date_text(d.valid_from),
            valid_to: date_opt(d.valid_to),
            version: e.version,
            created_at: timestamp(&e.created_at),
            updated_at: timestamp(&e.updated_at),
        }
    }
}

list_response!(RateList, RateOut, "A page of rate entries in id order.");

/// A new rate entry.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateCreate {
    pub owner_type: RateOwnerType,
    pub owner_id: i64,
    /// Omit for a price of any hourly service.
    pub service_id: Option<i64>,
    /// Omit for a price for any user.
    pub user_id: Option<i64>,
    /// Price per unit of the service (≥ 0, at most 4 decimal places).
    #[schema(value_type = String, example = "95.00")]
    pub unit_price: DecimalString,
    /// Default: the currency of the owner's customer; must be that currency.
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    #[schema(value_type = String, format = Date, example = "2026-01-01")]
    #[serde(deserialize_with = "crate::dto::business_date")]
    pub valid_from: Date,
    /// Exclusive; after `valid_from`. Omit for open-ended.
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub valid_to: Option<Date>,
}

/// Changes to a rate entry; absent fields stay, `null` clears. The owner is fixed.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatePatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub service_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub user_id: Option<Option<i64>>,
    #[schema(value_type = Option<String>)]
    pub unit_price: Option<DecimalString>,
    pub currency: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub valid_from: Option<Date>,
    #[serde(default, deserialize_with = "crate::dto::business_date_patch")]
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_to: Option<Option<Date>>,
}

/// Filters of the rate list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RateQueryParams {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
    #[param(inline)]
    pub owner_type: Option<RateOwnerType>,
    /// Needs `owner_type`.
    pub owner_id: Option<i64>,
    pub service_id: Option<i64>,
    pub user_id: Option<i64>,
    /// Only entries valid on this day, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub valid_on: Option<Date>,
}

fn rate_response(status: StatusCode, e: StoredRateEntry) -> HttpResponse {
    versioned(status, "rate", e.id, e.version, RateOut::from(e))
}

/// List rate entries in id order, with filters.
#[utoipa::path(operation_id = "list_rates", get, path = "/api/v1/rates", tag = "rates", params(RateQueryParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RateList),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list_rates(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<RateQueryParams>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let q = q.0;
    let owner = match (q.owner_type, q.owner_id) {
        (Some(t), Some(id)) => Some(t.with_id(id)),
        (None, Some(_)) => return Err(ApiError::invalid("owner_type", "required", "owner_id needs owner_type")),
        _ => None,
    };
    let filter = RateFilter {
        owner,
        owner_type: q.owner_type.map(|t| t.as_str().to_string()),
        service_id: q.service_id,
        user_id: q.user_id,
        valid_on: q.valid_on,
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<i64>(q.cursor.as_deref())? };
    let page = state.store.list_rate_entries(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(RateList {
        items: page.items.into_iter().map(RateOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Add a rate entry (admin, billing). Entries of the same owner, service and user must
/// not overlap in validity (409 naming the other entry).
#[utoipa::path(operation_id = "create_rate", post, path = "/api/v1/rates", tag = "rates", request_body = RateCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = RateOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Overlaps another entry of the same owner, service and user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (see `errors`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create_rate(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<RateCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let b = body.into_inner()?;
    let owner = b.owner_type.with_id(b.owner_id);
    let mut errors = Vec::new();
    check_price("unit_price", b.unit_price.0, &mut errors);
    if let Err(ApiError::Validation(e)) = check_validity(b.valid_from, b.valid_to) {
        errors.extend(e);
    }
    let customer_currency = owner_currency(&state, owner, &mut errors).await?;
    check_refs(&state, b.service_id, b.user_id, &mut errors).await?;
    let currency = rate_currency(b.currency.as_deref(), customer_currency, &mut errors);
    validate(&b, errors)?;
    let Some(currency) = currency else { return Err(ApiError::invalid("currency", "required", "no currency")) };
    let data = RateEntryData {
        owner,
        service_id: b.service_id,
        user_id: b.user_id,
        unit_price: b.unit_price.0,
        currency,
        valid_from: b.valid_from,
        valid_to: b.valid_to,
    };
    let entry = state.store.create_rate_entry(&data, &p.actor(&req)).await?;
    let location = format!("/api/v1/rates/{}", entry.id);
    Ok(created_at(rate_response(StatusCode::CREATED, entry), &location))
}

/// Read a rate entry.
#[utoipa::path(operation_id = "get_rate", get, path = "/api/v1/rates/{id}", tag = "rates", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RateOut, headers(("ETag" = String)))))]
pub async fn get_rate(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let entry = state.store.get_rate_entry(path_id(&req, "id")?).await.map_err(map_store("rate entry"))?;
    Ok(rate_response(StatusCode::OK, entry))
}

/// Change a rate entry (admin, billing); the owner is fixed. Send `If-Match`; stale is 412.
#[utoipa::path(operation_id = "update_rate", patch, path = "/api/v1/rates/{id}", tag = "rates",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = RatePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RateOut, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Overlaps another entry", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json")))]
pub async fn update_rate(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<RatePatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let current = state.store.get_rate_entry(id).await.map_err(map_store("rate entry"))?;
    let mut errors = Vec::new();
    if let Some(price) = &b.unit_price {
        check_price("unit_price", price.0, &mut errors);
    }
    let customer_currency = owner_currency(&state, current.data.owner, &mut errors).await?;
    check_refs(&state, b.service_id.flatten(), b.user_id.flatten(), &mut errors).await?;
    let currency = match b.currency.as_deref() {
        Some(c) => rate_currency(Some(c), customer_currency, &mut errors),
        None => None,
    };
    validate(&b, errors)?;
    let version = IfMatch::from_request(&req, "rate", id).version()?;
    let entry = state
        .store
        .update_rate_entry(id, version, &p.actor(&req), |cur: &StoredRateEntry| -> Result<RateEntryData, Fail> {
            let c = &cur.data;
            let d = RateEntryData {
                owner: c.owner,
                service_id: b.service_id.unwrap_or(c.service_id),
                user_id: b.user_id.unwrap_or(c.user_id),
                unit_price: b.unit_price.map(|p| p.0).unwrap_or(c.unit_price),
                currency: currency.unwrap_or(c.currency),
                valid_from: b.valid_from.unwrap_or(c.valid_from),
                valid_to: b.valid_to.unwrap_or(c.valid_to),
            };
            check_validity(d.valid_from, d.valid_to)?;
            Ok(d)
        })
        .await
        .map_err(|e| e.0)?;
    Ok(rate_response(StatusCode::OK, entry))
}

/// Delete a rate entry (admin, billing). Issued invoices keep their prices.
#[utoipa::path(operation_id = "delete_rate", delete, path = "/api/v1/rates/{id}", tag = "rates",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted")))]
pub async fn delete_rate(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "rate", id).version()?;
    state.store.delete_rate_entry(id, version, &p.actor(&req)).await.map_err(map_store("rate entry"))?;
    Ok(HttpResponse::NoContent().finish())
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/rates").route(web::get().to(list_rates)).route(web::post().to(create_rate)))
        .service(web::resource("/rates/resolve").route(web::get().to(resolve)))
        .service(
            web::resource("/rates/{id}")
                .route(web::get().to(get_rate))
                .route(web::patch().to(update_rate))
                .route(web::delete().to(delete_rate)),
        )
        .service(
            web::resource("/surcharges").route(web::get().to(list_surcharges)).route(web::post().to(create_surcharge)),
        )
        .service(
            web::resource("/surcharges/{id}")
                .route(web::get().to(get_surcharge))
                .route(web::patch().to(update_surcharge))
                .route(web::delete().to(delete_surcharge)),
        )
        .service(web::resource("/rounding-rules").route(web::get().to(list_rounding_rules)))
        .service(
            web::resource("/rounding-rules/global")
                .route(web::get().to(get_global_rounding))
                .route(web::put().to(put_global_rounding)),
        )
        .service(
            web::resource("/rounding-rules/customers/{customer_id}")
                .route(web::get().to(get_customer_rounding))
                .route(web::put().to(put_customer_rounding))
                .route(web::delete().to(delete_customer_rounding)),
        )
        .service(web::resource("/holidays").route(web::get().to(list_holidays)))
        .service(
            web::resource("/holidays/{date}").route(web::put().to(put_holiday)).route(web::delete().to(delete_holiday)),
        );
}

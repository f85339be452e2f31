//! Rates, surcharges, rounding rules and holidays, and the explained rate resolution.
//!
//! The billing office (admin, billing) maintains them; managers read them. Every change is
//! audited. `GET /rates/resolve` answers which price a booking gets and why: the level and
//! entry that won, the surcharge, the rounding rule and where it came from, and every
//! other price that was considered. A missing rate is a problem, never a zero.

use crate::auth::Principal;
use crate::dto::date_text;
use crate::dto::{double_option, timestamp, validate, DecimalString};
use crate::error::{problem_type, ApiError, FieldError, Problem, PROBLEM_JSON};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use domain::engine::choose_contract;
use domain::rates::{
    RateContext, RateError, RateLevel, RateOwner, RateQuery, RateScope, SurchargeKind, SurchargeOwner,
};
use domain::rounding::{RoundingMode, RoundingRule};
use domain::{Currency, Permission};
use persistence::rates::{
    rate_owner_parts, Holiday, OwnerCustomer, RateEntryData, RateFilter, RoundingOwner, RoundingSource,
    StoredRateEntry, StoredRoundingRule, StoredSurcharge, SurchargeData, SurchargeFilter,
};
use persistence::{PageRequest, StoreError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, Time};
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::Validate;

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
const MAX_SURCHARGE_PERCENT: i64 = 500;

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

/// Owner of a surcharge: company-wide or one rate level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SurchargeOwnerType {
    Global,
    Contract,
    Project,
    Customer,
}

impl SurchargeOwnerType {
    fn as_str(self) -> &'static str {
        match self {
            SurchargeOwnerType::Global => "global",
            SurchargeOwnerType::Contract => "contract",
            SurchargeOwnerType::Project => "project",
            SurchargeOwnerType::Customer => "customer",
        }
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

fn errors_or(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
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
        (status = 200, body = RateOut, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
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
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Overlaps another entry", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
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
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_rate(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "rate", id).version()?;
    state.store.delete_rate_entry(id, version, &p.actor(&req)).await.map_err(map_store("rate entry"))?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------
// Surcharges
// ---------------------------------------------------------------------------------------

/// A percentage surcharge on hourly rates for work starting on weekends, public holidays
/// or outside business hours (08:00–18:00).
#[derive(Debug, Serialize, ToSchema)]
pub struct SurchargeOut {
    pub id: i64,
    pub owner_type: SurchargeOwnerType,
    /// `null` for company-wide surcharges.
    pub owner_id: Option<i64>,
    pub kind: SurchargeKind,
    /// Percent added, e.g. `"50"` for +50 %.
    #[schema(value_type = String, example = "50")]
    pub percent: DecimalString,
    #[schema(value_type = String, format = Date)]
    pub valid_from: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_to: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<StoredSurcharge> for SurchargeOut {
    fn from(s: StoredSurcharge) -> Self {
        let d = s.data;
        let (owner_type, owner_id) = match d.owner {
            SurchargeOwner::Global => (SurchargeOwnerType::Global, None),
            SurchargeOwner::Contract(id) => (SurchargeOwnerType::Contract, Some(id)),
            SurchargeOwner::Project(id) => (SurchargeOwnerType::Project, Some(id)),
            SurchargeOwner::Customer(id) => (SurchargeOwnerType::Customer, Some(id)),
        };
        SurchargeOut {
            id: s.id,
            owner_type,
            owner_id,
            kind: d.kind,
            percent: DecimalString(d.percent),
            valid_from: date_text(d.valid_from),
            valid_to: date_opt(d.valid_to),
            version: s.version,
            created_at: timestamp(&s.created_at),
            updated_at: timestamp(&s.updated_at),
        }
    }
}

list_response!(SurchargeList, SurchargeOut, "A page of surcharges in id order.");

/// A new surcharge.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurchargeCreate {
    pub owner_type: SurchargeOwnerType,
    /// Required unless `owner_type` is `global` (then omit it).
    pub owner_id: Option<i64>,
    pub kind: SurchargeKind,
    /// More than 0, at most 500.
    #[schema(value_type = String, example = "50")]
    pub percent: DecimalString,
    #[schema(value_type = String, format = Date)]
    #[serde(deserialize_with = "crate::dto::business_date")]
    pub valid_from: Date,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub valid_to: Option<Date>,
}

/// Changes to a surcharge; the owner is fixed.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurchargePatch {
    pub kind: Option<SurchargeKind>,
    #[schema(value_type = Option<String>)]
    pub percent: Option<DecimalString>,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub valid_from: Option<Date>,
    #[serde(default, deserialize_with = "crate::dto::business_date_patch")]
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_to: Option<Option<Date>>,
}

/// Filters of the surcharge list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SurchargeQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    #[param(inline)]
    pub owner_type: Option<SurchargeOwnerType>,
    pub owner_id: Option<i64>,
    #[param(inline)]
    pub kind: Option<SurchargeKind>,
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub valid_on: Option<Date>,
}

fn check_percent(p: Decimal, errors: &mut Vec<FieldError>) {
    if p <= Decimal::ZERO || p > Decimal::from(MAX_SURCHARGE_PERCENT) {
        errors.push(FieldError::new(
            "percent",
            "range",
            format!("must be more than 0 and at most {MAX_SURCHARGE_PERCENT}"),
        ));
    } else if p.normalize().scale() > 2 {
        errors.push(FieldError::new("percent", "scale", "at most 2 decimal places"));
    }
}

fn surcharge_owner(t: SurchargeOwnerType, id: Option<i64>, errors: &mut Vec<FieldError>) -> Option<SurchargeOwner> {
    match (t, id) {
        (SurchargeOwnerType::Global, None) => Some(SurchargeOwner::Global),
        (SurchargeOwnerType::Global, Some(_)) => {
            errors.push(FieldError::new("owner_id", "not_allowed", "omit owner_id for a global surcharge"));
            None
        }
        (_, None) => {
            errors.push(FieldError::new("owner_id", "required", "needed unless owner_type is global"));
            None
        }
        (SurchargeOwnerType::Contract, Some(id)) => Some(SurchargeOwner::Contract(id)),
        (SurchargeOwnerType::Project, Some(id)) => Some(SurchargeOwner::Project(id)),
        (SurchargeOwnerType::Customer, Some(id)) => Some(SurchargeOwner::Customer(id)),
    }
}

fn as_rate_owner(o: SurchargeOwner) -> Option<RateOwner> {
    match o {
        SurchargeOwner::Global => None,
        SurchargeOwner::Contract(id) => Some(RateOwner::Contract(id)),
        SurchargeOwner::Project(id) => Some(RateOwner::Project(id)),
        SurchargeOwner::Customer(id) => Some(RateOwner::Customer(id)),
    }
}

fn surcharge_response(status: StatusCode, s: StoredSurcharge) -> HttpResponse {
    versioned(status, "surcharge", s.id, s.version, SurchargeOut::from(s))
}

/// List surcharges in id order.
#[utoipa::path(operation_id = "list_surcharges", get, path = "/api/v1/surcharges", tag = "rates", params(SurchargeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SurchargeList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list_surcharges(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<SurchargeQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let q = q.0;
    let owner = match (q.owner_type, q.owner_id) {
        (Some(SurchargeOwnerType::Global), _) => Some(SurchargeOwner::Global),
        (Some(t), Some(id)) => surcharge_owner(t, Some(id), &mut Vec::new()),
        (None, Some(_)) => return Err(ApiError::invalid("owner_type", "required", "owner_id needs owner_type")),
        _ => None,
    };
    let owner_type = q.owner_type.map(|t| t.as_str().to_string());
    let filter = SurchargeFilter { owner, owner_type, kind: q.kind, valid_on: q.valid_on };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<i64>(q.cursor.as_deref())? };
    let page = state.store.list_surcharges(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(SurchargeList {
        items: page.items.into_iter().map(SurchargeOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Add a surcharge (admin, billing).
#[utoipa::path(operation_id = "create_surcharge", post, path = "/api/v1/surcharges", tag = "rates", request_body = SurchargeCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = SurchargeOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (see `errors`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create_surcharge(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<SurchargeCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let b = body.into_inner()?;
    let mut errors = Vec::new();
    check_percent(b.percent.0, &mut errors);
    if let Err(ApiError::Validation(e)) = check_validity(b.valid_from, b.valid_to) {
        errors.extend(e);
    }
    let owner = surcharge_owner(b.owner_type, b.owner_id, &mut errors);
    if let Some(o) = owner.and_then(as_rate_owner) {
        owner_currency(&state, o, &mut errors).await?;
    }
    validate(&b, errors)?;
    let Some(owner) = owner else { return Err(ApiError::invalid("owner_id", "required", "no owner")) };
    let data =
        SurchargeData { owner, kind: b.kind, percent: b.percent.0, valid_from: b.valid_from, valid_to: b.valid_to };
    let s = state.store.create_surcharge(&data, &p.actor(&req)).await?;
    let location = format!("/api/v1/surcharges/{}", s.id);
    Ok(created_at(surcharge_response(StatusCode::CREATED, s), &location))
}

/// Read a surcharge.
#[utoipa::path(operation_id = "get_surcharge", get, path = "/api/v1/surcharges/{id}", tag = "rates", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SurchargeOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_surcharge(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let s = state.store.get_surcharge(path_id(&req, "id")?).await.map_err(map_store("surcharge"))?;
    Ok(surcharge_response(StatusCode::OK, s))
}

/// Change a surcharge (admin, billing). Send `If-Match`; stale is 412.
#[utoipa::path(operation_id = "update_surcharge", patch, path = "/api/v1/surcharges/{id}", tag = "rates",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)), request_body = SurchargePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SurchargeOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_surcharge(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<SurchargePatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let mut errors = Vec::new();
    if let Some(pct) = &b.percent {
        check_percent(pct.0, &mut errors);
    }
    validate(&b, errors)?;
    let version = IfMatch::from_request(&req, "surcharge", id).version()?;
    let s = state
        .store
        .update_surcharge(id, version, &p.actor(&req), |cur: &StoredSurcharge| -> Result<SurchargeData, Fail> {
            let c = &cur.data;
            let d = SurchargeData {
                owner: c.owner,
                kind: b.kind.unwrap_or(c.kind),
                percent: b.percent.map(|p| p.0).unwrap_or(c.percent),
                valid_from: b.valid_from.unwrap_or(c.valid_from),
                valid_to: b.valid_to.unwrap_or(c.valid_to),
            };
            check_validity(d.valid_from, d.valid_to)?;
            Ok(d)
        })
        .await
        .map_err(|e| match e.0 {
            ApiError::NotFound(_) => ApiError::NotFound("surcharge".into()),
            other => other,
        })?;
    Ok(surcharge_response(StatusCode::OK, s))
}

/// Delete a surcharge (admin, billing).
#[utoipa::path(operation_id = "delete_surcharge", delete, path = "/api/v1/surcharges/{id}", tag = "rates",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_surcharge(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "surcharge", id).version()?;
    state.store.delete_surcharge(id, version, &p.actor(&req)).await.map_err(map_store("surcharge"))?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------
// Rounding rules
// ---------------------------------------------------------------------------------------

/// A stored rounding rule: the company-wide default or a customer's.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoundingRuleOut {
    pub id: i64,
    /// `global` or `customer`.
    #[schema(example = "customer")]
    pub owner_type: String,
    /// The customer (for `customer` rules).
    pub customer_id: Option<i64>,
    #[schema(example = 15)]
    pub increment_minutes: u32,
    #[schema(example = 15)]
    pub minimum_minutes: u32,
    pub mode: RoundingMode,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<StoredRoundingRule> for RoundingRuleOut {
    fn from(r: StoredRoundingRule) -> Self {
        let (owner_type, customer_id) = match r.owner {
            RoundingOwner::Global => ("global", None),
            RoundingOwner::Customer(id) => ("customer", Some(id)),
        };
        RoundingRuleOut {
            id: r.id,
            owner_type: owner_type.into(),
            customer_id,
            increment_minutes: r.rule.increment_minutes,
            minimum_minutes: r.rule.minimum_minutes,
            mode: r.rule.mode,
            version: r.version,
            created_at: timestamp(&r.created_at),
            updated_at: timestamp(&r.updated_at),
        }
    }
}

list_response!(RoundingRuleList, RoundingRuleOut, "A page of stored rounding rules in id order.");

/// A rounding rule: increment, minimum billable minutes and direction, applied per booking.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundingRuleIn {
    /// 1–1440 minutes.
    #[validate(range(min = 1, max = 1440))]
    #[schema(minimum = 1, maximum = 1440)]
    #[schema(example = 15)]
    pub increment_minutes: i64,
    /// 0–1440 minutes.
    #[validate(range(min = 0, max = 1440))]
    #[schema(minimum = 0, maximum = 1440)]
    #[schema(example = 15)]
    pub minimum_minutes: i64,
    pub mode: RoundingMode,
}

impl RoundingRuleIn {
    fn rule(&self) -> RoundingRule {
        RoundingRule {
            increment_minutes: u32::try_from(self.increment_minutes).unwrap_or(1),
            minimum_minutes: u32::try_from(self.minimum_minutes).unwrap_or(0),
            mode: self.mode,
        }
    }
}

/// Query of the rounding-rule list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RoundingQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// Only this customer's rule.
    pub customer_id: Option<i64>,
}

/// List stored rounding rules (the global one and customers'). Without a stored global
/// rule the built-in default applies: 15-minute increments, rounded up, 15 minutes minimum.
#[utoipa::path(operation_id = "list_rounding_rules", get, path = "/api/v1/rounding-rules", tag = "rates", params(RoundingQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RoundingRuleList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list_rounding_rules(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<RoundingQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let q = q.0;
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<i64>(q.cursor.as_deref())? };
    let page = state.store.list_rounding_rules(q.customer_id, &page).await?;
    Ok(HttpResponse::Ok().json(RoundingRuleList {
        items: page.items.into_iter().map(RoundingRuleOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// A stored rounding rule with its `ETag`, or 404 naming what applies instead.
async fn get_rounding(state: &AppState, owner: RoundingOwner, instead: &str) -> Result<HttpResponse, ApiError> {
    let rule = state
        .store
        .get_rounding_rule(owner)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("a stored rounding rule ({instead} applies)")))?;
    Ok(versioned(StatusCode::OK, "rounding_rule", rule.id, rule.version, RoundingRuleOut::from(rule)))
}

/// The company-wide rounding rule with its `ETag` (for `If-Match` on `PUT`). 404 while
/// none is stored: the built-in default applies (15-minute increments, rounded up, 15
/// minutes minimum).
#[utoipa::path(operation_id = "get_global_rounding_rule", get, path = "/api/v1/rounding-rules/global", tag = "rates",
    security(("bearer" = [])),
    responses(
        (status = 200, body = RoundingRuleOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No global rule stored: the default applies", body = Problem, content_type = "application/problem+json")))]
pub async fn get_global_rounding(p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    get_rounding(&state, RoundingOwner::Global, "the built-in default").await
}

/// A customer's rounding rule with its `ETag` (for `If-Match` on `PUT` and `DELETE`). 404
/// when the customer has none: the global rule applies.
#[utoipa::path(operation_id = "get_customer_rounding_rule", get, path = "/api/v1/rounding-rules/customers/{customer_id}", tag = "rates",
    params(("customer_id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RoundingRuleOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer, or it has no rule of its own", body = Problem, content_type = "application/problem+json")))]
pub async fn get_customer_rounding(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let customer = path_id(&req, "customer_id")?;
    get_rounding(&state, RoundingOwner::Customer(customer), "the global rule").await
}

async fn put_rounding(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    owner: RoundingOwner,
    body: Json<RoundingRuleIn>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let body = body.into_inner()?;
    validate(&body, vec![])?;
    let current = state.store.get_rounding_rule(owner).await?;
    let version = IfMatch::from_request(&req, "rounding_rule", current.as_ref().map_or(0, |r| r.id)).version()?;
    let (rule, created) = state
        .store
        .put_rounding_rule(owner, body.rule(), version, &p.actor(&req))
        .await
        .map_err(map_store("customer"))?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(versioned(status, "rounding_rule", rule.id, rule.version, RoundingRuleOut::from(rule)))
}

/// Set the company-wide rounding rule (admin, billing). 201 when first stored, else 200.
/// Until one is stored the default is 15-minute increments, rounded up, 15 minutes minimum.
#[utoipa::path(operation_id = "put_global_rounding_rule", put, path = "/api/v1/rounding-rules/global", tag = "rates",
    params(("If-Match" = Option<String>, Header)), request_body = RoundingRuleIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RoundingRuleOut, headers(("ETag" = String))),
        (status = 201, body = RoundingRuleOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_global_rounding(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<RoundingRuleIn>,
) -> Result<HttpResponse, ApiError> {
    put_rounding(req, p, state, RoundingOwner::Global, body).await
}

/// Set a customer's rounding rule (admin, billing); it beats the global rule, a
/// contract's own rule beats it. 201 when first stored, else 200.
#[utoipa::path(operation_id = "put_customer_rounding_rule", put, path = "/api/v1/rounding-rules/customers/{customer_id}", tag = "rates",
    params(("customer_id" = i64, Path), ("If-Match" = Option<String>, Header)), request_body = RoundingRuleIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RoundingRuleOut, headers(("ETag" = String))),
        (status = 201, body = RoundingRuleOut, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_customer_rounding(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<RoundingRuleIn>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let customer = path_id(&req, "customer_id")?;
    if state.store.customer_ref(customer).await?.is_none() {
        return Err(ApiError::NotFound("customer".into()));
    }
    put_rounding(req, p, state, RoundingOwner::Customer(customer), body).await
}

/// Remove a customer's rounding rule (admin, billing); the global rule applies again.
#[utoipa::path(operation_id = "delete_customer_rounding_rule", delete, path = "/api/v1/rounding-rules/customers/{customer_id}", tag = "rates",
    params(("customer_id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The customer has no rule", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_customer_rounding(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let owner = RoundingOwner::Customer(path_id(&req, "customer_id")?);
    let current = state.store.get_rounding_rule(owner).await?.ok_or(ApiError::NotFound("rounding rule".into()))?;
    let version = IfMatch::from_request(&req, "rounding_rule", current.id).version()?;
    state.store.delete_rounding_rule(owner, version, &p.actor(&req)).await.map_err(map_store("rounding rule"))?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------
// Holidays
// ---------------------------------------------------------------------------------------

/// A public holiday (work starting on it gets holiday surcharges).
#[derive(Debug, Serialize, ToSchema)]
pub struct HolidayOut {
    #[schema(value_type = String, format = Date, example = "2026-12-25")]
    pub date: String,
    #[schema(example = "Christmas Day")]
    pub name: String,
    pub created_at: String,
}

impl From<Holiday> for HolidayOut {
    fn from(h: Holiday) -> Self {
        HolidayOut { date: date_text(h.holiday_date), name: h.name, created_at: timestamp(&h.created_at) }
    }
}

list_response!(HolidayList, HolidayOut, "A page of holidays in date order.");

/// A holiday's name.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayIn {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    #[schema(example = "Christmas Day")]
    pub name: String,
}

/// Query of the holiday list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HolidayQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// Only holidays of this year.
    pub year: Option<i32>,
}

fn path_date(req: &HttpRequest) -> Result<Date, ApiError> {
    let raw = req.match_info().get("date").unwrap_or_default();
    crate::dto::parse_business_date(raw)
        .ok_or_else(|| ApiError::invalid("date", "invalid_date", format!("`{raw}` {}", crate::dto::BUSINESS_DATE_RULE)))
}

/// List holidays in date order.
#[utoipa::path(operation_id = "list_holidays", get, path = "/api/v1/holidays", tag = "rates", params(HolidayQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = HolidayList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list_holidays(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<HolidayQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let q = q.0;
    if q.year.is_some_and(|y| !(1900..=9999).contains(&y)) {
        return Err(ApiError::invalid("year", "range", "must be from 1900 to 9999"));
    }
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<Date>(q.cursor.as_deref())? };
    let page = state.store.list_holidays(q.year, &page).await?;
    Ok(HttpResponse::Ok().json(HolidayList {
        items: page.items.into_iter().map(HolidayOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Set the holiday on a date (admin, billing): 201 when new, 200 when renamed.
#[utoipa::path(operation_id = "put_holiday", put, path = "/api/v1/holidays/{date}", tag = "rates",
    params(("date" = String, Path, format = Date)), request_body = HolidayIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = HolidayOut),
        (status = 201, body = HolidayOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_holiday(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<HolidayIn>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let date = path_date(&req)?;
    let body = body.into_inner()?;
    validate(&body, vec![])?;
    let (h, created) = state.store.put_holiday(date, body.name.trim(), &p.actor(&req)).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(HttpResponse::build(status).json(HolidayOut::from(h)))
}

/// Remove the holiday on a date (admin, billing).
#[utoipa::path(operation_id = "delete_holiday", delete, path = "/api/v1/holidays/{date}", tag = "rates",
    params(("date" = String, Path, format = Date)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_holiday(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let date = path_date(&req)?;
    state.store.delete_holiday(date, &p.actor(&req)).await.map_err(map_store("holiday"))?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------
// Explained rate resolution
// ---------------------------------------------------------------------------------------

/// Which booking to explain, or the facts of a hypothetical one.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResolveQuery {
    /// Explain this booking's rate. Alternatively give customer_id, service_id, date (and
    /// optionally user_id, project_id, contract_id, start_time, minutes) for "what would this cost".
    pub booking_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub service_id: Option<i64>,
    pub user_id: Option<i64>,
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub date: Option<Date>,
    pub project_id: Option<i64>,
    pub contract_id: Option<i64>,
    /// `HH:MM`, for the outside-business-hours surcharge.
    pub start_time: Option<String>,
    /// Actual minutes, to show the rounding (default 60).
    pub minutes: Option<u32>,
}

/// The surcharge applied to the rate.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedSurchargeOut {
    pub surcharge_id: i64,
    pub kind: SurchargeKind,
    #[schema(value_type = String, example = "50")]
    pub percent: DecimalString,
}

/// The rounding rule applied and where it came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoundingOut {
    pub increment_minutes: u32,
    pub minimum_minutes: u32,
    pub mode: RoundingMode,
    /// `contract`, `customer`, `global`, or `default` (nothing stored: 15/15/up).
    #[schema(example = "customer")]
    pub source: String,
    pub actual_minutes: u32,
    pub billed_minutes: u64,
}

/// A price that applied, most specific first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateOut {
    pub level: RateLevel,
    pub scope: Option<RateScope>,
    pub entry_id: Option<i64>,
    /// `booking`, `contract`, `project`, `customer`, `user` or `service`.
    pub owner_type: String,
    pub owner_id: Option<i64>,
    #[schema(value_type = String)]
    pub unit_price: DecimalString,
    pub currency: String,
    /// Whether this price won.
    pub won: bool,
}

/// Which rate a booking gets and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolutionOut {
    pub booking_id: Option<i64>,
    #[schema(value_type = String, format = Date)]
    pub work_date: String,
    pub service_id: i64,
    pub user_id: Option<i64>,
    pub customer_id: i64,
    pub project_id: Option<i64>,
    /// Contract the booking is billed under (named by its ticket, or chosen among the
    /// customer's active contracts), if any.
    pub contract_id: Option<i64>,
    /// Level that won.
    pub level: RateLevel,
    /// Scope of the winning card entry (card levels only).
    pub scope: Option<RateScope>,
    /// Winning rate card entry (card levels only).
    pub entry_id: Option<i64>,
    /// `booking`, `contract`, `project`, `customer`, `user` or `service`.
    pub owner_type: String,
    pub owner_id: Option<i64>,
    #[schema(value_type = String, example = "95.00")]
    pub base_unit_price: DecimalString,
    pub surcharge: Option<AppliedSurchargeOut>,
    /// Price per unit including the surcharge (unrounded).
    #[schema(value_type = String, example = "142.50")]
    pub unit_price: DecimalString,
    pub currency: String,
    pub rounding: RoundingOut,
    /// Every price valid on the work date, in precedence order; the first won.
    pub candidates_considered: Vec<CandidateOut>,
}

/// What to resolve.
struct Facts {
    booking_id: Option<i64>,
    customer_id: i64,
    project_id: Option<i64>,
    named_contract: Option<i64>,
    service_id: i64,
    user_id: Option<i64>,
    date: Date,
    start_time: Option<Time>,
    minutes: u32,
    override_price: Option<Decimal>,
}

/// Why a rate cannot be explained: a request error, or a blocking problem of the kind the
/// invoice run reports (answered as a 422 problem of its own type).
enum Unresolved {
    Api(ApiError),
    Billing(Problem),
}

impl From<ApiError> for Unresolved {
    fn from(e: ApiError) -> Self {
        Unresolved::Api(e)
    }
}

impl From<StoreError> for Unresolved {
    fn from(e: StoreError) -> Self {
        Unresolved::Api(e.into())
    }
}

/// A 422 problem of the billing run's kind (`missing-rate`, `currency-mismatch`, …).
fn billing_problem(slug: &str, field: &str, code: &str, detail: String) -> Unresolved {
    Unresolved::Billing(Problem {
        problem_type: problem_type(slug),
        title: "Cannot be billed".into(),
        status: StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
        detail: Some(detail.clone()),
        instance: None,
        request_id: None,
        errors: vec![FieldError::new(field, code, detail)],
        allowed: Vec::new(),
    })
}

fn owner_type_of(level: RateLevel) -> &'static str {
    match level {
        RateLevel::Override => "booking",
        RateLevel::Contract => "contract",
        RateLevel::Project => "project",
        RateLevel::Customer => "customer",
        RateLevel::UserDefault => "user",
        RateLevel::CatalogDefault => "service",
    }
}

async fn explain(state: &AppState, f: Facts) -> Result<ResolutionOut, Unresolved> {
    let store = &state.store;
    let customer = store.get_customer(f.customer_id).await.map_err(map_store("customer"))?;
    let currency = customer.data.currency;
    let contracts: Vec<_> = store
        .contracts_of_customer(f.customer_id)
        .await?
        .iter()
        .map(|c| c.to_domain())
        .filter(|c| c.validate().is_ok())
        .collect();
    let contract = match f.named_contract {
        Some(id) => {
            let c = contracts.iter().find(|c| c.id == id).ok_or_else(|| {
                billing_problem(
                    "unknown-contract",
                    "contract_id",
                    "unknown_contract",
                    format!("contract {id} is not a billable contract of this customer"),
                )
            })?;
            if !c.active_on(f.date) {
                return Err(billing_problem(
                    "outside-contract-period",
                    "contract_id",
                    "outside_contract_period",
                    format!("work date {} is outside contract {}", date_text(f.date), c.number),
                ));
            }
            Some(c)
        }
        None => choose_contract(contracts.iter().map(|c| (c, c)), f.date, Some(f.service_id), true),
    };
    let (rule, source) = match contract.and_then(|c| c.rounding) {
        Some(r) => (r, RoundingSource::Contract),
        None => store.effective_rounding(f.customer_id).await?,
    };
    let (catalog, users, calendar, company_currency, book) = (
        store.catalog().await?,
        store.user_directory().await?,
        store.work_calendar().await?,
        store.company_currency().await?,
        store.rate_book(f.customer_id).await?,
    );
    let ctx = RateContext { catalog: &catalog, users: &users, calendar: &calendar, company_currency };
    let q = RateQuery {
        customer_id: f.customer_id,
        contract_id: contract.map(|c| c.id),
        project_id: f.project_id,
        service_id: f.service_id,
        user_id: f.user_id,
        date: f.date,
        start_time: f.start_time,
        override_price: f.override_price,
        override_currency: currency,
    };
    let r = book.resolve(&ctx, &q).map_err(|e| match e {
        RateError::Missing { .. } => billing_problem("missing-rate", "service_id", "missing_rate", e.to_string()),
        RateError::UnknownService(_) => {
            billing_problem("unknown-service", "service_id", "unknown_service", e.to_string())
        }
        RateError::Overflow => billing_problem("amount-overflow", "service_id", "amount_overflow", e.to_string()),
    })?;
    if r.currency != currency {
        return Err(billing_problem(
            "currency-mismatch",
            "currency",
            "currency_mismatch",
            format!("the {} rate is in {} but the customer is invoiced in {}", r.level, r.currency, currency),
        ));
    }
    let candidates = book
        .candidates(&ctx, &q)
        .into_iter()
        .enumerate()
        .map(|(i, c)| CandidateOut {
            level: c.level,
            scope: c.scope,
            entry_id: c.entry_id,
            owner_type: owner_type_of(c.level).into(),
            owner_id: if c.level == RateLevel::Override { f.booking_id } else { c.owner_id },
            unit_price: DecimalString(c.unit_price),
            currency: c.currency.code().into(),
            won: i == 0,
        })
        .collect();
    Ok(ResolutionOut {
        booking_id: f.booking_id,
        work_date: date_text(f.date),
        service_id: f.service_id,
        user_id: f.user_id,
        customer_id: f.customer_id,
        project_id: f.project_id,
        contract_id: contract.map(|c| c.id),
        level: r.level,
        scope: r.scope,
        entry_id: r.entry_id,
        owner_type: owner_type_of(r.level).into(),
        owner_id: if r.level == RateLevel::Override { f.booking_id } else { r.owner_id },
        base_unit_price: DecimalString(r.base_price),
        surcharge: r.surcharge.map(|s| AppliedSurchargeOut {
            surcharge_id: s.surcharge_id,
            kind: s.kind,
            percent: DecimalString(s.percent),
        }),
        unit_price: DecimalString(r.unit_price),
        currency: r.currency.code().into(),
        rounding: RoundingOut {
            increment_minutes: rule.increment_minutes,
            minimum_minutes: rule.minimum_minutes,
            mode: rule.mode,
            source: source.as_str().into(),
            actual_minutes: f.minutes,
            billed_minutes: rule.apply(f.minutes),
        },
        candidates_considered: candidates,
    })
}

async fn booking_facts(state: &AppState, id: i64) -> Result<Facts, Unresolved> {
    let b = state.store.get_booking(id).await.map_err(map_store("booking"))?;
    let d = b.data;
    let customer_id = d.customer_id.ok_or_else(|| {
        billing_problem(
            "not-billable",
            "booking_id",
            "internal",
            "the booking is on an internal project and never billed".into(),
        )
    })?;
    let named_contract = match d.ticket_id {
        Some(t) => state.store.ticket_contract(t).await?,
        None => None,
    };
    Ok(Facts {
        booking_id: Some(b.id),
        customer_id,
        project_id: d.project_id,
        named_contract,
        service_id: d.service_id,
        user_id: Some(d.user_id),
        date: d.work_date,
        start_time: d.start_time,
        minutes: u32::try_from(d.duration_minutes).unwrap_or(0),
        override_price: d.rate_override.map(|r| r.0),
    })
}

fn query_facts(q: ResolveQuery) -> Result<Facts, ApiError> {
    let mut errors = Vec::new();
    for (field, missing) in
        [("customer_id", q.customer_id.is_none()), ("service_id", q.service_id.is_none()), ("date", q.date.is_none())]
    {
        if missing {
            errors.push(FieldError::new(field, "required", "give booking_id, or customer_id, service_id and date"));
        }
    }
    let fmt = time::macros::format_description!("[hour]:[minute]");
    let start_time = match q.start_time.as_deref() {
        Some(s) => match Time::parse(s, &fmt) {
            Ok(t) => Some(t),
            Err(_) => {
                errors.push(FieldError::new("start_time", "invalid_time", "must be a time of day like 09:30"));
                None
            }
        },
        None => None,
    };
    errors_or(errors)?;
    let (Some(customer_id), Some(service_id), Some(date)) = (q.customer_id, q.service_id, q.date) else {
        return Err(ApiError::invalid(
            "customer_id",
            "required",
            "give booking_id, or customer_id, service_id and date",
        ));
    };
    Ok(Facts {
        booking_id: None,
        customer_id,
        project_id: q.project_id,
        named_contract: q.contract_id,
        service_id,
        user_id: q.user_id,
        date,
        start_time,
        minutes: q.minutes.unwrap_or(60),
        override_price: None,
    })
}

/// Explain the rate of a booking (or of hypothetical work): which level and entry won and
/// why, the surcharge, the rounding rule and its source, and every price considered.
/// No rate at any level is a 422 problem of type `urn:kontor:problem:missing-rate`.
#[utoipa::path(operation_id = "resolve_rate", get, path = "/api/v1/rates/resolve", tag = "rates", params(ResolveQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ResolutionOut),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such booking or customer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing rate, currency mismatch, contract outside its term, or invalid query", body = Problem, content_type = "application/problem+json")))]
pub async fn resolve(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<ResolveQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let facts = match q.0.booking_id {
        Some(id) => booking_facts(&state, id).await,
        None => query_facts(q.0).map_err(Unresolved::Api),
    };
    let out = match facts {
        Ok(f) => explain(&state, f).await,
        Err(e) => Err(e),
    };
    match out {
        Ok(out) => Ok(HttpResponse::Ok().json(out)),
        Err(e) => unresolved(e),
    }
}

fn unresolved(e: Unresolved) -> Result<HttpResponse, ApiError> {
    match e {
        Unresolved::Api(e) => Err(e),
        Unresolved::Billing(p) => {
            Ok(HttpResponse::UnprocessableEntity().insert_header((header::CONTENT_TYPE, PROBLEM_JSON)).json(p))
        }
    }
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

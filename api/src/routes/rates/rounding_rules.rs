//! Rounding rules (`/rounding-rules`): the company-wide rule and customers' own, read
//! singly with their `ETag`, set with `PUT` and (for customers) removed again.

use super::map_store;
use crate::auth::Principal;
use crate::dto::{timestamp, validate};
use crate::error::{ApiError, Problem};
use crate::extract::{path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::rounding::{RoundingMode, RoundingRule};
use domain::Permission;
use persistence::rates::{RoundingOwner, StoredRoundingRule};
use persistence::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

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
        (status = 200, body = RoundingRuleList)))]
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
        (status = 201, body = RoundingRuleOut, headers(("ETag" = String)))))]
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
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json")))]
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
        (status = 404, description = "The customer has no rule", body = Problem, content_type = "application/problem+json")))]
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

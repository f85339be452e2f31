//! Surcharges (`/surcharges`): percentages added to hourly rates for work starting on
//! weekends, public holidays or outside business hours, company-wide or on one rate level
//! (contract, project, customer).

use super::{check_validity, date_opt, map_store, owner_currency, Fail};
use crate::auth::Principal;
use crate::dto::date_text;
use crate::dto::{timestamp, validate, DecimalString};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::rates::{RateOwner, SurchargeKind, SurchargeOwner};
use domain::Permission;
use persistence::rates::{StoredSurcharge, SurchargeData, SurchargeFilter};
use persistence::PageRequest;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

const MAX_SURCHARGE_PERCENT: i64 = 500;

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
        (status = 200, body = SurchargeList)))]
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
        (status = 200, body = SurchargeOut, headers(("ETag" = String)))))]
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
        (status = 200, body = SurchargeOut, headers(("ETag" = String)))))]
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
        (status = 204, description = "Deleted")))]
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

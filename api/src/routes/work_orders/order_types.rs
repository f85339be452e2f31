//! Order types of periodic work orders: how much lead time an order needs, whether it is
//! done on site, the service booked on it. Seeded with `internal` (3 days), `remote` (7)
//! and `on_site` (21). Everyone reads them; admins maintain them; archived, never deleted.

use crate::auth::Principal;
use crate::dto::{clean, double_option, timestamp, validate};
use crate::error::{ApiError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::routes::catalog::{ArchiveFilter, StoreProblem};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use persistence::work_orders::{OrderType, OrderTypeData};
use persistence::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// An order type.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderTypeOut {
    pub id: i64,
    #[schema(example = "on_site")]
    pub code: String,
    #[schema(example = "On site")]
    pub name: String,
    /// Days between creating a work order and its due date (a schedule may set its own).
    #[schema(example = 21)]
    pub lead_days: i64,
    /// Work at the customer's site (a date to agree, travel to plan).
    pub on_site: bool,
    /// The service booked on such orders unless the schedule names one.
    pub default_service_id: Option<i64>,
    /// Colour or short label for planning boards.
    #[schema(example = "#e53935")]
    pub label: Option<String>,
    pub archived: bool,
    pub archived_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<OrderType> for OrderTypeOut {
    fn from(t: OrderType) -> Self {
        OrderTypeOut {
            id: t.id,
            code: t.data.code,
            name: t.data.name,
            lead_days: t.data.lead_days,
            on_site: t.data.on_site,
            default_service_id: t.data.default_service_id,
            label: t.data.label,
            archived: t.archived_at.is_some(),
            archived_at: t.archived_at.as_ref().map(timestamp),
            version: t.version,
            created_at: timestamp(&t.created_at),
            updated_at: timestamp(&t.updated_at),
        }
    }
}

/// The order types (one page: `next_cursor` is always null).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderTypeList {
    pub items: Vec<OrderTypeOut>,
    pub next_cursor: Option<String>,
}

/// A new order type.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderTypeCreate {
    /// Unique code: lower-case letters, digits, `_` and `-`.
    #[validate(length(min = 1, max = 50))]
    #[schema(min_length = 1, max_length = 50, pattern = "^[a-z0-9_-]+$", example = "dr_test")]
    pub code: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, example = "Disaster-recovery test")]
    pub name: String,
    /// 0–366 days.
    #[validate(range(min = 0, max = 366))]
    #[schema(minimum = 0, maximum = 366)]
    pub lead_days: i64,
    #[serde(default)]
    pub on_site: bool,
    pub default_service_id: Option<i64>,
    #[validate(length(max = 50))]
    #[schema(max_length = 50)]
    pub label: Option<String>,
}

/// Changes to an order type; absent fields stay, `null` clears the optional ones.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderTypePatch {
    #[validate(length(min = 1, max = 50))]
    #[schema(min_length = 1, max_length = 50, pattern = "^[a-z0-9_-]+$")]
    pub code: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[validate(range(min = 0, max = 366))]
    #[schema(minimum = 0, maximum = 366)]
    pub lead_days: Option<i64>,
    pub on_site: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub default_service_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 50))]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub label: Option<Option<String>>,
}

/// Query of the order type list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrderTypeQuery {
    /// `active` (default), `archived` or `all`.
    #[param(inline)]
    pub status: Option<ArchiveFilter>,
}

fn code_errors(code: Option<&str>) -> Vec<crate::error::FieldError> {
    match code {
        Some(c) if !c.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') => {
            vec![crate::error::FieldError::new("code", "pattern", "only lower-case letters, digits, `_` and `-`")]
        }
        _ => vec![],
    }
}

fn store_problem(e: StoreError) -> ApiError {
    super::reference_problem(e).unwrap_or_else(|e| StoreProblem::map(e, "order type", "code"))
}

/// Errors of the update closure.
struct TypeProblem(ApiError);

impl From<StoreError> for TypeProblem {
    fn from(e: StoreError) -> Self {
        TypeProblem(store_problem(e))
    }
}

fn respond(status: StatusCode, t: OrderType) -> HttpResponse {
    versioned(status, "order_type", t.id, t.version, OrderTypeOut::from(t))
}

/// List the order types by code.
#[utoipa::path(operation_id = "list_order_types", get, path = "/api/v1/order-types", tag = "work-orders",
    params(OrderTypeQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = OrderTypeList),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<OrderTypeQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCatalog)?;
    let items = state.store.list_order_types(q.0.status.unwrap_or_default().archived_only()).await?;
    Ok(HttpResponse::Ok()
        .json(OrderTypeList { items: items.into_iter().map(OrderTypeOut::from).collect(), next_cursor: None }))
}

/// Create an order type (admin).
#[utoipa::path(operation_id = "create_order_type", post, path = "/api/v1/order-types", tag = "work-orders",
    request_body = OrderTypeCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body replay the first response; the same key with another body is 422")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = OrderTypeOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or an unknown default service", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<OrderTypeCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageOrderTypes)?;
    let b = body.into_inner()?;
    validate(&b, code_errors(Some(&b.code)))?;
    let data = OrderTypeData {
        code: b.code,
        name: b.name.trim().to_string(),
        lead_days: b.lead_days,
        on_site: b.on_site,
        default_service_id: b.default_service_id,
        label: clean(b.label.as_deref()),
    };
    let t = state.store.create_order_type(&data, &p.actor(&req)).await.map_err(store_problem)?;
    let location = format!("/api/v1/order-types/{}", t.id);
    Ok(created_at(respond(StatusCode::CREATED, t), &location))
}

/// Read an order type.
#[utoipa::path(operation_id = "get_order_type", get, path = "/api/v1/order-types/{id}", tag = "work-orders",
    params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = OrderTypeOut, headers(("ETag" = String)))))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCatalog)?;
    let t = state.store.get_order_type(path_id(&req, "id")?).await.map_err(store_problem)?;
    Ok(respond(StatusCode::OK, t))
}

/// Change an order type (admin). Schedules without their own lead time follow the new one
/// from the next generation on. Send `If-Match`; a stale one is 412.
#[utoipa::path(operation_id = "update_order_type", patch, path = "/api/v1/order-types/{id}", tag = "work-orders",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = OrderTypePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrderTypeOut, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or code taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<OrderTypePatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageOrderTypes)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, code_errors(b.code.as_deref()))?;
    let version = IfMatch::from_request(&req, "order_type", id).version()?;
    let t = state
        .store
        .update_order_type(id, version, &p.actor(&req), |cur: &OrderType| -> Result<OrderTypeData, TypeProblem> {
            let c = &cur.data;
            Ok(OrderTypeData {
                code: b.code.clone().unwrap_or_else(|| c.code.clone()),
                name: b.name.as_deref().map(|n| n.trim().to_string()).unwrap_or_else(|| c.name.clone()),
                lead_days: b.lead_days.unwrap_or(c.lead_days),
                on_site: b.on_site.unwrap_or(c.on_site),
                default_service_id: b.default_service_id.unwrap_or(c.default_service_id),
                label: match &b.label {
                    Some(v) => clean(v.as_deref()),
                    None => c.label.clone(),
                },
            })
        })
        .await
        .map_err(|e| e.0)?;
    Ok(respond(StatusCode::OK, t))
}

/// Archive an order type (admin): hidden from default lists; schedules using it keep it,
/// new schedules cannot choose it. Idempotent.
#[utoipa::path(operation_id = "archive_order_type", delete, path = "/api/v1/order-types/{id}", tag = "work-orders",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "Archived", body = OrderTypeOut, headers(("ETag" = String)))))]
pub async fn archive(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, true).await
}

/// Restore an archived order type (admin). Idempotent.
#[utoipa::path(operation_id = "restore_order_type", post, path = "/api/v1/order-types/{id}/restore", tag = "work-orders",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "Active again", body = OrderTypeOut, headers(("ETag" = String)))))]
pub async fn restore(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, false).await
}

async fn set_archived(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    archive: bool,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageOrderTypes)?;
    let id = path_id(&req, "id")?;
    let t = state.store.set_order_type_archived(id, archive, &p.actor(&req)).await.map_err(store_problem)?;
    Ok(respond(StatusCode::OK, t))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/order-types").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/order-types/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(archive)),
        )
        .service(web::resource("/order-types/{id}/restore").route(web::post().to(restore)));
}

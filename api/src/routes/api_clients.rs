//! API clients: machine credentials for helpdesks and accounting systems (admin only).

use crate::auth::{api_key_hash, new_api_key, Principal};
use crate::dto::{timestamp, validate};
use crate::error::{not_found, ApiError, Problem};
use crate::extract::{path_id, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::{Permission, Scope};
use persistence::{ApiClient, NewApiClient, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// An API client. The key is shown only once, when the client is created.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiClientOut {
    pub id: i64,
    #[schema(example = "Helpdesk (Zammad)")]
    pub name: String,
    /// Public part of the key (`ktr_<prefix>_…`), to recognise it.
    #[schema(example = "3f9a0c1d2e4b")]
    pub key_prefix: String,
    pub scopes: Vec<Scope>,
    pub created_by: Option<i64>,
    pub created_at: String,
    /// Last time the key authenticated a request (updated at most once a minute).
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// False once revoked.
    pub active: bool,
}

impl From<ApiClient> for ApiClientOut {
    fn from(c: ApiClient) -> Self {
        ApiClientOut {
            id: c.id,
            name: c.name,
            key_prefix: c.key_prefix,
            scopes: c.scopes,
            created_by: c.created_by,
            created_at: timestamp(&c.created_at),
            last_used_at: c.last_used_at.as_ref().map(timestamp),
            active: c.revoked_at.is_none(),
            revoked_at: c.revoked_at.as_ref().map(timestamp),
        }
    }
}

/// A newly created client with its key. Store the key now: it cannot be shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiClientCreated {
    #[serde(flatten)]
    pub client: ApiClientOut,
    /// Send as `Authorization: Bearer <key>` or `X-Api-Key: <key>`.
    #[schema(example = "ktr_3f9a0c1d2e4b_Wm9vYmFy…")]
    pub key: String,
}

list_response!(ApiClientList, ApiClientOut, "A page of API clients.");

/// A new API client.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiClientCreate {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    #[schema(example = "Helpdesk (Zammad)")]
    pub name: String,
    #[validate(length(min = 1, message = "at least one scope is required"))]
    #[schema(min_items = 1)]
    #[schema(example = json!(["tickets:write", "customers:read"]))]
    pub scopes: Vec<Scope>,
}

/// Query of the API-client list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ApiClientQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List API clients (admin).
#[utoipa::path(operation_id = "list_api_clients", get, path = "/api/v1/api-clients", tag = "api-clients", params(ApiClientQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ApiClientList), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<ApiClientQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageApiClients)?;
    let page = PageRequest { limit: limit(q.0.limit)?, after: decode_cursor::<i64>(q.0.cursor.as_deref())? };
    let page = state.store.list_api_clients(&page).await?;
    Ok(HttpResponse::Ok().json(ApiClientList {
        items: page.items.into_iter().map(ApiClientOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Create an API client and its key (admin). The key is in this response only.
#[utoipa::path(operation_id = "create_api_client", post, path = "/api/v1/api-clients", tag = "api-clients", request_body = ApiClientCreate,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ApiClientCreated, headers(("Location" = String)))))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ApiClientCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageApiClients)?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let mut scopes = b.scopes;
    scopes.sort();
    scopes.dedup();
    let (key, prefix) = new_api_key();
    let created_by = match &p {
        Principal::User { id, .. } => Some(*id),
        Principal::ApiClient { .. } => None,
    };
    let new = NewApiClient {
        name: b.name.trim().to_string(),
        key_hash: api_key_hash(&state.api_key_pepper, &key),
        key_prefix: prefix,
        scopes,
        created_by,
    };
    let client = state.store.create_api_client(&new, &p.actor(&req)).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/api-clients/{}", client.id)))
        .insert_header(("cache-control", "no-store"))
        .json(ApiClientCreated { client: client.into(), key }))
}

/// Read an API client (admin).
#[utoipa::path(operation_id = "get_api_client", get, path = "/api/v1/api-clients/{id}", tag = "api-clients", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ApiClientOut), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageApiClients)?;
    let client = state.store.get_api_client(path_id(&req, "id")?).await.map_err(not_found("API client"))?;
    Ok(HttpResponse::Ok().json(ApiClientOut::from(client)))
}

/// Revoke an API client's key (admin). Idempotent; the client stays listed as revoked.
#[utoipa::path(operation_id = "revoke_api_client", delete, path = "/api/v1/api-clients/{id}", tag = "api-clients", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "Revoked", body = ApiClientOut), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageApiClients)?;
    let client =
        state.store.revoke_api_client(path_id(&req, "id")?, &p.actor(&req)).await.map_err(not_found("API client"))?;
    Ok(HttpResponse::Ok().json(ApiClientOut::from(client)))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api-clients").route(web::get().to(list)).route(web::post().to(create)))
        .service(web::resource("/api-clients/{id}").route(web::get().to(get)).route(web::delete().to(revoke)));
}

//! Employee accounts, managed by admins.

use crate::auth::{hash_password, Principal};
use crate::dto::{double_option, non_negative, timestamp, validate, DecimalString};
use crate::error::{not_found, ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::notification::Language;
use domain::{Permission, Role};
use persistence::{NewUser, PageRequest, User, UserData};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// An employee account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    /// Planned working hours per week (capacity planning).
    #[schema(value_type = String, example = "40")]
    pub weekly_capacity_hours: DecimalString,
    /// Internal cost per hour (profitability).
    #[schema(value_type = Option<String>, example = "45.00")]
    pub internal_cost_rate: Option<DecimalString>,
    /// Default hourly sales rate (rate resolution level 5).
    #[schema(value_type = Option<String>, example = "95.00")]
    pub default_sales_rate: Option<DecimalString>,
    pub active: bool,
    /// The language the user gets mail in.
    pub language: Language,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        UserOut {
            id: u.id,
            email: u.email,
            name: u.name,
            roles: u.roles,
            weekly_capacity_hours: DecimalString(u.weekly_capacity_hours),
            internal_cost_rate: u.internal_cost_rate.map(DecimalString::company_money),
            default_sales_rate: u.default_sales_rate.map(DecimalString::company_money),
            active: u.active,
            language: u.language,
            version: u.version,
            created_at: timestamp(&u.created_at),
            updated_at: timestamp(&u.updated_at),
        }
    }
}

list_response!(UserList, UserOut, "A page of users.");

/// A new employee account.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    #[validate(email, length(max = 254))]
    #[schema(max_length = 254)]
    #[schema(example = "jana.novak@example.com")]
    pub email: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    #[schema(example = "Jana Novák")]
    pub name: String,
    /// At least 12 characters.
    #[validate(length(min = 12, max = 1024))]
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
    #[validate(length(min = 1, message = "at least one role is required"))]
    #[schema(min_items = 1)]
    pub roles: Vec<Role>,
    #[schema(value_type = Option<String>, example = "40")]
    pub weekly_capacity_hours: Option<DecimalString>,
    #[schema(value_type = Option<String>, example = "45.00")]
    pub internal_cost_rate: Option<DecimalString>,
    #[schema(value_type = Option<String>, example = "95.00")]
    pub default_sales_rate: Option<DecimalString>,
    /// Defaults to true.
    pub active: Option<bool>,
    /// The language the user gets mail in (default `de`).
    pub language: Option<Language>,
}

/// Changes to an account; absent fields stay, `null` clears an optional field.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[validate(email, length(max = 254))]
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Setting a password logs the user out everywhere (refresh tokens revoked).
    #[validate(length(min = 12, max = 1024))]
    #[schema(min_length = 12, max_length = 1024)]
    pub password: Option<String>,
    #[validate(length(min = 1, message = "at least one role is required"))]
    #[schema(min_items = 1)]
    pub roles: Option<Vec<Role>>,
    #[schema(value_type = Option<String>)]
    pub weekly_capacity_hours: Option<DecimalString>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub internal_cost_rate: Option<Option<DecimalString>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub default_sales_rate: Option<Option<DecimalString>>,
    /// `false` deactivates: no more logins, refresh tokens revoked.
    pub active: Option<bool>,
    /// The language the user gets mail in.
    pub language: Option<Language>,
}

fn check_amounts(
    capacity: Option<&DecimalString>,
    cost: Option<&DecimalString>,
    sales: Option<&DecimalString>,
) -> Vec<FieldError> {
    let mut e = Vec::new();
    non_negative("internal_cost_rate", cost, &mut e);
    non_negative("default_sales_rate", sales, &mut e);
    if capacity.is_some_and(|c| c.0 < Decimal::ZERO || c.0 > Decimal::from(168)) {
        e.push(FieldError::new("weekly_capacity_hours", "range", "must be from 0 to 168"));
    }
    e
}

/// Query of the user list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn user_response(status: actix_web::http::StatusCode, user: User) -> HttpResponse {
    versioned(status, "user", user.id, user.version, UserOut::from(user))
}

/// List users (admin).
#[utoipa::path(operation_id = "list_users", get, path = "/api/v1/users", tag = "users", params(UserQuery),
    security(("bearer" = [])),
    responses((status = 200, body = UserList), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<UserQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageUsers)?;
    let page = PageRequest { limit: limit(q.0.limit)?, after: decode_cursor::<i64>(q.0.cursor.as_deref())? };
    let page = state.store.list_users(&page).await?;
    Ok(HttpResponse::Ok().json(UserList {
        items: page.items.into_iter().map(UserOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Create a user (admin).
#[utoipa::path(operation_id = "create_user", post, path = "/api/v1/users", tag = "users", request_body = UserCreate,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for a retried request")),
    responses(
        (status = 201, body = UserOut, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "E-mail taken", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<UserCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageUsers)?;
    let b = body.into_inner()?;
    validate(
        &b,
        check_amounts(b.weekly_capacity_hours.as_ref(), b.internal_cost_rate.as_ref(), b.default_sales_rate.as_ref()),
    )?;
    let mut roles = b.roles;
    roles.sort();
    roles.dedup();
    let new = NewUser {
        data: UserData {
            email: b.email.trim().to_lowercase(),
            name: b.name.trim().to_string(),
            roles,
            weekly_capacity_hours: b.weekly_capacity_hours.map(|d| d.0).unwrap_or(Decimal::from(40)),
            internal_cost_rate: b.internal_cost_rate.map(|d| d.0),
            default_sales_rate: b.default_sales_rate.map(|d| d.0),
            active: b.active.unwrap_or(true),
            language: b.language.unwrap_or_default(),
        },
        password_hash: hash_password(b.password).await?,
    };
    let user = state.store.create_user(&new, &p.actor(&req)).await?;
    let location = format!("/api/v1/users/{}", user.id);
    Ok(created_at(user_response(actix_web::http::StatusCode::CREATED, user), &location))
}

/// Read a user (admin).
#[utoipa::path(operation_id = "get_user", get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = UserOut, headers(("ETag" = String))), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageUsers)?;
    let id = path_id(&req, "id")?;
    let user = state.store.get_user(id).await.map_err(not_found("user"))?;
    Ok(user_response(actix_web::http::StatusCode::OK, user))
}

/// Change a user (admin). Send `If-Match` with the ETag you read to avoid lost updates.
/// The last active admin keeps the admin role and stays active (409), also when two
/// admins change each other at once.
#[utoipa::path(operation_id = "update_user", patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    request_body = UserPatch, security(("bearer" = [])),
    responses(
        (status = 200, body = UserOut, headers(("ETag" = String))),
        (status = 409, description = "The last active admin would lose the admin role or be deactivated, or an admin would deactivate themselves", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageUsers)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(
        &b,
        check_amounts(
            b.weekly_capacity_hours.as_ref(),
            b.internal_cost_rate.as_ref().and_then(|o| o.as_ref()),
            b.default_sales_rate.as_ref().and_then(|o| o.as_ref()),
        ),
    )?;
    if let (Principal::User { id: me, .. }, Some(false)) = (&p, b.active) {
        if *me == id {
            return Err(ApiError::Conflict("you cannot deactivate your own account".into()));
        }
    }
    let version = IfMatch::from_request(&req, "user", id).version()?;
    let new_hash = match b.password.clone() {
        Some(pw) => Some(hash_password(pw).await?),
        None => None,
    };
    let user = state
        .store
        .update_user(id, version, new_hash, &p.actor(&req), |cur: &User| -> Result<UserData, ApiError> {
            let mut roles = b.roles.clone().unwrap_or_else(|| cur.roles.clone());
            roles.sort();
            roles.dedup();
            Ok(UserData {
                email: b.email.as_deref().map(|e| e.trim().to_lowercase()).unwrap_or_else(|| cur.email.clone()),
                name: b.name.as_deref().map(|n| n.trim().to_string()).unwrap_or_else(|| cur.name.clone()),
                roles,
                weekly_capacity_hours: b.weekly_capacity_hours.map(|d| d.0).unwrap_or(cur.weekly_capacity_hours),
                internal_cost_rate: match b.internal_cost_rate {
                    Some(v) => v.map(|d| d.0),
                    None => cur.internal_cost_rate,
                },
                default_sales_rate: match b.default_sales_rate {
                    Some(v) => v.map(|d| d.0),
                    None => cur.default_sales_rate,
                },
                active: b.active.unwrap_or(cur.active),
                language: b.language.unwrap_or(cur.language),
            })
        })
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("user".into()),
            other => other,
        })?;
    Ok(user_response(actix_web::http::StatusCode::OK, user))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users").route(web::get().to(list)).route(web::post().to(create)))
        .service(web::resource("/users/{id}").route(web::get().to(get)).route(web::patch().to(update)));
}

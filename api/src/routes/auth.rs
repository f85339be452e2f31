//! Login, token refresh and logout, and `GET /me`.

use crate::auth::{random_token, sha256_hex, verify_password, Principal};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::{Role, Scope};
use persistence::types::DbTime;
use persistence::RefreshOutcome;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Credentials of an employee.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "admin@example.com")]
    pub email: String,
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

/// A token pair.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// Short-lived JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// Single-use token for `POST /auth/refresh`; rotated on every use.
    pub refresh_token: String,
}

/// A refresh token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// The calling principal.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// `user` or `api_client`.
    #[schema(example = "user")]
    pub kind: String,
    pub id: i64,
    pub name: String,
    /// Users only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Users only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    /// API clients only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Scope>>,
}

fn client_ip(req: &HttpRequest, state: &AppState) -> String {
    let info = req.connection_info();
    let ip = if state.config.trust_proxy_headers { info.realip_remote_addr() } else { info.peer_addr() };
    ip.unwrap_or("unknown").to_string()
}

async fn token_pair(state: &AppState, user_id: i64, family: &str) -> Result<TokenResponse, ApiError> {
    let refresh = random_token(32);
    let expires = DbTime::from(time::OffsetDateTime::now_utc() + state.config.refresh_token_ttl);
    state.store.store_refresh_token(user_id, family, &sha256_hex(&refresh), expires).await?;
    Ok(TokenResponse {
        access_token: state.tokens.issue(user_id, family, state.config.access_token_ttl)?,
        token_type: "Bearer".into(),
        expires_in: state.config.access_token_ttl.as_secs(),
        refresh_token: refresh,
    })
}

/// Log in with e-mail and password.
///
/// Failed attempts are limited per account and per client IP within a window
/// (`KONTOR_LOGIN_*`); beyond the limit the answer is 429 with `Retry-After`, also
/// for the right password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()), request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Wrong e-mail or password, or deactivated account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = Problem, content_type = "application/problem+json")))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { email, password } = body.into_inner()?;
    let email = email.trim().to_lowercase();
    let ip = client_ip(&req, &state);
    let window = state.config.login_window;
    let since = DbTime::from(time::OffsetDateTime::now_utc() - window);
    // Per account (since its last success, from any IP); per IP only for guessing unknown
    // accounts or failing on many accounts, so that colleagues' typos behind one NAT do not
    // lock everybody out.
    let f = state.store.recent_login_failures(&email, &ip, since).await?;
    let c = &state.config;
    if f.by_account >= c.login_max_failures_per_account
        || f.unknown_by_ip >= c.login_max_failures_per_ip
        || f.accounts_by_ip >= c.login_max_accounts_per_ip
    {
        return Err(ApiError::TooManyRequests { retry_after_secs: window.as_secs() });
    }
    let credentials = if password.len() > crate::auth::MAX_PASSWORD_LEN {
        None
    } else {
        state.store.user_credentials(&email).await?
    };
    let (user, hash) = match credentials {
        Some((u, h)) => (Some(u), Some(h)),
        None => (None, None),
    };
    let password_ok = verify_password(password, hash).await?;
    match user {
        Some(user) if password_ok && user.active => {
            state.store.record_login_attempt(&email, &ip, true).await?;
            let pair = token_pair(&state, user.id, &uuid::Uuid::new_v4().to_string()).await?;
            tracing::info!(user_id = user.id, "login");
            Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(pair))
        }
        _ => {
            state.store.record_login_attempt(&email, &ip, false).await?;
            Err(ApiError::Unauthenticated("wrong e-mail or password".into()))
        }
    }
}

/// Exchange a refresh token for a new token pair.
///
/// Each refresh token works once. Presenting a used one again revokes its whole
/// family (every token descended from the same login), as it signals theft.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", security(()), request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json")))]
pub async fn refresh(state: web::Data<AppState>, body: Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    let next = random_token(32);
    let expires = DbTime::from(time::OffsetDateTime::now_utc() + state.config.refresh_token_ttl);
    let outcome = state
        .store
        .rotate_refresh_token(&sha256_hex(&body.into_inner()?.refresh_token), &sha256_hex(&next), expires)
        .await?;
    let (user_id, family_id) = match outcome {
        RefreshOutcome::Rotated { user_id, family_id } => (user_id, family_id),
        RefreshOutcome::Reused => {
            tracing::warn!("refresh token reused; its family is revoked");
            return Err(ApiError::Unauthenticated("the refresh token was already used; log in again".into()));
        }
        RefreshOutcome::Invalid => {
            return Err(ApiError::Unauthenticated("the refresh token is invalid or expired".into()))
        }
    };
    let user = state.store.get_user(user_id).await?;
    if !user.active {
        return Err(ApiError::Unauthenticated("the account is deactivated".into()));
    }
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(TokenResponse {
        access_token: state.tokens.issue(user_id, &family_id, state.config.access_token_ttl)?,
        token_type: "Bearer".into(),
        expires_in: state.config.access_token_ttl.as_secs(),
        refresh_token: next,
    }))
}

/// Log out: revoke the refresh token and every token of its family. Idempotent.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(()), request_body = RefreshRequest,
    responses(
        (status = 204, description = "Logged out"),
        (status = 422, description = "Malformed request", body = Problem, content_type = "application/problem+json")))]
pub async fn logout(state: web::Data<AppState>, body: Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    state.store.revoke_refresh_family(&sha256_hex(&body.into_inner()?.refresh_token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who am I: the user or API client behind the credential.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The calling principal", body = Me),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json")))]
pub async fn me(principal: Principal) -> HttpResponse {
    let me = match principal {
        Principal::User { id, email, name, roles } => {
            Me { kind: "user".into(), id, name, email: Some(email), roles: Some(roles), scopes: None }
        }
        Principal::ApiClient { id, name, scopes } => {
            Me { kind: "api_client".into(), id, name, email: None, roles: None, scopes: Some(scopes) }
        }
    };
    HttpResponse::Ok().json(me)
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/login").route(web::post().to(login)))
        .service(web::resource("/auth/refresh").route(web::post().to(refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(logout)))
        .service(web::resource("/me").route(web::get().to(me)));
}

//! Authentication: password hashing (argon2id), access tokens (HS256 JWT), rotating
//! refresh tokens, API keys (keyed hash with a lookup prefix) and the [`Principal`]
//! every protected handler receives.

use crate::error::ApiError;
use crate::principal_cache::{KeyPrincipal, ReadMark};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm as ArgonAlgorithm, Argon2, Params, Version};
use domain::{Permission, Role, Scope};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::future::{ready, Ready};

/// The password rules live in the domain (the configuration checks them too).
pub use domain::user::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};

/// Access tokens are signed and verified in [`crate::tokens`] (the application state
/// holds the keys; this module reads the state, not the other way round).
pub use crate::tokens::{random_token, Claims, TokenKeys, ISSUER, TOKEN_LEEWAY_SECONDS};
/// Prefix of every API key, so that keys are recognisable (and scannable) in leaks.
pub const API_KEY_PREFIX: &str = "ktr_";

/// argon2id with the OWASP parameters: 19 MiB memory, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(ArgonAlgorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password on a blocking thread (argon2 is deliberately slow).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    web::block(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("hashing task failed: {e}")))?
    .map_err(|e| ApiError::Internal(format!("hashing failed: {e}")))
}

/// A valid hash of a random password, verified against when the account does not
/// exist so that unknown and known e-mails take the same time.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    argon2().hash_password(random_token(16).as_bytes(), &salt).map(|h| h.to_string()).unwrap_or_default()
});

/// Verifies a password against a stored hash (or the dummy hash) on a blocking thread.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    web::block(move || {
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        match PasswordHash::new(&hash) {
            Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("verification task failed: {e}")))
}

/// SHA-256 hex digest (refresh tokens are 256-bit random values: a plain hash suffices).
pub fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 hex of an API key under the server's pepper.
pub fn api_key_hash(pepper: &[u8], key: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(pepper).expect("HMAC accepts any key length");
    mac.update(key.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh API key: `(full key, lookup prefix)`. The key is `ktr_<prefix>_<secret>`.
pub fn new_api_key() -> (String, String) {
    let mut p = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut p);
    let prefix: String = p.iter().map(|b| format!("{b:02x}")).collect();
    (format!("{API_KEY_PREFIX}{prefix}_{}", random_token(32)), prefix)
}

/// Who is calling: an employee or a machine client.
#[derive(Debug, Clone)]
pub enum Principal {
    /// An employee with a valid access token.
    User { id: i64, email: String, name: String, roles: Vec<Role> },
    /// An API client with a valid key.
    ApiClient { id: i64, name: String, scopes: Vec<Scope> },
}

impl Principal {
    /// Fails with 403 unless the principal has `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        let granted = match self {
            Principal::User { roles, .. } => permission.granted_to_roles(roles),
            Principal::ApiClient { scopes, .. } => permission.granted_to_scopes(scopes),
        };
        if granted {
            Ok(())
        } else {
            Err(ApiError::Forbidden(match self {
                Principal::User { .. } => "your roles do not allow this operation".into(),
                Principal::ApiClient { .. } => "this API key lacks the scope for this operation".into(),
            }))
        }
    }

    /// Stable key of the principal (for idempotency keys).
    pub fn key(&self) -> String {
        match self {
            Principal::User { id, .. } => format!("user:{id}"),
            Principal::ApiClient { id, .. } => format!("api_client:{id}"),
        }
    }

    /// The audit-log actor for a change made by this principal in request `req`.
    pub fn actor(&self, req: &HttpRequest) -> persistence::Actor {
        let request_id = req.extensions().get::<crate::middleware::RequestId>().map(|r| r.0.clone());
        match self {
            Principal::User { id, email, .. } => persistence::Actor {
                kind: persistence::ActorKind::User,
                id: Some(*id),
                name: email.clone(),
                request_id,
            },
            Principal::ApiClient { id, name, .. } => persistence::Actor {
                kind: persistence::ActorKind::ApiClient,
                id: Some(*id),
                name: name.clone(),
                request_id,
            },
        }
    }
}

/// The credential a request presents.
enum Credential {
    Jwt(String),
    ApiKey(String),
}

fn credential(req: &HttpRequest) -> Result<Option<Credential>, ApiError> {
    if let Some(key) = req.headers().get("x-api-key") {
        let key = key.to_str().map_err(|_| ApiError::Unauthenticated("the API key is invalid".into()))?;
        return Ok(Some(Credential::ApiKey(key.trim().to_string())));
    }
    let Some(auth) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let auth = auth.to_str().map_err(|_| ApiError::Unauthenticated("the Authorization header is invalid".into()))?;
    let token = match auth.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(ApiError::Unauthenticated("use `Authorization: Bearer <token or API key>`".into())),
    };
    Ok(Some(if token.starts_with(API_KEY_PREFIX) {
        Credential::ApiKey(token.to_string())
    } else {
        Credential::Jwt(token.to_string())
    }))
}

/// Resolves the request's credential to a principal: `Ok(None)` when there is none.
/// A fresh principal of the same session or key comes from [`AppState::principals`]
/// without a database round trip ([`crate::principal_cache`] says how fresh).
pub async fn authenticate(req: &HttpRequest, state: &AppState) -> Result<Option<Principal>, ApiError> {
    match credential(req)? {
        None => Ok(None),
        Some(Credential::Jwt(token)) => {
            let (user_id, session) = state.tokens.verify(&token)?;
            let mark = ReadMark::new(state.store.credentials_epoch());
            if let Some(principal) = state.principals.session(user_id, &session, mark.epoch()) {
                return Ok(Some(principal));
            }
            // The user and the liveness of the token's session in one query: a logout, a
            // password change, a deactivation or a reused refresh token ends the session and
            // with it every access token issued for it.
            let Some((user, live)) = state.store.session_user(user_id, &session).await? else {
                return Err(ApiError::Unauthenticated("the account no longer exists".into()));
            };
            if !live {
                return Err(ApiError::Unauthenticated(
                    "the session has ended (logged out, password changed or refresh token reused); log in again".into(),
                ));
            }
            if !user.active {
                return Err(ApiError::Unauthenticated("the account is deactivated".into()));
            }
            let principal = Principal::User { id: user.id, email: user.email, name: user.name, roles: user.roles };
            state.principals.remember_session(user_id, session, principal.clone(), mark);
            Ok(Some(principal))
        }
        Some(Credential::ApiKey(key)) => {
            let mark = ReadMark::new(state.store.credentials_epoch());
            let known = match state.principals.key(&key, mark.epoch()) {
                Some(known) => known,
                None => {
                    let known = verify_api_key(state, &key).await?;
                    state.principals.remember_key(key.clone(), known.clone(), mark);
                    known
                }
            };
            // Record the use at most once a minute: a busy integration must not write on
            // every request. Noted as used before the write, so that the requests arriving
            // while it is written do not write it again.
            let now = time::OffsetDateTime::now_utc();
            if known.last_used_at.is_none_or(|t| now - t >= time::Duration::minutes(1)) {
                state.principals.key_used(&key, now);
                state.store.touch_api_client(known.client_id).await?;
            }
            Ok(Some(known.principal))
        }
    }
}

/// Looks the key up by its prefix and checks it against the stored keyed hash.
async fn verify_api_key(state: &AppState, key: &str) -> Result<KeyPrincipal, ApiError> {
    let invalid = || ApiError::Unauthenticated("the API key is invalid or revoked".into());
    let prefix =
        key.strip_prefix(API_KEY_PREFIX).and_then(|rest| rest.split_once('_')).map(|(p, _)| p).ok_or_else(invalid)?;
    let (client, stored_hash) = state.store.api_client_by_prefix(prefix).await?.ok_or_else(invalid)?;
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&state.api_key_pepper).map_err(|e| ApiError::Internal(e.to_string()))?;
    mac.update(key.as_bytes());
    let expected = hex_decode(&stored_hash).ok_or_else(invalid)?;
    if mac.verify_slice(&expected).is_err() || client.revoked_at.is_some() {
        return Err(invalid());
    }
    Ok(KeyPrincipal {
        client_id: client.id,
        last_used_at: client.last_used_at.map(|t| t.0),
        principal: Principal::ApiClient { id: client.id, name: client.name, scopes: client.scopes },
    })
}

/// The bytes of a hex string; `None` unless it is an even number of hex digits.
pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// Handlers take a `Principal` to require authentication; the authentication
/// middleware has already resolved it.
impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Principal, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Principal>().cloned().ok_or_else(|| {
            ApiError::Unauthenticated(
                "authentication required: send `Authorization: Bearer <access token or API key>`".into(),
            )
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_carry_their_lookup_prefix() {
        let (key, prefix) = new_api_key();
        assert!(key.starts_with(&format!("ktr_{prefix}_")));
        assert_eq!(prefix.len(), 12);
        let h1 = api_key_hash(b"pepper-pepper-pepper-pepper-pepper", &key);
        assert_eq!(h1, api_key_hash(b"pepper-pepper-pepper-pepper-pepper", &key));
        assert_ne!(h1, api_key_hash(b"other-pepper-other-pepper-other-p", &key));
    }
}

//! Access tokens: short-lived JWTs (HS256) that name the user and the session (login)
//! they belong to. Signing keys live in the application state; the principal extractor in
//! [`crate::auth`] verifies tokens with them. A token that verified once is remembered
//! (by its exact text) until it expires, so that a client's every request does not pay the
//! signature check and two JSON decodings again; whether its session is still live is
//! checked on every request regardless ([`crate::principal_cache`]).

use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A URL-safe random token of `bytes` random bytes (token ids, refresh tokens, API keys).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Clock skew tolerated on `exp` (and `nbf`) of access tokens, in seconds.
pub const TOKEN_LEEWAY_SECONDS: u64 = 5;

/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Always `kontor`.
    pub iss: String,
    /// Unique token id.
    pub jti: String,
    /// The session (login) the token belongs to: the family of its refresh tokens. The
    /// token works only while the session is live.
    pub sid: String,
}

/// Issuer claim of Kontor's access tokens.
pub const ISSUER: &str = "kontor";

/// Most tokens remembered as verified; a full memo first drops expired tokens, then all.
const MAX_VERIFIED: usize = 10_000;

/// What a verified token says, kept until it expires.
struct Verified {
    user_id: i64,
    session: String,
    exp: i64,
}

/// Signs and verifies access tokens with one fixed algorithm (HS256).
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Tokens that verified, by their text (shared by clones).
    verified: Arc<RwLock<HashMap<String, Verified>>>,
}

fn expired() -> ApiError {
    ApiError::Unauthenticated("the access token has expired; refresh it".into())
}

impl TokenKeys {
    /// Keys from the shared secret.
    pub fn new(secret: &[u8]) -> TokenKeys {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            verified: Arc::default(),
        }
    }

    /// A signed access token for `user_id` valid for `ttl`.
    pub fn issue(&self, user_id: i64, session: &str, ttl: std::time::Duration) -> Result<String, ApiError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + ttl.as_secs() as i64,
            iss: ISSUER.into(),
            jti: random_token(12),
            sid: session.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("cannot sign token: {e}")))
    }

    /// The user id and session of a valid, unexpired token signed with HS256 by this
    /// server (with [`TOKEN_LEEWAY_SECONDS`] of clock skew).
    pub fn verify(&self, token: &str) -> Result<(i64, String), ApiError> {
        self.verify_at(token, time::OffsetDateTime::now_utc().unix_timestamp())
    }

    /// [`TokenKeys::verify`] at the Unix time `now`: a remembered token is checked against
    /// its expiry only, any other is verified in full (against the real clock) and remembered.
    fn verify_at(&self, token: &str, now: i64) -> Result<(i64, String), ApiError> {
        let alive = |exp: i64| exp.saturating_add(TOKEN_LEEWAY_SECONDS as i64) >= now;
        {
            let verified = self.verified.read().unwrap_or_else(|e| e.into_inner());
            if let Some(v) = verified.get(token) {
                return if alive(v.exp) { Ok((v.user_id, v.session.clone())) } else { Err(expired()) };
            }
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // At most a few seconds of clock skew between nodes: an expired token stops working.
        validation.leeway = TOKEN_LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => expired(),
                _ => ApiError::Unauthenticated("the access token is invalid".into()),
            }
        })?;
        let user_id =
            data.claims.sub.parse().map_err(|_| ApiError::Unauthenticated("the access token is invalid".into()))?;
        let mut verified = self.verified.write().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= MAX_VERIFIED {
            verified.retain(|_, v| alive(v.exp));
            if verified.len() >= MAX_VERIFIED {
                verified.clear();
            }
        }
        let session = data.claims.sid;
        verified.insert(token.to_string(), Verified { user_id, session: session.clone(), exp: data.claims.exp });
        Ok((user_id, session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_signed_with_another_secret_are_rejected() {
        let ours = TokenKeys::new(&[1u8; 32]);
        let theirs = TokenKeys::new(&[2u8; 32]);
        let token = theirs.issue(7, "session", std::time::Duration::from_secs(60)).unwrap();
        assert!(ours.verify(&token).is_err());
        assert_eq!(theirs.verify(&token).unwrap(), (7, "session".to_string()));
    }

    #[test]
    fn unsigned_alg_none_tokens_are_rejected() {
        let keys = TokenKeys::new(&[1u8; 32]);
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"1","exp":9999999999,"iat":0,"iss":"kontor","jti":"x"}"#);
        assert!(keys.verify(&format!("{header}.{payload}.")).is_err());
    }

    #[test]
    fn a_remembered_token_stops_working_when_it_expires() {
        let keys = TokenKeys::new(&[1u8; 32]);
        let token = keys.issue(7, "session", std::time::Duration::from_secs(60)).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert_eq!(keys.verify_at(&token, now).unwrap(), (7, "session".to_string()));
        // Remembered now: still valid within the leeway after its expiry, not a second later.
        let leeway = TOKEN_LEEWAY_SECONDS as i64;
        assert_eq!(keys.verify_at(&token, now + 60 + leeway - 1).unwrap(), (7, "session".to_string()));
        let Err(ApiError::Unauthenticated(why)) = keys.verify_at(&token, now + 60 + leeway + 2) else {
            panic!("an expired token was accepted");
        };
        assert!(why.contains("expired"), "{why}");
    }

    #[test]
    fn a_token_differing_from_a_remembered_one_is_verified_afresh() {
        let keys = TokenKeys::new(&[1u8; 32]);
        let token = keys.issue(7, "session", std::time::Duration::from_secs(60)).unwrap();
        keys.verify(&token).unwrap();
        // One character of the signature changed (not the last, whose low bits are padding).
        let at = token.len() - 10;
        let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
        let forged = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
        assert!(keys.verify(&forged).is_err());
        let other_secret = TokenKeys::new(&[2u8; 32]).issue(7, "session", std::time::Duration::from_secs(60)).unwrap();
        assert!(keys.verify(&other_secret).is_err());
    }
}

//! Access tokens: short-lived JWTs (HS256) that name the user and the session (login)
//! they belong to. Signing keys live in the application state; the principal extractor in
//! [`crate::auth`] verifies tokens with them.

use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

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

/// Signs and verifies access tokens with one fixed algorithm (HS256).
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    /// Keys from the shared secret.
    pub fn new(secret: &[u8]) -> TokenKeys {
        TokenKeys { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret) }
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
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // At most a few seconds of clock skew between nodes: an expired token stops working.
        validation.leeway = TOKEN_LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            ApiError::Unauthenticated(match e.kind() {
                ErrorKind::ExpiredSignature => "the access token has expired; refresh it".into(),
                _ => "the access token is invalid".into(),
            })
        })?;
        let user_id =
            data.claims.sub.parse().map_err(|_| ApiError::Unauthenticated("the access token is invalid".into()))?;
        Ok((user_id, data.claims.sid))
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
}

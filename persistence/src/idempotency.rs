//! Idempotency keys for POST requests: the first response is stored and replayed.

use crate::types::DbTime;
use crate::{Result, Store};
use time::Duration;

/// How long a key is remembered.
pub const KEY_LIFETIME: Duration = Duration::hours(24);
/// A request that has not completed after this long is considered crashed; its key may be retaken.
pub const STALE_IN_PROGRESS: Duration = Duration::minutes(2);

/// A stored first response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    /// Response headers worth replaying (content type, location, etag).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What to do with a request that carries an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First use of the key: run the request, then complete or abandon the key.
    Proceed,
    /// The key was used with the same request: answer with the stored response.
    Replay(StoredResponse),
    /// The key was used with a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

impl Store {
    /// Claims `key` for `principal` and a request fingerprint, or tells how to answer instead.
    pub async fn idempotency_begin(&self, principal: &str, key: &str, request_hash: &str) -> Result<IdempotencyBegin> {
        let now = DbTime::now();
        let expired = DbTime(now.0 - KEY_LIFETIME);
        let stale = DbTime(now.0 - STALE_IN_PROGRESS);
        let out = in_tx!(self, tx => {
            sqlx::query("DELETE FROM idempotency_keys WHERE principal = $1 AND idem_key = $2 AND \
                         (created_at < $3 OR (status_code IS NULL AND created_at < $4))")
                .bind(principal).bind(key).bind(expired).bind(stale).execute(&mut *tx).await?;
            let inserted = sqlx::query("INSERT INTO idempotency_keys (principal, idem_key, request_hash, created_at) \
                                        VALUES ($1, $2, $3, $4) ON CONFLICT (principal, idem_key) DO NOTHING")
                .bind(principal).bind(key).bind(request_hash).bind(now).execute(&mut *tx).await?;
            if inserted.rows_affected() == 1 {
                IdempotencyBegin::Proceed
            } else {
                let (hash, status, headers, body): (String, Option<i64>, Option<String>, Option<String>) = sqlx::query_as(
                    "SELECT request_hash, status_code, response_headers, response_body FROM idempotency_keys \
                     WHERE principal = $1 AND idem_key = $2")
                    .bind(principal).bind(key).fetch_one(&mut *tx).await?;
                if hash != request_hash {
                    IdempotencyBegin::Mismatch
                } else {
                    match status {
                        None => IdempotencyBegin::InProgress,
                        Some(status) => IdempotencyBegin::Replay(StoredResponse {
                            status: u16::try_from(status).unwrap_or(500),
                            headers: headers.and_then(|h| serde_json::from_str(&h).ok()).unwrap_or_default(),
                            body: body.unwrap_or_default(),
                        }),
                    }
                }
            }
        });
        Ok(out)
    }

    /// Stores the response of the request that claimed `key`.
    pub async fn idempotency_complete(&self, principal: &str, key: &str, response: &StoredResponse) -> Result<()> {
        let headers = serde_json::to_string(&response.headers)?;
        with_pool!(self, pool => {
            sqlx::query("UPDATE idempotency_keys SET status_code = $1, response_headers = $2, response_body = $3 \
                         WHERE principal = $4 AND idem_key = $5")
                .bind(i64::from(response.status)).bind(headers).bind(&response.body)
                .bind(principal).bind(key).execute(pool).await?;
        });
        Ok(())
    }

    /// Releases `key` after a failed request so that a retry can run.
    pub async fn idempotency_abandon(&self, principal: &str, key: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM idempotency_keys WHERE principal = $1 AND idem_key = $2 AND status_code IS NULL")
                .bind(principal).bind(key).execute(pool).await?;
        });
        Ok(())
    }
}

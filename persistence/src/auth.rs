//! Credentials state: refresh-token families, login attempts (rate limiting), API clients,
//! and the credentials epoch that tells caches of authenticated principals on this node
//! that a user, session or API key changed.

use crate::audit::Actor;
use crate::page::{Page, PageRequest};
use crate::types::DbTime;
use crate::{Result, Store};
use domain::Scope;
use time::Duration;

/// What happened to a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was valid; it is now used and its successor is stored.
    Rotated { user_id: i64, family_id: String },
    /// The token had already been used: the whole family is revoked (possible theft).
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

/// A machine client (helpdesk, accounting system) and its scopes. The key itself is never stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiClient {
    pub id: i64,
    pub name: String,
    /// Public part of the key, used to look it up.
    pub key_prefix: String,
    pub scopes: Vec<Scope>,
    pub created_by: Option<i64>,
    pub created_at: DbTime,
    pub last_used_at: Option<DbTime>,
    pub revoked_at: Option<DbTime>,
}

/// An API client to create; `key_hash` is the keyed hash of the full key.
#[derive(Debug, Clone)]
pub struct NewApiClient {
    pub name: String,
    pub key_prefix: String,
    pub key_hash: String,
    pub scopes: Vec<Scope>,
    pub created_by: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ApiClientRow {
    id: i64,
    name: String,
    key_prefix: String,
    key_hash: String,
    scopes: String,
    created_by: Option<i64>,
    created_at: DbTime,
    last_used_at: Option<DbTime>,
    revoked_at: Option<DbTime>,
}

impl ApiClientRow {
    fn into_client(self) -> (ApiClient, String) {
        let scopes = self.scopes.split(',').filter_map(|s| s.parse().ok()).collect();
        (
            ApiClient {
                id: self.id,
                name: self.name,
                key_prefix: self.key_prefix,
                scopes,
                created_by: self.created_by,
                created_at: self.created_at,
                last_used_at: self.last_used_at,
                revoked_at: self.revoked_at,
            },
            self.key_hash,
        )
    }
}

/// (id, user id, family, expires at, used at, revoked at) of a refresh token.
type RefreshTokenRow = (i64, i64, String, DbTime, Option<DbTime>, Option<DbTime>);

/// The failed logins a login rate limit weighs, within its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    /// Against this account since its last successful login (from any IP, so it also
    /// bounds the failures of one account from one IP).
    pub by_account: i64,
    /// From this IP against e-mail addresses no user has (guessing accounts).
    pub unknown_by_ip: i64,
    /// Distinct existing accounts this IP failed to log in to (spraying passwords).
    pub accounts_by_ip: i64,
}

impl Store {
    /// The credentials epoch: a number that grows whenever a change that can end or narrow
    /// access commits through this store (any user change — roles, activity, password —,
    /// an ended session, a revoked API key). A cache of principals read at one epoch is
    /// stale once the epoch has moved. Other nodes' changes do not move it.
    pub fn credentials_epoch(&self) -> u64 {
        self.credentials.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Moves the credentials epoch; called after the change has committed, so that a
    /// reader that sees the new epoch also sees the change.
    pub(crate) fn credentials_changed(&self) {
        self.credentials.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Stores a new refresh token (hash only) of a token family.
    pub async fn store_refresh_token(
        &self,
        user_id: i64,
        family_id: &str,
        token_hash: &str,
        expires_at: DbTime,
    ) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(user_id).bind(family_id).bind(token_hash).bind(expires_at).bind(DbTime::now())
                .execute(pool).await?;
        });
        Ok(())
    }

    /// Uses the refresh token with `old_hash` and stores its successor `new_hash` in
    /// the same family, atomically. A token presented a second time revokes its family.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: DbTime,
    ) -> Result<RefreshOutcome> {
        let now = DbTime::now();
        let out = in_tx!(self, tx => {
            let row: Option<RefreshTokenRow> = sqlx::query_as(
                "SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1")
                .bind(old_hash).fetch_optional(&mut *tx).await?;
            match row {
                None => RefreshOutcome::Invalid,
                Some((_, _, _, _, _, Some(_))) => RefreshOutcome::Invalid,
                Some((_, _, family, _, Some(_), None)) => {
                    sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                        .bind(now).bind(&family).execute(&mut *tx).await?;
                    RefreshOutcome::Reused
                }
                Some((_, _, _, expires, None, None)) if expires <= now => RefreshOutcome::Invalid,
                Some((id, user_id, family, _, None, None)) => {
                    let used = sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                        .bind(now).bind(id).execute(&mut *tx).await?;
                    if used.rows_affected() == 1 {
                        sqlx::query("INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)")
                            .bind(user_id).bind(&family).bind(new_hash).bind(new_expires_at).bind(now)
                            .execute(&mut *tx).await?;
                        RefreshOutcome::Rotated { user_id, family_id: family }
                    } else {
                        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                            .bind(now).bind(&family).execute(&mut *tx).await?;
                        RefreshOutcome::Reused
                    }
                }
            }
        });
        if out == RefreshOutcome::Reused {
            self.credentials_changed();
        }
        Ok(out)
    }

    /// Revokes the family of the given refresh token (logout). Returns whether it existed.
    pub async fn revoke_refresh_family(&self, token_hash: &str) -> Result<bool> {
        with_pool!(self, pool => {
            let res = sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND family_id = \
                 (SELECT family_id FROM refresh_tokens WHERE token_hash = $2)")
                .bind(DbTime::now()).bind(token_hash).execute(pool).await?;
            if res.rows_affected() > 0 {
                self.credentials_changed();
            }
            Ok(res.rows_affected() > 0)
        })
    }

    /// Records a login attempt and forgets attempts older than a day.
    pub async fn record_login_attempt(&self, email: &str, ip: &str, success: bool) -> Result<()> {
        let now = DbTime::now();
        let horizon = DbTime(now.0 - Duration::days(1));
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO login_attempts (email, ip, success, at) VALUES ($1, $2, $3, $4)")
                .bind(email).bind(ip).bind(success).bind(now).execute(pool).await?;
            sqlx::query("DELETE FROM login_attempts WHERE at < $1").bind(horizon).execute(pool).await?;
        });
        Ok(())
    }

    /// Failed logins since `since` that the login rate limit weighs ([`LoginFailures`]).
    pub async fn recent_login_failures(&self, email: &str, ip: &str, since: DbTime) -> Result<LoginFailures> {
        with_pool!(self, pool => {
            let by_account: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM login_attempts WHERE email = $1 AND NOT success AND at > $2 \
                 AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE email = $1 AND success), $2)")
                .bind(email).bind(since).fetch_one(pool).await?;
            let (unknown_by_ip, accounts_by_ip): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(CASE WHEN u.id IS NULL THEN 1 END), COUNT(DISTINCT CASE WHEN u.id IS NOT NULL THEN a.email END) \
                 FROM login_attempts a LEFT JOIN users u ON u.email = a.email \
                 WHERE a.ip = $1 AND NOT a.success AND a.at > $2")
                .bind(ip).bind(since).fetch_one(pool).await?;
            Ok(LoginFailures { by_account, unknown_by_ip, accounts_by_ip })
        })
    }

    /// Creates an API client.
    pub async fn create_api_client(&self, new: &NewApiClient, actor: &Actor) -> Result<ApiClient> {
        let scopes = new.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
        let client = in_tx!(self, tx => {
            let row: ApiClientRow = sqlx::query_as(
                "INSERT INTO api_clients (name, key_prefix, key_hash, scopes, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING *")
                .bind(&new.name).bind(&new.key_prefix).bind(&new.key_hash).bind(scopes)
                .bind(new.created_by).bind(DbTime::now())
                .fetch_one(&mut *tx).await?;
            let (client, _) = row.into_client();
            audit!(tx, actor, "api_client", client.id, "create", None::<&ApiClient>, Some(&client));
            client
        });
        Ok(client)
    }

    /// API clients in id order.
    pub async fn list_api_clients(&self, page: &PageRequest<i64>) -> Result<Page<ApiClient, i64>> {
        let rows: Vec<ApiClientRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM api_clients WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2")
            .bind(page.after).bind(i64::from(page.limit) + 1).fetch_all(pool).await?);
        let clients = rows.into_iter().map(|r| r.into_client().0).collect();
        Ok(Page::from_overfetch(clients, page.limit, |c: &ApiClient| c.id))
    }

    /// The API client with this id.
    pub async fn get_api_client(&self, id: i64) -> Result<ApiClient> {
        let row: ApiClientRow = with_pool!(self, pool => sqlx::query_as("SELECT * FROM api_clients WHERE id = $1").bind(id).fetch_one(pool).await?);
        Ok(row.into_client().0)
    }

    /// The API client with this key prefix and its key hash, if any.
    pub async fn api_client_by_prefix(&self, prefix: &str) -> Result<Option<(ApiClient, String)>> {
        let row: Option<ApiClientRow> = with_pool!(self, pool => sqlx::query_as("SELECT * FROM api_clients WHERE key_prefix = $1").bind(prefix).fetch_optional(pool).await?);
        Ok(row.map(ApiClientRow::into_client))
    }

    /// Records that a client's key was used (at most once a minute per client).
    pub async fn touch_api_client(&self, id: i64) -> Result<()> {
        let now = DbTime::now();
        let stale = DbTime(now.0 - Duration::minutes(1));
        with_pool!(self, pool => {
            sqlx::query("UPDATE api_clients SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
                .bind(now).bind(id).bind(stale).execute(pool).await?;
        });
        Ok(())
    }

    /// Revokes an API client's key; revoking twice is a no-op.
    pub async fn revoke_api_client(&self, id: i64, actor: &Actor) -> Result<ApiClient> {
        let client = in_tx!(self, tx => {
            let before: ApiClientRow = sqlx::query_as("SELECT * FROM api_clients WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await?;
            let (before, _) = before.into_client();
            if before.revoked_at.is_some() {
                before
            } else {
                let row: ApiClientRow = sqlx::query_as("UPDATE api_clients SET revoked_at = $1 WHERE id = $2 RETURNING *")
                    .bind(DbTime::now()).bind(id).fetch_one(&mut *tx).await?;
                let (after, _) = row.into_client();
                audit!(tx, actor, "api_client", id, "revoke", Some(&before), Some(&after));
                after
            }
        });
        self.credentials_changed();
        Ok(client)
    }
}

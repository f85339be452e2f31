//! PostgreSQL specifics: the production backend shared by several API nodes.

use crate::types::redact;
use crate::{Result, StoreError};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::time::Duration;

/// The PostgreSQL schema migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Default pool size per API node.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// A pooled connection idle longer than this is pinged before it is used again.
pub(crate) const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(30);

pub(crate) async fn connect(url: &str, max: Option<u32>) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max.unwrap_or(DEFAULT_MAX_CONNECTIONS))
        .acquire_timeout(Duration::from_secs(10))
        // Ping only connections that sat idle (a restarted server or a proxy may have cut
        // them), not every connection before every query: on a busy node that ping doubled
        // the round trips of each query.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_WHEN_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect(url)
        .await
        .map_err(|e| StoreError::Config(format!("cannot connect to PostgreSQL at `{}`: {e}", redact(url))))
}

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

pub(crate) async fn connect(url: &str, max: Option<u32>) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max.unwrap_or(DEFAULT_MAX_CONNECTIONS))
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|e| StoreError::Config(format!("cannot connect to PostgreSQL at `{}`: {e}", redact(url))))
}

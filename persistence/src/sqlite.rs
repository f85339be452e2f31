//! SQLite specifics: the embedded default. One file, WAL mode, foreign keys on.

use crate::{Result, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::Duration;

/// The SQLite schema migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// Default pool size: readers run in parallel under WAL, writers queue.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

pub(crate) async fn connect(url: &str, max: Option<u32>) -> Result<SqlitePool> {
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let file = opts.get_filename();
    if let Some(dir) = file.parent() {
        if !dir.as_os_str().is_empty() && file.to_str() != Some(":memory:") {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Config(format!("cannot create database directory {}: {e}", dir.display())))?;
        }
    }
    SqlitePoolOptions::new()
        .max_connections(max.unwrap_or(DEFAULT_MAX_CONNECTIONS))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts)
        .await
        .map_err(|e| StoreError::Config(format!("cannot open SQLite database `{url}`: {e}")))
}

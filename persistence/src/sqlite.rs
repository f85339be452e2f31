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

/// How long a write waits for its turn: for SQLite's lock (other processes) and for this
/// process's turn ([`crate::store::writer_turn`]).
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Past how many pages in the write-ahead log (4 KiB each: 256 MiB) a committing connection
/// checkpoints itself, as SQLite does by default past 1,000: only when the checkpoint
/// thread ([`crate::checkpoints`]) is missing or cannot keep up.
pub const WAL_SAFETY_NET_PAGES: u32 = 65_536;

/// The size (bytes) the write-ahead log file is truncated back to when it starts over.
pub const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// Whether `path` names a database file other connections can open (not in memory).
pub(crate) fn is_shared_file(path: &std::path::Path) -> bool {
    path.to_str().is_some_and(|name| !name.is_empty() && name != ":memory:" && !name.starts_with("file::memory:"))
}

pub(crate) async fn connect(url: &str, max: Option<u32>) -> Result<SqlitePool> {
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        // Checkpoints are the store's checkpoint thread's work ([`crate::checkpoints`]);
        // a connection checkpoints only past the safety net.
        .pragma("wal_autocheckpoint", WAL_SAFETY_NET_PAGES.to_string())
        .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string());
    let file = opts.get_filename();
    if let Some(dir) = file.parent() {
        if !dir.as_os_str().is_empty() && file.to_str() != Some(":memory:") {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Config(format!("cannot create database directory {}: {e}", dir.display())))?;
        }
    }
    // Switching a new file to WAL needs a moment of exclusive access, which SQLite does not
    // wait for: a second process opening the same new file at that moment gets "database is
    // locked" once. Retry a few times before giving up.
    let mut attempt = 0u64;
    loop {
        let res = pool_options(max.unwrap_or(DEFAULT_MAX_CONNECTIONS)).connect_with(opts.clone()).await;
        match res {
            Ok(pool) => return Ok(pool),
            Err(e) if attempt < 10 && is_busy(&e) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            Err(e) => return Err(StoreError::Config(format!("cannot open SQLite database `{url}`: {e}"))),
        }
    }
}

/// The options of the store's pools.
fn pool_options(max: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        // A connection to a local file does not go stale: no ping (a round trip to the
        // connection's worker thread) before every query.
        .test_before_acquire(false)
        // A connection that comes back inside a transaction nobody will end is closed
        // (SQLite rolls it back), not handed out again: a caller dropped the moment its
        // `BEGIN` was acknowledged — a client gone, a timeout — leaves sqlx no
        // `Transaction` to roll back, and the connection would hold the write lock (every
        // other writer busy) and refuse the next `BEGIN IMMEDIATE`. A transaction dropped
        // the usual way is closed the same way, its rollback still queued before the close.
        .after_release(|conn, _| Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) }))
}

/// Page cache (KiB) of the writer's connection ([`connect_writer`]); the pool's connections
/// keep SQLite's default of 2 MiB.
pub const WRITER_CACHE_KIB: u32 = 16 * 1024;

/// The connection all write transactions of the store run on ([`crate::store::Store`]'s
/// `in_tx!`), beside the `pool` (whose options it shares): one writer at a time anyway, and
/// a connection that no other connection writes behind keeps its page cache from one
/// transaction to the next — SQLite drops a connection's cache whenever another one wrote.
/// With the transactions spread over the pool, every write transaction started cold (an
/// invoice run: about 5 % of its time, measured on the 5 k-customer bench).
pub(crate) async fn connect_writer(pool: &SqlitePool) -> Result<SqlitePool> {
    let opts = (*pool.connect_options()).clone().pragma("cache_size", format!("-{WRITER_CACHE_KIB}"));
    Ok(pool_options(1).connect_with(opts).await?)
}

/// Whether SQLite answered "database is locked" / "busy" (codes 5 and 6).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("5") | Some("6")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Db;
    use sqlx::Connection;

    /// Write transactions run on the writer's connection (its own page cache), reads on the
    /// pool.
    #[tokio::test]
    async fn write_transactions_run_on_the_writer_connection() {
        let test = crate::test_support::fresh_store().await;
        let store = &test.store;
        if let Db::Sqlite(pool) = &*store.db {
            let cache = |c: i64| c == -i64::from(super::WRITER_CACHE_KIB);
            let read: i64 = sqlx::query_scalar("PRAGMA cache_size").fetch_one(pool).await.expect("pool");
            assert!(!cache(read), "a pool connection: {read}");
            let written = async {
                Ok::<i64, crate::StoreError>(in_tx!(store, tx => {
                    sqlx::query_scalar::<_, i64>("PRAGMA cache_size").fetch_one(&mut *tx).await?
                }))
            }
            .await
            .expect("a write transaction");
            assert!(cache(written), "the writer's connection: {written}");
        }
        test.remove().await;
    }

    /// `.cargo/config.toml` builds the bundled SQLite without the two process-wide mutexes
    /// every connection would otherwise take (a shared page cache, memory statistics): a
    /// build that lost the setting serializes the run's reader and writer threads again.
    #[tokio::test]
    async fn the_bundled_sqlite_is_built_without_process_wide_mutexes() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.expect("connect");
        let options: Vec<String> =
            sqlx::query_scalar("PRAGMA compile_options").fetch_all(&mut conn).await.expect("compile options");
        assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "{options:?}");
        assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
    }
}

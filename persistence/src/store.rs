//! The store handle, backend selection and the macros that run one SQL text on either backend.

use crate::types::redact;
use crate::{Result, StoreError};
use sqlx::{PgPool, SqlitePool};
use std::time::Duration;

/// Which database engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (zero-setup default, single node).
    Sqlite,
    /// PostgreSQL server (production, several API nodes).
    Postgres,
}

/// The engine behind a transaction, to pick a statement inside [`in_tx!`] (whose body is
/// compiled once per backend) where the backends store a thing differently.
pub(crate) trait OnBackend {
    const BACKEND: Backend;
}

impl OnBackend for sqlx::Transaction<'_, sqlx::Sqlite> {
    const BACKEND: Backend = Backend::Sqlite;
}

impl OnBackend for sqlx::Transaction<'_, sqlx::Postgres> {
    const BACKEND: Backend = Backend::Postgres;
}

impl OnBackend for sqlx::SqliteConnection {
    const BACKEND: Backend = Backend::Sqlite;
}

impl OnBackend for sqlx::PgConnection {
    const BACKEND: Backend = Backend::Postgres;
}

/// The backend of transaction `_tx` ([`OnBackend`]).
pub(crate) fn backend_of<T: OnBackend>(_tx: &T) -> Backend {
    T::BACKEND
}

pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// How to connect.
#[derive(Clone)]
pub struct StoreOptions {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// Pool size; `None` picks a backend-specific default.
    pub max_connections: Option<u32>,
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("url", &redact(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// The connections of a store's pool at one moment (for the metrics endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Open connections, idle or in use.
    pub size: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// Most connections the pool opens.
    pub max: u32,
}

impl PoolStatus {
    /// Open connections currently lent to a query or transaction.
    pub fn in_use(&self) -> u32 {
        self.size.saturating_sub(self.idle)
    }
}

/// Kontor's storage. Cheap to clone (pools and the credentials epoch are shared).
#[derive(Clone)]
pub struct Store {
    pub(crate) db: std::sync::Arc<Db>,
    /// Counts committed changes of credentials made through this store (see
    /// [`Store::credentials_epoch`]).
    pub(crate) credentials: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// SQLite: this process's write transactions take turns here (first come, first
    /// served) before `BEGIN IMMEDIATE`, so they never meet SQLite's busy handler, which
    /// polls with sleeps of up to 100 ms. Other processes on the same file still queue on
    /// the busy timeout. Unused on PostgreSQL (row locks, not one database lock).
    pub(crate) writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// New bookings waiting to be written together (group commit).
    pub(crate) booking_queue: std::sync::Arc<crate::bookings::BookingQueue>,
    /// The active booking custom-field definitions last read.
    pub(crate) booking_fields: std::sync::Arc<crate::custom_fields::FieldsCache>,
    /// Connections for the hot reads, outside the pool ([`crate::readers`]).
    pub(crate) readers: std::sync::Arc<crate::readers::ReaderSet>,
    /// PostgreSQL: tickets read by id, several callers' in one statement
    /// ([`crate::shared_reads`]).
    pub(crate) ticket_reads: std::sync::Arc<crate::shared_reads::SharedReads<i64, crate::tickets::Ticket>>,
    /// The references of single booking writes, several callers' in one statement.
    pub(crate) ref_reads:
        std::sync::Arc<crate::shared_reads::SharedReads<crate::refs::BookingRefIds, crate::refs::BookingRefs>>,
    /// SQLite: point reads on the caller's thread ([`crate::direct_reads`]).
    pub(crate) direct: Option<std::sync::Arc<crate::direct_reads::DirectReaders>>,
    /// SQLite on a file: the connection write transactions run on
    /// ([`crate::sqlite::connect_writer`]).
    pub(crate) write_connection: Option<SqlitePool>,
    /// SQLite: the checkpoint thread ([`crate::checkpoints`]).
    pub(crate) checkpoints: Option<std::sync::Arc<crate::checkpoints::Checkpointer>>,
}

/// Runs `$body` with `$pool` bound to the concrete pool of the store's backend.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &*$store.db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` inside a write transaction bound to `$tx` and commits it when `$body`
/// evaluates without an early return. SQLite write transactions start with
/// `BEGIN IMMEDIATE` so that a read lock never has to be upgraded, after taking this
/// process's turn to write ([`Store::writer`]), on the store's writer connection
/// ([`crate::sqlite::connect_writer`]).
macro_rules! in_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &*$store.db {
            $crate::store::Db::Sqlite(pool) => {
                let _turn = $crate::store::writer_turn(&$store.writer).await?;
                #[allow(unused_mut)]
                let conn = $store.write_connection.as_ref().unwrap_or(pool);
                let mut $tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err($crate::StoreError::from)?;
                let out = $body;
                $tx.commit().await.map_err($crate::StoreError::from)?;
                out
            }
            $crate::store::Db::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin().await.map_err($crate::StoreError::from)?;
                let out = $body;
                $tx.commit().await.map_err($crate::StoreError::from)?;
                out
            }
        }
    };
}

/// `ids` sorted, without repeats, comma-separated: an `IN (…)` list of integers (`NULL`,
/// which matches nothing, for no ids: PostgreSQL rejects an empty list).
pub(crate) fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "NULL".into();
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Decodes rows that name the customer they belong to in a column `for_customer` (the terms
/// of several customers read in one query): `(customer id, row)`.
pub(crate) fn per_customer<'r, R, T>(rows: &'r [R]) -> Result<Vec<(i64, T)>>
where
    R: sqlx::Row,
    T: sqlx::FromRow<'r, R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    &'static str: sqlx::ColumnIndex<R>,
{
    rows.iter().map(|r| Ok((r.try_get("for_customer")?, T::from_row(r)?))).collect()
}

/// Waits for this process's turn to write to SQLite ([`Store::writer`]); gives up like a
/// busy database after the busy timeout (503, retry later), e.g. behind a very long invoice-run chunk.
pub(crate) async fn writer_turn(writer: &tokio::sync::Mutex<()>) -> Result<tokio::sync::MutexGuard<'_, ()>> {
    tokio::time::timeout(crate::sqlite::BUSY_TIMEOUT, writer.lock())
        .await
        .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))
}

/// Allocates the next value of a named number sequence inside transaction `$tx`.
/// The first allocation of a sequence returns `$start`. With `count = n`, allocates `n`
/// consecutive values and evaluates to the first.
macro_rules! next_number {
    ($tx:expr, $name:expr, $start:expr, count = $count:expr) => {{
        // `count` values at once: the first of them (the counter ends on the last).
        let count: i64 = $count;
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO number_sequences (name, next_value) VALUES ($1, $2 + $3 - 1) \
             ON CONFLICT (name) DO UPDATE SET next_value = number_sequences.next_value + $3 \
             RETURNING next_value",
        )
        .bind($name)
        .bind($start as i64)
        .bind(count)
        .fetch_one(&mut *$tx)
        .await
        .map(|last| last - count + 1)
        .map_err($crate::StoreError::from)
    }};
    ($tx:expr, $name:expr, $start:expr) => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO number_sequences (name, next_value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET next_value = number_sequences.next_value + 1 \
             RETURNING next_value",
        )
        .bind($name)
        .bind($start as i64)
        .fetch_one(&mut *$tx)
        .await
        .map_err($crate::StoreError::from)
    };
}

impl Store {
    /// Connects to the database named by the URL scheme and applies pending migrations.
    pub async fn open(opts: &StoreOptions) -> Result<Store> {
        let db = if opts.url.starts_with("sqlite:") {
            Db::Sqlite(crate::sqlite::connect(&opts.url, opts.max_connections).await?)
        } else if opts.url.starts_with("postgres:") || opts.url.starts_with("postgresql:") {
            Db::Postgres(crate::postgres::connect(&opts.url, opts.max_connections).await?)
        } else {
            return Err(StoreError::Config(format!(
                "DATABASE_URL must start with sqlite:// or postgres://, got `{}`",
                redact(&opts.url)
            )));
        };
        // SQLite on a file other connections can open has companions: point readers on the
        // caller's thread, the writer's connection and the checkpoint thread (none for
        // PostgreSQL or an in-memory database).
        let (direct, write_connection, checkpoints) = match &db {
            Db::Sqlite(pool) if crate::sqlite::is_shared_file(pool.connect_options().get_filename()) => {
                let options = pool.connect_options();
                let file = options.get_filename();
                (
                    Some(std::sync::Arc::new(crate::direct_reads::DirectReaders::for_file(file))),
                    Some(crate::sqlite::connect_writer(pool).await?),
                    crate::checkpoints::Checkpointer::start(file).map(std::sync::Arc::new),
                )
            }
            _ => (None, None, None),
        };
        let store = Store {
            readers: std::sync::Arc::new(crate::readers::ReaderSet::for_db(&db)),
            direct,
            write_connection,
            checkpoints,
            db: std::sync::Arc::new(db),
            credentials: Default::default(),
            writer: Default::default(),
            booking_queue: Default::default(),
            booking_fields: Default::default(),
            ticket_reads: Default::default(),
            ref_reads: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Write transactions worth running at once on this backend (an invoice run's chunks,
    /// booking group writers): PostgreSQL commits several at a time; SQLite writes one at a
    /// time anyway.
    pub(crate) fn write_concurrency(&self) -> usize {
        match self.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 3,
        }
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        match &*self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations of the store's backend (idempotent; safe on several nodes).
    pub async fn migrate(&self) -> Result<()> {
        match &*self.db {
            Db::Sqlite(pool) => {
                // sqlx's SQLite migrator takes no lock (PostgreSQL's takes an advisory lock):
                // two processes starting at once on a new file may both try a migration;
                // the loser finds the winner's tables, and a retry sees it applied.
                // Migrations run on one connection with foreign-key enforcement off (the
                // SQLite way to rebuild a table that others refer to: dropping it must not
                // cascade); it is switched on again before the connection returns.
                let mut conn = pool.acquire().await?;
                sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await?;
                let migrated = Self::migrate_sqlite(&mut conn).await;
                sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                migrated?;
            }
            Db::Postgres(pool) => crate::postgres::MIGRATOR.run(pool).await?,
        }
        Ok(())
    }

    /// Applies the SQLite migrations through `conn`, retrying when another process raced.
    async fn migrate_sqlite(conn: &mut sqlx::SqliteConnection) -> Result<()> {
        let mut attempt = 0u64;
        loop {
            match crate::sqlite::MIGRATOR.run(&mut *conn).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt >= 5 => return Err(e.into()),
                Err(e) => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "SQLite migration raced another process; retrying");
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
            }
        }
    }

    /// Checks that the database answers (readiness probe).
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, pool => {
            tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(pool))
                .await
                .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))??;
        });
        Ok(())
    }

    /// The pool's connections right now; reads counters only, never waits for the database.
    pub fn pool_status(&self) -> PoolStatus {
        with_pool!(self, pool => PoolStatus {
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        })
    }

    /// Closes all connections (graceful shutdown); SQLite then checkpoints what is left in
    /// the write-ahead log and truncates it.
    pub async fn close(&self) {
        self.readers.close().await;
        if let Some(direct) = &self.direct {
            direct.close();
        }
        if let Some(writer) = &self.write_connection {
            writer.close().await;
        }
        with_pool!(self, pool => pool.close().await);
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.close().await;
        }
    }

    /// Returns the stored server setting `key`, storing `init` first if there is none.
    /// Safe when several nodes start at once: the first writer wins, all read its value.
    pub async fn setting_or_init(&self, key: &str, init: &str) -> Result<String> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO server_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .bind(init)
                .execute(pool)
                .await?;
            Ok(sqlx::query_scalar::<_, String>("SELECT value FROM server_settings WHERE key = $1")
                .bind(key)
                .fetch_one(pool)
                .await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::fresh_store;

    #[tokio::test]
    async fn pool_status_counts_the_connections_lent_out() {
        let t = fresh_store().await;
        t.store.ping().await.expect("ping");
        // A dropped connection goes back to the pool in a task of its own.
        let mut idle = t.store.pool_status();
        for _ in 0..100 {
            if idle.in_use() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            idle = t.store.pool_status();
        }
        assert_eq!(idle.max, 2);
        assert!((1..=idle.max).contains(&idle.size), "{idle:?}");
        assert_eq!(idle.in_use(), 0, "{idle:?}");
        let busy = with_pool!(t.store, pool => {
            let _held = pool.acquire().await.expect("acquire");
            t.store.pool_status()
        });
        assert_eq!(busy.in_use(), 1, "{busy:?}");
        assert_eq!(busy.idle, busy.size - 1, "{busy:?}");
        t.remove().await;
    }
}

//! Reader connections: a few connections outside sqlx's pool for the hot single-statement
//! reads of the API (a ticket, a page of tickets or bookings, the references a booking
//! names). sqlx's pool tests every connection it takes back with a ping — a second round
//! trip to SQLite's connection thread or to the PostgreSQL server after every query, which
//! cost a `GET /tickets/{id}` about a tenth of its time. A reader goes back to its slot as it
//! is; a connection that failed with anything but "no row" is closed and the slot opens a
//! new one on its next use, and a PostgreSQL reader idle for a while is pinged first (like
//! the pool's connections, see [`crate::postgres`]).
//!
//! Readers never hold a transaction: a request dropped mid-query leaves nothing behind that
//! the next statement on the same connection does not finish first (sqlx drains a
//! PostgreSQL connection's pending replies, and a SQLite connection's thread runs its
//! commands in order).

use crate::store::Db;
use crate::{Result, StoreError};
use sqlx::{ConnectOptions, Connection, PgConnection, SqliteConnection};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, MutexGuard, Semaphore, SemaphorePermit};

/// Reader connections per node, in addition to the pool (`KONTOR_DB_MAX_CONNECTIONS`).
pub const READER_CONNECTIONS: usize = 4;

/// One connection slot: empty until first used or after its connection failed.
type Slot<C> = Mutex<Option<(C, Instant)>>;

/// The reader connections of one backend.
pub(crate) struct Readers<C: Connection> {
    slots: Box<[Slot<C>]>,
    /// One permit per slot: callers wait in arrival order for a free slot.
    permits: Semaphore,
    next: AtomicUsize,
    options: Arc<<C as Connection>::Options>,
    /// A connection idle longer than this is pinged before it is used (`None`: never).
    ping_when_idle_for: Option<Duration>,
}

/// The readers of the store's backend.
pub(crate) enum ReaderSet {
    Sqlite(Readers<SqliteConnection>),
    Postgres(Readers<PgConnection>),
}

impl ReaderSet {
    /// Readers connecting like the pool's connections do.
    pub(crate) fn for_db(db: &Db) -> ReaderSet {
        match db {
            Db::Sqlite(pool) => ReaderSet::Sqlite(Readers::new(pool.connect_options(), READER_CONNECTIONS, None)),
            Db::Postgres(pool) => ReaderSet::Postgres(Readers::new(
                pool.connect_options(),
                READER_CONNECTIONS,
                Some(crate::postgres::PING_WHEN_IDLE_FOR),
            )),
        }
    }

    /// Closes the open reader connections (graceful shutdown), waiting for readers in use.
    pub(crate) async fn close(&self) {
        match self {
            ReaderSet::Sqlite(readers) => readers.close().await,
            ReaderSet::Postgres(readers) => readers.close().await,
        }
    }
}

/// A reader taken from its slot; back in the slot when dropped.
pub(crate) struct Reader<'a, C: Connection> {
    // Dropped in this order: the slot is free before the next caller in line gets a permit.
    slot: MutexGuard<'a, Option<(C, Instant)>>,
    _permit: SemaphorePermit<'a>,
}

impl<C: Connection> Readers<C> {
    fn new(options: Arc<<C as Connection>::Options>, count: usize, ping_when_idle_for: Option<Duration>) -> Readers<C> {
        Readers {
            slots: (0..count.max(1)).map(|_| Mutex::new(None)).collect(),
            permits: Semaphore::new(count.max(1)),
            next: AtomicUsize::new(0),
            options,
            ping_when_idle_for,
        }
    }

    /// A free reader (callers wait in arrival order when all are busy), connected.
    pub(crate) async fn get(&self) -> Result<Reader<'_, C>> {
        let permit = self.permits.acquire().await.map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?;
        // A permit leaves at least one slot free (all of them locked only while closing).
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut slot = match (0..n).find_map(|i| self.slots[(start + i) % n].try_lock().ok()) {
            Some(free) => free,
            None => self.slots[start].lock().await,
        };
        if let (Some((conn, used)), Some(limit)) = (slot.as_mut(), self.ping_when_idle_for) {
            if used.elapsed() > limit && conn.ping().await.is_err() {
                *slot = None;
            }
        }
        if slot.is_none() {
            *slot = Some((self.options.connect().await?, Instant::now()));
        }
        Ok(Reader { slot, _permit: permit })
    }

    async fn close(&self) {
        self.permits.close();
        for slot in self.slots.iter() {
            if let Some((conn, _)) = slot.lock().await.take() {
                let _ = conn.close().await;
            }
        }
    }
}

impl<C: Connection> Reader<'_, C> {
    /// The connection.
    pub(crate) fn conn(&mut self) -> &mut C {
        match self.slot.as_mut() {
            Some((conn, _)) => conn,
            None => unreachable!("a reader is connected when handed out"),
        }
    }

    /// Puts the reader back after `outcome`: used now, or closed if the statement failed
    /// with anything but "no such row" (a cut connection, a restarted server).
    pub(crate) fn done<T>(mut self, outcome: &Result<T>) {
        match outcome {
            Ok(_) | Err(crate::StoreError::NotFound) => {
                if let Some((_, used)) = self.slot.as_mut() {
                    *used = Instant::now();
                }
            }
            Err(_) => *self.slot = None,
        }
    }
}

/// Runs `$body` (an expression of type [`crate::Result`], which may use `?`) with `$conn`
/// bound to a reader connection of the store's backend (`&mut SqliteConnection` or
/// `&mut PgConnection`). For single read statements on hot paths; never for transactions.
macro_rules! with_reader {
    ($store:expr, $conn:ident => $body:expr) => {
        match &*$store.readers {
            $crate::readers::ReaderSet::Sqlite(readers) => with_reader!(@on readers, $conn => $body),
            $crate::readers::ReaderSet::Postgres(readers) => with_reader!(@on readers, $conn => $body),
        }
    };
    (@on $readers:expr, $conn:ident => $body:expr) => {{
        let mut reader = $readers.get().await?;
        let $conn = reader.conn();
        let out: $crate::Result<_> = async { $body }.await;
        reader.done(&out);
        out
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fresh_store;

    /// Whether the next reader is the connection that created the temporary table `marker`.
    macro_rules! has_marker {
        ($readers:expr) => {{
            let mut reader = $readers.get().await.expect("a reader");
            let found = sqlx::query("SELECT COUNT(*) FROM marker").execute(reader.conn()).await.is_ok();
            reader.done(&Ok(()));
            found
        }};
    }

    macro_rules! a_reader_is_kept_after_success_and_replaced_after_a_failure {
        ($readers:expr) => {{
            let readers = $readers;
            let mut reader = readers.get().await.expect("a reader");
            sqlx::query("CREATE TEMPORARY TABLE marker (x INTEGER)").execute(reader.conn()).await.expect("temp table");
            reader.done(&Ok(()));
            assert!(has_marker!(readers), "the same connection comes back after a success");

            let reader = readers.get().await.expect("a reader");
            reader.done::<()>(&Err(crate::StoreError::NotFound));
            assert!(has_marker!(readers), "\"no such row\" keeps the connection");

            let mut reader = readers.get().await.expect("a reader");
            let failed = sqlx::query("SELECT * FROM no_such_table").execute(reader.conn()).await;
            reader.done(&failed.map_err(crate::StoreError::from));
            assert!(!has_marker!(readers), "a failed connection is closed and a new one opened");
            readers.close().await;
        }};
    }

    #[tokio::test]
    async fn a_reader_is_kept_after_success_and_replaced_after_a_failure() {
        let t = fresh_store().await;
        match &*t.store.db {
            Db::Sqlite(pool) => {
                a_reader_is_kept_after_success_and_replaced_after_a_failure!(Readers::<SqliteConnection>::new(
                    pool.connect_options(),
                    1,
                    None
                ))
            }
            // Pinged before every use (idle for more than zero): the ping path runs too.
            Db::Postgres(pool) => a_reader_is_kept_after_success_and_replaced_after_a_failure!(
                Readers::<PgConnection>::new(pool.connect_options(), 1, Some(Duration::ZERO))
            ),
        }
        t.remove().await;
    }
}

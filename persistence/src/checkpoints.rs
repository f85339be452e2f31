//! SQLite checkpoints off the writers' path. In WAL mode a commit appends the transaction's
//! pages to the write-ahead log; a *checkpoint* copies them into the database file and
//! syncs it (`fsync`, 5–20 ms of waiting on a virtual disk). By default SQLite checkpoints
//! inside the commit that makes the log pass 1,000 pages — on the writer's path, with the
//! write lock held: during an invoice run nearly every chunk's commit waited for one, and a
//! `POST /bookings` now and then.
//!
//! Here the pool's connections only checkpoint past a large safety net
//! ([`crate::sqlite::WAL_SAFETY_NET_PAGES`]); a thread of the store's own, on a connection of
//! its own, checkpoints every [`INTERVAL`] in `PASSIVE` mode, which never blocks a writer nor
//! waits for a reader. The log then grows while writes come without a pause (a large run)
//! and starts over from its beginning at the first write after a checkpoint that caught up;
//! the pool truncates the file back to [`crate::sqlite::WAL_SIZE_LIMIT`] then. A store that
//! is closed checkpoints what is left and truncates the log.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the checkpointer copies the log into the database file.
pub(crate) const INTERVAL: Duration = Duration::from_millis(100);

/// The checkpoint thread of one SQLite database file; stops when dropped or closed.
pub(crate) struct Checkpointer {
    /// Dropping it stops the thread.
    stop: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Starts checkpointing the database file `path` (`None` when it cannot be started: the
    /// pool's own checkpoints past the safety net remain).
    pub(crate) fn start(path: &Path) -> Option<Checkpointer> {
        let (stop, stopped) = mpsc::channel();
        let path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_until_stopped(&path, &stopped))
            .map_err(|e| tracing::warn!(error = %e, "cannot start the SQLite checkpoint thread"))
            .ok()?;
        Some(Checkpointer { stop: Mutex::new(Some(stop)), thread: Mutex::new(Some(thread)) })
    }

    /// Stops the thread after a last checkpoint that truncates the log (graceful shutdown,
    /// after the pool is closed); waits for it off the async threads.
    pub(crate) async fn close(&self) {
        self.signal_stop();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    fn signal_stop(&self) {
        drop(self.stop.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

impl Drop for Checkpointer {
    /// The thread ends on its own after its last checkpoint; nothing waits for it here.
    fn drop(&mut self) {
        self.signal_stop();
    }
}

/// The thread: a `PASSIVE` checkpoint every [`INTERVAL`] until `stopped` says stop (or its
/// sender is gone), then a `TRUNCATE` checkpoint on the connection it has (none is opened
/// for it: the database may be gone). A connection that failed is opened again at the next
/// turn.
fn checkpoint_until_stopped(path: &Path, stopped: &mpsc::Receiver<()>) {
    let mut conn: Option<Connection> = None;
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        if conn.is_none() {
            conn = open(path);
        }
        if let Some(c) = &conn {
            if let Err(e) = checkpoint(c, "PASSIVE") {
                tracing::debug!(error = %e, "SQLite checkpoint failed; reopening its connection");
                conn = None;
            }
        }
    }
    if let Some(c) = conn {
        // Busy (a reader or writer still at work): the next start's checkpoints take over.
        let _ = checkpoint(&c, "TRUNCATE");
    }
}

fn open(path: &Path) -> Option<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let opened = Connection::open_with_flags(path, flags).and_then(|conn| {
        // A checkpoint never waits: what it cannot copy now, it copies at the next turn.
        conn.busy_timeout(Duration::ZERO)?;
        Ok(conn)
    });
    opened.map_err(|e| tracing::debug!(error = %e, "cannot open the SQLite checkpoint connection")).ok()
}

/// Runs `PRAGMA wal_checkpoint(mode)` (what it copied is not needed: the next turn copies
/// the rest).
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<()> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use crate::store::Db;
    use crate::{Store, StoreOptions};
    use std::time::{Duration, Instant};

    /// A store on a new SQLite file in a directory of its own (this concern is SQLite's,
    /// whatever backend the suite runs against).
    async fn file_store() -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("kontor_ckpt_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}/kontor.db?mode=rwc", dir.display());
        (Store::open(&StoreOptions { url, max_connections: Some(2) }).await.expect("open"), dir)
    }

    fn len(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    /// A commit leaves its pages in the log and returns: no connection of the pool comes near
    /// the safety net, yet the pages reach the database file within a few intervals — the
    /// checkpoint thread copied them. Closing the store truncates the log.
    #[tokio::test]
    async fn committed_pages_reach_the_database_file_without_the_writer_checkpointing() {
        let (store, dir) = file_store().await;
        let Db::Sqlite(pool) = &*store.db else { unreachable!("a SQLite file store") };
        let net: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint").fetch_one(pool).await.expect("pragma");
        assert_eq!(net, i64::from(crate::sqlite::WAL_SAFETY_NET_PAGES));
        let (db, wal) = (dir.join("kontor.db"), dir.join("kontor.db-wal"));
        let before = len(&db);
        // About 8 MB in one transaction: 2,000 pages, twice SQLite's default checkpoint size.
        sqlx::query(
            "CREATE TABLE scratch AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             SELECT i, randomblob(4000) AS filler FROM n",
        )
        .execute(pool)
        .await
        .expect("write");
        assert!(len(&wal) >= 8_000_000, "the commit wrote its pages to the log: {}", len(&wal));
        let deadline = Instant::now() + Duration::from_secs(10);
        while len(&db) < before + 8_000_000 && Instant::now() < deadline {
            tokio::time::sleep(super::INTERVAL).await;
        }
        assert!(len(&db) >= before + 8_000_000, "checkpointed into the file: {} → {}", before, len(&db));
        store.close().await;
        assert_eq!(len(&wal), 0, "a closed store leaves an empty log");
        let _ = std::fs::remove_dir_all(dir);
    }
}

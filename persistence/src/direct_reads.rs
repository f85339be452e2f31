//! Point reads of SQLite on the caller's thread. sqlx runs every SQLite connection on a
//! thread of its own and hands each statement, and each row back, across channels (a futex
//! wake-up and a park per hand-off): for `GET /tickets/{id}` that cost about two thirds of
//! the request. The hottest reads — a ticket by id, the newest tickets without a filter
//! — run here instead, on a few
//! connections of its own to the same file (rusqlite over the same libsqlite3 as sqlx), on
//! the calling thread: a primary-key lookup takes microseconds, and under WAL a reader
//! never waits for a writer.
//!
//! Nothing here waits: no free connection, a busy database (WAL recovery after a crash), an
//! error or a row that does not decode answer "not read here" ([`None`]) and the caller
//! takes the usual reader ([`crate::readers`]), which waits and reports errors as always.
//! The connections are query-only and never hold a transaction.

use crate::tickets::{Ticket, TicketData};
use crate::types::{DbTime, JsonText};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use time::Date;

/// Direct connections per node (opened on first use).
const CONNECTIONS: usize = 4;

/// A ticket's columns, in the order [`ticket`] decodes them.
macro_rules! ticket_columns {
    () => {
        "SELECT id, number, ticket_type, title, description, customer_id, contact_id, project_id, task_id, \
         contract_id, assignee_user_id, assignee_team_id, priority, due_date, estimate_minutes, source, \
         external_system, external_id, external_url, custom_fields, status, resolved_at, closed_at, created_by, \
         version, created_at, updated_at FROM tickets "
    };
}

const TICKET: &str = concat!(ticket_columns!(), "WHERE id = ?1");

/// The newest tickets without a filter (the list a helpdesk or SPA opens with): at most
/// `?2` after id `?1` (`NULL`: from the newest), an index walk of that many rows.
const NEWEST_TICKETS: &str = concat!(ticket_columns!(), "WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2");

/// The direct readers of one SQLite database file.
pub(crate) struct DirectReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Connections open, idle or in use.
    open: AtomicUsize,
    /// Closed for good (graceful shutdown): nothing is read here any more.
    closed: AtomicBool,
}

impl DirectReaders {
    /// Readers of the database file `path` (one other connections can open:
    /// [`crate::sqlite::is_shared_file`]).
    pub(crate) fn for_file(path: &std::path::Path) -> DirectReaders {
        DirectReaders {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            open: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// The ticket `id`: `Some(None)` when there is none, `None` when it was not read here.
    pub(crate) fn ticket(&self, id: i64) -> Option<Option<Ticket>> {
        self.read(|conn| conn.prepare_cached(TICKET)?.query_row([id], ticket).optional())
    }

    /// At most `limit` tickets, newest first, after the ticket `after`, unfiltered (a filter
    /// may scan many rows: filtered lists are read through sqlx); `None` when not read here.
    pub(crate) fn newest_tickets(&self, after: Option<i64>, limit: i64) -> Option<Vec<Ticket>> {
        self.read(|conn| conn.prepare_cached(NEWEST_TICKETS)?.query_map((after, limit), ticket)?.collect())
    }

    /// Runs `read` on an idle connection (opening one while fewer than [`CONNECTIONS`] are
    /// open); a connection whose read failed is closed.
    fn read<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Option<T> {
        if self.closed.load(Ordering::Relaxed) {
            return None;
        }
        let conn = match self.lock().pop() {
            Some(conn) => conn,
            None => self.connect()?,
        };
        match read(&conn) {
            Ok(found) => {
                if !self.closed.load(Ordering::Relaxed) {
                    self.lock().push(conn);
                }
                Some(found)
            }
            Err(e) => {
                tracing::debug!(error = %e, "direct SQLite read failed; reading through sqlx");
                self.open.fetch_sub(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Closes the idle connections (graceful shutdown); one still in use is closed when its
    /// read ends, as nothing takes it back after that.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        drop(std::mem::take(&mut *self.lock()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // Nothing panics while holding the lock; a poisoned list is still a list.
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new query-only connection, unless [`CONNECTIONS`] are open.
    fn connect(&self) -> Option<Connection> {
        if self.open.fetch_add(1, Ordering::Relaxed) >= CONNECTIONS {
            self.open.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let opened = Connection::open_with_flags(&self.path, flags).and_then(|conn| {
            conn.pragma_update(None, "query_only", true)?;
            // Never wait here: a busy database is read through sqlx, which waits off-thread.
            conn.busy_timeout(std::time::Duration::ZERO)?;
            Ok(conn)
        });
        match opened {
            Ok(conn) => Some(conn),
            Err(e) => {
                tracing::debug!(error = %e, "cannot open a direct SQLite reader");
                self.open.fetch_sub(1, Ordering::Relaxed);
                None
            }
        }
    }
}

/// A value that does not decode as its column's type.
fn bad(column: usize, e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.to_string().into())
}

fn enum_at<T: std::str::FromStr<Err = String>>(r: &Row<'_>, column: usize) -> rusqlite::Result<T> {
    r.get_ref(column)?.as_str()?.parse().map_err(|e| bad(column, e))
}

fn time_at(r: &Row<'_>, column: usize) -> rusqlite::Result<Option<DbTime>> {
    match r.get_ref(column)?.as_str_or_null()? {
        Some(s) => Ok(Some(DbTime::from_sqlite_text(s).map_err(|e| bad(column, e))?)),
        None => Ok(None),
    }
}

fn date_at(r: &Row<'_>, column: usize) -> rusqlite::Result<Option<Date>> {
    match r.get_ref(column)?.as_str_or_null()? {
        Some(s) => Ok(Some(crate::types::sqlite_text::date(s).map_err(|e| bad(column, e))?)),
        None => Ok(None),
    }
}

fn required<T>(column: usize, v: Option<T>) -> rusqlite::Result<T> {
    v.ok_or_else(|| bad(column, "NULL in a NOT NULL column"))
}

/// A row of [`TICKET`].
fn ticket(r: &Row<'_>) -> rusqlite::Result<Ticket> {
    let custom_fields: String = r.get(19)?;
    Ok(Ticket {
        id: r.get(0)?,
        number: r.get(1)?,
        data: TicketData {
            ticket_type: enum_at(r, 2)?,
            title: r.get(3)?,
            description: r.get(4)?,
            customer_id: r.get(5)?,
            contact_id: r.get(6)?,
            project_id: r.get(7)?,
            task_id: r.get(8)?,
            contract_id: r.get(9)?,
            assignee_user_id: r.get(10)?,
            assignee_team_id: r.get(11)?,
            priority: enum_at(r, 12)?,
            due_date: date_at(r, 13)?,
            estimate_minutes: r.get(14)?,
            source: enum_at(r, 15)?,
            external_system: r.get(16)?,
            external_id: r.get(17)?,
            external_url: r.get(18)?,
            custom_fields: JsonText(serde_json::from_str(&custom_fields).map_err(|e| bad(19, e))?),
        },
        status: enum_at(r, 20)?,
        resolved_at: time_at(r, 21)?,
        closed_at: time_at(r, 22)?,
        created_by: r.get(23)?,
        version: r.get(24)?,
        created_at: required(25, time_at(r, 25)?)?,
        updated_at: required(26, time_at(r, 26)?)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::test_support::fresh_store;
    use crate::tickets::Ticket;
    use crate::types::DbTime;
    use crate::StoreError;
    use time::macros::date;

    #[tokio::test]
    async fn a_ticket_read_on_the_callers_thread_is_the_ticket_sqlx_reads_and_always_fresh() {
        let test = fresh_store().await;
        let store = &test.store;
        let Some(direct) = store.direct.clone() else {
            assert!(matches!(&*store.db, crate::store::Db::Postgres(_)), "SQLite files are read directly");
            return test.remove().await;
        };
        // Every optional column set, and one ticket with none.
        let full: i64 = with_pool!(store, pool => sqlx::query_scalar(
            "INSERT INTO tickets (number, ticket_type, title, description, contract_id, priority, status, due_date, \
             estimate_minutes, source, external_system, external_id, external_url, custom_fields, resolved_at, \
             closed_at, created_by, version, created_at, updated_at) \
             VALUES ('T-2026-000001', 'work_order', 'Printer', 'Paper jam in \"Zürich\"', 7, 'urgent', 'closed', $1, \
             90, 'helpdesk', 'zammad', '4711', 'https://helpdesk.example/4711', '{\"room\":\"2.14\",\"n\":3}', $2, $2, \
             'api', 4, $2, $2) RETURNING id")
            .bind(date!(2026 - 12 - 24)).bind(DbTime::now()).fetch_one(pool).await)
        .unwrap();
        let bare: i64 = with_pool!(store, pool => sqlx::query_scalar(
            "INSERT INTO tickets (number, ticket_type, title, priority, status, source, created_by, created_at, \
             updated_at) VALUES ('T-2026-000002', 'ticket', 'Mail', 'normal', 'new', 'api', 'api', $1, $1) RETURNING id")
            .bind(DbTime::now()).fetch_one(pool).await).unwrap();
        for id in [full, bare] {
            let through_sqlx: Ticket = with_pool!(store, pool =>
                sqlx::query_as("SELECT * FROM tickets WHERE id = $1").bind(id).fetch_one(pool).await)
            .unwrap();
            assert_eq!(direct.ticket(id), Some(Some(through_sqlx.clone())), "ticket {id}");
            assert_eq!(store.get_ticket(id).await.unwrap(), through_sqlx);
        }
        assert_eq!(direct.ticket(full + 100), Some(None), "no such ticket, read here");
        assert!(matches!(store.get_ticket(full + 100).await, Err(StoreError::NotFound)));
        // A change committed elsewhere is seen at once (no cache).
        with_pool!(store, pool => sqlx::query("UPDATE tickets SET title = 'Printer (toner)' WHERE id = $1")
            .bind(full).execute(pool).await.map(|_| ()))
        .unwrap();
        assert_eq!(store.get_ticket(full).await.unwrap().data.title, "Printer (toner)");
        // A row that does not decode is not read here: sqlx reports it as before.
        with_pool!(store, pool => sqlx::query("UPDATE tickets SET custom_fields = 'not json' WHERE id = $1")
            .bind(bare).execute(pool).await.map(|_| ()))
        .unwrap();
        assert_eq!(direct.ticket(bare), None);
        assert!(store.get_ticket(bare).await.is_err());
        assert!(direct.ticket(full).is_some(), "the next read opens a new connection");
        // Closed (graceful shutdown): nothing is read here any more.
        direct.close();
        assert_eq!(direct.ticket(full), None);
        test.remove().await;
    }

    #[tokio::test]
    async fn the_newest_tickets_read_on_the_callers_thread_page_like_the_filtered_list() {
        use crate::page::PageRequest;
        use crate::tickets::TicketFilter;
        use domain::ticket::TicketStatus;
        let test = fresh_store().await;
        let store = &test.store;
        for n in 1..=5 {
            with_pool!(store, pool => sqlx::query(
                "INSERT INTO tickets (number, ticket_type, title, priority, status, source, created_by, created_at, \
                 updated_at) VALUES ($1, 'ticket', 'Mail', 'normal', 'new', 'api', 'api', $2, $2)")
                .bind(format!("T-2026-00000{n}")).bind(DbTime::now()).execute(pool).await.map(|_| ()))
            .unwrap();
        }
        if let Some(direct) = &store.direct {
            let newest = direct.newest_tickets(None, 3).expect("read here");
            assert_eq!(newest.iter().map(|t| t.id).collect::<Vec<_>>(), vec![5, 4, 3]);
            let after = direct.newest_tickets(Some(2), 3).expect("read here");
            assert_eq!(after.iter().map(|t| t.id).collect::<Vec<_>>(), vec![1]);
        }
        // The same pages as a filter that matches every ticket (read through sqlx).
        let every = TicketFilter { statuses: vec![TicketStatus::New], ..TicketFilter::default() };
        assert!(TicketFilter::default().is_empty() && !every.is_empty());
        let mut after = None;
        loop {
            let page = PageRequest { limit: 2, after };
            let unfiltered = store.list_tickets(&TicketFilter::default(), &page).await.unwrap();
            let filtered = store.list_tickets(&every, &page).await.unwrap();
            assert_eq!(unfiltered.items, filtered.items);
            assert_eq!(unfiltered.next, filtered.next);
            match unfiltered.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        test.remove().await;
    }
}

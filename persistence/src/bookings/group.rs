//! Group commit of new bookings. Every `create_bookings` call of a process with fewer than
//! [`OWN_GROUP`] bookings joins a queue; a writer task takes what is waiting (up to
//! [`GROUP_ROWS`] bookings) and writes it in one transaction, so that technicians booking at
//! the same moment share one commit instead of queueing for one each. SQLite has one writer
//! at a time, PostgreSQL a few ([`Store::write_concurrency`]); a bigger call (a helpdesk's
//! batch) is a group of its own and is written at once, beside the queue. Each caller gets
//! its own bookings back (ids in its order), as if it had written alone. A group that fails
//! (say a ticket deleted a moment ago) is written again caller by caller, so that one
//! caller's error is not another's.
//!
//! Writers are spawned tasks, not callers' futures: a queued caller that goes away (its
//! client disconnected) never leaves a group half-handled for the others.

use super::insert::{BookingInsert, NewBooking};
use super::{Booking, BookingData};
use crate::audit::Actor;
use crate::types::DbTime;
use crate::{Result, Store, StoreError};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::oneshot;

/// Most bookings written in one group transaction.
const GROUP_ROWS: usize = 1000;

/// Calls with this many bookings or more are written on their own, not queued.
const OWN_GROUP: usize = 100;

/// One caller's bookings waiting to be written.
struct Pending {
    rows: Vec<BookingData>,
    actor: Actor,
    done: oneshot::Sender<Result<Vec<Booking>>>,
}

#[derive(Default)]
struct Waiting {
    pending: Vec<Pending>,
    /// Writer tasks draining `pending`.
    writers: usize,
}

/// The bookings waiting for the writer of a store (shared by its clones).
#[derive(Default)]
pub(crate) struct BookingQueue {
    waiting: Mutex<Waiting>,
}

impl BookingQueue {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        // Nothing panics while holding the lock; a poisoned queue is still consistent.
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next group: waiting callers in arrival order, up to [`GROUP_ROWS`] bookings
    /// (at least one caller). `None` (and one writer less) when nobody waits.
    fn next_group(&self) -> Option<Vec<Pending>> {
        let mut w = self.lock();
        if w.pending.is_empty() {
            w.writers -= 1;
            return None;
        }
        let mut rows = 0;
        let take = w
            .pending
            .iter()
            .take_while(|p| {
                let fits = rows == 0 || rows + p.rows.len() <= GROUP_ROWS;
                rows += p.rows.len();
                fits
            })
            .count();
        Some(w.pending.drain(..take).collect())
    }
}

/// Counts a writer task out if it ends without finishing (its runtime shut down): the
/// next caller starts a new one for whoever still waits.
struct WriterGone<'a>(Option<&'a BookingQueue>);

impl Drop for WriterGone<'_> {
    fn drop(&mut self) {
        if let Some(queue) = self.0 {
            queue.lock().writers -= 1;
        }
    }
}

impl Store {
    /// Records bookings all at once (one transaction, one multi-row insert; a day's time
    /// pushed by a helpdesk) and returns them in the order given. Concurrent calls share
    /// a transaction (see the module comment). Each project booked on is checked against
    /// its estimate once.
    pub async fn create_bookings(&self, rows: &[BookingData], actor: &Actor) -> Result<Vec<Booking>> {
        if rows.len() >= OWN_GROUP {
            return self.insert_bookings_now(&[(rows, actor)], DbTime::now()).await;
        }
        let (done, written) = oneshot::channel();
        let start_writer = {
            let mut w = self.booking_queue.lock();
            w.pending.push(Pending { rows: rows.to_vec(), actor: actor.clone(), done });
            let start = w.writers < self.write_concurrency();
            w.writers += usize::from(start);
            start
        };
        if start_writer {
            let store = self.clone();
            tokio::spawn(async move { store.write_booking_groups().await });
        }
        written.await.map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))?
    }

    /// A writer task: writes groups until nobody waits.
    async fn write_booking_groups(&self) {
        let mut gone = WriterGone(Some(&self.booking_queue));
        while let Some(group) = self.booking_queue.next_group() {
            self.write_group(group).await;
        }
        gone.0 = None;
    }

    /// Writes a group in one transaction and answers each caller; when that fails, writes
    /// each caller's bookings on their own.
    async fn write_group(&self, group: Vec<Pending>) {
        let now = DbTime::now();
        let callers: Vec<(&[BookingData], &Actor)> = group.iter().map(|p| (&p.rows[..], &p.actor)).collect();
        let together = self.insert_bookings_now(&callers, now).await;
        match together {
            Ok(created) => {
                let mut created = created.into_iter();
                for p in group {
                    let mine: Vec<Booking> = created.by_ref().take(p.rows.len()).collect();
                    // A caller that went away no longer needs the answer.
                    let _ = p.done.send(Ok(mine));
                }
            }
            Err(e) if group.len() == 1 => {
                let _ = group.into_iter().next().map(|p| p.done.send(Err(e)));
            }
            Err(_) => {
                for p in group {
                    let alone = self.insert_bookings_now(&[(&p.rows, &p.actor)], now).await;
                    let _ = p.done.send(alone);
                }
            }
        }
    }

    /// Inserts the bookings of `callers` (rows and who books them) in one transaction, in
    /// order, and checks each project booked on against its estimate once. On PostgreSQL,
    /// bookings on no project are written by one statement on its own (atomic without a
    /// transaction; see `insert`): two round trips less per group.
    async fn insert_bookings_now(&self, callers: &[(&[BookingData], &Actor)], now: DbTime) -> Result<Vec<Booking>> {
        let new: Vec<NewBooking<'_>> =
            callers.iter().flat_map(|&(rows, actor)| rows.iter().map(move |data| NewBooking { data, actor })).collect();
        if let (crate::store::Db::Postgres(pool), true) = (&*self.db, new.iter().all(|n| n.data.project_id.is_none())) {
            let mut conn = pool.acquire().await?;
            return conn.insert_bookings(&new, now).await;
        }
        let created = in_tx!(self, tx => super::write_new_bookings!(tx, &new, now));
        Ok(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::ActorKind;
    use crate::test_support::fresh_store;
    use crate::types::{ExactDecimal, JsonText};
    use time::macros::date;

    fn booking(user_id: i64, service_id: i64, text: &str) -> BookingData {
        BookingData {
            user_id,
            work_date: date!(2026 - 11 - 23),
            start_time: None,
            end_time: None,
            duration_minutes: 30,
            service_id,
            description: text.into(),
            customer_id: None,
            ticket_id: None,
            project_id: None,
            task_id: None,
            billable: false,
            rate_override: None,
            custom_fields: JsonText(serde_json::json!({})),
        }
    }

    fn actor(id: i64) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: Some(id),
            name: format!("tech{id}@x.example"),
            request_id: Some(format!("r{id}")),
        }
    }

    #[tokio::test]
    async fn callers_booking_at_once_get_their_own_bookings_and_a_bad_one_fails_alone() {
        let t = fresh_store().await;
        let store = &t.store;
        let now = DbTime::now();
        let (user, service): (i64, i64) = with_pool!(store, pool => {
            let user = sqlx::query_scalar(
                "INSERT INTO users (email, name, password_hash, roles, weekly_capacity_hours, active, version, \
                 created_at, updated_at) VALUES ('g@x.example', 'Tech', '!', 'agent', $1, TRUE, 1, $2, $2) RETURNING id")
                .bind(ExactDecimal(rust_decimal::Decimal::from(40))).bind(now).fetch_one(pool).await.unwrap();
            let service = sqlx::query_scalar(
                "INSERT INTO services (code, name, unit, kind, default_price, vat_rate, billable_by_default, version, \
                 created_at, updated_at) VALUES ('R', 'Remote', 'hour', 'work', $1, $1, TRUE, 1, $2, $2) RETURNING id")
                .bind(ExactDecimal(rust_decimal::Decimal::from(19))).bind(now).fetch_one(pool).await.unwrap();
            (user, service)
        });
        // 40 callers at once, one of them naming a service that does not exist.
        let calls = (0..40i64).map(|i| {
            let rows: Vec<BookingData> = (0..(i % 3 + 1))
                .map(|j| booking(user, if i == 17 { service + 1000 } else { service }, &format!("call {i} row {j}")))
                .collect();
            async move { (i, rows.clone(), store.create_bookings(&rows, &actor(i)).await) }
        });
        let answers = futures_util::future::join_all(calls).await;
        let mut ids = std::collections::BTreeSet::new();
        for (i, rows, answer) in answers {
            if i == 17 {
                assert!(matches!(answer, Err(StoreError::MissingReference(_))), "call 17: {answer:?}");
                continue;
            }
            let created = answer.unwrap_or_else(|e| panic!("call {i}: {e}"));
            assert_eq!(created.len(), rows.len(), "call {i}");
            for (b, row) in created.iter().zip(&rows) {
                assert_eq!(&b.data, row, "call {i} gets its own rows in its order");
                assert_eq!(b.created_by, actor(i).name);
                assert!(ids.insert(b.id), "id {} answered twice", b.id);
                let (actor_id, request_id): (Option<i64>, Option<String>) = with_pool!(store, pool =>
                    sqlx::query_as("SELECT actor_id, request_id FROM audit_log WHERE entity_type = 'booking' AND entity_id = $1")
                        .bind(b.id).fetch_one(pool).await.unwrap());
                assert_eq!((actor_id, request_id), (Some(i), Some(format!("r{i}"))), "audit of booking {}", b.id);
            }
        }
        let stored: i64 = with_pool!(store, pool => sqlx::query_scalar("SELECT COUNT(*) FROM bookings").fetch_one(pool).await.unwrap());
        assert_eq!(stored as usize, ids.len(), "nothing of the failed call is stored");
        // Callers arriving together share one transaction (one commit time).
        let calls =
            (0..10i64).map(|i| async move { store.create_bookings(&[booking(user, service, "x")], &actor(i)).await });
        let answers = futures_util::future::try_join_all(calls).await.unwrap();
        let times: std::collections::BTreeSet<String> =
            answers.iter().map(|b| format!("{:?}", b[0].created_at)).collect();
        assert_eq!(times.len(), 1, "one group: {times:?}");
        // A helpdesk's big batch is written on its own, beside the queue. Every booking
        // answered is the booking stored, and its audit entry holds it as answered.
        let calls = (0..4i64).map(|i| {
            let n = if i == 0 { OWN_GROUP + 50 } else { 2 };
            let rows: Vec<BookingData> = (0..n)
                .map(|j| {
                    let mut b = booking(user, service, &format!("big {i} row {j}"));
                    if j % 2 == 1 {
                        b.start_time = Some(time::macros::time!(13:00));
                        b.end_time = Some(time::macros::time!(14:30));
                        b.duration_minutes = 90;
                        b.billable = true;
                        b.rate_override = Some(ExactDecimal(rust_decimal::Decimal::new(1250, 2)));
                        b.custom_fields = JsonText(serde_json::json!({"km": 42, "note": "Zürich \"Nord\""}));
                    }
                    b
                })
                .collect();
            async move { (rows.clone(), store.create_bookings(&rows, &actor(i)).await.unwrap()) }
        });
        for (rows, created) in futures_util::future::join_all(calls).await {
            assert_eq!(created.iter().map(|b| &b.data).collect::<Vec<_>>(), rows.iter().collect::<Vec<_>>());
            for b in &created {
                assert_eq!(&store.get_booking(b.id).await.unwrap(), b, "booking {} as stored", b.id);
                let after: String = with_pool!(store, pool =>
                    sqlx::query_scalar("SELECT after_state FROM audit_log WHERE entity_type = 'booking' AND entity_id = $1")
                        .bind(b.id).fetch_one(pool).await.unwrap());
                assert_eq!(serde_json::from_str::<Booking>(&after).unwrap(), *b, "audit of booking {}", b.id);
                assert_eq!(after, serde_json::to_string(b).unwrap(), "the JSON as serde writes it");
                let payload: String = with_pool!(store, pool =>
                    sqlx::query_scalar("SELECT payload FROM events WHERE event_type = 'booking.created' AND entity_id = $1")
                        .bind(b.id).fetch_one(pool).await.unwrap());
                assert_eq!(payload, after, "the event of booking {}", b.id);
            }
        }
        t.remove().await;
    }
}

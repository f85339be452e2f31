//! Small reads that arrive together share one query: tickets by id (PostgreSQL) and the
//! references of single booking writes. Such a read costs the database server far more for
//! its statement (a round trip, a backend woken, an executor started) than for its rows; at
//! 64 connections the server's processes took about as much CPU as the API node. Callers
//! join a queue with what they want (a key); a reader task (at most as many as there are
//! reader connections, [`crate::readers`]) takes every caller waiting (up to [`BATCH`]) and
//! reads for all of them with one statement (tickets: `… WHERE id = ANY($1)`). A lone caller
//! is read at once, alone; callers only share when their reads overlap.
//!
//! Nothing is read stale: a caller joins a batch that has not been sent yet, so its read
//! starts after the caller arrived and sees every commit before it (read-your-writes holds
//! as for a read of its own). A batch that fails answers [`Shared::Failed`] and every caller
//! reads alone, so that one caller's error is its own. Readers are spawned tasks: a caller
//! that goes away never leaves a batch half answered for the others.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::oneshot;

/// Most callers answered by one statement.
pub(crate) const BATCH: usize = 256;

/// What a shared read answers one caller.
pub(crate) enum Shared<V> {
    Found(V),
    Missing,
    /// The shared statement failed: read alone.
    Failed,
}

/// A caller waiting for what its key names (a ticket id, the ids a booking points at).
pub(crate) type Waiter<K, V> = (K, oneshot::Sender<Shared<V>>);

struct Waiting<K, V> {
    pending: Vec<Waiter<K, V>>,
    /// Reader tasks draining `pending`.
    readers: usize,
    /// Batches handed out with more than one caller (for tests).
    shared_batches: usize,
}

/// The callers waiting for reads of one kind (shared by a store's clones).
pub(crate) struct SharedReads<K, V> {
    waiting: Mutex<Waiting<K, V>>,
}

impl<K, V> Default for SharedReads<K, V> {
    fn default() -> Self {
        SharedReads { waiting: Mutex::new(Waiting { pending: vec![], readers: 0, shared_batches: 0 }) }
    }
}

impl<K, V> SharedReads<K, V> {
    fn lock(&self) -> MutexGuard<'_, Waiting<K, V>> {
        // Nothing panics while holding the lock; a poisoned queue is still consistent.
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a read of `key`. `true` alongside: the caller must start a reader task
    /// (fewer than `max_readers` run).
    fn join(&self, key: K, max_readers: usize) -> (oneshot::Receiver<Shared<V>>, bool) {
        let (tx, rx) = oneshot::channel();
        let mut w = self.lock();
        w.pending.push((key, tx));
        let start = w.readers < max_readers;
        w.readers += usize::from(start);
        (rx, start)
    }

    /// The next batch: waiting callers in arrival order, up to [`BATCH`]. `None` (and one
    /// reader less) when nobody waits; a reader task calls this until it gets `None`.
    fn next_batch(&self) -> Option<Vec<Waiter<K, V>>> {
        let mut w = self.lock();
        if w.pending.is_empty() {
            w.readers -= 1;
            return None;
        }
        let take = w.pending.len().min(BATCH);
        w.shared_batches += usize::from(take > 1);
        Some(w.pending.drain(..take).collect())
    }

    /// A guard that counts a reader task out if it ends before `next_batch` said `None`
    /// (its runtime shut down): the next caller starts a new reader for whoever waits.
    fn reader(&self) -> ReaderGone<'_, K, V> {
        ReaderGone(Some(self))
    }

    /// Asks for `key` and waits for the answer ([`Shared::Failed`] if the reader went away).
    /// `start_reader` is called when fewer than one reader per reader connection run: it
    /// spawns a task that runs [`SharedReads::serve`].
    pub(crate) async fn ask(&self, key: K, start_reader: impl FnOnce()) -> Shared<V> {
        let (answer, start) = self.join(key, crate::readers::READER_CONNECTIONS);
        if start {
            start_reader();
        }
        answer.await.unwrap_or(Shared::Failed)
    }

    /// A reader task's work: answers the waiting callers batch by batch with `read` until
    /// nobody waits.
    pub(crate) async fn serve<F: std::future::Future<Output = ()>>(
        &self,
        mut read: impl FnMut(Vec<Waiter<K, V>>) -> F,
    ) {
        let gone = self.reader();
        while let Some(batch) = self.next_batch() {
            read(batch).await;
        }
        gone.finished();
    }

    /// How many batches answered more than one caller.
    #[cfg(test)]
    pub(crate) fn shared_batches(&self) -> usize {
        self.lock().shared_batches
    }
}

/// The distinct ids of a batch of reads by id, for its statement.
pub(crate) fn ids<V>(batch: &[Waiter<i64, V>]) -> Vec<i64> {
    let mut ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Answers every caller of a batch of reads by id from the rows read (or the failure),
/// each row found by `key`.
pub(crate) fn answer<V: Clone, E>(batch: Vec<Waiter<i64, V>>, rows: Result<Vec<V>, E>, key: impl Fn(&V) -> i64) {
    let rows: Option<HashMap<i64, V>> = rows.ok().map(|rows| rows.into_iter().map(|r| (key(&r), r)).collect());
    for (id, tx) in batch {
        let answer = match &rows {
            None => Shared::Failed,
            Some(rows) => rows.get(&id).map_or(Shared::Missing, |r| Shared::Found(r.clone())),
        };
        // A caller that went away no longer needs the answer.
        let _ = tx.send(answer);
    }
}

/// Answers every caller of a batch with the same (shared) result, or the failure.
pub(crate) fn answer_all<K, V: Clone, E>(batch: Vec<Waiter<K, V>>, read: Result<V, E>) {
    for (_, tx) in batch {
        let _ = tx.send(read.as_ref().map_or(Shared::Failed, |v| Shared::Found(v.clone())));
    }
}

/// See [`SharedReads::reader`]; `finished` when `next_batch` said `None`.
struct ReaderGone<'a, K, V>(Option<&'a SharedReads<K, V>>);

impl<K, V> ReaderGone<'_, K, V> {
    fn finished(mut self) {
        self.0 = None;
    }
}

impl<K, V> Drop for ReaderGone<'_, K, V> {
    fn drop(&mut self) {
        if let Some(reads) = self.0 {
            reads.lock().readers -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_arriving_while_readers_are_busy_share_the_next_batch_and_each_gets_its_own_row() {
        let reads = SharedReads::<i64, (i64, String)>::default();
        let (first, start_first) = reads.join(1, 1);
        assert!(start_first, "a lone caller starts a reader");
        let batch = reads.next_batch().expect("the first caller");
        assert_eq!(ids(&batch), vec![1]);
        // While the first statement runs, three callers arrive: none starts a reader.
        let later: Vec<_> = [2, 3, 2].into_iter().map(|id| reads.join(id, 1)).collect();
        assert!(later.iter().all(|(_, start)| !start));
        answer(batch, Ok::<_, ()>(vec![(1, "one".into())]), |r| r.0);
        let batch = reads.next_batch().expect("the three waiting");
        assert_eq!(ids(&batch), vec![2, 3], "one statement, each id once");
        answer(batch, Ok::<_, ()>(vec![(2, "two".into())]), |r| r.0);
        assert!(reads.next_batch().is_none());
        assert_eq!(reads.lock().readers, 0);

        let mut answers = vec![first];
        answers.extend(later.into_iter().map(|(rx, _)| rx));
        let got: Vec<String> = answers
            .into_iter()
            .map(|mut rx| match rx.try_recv().expect("answered") {
                Shared::Found((id, name)) => format!("{id}:{name}"),
                Shared::Missing => "missing".into(),
                Shared::Failed => "failed".into(),
            })
            .collect();
        assert_eq!(got, ["1:one", "2:two", "missing", "2:two"]);
    }

    #[test]
    fn a_failed_batch_tells_every_caller_to_read_alone_and_a_gone_reader_is_counted_out() {
        let reads = SharedReads::<i64, i64>::default();
        let (mut rx, _) = reads.join(7, 2);
        let (_, second_starts) = reads.join(8, 2);
        assert!(second_starts, "up to two readers");
        {
            let _gone = reads.reader();
            let batch = reads.next_batch().expect("both");
            answer(batch, Err::<Vec<i64>, _>("connection reset"), |r| *r);
        }
        assert!(matches!(rx.try_recv(), Ok(Shared::Failed)));
        assert_eq!(reads.lock().readers, 1, "the dropped reader no longer counts");
        assert!(reads.next_batch().is_none());
        assert_eq!(reads.lock().readers, 0);
    }
}

#[cfg(test)]
mod store_tests {
    use crate::refs::BookingRefIds;
    use crate::test_support::fresh_store;
    use crate::tickets::Ticket;
    use crate::types::DbTime;
    use crate::StoreError;

    #[tokio::test]
    async fn many_callers_at_once_each_get_their_own_ticket_or_not_found_and_see_what_was_committed() {
        let test = fresh_store().await;
        let store = &test.store;
        let mut ids = vec![];
        for n in 1..=20 {
            ids.push(
                with_pool!(store, pool => sqlx::query_scalar::<_, i64>(
                "INSERT INTO tickets (number, ticket_type, title, priority, status, source, created_by, created_at, \
                 updated_at) VALUES ($1, 'ticket', $2, 'normal', 'new', 'api', 'api', $3, $3) RETURNING id")
                .bind(format!("T-2026-{n:06}")).bind(format!("Ticket {n}")).bind(DbTime::now())
                .fetch_one(pool).await)
                .unwrap(),
            );
        }
        let missing = ids[19] + 1000;
        // 200 callers at once (spawned before any reader runs), every ticket ten times, and a missing one.
        let mut calls = tokio::task::JoinSet::new();
        for n in 0..200 {
            let id = if n % 21 == 20 { missing } else { ids[n % 20] };
            let store = store.clone();
            calls.spawn(async move { (id, store.get_ticket(id).await) });
        }
        while let Some(call) = calls.join_next().await {
            let (id, got) = call.unwrap();
            if id == missing {
                assert!(matches!(got, Err(StoreError::NotFound)), "{got:?}");
                continue;
            }
            let alone: Ticket = with_pool!(store, pool =>
                sqlx::query_as("SELECT * FROM tickets WHERE id = $1").bind(id).fetch_one(pool).await)
            .unwrap();
            assert_eq!(got.unwrap(), alone);
        }
        if matches!(&*store.readers, crate::readers::ReaderSet::Postgres(_)) {
            assert!(store.ticket_reads.shared_batches() > 0, "the callers shared statements");
        }
        // A change committed a moment ago is what the next read (shared or not) sees.
        with_pool!(store, pool => sqlx::query("UPDATE tickets SET title = 'Renamed' WHERE id = $1")
            .bind(ids[3]).execute(pool).await.map(|_| ()))
        .unwrap();
        let (a, b) = tokio::join!(store.get_ticket(ids[3]), store.get_ticket(ids[4]));
        assert_eq!(a.unwrap().data.title, "Renamed");
        assert_eq!(b.unwrap().data.title, "Ticket 5");
        test.remove().await;
    }

    #[tokio::test]
    async fn booking_writes_at_once_each_learn_the_references_they_name() {
        let test = fresh_store().await;
        let store = &test.store;
        let mut services = vec![];
        for n in 1..=8 {
            services.push(
                with_pool!(store, pool => sqlx::query_scalar::<_, i64>(
                "INSERT INTO services (code, name, unit, kind, default_price, vat_rate, billable_by_default, version, \
                 created_at, updated_at) VALUES ($1, $2, 'hour', 'work', '90', '19', $3, 1, $4, $4) RETURNING id")
                .bind(format!("S{n}")).bind(format!("Service {n}")).bind(n % 2 == 0).bind(DbTime::now())
                .fetch_one(pool).await)
                .unwrap(),
            );
        }
        let mut calls = tokio::task::JoinSet::new();
        for n in 0..64 {
            let ids = BookingRefIds { services: vec![services[n % 8], 9_999_999], ..BookingRefIds::default() };
            let store = store.clone();
            calls.spawn(async move { (n % 8, store.booking_refs(&ids).await.unwrap()) });
        }
        while let Some(call) = calls.join_next().await {
            let (n, refs) = call.unwrap();
            let service = &refs.services[&services[n]];
            assert_eq!(service.name, format!("Service {}", n + 1));
            assert_eq!(service.billable_by_default, (n + 1) % 2 == 0);
            assert!(!refs.services.contains_key(&9_999_999), "an unknown id stays unknown");
        }
        assert!(store.ref_reads.shared_batches() > 0, "the callers shared statements");
        test.remove().await;
    }
}

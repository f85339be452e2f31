//! The one place that writes new booking rows: a multi-row insert in the form each backend
//! writes fastest (PostgreSQL: `UNNEST` over column arrays; SQLite: multi-row `VALUES` of a
//! few fixed shapes, as in `bulk`), and the audit entries and `booking.created` events of the
//! new bookings (the same JSON: the booking as created; on PostgreSQL one statement writes
//! all three).
//! A single booking is a batch of one; each row names who books it, so that the bookings
//! of several requests are written together (see `group`).

use super::{Booking, BookingData, BOOKING_COLUMNS};
use crate::audit::Actor;
use crate::bulk::{batches, values_sql, BulkWrite, EventInsert};
use crate::types::{DbTime, ExactDecimal};
use crate::Result;
use sqlx::{PgConnection, SqliteConnection};
use time::{Date, Time};

/// Most rows per SQLite statement (17 parameters a row: far below SQLite's 32766).
const SQLITE_ROWS: usize = 256;

/// A booking to insert and who books it.
#[derive(Clone, Copy)]
pub(crate) struct NewBooking<'a> {
    pub data: &'a BookingData,
    pub actor: &'a Actor,
}

/// Writing new bookings inside a transaction (`&mut *tx`).
pub(crate) trait BookingInsert {
    /// Inserts `rows` as open bookings in version 1, each created by its actor at `now`,
    /// writes their audit entries and `booking.created` events and returns them in the order
    /// of `rows`.
    async fn insert_bookings(&mut self, rows: &[NewBooking<'_>], now: DbTime) -> Result<Vec<Booking>>;
}

/// The audit entries' after-states of `created`.
fn after_states(created: &[Booking]) -> Result<Vec<String>> {
    created.iter().map(|b| Ok(serde_json::to_string(b)?)).collect()
}

/// The new bookings of `rows` given their ids in row order. A new booking is what was
/// inserted — open, version 1, created and updated at `now` — so it is built from the row
/// instead of being read back (`RETURNING *` decoded every column of every row again).
fn new_bookings(rows: &[NewBooking<'_>], ids: Vec<i64>, now: DbTime) -> Result<Vec<Booking>> {
    if ids.len() != rows.len() {
        let why = format!("{} bookings inserted, {} ids returned", rows.len(), ids.len());
        return Err(crate::StoreError::Database(sqlx::Error::Protocol(why)));
    }
    Ok(rows
        .iter()
        .zip(ids)
        .map(|(n, id)| Booking {
            id,
            data: n.data.clone(),
            state: "open".into(),
            created_by: n.actor.name.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect())
}

/// What follows the id in the JSON of the booking `row` will be (its audit after-state and
/// event payload): serde writes `id` first, so the JSON of the booking with id `n` is
/// `{"id":` n tail. Lets one statement take the ids from the sequence and write the JSON.
fn json_after_id(row: &NewBooking<'_>, now: DbTime) -> Result<String> {
    let json = serde_json::to_string(&new_bookings(std::slice::from_ref(row), vec![0], now)?[0])?;
    match json.strip_prefix(r#"{"id":0"#) {
        Some(tail) if tail.starts_with([',', '}']) => Ok(tail.to_string()),
        _ => Err(crate::StoreError::Database(sqlx::Error::Protocol(
            "a booking's JSON does not start with its id".into(),
        ))),
    }
}

impl BookingInsert for PgConnection {
    /// One statement: ids from the table's sequence, the bookings, their audit entries and
    /// events (data-modifying CTEs over one materialised row source). A single statement is
    /// atomic on its own: outside a transaction it needs no `BEGIN` and `COMMIT` round trips
    /// (see `group`).
    async fn insert_bookings(&mut self, new: &[NewBooking<'_>], now: DbTime) -> Result<Vec<Booking>> {
        if new.is_empty() {
            return Ok(vec![]);
        }
        let rows: Vec<&BookingData> = new.iter().map(|n| n.data).collect();
        let custom_fields: Vec<String> = rows.iter().map(|d| d.custom_fields.0.to_string()).collect();
        let tails: Vec<String> = new.iter().map(|n| json_after_id(n, now)).collect::<Result<_>>()?;
        // `u` is read by every part, so it is computed once (it calls a volatile function):
        // one sequence value per row. Events get their ids in booking order.
        let sql = format!(
            "WITH u AS (SELECT nextval('bookings_id_seq') AS id, u.* \
             FROM UNNEST($1::BIGINT[], $2::DATE[], $3::TIME[], $4::TIME[], $5::BIGINT[], $6::BIGINT[], $7::TEXT[], \
             $8::BIGINT[], $9::BIGINT[], $10::BIGINT[], $11::BIGINT[], $12::BOOLEAN[], $13::NUMERIC[], $14::TEXT[], \
             $15::TEXT[], $16::TEXT[], $17::BIGINT[], $18::TEXT[], $19::TEXT[]) WITH ORDINALITY \
             AS u({BOOKING_COLUMNS}, created_by, actor_type, actor_id, request_id, json_tail, n)), \
             b AS (INSERT INTO bookings (id, {BOOKING_COLUMNS}, created_by, version, created_at, updated_at) \
             SELECT id, {BOOKING_COLUMNS}, created_by, 1, $20, $20 FROM u), \
             audit AS (INSERT INTO audit_log (at, actor_type, actor_id, actor_name, entity_type, entity_id, \
             action, before_state, after_state, request_id) \
             SELECT $20, actor_type, actor_id, created_by, 'booking', id, 'create', NULL, \
             '{{\"id\":' || id || json_tail, request_id FROM u), \
             e AS (INSERT INTO events (event_type, entity_type, entity_id, payload, created_at) \
             SELECT 'booking.created', 'booking', id, '{{\"id\":' || id || json_tail, $20 FROM u ORDER BY n) \
             SELECT id FROM u ORDER BY n"
        );
        let ids: Vec<i64> = sqlx::query_scalar(&sql)
            .bind(rows.iter().map(|d| d.user_id).collect::<Vec<i64>>())
            .bind(rows.iter().map(|d| d.work_date).collect::<Vec<Date>>())
            .bind(rows.iter().map(|d| d.start_time).collect::<Vec<Option<Time>>>())
            .bind(rows.iter().map(|d| d.end_time).collect::<Vec<Option<Time>>>())
            .bind(rows.iter().map(|d| d.duration_minutes).collect::<Vec<i64>>())
            .bind(rows.iter().map(|d| d.service_id).collect::<Vec<i64>>())
            .bind(rows.iter().map(|d| d.description.as_str()).collect::<Vec<&str>>())
            .bind(rows.iter().map(|d| d.customer_id).collect::<Vec<Option<i64>>>())
            .bind(rows.iter().map(|d| d.ticket_id).collect::<Vec<Option<i64>>>())
            .bind(rows.iter().map(|d| d.project_id).collect::<Vec<Option<i64>>>())
            .bind(rows.iter().map(|d| d.task_id).collect::<Vec<Option<i64>>>())
            .bind(rows.iter().map(|d| d.billable).collect::<Vec<bool>>())
            .bind(rows.iter().map(|d| d.rate_override).collect::<Vec<Option<ExactDecimal>>>())
            .bind(custom_fields)
            .bind(new.iter().map(|n| n.actor.name.as_str()).collect::<Vec<&str>>())
            .bind(new.iter().map(|n| n.actor.kind.as_str()).collect::<Vec<&str>>())
            .bind(new.iter().map(|n| n.actor.id).collect::<Vec<Option<i64>>>())
            .bind(new.iter().map(|n| n.actor.request_id.as_deref()).collect::<Vec<Option<&str>>>())
            .bind(tails)
            .bind(now)
            .fetch_all(&mut *self)
            .await?;
        new_bookings(new, ids, now)
    }
}

impl BookingInsert for SqliteConnection {
    async fn insert_bookings(&mut self, rows: &[NewBooking<'_>], now: DbTime) -> Result<Vec<Booking>> {
        let mut ids = Vec::with_capacity(rows.len());
        for chunk in batches(rows, SQLITE_ROWS) {
            let head =
                format!("INSERT INTO bookings ({BOOKING_COLUMNS}, created_by, created_at, updated_at, version) VALUES");
            let sql = values_sql(&head, 17, chunk.len(), ", 1)") + " RETURNING id";
            let mut q = sqlx::query_scalar::<_, i64>(&sql);
            for n in chunk {
                q = bind_booking_data!(q, n.data).bind(&n.actor.name).bind(now).bind(now);
            }
            ids.extend(q.fetch_all(&mut *self).await?);
        }
        // The ids of one multi-row insert are ascending in row order; RETURNING's order is not promised.
        ids.sort_unstable();
        let created = new_bookings(rows, ids, now)?;
        let after = after_states(&created)?;
        let entries: Vec<(i64, &String, &Actor)> =
            created.iter().map(|b| b.id).zip(&after).zip(rows).map(|((id, after), n)| (id, after, n.actor)).collect();
        for chunk in batches(&entries, SQLITE_ROWS) {
            let sql = values_sql(
                "INSERT INTO audit_log (at, actor_type, actor_id, actor_name, entity_type, entity_id, action, \
                 before_state, after_state, request_id) \
                 SELECT ?, column1, column2, column3, 'booking', column4, 'create', NULL, column5, column6 FROM (VALUES",
                6,
                chunk.len(),
                ")",
            ) + ")";
            let mut q = sqlx::query(&sql).bind(now);
            for &(id, after, actor) in chunk {
                q = q
                    .bind(actor.kind.as_str())
                    .bind(actor.id)
                    .bind(&actor.name)
                    .bind(id)
                    .bind(after.as_str())
                    .bind(actor.request_id.as_deref());
            }
            q.execute(&mut *self).await?;
        }
        // The audit entries are written: their after-states become the events' payloads.
        drop(entries);
        let events: Vec<EventInsert<'_>> =
            created.iter().zip(after).map(|(b, after)| ("booking.created", "booking", b.id, after)).collect();
        self.insert_events(&events, now).await?;
        Ok(created)
    }
}

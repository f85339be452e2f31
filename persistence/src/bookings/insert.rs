//! The one place that writes new booking rows: a multi-row insert in the form each backend
//! writes fastest (PostgreSQL: `UNNEST` over column arrays; SQLite: multi-row `VALUES` of a
//! few fixed shapes, as in `bulk`), and the audit entries and `booking.created` events of the
//! new bookings (the same JSON: the booking as created; on PostgreSQL one statement writes
//! all three).
//! A single booking is a batch of one; each row names who books it, so that the bookings
//! of several requests are written together (see `group`).

use super::{Booking, BookingData, BOOKING_COLUMNS};
use crate::audit::Actor;
use crate::bulk::{batch_len, values_sql, BulkWrite, EventInsert};
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

/// The new bookings of `rows` given their ids (SQLite: returned by the insert; PostgreSQL:
/// taken from the sequence first): ids come from one sequence in row order, so the sorted
/// ids are the rows' in order. A new booking is what was
/// inserted — open, version 1, created and updated at `now` — so it is built from the row
/// instead of being read back (`RETURNING *` decoded every column of every row again).
fn new_bookings(rows: &[NewBooking<'_>], mut ids: Vec<i64>, now: DbTime) -> Result<Vec<Booking>> {
    if ids.len() != rows.len() {
        let why = format!("{} bookings inserted, {} ids returned", rows.len(), ids.len());
        return Err(crate::StoreError::Database(sqlx::Error::Protocol(why)));
    }
    ids.sort_unstable();
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

impl BookingInsert for PgConnection {
    /// Two statements: the ids (from the table's sequence), then bookings, audit entries and
    /// events in one statement (data-modifying CTEs). A single statement is atomic on its
    /// own: outside a transaction it needs no `BEGIN` and `COMMIT` round trips (see `group`).
    async fn insert_bookings(&mut self, new: &[NewBooking<'_>], now: DbTime) -> Result<Vec<Booking>> {
        if new.is_empty() {
            return Ok(vec![]);
        }
        // One sequence value per row, ascending (ids need not be gapless).
        let ids: Vec<i64> = sqlx::query_scalar("SELECT nextval('bookings_id_seq') FROM generate_series(1, $1)")
            .bind(new.len() as i64)
            .fetch_all(&mut *self)
            .await?;
        let created = new_bookings(new, ids, now)?;
        let rows: Vec<&BookingData> = new.iter().map(|n| n.data).collect();
        let custom_fields: Vec<String> = rows.iter().map(|d| d.custom_fields.0.to_string()).collect();
        // Events get their ids in booking order.
        let sql = format!(
            "WITH b AS (INSERT INTO bookings (id, {BOOKING_COLUMNS}, created_by, version, created_at, updated_at) \
             SELECT u.id, u.user_id, u.work_date, u.start_time, u.end_time, u.duration_minutes, u.service_id, \
             u.description, u.customer_id, u.ticket_id, u.project_id, u.task_id, u.billable, u.rate_override, \
             u.custom_fields, u.created_by, 1, $17, $17 \
             FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::DATE[], $4::TIME[], $5::TIME[], $6::BIGINT[], $7::BIGINT[], \
             $8::TEXT[], $9::BIGINT[], $10::BIGINT[], $11::BIGINT[], $12::BIGINT[], $13::BOOLEAN[], $14::NUMERIC[], \
             $15::TEXT[], $16::TEXT[]) AS u(id, {BOOKING_COLUMNS}, created_by)), \
             audit AS (INSERT INTO audit_log (at, actor_type, actor_id, actor_name, entity_type, entity_id, \
             action, before_state, after_state, request_id) \
             SELECT $17, a.actor_type, a.actor_id, a.actor_name, 'booking', a.id, 'create', NULL, a.after_state, \
             a.request_id \
             FROM UNNEST($18::TEXT[], $19::BIGINT[], $16::TEXT[], $20::TEXT[], $1::BIGINT[], $21::TEXT[]) \
             AS a(actor_type, actor_id, actor_name, request_id, id, after_state)) \
             INSERT INTO events (event_type, entity_type, entity_id, payload, created_at) \
             SELECT 'booking.created', 'booking', e.id, e.payload, $17 \
             FROM UNNEST($1::BIGINT[], $21::TEXT[]) WITH ORDINALITY AS e(id, payload, ord) ORDER BY e.ord"
        );
        sqlx::query(&sql)
            .bind(created.iter().map(|b| b.id).collect::<Vec<i64>>())
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
            .bind(now)
            .bind(new.iter().map(|n| n.actor.kind.as_str()).collect::<Vec<&str>>())
            .bind(new.iter().map(|n| n.actor.id).collect::<Vec<Option<i64>>>())
            .bind(new.iter().map(|n| n.actor.request_id.as_deref()).collect::<Vec<Option<&str>>>())
            .bind(after_states(&created)?)
            .execute(&mut *self)
            .await?;
        Ok(created)
    }
}

impl BookingInsert for SqliteConnection {
    async fn insert_bookings(&mut self, rows: &[NewBooking<'_>], now: DbTime) -> Result<Vec<Booking>> {
        let mut ids = Vec::with_capacity(rows.len());
        let mut rest = rows;
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(batch_len(rest.len(), SQLITE_ROWS));
            let head =
                format!("INSERT INTO bookings ({BOOKING_COLUMNS}, created_by, created_at, updated_at, version) VALUES");
            let sql = values_sql(&head, 17, chunk.len(), ", 1)") + " RETURNING id";
            let mut q = sqlx::query_scalar::<_, i64>(&sql);
            for n in chunk {
                q = bind_booking_data!(q, n.data).bind(&n.actor.name).bind(now).bind(now);
            }
            ids.extend(q.fetch_all(&mut *self).await?);
            rest = tail;
        }
        let created = new_bookings(rows, ids, now)?;
        let after = after_states(&created)?;
        let entries: Vec<(i64, &String, &Actor)> =
            created.iter().map(|b| b.id).zip(&after).zip(rows).map(|((id, after), n)| (id, after, n.actor)).collect();
        let mut rest = &entries[..];
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(batch_len(rest.len(), SQLITE_ROWS));
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
            rest = tail;
        }
        // The audit entries are written: their after-states become the events' payloads.
        drop(entries);
        let events: Vec<EventInsert<'_>> =
            created.iter().zip(after).map(|(b, after)| ("booking.created", "booking", b.id, after)).collect();
        self.insert_events(&events, now).await?;
        Ok(created)
    }
}

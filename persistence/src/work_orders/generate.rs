//! The work-order generator: for every active schedule of an active contract, a work order
//! (a ticket of type `work_order`) for each occurrence whose creation day (due date minus
//! lead time) has come — exactly once per (schedule, occurrence).
//!
//! Schedules are taken [`SCHEDULES_PER_TX`] at a time. Their rows are locked first (on
//! PostgreSQL a second node waits and then sees what the first created; SQLite has one
//! writer at a time), the last occurrence of each is read and the next ones are computed by
//! [`domain::schedule::Timing::to_create`]. `UNIQUE (schedule_id, occurrence)` on
//! `work_orders` backs this up: a duplicate can never be stored, only fail its transaction.
//!
//! On PostgreSQL [`PARALLEL_CHUNKS`] chunks are written side by side (each locks its own
//! schedules; their ticket numbers are reserved in a statement of their own, so neither waits
//! for the other's counter row); SQLite has one writer, so its chunks follow each other.

use super::Schedule;
use crate::audit::Actor;
use crate::tickets::{Ticket, TicketData};
use crate::types::{DbTime, JsonText};
use crate::{Result, Store, StoreError};
use domain::schedule::{LastOccurrence, Occurrence};
use domain::ticket::{ticket_number, Priority, TicketSource, TicketType};
use futures_util::StreamExt;
use time::Date;

/// Schedules handled in one transaction: a year generated at once writes about 2,300 orders
/// in one (some 100 ms of SQLite's writer); a usual hourly round a handful.
const SCHEDULES_PER_TX: usize = 128;
/// Most occurrences one schedule gets in one call (a daily schedule first generated for
/// years ahead is continued by the next call).
const MAX_PER_SCHEDULE: usize = 400;
/// Chunks written at once on PostgreSQL (each holds a connection, and one more for a moment
/// to reserve its ticket numbers): on two cores the bench's year (90,000 orders) took
/// 10.8–11.9 s one chunk at a time, 8.7–12.4 s with three (two: 10.0–11.9 s, four: 8.0–9.7 s
/// but two more connections).
const PARALLEL_CHUNKS: usize = 3;

/// A work order the generator created (or, in a dry run, would create).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GeneratedOrder {
    pub schedule_id: i64,
    pub contract_id: i64,
    pub customer_id: i64,
    /// 0 for a schedule's first occurrence.
    pub occurrence: u32,
    pub due_date: Date,
    /// The day the order was due to be created (due date minus lead time).
    pub create_on: Date,
    /// The ticket (`None` in a dry run).
    pub ticket_id: Option<i64>,
    /// The ticket's number (`None` in a dry run).
    pub number: Option<String>,
}

/// A schedule with what the generator needs from its contract and order type.
#[derive(sqlx::FromRow)]
struct PlannedSchedule {
    #[sqlx(flatten)]
    schedule: Schedule,
    customer_id: i64,
    contract_end: Option<Date>,
    type_lead_days: i64,
    type_service_id: Option<i64>,
}

/// The last occurrence of a schedule with its work order's end.
#[derive(sqlx::FromRow)]
struct LastRow {
    schedule_id: i64,
    occurrence: i64,
    skipped_at: Option<DbTime>,
    resolved_at: Option<DbTime>,
    closed_at: Option<DbTime>,
}

impl LastRow {
    fn last(&self) -> LastOccurrence {
        let ended = self.skipped_at.or(self.resolved_at).or(self.closed_at);
        LastOccurrence {
            number: u32::try_from(self.occurrence).unwrap_or(u32::MAX),
            ended_on: ended.map(|t| t.0.to_offset(time::UtcOffset::UTC).date()),
        }
    }
}

/// The schedules `$ids` (integers) with the occurrences each must have by `$until`, read in
/// `$conn`: only active schedules of active contracts.
macro_rules! plan_schedules {
    ($conn:expr, $ids:expr, $until:expr) => {{
        let list = $ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let schedules: Vec<PlannedSchedule> = sqlx::query_as(&format!(
            "SELECT s.*, c.customer_id, c.end_date AS contract_end, t.lead_days AS type_lead_days, \
             t.default_service_id AS type_service_id FROM work_order_schedules s \
             JOIN contracts c ON c.id = s.contract_id JOIN order_types t ON t.id = s.order_type_id \
             WHERE s.id IN ({list}) AND s.archived_at IS NULL AND NOT s.paused AND c.archived_at IS NULL ORDER BY s.id"
        ))
        .fetch_all(&mut *$conn)
        .await
        .map_err(StoreError::from)?;
        let lasts: Vec<LastRow> = sqlx::query_as(&format!(
            // Driven by the schedules' primary key, each one's last occurrence by the
            // (schedule_id, occurrence) key: no plan depends on the statistics of a
            // `work_orders` table the generator has just filled.
            "SELECT w.schedule_id, w.occurrence, w.skipped_at, k.resolved_at, k.closed_at \
             FROM work_order_schedules s JOIN work_orders w ON w.schedule_id = s.id \
             AND w.occurrence = (SELECT MAX(x.occurrence) FROM work_orders x WHERE x.schedule_id = s.id) \
             JOIN tickets k ON k.id = w.ticket_id WHERE s.id IN ({list})"
        ))
        .fetch_all(&mut *$conn)
        .await
        .map_err(StoreError::from)?;
        let mut planned: Vec<(PlannedSchedule, Vec<Occurrence>)> = Vec::with_capacity(schedules.len());
        for p in schedules {
            let last = lasts.iter().find(|l| l.schedule_id == p.schedule.id).map(LastRow::last);
            let timing = p.schedule.data.timing(p.type_lead_days, p.contract_end)?;
            let due = timing.to_create(last, $until, MAX_PER_SCHEDULE);
            if !due.is_empty() {
                planned.push((p, due));
            }
        }
        planned
    }};
}

impl Store {
    /// Creates the work orders of every occurrence whose creation day is `until` or earlier
    /// (a dry run only computes them); returns them by schedule and occurrence.
    pub async fn generate_work_orders(&self, until: Date, dry_run: bool, actor: &Actor) -> Result<Vec<GeneratedOrder>> {
        // The contract's state is checked per chunk (`plan_schedules!`): no join here, whose
        // plan would depend on statistics.
        let ids: Vec<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM work_order_schedules WHERE archived_at IS NULL AND NOT paused ORDER BY id")
            .fetch_all(pool).await?);
        let mut out = Vec::new();
        if dry_run {
            for chunk in ids.chunks(SCHEDULES_PER_TX) {
                let planned = with_pool!(self, pool => {
                    let mut conn = pool.acquire().await?;
                    Ok::<_, StoreError>(plan_schedules!(conn, chunk, until))
                })?;
                out.extend(planned.iter().flat_map(|(p, due)| due.iter().map(|o| order_of(p, o, None))));
            }
            return Ok(out);
        }
        let parallel = match &*self.db {
            // Each chunk holds a transaction and briefly a second connection: never more
            // than the pool can give without waiting on itself.
            crate::store::Db::Postgres(pool) if pool.options().get_max_connections() >= 2 * PARALLEL_CHUNKS as u32 => {
                PARALLEL_CHUNKS
            }
            _ => 1,
        };
        let chunks: Vec<Vec<i64>> = ids.chunks(SCHEDULES_PER_TX).map(<[i64]>::to_vec).collect();
        let mut chunks = futures_util::stream::iter(chunks)
            .map(|chunk| async move { self.generate_chunk(&chunk, until, actor).await })
            .buffered(parallel);
        while let Some(created) = chunks.next().await {
            out.extend(created?);
        }
        Ok(out)
    }

    /// Creates the due work orders of the schedules `ids` in one transaction, each table's
    /// rows in one statement (tickets, their first timeline entries, the work-order links,
    /// events and audit records): a year of orders for thousands of contracts is written in
    /// seconds, not one round trip per row.
    async fn generate_chunk(&self, ids: &[i64], until: Date, actor: &Actor) -> Result<Vec<GeneratedOrder>> {
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let now = DbTime::now();
        let year = now.0.year();
        let backend = self.backend();
        let created = in_tx!(self, tx => {
            // The lock: a second generator (another node) waits here and then reads the
            // occurrences this one created.
            sqlx::query(&format!("UPDATE work_order_schedules SET version = version WHERE id IN ({list})"))
                .execute(&mut *tx).await?;
            let planned = plan_schedules!(tx, ids, until);
            let count: usize = planned.iter().map(|(_, due)| due.len()).sum();
            if count == 0 {
                Vec::new()
            } else {
                let count_i64 = i64::try_from(count).unwrap_or(i64::MAX);
                let first = if backend == crate::store::Backend::Postgres {
                    // Reserved outside this transaction: a chunk beside it does not wait for
                    // this one's commit (a failed chunk leaves its numbers unused; ticket
                    // numbers are unique and increasing, not gapless).
                    self.reserve_numbers(&format!("ticket-{year}"), count_i64).await?
                } else {
                    next_number!(tx, format!("ticket-{year}"), 1, count = count_i64)?
                };
                let mut orders: Vec<(&PlannedSchedule, &Occurrence, TicketData, String, JsonText)> = Vec::with_capacity(count);
                for (p, due) in &planned {
                    let s = &p.schedule;
                    let items: Vec<String> = serde_json::from_value(s.data.instructions.0.clone()).unwrap_or_default();
                    let checklist = JsonText(serde_json::Value::Array(
                        items.iter().map(|i| serde_json::json!({ "item": i, "done": false })).collect(),
                    ));
                    let description = (!items.is_empty())
                        .then(|| items.iter().map(|i| format!("- [ ] {i}")).collect::<Vec<_>>().join("\n"));
                    for o in due {
                        let seq = first + i64::try_from(orders.len()).unwrap_or(i64::MAX);
                        orders.push((p, o, work_order_ticket(p, o, description.clone()), ticket_number(year, seq), checklist.clone()));
                    }
                }
                // Tickets, in one statement; their ids by number.
                let rows: Vec<serde_json::Value> = orders.iter().map(|(_, _, d, number, _)| serde_json::json!({
                    "number": number, "title": d.title, "description": d.description, "customer_id": d.customer_id,
                    "contract_id": d.contract_id, "assignee_user_id": d.assignee_user_id,
                    "assignee_team_id": d.assignee_team_id, "due_date": d.due_date.map(|d| d.to_string()),
                    "estimate_minutes": d.estimate_minutes,
                })).collect();
                let sql = format!(
                    "INSERT INTO tickets (number, title, description, customer_id, contract_id, assignee_user_id, \
                     assignee_team_id, due_date, estimate_minutes, status, created_by, version, created_at, updated_at, \
                     ticket_type, priority, source) SELECT {}, 'new', $2, 1, $3, $3, 'work_order', 'normal', 'schedule' \
                     FROM {} RETURNING id, number",
                    from_json(backend, TICKET_FIELDS).0, from_json(backend, TICKET_FIELDS).1);
                let ids: Vec<(i64, String)> = sqlx::query_as(&sql)
                    .bind(serde_json::Value::Array(rows).to_string()).bind(&actor.name).bind(now)
                    .fetch_all(&mut *tx).await?;
                let ids: std::collections::HashMap<String, i64> = ids.into_iter().map(|(id, n)| (n, id)).collect();
                let tickets: Vec<Ticket> = orders.iter().map(|(_, _, data, number, _)| Ticket {
                    id: ids.get(number).copied().unwrap_or_default(),
                    number: number.clone(),
                    data: data.clone(),
                    status: domain::ticket::TicketStatus::New,
                    resolved_at: None,
                    closed_at: None,
                    created_by: actor.name.clone(),
                    version: 1,
                    created_at: now,
                    updated_at: now,
                }).collect();
                if tickets.iter().any(|t| t.id == 0) {
                    return Err(StoreError::Conflict("a generated work order's ticket was not stored".into()));
                }
                // Their first timeline entries and the links to schedule and occurrence.
                let entries: Vec<serde_json::Value> = tickets.iter().map(|t| serde_json::json!({"ticket_id": t.id})).collect();
                let (select, from) = from_json(backend, &[("ticket_id", "bigint")]);
                sqlx::query(&format!(
                    "INSERT INTO ticket_timeline (ticket_id, entry_type, visibility, in_report, new_status, author_type, \
                     author_id, author_name, created_at) SELECT {select}, 'status_change', 'internal', {false_}, 'new', $2, $3, \
                     $4, $5 FROM {from}", false_ = if backend == crate::store::Backend::Postgres { "FALSE" } else { "0" }))
                    .bind(serde_json::Value::Array(entries).to_string()).bind(actor.kind.as_str()).bind(actor.id)
                    .bind(&actor.name).bind(now)
                    .execute(&mut *tx).await?;
                let links: Vec<serde_json::Value> = orders.iter().zip(&tickets).map(|((p, o, _, _, checklist), t)| serde_json::json!({
                    "ticket_id": t.id, "schedule_id": p.schedule.id, "occurrence": o.number,
                    "planned_due": o.due.to_string(), "checklist": checklist.0.to_string(),
                })).collect();
                let (select, from) = from_json(backend, LINK_FIELDS);
                sqlx::query(&format!(
                    "INSERT INTO work_orders (ticket_id, schedule_id, occurrence, planned_due, checklist) SELECT {select} FROM {from}"))
                    .bind(serde_json::Value::Array(links).to_string())
                    .execute(&mut *tx).await?;
                // Announced and audited as each ticket created alone would be.
                let mut created = Vec::with_capacity(count);
                let mut events: Vec<crate::bulk::EventInsert<'_>> = Vec::with_capacity(2 * count);
                let mut audit: Vec<crate::bulk::AuditInsert> = Vec::with_capacity(count);
                for ((p, o, _, _, _), t) in orders.iter().zip(&tickets) {
                    let order = order_of(p, o, Some(t));
                    let ticket_json = serde_json::to_string(t)?;
                    events.push(("ticket.created", "ticket", t.id, ticket_json.clone()));
                    events.push(("workorder.created", "ticket", t.id, serde_json::to_string(&serde_json::json!({
                        "ticket": t, "work_order": order, "service_id": p.schedule.data.service_id.or(p.type_service_id),
                    }))?));
                    audit.push((t.id, None, Some(ticket_json)));
                    created.push(order);
                }
                crate::bulk::BulkWrite::insert_events(&mut *tx, &events, now).await?;
                crate::bulk::BulkWrite::insert_audit(&mut *tx, actor, "ticket", "create", &audit).await?;
                created
            }
        });
        Ok(created)
    }
}

impl Store {
    /// Reserves `count` numbers of sequence `name` (starting at 1) in a statement of its own;
    /// the first of them.
    async fn reserve_numbers(&self, name: &str, count: i64) -> Result<i64> {
        with_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            next_number!(conn, name, 1, count = count)
        })
    }
}

/// The ticket columns a generated work order's row carries in the JSON of a chunk.
const TICKET_FIELDS: &[(&str, &str)] = &[
    ("number", "text"),
    ("title", "text"),
    ("description", "text"),
    ("customer_id", "bigint"),
    ("contract_id", "bigint"),
    ("assignee_user_id", "bigint"),
    ("assignee_team_id", "bigint"),
    ("due_date", "date"),
    ("estimate_minutes", "bigint"),
];

/// The columns of a work order's link row.
const LINK_FIELDS: &[(&str, &str)] = &[
    ("ticket_id", "bigint"),
    ("schedule_id", "bigint"),
    ("occurrence", "bigint"),
    ("planned_due", "date"),
    ("checklist", "text"),
];

/// The select list and row source of `fields` read from a JSON array of objects bound as
/// `$1`: `json_each` on SQLite, `jsonb_to_recordset` on PostgreSQL.
fn from_json(backend: crate::store::Backend, fields: &[(&str, &str)]) -> (String, String) {
    match backend {
        crate::store::Backend::Sqlite => (
            fields.iter().map(|(f, _)| format!("json_extract(value, '$.{f}')")).collect::<Vec<_>>().join(", "),
            "json_each($1)".to_string(),
        ),
        crate::store::Backend::Postgres => (
            fields.iter().map(|(f, _)| format!("x.{f}")).collect::<Vec<_>>().join(", "),
            format!(
                "jsonb_to_recordset($1::jsonb) AS x({})",
                fields.iter().map(|(f, t)| format!("{f} {t}")).collect::<Vec<_>>().join(", ")
            ),
        ),
    }
}

/// The ticket of occurrence `o` of schedule `p`.
fn work_order_ticket(p: &PlannedSchedule, o: &Occurrence, description: Option<String>) -> TicketData {
    let s = &p.schedule;
    TicketData {
        ticket_type: TicketType::WorkOrder,
        title: s.data.title.clone(),
        description,
        customer_id: Some(p.customer_id),
        contact_id: None,
        project_id: None,
        task_id: None,
        contract_id: Some(s.contract_id),
        assignee_user_id: s.data.assignee_user_id,
        assignee_team_id: s.data.assignee_team_id,
        priority: Priority::Normal,
        due_date: Some(o.due),
        estimate_minutes: s.data.estimate_minutes,
        source: TicketSource::Schedule,
        external_system: None,
        external_id: None,
        external_url: None,
        custom_fields: JsonText(serde_json::json!({})),
    }
}

fn order_of(p: &PlannedSchedule, o: &Occurrence, ticket: Option<&Ticket>) -> GeneratedOrder {
    GeneratedOrder {
        schedule_id: p.schedule.id,
        contract_id: p.schedule.contract_id,
        customer_id: p.customer_id,
        occurrence: o.number,
        due_date: o.due,
        create_on: o.create_on,
        ticket_id: ticket.map(|t| t.id),
        number: ticket.map(|t| t.number.clone()),
    }
}

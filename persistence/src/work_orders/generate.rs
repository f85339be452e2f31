//! The work-order generator: for every active schedule of an active contract, a work order
//! (a ticket of type `work_order`) for each occurrence whose creation day (due date minus
//! lead time) has come — exactly once per (schedule, occurrence).
//!
//! Schedules are taken [`SCHEDULES_PER_TX`] at a time. Their rows are locked first (on
//! PostgreSQL a second node waits and then sees what the first created; SQLite has one
//! writer at a time), the last occurrence of each is read and the next ones are computed by
//! [`domain::schedule::Timing::to_create`]. `UNIQUE (schedule_id, occurrence)` on
//! `work_orders` backs this up: a duplicate can never be stored, only fail its transaction.

use super::Schedule;
use crate::audit::Actor;
use crate::tickets::{Ticket, TicketData};
use crate::types::{DbTime, JsonText};
use crate::{Result, Store, StoreError};
use domain::schedule::{LastOccurrence, Occurrence};
use domain::ticket::{ticket_number, Priority, TicketSource, TicketType};
use time::Date;

/// Schedules handled in one transaction.
const SCHEDULES_PER_TX: usize = 64;
/// Most occurrences one schedule gets in one call (a daily schedule first generated for
/// years ahead is continued by the next call).
const MAX_PER_SCHEDULE: usize = 400;

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
            "SELECT w.schedule_id, w.occurrence, w.skipped_at, k.resolved_at, k.closed_at FROM work_orders w \
             JOIN tickets k ON k.id = w.ticket_id WHERE w.schedule_id IN ({list}) \
             AND w.occurrence = (SELECT MAX(x.occurrence) FROM work_orders x WHERE x.schedule_id = w.schedule_id)"
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
        let ids: Vec<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT s.id FROM work_order_schedules s JOIN contracts c ON c.id = s.contract_id \
             WHERE s.archived_at IS NULL AND NOT s.paused AND c.archived_at IS NULL ORDER BY s.id")
            .fetch_all(pool).await?);
        let mut out = Vec::new();
        for chunk in ids.chunks(SCHEDULES_PER_TX) {
            if dry_run {
                let planned = with_pool!(self, pool => {
                    let mut conn = pool.acquire().await?;
                    Ok::<_, StoreError>(plan_schedules!(conn, chunk, until))
                })?;
                out.extend(planned.iter().flat_map(|(p, due)| due.iter().map(|o| order_of(p, o, None))));
            } else {
                out.extend(self.generate_chunk(chunk, until, actor).await?);
            }
        }
        Ok(out)
    }

    /// Creates the due work orders of the schedules `ids` in one transaction.
    async fn generate_chunk(&self, ids: &[i64], until: Date, actor: &Actor) -> Result<Vec<GeneratedOrder>> {
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let now = DbTime::now();
        let year = now.0.year();
        let created = in_tx!(self, tx => {
            // The lock: a second generator (another node) waits here and then reads the
            // occurrences this one created.
            sqlx::query(&format!("UPDATE work_order_schedules SET version = version WHERE id IN ({list})"))
                .execute(&mut *tx).await?;
            let planned = plan_schedules!(tx, ids, until);
            let count: usize = planned.iter().map(|(_, due)| due.len()).sum();
            let mut created = Vec::with_capacity(count);
            if count > 0 {
                let mut seq = next_number!(tx, format!("ticket-{year}"), 1, count = i64::try_from(count).unwrap_or(i64::MAX))?;
                for (p, due) in &planned {
                    let s = &p.schedule;
                    let items: Vec<String> = serde_json::from_value(s.data.instructions.0.clone()).unwrap_or_default();
                    let checklist = JsonText(serde_json::Value::Array(
                        items.iter().map(|i| serde_json::json!({ "item": i, "done": false })).collect(),
                    ));
                    let description = (!items.is_empty())
                        .then(|| items.iter().map(|i| format!("- [ ] {i}")).collect::<Vec<_>>().join("\n"));
                    for o in due {
                        let data = TicketData {
                            ticket_type: TicketType::WorkOrder,
                            title: s.data.title.clone(),
                            description: description.clone(),
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
                        };
                        let ticket: Ticket = crate::tickets::write_new_ticket!(tx, &data, ticket_number(year, seq), now, actor);
                        seq += 1;
                        sqlx::query(
                            "INSERT INTO work_orders (ticket_id, schedule_id, occurrence, planned_due, checklist) \
                             VALUES ($1, $2, $3, $4, $5)")
                            .bind(ticket.id).bind(s.id).bind(i64::from(o.number)).bind(o.due).bind(&checklist)
                            .execute(&mut *tx).await?;
                        let order = order_of(p, o, Some(&ticket));
                        emit_event!(tx, "workorder.created", "ticket", ticket.id, &serde_json::json!({
                            "ticket": ticket,
                            "work_order": order,
                            "service_id": s.data.service_id.or(p.type_service_id),
                        }));
                        created.push(order);
                    }
                }
            }
            created
        });
        Ok(created)
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

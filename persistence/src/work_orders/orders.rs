//! Generated work orders as planners see them — the ticket with its schedule, occurrence and
//! checklist — and what a dispatcher does with one: move it to another day, skip it. Also
//! the once-only `workorder.overdue` announcement.

use crate::audit::Actor;
use crate::page::{Page, PageRequest};
use crate::tickets::{NewTimelineEntry, Ticket};
use crate::types::{DbTime, JsonText};
use crate::{Result, Store, StoreError};
use domain::ticket::TicketStatus;
use time::Date;

/// A work order: its ticket's planning fields and its link to the schedule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct WorkOrder {
    /// The ticket's id.
    pub id: i64,
    pub number: String,
    pub title: String,
    #[sqlx(try_from = "String")]
    pub status: TicketStatus,
    pub customer_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
    pub estimate_minutes: Option<i64>,
    /// When it is due now (moved by rescheduling).
    pub due_date: Option<Date>,
    pub resolved_at: Option<DbTime>,
    pub schedule_id: i64,
    pub order_type_id: i64,
    pub occurrence: i64,
    /// When the schedule made it due.
    pub planned_due: Date,
    /// `[{item, done}]`.
    pub checklist: JsonText,
    pub skipped_at: Option<DbTime>,
    pub skip_reason: Option<String>,
    pub reschedule_reason: Option<String>,
    /// When it was announced overdue.
    pub overdue_at: Option<DbTime>,
    /// The expense that bills the execution's fixed price (set once, when it is done).
    pub execution_expense_id: Option<i64>,
}

/// What a work order's state means for planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Not resolved, closed or skipped.
    Open,
    /// Resolved or closed (not skipped).
    Done,
    /// Skipped.
    Skipped,
}

/// Which work orders to list (all filters combine); sorted by due date, then id.
#[derive(Debug, Clone, Default)]
pub struct WorkOrderFilter {
    pub due_from: Option<Date>,
    pub due_to: Option<Date>,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub order_type_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub schedule_id: Option<i64>,
    pub state: Option<OrderState>,
    /// Only open orders due before this day.
    pub overdue_on: Option<Date>,
}

const SELECT: &str = "SELECT k.id, k.number, k.title, k.status, k.customer_id, k.contract_id, k.assignee_user_id, \
    k.assignee_team_id, k.estimate_minutes, k.due_date, k.resolved_at, w.schedule_id, s.order_type_id, w.occurrence, \
    w.planned_due, w.checklist, w.skipped_at, w.skip_reason, w.reschedule_reason, w.overdue_at, \
    w.execution_expense_id FROM work_orders w JOIN tickets k ON k.id = w.ticket_id JOIN work_order_schedules s ON s.id = w.schedule_id";

/// What a done order of a `fixed_price` schedule bills: its price, the text and the VAT rate
/// of the execution's line (the execution service's rate, else the contract fee's).
#[derive(sqlx::FromRow)]
pub(crate) struct ExecutionPrice {
    pub execution_billing: String,
    pub fixed_price: Option<crate::types::ExactDecimal>,
    pub execution_expense_id: Option<i64>,
    pub title: String,
    /// The day the order is due (as moved by rescheduling): the execution's date.
    pub due: Date,
    pub customer_id: Option<i64>,
    pub vat_rate: crate::types::ExactDecimal,
}

/// Reads [`ExecutionPrice`] of work order `$1`.
pub(crate) const EXECUTION_PRICE: &str = "SELECT s.execution_billing, s.fixed_price, w.execution_expense_id, s.title, \
    COALESCE(k.due_date, w.planned_due) AS due, k.customer_id, COALESCE(svc.vat_rate, c.fee_vat_rate) AS vat_rate \
    FROM work_orders w JOIN tickets k ON k.id = w.ticket_id JOIN work_order_schedules s ON s.id = w.schedule_id \
    JOIN contracts c ON c.id = s.contract_id JOIN order_types ot ON ot.id = s.order_type_id \
    LEFT JOIN services svc ON svc.id = COALESCE(s.service_id, ot.default_service_id) WHERE w.ticket_id = $1";

/// Inside `$tx`, when work order `$id` is done: the fixed price of its execution (a
/// `fixed_price` schedule) becomes an expense on the order, dated the day the order is due
/// (so it is billed, and evaluated, with the fee of the period it belongs to) — once per
/// order; the invoice run bills it with the contract's fee.
macro_rules! record_execution {
    ($tx:expr, $id:expr, $actor:expr) => {{
        let price: Option<$crate::work_orders::orders::ExecutionPrice> =
            sqlx::query_as($crate::work_orders::orders::EXECUTION_PRICE)
                .bind($id)
                .fetch_optional(&mut *$tx)
                .await
                .map_err($crate::StoreError::from)?;
        if let Some(p) = price.filter(|p| p.execution_billing == "fixed_price" && p.execution_expense_id.is_none()) {
            if let Some(amount) = p.fixed_price {
                let data = $crate::expenses::ExpenseData {
                    user_id: None,
                    expense_date: p.due,
                    service_id: None,
                    description: format!("{} (due {})", p.title, p.due),
                    quantity: $crate::types::ExactDecimal(rust_decimal::Decimal::ONE),
                    unit: "flat".into(),
                    unit_price: amount,
                    vat_rate: p.vat_rate,
                    billable: true,
                    customer_id: p.customer_id,
                    ticket_id: Some($id),
                    project_id: None,
                    task_id: None,
                };
                let expense = $crate::expenses::insert_expense!($tx, &data, $actor);
                sqlx::query("UPDATE work_orders SET execution_expense_id = $1 WHERE ticket_id = $2")
                    .bind(expense.id)
                    .bind($id)
                    .execute(&mut *$tx)
                    .await
                    .map_err($crate::StoreError::from)?;
            }
        }
    }};
}
pub(crate) use record_execution;

/// The SQL condition of an open order (`k` the ticket, `w` the link).
const OPEN: &str = "k.status NOT IN ('resolved', 'closed') AND w.skipped_at IS NULL";

impl Store {
    /// Work orders by due date after the key `(due date, id)`.
    pub async fn list_work_orders(
        &self,
        f: &WorkOrderFilter,
        page: &PageRequest<(Date, i64)>,
    ) -> Result<Page<WorkOrder, (Date, i64)>> {
        let (after_date, after_id) = match page.after {
            Some((d, id)) => (Some(d), id),
            None => (None, 0),
        };
        let state = match f.state {
            None => "",
            Some(OrderState::Open) => " AND k.status NOT IN ('resolved', 'closed') AND w.skipped_at IS NULL",
            Some(OrderState::Done) => " AND k.status IN ('resolved', 'closed') AND w.skipped_at IS NULL",
            Some(OrderState::Skipped) => " AND w.skipped_at IS NOT NULL",
        };
        let overdue = if f.overdue_on.is_some() { format!(" AND {OPEN} AND k.due_date < $10") } else { String::new() };
        let sql = format!(
            "{SELECT} WHERE ($1 IS NULL OR k.due_date >= $1) AND ($2 IS NULL OR k.due_date <= $2) \
             AND ($3 IS NULL OR k.assignee_team_id = $3) AND ($4 IS NULL OR k.assignee_user_id = $4) \
             AND ($5 IS NULL OR s.order_type_id = $5) AND ($6 IS NULL OR k.customer_id = $6) \
             AND ($7 IS NULL OR k.contract_id = $7) AND ($8 IS NULL OR w.schedule_id = $8) \
             AND ($9 IS NULL OR k.due_date > $9 OR (k.due_date = $9 AND k.id > $11)){state}{overdue} \
             ORDER BY k.due_date, k.id LIMIT $12"
        );
        let rows: Vec<WorkOrder> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(f.due_from).bind(f.due_to).bind(f.team_id).bind(f.assignee_id).bind(f.order_type_id)
            .bind(f.customer_id).bind(f.contract_id).bind(f.schedule_id).bind(after_date).bind(f.overdue_on)
            .bind(after_id).bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        Ok(Page::from_overfetch(rows, page.limit, |o| (o.due_date.unwrap_or(o.planned_due), o.id)))
    }

    /// The work order of ticket `id` ([`StoreError::NotFound`] for other tickets).
    pub async fn get_work_order(&self, id: i64) -> Result<WorkOrder> {
        with_pool!(self, pool => Ok(sqlx::query_as(&format!("{SELECT} WHERE w.ticket_id = $1"))
            .bind(id).fetch_one(pool).await?))
    }

    /// Moves an open work order to `due` (the customer agreed another day), with the reason
    /// on its timeline; an order overdue before may be announced again once the new day passed.
    pub async fn reschedule_work_order(&self, id: i64, due: Date, reason: &str, actor: &Actor) -> Result<WorkOrder> {
        in_tx!(self, tx => {
            crate::tickets::lock_ticket!(tx, id);
            let before: WorkOrder = sqlx::query_as(&format!("{SELECT} WHERE w.ticket_id = $1"))
                .bind(id).fetch_one(&mut *tx).await?;
            ensure_open(&before)?;
            let ticket: Ticket = sqlx::query_as(
                "UPDATE tickets SET due_date = $1, version = version + 1, updated_at = $2 WHERE id = $3 RETURNING *")
                .bind(due).bind(DbTime::now()).bind(id).fetch_one(&mut *tx).await?;
            sqlx::query("UPDATE work_orders SET reschedule_reason = $1, overdue_at = NULL WHERE ticket_id = $2")
                .bind(reason).bind(id).execute(&mut *tx).await?;
            let from = before.due_date.map(|d| d.to_string()).unwrap_or_default();
            let note = NewTimelineEntry {
                entry_type: "note".into(),
                visibility: "internal".into(),
                body: Some(format!("Rescheduled from {from} to {due}: {reason}")),
                ..Default::default()
            };
            crate::tickets::insert_timeline!(tx, id, note, None::<i64>, None::<&str>, None::<&str>, actor);
            audit!(tx, actor, "ticket", id, "reschedule", Some(&before), Some(&ticket));
            emit_event!(tx, "ticket.updated", "ticket", id, &ticket);
        });
        self.get_work_order(id).await
    }

    /// Skips an open work order: it is closed (not done), with the reason; an
    /// `after_completion` schedule counts its next interval from today.
    pub async fn skip_work_order(&self, id: i64, reason: &str, actor: &Actor) -> Result<WorkOrder> {
        in_tx!(self, tx => {
            crate::tickets::lock_ticket!(tx, id);
            let before: WorkOrder = sqlx::query_as(&format!("{SELECT} WHERE w.ticket_id = $1"))
                .bind(id).fetch_one(&mut *tx).await?;
            ensure_open(&before)?;
            let now = DbTime::now();
            let ticket: Ticket = sqlx::query_as(
                "UPDATE tickets SET status = 'closed', closed_at = $1, version = version + 1, updated_at = $1 \
                 WHERE id = $2 RETURNING *")
                .bind(now).bind(id).fetch_one(&mut *tx).await?;
            sqlx::query("UPDATE work_orders SET skipped_at = $1, skip_reason = $2 WHERE ticket_id = $3")
                .bind(now).bind(reason).bind(id).execute(&mut *tx).await?;
            let entry = NewTimelineEntry {
                entry_type: "status_change".into(),
                visibility: "internal".into(),
                body: Some(format!("Skipped: {reason}")),
                ..Default::default()
            };
            crate::tickets::insert_timeline!(tx, id, entry, None::<i64>, Some(before.status.as_str()), Some("closed"), actor);
            audit!(tx, actor, "ticket", id, "skip", Some(&before), Some(&ticket));
            emit_event!(tx, "ticket.status_changed", "ticket", id,
                &crate::tickets::status_changed_payload(before.status, &ticket));
        });
        self.get_work_order(id).await
    }

    /// Replaces the checklist of a work order that is not skipped (`[{item, done}]`): the
    /// technician ticks what was done, also after resolving it.
    pub async fn set_work_order_checklist(
        &self,
        id: i64,
        checklist: &serde_json::Value,
        actor: &Actor,
    ) -> Result<WorkOrder> {
        in_tx!(self, tx => {
            crate::tickets::lock_ticket!(tx, id);
            let before: WorkOrder = sqlx::query_as(&format!("{SELECT} WHERE w.ticket_id = $1"))
                .bind(id).fetch_one(&mut *tx).await?;
            if before.skipped_at.is_some() {
                return Err(StoreError::Conflict(format!("work order {} is skipped", before.number)));
            }
            sqlx::query("UPDATE work_orders SET checklist = $1 WHERE ticket_id = $2")
                .bind(JsonText(checklist.clone())).bind(id).execute(&mut *tx).await?;
            audit!(tx, actor, "ticket", id, "checklist", Some(&before.checklist), Some(checklist));
        });
        self.get_work_order(id).await
    }

    /// Announces every open work order due before `today` that was not announced yet
    /// (`workorder.overdue`, once per order — on any number of nodes); how many.
    pub async fn announce_overdue_work_orders(&self, today: Date) -> Result<usize> {
        let due: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(&format!(
            "SELECT w.ticket_id FROM work_orders w JOIN tickets k ON k.id = w.ticket_id \
             WHERE w.overdue_at IS NULL AND {OPEN} AND k.due_date < $1 LIMIT 1"))
            .bind(today).fetch_optional(pool).await?);
        if due.is_none() {
            return Ok(0);
        }
        let n = in_tx!(self, tx => {
            // Marking first: of two nodes, the second finds the rows marked (it waits for
            // the first's lock on PostgreSQL and then re-checks `overdue_at IS NULL`).
            let marked: Vec<i64> = sqlx::query_scalar(&format!(
                "UPDATE work_orders SET overdue_at = $1 WHERE overdue_at IS NULL AND skipped_at IS NULL \
                 AND ticket_id IN (SELECT k.id FROM tickets k JOIN work_orders w ON w.ticket_id = k.id \
                 WHERE {OPEN} AND k.due_date < $2) RETURNING ticket_id"))
                .bind(DbTime::now()).bind(today).fetch_all(&mut *tx).await?;
            for id in &marked {
                let order: WorkOrder = sqlx::query_as(&format!("{SELECT} WHERE w.ticket_id = $1"))
                    .bind(id).fetch_one(&mut *tx).await?;
                emit_event!(tx, "workorder.overdue", "ticket", *id, &order);
            }
            marked.len()
        });
        Ok(n)
    }
}

fn ensure_open(o: &WorkOrder) -> Result<()> {
    if o.skipped_at.is_some() || o.status.is_done() {
        return Err(StoreError::Conflict(format!(
            "work order {} is {}; only open orders are rescheduled or skipped",
            o.number,
            if o.skipped_at.is_some() { "skipped" } else { o.status.as_str() }
        )));
    }
    Ok(())
}

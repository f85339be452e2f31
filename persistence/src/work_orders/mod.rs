//! Storage of periodic work orders (seed 004): order types, the schedules on contracts and
//! the link of each generated work order (a ticket of type `work_order`) to its schedule
//! and occurrence ([`generate`]).
//!
//! Order types and schedules are archived, never deleted: work orders point at them.

use crate::audit::Actor;
use crate::catalog::archived_mode;
use crate::types::{DbTime, ExactDecimal, JsonText};
use crate::{Result, Store, StoreError};
use domain::schedule::{ExecutionBilling, ExtraWorkBilling, IntervalUnit, Recurrence, RecurrenceMode, Timing, Window};
use time::Date;

pub mod capacity;
pub mod generate;
pub mod orders;

/// The writable fields of an order type.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct OrderTypeData {
    /// Unique code, e.g. `on_site`.
    pub code: String,
    pub name: String,
    /// Days between creating a work order and its due date, unless the schedule says otherwise.
    pub lead_days: i64,
    /// Whether the work is done at the customer's site (travel to plan).
    pub on_site: bool,
    /// The service booked on such orders unless the schedule names one.
    pub default_service_id: Option<i64>,
    /// A colour or short label for planning boards.
    pub label: Option<String>,
}

/// A stored order type.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct OrderType {
    pub id: i64,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub data: OrderTypeData,
    pub archived_at: Option<DbTime>,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

/// The writable fields of a work-order schedule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ScheduleData {
    pub title: String,
    /// The checklist items of each work order (JSON array of strings).
    pub instructions: JsonText,
    pub order_type_id: i64,
    #[sqlx(try_from = "String")]
    pub mode: RecurrenceMode,
    #[sqlx(try_from = "String")]
    pub interval_unit: IntervalUnit,
    pub interval_every: i64,
    pub anchor_date: Date,
    pub day_of_month: Option<i64>,
    /// `monday` … `sunday`.
    pub weekday: Option<String>,
    /// `None`: the order type's lead time.
    pub lead_days: Option<i64>,
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
    pub estimate_minutes: Option<i64>,
    pub window_end: Option<Date>,
    pub window_count: Option<i64>,
    #[sqlx(try_from = "String")]
    pub execution_billing: ExecutionBilling,
    pub fixed_price: Option<ExactDecimal>,
    #[sqlx(try_from = "String")]
    pub extra_work_billing: ExtraWorkBilling,
    /// `None`: the order type's default service.
    pub service_id: Option<i64>,
    /// A paused schedule creates nothing.
    pub paused: bool,
    /// Occurrences due before this day are passed over (resumed without back-fill).
    pub not_before: Option<Date>,
}

/// A stored schedule on a contract.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Schedule {
    pub id: i64,
    pub contract_id: i64,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub data: ScheduleData,
    pub archived_at: Option<DbTime>,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

impl ScheduleData {
    /// The recurrence rule as the domain computes it (checked when stored).
    pub fn recurrence(&self) -> Result<Recurrence> {
        let corrupt = |what: &str| StoreError::Database(sqlx::Error::Decode(format!("schedule: {what}").into()));
        Ok(Recurrence {
            mode: self.mode,
            unit: self.interval_unit,
            every: u32::try_from(self.interval_every).map_err(|_| corrupt("interval_every"))?,
            anchor: self.anchor_date,
            day_of_month: self.day_of_month.map(u8::try_from).transpose().map_err(|_| corrupt("day_of_month"))?,
            weekday: match &self.weekday {
                Some(w) => Some(domain::schedule::parse_weekday(w).ok_or_else(|| corrupt("weekday"))?),
                None => None,
            },
        })
    }

    /// The generator's view: recurrence, window (ending with the contract at the latest) and
    /// lead time (the order type's unless the schedule has its own).
    pub fn timing(&self, type_lead_days: i64, contract_end: Option<Date>) -> Result<Timing> {
        let end = match (self.window_end, contract_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let lead = self.lead_days.unwrap_or(type_lead_days);
        Ok(Timing {
            recurrence: self.recurrence()?,
            window: Window { end, count: self.window_count.map(|c| u32::try_from(c).unwrap_or(u32::MAX)) },
            lead_days: u32::try_from(lead).unwrap_or(0),
            not_before: self.not_before,
        })
    }
}

/// Which schedules to list.
#[derive(Debug, Clone, Default)]
pub struct ScheduleFilter {
    /// Only this contract's.
    pub contract_id: Option<i64>,
    /// `None`: only active; `Some(true)`: only archived; `Some(false)`: all.
    pub archived_only: Option<bool>,
}

const SCHEDULE_COLUMNS: &str = "title, instructions, order_type_id, mode, interval_unit, interval_every, anchor_date, \
    day_of_month, weekday, lead_days, assignee_user_id, assignee_team_id, estimate_minutes, window_end, window_count, \
    execution_billing, fixed_price, extra_work_billing, service_id, paused, not_before";

macro_rules! bind_schedule_data {
    ($q:expr, $d:expr) => {
        $q.bind(&$d.title)
            .bind(&$d.instructions)
            .bind($d.order_type_id)
            .bind($d.mode.as_str())
            .bind($d.interval_unit.as_str())
            .bind($d.interval_every)
            .bind($d.anchor_date)
            .bind($d.day_of_month)
            .bind(&$d.weekday)
            .bind($d.lead_days)
            .bind($d.assignee_user_id)
            .bind($d.assignee_team_id)
            .bind($d.estimate_minutes)
            .bind($d.window_end)
            .bind($d.window_count)
            .bind($d.execution_billing.as_str())
            .bind(&$d.fixed_price)
            .bind($d.extra_work_billing.as_str())
            .bind($d.service_id)
            .bind($d.paused)
            .bind($d.not_before)
    };
}

/// Checks inside `$tx` that what schedule data `$d` names exists and can be used: an active
/// order type, active users/services, a team. The first missing one is
/// [`StoreError::MissingReference`] naming the field.
macro_rules! check_schedule_refs {
    ($tx:expr, $d:expr) => {{
        let d: &ScheduleData = $d;
        let checks: [(&str, Option<i64>, &str); 4] = [
            ("order_type_id", Some(d.order_type_id), "SELECT 1 FROM order_types WHERE id = $1 AND archived_at IS NULL"),
            ("assignee_user_id", d.assignee_user_id, "SELECT 1 FROM users WHERE id = $1 AND active"),
            ("assignee_team_id", d.assignee_team_id, "SELECT 1 FROM teams WHERE id = $1 AND archived_at IS NULL"),
            ("service_id", d.service_id, "SELECT 1 FROM services WHERE id = $1 AND archived_at IS NULL"),
        ];
        for (field, id, sql) in checks {
            if let Some(id) = id {
                let found: Option<i32> =
                    sqlx::query_scalar(sql).bind(id).fetch_optional(&mut *$tx).await.map_err(StoreError::from)?;
                if found.is_none() {
                    return Err(StoreError::MissingReference(field.into()).into());
                }
            }
        }
    }};
}

/// Archives or restores row `$id` of `$table` (audited as `$entity`), returning it.
macro_rules! set_archived {
    ($store:expr, $row:ty, $table:literal, $entity:literal, $id:expr, $archive:expr, $actor:expr) => {{
        let (id, archive): (i64, bool) = ($id, $archive);
        let row = in_tx!($store, tx => {
            let before: $row = sqlx::query_as(concat!("SELECT * FROM ", $table, " WHERE id = $1"))
                .bind(id).fetch_one(&mut *tx).await?;
            if before.archived_at.is_some() == archive {
                before
            } else {
                let now = DbTime::now();
                let after: $row = sqlx::query_as(concat!("UPDATE ", $table,
                    " SET archived_at = $1, version = version + 1, updated_at = $2 WHERE id = $3 RETURNING *"))
                    .bind(if archive { Some(now) } else { None }).bind(now).bind(id).fetch_one(&mut *tx).await?;
                let action = if archive { "archive" } else { "restore" };
                audit!(tx, $actor, $entity, id, action, Some(&before), Some(&after));
                after
            }
        });
        Ok(row)
    }};
}

/// Checks inside `$tx` that an order type's default service (if any) is an active service.
macro_rules! check_default_service {
    ($tx:expr, $id:expr) => {
        if let Some(id) = $id {
            let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM services WHERE id = $1 AND archived_at IS NULL")
                .bind(id)
                .fetch_optional(&mut *$tx)
                .await
                .map_err(StoreError::from)?;
            if found.is_none() {
                return Err(StoreError::MissingReference("default_service_id".into()).into());
            }
        }
    };
}

impl Store {
    /// Order types by code (archived ones only when asked: `archived_only` as in
    /// [`ScheduleFilter`]). Few enough for one page.
    pub async fn list_order_types(&self, archived_only: Option<bool>) -> Result<Vec<OrderType>> {
        with_pool!(self, pool => Ok(sqlx::query_as(
            "SELECT * FROM order_types WHERE (($1 = 0 AND archived_at IS NULL) OR ($1 = 1 AND archived_at IS NOT NULL) \
             OR $1 = 2) ORDER BY code, id")
            .bind(archived_mode(archived_only)).fetch_all(pool).await?))
    }

    /// The order type with this id.
    pub async fn get_order_type(&self, id: i64) -> Result<OrderType> {
        with_pool!(self, pool => Ok(sqlx::query_as("SELECT * FROM order_types WHERE id = $1").bind(id).fetch_one(pool).await?))
    }

    /// Creates an order type; a taken code is [`StoreError::Duplicate`], an unknown default
    /// service [`StoreError::MissingReference`].
    pub async fn create_order_type(&self, d: &OrderTypeData, actor: &Actor) -> Result<OrderType> {
        let t = in_tx!(self, tx => {
            check_default_service!(tx, d.default_service_id);
            let t: OrderType = sqlx::query_as(
                "INSERT INTO order_types (code, name, lead_days, on_site, default_service_id, label, version, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING *")
                .bind(&d.code).bind(&d.name).bind(d.lead_days).bind(d.on_site).bind(d.default_service_id).bind(&d.label)
                .bind(DbTime::now()).fetch_one(&mut *tx).await?;
            audit!(tx, actor, "order_type", t.id, "create", None::<&OrderType>, Some(&t));
            t
        });
        Ok(t)
    }

    /// Applies `change` to an active order type (version checked like every update).
    pub async fn update_order_type<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&OrderType) -> std::result::Result<OrderTypeData, E>,
    ) -> std::result::Result<OrderType, E> {
        let t = in_tx!(self, tx => {
            let before: OrderType = sqlx::query_as("SELECT * FROM order_types WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            check_writable(if_version, before.version, before.archived_at.is_some(), "order type")?;
            let d = change(&before)?;
            check_default_service!(tx, d.default_service_id);
            let after: OrderType = sqlx::query_as(
                "UPDATE order_types SET code = $1, name = $2, lead_days = $3, on_site = $4, default_service_id = $5, \
                 label = $6, version = version + 1, updated_at = $7 WHERE id = $8 AND version = $9 RETURNING *")
                .bind(&d.code).bind(&d.name).bind(d.lead_days).bind(d.on_site).bind(d.default_service_id).bind(&d.label)
                .bind(DbTime::now()).bind(id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?.ok_or(StoreError::StaleVersion)?;
            audit!(tx, actor, "order_type", id, "update", Some(&before), Some(&after));
            after
        });
        Ok(t)
    }

    /// Archives or restores an order type (idempotent). Its schedules keep it.
    pub async fn set_order_type_archived(&self, id: i64, archive: bool, actor: &Actor) -> Result<OrderType> {
        set_archived!(self, OrderType, "order_types", "order_type", id, archive, actor)
    }

    /// Schedules, by contract and id (`after`: the last id seen; at most `limit`).
    pub async fn list_schedules(&self, f: &ScheduleFilter, after: Option<i64>, limit: u32) -> Result<Vec<Schedule>> {
        with_pool!(self, pool => Ok(sqlx::query_as(
            "SELECT * FROM work_order_schedules WHERE ($1 IS NULL OR contract_id = $1) \
             AND (($2 = 0 AND archived_at IS NULL) OR ($2 = 1 AND archived_at IS NOT NULL) OR $2 = 2) \
             AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4")
            .bind(f.contract_id).bind(archived_mode(f.archived_only)).bind(after).bind(i64::from(limit))
            .fetch_all(pool).await?))
    }

    /// The schedule with this id.
    pub async fn get_schedule(&self, id: i64) -> Result<Schedule> {
        with_pool!(self, pool => Ok(sqlx::query_as("SELECT * FROM work_order_schedules WHERE id = $1")
            .bind(id).fetch_one(pool).await?))
    }

    /// Creates a schedule on an active contract; what it names is checked
    /// ([`StoreError::MissingReference`] naming the field).
    pub async fn create_schedule(&self, contract_id: i64, d: &ScheduleData, actor: &Actor) -> Result<Schedule> {
        let sql = format!(
            "INSERT INTO work_order_schedules (contract_id, version, created_at, updated_at, {SCHEDULE_COLUMNS}) \
             VALUES ($1, 1, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, $23) RETURNING *"
        );
        let s = in_tx!(self, tx => {
            let archived: Option<Option<DbTime>> = sqlx::query_scalar("SELECT archived_at FROM contracts WHERE id = $1")
                .bind(contract_id).fetch_optional(&mut *tx).await?;
            match archived {
                None => return Err(StoreError::NotFound),
                Some(Some(_)) => return Err(StoreError::Conflict(
                    "the contract is archived; restore it before planning work under it".into())),
                Some(None) => {}
            }
            check_schedule_refs!(tx, d);
            let q = sqlx::query_as(&sql).bind(contract_id).bind(DbTime::now());
            let s: Schedule = bind_schedule_data!(q, d).fetch_one(&mut *tx).await?;
            audit!(tx, actor, "schedule", s.id, "create", None::<&Schedule>, Some(&s));
            s
        });
        Ok(s)
    }

    /// Applies `change` to an active schedule and stores it (version checked).
    pub async fn update_schedule<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&Schedule) -> std::result::Result<ScheduleData, E>,
    ) -> std::result::Result<Schedule, E> {
        let sql = format!(
            "UPDATE work_order_schedules SET ({SCHEDULE_COLUMNS}) = ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, $15, $16, $17, $18, $19, $20, $21), version = version + 1, updated_at = $22 \
             WHERE id = $23 AND version = $24 RETURNING *"
        );
        let s = in_tx!(self, tx => {
            let before: Schedule = sqlx::query_as("SELECT * FROM work_order_schedules WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            check_writable(if_version, before.version, before.archived_at.is_some(), "schedule")?;
            let d = change(&before)?;
            check_schedule_refs!(tx, &d);
            let q = sqlx::query_as(&sql);
            let after: Schedule = bind_schedule_data!(q, d)
                .bind(DbTime::now()).bind(id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?.ok_or(StoreError::StaleVersion)?;
            audit!(tx, actor, "schedule", id, "update", Some(&before), Some(&after));
            after
        });
        Ok(s)
    }

    /// Archives (ends) or restores a schedule (idempotent): an archived one creates nothing;
    /// its work orders stay.
    pub async fn set_schedule_archived(&self, id: i64, archive: bool, actor: &Actor) -> Result<Schedule> {
        set_archived!(self, Schedule, "work_order_schedules", "schedule", id, archive, actor)
    }
}

/// The version and archive rules of every update: a stale `If-Match` is
/// [`StoreError::StaleVersion`], an archived row a conflict.
fn check_writable(if_version: Option<i64>, version: i64, archived: bool, what: &str) -> Result<()> {
    if if_version.is_some_and(|v| v != version) {
        return Err(StoreError::StaleVersion);
    }
    if archived {
        return Err(StoreError::Conflict(format!("the {what} is archived; restore it before changing it")));
    }
    Ok(())
}

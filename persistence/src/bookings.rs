//! Storage of time bookings: who worked how long on which ticket/project, with which
//! service, billable or not. A billed booking is locked. Writing a booking on a project
//! also checks the project's estimate and records `project.estimate_exceeded` once when
//! the booked effort first passes it. New rows are written in the `insert` submodule only,
//! by the group writer of `group`.

use crate::audit::Actor;
use crate::page::{Page, PageRequest};
use crate::types::{DbTime, ExactDecimal, JsonText};
use crate::{Result, Store, StoreError};
use time::{Date, Time};

/// The writable fields of a booking (`customer_id` is derived from ticket or project).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct BookingData {
    pub user_id: i64,
    pub work_date: Date,
    pub start_time: Option<Time>,
    pub end_time: Option<Time>,
    pub duration_minutes: i64,
    pub service_id: i64,
    pub description: String,
    pub customer_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    pub billable: bool,
    pub rate_override: Option<ExactDecimal>,
    pub custom_fields: JsonText,
}

/// A stored booking.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct Booking {
    pub id: i64,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub data: BookingData,
    /// `open`, `reserved` (on a draft invoice) or `billed`; only open bookings change.
    pub state: String,
    pub created_by: String,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

/// Which bookings to list.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    pub user_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub service_id: Option<i64>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub billable: Option<bool>,
    pub state: Option<String>,
}

/// Which bookings the summary counts (all filters combine; none: every booking).
#[derive(Debug, Clone, Default)]
pub struct SummaryFilter {
    pub customer_id: Option<i64>,
    pub project_id: Option<i64>,
}

/// How to group the booking summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryGroup {
    User,
    Customer,
    Project,
    Service,
}

/// Minutes of one group of the summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct SummaryRow {
    /// Id of the user/customer/project/service; `None` for bookings without one.
    pub key: Option<i64>,
    /// Name of the user/customer/project, or code of the service.
    pub label: Option<String>,
    pub bookings: i64,
    pub minutes: i64,
    pub billable_minutes: i64,
}

const BOOKING_COLUMNS: &str = "user_id, work_date, start_time, end_time, duration_minutes, service_id, description, \
    customer_id, ticket_id, project_id, task_id, billable, rate_override, custom_fields";

macro_rules! bind_booking_data {
    ($q:expr, $d:expr) => {
        $q.bind($d.user_id)
            .bind($d.work_date)
            .bind($d.start_time)
            .bind($d.end_time)
            .bind($d.duration_minutes)
            .bind($d.service_id)
            .bind(&$d.description)
            .bind($d.customer_id)
            .bind($d.ticket_id)
            .bind($d.project_id)
            .bind($d.task_id)
            .bind($d.billable)
            .bind($d.rate_override)
            .bind(&$d.custom_fields)
    };
}

/// Re-checks a project's booked effort against its estimate inside `$tx` and records
/// `project.estimate_exceeded` when it is passed for the first time (and re-arms when the
/// effort falls back below the estimate, e.g. after a correction).
macro_rules! check_project_estimate {
    ($tx:expr, $project_id:expr) => {{
        let project_id: i64 = $project_id;
        let project: Option<(Option<crate::types::ExactDecimal>, Option<crate::types::DbTime>, Option<i64>)> = sqlx::query_as(
            "SELECT estimate_hours, estimate_exceeded_at, account_manager_id FROM projects WHERE id = $1",
        )
        .bind(project_id)
        .fetch_optional(&mut *$tx)
        .await
        .map_err(crate::StoreError::from)?;
        if let Some((Some(estimate), exceeded_at, account_manager_id)) = project {
            let minutes: Option<i64> =
                sqlx::query_scalar("SELECT CAST(SUM(duration_minutes) AS BIGINT) FROM bookings WHERE project_id = $1")
                    .bind(project_id)
                    .fetch_one(&mut *$tx)
                    .await
                    .map_err(crate::StoreError::from)?;
            let minutes = minutes.unwrap_or(0);
            let exceeded = domain::project::estimate_exceeded(Some(estimate.0), minutes);
            if exceeded && exceeded_at.is_none() {
                sqlx::query("UPDATE projects SET estimate_exceeded_at = $1 WHERE id = $2")
                    .bind(crate::types::DbTime::now())
                    .bind(project_id)
                    .execute(&mut *$tx)
                    .await
                    .map_err(crate::StoreError::from)?;
                let project = crate::projects::fetch_project!(&mut *$tx, project_id);
                emit_event!($tx, "project.estimate_exceeded", "project", project_id, &serde_json::json!({
                    "project_id": project_id,
                    "estimate_hours": estimate.0.to_string(),
                    "actual_hours": domain::project::minutes_to_hours(minutes).to_string(),
                    "notify_user_id": account_manager_id,
                    "project": project,
                }));
            } else if !exceeded && exceeded_at.is_some() {
                sqlx::query("UPDATE projects SET estimate_exceeded_at = NULL WHERE id = $1")
                    .bind(project_id)
                    .execute(&mut *$tx)
                    .await
                    .map_err(crate::StoreError::from)?;
            }
        }
    }};
}
pub(crate) use check_project_estimate;

/// Writes new bookings inside `$tx` (`$new`: `&[NewBooking]`, created at `$now`) with their
/// audit entries, one `booking.created` event each (the booking as stored) and the estimate
/// check of every project booked on; evaluates to the bookings in the order of `$new`.
macro_rules! write_new_bookings {
    ($tx:expr, $new:expr, $now:expr) => {{
        let now: crate::types::DbTime = $now;
        let created = crate::bookings::insert::BookingInsert::insert_bookings(&mut *$tx, $new, now).await?;
        let projects: std::collections::BTreeSet<i64> = created.iter().filter_map(|b| b.data.project_id).collect();
        for project_id in projects {
            crate::bookings::check_project_estimate!($tx, project_id);
        }
        created
    }};
}
pub(crate) use write_new_bookings;

mod group;
pub(crate) mod insert;
mod packed;
pub(crate) use group::BookingQueue;

impl Store {
    /// Records a booking (always accepted on any ticket or project state: continuous recording).
    pub async fn create_booking(&self, d: &BookingData, actor: &Actor) -> Result<Booking> {
        self.create_bookings(std::slice::from_ref(d), actor).await?.pop().ok_or(StoreError::NotFound)
    }

    /// The booking with this id.
    pub async fn get_booking(&self, id: i64) -> Result<Booking> {
        with_reader!(self, conn => Ok(sqlx::query_as(concat!("SELECT *, ", crate::holdings::booking_state!("bookings"), " AS state FROM bookings WHERE id = $1")).bind(id).fetch_one(conn).await?))
    }

    /// Bookings by work date, newest first; `after` is the (date, id) of the last one seen.
    pub async fn list_bookings(
        &self,
        f: &BookingFilter,
        page: &PageRequest<(Date, i64)>,
    ) -> Result<Page<Booking, (Date, i64)>> {
        let (after_date, after_id) = match page.after {
            Some((d, id)) => (Some(d), id),
            None => (None, 0),
        };
        // The page, filtered and ordered (`$1`…`$13`).
        const PAGE: &str = concat!(
            "SELECT *, ", crate::holdings::booking_state!("bookings"), " AS state FROM bookings WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR customer_id = $2) \
             AND ($3 IS NULL OR project_id = $3) AND ($4 IS NULL OR task_id = $4) AND ($5 IS NULL OR ticket_id = $5) \
             AND ($6 IS NULL OR service_id = $6) AND ($7 IS NULL OR work_date >= $7) AND ($8 IS NULL OR work_date <= $8) \
             AND ($9 IS NULL OR billable = $9) AND ($10 IS NULL OR ", crate::holdings::booking_state!("bookings"), " = $10) \
             AND ($11 IS NULL OR work_date < $11 OR (work_date = $11 AND id < $12)) \
             ORDER BY work_date DESC, id DESC LIMIT $13");
        macro_rules! bind_page {
            ($q:expr) => {
                $q.bind(f.user_id)
                    .bind(f.customer_id)
                    .bind(f.project_id)
                    .bind(f.task_id)
                    .bind(f.ticket_id)
                    .bind(f.service_id)
                    .bind(f.from)
                    .bind(f.to)
                    .bind(f.billable)
                    .bind(f.state.as_deref())
                    .bind(after_date)
                    .bind(after_id)
                    .bind(i64::from(page.limit) + 1)
            };
        }
        let rows: Vec<Booking> = match &*self.readers {
            // SQLite: the whole page in one row (see `packed`).
            crate::readers::ReaderSet::Sqlite(readers) => {
                static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                let sql = SQL.get_or_init(|| format!("SELECT {} FROM ({PAGE})", packed::PACKED_COLUMNS));
                let packed: Option<String> =
                    with_reader!(@on readers, conn => Ok(bind_page!(sqlx::query_scalar(sql)).fetch_one(conn).await?))?;
                let mut rows = packed::unpack(packed.as_deref())?;
                rows.sort_unstable_by_key(|b| std::cmp::Reverse((b.data.work_date, b.id)));
                rows
            }
            crate::readers::ReaderSet::Postgres(readers) => {
                with_reader!(@on readers, conn => Ok(bind_page!(sqlx::query_as(PAGE)).fetch_all(conn).await?))?
            }
        };
        Ok(Page::from_overfetch(rows, page.limit, |b| (b.data.work_date, b.id)))
    }

    /// Applies `change` to an open booking and stores it; a billed booking is a conflict.
    pub async fn update_booking<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&Booking) -> std::result::Result<BookingData, E>,
    ) -> std::result::Result<Booking, E> {
        let sql = format!(
            "UPDATE bookings SET ({BOOKING_COLUMNS}) = ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14), \
             version = version + 1, updated_at = $15 WHERE id = $16 AND version = $17 AND {} RETURNING *, 'open' AS state",
            crate::holdings::booking_unheld(self.backend())
        );
        let booking = in_tx!(self, tx => {
            let before: Booking = sqlx::query_as(concat!("SELECT *, ", crate::holdings::booking_state!("bookings"), " AS state FROM bookings WHERE id = $1"))
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            crate::holdings::check_open("booking", &before.state)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            let d = change(&before)?;
            let after: Booking = bind_booking_data!(sqlx::query_as(&sql), d)
                .bind(DbTime::now()).bind(id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
                .ok_or(StoreError::StaleVersion)?;
            audit!(tx, actor, "booking", id, "update", Some(&before), Some(&after));
            emit_event!(tx, "booking.updated", "booking", id, &after);
            for project_id in [before.data.project_id, after.data.project_id].into_iter().flatten() {
                check_project_estimate!(tx, project_id);
            }
            after
        });
        Ok(booking)
    }

    /// Deletes an open booking after `allow` approved it; a billed booking is a conflict.
    pub async fn delete_booking<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        allow: impl FnOnce(&Booking) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        in_tx!(self, tx => {
            let before: Booking = sqlx::query_as(concat!("SELECT *, ", crate::holdings::booking_state!("bookings"), " AS state FROM bookings WHERE id = $1"))
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            allow(&before)?;
            crate::holdings::check_open("booking", &before.state)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            sqlx::query(&format!("DELETE FROM bookings WHERE id = $1 AND {}", crate::holdings::booking_unheld(self.backend()))).bind(id).execute(&mut *tx).await.map_err(StoreError::from)?;
            audit!(tx, actor, "booking", id, "delete", Some(&before), None::<&Booking>);
            emit_event!(tx, "booking.deleted", "booking", id, &before);
            if let Some(project_id) = before.data.project_id {
                check_project_estimate!(tx, project_id);
            }
        });
        Ok(())
    }

    /// Sets a booking's billing state (`open`/`reserved`/`billed`) without a run (tests lock a
    /// booking with it; see [`Store::hold_position`]).
    pub async fn set_booking_state(&self, id: i64, state: &str) -> Result<()> {
        self.hold_position(crate::bulk::PositionTable::Bookings, id, state).await
    }

    /// Minutes and billable minutes per user, customer, project or service in a date range.
    pub async fn booking_summary(
        &self,
        group: SummaryGroup,
        from: Option<Date>,
        to: Option<Date>,
        filter: &SummaryFilter,
    ) -> Result<Vec<SummaryRow>> {
        let (key, join, label) = match group {
            SummaryGroup::User => ("b.user_id", "LEFT JOIN users g ON g.id = b.user_id", "g.name"),
            SummaryGroup::Customer => ("b.customer_id", "LEFT JOIN customers g ON g.id = b.customer_id", "g.name"),
            SummaryGroup::Project => ("b.project_id", "LEFT JOIN projects g ON g.id = b.project_id", "g.name"),
            SummaryGroup::Service => ("b.service_id", "LEFT JOIN services g ON g.id = b.service_id", "g.code"),
        };
        let sql = format!(
            "SELECT {key} AS key, {label} AS label, COUNT(*) AS bookings, \
             CAST(SUM(b.duration_minutes) AS BIGINT) AS minutes, \
             CAST(SUM(CASE WHEN b.billable THEN b.duration_minutes ELSE 0 END) AS BIGINT) AS billable_minutes \
             FROM bookings b {join} WHERE ($1 IS NULL OR b.work_date >= $1) AND ($2 IS NULL OR b.work_date <= $2) \
             AND ($3 IS NULL OR b.customer_id = $3) AND ($4 IS NULL OR b.project_id = $4) \
             GROUP BY {key}, {label} ORDER BY {key}"
        );
        with_pool!(self, pool => Ok(sqlx::query_as(&sql).bind(from).bind(to).bind(filter.customer_id)
            .bind(filter.project_id).fetch_all(pool).await?))
    }
}

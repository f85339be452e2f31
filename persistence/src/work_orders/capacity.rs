//! Storage of employees' absences, and the reads behind the capacity view: who, their weekly
//! capacity, holidays, absences, the estimates of open work due, and the time booked.

use crate::audit::Actor;
use crate::types::{DbTime, ExactDecimal};
use crate::{Result, Store, StoreError};
use time::Date;

/// An absence of an employee: whole days from `start_date` to `end_date`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Absence {
    pub id: i64,
    pub user_id: i64,
    pub start_date: Date,
    pub end_date: Date,
    /// `vacation`, `sick` or `other`.
    pub kind: String,
    pub note: Option<String>,
    pub created_at: DbTime,
}

/// A new absence.
#[derive(Debug, Clone)]
pub struct NewAbsence {
    pub user_id: i64,
    pub start_date: Date,
    pub end_date: Date,
    pub kind: String,
    pub note: Option<String>,
}

/// A person in the capacity view.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Planner {
    pub id: i64,
    pub name: String,
    pub weekly_capacity_hours: ExactDecimal,
}

/// Estimated open work due on a day: `user_id` `None` for work assigned to the team only.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlannedWork {
    pub user_id: Option<i64>,
    pub due_date: Date,
    pub minutes: i64,
}

/// Minutes booked by a user on a day.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BookedWork {
    pub user_id: i64,
    pub work_date: Date,
    pub minutes: i64,
}

/// What the capacity view of some people over some days is computed from.
#[derive(Debug, Clone, Default)]
pub struct CapacityInputs {
    /// By name.
    pub people: Vec<Planner>,
    pub holidays: Vec<Date>,
    pub absences: Vec<Absence>,
    pub planned: Vec<PlannedWork>,
    pub booked: Vec<BookedWork>,
}

impl Store {
    /// Absences overlapping `from ..= to` (of one user if given), by start.
    pub async fn list_absences(&self, user_id: Option<i64>, from: Date, to: Date) -> Result<Vec<Absence>> {
        with_pool!(self, pool => Ok(sqlx::query_as(
            "SELECT * FROM absences WHERE ($1 IS NULL OR user_id = $1) AND start_date <= $3 AND end_date >= $2 \
             ORDER BY start_date, id")
            .bind(user_id).bind(from).bind(to).fetch_all(pool).await?))
    }

    /// Records an absence; an unknown user is [`StoreError::MissingReference`]`("user_id")`.
    pub async fn create_absence(&self, a: &NewAbsence, actor: &Actor) -> Result<Absence> {
        let absence = in_tx!(self, tx => {
            let user: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                .bind(a.user_id).fetch_optional(&mut *tx).await?;
            if user.is_none() {
                return Err(StoreError::MissingReference("user_id".into()));
            }
            let absence: Absence = sqlx::query_as(
                "INSERT INTO absences (user_id, start_date, end_date, kind, note, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING *")
                .bind(a.user_id).bind(a.start_date).bind(a.end_date).bind(&a.kind).bind(&a.note).bind(DbTime::now())
                .fetch_one(&mut *tx).await?;
            audit!(tx, actor, "absence", absence.id, "create", None::<&Absence>, Some(&absence));
            absence
        });
        Ok(absence)
    }

    /// Deletes an absence (a plan changed).
    pub async fn delete_absence(&self, id: i64, actor: &Actor) -> Result<()> {
        in_tx!(self, tx => {
            let before: Absence = sqlx::query_as("SELECT * FROM absences WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
            sqlx::query("DELETE FROM absences WHERE id = $1").bind(id).execute(&mut *tx).await?;
            audit!(tx, actor, "absence", id, "delete", Some(&before), None::<&Absence>);
        });
        Ok(())
    }

    /// The inputs of the capacity view over `from ..= to`: the active members of `team_id`,
    /// or user `user_id`, or every active user; and for them (and the team) holidays,
    /// absences, estimates of open tickets and work orders due in the range, and bookings.
    pub async fn capacity_inputs(
        &self,
        team_id: Option<i64>,
        user_id: Option<i64>,
        from: Date,
        to: Date,
    ) -> Result<CapacityInputs> {
        let people: Vec<Planner> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, name, weekly_capacity_hours FROM users u WHERE active AND ($1 IS NULL OR id = $1) \
             AND ($2 IS NULL OR id IN (SELECT user_id FROM team_members WHERE team_id = $2)) ORDER BY name, id")
            .bind(user_id).bind(team_id).fetch_all(pool).await?);
        if people.is_empty() && team_id.is_none() {
            return Ok(CapacityInputs::default());
        }
        // The people's ids are integers read above.
        let ids = people.iter().map(|p| p.id.to_string()).collect::<Vec<_>>().join(",");
        let ids = if ids.is_empty() { "NULL".to_string() } else { ids };
        let holidays: Vec<Date> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT holiday_date FROM holidays WHERE holiday_date >= $1 AND holiday_date <= $2 ORDER BY holiday_date")
            .bind(from).bind(to).fetch_all(pool).await?);
        let absences: Vec<Absence> = with_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT * FROM absences WHERE user_id IN ({ids}) AND start_date <= $2 AND end_date >= $1 ORDER BY start_date, id"))
            .bind(from).bind(to).fetch_all(pool).await?);
        let planned: Vec<PlannedWork> = with_pool!(self, pool => sqlx::query_as(&format!(
            // The people's work and the team's unassigned work, each through its index
            // (`tickets_assignee_due`, `tickets_team_due`).
            "SELECT assignee_user_id AS user_id, due_date, CAST(SUM(estimate_minutes) AS BIGINT) AS minutes FROM tickets \
             WHERE assignee_user_id IS NOT NULL AND assignee_user_id IN ({ids}) AND due_date >= $1 AND due_date <= $2 \
             AND status NOT IN ('resolved', 'closed') AND estimate_minutes IS NOT NULL \
             GROUP BY assignee_user_id, due_date \
             UNION ALL \
             SELECT CAST(NULL AS BIGINT), due_date, CAST(SUM(estimate_minutes) AS BIGINT) FROM tickets \
             WHERE assignee_team_id IS NOT NULL AND assignee_team_id = $3 AND assignee_user_id IS NULL \
             AND due_date >= $1 AND due_date <= $2 AND status NOT IN ('resolved', 'closed') \
             AND estimate_minutes IS NOT NULL GROUP BY due_date"))
            .bind(from).bind(to).bind(team_id).fetch_all(pool).await?);
        let booked: Vec<BookedWork> = with_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT user_id, work_date, CAST(SUM(duration_minutes) AS BIGINT) AS minutes FROM bookings \
             WHERE user_id IN ({ids}) AND work_date >= $1 AND work_date <= $2 GROUP BY user_id, work_date"))
            .bind(from).bind(to).fetch_all(pool).await?);
        Ok(CapacityInputs { people, holidays, absences, planned, booked })
    }
}

//! Storage of projects, their tasks, status workflow and effort (estimate vs. actual).
//!
//! Projects are never deleted: the workflow ends in `archived`, which makes a project
//! read-only and hides it from default lists. Every change is audited; status changes
//! also write a `project.status_changed` event in the same transaction.

use crate::audit::Actor;
use crate::events::Event;
use crate::page::{Page, PageRequest};
use crate::search::like_pattern;
use crate::types::{DbTime, ExactDecimal};
use crate::{Result, Store, StoreError};
use domain::project::{transition, Participant, ProjectStatus, Responsible, Transition};
use rust_decimal::Decimal;

/// Event type of a status change.
pub const STATUS_CHANGED_EVENT: &str = "project.status_changed";

/// Total booked minutes of a project (`$1` = project id); usable inside a transaction,
/// e.g. to see whether a new booking crosses the estimate.
pub const EFFORT_MINUTES_SQL: &str =
    "SELECT CAST(COALESCE(SUM(duration_minutes), 0) AS BIGINT) FROM bookings WHERE project_id = $1";

/// The writable fields of a project (the status changes only through the workflow).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProjectData {
    pub name: String,
    pub description: Option<String>,
    /// Internal projects have no customer and are never invoiced.
    pub internal: bool,
    /// The customer of an external project.
    pub customer_id: Option<i64>,
    /// Overall responsibility; reviews the lead's work ("PM fertig").
    pub project_manager_id: Option<i64>,
    /// Looks after the customer (and sold the project).
    pub account_manager_id: Option<i64>,
    /// Technical execution; declares the work done ("PL fertig").
    pub project_lead_id: Option<i64>,
    /// Estimated effort in hours.
    pub estimate_hours: Option<Decimal>,
    /// Money budget in the customer's currency.
    pub budget: Option<Decimal>,
}

/// A stored project.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Project {
    pub id: i64,
    #[serde(flatten)]
    pub data: ProjectData,
    pub status: ProjectStatus,
    /// Currency of the customer (external projects); the budget is in it.
    pub currency: Option<String>,
    /// When booked time first passed the estimate.
    pub estimate_exceeded_at: Option<DbTime>,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProjectRow {
    id: i64,
    name: String,
    description: Option<String>,
    internal: bool,
    customer_id: Option<i64>,
    project_manager_id: Option<i64>,
    account_manager_id: Option<i64>,
    project_lead_id: Option<i64>,
    estimate_hours: Option<ExactDecimal>,
    budget: Option<ExactDecimal>,
    #[sqlx(try_from = "String")]
    status: ProjectStatus,
    estimate_exceeded_at: Option<DbTime>,
    version: i64,
    created_at: DbTime,
    updated_at: DbTime,
    currency: Option<String>,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Self {
        Project {
            id: r.id,
            data: ProjectData {
                name: r.name,
                description: r.description,
                internal: r.internal,
                customer_id: r.customer_id,
                project_manager_id: r.project_manager_id,
                account_manager_id: r.account_manager_id,
                project_lead_id: r.project_lead_id,
                estimate_hours: r.estimate_hours.map(|d| d.0),
                budget: r.budget.map(|d| d.0),
            },
            status: r.status,
            currency: r.currency,
            estimate_exceeded_at: r.estimate_exceeded_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl Project {
    /// The user responsible for a workflow role in this project (`None` for the
    /// billing office, which is a role, not a person).
    pub fn responsible_user(&self, who: Responsible) -> Option<i64> {
        match who {
            Responsible::ProjectLead => self.data.project_lead_id,
            Responsible::ProjectManager => self.data.project_manager_id,
            Responsible::BillingOffice => None,
        }
    }
}

/// Which statuses a project list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusFilter {
    /// Everything except archived projects (default).
    #[default]
    NotArchived,
    /// Only this status.
    Only(ProjectStatus),
    /// All, archived included.
    All,
}

/// Which projects to list.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    pub status: StatusFilter,
    pub customer_id: Option<i64>,
    pub internal: Option<bool>,
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
    pub project_manager_id: Option<i64>,
    pub project_lead_id: Option<i64>,
    pub account_manager_id: Option<i64>,
}

/// The writable fields of a task.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TaskData {
    pub name: String,
    pub assignee_id: Option<i64>,
    pub estimate_hours: Option<Decimal>,
    pub notes: Option<String>,
    pub done: bool,
}

/// A stored task of a project.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProjectTask {
    pub id: i64,
    pub project_id: i64,
    #[serde(flatten)]
    pub data: TaskData,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    project_id: i64,
    name: String,
    assignee_id: Option<i64>,
    estimate_hours: Option<ExactDecimal>,
    notes: Option<String>,
    done: bool,
    version: i64,
    created_at: DbTime,
    updated_at: DbTime,
}

impl From<TaskRow> for ProjectTask {
    fn from(r: TaskRow) -> Self {
        ProjectTask {
            id: r.id,
            project_id: r.project_id,
            data: TaskData {
                name: r.name,
                assignee_id: r.assignee_id,
                estimate_hours: r.estimate_hours.map(|d| d.0),
                notes: r.notes,
                done: r.done,
            },
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Which tasks of a project to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub assignee_id: Option<i64>,
    pub done: Option<bool>,
}

/// A status change as stored: the new project state and whom the event notifies.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub project: Project,
    pub from: ProjectStatus,
    pub to: ProjectStatus,
    /// The role responsible next.
    pub notify: Option<Responsible>,
    /// The person responsible next, when the role is a person of the project.
    pub notify_user_id: Option<i64>,
}

/// Payload of `project.status_changed`.
#[derive(Debug, serde::Serialize)]
struct StatusChangedPayload<'a> {
    project_id: i64,
    project_name: &'a str,
    from: ProjectStatus,
    to: ProjectStatus,
    notify: Option<Responsible>,
    notify_user_id: Option<i64>,
    changed_by: &'a str,
    changed_by_id: Option<i64>,
    /// The project after the change, as `GET /events` and webhooks show it.
    project: &'a Project,
}

/// Booked time of one task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEffort {
    pub task_id: i64,
    pub name: String,
    pub estimate_hours: Option<Decimal>,
    pub done: bool,
    pub minutes: i64,
}

#[derive(sqlx::FromRow)]
struct TaskEffortRow {
    id: i64,
    name: String,
    estimate_hours: Option<ExactDecimal>,
    done: bool,
    minutes: i64,
}

/// Booked time of one person.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserEffort {
    pub user_id: i64,
    pub name: String,
    pub minutes: i64,
}

/// Booked time of a project: in total, per task (every task, also without bookings),
/// without task, and per person.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectEffort {
    pub total_minutes: i64,
    /// Minutes booked on the project without a task.
    pub unassigned_minutes: i64,
    pub tasks: Vec<TaskEffort>,
    pub users: Vec<UserEffort>,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub event_type: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
}

pub(crate) const PROJECT_SELECT: &str =
    "SELECT p.*, c.currency AS currency FROM projects p LEFT JOIN customers c ON c.id = p.customer_id";

/// Reads one project with its customer's currency, inside a transaction or on a pool.
macro_rules! fetch_project {
    ($exec:expr, $id:expr) => {{
        let sql = format!("{} WHERE p.id = $1", $crate::projects::PROJECT_SELECT);
        let row: $crate::projects::ProjectRow =
            sqlx::query_as(&sql).bind($id).fetch_one($exec).await.map_err($crate::StoreError::from)?;
        $crate::projects::Project::from(row)
    }};
}
pub(crate) use fetch_project;

/// Locks the project row until the transaction ends (a no-op update: a row lock on
/// PostgreSQL; SQLite's write transactions are serialized anyway), so that concurrent
/// status changes, edits and task writes see each other's results instead of racing.
macro_rules! lock_project {
    ($tx:expr, $id:expr) => {{
        sqlx::query("UPDATE projects SET version = version WHERE id = $1")
            .bind($id)
            .execute(&mut *$tx)
            .await
            .map_err($crate::StoreError::from)?;
    }};
}

/// Outcome of the billing decision inside [`Store::mark_project_billed`].
enum NotBillableOr {
    NotBillable,
    Store(StoreError),
}

impl From<StoreError> for NotBillableOr {
    fn from(e: StoreError) -> Self {
        NotBillableOr::Store(e)
    }
}

/// Fails with a conflict when the project is archived.
fn writable(project: &Project) -> Result<()> {
    if project.status.is_read_only() {
        return Err(StoreError::Conflict("the project is archived and read-only".into()));
    }
    Ok(())
}

impl Store {
    /// Creates a project in status `open`.
    pub async fn create_project(&self, data: &ProjectData, actor: &Actor) -> Result<Project> {
        let project = in_tx!(self, tx => {
            let now = DbTime::now();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO projects (name, description, internal, customer_id, project_manager_id, \
                 account_manager_id, project_lead_id, estimate_hours, budget, status, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11) RETURNING id")
                .bind(&data.name).bind(&data.description).bind(data.internal).bind(data.customer_id)
                .bind(data.project_manager_id).bind(data.account_manager_id).bind(data.project_lead_id)
                .bind(data.estimate_hours.map(ExactDecimal)).bind(data.budget.map(ExactDecimal))
                .bind(ProjectStatus::Open.as_str()).bind(now)
                .fetch_one(&mut *tx).await?;
            let project = fetch_project!(&mut *tx, id);
            audit!(tx, actor, "project", id, "create", None::<&Project>, Some(&project));
            project
        });
        Ok(project)
    }

    /// The project with this id (archived ones included).
    pub async fn get_project(&self, id: i64) -> Result<Project> {
        Ok(with_pool!(self, pool => fetch_project!(pool, id)))
    }

    /// Lists projects in id order after `page.after`.
    pub async fn list_projects(&self, filter: &ProjectFilter, page: &PageRequest<i64>) -> Result<Page<Project, i64>> {
        let sql = format!(
            "{PROJECT_SELECT} WHERE \
             (($1 = 'not_archived' AND p.status <> 'archived') OR $1 = 'all' OR p.status = $1) \
             AND ($2 IS NULL OR p.customer_id = $2) AND ($3 IS NULL OR p.internal = $3) \
             AND ($4 IS NULL OR LOWER(p.name) LIKE $4 ESCAPE '\\') \
             AND ($5 IS NULL OR p.project_manager_id = $5) AND ($6 IS NULL OR p.project_lead_id = $6) \
             AND ($7 IS NULL OR p.account_manager_id = $7) AND ($8 IS NULL OR p.id > $8) \
             ORDER BY p.id LIMIT $9"
        );
        let status = match filter.status {
            StatusFilter::NotArchived => "not_archived",
            StatusFilter::Only(s) => s.as_str(),
            StatusFilter::All => "all",
        };
        let rows: Vec<ProjectRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(status)
            .bind(filter.customer_id)
            .bind(filter.internal)
            .bind(filter.search.as_deref().map(like_pattern))
            .bind(filter.project_manager_id)
            .bind(filter.project_lead_id)
            .bind(filter.account_manager_id)
            .bind(page.after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?);
        let projects = rows.into_iter().map(Project::from).collect();
        Ok(Page::from_overfetch(projects, page.limit, |p: &Project| p.id))
    }

    /// Applies `change` to the project's data and stores it. With `if_version`, fails
    /// with [`StoreError::StaleVersion`] when the project changed since. Archived
    /// projects are read-only; the customer (or internal flag) of a project with
    /// bookings cannot change, because the bookings were captured for that customer.
    pub async fn update_project<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&Project) -> std::result::Result<ProjectData, E>,
    ) -> std::result::Result<Project, E> {
        let project = in_tx!(self, tx => {
            lock_project!(tx, id);
            let before = fetch_project!(&mut *tx, id);
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            writable(&before)?;
            let d = change(&before)?;
            if d.internal != before.data.internal || d.customer_id != before.data.customer_id {
                let booked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bookings WHERE project_id = $1")
                    .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
                if booked > 0 {
                    return Err(StoreError::Conflict(
                        "time is already booked on this project; its customer and internal flag can no longer change".into(),
                    ).into());
                }
            }
            let updated = sqlx::query(
                "UPDATE projects SET name = $1, description = $2, internal = $3, customer_id = $4, \
                 project_manager_id = $5, account_manager_id = $6, project_lead_id = $7, estimate_hours = $8, \
                 budget = $9, version = version + 1, updated_at = $10 WHERE id = $11 AND version = $12")
                .bind(&d.name).bind(&d.description).bind(d.internal).bind(d.customer_id)
                .bind(d.project_manager_id).bind(d.account_manager_id).bind(d.project_lead_id)
                .bind(d.estimate_hours.map(ExactDecimal)).bind(d.budget.map(ExactDecimal))
                .bind(DbTime::now()).bind(id).bind(before.version)
                .execute(&mut *tx).await.map_err(StoreError::from)?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::StaleVersion.into());
            }
            let after = fetch_project!(&mut *tx, id);
            audit!(tx, actor, "project", id, "update", Some(&before), Some(&after));
            after
        });
        Ok(project)
    }

    /// Moves a project along its workflow. `decide` gets the current project and returns
    /// the accepted [`Transition`] (or refuses). The new status, an audit entry and the
    /// `project.status_changed` event (naming whom to notify next) are written in one
    /// transaction.
    pub async fn change_project_status<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        decide: impl FnOnce(&Project) -> std::result::Result<Transition, E>,
    ) -> std::result::Result<StatusChange, E> {
        let change = in_tx!(self, tx => {
            lock_project!(tx, id);
            let before = fetch_project!(&mut *tx, id);
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            let t = decide(&before)?;
            if t.from != before.status {
                return Err(StoreError::StaleVersion.into());
            }
            let updated = sqlx::query(
                "UPDATE projects SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4")
                .bind(t.to.as_str()).bind(DbTime::now()).bind(id).bind(before.version)
                .execute(&mut *tx).await.map_err(StoreError::from)?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::StaleVersion.into());
            }
            let after = fetch_project!(&mut *tx, id);
            let notify_user_id = t.notify.and_then(|who| after.responsible_user(who));
            audit!(tx, actor, "project", id, "status_change", Some(&before), Some(&after));
            let payload = StatusChangedPayload {
                project_id: id,
                project_name: &after.data.name,
                from: t.from,
                to: t.to,
                notify: t.notify,
                notify_user_id,
                changed_by: &actor.name,
                changed_by_id: actor.id,
                project: &after,
            };
            emit_event!(tx, STATUS_CHANGED_EVENT, "project", id, &payload);
            StatusChange { project: after, from: t.from, to: t.to, notify: t.notify, notify_user_id }
        });
        Ok(change)
    }

    /// Marks a project `billed` on behalf of the billing office (the invoice run that
    /// billed its last open work). Only a project in `manager_done` moves; any other
    /// status is left alone and `None` returned, so a run may call this for every
    /// project it touched.
    pub async fn mark_project_billed(&self, id: i64, actor: &Actor) -> Result<Option<StatusChange>> {
        let billing_office = Participant { billing: true, ..Participant::default() };
        let change = self
            .change_project_status(id, None, actor, |p: &Project| {
                transition(p.status, ProjectStatus::Billed, &billing_office).map_err(|_| NotBillableOr::NotBillable)
            })
            .await;
        match change {
            Ok(c) => Ok(Some(c)),
            Err(NotBillableOr::NotBillable) => Ok(None),
            Err(NotBillableOr::Store(e)) => Err(e),
        }
    }

    /// Creates a task in a project; the project must exist and not be archived.
    pub async fn create_task(&self, project_id: i64, data: &TaskData, actor: &Actor) -> Result<ProjectTask> {
        let task = in_tx!(self, tx => {
            lock_project!(tx, project_id);
            let project = fetch_project!(&mut *tx, project_id);
            writable(&project)?;
            let now = DbTime::now();
            let row: TaskRow = sqlx::query_as(
                "INSERT INTO project_tasks (project_id, name, assignee_id, estimate_hours, notes, done, version, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING *")
                .bind(project_id).bind(&data.name).bind(data.assignee_id).bind(data.estimate_hours.map(ExactDecimal))
                .bind(&data.notes).bind(data.done).bind(now)
                .fetch_one(&mut *tx).await?;
            let task = ProjectTask::from(row);
            audit!(tx, actor, "project_task", task.id, "create", None::<&ProjectTask>, Some(&task));
            task
        });
        Ok(task)
    }

    /// The task with this id (of whatever project; check `project_id`).
    pub async fn get_task(&self, id: i64) -> Result<ProjectTask> {
        let row: TaskRow = with_pool!(self, pool => sqlx::query_as("SELECT * FROM project_tasks WHERE id = $1")
            .bind(id).fetch_one(pool).await?);
        Ok(row.into())
    }

    /// The tasks of a project in id order after `page.after`.
    pub async fn list_tasks(
        &self,
        project_id: i64,
        filter: &TaskFilter,
        page: &PageRequest<i64>,
    ) -> Result<Page<ProjectTask, i64>> {
        let rows: Vec<TaskRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM project_tasks WHERE project_id = $1 AND ($2 IS NULL OR assignee_id = $2) \
             AND ($3 IS NULL OR done = $3) AND ($4 IS NULL OR id > $4) ORDER BY id LIMIT $5")
            .bind(project_id).bind(filter.assignee_id).bind(filter.done).bind(page.after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        let tasks = rows.into_iter().map(ProjectTask::from).collect();
        Ok(Page::from_overfetch(tasks, page.limit, |t: &ProjectTask| t.id))
    }

    /// Applies `change` to a task of a project (not archived) and stores it.
    pub async fn update_task<E: From<StoreError>>(
        &self,
        project_id: i64,
        task_id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&ProjectTask) -> std::result::Result<TaskData, E>,
    ) -> std::result::Result<ProjectTask, E> {
        let task = in_tx!(self, tx => {
            lock_project!(tx, project_id);
            let project = fetch_project!(&mut *tx, project_id);
            let before: ProjectTask = sqlx::query_as::<_, TaskRow>("SELECT * FROM project_tasks WHERE id = $1 AND project_id = $2")
                .bind(task_id).bind(project_id).fetch_one(&mut *tx).await.map_err(StoreError::from)?.into();
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            writable(&project)?;
            let d = change(&before)?;
            let after: ProjectTask = sqlx::query_as::<_, TaskRow>(
                "UPDATE project_tasks SET name = $1, assignee_id = $2, estimate_hours = $3, notes = $4, done = $5, \
                 version = version + 1, updated_at = $6 WHERE id = $7 AND version = $8 RETURNING *")
                .bind(&d.name).bind(d.assignee_id).bind(d.estimate_hours.map(ExactDecimal)).bind(&d.notes).bind(d.done)
                .bind(DbTime::now()).bind(task_id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
                .ok_or(StoreError::StaleVersion)?.into();
            audit!(tx, actor, "project_task", task_id, "update", Some(&before), Some(&after));
            after
        });
        Ok(task)
    }

    /// Deletes a task nothing refers to (no booking, expense or ticket).
    pub async fn delete_task(
        &self,
        project_id: i64,
        task_id: i64,
        if_version: Option<i64>,
        actor: &Actor,
    ) -> Result<()> {
        in_tx!(self, tx => {
            lock_project!(tx, project_id);
            let project = fetch_project!(&mut *tx, project_id);
            let before: ProjectTask = sqlx::query_as::<_, TaskRow>("SELECT * FROM project_tasks WHERE id = $1 AND project_id = $2")
                .bind(task_id).bind(project_id).fetch_one(&mut *tx).await?.into();
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion);
            }
            writable(&project)?;
            let refs: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM bookings WHERE task_id = $1) \
                 + (SELECT COUNT(*) FROM expenses WHERE task_id = $1) \
                 + (SELECT COUNT(*) FROM tickets WHERE task_id = $1)")
                .bind(task_id).fetch_one(&mut *tx).await?;
            if refs > 0 {
                return Err(StoreError::Conflict(
                    "bookings, expenses or tickets refer to this task; mark it done instead of deleting it".into(),
                ));
            }
            sqlx::query("DELETE FROM project_tasks WHERE id = $1").bind(task_id).execute(&mut *tx).await?;
            audit!(tx, actor, "project_task", task_id, "delete", Some(&before), None::<&ProjectTask>);
        });
        Ok(())
    }

    /// Total minutes booked on a project (0 without bookings).
    pub async fn project_effort_minutes(&self, project_id: i64) -> Result<i64> {
        Ok(with_pool!(self, pool => sqlx::query_scalar::<_, i64>(EFFORT_MINUTES_SQL)
            .bind(project_id).fetch_one(pool).await?))
    }

    /// Booked time of a project in total, per task, without task and per person.
    pub async fn project_effort(&self, project_id: i64) -> Result<ProjectEffort> {
        with_pool!(self, pool => {
            let total_minutes: i64 = sqlx::query_scalar(EFFORT_MINUTES_SQL).bind(project_id).fetch_one(pool).await?;
            let unassigned_minutes: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(duration_minutes), 0) AS BIGINT) FROM bookings \
                 WHERE project_id = $1 AND task_id IS NULL")
                .bind(project_id).fetch_one(pool).await?;
            let tasks: Vec<TaskEffortRow> = sqlx::query_as(
                "SELECT t.id, t.name, t.estimate_hours, t.done, \
                 CAST(COALESCE(SUM(b.duration_minutes), 0) AS BIGINT) AS minutes \
                 FROM project_tasks t LEFT JOIN bookings b ON b.task_id = t.id AND b.project_id = t.project_id \
                 WHERE t.project_id = $1 GROUP BY t.id, t.name, t.estimate_hours, t.done ORDER BY t.id")
                .bind(project_id).fetch_all(pool).await?;
            let users: Vec<UserEffort> = sqlx::query_as(
                "SELECT b.user_id AS user_id, u.name AS name, CAST(SUM(b.duration_minutes) AS BIGINT) AS minutes \
                 FROM bookings b JOIN users u ON u.id = b.user_id WHERE b.project_id = $1 \
                 GROUP BY b.user_id, u.name ORDER BY b.user_id")
                .bind(project_id).fetch_all(pool).await?;
            Ok(ProjectEffort {
                total_minutes,
                unassigned_minutes,
                tasks: tasks
                    .into_iter()
                    .map(|t| TaskEffort {
                        task_id: t.id,
                        name: t.name,
                        estimate_hours: t.estimate_hours.map(|d| d.0),
                        done: t.done,
                        minutes: t.minutes,
                    })
                    .collect(),
                users,
            })
        })
    }

    /// Events in id order, filtered by type and entity (each filter optional on its own).
    pub async fn list_events_filtered(
        &self,
        filter: &EventFilter,
        page: &PageRequest<i64>,
    ) -> Result<Page<Event, i64>> {
        let rows: Vec<Event> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM events WHERE ($1 IS NULL OR event_type = $1) AND ($2 IS NULL OR entity_type = $2) \
             AND ($3 IS NULL OR entity_id = $3) AND ($4 IS NULL OR id > $4) ORDER BY id LIMIT $5")
            .bind(filter.event_type.as_deref()).bind(filter.entity_type.as_deref()).bind(filter.entity_id)
            .bind(page.after).bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        Ok(Page::from_overfetch(rows, page.limit, |e| e.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fresh_store;

    fn internal(name: &str) -> ProjectData {
        ProjectData {
            name: name.into(),
            description: None,
            internal: true,
            customer_id: None,
            project_manager_id: None,
            account_manager_id: None,
            project_lead_id: None,
            estimate_hours: Some(Decimal::new(1050, 2)),
            budget: None,
        }
    }

    #[tokio::test]
    async fn the_invoice_run_bills_only_projects_the_manager_has_approved() {
        let test = fresh_store().await;
        let store = &test.store;
        let actor = Actor::system();
        let admin = Participant { admin: true, ..Participant::default() };
        let p = store.create_project(&internal("Approved"), &actor).await.unwrap();
        assert_eq!(p.data.estimate_hours.map(|d| d.to_string()), Some("10.50".into()));
        assert!(store.mark_project_billed(p.id, &actor).await.unwrap().is_none(), "still open");
        for to in [ProjectStatus::LeadDone, ProjectStatus::ManagerDone] {
            store
                .change_project_status(p.id, None, &actor, |cur: &Project| {
                    transition(cur.status, to, &admin).map_err(|_| StoreError::NotFound)
                })
                .await
                .unwrap();
        }
        let change = store.mark_project_billed(p.id, &actor).await.unwrap().unwrap();
        assert_eq!((change.from, change.to), (ProjectStatus::ManagerDone, ProjectStatus::Billed));
        assert_eq!(change.notify, Some(Responsible::BillingOffice));
        assert!(store.mark_project_billed(p.id, &actor).await.unwrap().is_none(), "billed once");
        assert!(matches!(store.mark_project_billed(999, &actor).await, Err(StoreError::NotFound)));
        let page = store
            .list_events(Some(STATUS_CHANGED_EVENT), Some(("project", p.id)), &PageRequest { limit: 10, after: None })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 3);
        assert_eq!(store.project_effort_minutes(p.id).await.unwrap(), 0);
        test.remove().await;
    }
}

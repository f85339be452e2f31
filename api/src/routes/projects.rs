//! Projects, their tasks, status workflow and effort (estimate vs. actual).
//!
//! A project is internal or belongs to a customer, and names its project manager,
//! account manager and project lead. Its status moves `open` → `lead_done` (project
//! lead) → `manager_done` (project manager) → `billed` (billing office) → `archived`
//! (billing office); each step is permitted to its person only (admins may take any),
//! and notifies the next responsible person through a `project.status_changed` event.
//! Archived projects are read-only and hidden from default lists.
//!
//! Also here for now: the event outbox over HTTP (`GET /events`, admin).

use crate::auth::Principal;
use crate::dto::{clean, double_option, non_negative, timestamp, validate, DecimalString};
use crate::error::{not_found, ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::project::{self as workflow, Participant, ProjectStatus, TransitionError};
use domain::{Permission, Role};
use persistence::events::Event;
use persistence::projects::{
    EventFilter, Project, ProjectData, ProjectFilter, ProjectTask, StatusFilter, TaskData, TaskFilter,
};
use persistence::{PageRequest, StoreError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::Validate;

// ---- DTOs ----

/// A project.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectOut {
    pub id: i64,
    #[schema(example = "Migration Exchange → M365")]
    pub name: String,
    pub description: Option<String>,
    /// Internal projects have no customer and are never invoiced.
    pub internal: bool,
    /// The customer of an external project.
    pub customer_id: Option<i64>,
    /// ISO 4217 currency of the customer; `budget` is in it (`null` for internal projects).
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    /// Overall responsibility; approves the lead's work (`lead_done` → `manager_done`).
    pub project_manager_id: Option<i64>,
    /// Looks after the customer; renegotiates when the estimate is exceeded.
    pub account_manager_id: Option<i64>,
    /// Technical execution; declares the work done (`open` → `lead_done`).
    pub project_lead_id: Option<i64>,
    /// Estimated effort in hours.
    #[schema(value_type = Option<String>, example = "40")]
    pub estimate_hours: Option<DecimalString>,
    /// Money budget in `currency`.
    #[schema(value_type = Option<String>, example = "4800.00")]
    pub budget: Option<DecimalString>,
    pub status: ProjectStatus,
    /// The statuses the caller may move the project to now.
    pub next_statuses: Vec<ProjectStatus>,
    /// When booked time first passed the estimate.
    pub estimate_exceeded_at: Option<String>,
    /// Increases with every change; the `ETag` carries it.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl ProjectOut {
    fn new(p: Project, caller: &Principal) -> Self {
        let next_statuses = workflow::allowed_for(p.status, &participant(caller, &p));
        let d = p.data;
        ProjectOut {
            id: p.id,
            name: d.name,
            description: d.description,
            internal: d.internal,
            customer_id: d.customer_id,
            currency: p.currency,
            project_manager_id: d.project_manager_id,
            account_manager_id: d.account_manager_id,
            project_lead_id: d.project_lead_id,
            estimate_hours: d.estimate_hours.map(DecimalString),
            budget: d.budget.map(DecimalString::company_money),
            status: p.status,
            next_statuses,
            estimate_exceeded_at: p.estimate_exceeded_at.as_ref().map(timestamp),
            version: p.version,
            created_at: timestamp(&p.created_at),
            updated_at: timestamp(&p.updated_at),
        }
    }
}

list_response!(ProjectList, ProjectOut, "A page of projects.");

/// A new project. `customer_id` is required for external projects and must be absent
/// for internal ones; the people must be active users.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectCreate {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    #[schema(example = "Migration Exchange → M365")]
    pub name: String,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Default `false` (a customer project).
    pub internal: Option<bool>,
    /// Required unless `internal`; an active (not archived) customer.
    pub customer_id: Option<i64>,
    pub project_manager_id: Option<i64>,
    pub account_manager_id: Option<i64>,
    pub project_lead_id: Option<i64>,
    /// Hours, 0 to 1,000,000, to the hundredth.
    #[schema(value_type = Option<String>, example = "40")]
    pub estimate_hours: Option<DecimalString>,
    /// Money in the customer's currency, 0 to 10^12.
    #[schema(value_type = Option<String>, example = "4800.00")]
    pub budget: Option<DecimalString>,
}

/// Changes to a project; absent fields stay, `null` clears an optional field.
/// The status changes only through `POST /projects/{id}/status`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Switching to internal needs `customer_id: null` in the same request.
    pub internal: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub customer_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub project_manager_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub account_manager_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub project_lead_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub estimate_hours: Option<Option<DecimalString>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub budget: Option<Option<DecimalString>>,
}

/// A status change.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeRequest {
    /// The status to move to: the next one, or one step back as a correction.
    pub status: ProjectStatus,
}

/// Which projects to show by status.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatusParam {
    /// Everything except archived projects (default).
    #[default]
    Current,
    Open,
    LeadDone,
    ManagerDone,
    Billed,
    Archived,
    /// Every status, archived included.
    All,
}

/// Query of the project list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProjectQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
    /// A single status, `all`, or `current` (default: everything except archived).
    #[param(inline)]
    pub status: Option<ProjectStatusParam>,
    pub customer_id: Option<i64>,
    /// `true`: only internal projects; `false`: only customer projects.
    pub internal: Option<bool>,
    /// Case-insensitive search in the name.
    pub q: Option<String>,
    pub project_manager_id: Option<i64>,
    pub project_lead_id: Option<i64>,
    pub account_manager_id: Option<i64>,
}

/// A task of a project.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskOut {
    pub id: i64,
    pub project_id: i64,
    #[schema(example = "Migrate mailboxes")]
    pub name: String,
    pub assignee_id: Option<i64>,
    #[schema(value_type = Option<String>, example = "8")]
    pub estimate_hours: Option<DecimalString>,
    /// Particulars of this task.
    pub notes: Option<String>,
    pub done: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ProjectTask> for TaskOut {
    fn from(t: ProjectTask) -> Self {
        TaskOut {
            id: t.id,
            project_id: t.project_id,
            name: t.data.name,
            assignee_id: t.data.assignee_id,
            estimate_hours: t.data.estimate_hours.map(DecimalString),
            notes: t.data.notes,
            done: t.data.done,
            version: t.version,
            created_at: timestamp(&t.created_at),
            updated_at: timestamp(&t.updated_at),
        }
    }
}

list_response!(TaskList, TaskOut, "A page of a project's tasks.");

/// A new task.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskCreate {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    #[schema(example = "Migrate mailboxes")]
    pub name: String,
    /// An active user.
    pub assignee_id: Option<i64>,
    /// Hours, 0 to 1,000,000, to the hundredth.
    #[schema(value_type = Option<String>, example = "8")]
    pub estimate_hours: Option<DecimalString>,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
    /// Default `false`.
    pub done: Option<bool>,
}

/// Changes to a task; absent fields stay, `null` clears.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub estimate_hours: Option<Option<DecimalString>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    pub done: Option<bool>,
}

/// Query of the task list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TaskQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
    pub assignee_id: Option<i64>,
    pub done: Option<bool>,
}

/// Estimate vs. actual of one task.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskEffortOut {
    pub task_id: i64,
    pub name: String,
    pub done: bool,
    #[schema(value_type = Option<String>, example = "8")]
    pub estimate_hours: Option<DecimalString>,
    /// Booked minutes.
    pub actual_minutes: i64,
    /// Booked hours, to the hundredth.
    #[schema(value_type = String, example = "6.50")]
    pub actual_hours: DecimalString,
    /// Estimate minus actual (negative once exceeded); `null` without estimate.
    #[schema(value_type = Option<String>, example = "1.50")]
    pub remaining_hours: Option<DecimalString>,
    /// Booked time passed the task's estimate.
    pub exceeded: bool,
}

/// Booked time of one person on the project.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserEffortOut {
    pub user_id: i64,
    pub name: String,
    pub actual_minutes: i64,
    #[schema(value_type = String, example = "12.25")]
    pub actual_hours: DecimalString,
}

/// A project's effort: estimate vs. booked time, in total, per task and per person.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectEffortOut {
    pub project_id: i64,
    #[schema(value_type = Option<String>, example = "40")]
    pub estimate_hours: Option<DecimalString>,
    /// All minutes booked on the project.
    pub actual_minutes: i64,
    #[schema(value_type = String, example = "42.50")]
    pub actual_hours: DecimalString,
    /// Estimate minus actual (negative once exceeded); `null` without estimate.
    #[schema(value_type = Option<String>, example = "-2.50")]
    pub remaining_hours: Option<DecimalString>,
    /// Share of the estimate used, in percent; `null` without a positive estimate.
    #[schema(value_type = Option<String>, example = "106.3")]
    pub percent_used: Option<DecimalString>,
    /// Booked time passed the estimate (the account manager may renegotiate).
    pub exceeded: bool,
    /// Minutes booked on the project without a task.
    pub unassigned_minutes: i64,
    #[schema(value_type = String, example = "0")]
    pub unassigned_hours: DecimalString,
    /// Every task, also those without bookings, in id order.
    pub tasks: Vec<TaskEffortOut>,
    /// Everyone who booked on the project, in user id order.
    pub users: Vec<UserEffortOut>,
}

/// An event of the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub id: i64,
    /// e.g. `project.status_changed`.
    #[serde(rename = "type")]
    #[schema(example = "project.status_changed")]
    pub event_type: String,
    #[schema(example = "project")]
    pub entity_type: String,
    pub entity_id: i64,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: String,
    /// When a webhook delivered it; `null` while pending.
    pub delivered_at: Option<String>,
}

impl From<Event> for EventOut {
    fn from(e: Event) -> Self {
        EventOut {
            id: e.id,
            event_type: e.event_type,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            payload: serde_json::from_str(&e.payload).unwrap_or_else(|_| serde_json::json!({})),
            created_at: timestamp(&e.created_at),
            delivered_at: e.delivered_at.as_ref().map(timestamp),
        }
    }
}

list_response!(EventList, EventOut, "A page of events, oldest first.");

/// Filters of the event list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
    /// Event type, e.g. `project.status_changed`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// e.g. `project`.
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
}

// ---- helpers ----

/// What the caller is for this project, for the workflow's role rules.
fn participant(p: &Principal, project: &Project) -> Participant {
    match p {
        Principal::User { id, roles, .. } => Participant {
            admin: roles.contains(&Role::Admin),
            billing: roles.contains(&Role::Billing),
            project_lead: project.data.project_lead_id == Some(*id),
            project_manager: project.data.project_manager_id == Some(*id),
        },
        Principal::ApiClient { .. } => Participant::default(),
    }
}

fn project_response(status: StatusCode, project: Project, caller: &Principal) -> HttpResponse {
    versioned(status, "project", project.id, project.version, ProjectOut::new(project, caller))
}

fn task_response(status: StatusCode, task: ProjectTask) -> HttpResponse {
    versioned(status, "project_task", task.id, task.version, TaskOut::from(task))
}

fn api_not_found(what: &'static str) -> impl Fn(ApiError) -> ApiError {
    move |e| match e {
        ApiError::NotFound(_) => ApiError::NotFound(what.into()),
        other => other,
    }
}

/// Errors for a customer reference: it must exist and not be archived.
async fn check_customer(state: &AppState, id: i64, errors: &mut Vec<FieldError>) -> Result<(), ApiError> {
    match state.store.get_customer(id).await {
        Ok(c) if c.archived_at.is_some() => {
            errors.push(FieldError::new("customer_id", "archived", format!("customer {id} is archived")))
        }
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            errors.push(FieldError::new("customer_id", "unknown_reference", format!("there is no customer {id}")))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Errors for a user reference: it must exist and be active.
async fn check_user(state: &AppState, field: &str, id: i64, errors: &mut Vec<FieldError>) -> Result<(), ApiError> {
    match state.store.get_user(id).await {
        Ok(u) if !u.active => errors.push(FieldError::new(field, "inactive", format!("user {id} is deactivated"))),
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            errors.push(FieldError::new(field, "unknown_reference", format!("there is no user {id}")))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// The rule between `internal` and `customer_id`.
fn customer_rule(internal: bool, customer_id: Option<i64>) -> Option<FieldError> {
    match (internal, customer_id) {
        (true, Some(_)) => Some(FieldError::new(
            "customer_id",
            "forbidden",
            "internal projects have no customer; leave `customer_id` out (or null)",
        )),
        (false, None) => Some(FieldError::new(
            "customer_id",
            "required",
            "a customer project needs `customer_id` (or set `internal: true`)",
        )),
        _ => None,
    }
}

/// Largest estimate in hours (a hundred person-years).
const MAX_HOURS: i64 = 1_000_000;
/// Largest budget.
const MAX_BUDGET: i64 = 1_000_000_000_000;

/// An estimate: 0 to 1,000,000 hours, to the hundredth.
fn hours(field: &str, v: Option<&DecimalString>, errors: &mut Vec<FieldError>) {
    non_negative(field, v, errors);
    if let Some(d) = v {
        if d.0 > Decimal::from(MAX_HOURS) {
            errors.push(FieldError::new(field, "range", format!("must be at most {MAX_HOURS} hours")));
        } else if d.0.normalize().scale() > 2 {
            errors.push(FieldError::new(field, "scale", "at most two decimal places (hundredths of an hour)"));
        }
    }
}

/// A budget: 0 to 10^12, at most four decimal places.
fn money(field: &str, v: Option<&DecimalString>, errors: &mut Vec<FieldError>) {
    non_negative(field, v, errors);
    if let Some(d) = v {
        if d.0 > Decimal::from(MAX_BUDGET) {
            errors.push(FieldError::new(field, "range", format!("must be at most {MAX_BUDGET}")));
        } else if d.0.normalize().scale() > 4 {
            errors.push(FieldError::new(field, "scale", "at most four decimal places"));
        }
    }
}

fn writable_project(project: &Project) -> Result<(), ApiError> {
    if project.status.is_read_only() {
        return Err(ApiError::Conflict("the project is archived and read-only".into()));
    }
    Ok(())
}

// ---- projects ----

/// List projects.
///
/// By default archived projects are hidden (`status=all` or `status=archived` shows them).
/// Keyset-paginated in id order.
#[utoipa::path(operation_id = "list_projects", get, path = "/api/v1/projects", tag = "projects", params(ProjectQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<ProjectQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadProjects)?;
    let q = q.0;
    let status = match q.status.unwrap_or_default() {
        ProjectStatusParam::Current => StatusFilter::NotArchived,
        ProjectStatusParam::All => StatusFilter::All,
        ProjectStatusParam::Open => StatusFilter::Only(ProjectStatus::Open),
        ProjectStatusParam::LeadDone => StatusFilter::Only(ProjectStatus::LeadDone),
        ProjectStatusParam::ManagerDone => StatusFilter::Only(ProjectStatus::ManagerDone),
        ProjectStatusParam::Billed => StatusFilter::Only(ProjectStatus::Billed),
        ProjectStatusParam::Archived => StatusFilter::Only(ProjectStatus::Archived),
    };
    let filter = ProjectFilter {
        status,
        customer_id: q.customer_id,
        internal: q.internal,
        search: clean(q.q.as_deref()),
        project_manager_id: q.project_manager_id,
        project_lead_id: q.project_lead_id,
        account_manager_id: q.account_manager_id,
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<i64>(q.cursor.as_deref())? };
    let page = state.store.list_projects(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(ProjectList {
        items: page.items.into_iter().map(|pr| ProjectOut::new(pr, &p)).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Create a project (admin, manager). It starts in status `open`.
#[utoipa::path(operation_id = "create_project", post, path = "/api/v1/projects", tag = "projects", request_body = ProjectCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body replay the first response; the same key with another body is 422")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ProjectOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, unknown or archived customer, unknown or inactive users (see `errors`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ProjectCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteProjects)?;
    let b = body.into_inner()?;
    let internal = b.internal.unwrap_or(false);
    let mut errors = Vec::new();
    hours("estimate_hours", b.estimate_hours.as_ref(), &mut errors);
    money("budget", b.budget.as_ref(), &mut errors);
    match customer_rule(internal, b.customer_id) {
        Some(e) => errors.push(e),
        None => {
            if let Some(id) = b.customer_id {
                check_customer(&state, id, &mut errors).await?;
            }
        }
    }
    for (field, id) in [
        ("project_manager_id", b.project_manager_id),
        ("account_manager_id", b.account_manager_id),
        ("project_lead_id", b.project_lead_id),
    ] {
        if let Some(id) = id {
            check_user(&state, field, id, &mut errors).await?;
        }
    }
    validate(&b, errors)?;
    let data = ProjectData {
        name: b.name.trim().to_string(),
        description: clean(b.description.as_deref()),
        internal,
        customer_id: b.customer_id,
        project_manager_id: b.project_manager_id,
        account_manager_id: b.account_manager_id,
        project_lead_id: b.project_lead_id,
        estimate_hours: b.estimate_hours.map(|d| d.0),
        budget: b.budget.map(|d| d.0),
    };
    let project = state.store.create_project(&data, &p.actor(&req)).await?;
    let location = format!("/api/v1/projects/{}", project.id);
    Ok(created_at(project_response(StatusCode::CREATED, project, &p), &location))
}

/// Read a project.
#[utoipa::path(operation_id = "get_project", get, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectOut, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadProjects)?;
    let id = path_id(&req, "id")?;
    let project = state.store.get_project(id).await.map_err(not_found("project"))?;
    Ok(project_response(StatusCode::OK, project, &p))
}

/// Change a project (admin, manager). Send `If-Match` with the ETag you read; a stale
/// one is 412. Archived projects are read-only (409).
#[utoipa::path(operation_id = "update_project", patch, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = ProjectPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectOut, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or the customer of a project with bookings", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ProjectPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteProjects)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let current = state.store.get_project(id).await.map_err(not_found("project"))?;
    writable_project(&current)?;
    let mut errors = Vec::new();
    hours("estimate_hours", b.estimate_hours.as_ref().and_then(|o| o.as_ref()), &mut errors);
    money("budget", b.budget.as_ref().and_then(|o| o.as_ref()), &mut errors);
    if let Some(Some(cid)) = b.customer_id {
        if b.internal != Some(true) {
            check_customer(&state, cid, &mut errors).await?;
        }
    }
    for (field, id) in [
        ("project_manager_id", b.project_manager_id),
        ("account_manager_id", b.account_manager_id),
        ("project_lead_id", b.project_lead_id),
    ] {
        if let Some(Some(id)) = id {
            check_user(&state, field, id, &mut errors).await?;
        }
    }
    validate(&b, errors)?;
    let version = IfMatch::from_request(&req, "project", id).version()?;
    let project = state
        .store
        .update_project(id, version, &p.actor(&req), |cur: &Project| -> Result<ProjectData, ApiError> {
            let c = &cur.data;
            let pick = |patch: Option<Option<i64>>, cur: Option<i64>| patch.unwrap_or(cur);
            let data = ProjectData {
                name: b.name.as_deref().map(|n| n.trim().to_string()).unwrap_or_else(|| c.name.clone()),
                description: match &b.description {
                    Some(v) => clean(v.as_deref()),
                    None => c.description.clone(),
                },
                internal: b.internal.unwrap_or(c.internal),
                customer_id: pick(b.customer_id, c.customer_id),
                project_manager_id: pick(b.project_manager_id, c.project_manager_id),
                account_manager_id: pick(b.account_manager_id, c.account_manager_id),
                project_lead_id: pick(b.project_lead_id, c.project_lead_id),
                estimate_hours: match b.estimate_hours {
                    Some(v) => v.map(|d| d.0),
                    None => c.estimate_hours,
                },
                budget: match b.budget {
                    Some(v) => v.map(|d| d.0),
                    None => c.budget,
                },
            };
            if let Some(e) = customer_rule(data.internal, data.customer_id) {
                return Err(ApiError::Validation(vec![e]));
            }
            Ok(data)
        })
        .await
        .map_err(api_not_found("project"))?;
    Ok(project_response(StatusCode::OK, project, &p))
}

/// Move a project along its status workflow.
///
/// `open` → `lead_done` by the project lead; `lead_done` → `manager_done` by the project
/// manager; `manager_done` → `billed` and `billed` → `archived` by the billing office.
/// Corrections go one step back: `lead_done` → `open` (lead), `manager_done` →
/// `lead_done` (manager). Admins may take any of these steps. Each change writes a
/// `project.status_changed` event naming the next responsible person (`notify_user_id`).
/// A step that does not exist is 409 with `allowed`; someone else's step is 403.
#[utoipa::path(operation_id = "change_project_status", post, path = "/api/v1/projects/{id}/status", tag = "projects",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for a retried request")),
    request_body = StatusChangeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The project in its new status", body = ProjectOut, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The step belongs to someone else", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No such step from the current status; `allowed` lists the possible next statuses", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status", body = Problem, content_type = "application/problem+json")))]
pub async fn change_status(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<StatusChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadProjects)?;
    let id = path_id(&req, "id")?;
    let to = body.into_inner()?.status;
    let version = IfMatch::from_request(&req, "project", id).version()?;
    let change = state
        .store
        .change_project_status(id, version, &p.actor(&req), |cur: &Project| {
            workflow::transition(cur.status, to, &participant(&p, cur)).map_err(|e| match e {
                TransitionError::NotAllowed { from, ref allowed, .. } => ApiError::InvalidTransition {
                    detail: if allowed.is_empty() {
                        format!("the project is {from}; its status can no longer change")
                    } else {
                        e.to_string()
                    },
                    allowed: allowed.iter().map(|s| s.as_str().to_string()).collect(),
                },
                TransitionError::NotResponsible { .. } => ApiError::Forbidden(e.to_string()),
            })
        })
        .await
        .map_err(api_not_found("project"))?;
    Ok(project_response(StatusCode::OK, change.project, &p))
}

/// Estimate vs. actual: booked time in total, per task (with each task's estimate) and
/// per person, in minutes and hours.
#[utoipa::path(operation_id = "get_project_effort", get, path = "/api/v1/projects/{id}/effort", tag = "projects", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectEffortOut),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn effort(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadProjects)?;
    let id = path_id(&req, "id")?;
    let project = state.store.get_project(id).await.map_err(not_found("project"))?;
    let e = state.store.project_effort(id).await?;
    let estimate = project.data.estimate_hours;
    Ok(HttpResponse::Ok().json(ProjectEffortOut {
        project_id: id,
        estimate_hours: estimate.map(DecimalString),
        actual_minutes: e.total_minutes,
        actual_hours: DecimalString(workflow::minutes_to_hours(e.total_minutes)),
        remaining_hours: workflow::remaining_hours(estimate, e.total_minutes).map(DecimalString),
        percent_used: workflow::percent_used(estimate, e.total_minutes).map(DecimalString),
        exceeded: workflow::estimate_exceeded(estimate, e.total_minutes),
        unassigned_minutes: e.unassigned_minutes,
        unassigned_hours: DecimalString(workflow::minutes_to_hours(e.unassigned_minutes)),
        tasks: e
            .tasks
            .into_iter()
            .map(|t| TaskEffortOut {
                task_id: t.task_id,
                name: t.name,
                done: t.done,
                estimate_hours: t.estimate_hours.map(DecimalString),
                actual_minutes: t.minutes,
                actual_hours: DecimalString(workflow::minutes_to_hours(t.minutes)),
                remaining_hours: workflow::remaining_hours(t.estimate_hours, t.minutes).map(DecimalString),
                exceeded: workflow::estimate_exceeded(t.estimate_hours, t.minutes),
            })
            .collect(),
        users: e
            .users
            .into_iter()
            .map(|u| UserEffortOut {
                user_id: u.user_id,
                name: u.name,
                actual_minutes: u.minutes,
                actual_hours: DecimalString(workflow::minutes_to_hours(u.minutes)),
            })
            .collect(),
    }))
}

// ---- tasks ----

/// List a project's tasks in id order.
#[utoipa::path(operation_id = "list_project_tasks", get, path = "/api/v1/projects/{id}/tasks", tag = "projects",
    params(("id" = i64, Path), TaskQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TaskList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list_tasks(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    q: Query<TaskQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadProjects)?;
    let id = path_id(&req, "id")?;
    let q = q.0;
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<i64>(q.cursor.as_deref())? };
    state.store.get_project(id).await.map_err(not_found("project"))?;
    let filter = TaskFilter { assignee_id: q.assignee_id, done: q.done };
    let page = state.store.list_tasks(id, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(TaskList {
        items: page.items.into_iter().map(TaskOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Add a task to a project (admin, manager). Not on archived projects (409).
#[utoipa::path(operation_id = "create_project_task", post, path = "/api/v1/projects/{id}/tasks", tag = "projects",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for a retried request")),
    request_body = TaskCreate,
    security(("bearer" = [])),
    responses(
        (status = 201, body = TaskOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The project is archived", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_task(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<TaskCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteProjects)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let project = state.store.get_project(id).await.map_err(not_found("project"))?;
    writable_project(&project)?;
    let mut errors = Vec::new();
    hours("estimate_hours", b.estimate_hours.as_ref(), &mut errors);
    if let Some(uid) = b.assignee_id {
        check_user(&state, "assignee_id", uid, &mut errors).await?;
    }
    validate(&b, errors)?;
    let data = TaskData {
        name: b.name.trim().to_string(),
        assignee_id: b.assignee_id,
        estimate_hours: b.estimate_hours.map(|d| d.0),
        notes: clean(b.notes.as_deref()),
        done: b.done.unwrap_or(false),
    };
    let task = state.store.create_task(id, &data, &p.actor(&req)).await.map_err(not_found("project"))?;
    let location = format!("/api/v1/projects/{id}/tasks/{}", task.id);
    Ok(created_at(task_response(StatusCode::CREATED, task), &location))
}

/// Read a task.
#[utoipa::path(operation_id = "get_project_task", get, path = "/api/v1/projects/{id}/tasks/{task_id}", tag = "projects",
    params(("id" = i64, Path), ("task_id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TaskOut, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_task(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadProjects)?;
    let id = path_id(&req, "id")?;
    let task_id = path_id(&req, "task_id")?;
    let task = state.store.get_task(task_id).await.map_err(not_found("task"))?;
    if task.project_id != id {
        return Err(ApiError::NotFound("task".into()));
    }
    Ok(task_response(StatusCode::OK, task))
}

/// Change a task (admin, manager). Send `If-Match` with the ETag you read.
#[utoipa::path(operation_id = "update_project_task", patch, path = "/api/v1/projects/{id}/tasks/{task_id}", tag = "projects",
    params(("id" = i64, Path), ("task_id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = TaskPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = TaskOut, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The project is archived", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_task(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<TaskPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteProjects)?;
    let id = path_id(&req, "id")?;
    let task_id = path_id(&req, "task_id")?;
    let b = body.into_inner()?;
    let project = state.store.get_project(id).await.map_err(not_found("project"))?;
    writable_project(&project)?;
    let mut errors = Vec::new();
    hours("estimate_hours", b.estimate_hours.as_ref().and_then(|o| o.as_ref()), &mut errors);
    if let Some(Some(uid)) = b.assignee_id {
        check_user(&state, "assignee_id", uid, &mut errors).await?;
    }
    validate(&b, errors)?;
    let version = IfMatch::from_request(&req, "project_task", task_id).version()?;
    let task = state
        .store
        .update_task(id, task_id, version, &p.actor(&req), |cur: &ProjectTask| -> Result<TaskData, ApiError> {
            let c = &cur.data;
            Ok(TaskData {
                name: b.name.as_deref().map(|n| n.trim().to_string()).unwrap_or_else(|| c.name.clone()),
                assignee_id: b.assignee_id.unwrap_or(c.assignee_id),
                estimate_hours: match b.estimate_hours {
                    Some(v) => v.map(|d| d.0),
                    None => c.estimate_hours,
                },
                notes: match &b.notes {
                    Some(v) => clean(v.as_deref()),
                    None => c.notes.clone(),
                },
                done: b.done.unwrap_or(c.done),
            })
        })
        .await
        .map_err(api_not_found("task"))?;
    Ok(task_response(StatusCode::OK, task))
}

/// Delete a task (admin, manager). Only while no booking, expense or ticket refers to
/// it (409 otherwise: mark it done instead).
#[utoipa::path(operation_id = "delete_project_task", delete, path = "/api/v1/projects/{id}/tasks/{task_id}", tag = "projects",
    params(("id" = i64, Path), ("task_id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you deleted")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Referenced by bookings, expenses or tickets, or the project is archived", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_task(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteProjects)?;
    let id = path_id(&req, "id")?;
    let task_id = path_id(&req, "task_id")?;
    state.store.get_project(id).await.map_err(not_found("project"))?;
    let version = IfMatch::from_request(&req, "project_task", task_id).version()?;
    state.store.delete_task(id, task_id, version, &p.actor(&req)).await.map_err(not_found("task"))?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- events ----

/// Read the event outbox, oldest first (admin): `project.status_changed`,
/// `project.estimate_exceeded`, … with their payloads and delivery state.
#[utoipa::path(operation_id = "list_events", get, path = "/api/v1/events", tag = "events", params(EventQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = EventList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list_events(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    // The outbox shows changes across all records, like the audit log: admins only.
    p.require(Permission::ReadAuditLog)?;
    let q = q.0;
    let filter = EventFilter {
        event_type: clean(q.event_type.as_deref()),
        entity_type: clean(q.entity_type.as_deref()),
        entity_id: q.entity_id,
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<i64>(q.cursor.as_deref())? };
    let page = state.store.list_events_filtered(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(EventList {
        items: page.items.into_iter().map(EventOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(
    paths(
        list,
        create,
        get,
        update,
        change_status,
        effort,
        list_tasks,
        create_task,
        get_task,
        update_task,
        delete_task,
        list_events
    ),
    tags(
        (name = "projects", description = "Projects, their tasks, the status workflow (lead → manager → billing office → archive) and effort: estimate vs. actual"),
        (name = "events", description = "The event outbox: domain events written with each change (admin)")
    )
)]
pub struct Doc;

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/projects").route(web::get().to(list)).route(web::post().to(create)))
        .service(web::resource("/projects/{id}").route(web::get().to(get)).route(web::patch().to(update)))
        .service(web::resource("/projects/{id}/status").route(web::post().to(change_status)))
        .service(web::resource("/projects/{id}/effort").route(web::get().to(effort)))
        .service(
            web::resource("/projects/{id}/tasks").route(web::get().to(list_tasks)).route(web::post().to(create_task)),
        )
        .service(
            web::resource("/projects/{id}/tasks/{task_id}")
                .route(web::get().to(get_task))
                .route(web::patch().to(update_task))
                .route(web::delete().to(delete_task)),
        )
        .service(web::resource("/events").route(web::get().to(list_events)));
}

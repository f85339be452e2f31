//! Projects, their tasks, status workflow and effort (estimate vs. actual).
//!
//! A project is internal or belongs to a customer, and names its project manager,
//! account manager and project lead. Its status moves `open` → `lead_done` (project
//! lead) → `manager_done` (project manager) → `billed` (billing office) → `archived`
//! (billing office); each step is permitted to its person only (admins may take any),
//! and notifies the next responsible person through a `project.status_changed` event.
//! Archived projects are read-only and hidden from default lists.
//!
//! This module owns the project itself (DTOs, reference checks, list, writes, status
//! workflow), the routes of every project resource and the OpenAPI [`Doc`]. Submodules
//! hold the rest: `tasks`, `effort` (estimate vs. actual) and — here for now — `events`,
//! the event outbox over HTTP (`GET /events`, admin).

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
use persistence::projects::{Project, ProjectData, ProjectFilter, StatusFilter};
use persistence::{PageRequest, StoreError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::Validate;

mod effort;
mod events;
mod tasks;

pub use effort::*;
pub use events::*;
pub use tasks::*;

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
        Self::with_next(p, next_statuses)
    }

    /// The project as an event shows it: `next_statuses` is empty (an event is read by
    /// no one in particular).
    pub(crate) fn in_event(p: Project) -> Self {
        Self::with_next(p, Vec::new())
    }

    fn with_next(p: Project, next_statuses: Vec<ProjectStatus>) -> Self {
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
        (status = 200, body = ProjectOut, headers(("ETag" = String)))))]
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
        (status = 409, description = "Archived, or the customer of a project with bookings", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json")))]
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
        (status = 403, description = "The step belongs to someone else", body = Problem, content_type = "application/problem+json"),
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

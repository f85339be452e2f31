//! A project's tasks (`/projects/{id}/tasks`): name, assignee, estimate and done flag.
//! Archived projects take no task changes; a task is deleted only while nothing refers to it.

use super::{api_not_found, check_user, hours, writable_project};
use crate::auth::Principal;
use crate::dto::{clean, double_option, timestamp, validate, DecimalString};
use crate::error::{not_found, ApiError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use persistence::projects::{ProjectTask, TaskData, TaskFilter};
use persistence::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

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

fn task_response(status: StatusCode, task: ProjectTask) -> HttpResponse {
    versioned(status, "project_task", task.id, task.version, TaskOut::from(task))
}

/// List a project's tasks in id order.
#[utoipa::path(operation_id = "list_project_tasks", get, path = "/api/v1/projects/{id}/tasks", tag = "projects",
    params(("id" = i64, Path), TaskQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TaskList),
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
        (status = 409, description = "The project is archived", body = Problem, content_type = "application/problem+json")))]
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
        (status = 200, body = TaskOut, headers(("ETag" = String)))))]
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
        (status = 409, description = "The project is archived", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json")))]
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

//! A project's effort (`GET /projects/{id}/effort`): estimate vs. booked time, in total,
//! per task and per person, in minutes and hours.

use crate::auth::Principal;
use crate::dto::DecimalString;
use crate::error::{not_found, ApiError};
use crate::extract::path_id;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::project as workflow;
use domain::Permission;
use serde::Serialize;
use utoipa::ToSchema;

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
    /// The project's name.
    pub name: String,
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

/// Estimate vs. actual: booked time in total, per task (with each task's estimate) and
/// per person, in minutes and hours.
#[utoipa::path(operation_id = "get_project_effort", get, path = "/api/v1/projects/{id}/effort", tag = "projects", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectEffortOut)))]
pub async fn effort(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadProjects)?;
    let id = path_id(&req, "id")?;
    let project = state.store.get_project(id).await.map_err(not_found("project"))?;
    Ok(HttpResponse::Ok().json(project_effort_out(&state, &project).await?))
}

/// A project's effort: estimate vs. booked time, in total, per task and per person.
pub(crate) async fn project_effort_out(
    state: &AppState,
    project: &persistence::projects::Project,
) -> Result<ProjectEffortOut, ApiError> {
    let id = project.id;
    let e = state.store.project_effort(id).await?;
    let estimate = project.data.estimate_hours;
    Ok(ProjectEffortOut {
        project_id: id,
        name: project.data.name.clone(),
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
    })
}

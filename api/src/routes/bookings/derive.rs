//! How a booking write becomes a stored booking: whose time it is (the own-booking rule),
//! where it was worked (ticket → project → task → customer), its service, billable flag,
//! rate override and custom fields. The rules are pure functions over the references the
//! write points at ([`BookingRefs`]), read once per request — for one booking or a batch.

use crate::auth::Principal;
use crate::dto::DecimalString;
use crate::error::{ApiError, FieldError};
use crate::routes::custom_fields::value_errors;
use crate::state::AppState;
use domain::catalog::Unit;
use domain::custom_field::{validate_values, CustomFieldDefinition};
use domain::timekeeping::booked_minutes;
use domain::Permission;
use persistence::bookings::BookingData;
use persistence::refs::{BookingRefIds, BookingRefs};
use persistence::types::{ExactDecimal, JsonText};
use time::{Date, Time};

/// Where a position was worked: the ticket and/or project it is booked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorkTarget {
    pub customer_id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    /// Booked on an internal project: never billable.
    pub internal: bool,
}

/// Resolves ticket/project/task into a consistent target (reading the references first).
pub(crate) async fn resolve_target(
    state: &AppState,
    ticket_id: Option<i64>,
    project_id: Option<i64>,
    task_id: Option<i64>,
) -> Result<WorkTarget, ApiError> {
    let ids = BookingRefIds {
        tickets: ticket_id.into_iter().collect(),
        projects: project_id.into_iter().collect(),
        tasks: task_id.into_iter().collect(),
        ..Default::default()
    };
    target_in(&state.store.booking_refs(&ids).await?, ticket_id, project_id, task_id)
}

/// Resolves ticket/project/task into a consistent target: the ticket's project and task
/// are inherited, a task implies its project, and the customer comes from the ticket or
/// the (customer) project.
pub(crate) fn target_in(
    refs: &BookingRefs,
    ticket_id: Option<i64>,
    mut project_id: Option<i64>,
    mut task_id: Option<i64>,
) -> Result<WorkTarget, ApiError> {
    let mut errors = Vec::new();
    let mut customer_id = None;
    if ticket_id.is_none() && project_id.is_none() && task_id.is_none() {
        // No single field is missing: one of three is. Name them all.
        let message = "book on a ticket, a project or a project task: give ticket_id, project_id or task_id";
        return Err(ApiError::Validation(
            ["ticket_id", "project_id", "task_id"].map(|f| FieldError::new(f, "one_required", message)).to_vec(),
        ));
    }
    if let Some(t) = ticket_id {
        match refs.tickets.get(&t) {
            None => errors.push(FieldError::new("ticket_id", "unknown_reference", "no such ticket")),
            Some(ticket) => {
                customer_id = ticket.customer_id;
                match (project_id, ticket.project_id) {
                    (None, p) => {
                        project_id = p;
                        if task_id.is_none() {
                            task_id = ticket.task_id;
                        }
                    }
                    (Some(p), Some(tp)) if p != tp => {
                        errors.push(FieldError::new("project_id", "mismatch", "the ticket belongs to another project"))
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(task) = task_id {
        match (refs.tasks.get(&task).copied(), project_id) {
            (None, _) => errors.push(FieldError::new("task_id", "unknown_reference", "no such task")),
            (Some(tp), None) => project_id = Some(tp),
            (Some(tp), Some(p)) if tp != p => {
                errors.push(FieldError::new("task_id", "mismatch", "the task belongs to another project"))
            }
            _ => {}
        }
    }
    let mut internal = false;
    if let Some(p) = project_id {
        match refs.projects.get(&p) {
            None => errors.push(FieldError::new("project_id", "unknown_reference", "no such project")),
            Some(project) if project.archived => {
                errors.push(FieldError::new("project_id", "archived", "the project is archived and read-only"))
            }
            Some(project) => {
                internal = project.internal;
                match (customer_id, project.customer_id) {
                    (None, pc) => customer_id = pc,
                    (Some(c), Some(pc)) if c != pc => errors.push(FieldError::new(
                        "project_id",
                        "mismatch",
                        "the project belongs to another customer than the ticket",
                    )),
                    _ => {}
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(WorkTarget { customer_id, ticket_id, project_id, task_id, internal })
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// The user a write is for (reading the user first); see [`user_in`].
pub(crate) async fn booking_user(state: &AppState, p: &Principal, requested: Option<i64>) -> Result<i64, ApiError> {
    let ids = BookingRefIds { users: requested_user(p, requested).into_iter().collect(), ..Default::default() };
    user_in(&state.store.booking_refs(&ids).await?, p, requested)
}

/// The user whose time a write names: the requested one, or the calling user.
pub(crate) fn requested_user(p: &Principal, requested: Option<i64>) -> Option<i64> {
    match (p, requested) {
        (_, Some(u)) => Some(u),
        (Principal::User { id, .. }, None) => Some(*id),
        (Principal::ApiClient { .. }, None) => None,
    }
}

/// The user a write is for: agents only for themselves; others for anyone (given) or
/// themselves (absent). API clients must name the user. The user must exist and be active.
pub(crate) fn user_in(refs: &BookingRefs, p: &Principal, requested: Option<i64>) -> Result<i64, ApiError> {
    let all = p.require(Permission::WriteAllBookings).is_ok();
    let user = match (p, requested) {
        (Principal::User { id, .. }, None) => *id,
        (Principal::User { id, .. }, Some(u)) if u != *id && !all => {
            return Err(ApiError::Forbidden("agents book only their own time".into()))
        }
        (_, Some(u)) => u,
        (Principal::ApiClient { .. }, None) => {
            return Err(ApiError::invalid("user_id", "required", "an API client books for a named user"))
        }
    };
    match refs.users.get(&user) {
        Some(true) => Ok(user),
        Some(false) => Err(ApiError::invalid("user_id", "inactive", "the user is deactivated")),
        None => Err(ApiError::invalid("user_id", "unknown_reference", "no such user")),
    }
}

/// Whether the principal may change a position recorded for `owner`.
pub(crate) fn may_change(p: &Principal, owner: Option<i64>) -> Result<(), ApiError> {
    if p.require(Permission::WriteAllBookings).is_ok() {
        return Ok(());
    }
    match p {
        Principal::User { id, .. } if owner == Some(*id) => Ok(()),
        _ => Err(ApiError::Forbidden("you may change only your own bookings and expenses".into())),
    }
}

fn parse_clock(field: &str, s: &str) -> Result<Time, ApiError> {
    let fmt = time::macros::format_description!("[hour]:[minute]");
    let fmt_s = time::macros::format_description!("[hour]:[minute]:[second]");
    Time::parse(s, &fmt)
        .or_else(|_| Time::parse(s, &fmt_s))
        .map_err(|_| ApiError::invalid(field, "invalid_time", "must be a time of day like 09:30"))
}

/// `HH:MM` of a time of day.
pub(crate) fn clock(t: Option<Time>) -> Option<String> {
    t.map(|t| format!("{:02}:{:02}", t.hour(), t.minute()))
}

/// Everything a booking write needs, after defaults: validated into `BookingData`.
pub(crate) struct Draft {
    pub user_id: i64,
    pub work_date: Date,
    pub duration: Option<i64>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub service_id: i64,
    pub description: String,
    pub ticket_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    pub billable: Option<bool>,
    pub rate_override: Option<DecimalString>,
    /// Whether this write sets or changes the override (that needs the billing role).
    pub override_changed: bool,
    /// New values (validated against the active definitions), or `Err(stored)` to keep
    /// the stored ones as they are even if a definition changed since.
    pub custom_fields: Result<serde_json::Value, serde_json::Value>,
}

impl Draft {
    /// Adds the records this draft points at to `ids`.
    pub(crate) fn add_refs(&self, ids: &mut BookingRefIds) {
        ids.users.push(self.user_id);
        ids.services.push(self.service_id);
        ids.tickets.extend(self.ticket_id);
        ids.projects.extend(self.project_id);
        ids.tasks.extend(self.task_id);
    }
}

/// Validates a draft against its references and the active booking custom fields.
pub(crate) fn booking_data(
    refs: &BookingRefs,
    fields: &[CustomFieldDefinition],
    p: &Principal,
    d: Draft,
) -> Result<BookingData, ApiError> {
    let start = d.start.as_deref().map(|s| parse_clock("start_time", s)).transpose()?;
    let end = d.end.as_deref().map(|s| parse_clock("end_time", s)).transpose()?;
    let minutes = booked_minutes(d.duration, start, end)
        .map_err(|e| ApiError::invalid("duration_minutes", "invalid_duration", e.to_string()))?;
    let service = refs
        .services
        .get(&d.service_id)
        .ok_or_else(|| ApiError::invalid("service_id", "unknown_reference", "no such service"))?;
    if service.archived {
        return Err(ApiError::invalid("service_id", "archived", "the service is archived"));
    }
    if service.unit != Unit::Hour {
        return Err(ApiError::invalid(
            "service_id",
            "unit",
            format!(
                "time is booked on hourly services; `{}` is measured in {} (record it as an expense)",
                service.name, service.unit
            ),
        ));
    }
    let target = target_in(refs, d.ticket_id, d.project_id, d.task_id)?;
    if target.internal && d.billable == Some(true) {
        return Err(ApiError::invalid(
            "billable",
            "internal_project",
            "bookings on internal projects are never billable",
        ));
    }
    if d.override_changed {
        p.require(Permission::OverrideRates)
            .map_err(|_| ApiError::Forbidden("only the billing office may set or change a rate override".into()))?;
    }
    if let Some(r) = &d.rate_override {
        if r.0.is_sign_negative() {
            return Err(ApiError::invalid("rate_override", "range", "must not be negative"));
        }
    }
    let custom_fields = match d.custom_fields {
        Ok(new) => serde_json::Value::Object(validate_values(fields, &new).map_err(value_errors)?),
        Err(stored) => stored,
    };
    Ok(BookingData {
        user_id: d.user_id,
        work_date: d.work_date,
        start_time: start,
        end_time: end,
        duration_minutes: minutes,
        service_id: d.service_id,
        description: d.description.trim().to_string(),
        customer_id: target.customer_id,
        ticket_id: target.ticket_id,
        project_id: target.project_id,
        task_id: target.task_id,
        billable: !target.internal && d.billable.unwrap_or(service.billable_by_default),
        rate_override: d.rate_override.map(|r| ExactDecimal(r.0)),
        custom_fields: JsonText(custom_fields),
    })
}

/// Reads what a single draft points at and validates it (see [`booking_data`]).
pub(crate) async fn build(state: &AppState, p: &Principal, d: Draft) -> Result<BookingData, ApiError> {
    let mut ids = BookingRefIds::default();
    d.add_refs(&mut ids);
    let refs = state.store.booking_refs(&ids).await?;
    // The definitions matter only when the draft brings new values.
    let fields = match d.custom_fields {
        Ok(_) => state.store.booking_fields(&refs).await?,
        Err(_) => Default::default(),
    };
    booking_data(&refs, &fields, p, d)
}

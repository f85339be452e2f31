//! A ticket's appointments (`/tickets/{id}/appointments`): scheduled visits or calls,
//! listed by start time and cancelled by deleting them.

use super::not_found;
use crate::auth::Principal;
use crate::dto::{clean, timestamp, validate};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{path_id, Json};
use crate::pagination::list_response;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use persistence::tickets::{Appointment, NewAppointment};
use persistence::types::DbTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// A scheduled visit or call.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentOut {
    pub id: i64,
    pub ticket_id: i64,
    pub starts_at: String,
    pub ends_at: String,
    pub user_id: Option<i64>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub created_at: String,
}

impl From<Appointment> for AppointmentOut {
    fn from(a: Appointment) -> Self {
        AppointmentOut {
            id: a.id,
            ticket_id: a.ticket_id,
            starts_at: timestamp(&a.starts_at),
            ends_at: timestamp(&a.ends_at),
            user_id: a.user_id,
            location: a.location,
            notes: a.notes,
            created_at: timestamp(&a.created_at),
        }
    }
}

list_response!(AppointmentList, AppointmentOut, "A ticket's appointments by start time.");

/// A new appointment.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentCreate {
    /// RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T09:00:00Z")]
    pub starts_at: time::OffsetDateTime,
    /// RFC 3339, after `starts_at`.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-12-01T11:00:00Z")]
    pub ends_at: time::OffsetDateTime,
    /// Technician visiting.
    pub user_id: Option<i64>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub location: Option<String>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub notes: Option<String>,
}

/// List a ticket's appointments.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/appointments", operation_id = "list_ticket_appointments", tag = "tickets",
    params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = ["tickets:read"]), ("api_key" = ["tickets:write"])),
    responses((status = 200, body = AppointmentList), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_appointments(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadTickets)?;
    let id = path_id(&req, "id")?;
    state.store.get_ticket(id).await.map_err(not_found("ticket"))?;
    let items = state.store.list_appointments(id).await?;
    Ok(HttpResponse::Ok()
        .json(AppointmentList { items: items.into_iter().map(AppointmentOut::from).collect(), next_cursor: None }))
}

/// Schedule an appointment on a ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/appointments", operation_id = "add_ticket_appointment", tag = "tickets",
    params(("id" = i64, Path)), request_body = AppointmentCreate,
    security(("bearer" = []), ("api_key" = ["tickets:write"])),
    responses((status = 201, body = AppointmentOut), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn add_appointment(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<AppointmentCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteTickets)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let mut extra = Vec::new();
    if b.ends_at <= b.starts_at {
        extra.push(FieldError::new("ends_at", "range", "must be after starts_at"));
    }
    validate(&b, extra)?;
    state.store.get_ticket(id).await.map_err(not_found("ticket"))?;
    if let Some(user) = b.user_id {
        if state.store.user_ref(user).await? != Some(true) {
            return Err(ApiError::invalid("user_id", "unknown_reference", "no such active user"));
        }
    }
    let a = NewAppointment {
        starts_at: DbTime::from(b.starts_at),
        ends_at: DbTime::from(b.ends_at),
        user_id: b.user_id,
        location: clean(b.location.as_deref()),
        notes: clean(b.notes.as_deref()),
    };
    let appointment = state.store.add_appointment(id, &a, &p.actor(&req)).await?;
    Ok(HttpResponse::Created().json(AppointmentOut::from(appointment)))
}

/// Cancel an appointment.
#[utoipa::path(delete, path = "/api/v1/tickets/{id}/appointments/{appointment_id}", operation_id = "delete_ticket_appointment", tag = "tickets",
    params(("id" = i64, Path), ("appointment_id" = i64, Path)),
    security(("bearer" = []), ("api_key" = ["tickets:write"])),
    responses((status = 204, description = "Cancelled"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_appointment(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteTickets)?;
    let id = path_id(&req, "id")?;
    let appointment_id = path_id(&req, "appointment_id")?;
    state.store.delete_appointment(id, appointment_id, &p.actor(&req)).await.map_err(not_found("appointment"))?;
    Ok(HttpResponse::NoContent().finish())
}

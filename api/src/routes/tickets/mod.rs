//! Tickets and work orders: numbers, status machine, assignment, appointments, and the
//! registers — an append-only timeline of notes, correspondence, documents and status
//! changes. Corrections are new entries that point at the entry they correct.
//!
//! This module owns the ticket itself (fields, references, list, writes, status machine),
//! the routes of every ticket resource and their OpenAPI [`Doc`]. Submodules hold the
//! rest: `timeline` (the registers: timeline, notes, correspondence), `documents`
//! (uploads and downloads) and `appointments`.

use crate::auth::Principal;
use crate::dto::{clean, date_text, double_option, timestamp, validate};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::routes::custom_fields::validate_custom_fields;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::custom_field::CustomFieldEntity;
use domain::ticket::{Priority, TicketSource, TicketStatus, TicketType};
use domain::Permission;
use persistence::tickets::{Ticket, TicketData, TicketFilter};
use persistence::types::JsonText;
use persistence::{PageRequest, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::Validate;

mod appointments;
mod documents;
mod timeline;

pub use appointments::*;
pub use documents::*;
pub use timeline::*;

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, change_status, timeline, add_note, add_correspondence, upload_document,
          download_document, list_appointments, add_appointment, delete_appointment),
    tags((name = "tickets", description = "Tickets and work orders with their registers (timeline, correspondence, documents) and appointments"))
)]
pub struct Doc;

/// A ticket or work order.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketOut {
    pub id: i64,
    /// Human-readable number, unique and increasing per year.
    #[schema(example = "T-2026-000123")]
    pub number: String,
    pub ticket_type: TicketType,
    pub title: String,
    pub description: Option<String>,
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    /// The customer's contract the work falls under (else the invoice run picks one).
    pub contract_id: Option<i64>,
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
    pub priority: Priority,
    pub status: TicketStatus,
    /// Statuses this ticket may move to next.
    pub allowed_transitions: Vec<TicketStatus>,
    #[schema(value_type = Option<String>, format = Date, example = "2026-12-01")]
    pub due_date: Option<String>,
    pub estimate_minutes: Option<i64>,
    pub source: TicketSource,
    /// Name of the external system (e.g. `zammad`); with `external_id` unique.
    pub external_system: Option<String>,
    pub external_id: Option<String>,
    pub external_url: Option<String>,
    /// Values of the admin-defined ticket fields.
    #[schema(value_type = crate::routes::custom_fields::CustomFieldValues)]
    pub custom_fields: serde_json::Value,
    pub resolved_at: Option<String>,
    pub closed_at: Option<String>,
    pub created_by: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Ticket> for TicketOut {
    fn from(t: Ticket) -> Self {
        let d = t.data;
        TicketOut {
            id: t.id,
            number: t.number,
            ticket_type: d.ticket_type,
            title: d.title,
            description: d.description,
            customer_id: d.customer_id,
            contact_id: d.contact_id,
            project_id: d.project_id,
            task_id: d.task_id,
            contract_id: d.contract_id,
            assignee_user_id: d.assignee_user_id,
            assignee_team_id: d.assignee_team_id,
            priority: d.priority,
            allowed_transitions: t.status.next().to_vec(),
            status: t.status,
            due_date: d.due_date.map(date_text),
            estimate_minutes: d.estimate_minutes,
            source: d.source,
            external_system: d.external_system,
            external_id: d.external_id,
            external_url: d.external_url,
            custom_fields: d.custom_fields.0,
            resolved_at: t.resolved_at.as_ref().map(timestamp),
            closed_at: t.closed_at.as_ref().map(timestamp),
            created_by: t.created_by,
            version: t.version,
            created_at: timestamp(&t.created_at),
            updated_at: timestamp(&t.updated_at),
        }
    }
}

list_response!(TicketList, TicketOut, "A page of tickets, newest first.");

pub(crate) fn valid_url(url: &str) -> Result<(), validator::ValidationError> {
    if (url.starts_with("https://") || url.starts_with("http://")) && !url.contains(char::is_whitespace) {
        Ok(())
    } else {
        let mut e = validator::ValidationError::new("url");
        e.message = Some("must be an http(s) URL".into());
        Err(e)
    }
}

fn object(v: &serde_json::Value) -> Result<(), validator::ValidationError> {
    if v.is_object() {
        Ok(())
    } else {
        let mut e = validator::ValidationError::new("object");
        e.message = Some("must be a JSON object of field values".into());
        Err(e)
    }
}

/// A new ticket. `customer_id` is required unless the ticket belongs to an internal project;
/// for a customer project it is taken from the project when absent.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketCreate {
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    #[schema(example = "Printer on 2nd floor offline")]
    pub title: String,
    #[validate(length(max = 20000))]
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    /// Default `ticket`.
    pub ticket_type: Option<TicketType>,
    pub customer_id: Option<i64>,
    /// A contact of the ticket's customer.
    pub contact_id: Option<i64>,
    pub project_id: Option<i64>,
    /// A task of the ticket's project.
    pub task_id: Option<i64>,
    /// A contract of the ticket's customer.
    pub contract_id: Option<i64>,
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
    /// Default `normal`.
    pub priority: Option<Priority>,
    #[schema(value_type = Option<String>, format = Date, example = "2026-12-01")]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub due_date: Option<time::Date>,
    #[validate(range(min = 0, max = 1_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub estimate_minutes: Option<i64>,
    /// Default `api`; `schedule` is reserved for work orders generated from a contract's
    /// schedule.
    pub source: Option<TicketSource>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    #[schema(example = "zammad")]
    pub external_system: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    #[schema(example = "4711")]
    pub external_id: Option<String>,
    #[validate(length(max = 2000), custom(function = "valid_url"))]
    #[schema(max_length = 2000)]
    pub external_url: Option<String>,
    /// Values of ticket custom fields.
    #[validate(custom(function = "object"))]
    #[schema(value_type = Option<crate::routes::custom_fields::CustomFieldValuesIn>)]
    pub custom_fields: Option<serde_json::Value>,
}

/// Changes to a ticket; absent fields stay, `null` clears. Status changes go through
/// `POST /tickets/{id}/status`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 20000))]
    #[schema(max_length = 20000)]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub customer_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub contact_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub project_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub task_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub contract_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_user_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_team_id: Option<Option<i64>>,
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "crate::dto::business_date_patch")]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<Option<time::Date>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(range(min = 0, max = 1_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000)]
    #[schema(value_type = Option<i64>)]
    pub estimate_minutes: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 2000), custom(function = "valid_url"))]
    #[schema(max_length = 2000)]
    #[schema(value_type = Option<String>)]
    pub external_url: Option<Option<String>>,
    /// Replaces all custom-field values.
    #[validate(custom(function = "object"))]
    #[schema(value_type = Option<crate::routes::custom_fields::CustomFieldValuesIn>)]
    pub custom_fields: Option<serde_json::Value>,
}

/// Checks what a ticket points at; fills the customer from a customer project.
pub(crate) async fn check_references(state: &AppState, d: &mut TicketData) -> Result<(), ApiError> {
    let store = &state.store;
    let mut errors = Vec::new();
    if let Some(pid) = d.project_id {
        match store.project_ref(pid).await? {
            None => errors.push(FieldError::new("project_id", "unknown_reference", "no such project")),
            Some(p) if p.archived => errors.push(FieldError::new("project_id", "archived", "the project is archived")),
            Some(p) if !p.internal => match (d.customer_id, p.customer_id) {
                (None, pc) => d.customer_id = pc,
                (Some(c), Some(pc)) if c != pc => {
                    errors.push(FieldError::new("customer_id", "mismatch", "the project belongs to another customer"))
                }
                _ => {}
            },
            Some(_) => {}
        }
    }
    match d.customer_id {
        None if d.project_id.is_none() => {
            let message = "a ticket needs a customer or a project: give customer_id or project_id";
            errors.extend(["customer_id", "project_id"].map(|f| FieldError::new(f, "one_required", message)));
        }
        None => {}
        Some(cid) => match store.customer_ref(cid).await? {
            None => errors.push(FieldError::new("customer_id", "unknown_reference", "no such customer")),
            Some(true) => errors.push(FieldError::new("customer_id", "archived", "the customer is archived")),
            Some(false) => {}
        },
    }
    if let Some(contact) = d.contact_id {
        match store.contact_customer(contact).await? {
            Some(c) if Some(c) == d.customer_id => {}
            Some(_) => {
                errors.push(FieldError::new("contact_id", "mismatch", "the contact belongs to another customer"))
            }
            None => errors.push(FieldError::new("contact_id", "unknown_reference", "no such contact")),
        }
    }
    if let Some(task) = d.task_id {
        match store.task_project(task).await? {
            Some(p) if Some(p) == d.project_id => {}
            Some(_) => errors.push(FieldError::new("task_id", "mismatch", "the task belongs to another project")),
            None => errors.push(FieldError::new("task_id", "unknown_reference", "no such task")),
        }
    }
    if let Some(contract) = d.contract_id {
        match store.contract_ref(contract).await? {
            Some((_, true)) => errors.push(FieldError::new("contract_id", "archived", "the contract is archived")),
            Some((c, false)) if Some(c) == d.customer_id => {}
            Some(_) => {
                errors.push(FieldError::new("contract_id", "mismatch", "the contract belongs to another customer"))
            }
            None => errors.push(FieldError::new("contract_id", "unknown_reference", "no such contract")),
        }
    }
    if let Some(user) = d.assignee_user_id {
        match store.user_ref(user).await? {
            Some(true) => {}
            Some(false) => errors.push(FieldError::new("assignee_user_id", "inactive", "the user is deactivated")),
            None => errors.push(FieldError::new("assignee_user_id", "unknown_reference", "no such user")),
        }
    }
    if let Some(team) = d.assignee_team_id {
        match store.team_ref(team).await? {
            Some(false) => {}
            Some(true) => errors.push(FieldError::new("assignee_team_id", "archived", "the team is archived")),
            None => errors.push(FieldError::new("assignee_team_id", "unknown_reference", "no such team")),
        }
    }
    if d.external_system.is_some() != d.external_id.is_some() {
        errors.push(FieldError::new("external_id", "required", "external_system and external_id go together"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn ticket_response(status: StatusCode, t: Ticket) -> HttpResponse {
    versioned(status, "ticket", t.id, t.version, TicketOut::from(t))
}

fn not_found(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound(what.into()),
        StoreError::Duplicate(_) => {
            ApiError::Conflict("another ticket already has this external_system and external_id".into())
        }
        other => other.into(),
    }
}

/// Filters of the ticket list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// One status or several separated by commas, e.g. `open,in_progress`.
    pub status: Option<String>,
    #[param(inline)]
    pub ticket_type: Option<TicketType>,
    pub customer_id: Option<i64>,
    pub project_id: Option<i64>,
    /// Assigned user.
    pub assignee: Option<i64>,
    /// Assigned team.
    pub team: Option<i64>,
    #[param(inline)]
    pub priority: Option<Priority>,
    /// Text in number, title or description.
    pub q: Option<String>,
    pub external_system: Option<String>,
    pub external_id: Option<String>,
}

/// List tickets, newest first.
#[utoipa::path(get, path = "/api/v1/tickets", operation_id = "list_tickets", tag = "tickets", params(TicketQuery),
    security(("bearer" = []), ("api_key" = ["tickets:read"]), ("api_key" = ["tickets:write"])),
    responses((status = 200, body = TicketList), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<TicketQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadTickets)?;
    let q = q.0;
    let mut statuses = Vec::new();
    for s in q.status.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        statuses.push(s.parse::<TicketStatus>().map_err(|e| ApiError::invalid("status", "invalid_query", e))?);
    }
    let filter = TicketFilter {
        statuses,
        ticket_type: q.ticket_type,
        customer_id: q.customer_id,
        project_id: q.project_id,
        assignee_user_id: q.assignee,
        assignee_team_id: q.team,
        priority: q.priority,
        search: clean(q.q.as_deref()),
        external_system: clean(q.external_system.as_deref()),
        external_id: clean(q.external_id.as_deref()),
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<i64>(q.cursor.as_deref())? };
    let page = state.store.list_tickets(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(TicketList {
        items: page.items.into_iter().map(TicketOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Create a ticket. It starts as `new` with the next number of the year.
#[utoipa::path(post, path = "/api/v1/tickets", operation_id = "create_ticket", tag = "tickets", request_body = TicketCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation")),
    security(("bearer" = []), ("api_key" = ["tickets:write"])),
    responses(
        (status = 201, body = TicketOut, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "External reference already used", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<TicketCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteTickets)?;
    let b = body.into_inner()?;
    let reserved = (b.source == Some(TicketSource::Schedule)).then(|| {
        FieldError::new("source", "reserved", "only the work-order generator creates tickets from a schedule")
    });
    validate(&b, reserved.into_iter().collect())?;
    let mut data = TicketData {
        ticket_type: b.ticket_type.unwrap_or(TicketType::Ticket),
        title: b.title.trim().to_string(),
        description: clean(b.description.as_deref()),
        customer_id: b.customer_id,
        contact_id: b.contact_id,
        project_id: b.project_id,
        task_id: b.task_id,
        contract_id: b.contract_id,
        assignee_user_id: b.assignee_user_id,
        assignee_team_id: b.assignee_team_id,
        priority: b.priority.unwrap_or(Priority::Normal),
        due_date: b.due_date,
        estimate_minutes: b.estimate_minutes,
        source: b.source.unwrap_or(TicketSource::Api),
        external_system: clean(b.external_system.as_deref()),
        external_id: clean(b.external_id.as_deref()),
        external_url: clean(b.external_url.as_deref()),
        custom_fields: JsonText(b.custom_fields.unwrap_or_else(|| serde_json::json!({}))),
    };
    check_references(&state, &mut data).await?;
    data.custom_fields = JsonText(serde_json::Value::Object(
        validate_custom_fields(&state, CustomFieldEntity::Ticket, &data.custom_fields.0).await?,
    ));
    let ticket = state.store.create_ticket(&data, &p.actor(&req)).await.map_err(not_found("ticket"))?;
    let location = format!("/api/v1/tickets/{}", ticket.id);
    Ok(created_at(ticket_response(StatusCode::CREATED, ticket), &location))
}

/// Read a ticket.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", operation_id = "get_ticket", tag = "tickets", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = ["tickets:read"]), ("api_key" = ["tickets:write"])),
    responses((status = 200, body = TicketOut, headers(("ETag" = String))), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadTickets)?;
    let ticket = state.store.get_ticket(path_id(&req, "id")?).await.map_err(not_found("ticket"))?;
    Ok(ticket_response(StatusCode::OK, ticket))
}

/// Change a ticket's fields (assignment, priority, links, due date …). Send `If-Match`.
#[utoipa::path(patch, path = "/api/v1/tickets/{id}", operation_id = "update_ticket", tag = "tickets",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)), request_body = TicketPatch,
    security(("bearer" = []), ("api_key" = ["tickets:write"])),
    responses(
        (status = 200, body = TicketOut, headers(("ETag" = String)))))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<TicketPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteTickets)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let version = IfMatch::from_request(&req, "ticket", id).version()?;
    // Resolve the merged state first so references can be checked outside the transaction;
    // the update then re-applies the same patch and fails with 412 if the ticket changed.
    let current = state.store.get_ticket(id).await.map_err(not_found("ticket"))?;
    let merge = |cur: &Ticket| -> TicketData {
        let c = cur.data.clone();
        let pick = |patch: &Option<Option<i64>>, cur: Option<i64>| match patch {
            Some(v) => *v,
            None => cur,
        };
        TicketData {
            title: b.title.as_deref().map(|t| t.trim().to_string()).unwrap_or(c.title),
            description: match &b.description {
                Some(v) => clean(v.as_deref()),
                None => c.description,
            },
            customer_id: pick(&b.customer_id, c.customer_id),
            contact_id: pick(&b.contact_id, c.contact_id),
            project_id: pick(&b.project_id, c.project_id),
            task_id: pick(&b.task_id, c.task_id),
            contract_id: pick(&b.contract_id, c.contract_id),
            assignee_user_id: pick(&b.assignee_user_id, c.assignee_user_id),
            assignee_team_id: pick(&b.assignee_team_id, c.assignee_team_id),
            priority: b.priority.unwrap_or(c.priority),
            due_date: match b.due_date {
                Some(v) => v,
                None => c.due_date,
            },
            estimate_minutes: match b.estimate_minutes {
                Some(v) => v,
                None => c.estimate_minutes,
            },
            external_url: match &b.external_url {
                Some(v) => clean(v.as_deref()),
                None => c.external_url,
            },
            custom_fields: b.custom_fields.clone().map(JsonText).unwrap_or(c.custom_fields),
            ..c
        }
    };
    let mut checked = merge(&current);
    check_references(&state, &mut checked).await?;
    // Values are validated when sent; stored ones stay even if a definition changed since.
    if let Some(values) = &b.custom_fields {
        checked.custom_fields = JsonText(serde_json::Value::Object(
            validate_custom_fields(&state, CustomFieldEntity::Ticket, values).await?,
        ));
    }
    let ticket = state
        .store
        .update_ticket(
            id,
            version.or(Some(current.version)),
            &p.actor(&req),
            |_cur: &Ticket| -> Result<TicketData, ApiError> { Ok(checked) },
        )
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("ticket".into()),
            other => other,
        })?;
    Ok(ticket_response(StatusCode::OK, ticket))
}

/// A status change.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: TicketStatus,
    /// Optional remark stored on the timeline entry of the change.
    #[validate(length(max = 20000))]
    #[schema(max_length = 20000)]
    pub note: Option<String>,
}

/// Move a ticket along its life: `new → open → in_progress ⇄ waiting → resolved → closed`;
/// resolved or closed tickets can be reopened (`open`). Anything else is 409 with `allowed`.
/// Resolving a ticket of a customer in `immediate` billing mode commits an invoice run for
/// the ticket (started via `ticket_resolved`): its open work becomes a draft invoice.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/status", operation_id = "change_ticket_status", tag = "tickets",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)), request_body = StatusChange,
    security(("bearer" = []), ("api_key" = ["tickets:write"])),
    responses(
        (status = 200, body = TicketOut, headers(("ETag" = String))),
        (status = 409, description = "Transition not allowed; `allowed` lists the possible ones", body = Problem, content_type = "application/problem+json")))]
pub async fn change_status(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<StatusChange>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteTickets)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let version = IfMatch::from_request(&req, "ticket", id).version()?;
    let (ticket, _) = state
        .store
        .change_ticket_status(
            id,
            version,
            clean(b.note.as_deref()),
            &p.actor(&req),
            |t: &Ticket| -> Result<TicketStatus, ApiError> {
                t.status.transition(b.status).map_err(|allowed| ApiError::InvalidTransition {
                    detail: format!("a ticket cannot go from `{}` to `{}`", t.status, b.status),
                    allowed: allowed.iter().map(|s| s.to_string()).collect(),
                })?;
                Ok(b.status)
            },
        )
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("ticket".into()),
            other => other,
        })?;
    after_status_change(&state, &ticket, &p.actor(&req)).await;
    Ok(ticket_response(StatusCode::OK, ticket))
}

/// What follows a ticket's status change: a customer billed per resolved ticket gets its
/// draft now. The status change stands even if billing fails (the work then waits for the
/// next run).
pub(crate) async fn after_status_change(state: &AppState, ticket: &Ticket, actor: &persistence::Actor) {
    if let (TicketStatus::Resolved, Some(customer_id)) = (ticket.status, ticket.data.customer_id) {
        if let Err(e) = crate::routes::invoice_runs::bill_resolved_ticket(state, ticket.id, customer_id, actor).await {
            tracing::error!(error = %e, ticket_id = ticket.id, "could not bill the resolved ticket");
        }
    }
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/tickets").route(web::get().to(list)).route(web::post().to(create)))
        .service(web::resource("/tickets/{id}").route(web::get().to(get)).route(web::patch().to(update)))
        .service(web::resource("/tickets/{id}/status").route(web::post().to(change_status)))
        .service(web::resource("/tickets/{id}/timeline").route(web::get().to(timeline)))
        .service(web::resource("/tickets/{id}/notes").route(web::post().to(add_note)))
        .service(web::resource("/tickets/{id}/correspondence").route(web::post().to(add_correspondence)))
        .service(web::resource("/tickets/{id}/documents").route(web::post().to(upload_document)))
        .service(web::resource("/documents/{id}").route(web::get().to(download_document)))
        .service(
            web::resource("/tickets/{id}/appointments")
                .route(web::get().to(list_appointments))
                .route(web::post().to(add_appointment)),
        )
        .service(
            web::resource("/tickets/{id}/appointments/{appointment_id}").route(web::delete().to(delete_appointment)),
        );
}

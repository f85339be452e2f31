//! Tickets and work orders: numbers, status machine, assignment, appointments, and the
//! registers — an append-only timeline of notes, correspondence, documents and status
//! changes. Corrections are new entries that point at the entry they correct.

use crate::auth::Principal;
use crate::dto::{clean, date_text, double_option, timestamp, validate};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::routes::custom_fields::validate_custom_fields;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use domain::custom_field::CustomFieldEntity;
use domain::ticket::{Priority, TicketSource, TicketStatus, TicketType};
use domain::Permission;
use persistence::tickets::{
    Appointment, Document, NewAppointment, NewTimelineEntry, Ticket, TicketData, TicketFilter, TimelineEntry,
};
use persistence::types::{DbTime, JsonText};
use persistence::{PageRequest, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::Validate;

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

fn valid_url(url: &str) -> Result<(), validator::ValidationError> {
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
    /// Default `api`.
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
async fn check_references(state: &AppState, d: &mut TicketData) -> Result<(), ApiError> {
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
    responses((status = 200, body = TicketList), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
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
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "External reference already used", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<TicketCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteTickets)?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
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
        (status = 200, body = TicketOut, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
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
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Transition not allowed; `allowed` lists the possible ones", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
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
    if let (TicketStatus::Resolved, Some(customer_id)) = (b.status, ticket.data.customer_id) {
        // Customers billed per resolved ticket get its draft now; the status change stands
        // even if billing fails (the work then waits for the next run).
        if let Err(e) = crate::routes::invoice_runs::bill_resolved_ticket(&state, id, customer_id, &p.actor(&req)).await
        {
            tracing::error!(error = %e, ticket_id = id, "could not bill the resolved ticket");
        }
    }
    Ok(ticket_response(StatusCode::OK, ticket))
}

/// One entry of a ticket's registers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntryOut {
    pub id: i64,
    pub ticket_id: i64,
    /// `note`, `correspondence`, `document` or `status_change`.
    pub entry_type: String,
    /// `internal` or `customer`.
    pub visibility: String,
    /// Whether the entry appears in reports (proof of service, project report).
    pub in_report: bool,
    pub body: Option<String>,
    /// Correspondence: `phone`, `email_in` or `email_out`.
    pub channel: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub subject: Option<String>,
    /// Document entries: the stored file (download at `/api/v1/documents/{id}`).
    pub document_id: Option<i64>,
    pub old_status: Option<String>,
    pub new_status: Option<String>,
    /// The earlier entry this one corrects.
    pub corrects_id: Option<i64>,
    /// `user`, `api_client` or `system`.
    pub author_type: String,
    pub author_id: Option<i64>,
    pub author_name: String,
    pub created_at: String,
}

impl From<TimelineEntry> for TimelineEntryOut {
    fn from(e: TimelineEntry) -> Self {
        TimelineEntryOut {
            id: e.id,
            ticket_id: e.ticket_id,
            entry_type: e.entry_type,
            visibility: e.visibility,
            in_report: e.in_report,
            body: e.body,
            channel: e.channel,
            from: e.from_addr,
            to: e.to_addr,
            subject: e.subject,
            document_id: e.document_id,
            old_status: e.old_status,
            new_status: e.new_status,
            corrects_id: e.corrects_id,
            author_type: e.author_type,
            author_id: e.author_id,
            author_name: e.author_name,
            created_at: timestamp(&e.created_at),
        }
    }
}

list_response!(TimelinePage, TimelineEntryOut, "A page of a ticket's timeline, oldest first.");

/// Paging of the timeline.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A ticket's complete history: notes, correspondence, documents and status changes,
/// oldest first. Entries are never edited or removed.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/timeline", operation_id = "ticket_timeline", tag = "tickets",
    params(("id" = i64, Path), PageQuery),
    security(("bearer" = []), ("api_key" = ["tickets:read"]), ("api_key" = ["tickets:write"])),
    responses((status = 200, body = TimelinePage), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn timeline(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    q: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadTickets)?;
    let id = path_id(&req, "id")?;
    state.store.get_ticket(id).await.map_err(not_found("ticket"))?;
    let page = PageRequest { limit: limit(q.0.limit)?, after: decode_cursor::<i64>(q.0.cursor.as_deref())? };
    let page = state.store.list_timeline(id, &page).await?;
    Ok(HttpResponse::Ok().json(TimelinePage {
        items: page.items.into_iter().map(TimelineEntryOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Who may see an entry.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Staff only (default).
    #[default]
    Internal,
    /// May be shown to the customer.
    Customer,
}

impl Visibility {
    fn as_str(self) -> &'static str {
        match self {
            Visibility::Internal => "internal",
            Visibility::Customer => "customer",
        }
    }
}

/// A note on a ticket.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteCreate {
    #[validate(length(min = 1, max = 20000))]
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
    /// Default `internal`.
    pub visibility: Option<Visibility>,
    /// Show in reports (default false).
    pub in_report: Option<bool>,
    /// Id of an earlier entry of this ticket this note corrects.
    pub corrects_id: Option<i64>,
}

/// The channel of a piece of correspondence.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A phone call (note of what was said).
    Phone,
    /// An e-mail received.
    EmailIn,
    /// An e-mail sent.
    EmailOut,
}

/// A phone note or e-mail in the ticket's correspondence register.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrespondenceCreate {
    pub channel: Channel,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub from: Option<String>,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub to: Option<String>,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub subject: Option<String>,
    #[validate(length(min = 1, max = 200000))]
    #[schema(min_length = 1, max_length = 200000)]
    pub body: String,
    pub visibility: Option<Visibility>,
    pub in_report: Option<bool>,
    pub corrects_id: Option<i64>,
}

fn entry_created(e: TimelineEntry) -> HttpResponse {
    HttpResponse::Created().json(TimelineEntryOut::from(e))
}

fn map_entry_error(e: StoreError) -> ApiError {
    match e {
        StoreError::MissingReference(_) => {
            ApiError::invalid("corrects_id", "unknown_reference", "no such entry on this ticket")
        }
        other => not_found("ticket")(other),
    }
}

/// Add a note to the ticket's registers.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/notes", operation_id = "add_ticket_note", tag = "tickets",
    params(("id" = i64, Path)), request_body = NoteCreate,
    security(("bearer" = []), ("api_key" = ["tickets:write"])),
    responses((status = 201, body = TimelineEntryOut), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_note(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<NoteCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteTickets)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    state.store.get_ticket(id).await.map_err(not_found("ticket"))?;
    let entry = NewTimelineEntry {
        entry_type: "note".into(),
        visibility: b.visibility.unwrap_or_default().as_str().into(),
        in_report: b.in_report.unwrap_or(false),
        body: Some(b.body),
        corrects_id: b.corrects_id,
        ..Default::default()
    };
    let e = state.store.add_timeline_entry(id, &entry, &p.actor(&req)).await.map_err(map_entry_error)?;
    Ok(entry_created(e))
}

/// Add a phone note or e-mail to the ticket's correspondence.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/correspondence", operation_id = "add_ticket_correspondence", tag = "tickets",
    params(("id" = i64, Path)), request_body = CorrespondenceCreate,
    security(("bearer" = []), ("api_key" = ["tickets:write"])),
    responses((status = 201, body = TimelineEntryOut), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_correspondence(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<CorrespondenceCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteTickets)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let mut extra = Vec::new();
    if matches!(b.channel, Channel::EmailIn | Channel::EmailOut) {
        if b.from.is_none() {
            extra.push(FieldError::new("from", "required", "an e-mail has a sender"));
        }
        if b.to.is_none() {
            extra.push(FieldError::new("to", "required", "an e-mail has recipients"));
        }
    }
    validate(&b, extra)?;
    state.store.get_ticket(id).await.map_err(not_found("ticket"))?;
    let channel = match b.channel {
        Channel::Phone => "phone",
        Channel::EmailIn => "email_in",
        Channel::EmailOut => "email_out",
    };
    let entry = NewTimelineEntry {
        entry_type: "correspondence".into(),
        visibility: b.visibility.unwrap_or_default().as_str().into(),
        in_report: b.in_report.unwrap_or(false),
        body: Some(b.body),
        channel: Some(channel.into()),
        from_addr: clean(b.from.as_deref()),
        to_addr: clean(b.to.as_deref()),
        subject: clean(b.subject.as_deref()),
        corrects_id: b.corrects_id,
    };
    let e = state.store.add_timeline_entry(id, &entry, &p.actor(&req)).await.map_err(map_entry_error)?;
    Ok(entry_created(e))
}

/// A stored document.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentOut {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at: String,
    /// Where to download it.
    pub download_url: String,
    /// The timeline entry that records the upload.
    pub timeline_entry_id: Option<i64>,
}

fn document_out(d: Document, entry: Option<i64>) -> DocumentOut {
    DocumentOut {
        download_url: format!("/api/v1/documents/{}", d.id),
        id: d.id,
        ticket_id: d.ticket_id,
        file_name: d.file_name,
        content_type: d.content_type,
        size_bytes: d.size_bytes,
        sha256: d.sha256,
        uploaded_by: d.uploaded_by,
        created_at: timestamp(&d.created_at),
        timeline_entry_id: entry,
    }
}

/// Multipart form of a document upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DocumentUpload {
    /// The file (scan, photo, e-mail as .eml, …).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Optional remark for the timeline.
    note: Option<String>,
    /// `true` to show the document in reports.
    in_report: Option<bool>,
}

/// Upload a document (multipart/form-data with a `file` part, optional `note` and
/// `in_report` parts). Stored by content hash under `KONTOR_DATA_DIR/documents`; the
/// upload appears on the timeline. Larger than `KONTOR_MAX_UPLOAD_BYTES` → 413.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/documents", operation_id = "upload_ticket_document", tag = "tickets",
    params(("id" = i64, Path)),
    request_body(content = DocumentUpload, content_type = "multipart/form-data"),
    security(("bearer" = []), ("api_key" = ["tickets:write"])),
    responses(
        (status = 201, body = DocumentOut, headers(("Location" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn upload_document(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteTickets)?;
    let id = path_id(&req, "id")?;
    state.store.get_ticket(id).await.map_err(not_found("ticket"))?;
    let upload = crate::documents::read_upload(&req, payload, state.config.max_upload_bytes).await?;
    let stored = crate::documents::store(&state.config.data_dir, upload.bytes).await?;
    let (doc, entry) = state
        .store
        .add_ticket_document(
            id,
            &upload.file_name,
            &upload.content_type,
            stored.size,
            &stored.sha256,
            upload.note,
            upload.in_report,
            &p.actor(&req),
        )
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/documents/{}", doc.id)))
        .json(document_out(doc, Some(entry.id))))
}

/// Download a document with its original name and content type.
#[utoipa::path(get, path = "/api/v1/documents/{id}", operation_id = "download_document", tag = "tickets",
    params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = ["tickets:read"]), ("api_key" = ["tickets:write"])),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn download_document(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadTickets)?;
    let doc = state.store.get_document(path_id(&req, "id")?).await.map_err(not_found("document"))?;
    let bytes = crate::documents::load(&state.config.data_dir, &doc.sha256).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, doc.content_type.clone()))
        .insert_header((header::ETAG, format!("\"{}\"", doc.sha256)))
        .insert_header((header::CONTENT_DISPOSITION, crate::documents::attachment(&doc.file_name)))
        .insert_header(("x-content-type-options", "nosniff"))
        .body(bytes))
}

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
    responses((status = 201, body = AppointmentOut), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
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

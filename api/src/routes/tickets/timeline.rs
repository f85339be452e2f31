//! A ticket's registers: the append-only timeline (`/tickets/{id}/timeline`) and the notes
//! and correspondence (phone notes, e-mails in and out) added to it. Entries are never
//! edited or removed; a correction is a new entry that points at the one it corrects.

use super::not_found;
use crate::auth::Principal;
use crate::dto::{clean, timestamp, validate};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{path_id, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use persistence::tickets::{NewTimelineEntry, TimelineEntry};
use persistence::{PageRequest, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

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
    responses((status = 201, body = TimelineEntryOut), (status = 404, body = Problem, content_type = "application/problem+json")))]
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
    responses((status = 201, body = TimelineEntryOut), (status = 404, body = Problem, content_type = "application/problem+json")))]
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

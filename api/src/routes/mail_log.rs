//! The mail log over HTTP (admin, billing, manager): every mail Kontor wrote — workflow,
//! estimate, quota, ticket and invoice notifications and reports sent by hand — with its
//! recipient, subject, text, status and attempts; and sending one again.

use crate::auth::Principal;
use crate::dto::timestamp;
use crate::error::{not_found, ApiError, Problem};
use crate::extract::{path_id, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use persistence::mail::{MailFilter, MailMessage};
use persistence::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(paths(list, get, retry),
    tags((name = "mail", description = "E-mail notifications and reports: the mail log and sending again")))]
pub struct Doc;

/// One mail to one recipient.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailOut {
    pub id: i64,
    /// `project_step` (project workflow), `estimate_exceeded`, `quota_threshold`,
    /// `ticket_status`, `invoice_issued` or `report`.
    pub kind: String,
    /// The event the mail tells of (`GET /events`); `null` for a report sent by hand.
    pub event_id: Option<i64>,
    /// `project`, `contract`, `ticket`, `invoice` or, for a report, what it covers
    /// (`customer`, `project`, `contract`).
    pub entity_type: String,
    pub entity_id: i64,
    pub recipient: String,
    /// `de` or `en`: the recipient's language.
    pub language: String,
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// The attached file's name (an invoice document, a report).
    pub attachment: Option<String>,
    /// `pending` (not yet sent or waiting to be retried), `sent`, `failed` (refused for good
    /// or retries used up) or `not_configured` (no SMTP server set: `KONTOR_SMTP_URL`).
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// When a pending mail is tried (again).
    pub next_attempt_at: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
    /// The user who sent a report.
    pub created_by: Option<i64>,
    pub created_at: String,
}

impl From<MailMessage> for MailOut {
    fn from(m: MailMessage) -> Self {
        MailOut {
            id: m.id,
            kind: m.kind,
            event_id: m.event_id,
            entity_type: m.entity_type,
            entity_id: m.entity_id,
            recipient: m.recipient,
            language: m.language,
            subject: m.subject,
            body: m.body,
            attachment: m.attachment_name,
            next_attempt_at: (m.status == "pending").then(|| timestamp(&m.next_attempt_at)),
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error,
            sent_at: m.sent_at.as_ref().map(timestamp),
            created_by: m.created_by,
            created_at: timestamp(&m.created_at),
        }
    }
}

list_response!(MailLogPage, MailOut, "A page of the mail log, newest first.");

/// Filters of the mail log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MailQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `pending`, `sent`, `failed` or `not_configured`.
    pub status: Option<String>,
    /// e.g. `project` (with `entity_id`).
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    /// Mails to this address.
    pub recipient: Option<String>,
}

const STATUSES: [&str; 4] = ["pending", "sent", "failed", "not_configured"];

/// Read the mail log, newest first (admin, billing, manager).
#[utoipa::path(operation_id = "list_mail_log", get, path = "/api/v1/mail-log", tag = "mail", params(MailQuery),
    security(("bearer" = [])),
    responses((status = 200, body = MailLogPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status, or `entity_id` without `entity_type`", body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<MailQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadMailLog)?;
    let q = q.0;
    if let Some(s) = q.status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::invalid("status", "invalid", format!("`{s}`: one of {}", STATUSES.join(", "))));
    }
    let entity = match (q.entity_type, q.entity_id) {
        (Some(t), Some(id)) => Some((t, id)),
        (None, Some(_)) => return Err(ApiError::invalid("entity_type", "required", "required with entity_id")),
        (Some(_), None) => return Err(ApiError::invalid("entity_id", "required", "required with entity_type")),
        (None, None) => None,
    };
    let filter = MailFilter { status: q.status, entity, recipient: q.recipient.map(|r| r.trim().to_lowercase()) };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<i64>(q.cursor.as_deref())? };
    let page = state.store.list_mails(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(MailLogPage {
        items: page.items.into_iter().map(MailOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Read one mail of the log.
#[utoipa::path(operation_id = "get_mail", get, path = "/api/v1/mail-log/{id}", tag = "mail", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = MailOut),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadMailLog)?;
    let id = path_id(&req, "id")?;
    let mail = state.store.get_mail(id).await.map_err(not_found("mail"))?;
    Ok(HttpResponse::Ok().json(MailOut::from(mail)))
}

/// Send a mail again (admin, billing, manager): due now with a fresh retry schedule —
/// after a failure, once an SMTP server is configured for a `not_configured` one, or to
/// repeat a sent one. Answers the mail as queued.
#[utoipa::path(operation_id = "retry_mail", post, path = "/api/v1/mail-log/{id}/retry", tag = "mail", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 202, body = MailOut),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn retry(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::SendMail)?;
    let id = path_id(&req, "id")?;
    let mail = state.store.retry_mail(id).await.map_err(not_found("mail"))?;
    Ok(HttpResponse::Accepted().json(MailOut::from(mail)))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/mail-log").route(web::get().to(list)))
        .service(web::resource("/mail-log/{id}").route(web::get().to(get)))
        .service(web::resource("/mail-log/{id}/retry").route(web::post().to(retry)));
}

//! Zammad's webhook, understood out of the box: `POST /api/v1/integrations/zammad/webhook`
//! takes Zammad's default trigger payload (`{ticket, article}`), checks its `X-Hub-Signature`
//! (HMAC-SHA1 of the body with `KONTOR_ZAMMAD_SECRET`) and maps it through the same upserts
//! as `PUT /integrations/zammad/…`: the ticket (id, title, state, priority, organization,
//! customer) and each of its time accountings (`ticket_time_accounting`) as a time entry.
//!
//! Everything is mapped before anything is written: a payload that cannot be mapped (no
//! matching customer, an unknown agent, no service) is 422 and changes nothing. A time
//! entry whose booking is already invoiced is reported as `locked` and left as it is.

use super::upsert::{upsert_ticket, upsert_time_entry, PushedTicket, PushedTimeEntry};
use crate::auth::Principal;
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::parse_json;
use crate::routes::tickets::TicketOut;
use crate::state::AppState;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use domain::helpdesk::{zammad, CustomerMatch, UpsertResult};
use domain::Scope;
use hmac::{Hmac, Mac};
use persistence::{Actor, ActorKind};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// The external system name of Zammad's tickets and time entries.
pub const SYSTEM: &str = "zammad";

/// Zammad's default webhook payload (the parts Kontor reads; everything else is ignored).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ZammadPayload {
    pub ticket: ZammadTicket,
    #[serde(default)]
    pub article: Option<ZammadArticle>,
}

/// The ticket of a Zammad payload.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ZammadTicket {
    pub id: i64,
    #[serde(default)]
    pub number: Option<String>,
    pub title: String,
    #[serde(default)]
    pub state: Option<ZammadName>,
    #[serde(default)]
    pub priority: Option<ZammadName>,
    #[serde(default)]
    pub organization: Option<ZammadOrganization>,
    #[serde(default)]
    pub customer: Option<ZammadUser>,
    #[serde(default)]
    pub owner: Option<ZammadUser>,
    #[serde(default)]
    pub created_by: Option<ZammadUser>,
    #[serde(default)]
    pub updated_by: Option<ZammadUser>,
    #[serde(default)]
    pub ticket_time_accounting: Vec<ZammadTimeAccounting>,
}

/// A Zammad value given by name or as an object with a `name` (states, priorities, types).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ZammadName {
    Text(String),
    Object { name: String },
}

impl ZammadName {
    fn name(&self) -> &str {
        match self {
            ZammadName::Text(s) | ZammadName::Object { name: s } => s,
        }
    }
}

/// The customer organization of a Zammad ticket.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ZammadOrganization {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
}

/// A Zammad user (customer or agent).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ZammadUser {
    pub id: i64,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub firstname: Option<String>,
    #[serde(default)]
    pub lastname: Option<String>,
}

/// The article that fired the trigger.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ZammadArticle {
    pub id: i64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub created_by: Option<ZammadUser>,
    #[serde(default)]
    pub updated_by: Option<ZammadUser>,
}

/// One time accounting of a Zammad ticket.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ZammadTimeAccounting {
    pub id: i64,
    /// Minutes, as Zammad writes them (`"15.0"` or a number).
    #[schema(value_type = String, example = "15.0")]
    pub time_unit: Decimal,
    pub created_by_id: i64,
    #[serde(default)]
    pub ticket_article_id: Option<i64>,
    /// `YYYY-MM-DDTHH:MM:SS(.sss)Z`.
    pub created_at: String,
    /// The activity type (Zammad 6+), when named: a catalog service of that code is booked.
    #[serde(default, rename = "type")]
    pub kind: Option<ZammadName>,
}

/// What happened to one time accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryResult {
    Created,
    Updated,
    Unchanged,
    /// Its booking is on an invoice: left as it is.
    Locked,
}

/// One time accounting of the payload and its booking.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZammadTimeEntry {
    /// Zammad's time-accounting id.
    pub external_id: String,
    pub result: EntryResult,
    pub booking_id: Option<i64>,
    /// Why a `locked` entry was not changed.
    pub detail: Option<String>,
}

/// What a Zammad webhook call did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZammadResult {
    /// `created`, `updated` or `unchanged`.
    pub result: UpsertResult,
    pub customer_match: CustomerMatch,
    pub ticket: TicketOut,
    pub time_entries: Vec<ZammadTimeEntry>,
}

/// Receive a Zammad webhook (set `KONTOR_ZAMMAD_SECRET` as the webhook's HMAC SHA1 signature
/// token, and point a trigger at this URL). The ticket is matched to a customer whose
/// `helpdesk_ref` is the Zammad organization's id or name, else by the customer's e-mail
/// domain; each time accounting becomes a booking of its agent (a Kontor user with the same
/// e-mail) with the service whose code is the accounting's type, else `KONTOR_ZAMMAD_SERVICE`.
#[utoipa::path(post, path = "/api/v1/integrations/zammad/webhook", operation_id = "zammad_webhook",
    tag = "integrations",
    params(("X-Hub-Signature" = String, Header, description = "`sha1=<hex HMAC-SHA1 of the body>`")),
    request_body(content = ZammadPayload, description = "Zammad's default trigger payload `{ticket, article}` (the fields read are listed; all others are ignored)", content_type = "application/json"),
    security(()),
    responses(
        (status = 200, description = "Applied", body = ZammadResult),
        (status = 401, description = "Missing or wrong signature (a missing one is 401 even before the integration is configured)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The Zammad integration is not configured", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The payload cannot be mapped; nothing was changed", body = Problem, content_type = "application/problem+json")))]
pub async fn webhook(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let signature = req.headers().get("x-hub-signature").and_then(|v| v.to_str().ok()).unwrap_or("").trim();
    if signature.is_empty() {
        return Err(ApiError::Unauthenticated("sign the request: header X-Hub-Signature is missing".into()));
    }
    let Some(secret) = state.config.zammad.secret.as_deref() else {
        return Err(ApiError::NotFound("a configured Zammad integration (set KONTOR_ZAMMAD_SECRET)".into()));
    };
    if !signature_valid(secret.as_bytes(), &body, signature) {
        return Err(ApiError::Unauthenticated(
            "the X-Hub-Signature does not match the body and the configured secret".into(),
        ));
    }
    let payload: ZammadPayload = parse_json(&body)?;
    let (ticket, entries) = map(&state, &payload).await?;
    let request_id = req.extensions().get::<crate::middleware::RequestId>().map(|r| r.0.clone());
    let actor = Actor { kind: ActorKind::System, id: None, name: "zammad webhook".into(), request_id };
    // The webhook acts with the rights of a helpdesk API key.
    let principal = Principal::ApiClient {
        id: 0,
        name: "zammad webhook".into(),
        scopes: vec![Scope::TicketsWrite, Scope::BookingsWrite],
    };
    let external_id = payload.ticket.id.to_string();
    let done = upsert_ticket(&state, &actor, SYSTEM, &external_id, ticket).await?;
    let mut time_entries = Vec::with_capacity(entries.len());
    for (id, entry) in entries {
        let outcome = upsert_time_entry(&state, &principal, &actor, SYSTEM, &id, &entry).await;
        time_entries.push(match outcome {
            Ok(e) => ZammadTimeEntry {
                external_id: id,
                result: match e.result {
                    UpsertResult::Created => EntryResult::Created,
                    UpsertResult::Updated => EntryResult::Updated,
                    UpsertResult::Unchanged => EntryResult::Unchanged,
                },
                booking_id: Some(e.booking.id),
                detail: None,
            },
            Err(ApiError::Conflict(detail)) => {
                let booking_id = state.store.external_booking(SYSTEM, &id).await?.map(|b| b.id);
                ZammadTimeEntry { external_id: id, result: EntryResult::Locked, booking_id, detail: Some(detail) }
            }
            Err(e) => return Err(e),
        });
    }
    Ok(HttpResponse::Ok().json(ZammadResult {
        result: done.result,
        customer_match: done.customer_match,
        ticket: TicketOut::from(done.ticket),
        time_entries,
    }))
}

/// Whether `header` (`sha1=<hex>`, or the bare hex) is the HMAC-SHA1 of `body` under `secret`.
fn signature_valid(secret: &[u8], body: &[u8], header: &str) -> bool {
    let hex = header.trim();
    let hex = hex.strip_prefix("sha1=").unwrap_or(hex);
    let Some(expected) = crate::auth::hex_decode(hex) else { return false };
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The ticket and time entries of a payload, or 422 naming every part that cannot be
/// mapped (nothing is written then).
async fn map(state: &AppState, p: &ZammadPayload) -> Result<(PushedTicket, Vec<(String, PushedTimeEntry)>), ApiError> {
    let t = &p.ticket;
    let settings = &state.config.zammad;
    let mut errors = Vec::new();
    let title = t.title.trim().chars().take(300).collect::<String>();
    if title.is_empty() {
        errors.push(FieldError::new("ticket.title", "required", "the ticket has no title"));
    }
    let description = p
        .article
        .as_ref()
        .and_then(|a| a.body.as_deref().map(|b| zammad::plain_text(b, a.content_type.as_deref())))
        .filter(|d| !d.is_empty())
        .map(|d| d.chars().take(20000).collect());
    let contact = t.customer.as_ref().and_then(|c| {
        let email = c.email.as_deref().map(str::trim).filter(|e| e.contains('@'))?;
        let name = [c.firstname.as_deref(), c.lastname.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Some((email.to_string(), Some(name).filter(|n| !n.is_empty())))
    });
    let ticket = PushedTicket {
        title: title.clone(),
        // The first article describes a new ticket; later pushes leave the description alone.
        description: None,
        new_description: description,
        status: t.state.as_ref().and_then(|s| zammad::status(s.name())),
        priority: t.priority.as_ref().and_then(|s| zammad::priority(s.name())),
        ticket_type: None,
        customer_refs: t.organization.iter().flat_map(|o| [Some(o.id.to_string()), o.name.clone()]).flatten().collect(),
        contact,
        external_url: settings.url.as_ref().map(|u| format!("{u}/#ticket/zoom/{}", t.id)),
    };

    // Agents named in the payload, by Zammad user id.
    let users: HashMap<i64, &str> = [&t.customer, &t.owner, &t.created_by, &t.updated_by]
        .into_iter()
        .flatten()
        .chain(p.article.iter().flat_map(|a| [&a.created_by, &a.updated_by]).flatten())
        .filter_map(|u| u.email.as_deref().map(|e| (u.id, e)))
        .collect();
    let mut entries = Vec::new();
    for (i, a) in t.ticket_time_accounting.iter().enumerate() {
        let at = |field: &str| format!("ticket.ticket_time_accounting[{i}].{field}");
        let Some(minutes) = zammad::minutes(a.time_unit, settings.time_unit_minutes) else {
            errors.push(FieldError::new(at("time_unit"), "range", "must be between half a minute and a day"));
            continue;
        };
        let Some(email) = users.get(&a.created_by_id) else {
            errors.push(FieldError::new(
                at("created_by_id"),
                "unknown_reference",
                "the agent is not in the payload (owner, updated_by or the article's author); \
                 use a trigger whose payload names the agent",
            ));
            continue;
        };
        if !matches!(state.store.user_by_email(email).await?, Some((_, true))) {
            errors.push(FieldError::new(
                at("created_by_id"),
                "unknown_reference",
                format!("no active Kontor user has the agent's e-mail address `{email}`"),
            ));
            continue;
        }
        let Some(work_date) = a.created_at.get(..10).and_then(crate::dto::parse_business_date) else {
            errors.push(FieldError::new(
                at("created_at"),
                "invalid_date",
                "must be a timestamp like 2026-11-23T09:15:00Z",
            ));
            continue;
        };
        let typed = match &a.kind {
            Some(k) => state.store.service_by_code(k.name()).await?.map(|_| k.name().trim().to_string()),
            None => None,
        };
        let default = match &settings.service_code {
            Some(code) => state.store.service_by_code(code).await?.map(|_| code.clone()),
            None => None,
        };
        let Some(service_code) = typed.or(default) else {
            errors.push(FieldError::new(
                at("type"),
                "unknown_reference",
                "no catalog service has the accounting's type as its code, nor the code KONTOR_ZAMMAD_SERVICE names",
            ));
            continue;
        };
        let text = p
            .article
            .as_ref()
            .filter(|art| Some(art.id) == a.ticket_article_id)
            .and_then(|art| art.body.as_deref().map(|b| zammad::plain_text(b, art.content_type.as_deref())))
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| match &t.number {
                Some(n) => format!("Zammad #{n}: {title}"),
                None => title.clone(),
            });
        entries.push((
            a.id.to_string(),
            PushedTimeEntry {
                ticket_external_id: t.id.to_string(),
                user_email: email.to_string(),
                service_code,
                work_date,
                duration_minutes: minutes,
                description: text.chars().take(2000).collect(),
                billable: None,
            },
        ));
    }
    if errors.is_empty() {
        Ok((ticket, entries))
    } else {
        Err(ApiError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zammad_signature_is_the_hex_hmac_sha1_of_the_body() {
        // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog"), RFC 2104 example.
        let body = b"The quick brown fox jumps over the lazy dog";
        assert!(signature_valid(b"key", body, "sha1=de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"));
        assert!(signature_valid(b"key", body, "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"));
        assert!(!signature_valid(b"key", body, "sha1=de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d8"));
        assert!(!signature_valid(b"other", body, "sha1=de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"));
        assert!(!signature_valid(b"key", body, ""));
        assert!(!signature_valid(b"key", body, "sha1=zz"));
    }

    #[test]
    fn zammads_sample_payload_is_read() {
        let json = r#"{"ticket": {"id": 81, "number": "10081", "title": "Webhook-Test", "state": "open",
            "priority": {"name": "2 normal", "id": 2}, "organization": {"id": 3, "name": "Awesome Customer Inc."},
            "customer": {"id": 8, "email": "emily@example.com", "firstname": "Emily", "lastname": "Adams"},
            "ticket_time_accounting": [{"id": 5, "ticket_id": 81, "ticket_article_id": 104, "time_unit": "15.0",
              "created_by_id": 3, "created_at": "2020-11-13T14:34:35.282Z"}], "unknown": [1, 2]},
            "article": {"id": 104, "body": "Hi<br>there", "content_type": "text/html", "internal": false}}"#;
        let p: ZammadPayload = serde_json::from_str(json).expect("the sample parses");
        assert_eq!(p.ticket.state.as_ref().map(ZammadName::name), Some("open"));
        assert_eq!(p.ticket.priority.as_ref().map(ZammadName::name), Some("2 normal"));
        assert_eq!(p.ticket.ticket_time_accounting[0].time_unit, Decimal::new(150, 1));
        assert_eq!(p.article.as_ref().map(|a| a.id), Some(104));
    }
}

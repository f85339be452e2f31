//! Webhooks (admin): where Kontor's events go. A webhook names an `http(s)` URL and the event
//! types it wants (`invoice.issued`, `invoice.*`, `*`); its signing secret (`whsec_…`) is
//! shown when it is created or rotated, never again. Deliveries, their attempts, a manual
//! retry and a test ping are here; the sending is [`crate::webhook_dispatch`]'s.

use crate::auth::Principal;
use crate::dto::timestamp;
use crate::error::{not_found, ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit};
use crate::state::AppState;
use crate::webhook_dispatch::{new_secret, target_problem};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use persistence::webhooks::{Attempt, Delivery, Webhook, WebhookData};
use persistence::PageRequest;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, delete, rotate_secret, deliveries, retry, ping),
    components(schemas(WebhookEnvelope)),
    tags((name = "webhooks", description = "Signed event delivery (Standard Webhooks) to the URLs admins register, with retries and a delivery log"))
)]
pub struct Doc;

const KIND: &str = "webhook";
/// How long the secret before a rotation keeps signing (as a second signature).
const ROTATION_GRACE: Duration = Duration::from_secs(24 * 3600);

/// A webhook (its secret is only in the answers of create and rotate).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: i64,
    #[schema(example = "https://helpdesk.example.com/hooks/kontor")]
    pub url: String,
    pub description: Option<String>,
    /// Event types delivered: names, prefix wildcards (`invoice.*`) or `*`.
    #[schema(example = json!(["invoice.*", "ticket.status_changed"]))]
    pub event_types: Vec<String>,
    /// False while switched off (by an admin, or by the dispatcher after failing too long:
    /// see `disabled_reason`).
    pub active: bool,
    /// Why the dispatcher switched the webhook off; cleared by switching it on again.
    pub disabled_reason: Option<String>,
    /// Since when deliveries fail without a success in between.
    pub failing_since: Option<String>,
    /// Until when the secret before the last rotation still signs (a second signature).
    pub previous_secret_expires_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        let now = persistence::types::DbTime::now();
        WebhookOut {
            id: w.id,
            url: w.data.url,
            description: w.data.description,
            event_types: w.data.event_types,
            active: w.data.active,
            disabled_reason: w.disabled_reason,
            failing_since: w.failing_since.as_ref().map(timestamp),
            previous_secret_expires_at: w.previous_secret_until.filter(|u| u.0 > now.0).as_ref().map(timestamp),
            version: w.version,
            created_at: timestamp(&w.created_at),
            updated_at: timestamp(&w.updated_at),
        }
    }
}

/// A webhook with its signing secret: store the secret now, it is not shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    pub webhook: WebhookOut,
    /// `whsec_` and the base64 key: verify `webhook-signature` with it (Standard Webhooks).
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// Every webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookOut>,
}

/// A new webhook.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreate {
    /// `http(s)` URL; loopback and private addresses only with `KONTOR_WEBHOOK_ALLOW_PRIVATE`.
    #[schema(max_length = 2000)]
    pub url: String,
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// At least one: event types, prefix wildcards such as `invoice.*`, or `*`.
    pub event_types: Vec<String>,
    /// Default true.
    pub active: Option<bool>,
}

/// Changes to a webhook; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::dto::double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub description: Option<Option<String>>,
    pub event_types: Option<Vec<String>>,
    /// Switching a webhook on again clears `disabled_reason` and `failing_since`.
    pub active: Option<bool>,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    pub attempt: i64,
    /// The receiver's HTTP status; `null` when no answer came.
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    /// The start of the receiver's answer (at most 500 characters).
    pub response_excerpt: Option<String>,
    /// Why no answer came: timeout, connection failed, target refused.
    pub error: Option<String>,
    pub attempted_at: String,
}

impl From<Attempt> for AttemptOut {
    fn from(a: Attempt) -> Self {
        AttemptOut {
            attempt: a.attempt,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            response_excerpt: a.response_excerpt,
            error: a.error,
            attempted_at: timestamp(&a.attempted_at),
        }
    }
}

/// A delivery of one event to the webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: i64,
    pub event_id: i64,
    #[schema(example = "invoice.issued")]
    pub event_type: String,
    /// `pending` (due at `next_attempt_at`), `succeeded`, or `failed` (retries used up).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Every attempt, oldest first.
    pub log: Vec<AttemptOut>,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        DeliveryOut {
            next_attempt_at: (d.status == "pending").then(|| timestamp(&d.next_attempt_at)),
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: timestamp(&d.created_at),
            updated_at: timestamp(&d.updated_at),
            log: d.log.into_iter().map(AttemptOut::from).collect(),
        }
    }
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<DeliveryOut>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

/// Paging of the delivery log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// 1–200, default 50.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The webhook's fields after checking them: 422 naming every bad one.
async fn checked(state: &AppState, data: WebhookData) -> Result<WebhookData, ApiError> {
    let mut errors = Vec::new();
    let url = data.url.trim().to_string();
    if url.chars().count() > 2000 {
        errors.push(FieldError::new("url", "invalid", "at most 2000 characters"));
    } else if let Some(problem) = target_problem(&url, state.config.webhooks.allow_private).await {
        errors.push(FieldError::new("url", "invalid", format!("must be {problem}")));
    }
    let description = crate::dto::clean(data.description.as_deref());
    if description.as_ref().is_some_and(|d| d.chars().count() > 200 || d.chars().any(char::is_control)) {
        errors.push(FieldError::new("description", "invalid", "at most 200 characters on one line"));
    }
    let mut event_types: Vec<String> = data.event_types.iter().map(|t| t.trim().to_string()).collect();
    event_types.sort();
    event_types.dedup();
    if event_types.is_empty() || event_types.len() > domain::webhook::MAX_PATTERNS {
        errors.push(FieldError::new("event_types", "invalid", "1 to 50 event types or patterns"));
    }
    if let Some(bad) = event_types.iter().find(|t| !domain::webhook::is_valid_pattern(t)) {
        errors.push(FieldError::new(
            "event_types",
            "invalid",
            format!("`{bad}` is not an event type (e.g. invoice.issued), a prefix pattern (invoice.*) or *"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(WebhookData { url, description, event_types, active: data.active })
}

fn respond(status: StatusCode, w: Webhook) -> HttpResponse {
    versioned(status, KIND, w.id, w.version, WebhookOut::from(w))
}

/// Every webhook (admin).
#[utoipa::path(operation_id = "list_webhooks", get, path = "/api/v1/webhooks", tag = "webhooks",
    security(("bearer" = [])), responses((status = 200, body = WebhookList)))]
pub async fn list(p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageWebhooks)?;
    let items = state.store.list_webhooks().await?.into_iter().map(WebhookOut::from).collect();
    Ok(HttpResponse::Ok().json(WebhookList { items }))
}

/// Register a webhook (admin). It receives the events written from now on. The answer holds
/// its signing secret, shown this once.
#[utoipa::path(operation_id = "create_webhook", post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = WebhookCreate, security(("bearer" = [])),
    responses(
        (status = 201, body = WebhookWithSecret, headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "Invalid URL (or a private target), description or event types", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<WebhookCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageWebhooks)?;
    let b = body.into_inner()?;
    let data = WebhookData {
        url: b.url,
        description: b.description,
        event_types: b.event_types,
        active: b.active.unwrap_or(true),
    };
    let data = checked(&state, data).await?;
    let secret = new_secret();
    let hook = state.store.create_webhook(&data, &secret, &p.actor(&req)).await?;
    let location = format!("/api/v1/webhooks/{}", hook.id);
    let res =
        versioned(StatusCode::CREATED, KIND, hook.id, hook.version, WebhookWithSecret { webhook: hook.into(), secret });
    Ok(created_at(res, &location))
}

/// One webhook (admin).
#[utoipa::path(operation_id = "get_webhook", get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = WebhookOut, headers(("ETag" = String)))))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageWebhooks)?;
    let id = path_id(&req, "id")?;
    Ok(respond(StatusCode::OK, state.store.get_webhook(id).await.map_err(not_found("webhook"))?))
}

/// Change a webhook (admin); `If-Match` guards against overwriting another change.
#[utoipa::path(operation_id = "update_webhook", patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)), request_body = WebhookPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = WebhookOut, headers(("ETag" = String))),
        (status = 422, description = "Invalid URL, description or event types", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<WebhookPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageWebhooks)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let before = state.store.get_webhook(id).await.map_err(not_found("webhook"))?;
    let version = IfMatch::from_request(&req, KIND, id).version()?.unwrap_or(before.version);
    let data = WebhookData {
        url: b.url.unwrap_or(before.data.url),
        description: b.description.unwrap_or(before.data.description),
        event_types: b.event_types.unwrap_or(before.data.event_types),
        active: b.active.unwrap_or(before.data.active),
    };
    let data = checked(&state, data).await?;
    let hook = state.store.update_webhook(id, version, &data, &p.actor(&req)).await.map_err(not_found("webhook"))?;
    Ok(respond(StatusCode::OK, hook))
}

/// Delete a webhook with its delivery log (admin).
#[utoipa::path(operation_id = "delete_webhook", delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageWebhooks)?;
    let id = path_id(&req, "id")?;
    state.store.delete_webhook(id, &p.actor(&req)).await.map_err(not_found("webhook"))?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the signing secret (admin). The answer holds the new secret, shown this once; the
/// old one keeps signing — as a second signature in `webhook-signature` — for 24 hours, so
/// the receiver can switch over without losing a delivery.
#[utoipa::path(operation_id = "rotate_webhook_secret", post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = WebhookWithSecret, headers(("ETag" = String)))))]
pub async fn rotate_secret(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageWebhooks)?;
    let id = path_id(&req, "id")?;
    let secret = new_secret();
    let hook = state
        .store
        .rotate_webhook_secret(id, &secret, ROTATION_GRACE, &p.actor(&req))
        .await
        .map_err(not_found("webhook"))?;
    let version = hook.version;
    Ok(versioned(StatusCode::OK, KIND, id, version, WebhookWithSecret { webhook: hook.into(), secret }))
}

/// The webhook's deliveries, newest first, each with its attempts (status code, latency,
/// the start of the answer, or why none came).
#[utoipa::path(operation_id = "list_webhook_deliveries", get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path), DeliveryQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = DeliveryList),
        (status = 422, description = "Invalid `limit` or `cursor`", body = Problem, content_type = "application/problem+json")))]
pub async fn deliveries(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    q: Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageWebhooks)?;
    let id = path_id(&req, "id")?;
    state.store.get_webhook(id).await.map_err(not_found("webhook"))?;
    let page = PageRequest { limit: limit(q.0.limit)?, after: decode_cursor::<i64>(q.0.cursor.as_deref())? };
    let page = state.store.list_deliveries(id, &page).await?;
    Ok(HttpResponse::Ok().json(DeliveryList {
        items: page.items.into_iter().map(DeliveryOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Send a delivery again (admin): due now with a fresh retry schedule — a failed one, or a
/// succeeded one the receiver lost.
#[utoipa::path(operation_id = "retry_webhook_delivery", post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(("id" = i64, Path), ("delivery_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 202, body = DeliveryOut)))]
pub async fn retry(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageWebhooks)?;
    let id = path_id(&req, "id")?;
    let delivery_id = path_id(&req, "delivery_id")?;
    let d = state.store.retry_delivery(id, delivery_id).await.map_err(not_found("delivery"))?;
    Ok(HttpResponse::Accepted().json(DeliveryOut::from(d)))
}

/// Send a `webhook.ping` event to this webhook alone (admin), to test the receiver; it shows
/// in the delivery log like any other.
#[utoipa::path(operation_id = "ping_webhook", post, path = "/api/v1/webhooks/{id}/ping", tag = "webhooks",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 202, description = "Queued: the delivery's id", body = PingQueued)))]
pub async fn ping(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageWebhooks)?;
    let id = path_id(&req, "id")?;
    let delivery_id = state.store.ping_webhook(id).await.map_err(not_found("webhook"))?;
    Ok(HttpResponse::Accepted().json(PingQueued { delivery_id }))
}

/// A queued test delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct PingQueued {
    pub delivery_id: i64,
}

/// What Kontor `POST`s to a webhook (Standard Webhooks): one event.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEnvelope {
    /// `evt_<event id>`, also the `webhook-id` header: the same on every retry of the event,
    /// so receivers deduplicate by it.
    #[schema(example = "evt_4711")]
    pub id: String,
    /// The event type.
    #[schema(example = "invoice.issued")]
    pub r#type: String,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    /// The event's data: the resource as the API returned it after the change.
    /// `ticket.created`, `ticket.updated`: the ticket (`GET /tickets/{id}`);
    /// `ticket.status_changed`: the ticket plus `status_change {from, to}`;
    /// `booking.created`, `booking.updated`, `booking.deleted`: the booking (`GET
    /// /bookings/{id}`, before the deletion for `deleted`); `invoice.drafted`,
    /// `invoice.issued`, `invoice.settled`, `invoice.paid`, `invoice.cancelled`: the invoice,
    /// credit note or settlement as
    /// `GET /invoices/{id}?fields=summary` shows it (no lines; `line_count`);
    /// `project.status_changed`: the project (`GET /projects/{id}`, `next_statuses` empty) plus
    /// `status_change {from, to, notify, notify_user_id, changed_by, changed_by_id}`;
    /// `project.estimate_exceeded`: the project plus `estimate {estimate_hours, actual_hours,
    /// notify_user_id}`. Events about something other than one resource's state carry their
    /// own object: `contract.quota_threshold` `{contract_id, period, threshold_percent, used,
    /// available, …}` (a prepaid quota period passed a warning threshold); `ticket.billed`
    /// `{id, number, external_system, external_id, invoice_numbers}` (no billable booking of
    /// the ticket is open or on a draft any more — issued or settled: helpdesks mark the
    /// ticket billed);
    /// `report.sent` `{report, entity_type, entity_id, subject, recipients, message, sent_by,
    /// mail_ids}` (a report mailed with `POST /reports/send`, on its customer, project or
    /// contract); `workorder.created` `{ticket, work_order {schedule_id, contract_id,
    /// customer_id, occurrence, due_date, create_on, ticket_id, number}, service_id}` (a
    /// periodic work order generated from a contract's schedule; `ticket.created` is sent
    /// too); `webhook.disabled` `{id, url, reason}`; `webhook.ping` `{webhook_id, url}`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// The OpenAPI 3.1 `webhooks` entry: the request Kontor sends, its headers and what the
/// receiver answers.
pub fn openapi_webhooks() -> serde_json::Value {
    let header = |name: &str, description: &str, example: &str| {
        serde_json::json!({"name": name, "in": "header", "required": true, "description": description,
                           "schema": {"type": "string"}, "example": example})
    };
    serde_json::json!({
        "event": {
            "post": {
                "operationId": "webhook_event",
                "tags": ["webhooks"],
                "summary": "An event, delivered to a registered webhook",
                // The receiver authenticates Kontor by the signature, not by credentials.
                "security": [],
                "description": "Sent to every active webhook whose `event_types` match, for the events written \
                    after it was registered. Verify `webhook-signature` (Standard Webhooks): base64 HMAC-SHA256 \
                    of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded part of the secret \
                    after `whsec_`; during a secret rotation two signatures, separated by a space. Answer any \
                    2xx within 10 s; anything else is retried (KONTOR_WEBHOOK_RETRY_SCHEDULE). Redirects are \
                    not followed.",
                "parameters": [
                    header("webhook-id", "`evt_<event id>`: the same on every retry", "evt_4711"),
                    header("webhook-timestamp", "Unix seconds of this attempt", "1796112000"),
                    header("webhook-signature", "`v1,<base64 signature>`, space-separated when two secrets sign",
                        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
                ],
                "requestBody": {
                    "required": true,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookEnvelope"}}}
                },
                "responses": {
                    "200": {"description": "Received (any 2xx will do); other answers are retried"}
                }
            }
        }
    })
}

/// Routes of this resource.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/webhooks").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/webhooks/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(delete)),
        )
        .service(web::resource("/webhooks/{id}/rotate-secret").route(web::post().to(rotate_secret)))
        .service(web::resource("/webhooks/{id}/deliveries").route(web::get().to(deliveries)))
        .service(web::resource("/webhooks/{id}/deliveries/{delivery_id}/retry").route(web::post().to(retry)))
        .service(web::resource("/webhooks/{id}/ping").route(web::post().to(ping)));
}

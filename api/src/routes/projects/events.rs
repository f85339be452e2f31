//! The event outbox over HTTP (`GET /events`, admin): `project.status_changed`,
//! `project.estimate_exceeded`, … with their payloads and delivery state. Here for now,
//! beside the projects that write most of the events.

use crate::auth::Principal;
use crate::dto::{clean, timestamp};
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use domain::Permission;
use persistence::events::Event;
use persistence::projects::EventFilter;
use persistence::{PageRequest, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An event of the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub id: i64,
    /// e.g. `project.status_changed`.
    #[serde(rename = "type")]
    #[schema(example = "project.status_changed")]
    pub event_type: String,
    #[schema(example = "project")]
    pub entity_type: String,
    pub entity_id: i64,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: String,
    /// When the webhook dispatcher handed it on (made the deliveries of every webhook that
    /// wants it: see `GET /webhooks/{id}/deliveries`); `null` until then.
    pub delivered_at: Option<String>,
}

impl EventOut {
    /// The event with its data as the API shows the resource (see `event_data`).
    async fn new(store: &Store, e: Event) -> Self {
        EventOut {
            id: e.id,
            payload: crate::event_data::api_data(store, &e.event_type, &e.payload).await,
            event_type: e.event_type,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            created_at: timestamp(&e.created_at),
            delivered_at: e.delivered_at.as_ref().map(timestamp),
        }
    }
}

list_response!(EventList, EventOut, "A page of events, oldest first.");

/// Filters of the event list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
    /// Event type, e.g. `project.status_changed`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// e.g. `project`.
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
}
/// Read the event outbox, oldest first (admin): `project.status_changed`,
/// `project.estimate_exceeded`, … with their payloads and delivery state.
#[utoipa::path(operation_id = "list_events", get, path = "/api/v1/events", tag = "events", params(EventQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = EventList),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list_events(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    // The outbox shows changes across all records, like the audit log: admins only.
    p.require(Permission::ReadAuditLog)?;
    let q = q.0;
    let filter = EventFilter {
        event_type: clean(q.event_type.as_deref()),
        entity_type: clean(q.entity_type.as_deref()),
        entity_id: q.entity_id,
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<i64>(q.cursor.as_deref())? };
    let page = state.store.list_events_filtered(&filter, &page).await?;
    // One after the other: an invoice event may read its customer and related documents.
    let mut items = Vec::with_capacity(page.items.len());
    for e in page.items {
        items.push(EventOut::new(&state.store, e).await);
    }
    Ok(HttpResponse::Ok().json(EventList { items, next_cursor: page.next.map(|k| encode_cursor(&k)) }))
}

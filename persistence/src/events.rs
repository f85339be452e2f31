//! The event outbox: domain events (`project.estimate_exceeded`, `ticket.created`, …)
//! written in the same transaction as the change that causes them. Delivery as signed
//! webhooks reads from here later; nothing is lost on restart.

use crate::page::{Page, PageRequest};
use crate::types::DbTime;
use crate::{Result, Store};

/// A stored event.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    /// e.g. `project.estimate_exceeded`.
    pub event_type: String,
    pub entity_type: String,
    pub entity_id: i64,
    /// JSON payload.
    pub payload: String,
    pub created_at: DbTime,
    pub delivered_at: Option<DbTime>,
}

/// Writes an event inside transaction `$tx`; `$payload` is any `Serialize` value.
macro_rules! emit_event {
    ($tx:expr, $event_type:expr, $entity_type:expr, $entity_id:expr, $payload:expr) => {{
        let payload = serde_json::to_string($payload).map_err($crate::StoreError::from)?;
        sqlx::query(
            "INSERT INTO events (event_type, entity_type, entity_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind($event_type)
        .bind($entity_type)
        .bind($entity_id)
        .bind(payload)
        .bind($crate::types::DbTime::now())
        .execute(&mut *$tx)
        .await
        .map_err($crate::StoreError::from)?;
    }};
}

impl Store {
    /// Events in id order, optionally of one type and entity.
    pub async fn list_events(
        &self,
        event_type: Option<&str>,
        entity: Option<(&str, i64)>,
        page: &PageRequest<i64>,
    ) -> Result<Page<Event, i64>> {
        let (entity_type, entity_id) = match entity {
            Some((t, id)) => (Some(t), Some(id)),
            None => (None, None),
        };
        let rows: Vec<Event> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM events WHERE ($1 IS NULL OR event_type = $1) AND ($2 IS NULL OR entity_type = $2) \
             AND ($3 IS NULL OR entity_id = $3) AND ($4 IS NULL OR id > $4) ORDER BY id LIMIT $5")
            .bind(event_type).bind(entity_type).bind(entity_id).bind(page.after).bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        Ok(Page::from_overfetch(rows, page.limit, |e| e.id))
    }
}

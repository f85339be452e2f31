//! The audit log: who changed which billing-relevant record when, with before/after state.
//! Entries are written in the same transaction as the change they describe.

use crate::page::{Page, PageRequest};
use crate::types::DbTime;
use crate::{Result, Store};

/// What kind of principal made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// An employee logged in with a token.
    User,
    /// A machine client with an API key.
    ApiClient,
    /// The server itself (bootstrap, background jobs).
    System,
}

impl ActorKind {
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiClient => "api_client",
            ActorKind::System => "system",
        }
    }
}

/// Who is making a change, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// User, API client or system.
    pub kind: ActorKind,
    /// User id or API-client id.
    pub id: Option<i64>,
    /// Display name (e-mail or client name) as of the change.
    pub name: String,
    /// Request id of the HTTP request that made the change.
    pub request_id: Option<String>,
}

impl Actor {
    /// The server itself.
    pub fn system() -> Actor {
        Actor { kind: ActorKind::System, id: None, name: "system".into(), request_id: None }
    }
}

/// One audit-log entry.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    /// Entry id (increasing).
    pub id: i64,
    /// When the change was committed.
    pub at: DbTime,
    /// `user`, `api_client` or `system`.
    pub actor_type: String,
    /// Id of the user or API client.
    pub actor_id: Option<i64>,
    /// Name of the actor as of the change.
    pub actor_name: String,
    /// Kind of record, e.g. `customer`.
    pub entity_type: String,
    /// Id of the record.
    pub entity_id: i64,
    /// `create`, `update`, `archive`, `restore`, `delete`, …
    pub action: String,
    /// State before the change (JSON text), if any.
    pub before_state: Option<String>,
    /// State after the change (JSON text), if any.
    pub after_state: Option<String>,
    /// Request id of the change.
    pub request_id: Option<String>,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this kind of record.
    pub entity_type: Option<String>,
    /// Only this record id.
    pub entity_id: Option<i64>,
    /// Only changes by this actor id.
    pub actor_id: Option<i64>,
}

/// Writes an audit entry inside transaction `$tx`. `$before`/`$after` are `Option<&impl Serialize>`.
macro_rules! audit {
    ($tx:expr, $actor:expr, $entity:expr, $id:expr, $action:expr, $before:expr, $after:expr) => {{
        let before: Option<String> = match $before {
            Some(v) => Some(serde_json::to_string(v).map_err($crate::StoreError::from)?),
            None => None,
        };
        let after: Option<String> = match $after {
            Some(v) => Some(serde_json::to_string(v).map_err($crate::StoreError::from)?),
            None => None,
        };
        let actor: &$crate::audit::Actor = $actor;
        sqlx::query(
            "INSERT INTO audit_log (at, actor_type, actor_id, actor_name, entity_type, entity_id, \
             action, before_state, after_state, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind($crate::types::DbTime::now())
        .bind(actor.kind.as_str())
        .bind(actor.id)
        .bind(&actor.name)
        .bind($entity)
        .bind($id)
        .bind($action)
        .bind(before)
        .bind(after)
        .bind(actor.request_id.as_deref())
        .execute(&mut *$tx)
        .await
        .map_err($crate::StoreError::from)?;
    }};
}

impl Store {
    /// Lists audit entries, newest first; `after` is the id of the last entry already seen.
    pub async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest<i64>) -> Result<Page<AuditEntry, i64>> {
        let rows: Vec<AuditEntry> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT * FROM audit_log \
                 WHERE ($1 IS NULL OR entity_type = $1) AND ($2 IS NULL OR entity_id = $2) \
                 AND ($3 IS NULL OR actor_id = $3) AND ($4 IS NULL OR id < $4) \
                 ORDER BY id DESC LIMIT $5",
            )
            .bind(filter.entity_type.as_deref())
            .bind(filter.entity_id)
            .bind(filter.actor_id)
            .bind(page.after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(Page::from_overfetch(rows, page.limit, |e| e.id))
    }
}

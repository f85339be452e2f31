//! The audit log over HTTP (admins): who changed which record, when, before and after.

use crate::auth::Principal;
use crate::dto::timestamp;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use domain::Permission;
use persistence::{AuditEntry, AuditFilter, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    pub id: i64,
    /// When the change was committed.
    pub at: String,
    /// `user`, `api_client` or `system`.
    pub actor_type: String,
    pub actor_id: Option<i64>,
    /// E-mail of the user or name of the API client, as of the change.
    pub actor_name: String,
    /// Kind of record, e.g. `customer`, `customer_contact`, `user`, `api_client`.
    pub entity_type: String,
    pub entity_id: i64,
    /// `create`, `update`, `archive`, `restore`, `delete`, `revoke`.
    pub action: String,
    /// The record before the change.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The record after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// Request id of the change.
    pub request_id: Option<String>,
}

impl From<AuditEntry> for AuditEntryOut {
    fn from(e: AuditEntry) -> Self {
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        AuditEntryOut {
            id: e.id,
            at: timestamp(&e.at),
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            action: e.action,
            before: parse(e.before_state),
            after: parse(e.after_state),
            request_id: e.request_id,
        }
    }
}

list_response!(AuditLogPage, AuditEntryOut, "A page of audit entries, newest first.");

/// Filters of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// e.g. `customer`.
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    /// Changes by this user or API client id.
    pub actor_id: Option<i64>,
}

/// Read the audit log, newest first (admin).
#[utoipa::path(operation_id = "list_audit_log", get, path = "/api/v1/audit-log", tag = "audit", params(AuditQuery),
    security(("bearer" = [])),
    responses((status = 200, body = AuditLogPage), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<AuditQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadAuditLog)?;
    let q = q.0;
    let filter = AuditFilter { entity_type: q.entity_type, entity_id: q.entity_id, actor_id: q.actor_id };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<i64>(q.cursor.as_deref())? };
    let page = state.store.list_audit(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(AuditLogPage {
        items: page.items.into_iter().map(AuditEntryOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit-log").route(web::get().to(list)));
}

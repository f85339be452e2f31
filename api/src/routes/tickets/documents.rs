//! Ticket documents: uploads (`POST /tickets/{id}/documents`, recorded on the timeline)
//! and downloads (`GET /documents/{id}`), stored by content hash.

use super::not_found;
use crate::auth::Principal;
use crate::dto::timestamp;
use crate::error::ApiError;
use crate::extract::path_id;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use persistence::tickets::Document;
use serde::Serialize;
use utoipa::ToSchema;

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
        (status = 201, body = DocumentOut, headers(("Location" = String)))))]
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
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>)))]
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

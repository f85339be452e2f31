//! The accounting pull: accounting systems read issued invoices and credit notes through a
//! cursor feed in issue order and acknowledge each export (`exported_at`). The feed order
//! and its no-skip guarantee live in [`persistence::invoices`] (`feed_seq`); documents are
//! shown exactly as [`crate::routes::invoices`] shows them.

use crate::auth::Principal;
use crate::error::{not_found, ApiError, Problem};
use crate::extract::{path_id, versioned, OptionalJson, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit};
use crate::routes::invoices::{invoice_out, InvoiceDetail, InvoiceOut};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(
    paths(feed, acknowledge),
    tags((name = "accounting", description = "Accounting pull: a cursor feed of issued invoices and credit notes in issue order, and export acknowledgement"))
)]
pub struct Doc;

/// Where a client stands in the feed: after this feed position (0 = before the first).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedCursor {
    after: i64,
}

fn feed_position(cursor: Option<&str>) -> Result<i64, ApiError> {
    match decode_cursor::<FeedCursor>(cursor)? {
        None => Ok(0),
        Some(FeedCursor { after }) if after >= 0 => Ok(after),
        Some(_) => Err(ApiError::invalid("cursor", "invalid_cursor", "not a cursor of the accounting feed")),
    }
}

/// Parameters of the feed.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// `next_cursor` of the previous response; absent starts at the first document ever issued.
    pub cursor: Option<String>,
    /// Page size (1–200, default 50).
    pub limit: Option<u32>,
}

/// A page of the accounting feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountingFeed {
    /// Issued invoices and credit notes after the cursor, in issue order.
    pub items: Vec<InvoiceOut>,
    /// Always present: the position after the last document of this page (the cursor you
    /// sent when the page is empty). Store it once the page is processed and pass it back
    /// unchanged, also to poll later for documents issued meanwhile.
    pub next_cursor: String,
    /// More documents follow right now: fetch again with `next_cursor` without waiting.
    pub has_more: bool,
}

/// Pull issued invoices and credit notes in issue order.
///
/// Invoices enter the feed when they are issued, credit notes when the cancellation is
/// issued. The feed never skips or repeats a document: every response carries
/// `next_cursor`, the position after its last document, and a request with that cursor
/// continues exactly there — across pages, server restarts and nodes. When `has_more` is
/// false the client is at the end; it keeps the cursor and polls again later, and
/// documents issued meanwhile appear then. Store the cursor only after the page is
/// processed. Drafts never appear. Items are the full documents (customer as of issue with
/// number, VAT id and address; lines; VAT per rate; totals; due date; legal note). A
/// cancelled invoice keeps its position and reads `status: cancelled` with `cancelled_by`
/// when fetched after the cancellation; its credit note is a new document later in the
/// feed whose `cancels` names the original. `exported_at` tells what was acknowledged
/// already (see the `ack` operation).
#[utoipa::path(get, path = "/api/v1/accounting/invoices", operation_id = "accounting_feed", tag = "accounting",
    params(FeedQuery),
    security(("bearer" = []), ("api_key" = ["invoices:read"]), ("api_key" = ["invoices:export"])),
    responses(
        (status = 200, body = AccountingFeed),
        (status = 422, description = "Bad `limit`, or a cursor this feed did not issue (malformed, or ahead of every document issued so far)", body = Problem, content_type = "application/problem+json")))]
pub async fn feed(p: Principal, state: web::Data<AppState>, q: Query<FeedQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadInvoices)?;
    let limit = limit(q.0.limit)?;
    let after = feed_position(q.0.cursor.as_deref())?;
    let page = state.store.accounting_feed(Some(after), limit).await?;
    // A cursor past every position allocated so far was not handed out by this feed (a
    // forged one, or one of another database): following it would skip documents.
    if page.items.is_empty() && after > state.store.accounting_feed_head().await? {
        return Err(ApiError::invalid("cursor", "invalid_cursor", "the cursor is ahead of the accounting feed"));
    }
    let has_more = page.next.is_some();
    let last = page.items.last().and_then(|i| i.feed_seq).unwrap_or(after);
    let mut items = Vec::with_capacity(page.items.len());
    for i in page.items {
        items.push(invoice_out(&state.store, i, InvoiceDetail::Lines).await?);
    }
    let next_cursor = encode_cursor(&FeedCursor { after: last });
    Ok(HttpResponse::Ok().json(AccountingFeed { items, next_cursor, has_more }))
}

/// What an acknowledgement may say.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckIn {
    /// The document format imported, one of the item's `documents` (e.g. `xrechnung-cii`);
    /// recorded as `exported_format`.
    pub format: Option<String>,
}

/// Acknowledge the export of an issued invoice or credit note.
///
/// Records that the accounting system has taken the document over (`exported_at`, and
/// `exported_format` when the body names the format it imported) and answers the document.
/// Idempotent: acknowledging again keeps the first `exported_at` and format and answers
/// the same document, so a client may retry freely. The body is optional. Drafts cannot be
/// acknowledged (409); a format the document is not offered in is 422.
#[utoipa::path(post, path = "/api/v1/accounting/invoices/{id}/ack", operation_id = "acknowledge_invoice_export", tag = "accounting",
    params(("id" = i64, Path, description = "Id of the invoice or credit note")), request_body(content = Option<AckIn>),
    security(("bearer" = []), ("api_key" = ["invoices:export"])),
    responses(
        (status = 200, body = InvoiceOut, headers(("ETag" = String))),
        (status = 409, description = "A draft (not issued, so not exportable)", body = Problem, content_type = "application/problem+json")))]
pub async fn acknowledge(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: OptionalJson<AckIn>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ExportInvoices)?;
    let id = path_id(&req, "id")?;
    let format = body.into_inner()?.format;
    if let Some(f) = &format {
        if !crate::routes::invoice_documents::is_format(f) {
            return Err(ApiError::invalid("format", "unknown_format", format!("`{f}` is not a document format")));
        }
    }
    let i =
        state.store.acknowledge_export(id, format.as_deref(), &p.actor(&req)).await.map_err(not_found("invoice"))?;
    let (id, version) = (i.id, i.version);
    Ok(versioned(StatusCode::OK, "invoice", id, version, invoice_out(&state.store, i, InvoiceDetail::Full).await?))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/accounting/invoices").route(web::get().to(feed)))
        .service(web::resource("/accounting/invoices/{id}/ack").route(web::post().to(acknowledge)));
}

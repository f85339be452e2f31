//! The letterhead logo of the seller profile (`/settings/company/logo`): uploaded as the
//! image file itself (PNG, JPEG or SVG), checked to print in a PDF/A, stored once under its
//! SHA-256 and named by the profile (`logo_sha256`), so every document issued keeps the logo
//! of its issue even after it is replaced or removed.

use crate::auth::Principal;
use crate::error::{ApiError, FieldError};
use crate::routes::company::respond;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use documents::{Logo, LogoFormat};
use domain::company::SellerProfile;
use domain::Permission;
use persistence::company::NewLogo;
use sha2::{Digest, Sha256};
use utoipa::OpenApi;

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(paths(put_logo, get_logo, delete_logo))]
pub struct Doc;

/// Largest logo file accepted.
pub const MAX_LOGO_BYTES: usize = 512 * 1024;

/// The logo the documents of `seller` print, if it names one that is stored.
pub async fn logo_of(state: &AppState, seller: &SellerProfile) -> Result<Option<Logo>, ApiError> {
    let Some(sha) = &seller.logo_sha256 else { return Ok(None) };
    Ok(state.store.seller_logo(sha).await?.and_then(|l| {
        let format = LogoFormat::from_media_type(&l.media_type)?;
        Some(Logo { format, data: std::sync::Arc::new(l.data) })
    }))
}

/// Upload the letterhead logo (admin, billing): the request body is the image, `Content-Type:
/// image/png`, `image/jpeg` (at most 4000 pixels per side) or `image/svg+xml` (drawn as
/// vectors; its text set in DejaVu Sans; files and URLs it names are not loaded), at most
/// 512 KiB. It replaces the previous logo for documents issued from now on (and draft
/// previews); issued documents keep theirs. Answers the profile (a new version; its
/// `logo_sha256` names the image). 415 for another type, 413 when too large, 422 when the
/// image cannot be read or printed.
#[utoipa::path(operation_id = "put_company_logo", put, path = "/api/v1/settings/company/logo", tag = "settings",
    request_body(description = "The PNG, JPEG or SVG file", content(
        (crate::routes::invoice_documents::DocumentFile = "image/png"),
        (crate::routes::invoice_documents::DocumentFile = "image/jpeg"),
        (String = "image/svg+xml"))),
    security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::company::SellerProfileOut, headers(("ETag" = String))),
        (status = 413, description = "Larger than 512 KiB", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not PNG, JPEG or SVG", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a readable or printable image", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn put_logo(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let media_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    let format = LogoFormat::from_media_type(&media_type).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!("a logo is image/png, image/jpeg or image/svg+xml, not `{media_type}`"))
    })?;
    if body.len() > MAX_LOGO_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_LOGO_BYTES));
    }
    let logo = Logo { format, data: std::sync::Arc::new(body.to_vec()) };
    documents::pdf::check_logo(&logo).map_err(|e| ApiError::Validation(vec![FieldError::new("logo", "invalid", e)]))?;
    let sha256: String = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    let new = NewLogo { sha256, media_type: format.media_type(), data: &body };
    let stored = state.store.set_seller_logo(Some(&new), &p.actor(&req)).await?;
    Ok(respond(StatusCode::OK, stored))
}

/// The current letterhead logo as uploaded (its own media type); 404 without one.
#[utoipa::path(operation_id = "get_company_logo", get, path = "/api/v1/settings/company/logo", tag = "settings",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The image", content(
            (crate::routes::invoice_documents::DocumentFile = "image/png"),
            (crate::routes::invoice_documents::DocumentFile = "image/jpeg"),
            (String = "image/svg+xml"))),
        (status = 404, description = "No logo", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_logo(p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let profile = state.store.seller_profile().await?.profile;
    let logo = match &profile.logo_sha256 {
        Some(sha) => state.store.seller_logo(sha).await?,
        None => None,
    };
    let logo = logo.ok_or_else(|| ApiError::NotFound("the seller profile has no logo".into()))?;
    Ok(HttpResponse::Ok().content_type(logo.media_type).body(logo.data))
}

/// Remove the letterhead logo (admin, billing): documents issued from now on print none;
/// issued documents keep theirs. Answers the profile (a new version).
#[utoipa::path(operation_id = "delete_company_logo", delete, path = "/api/v1/settings/company/logo", tag = "settings",
    security(("bearer" = [])),
    responses((status = 200, body = crate::routes::company::SellerProfileOut, headers(("ETag" = String)))))]
pub async fn delete_logo(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let stored = state.store.set_seller_logo(None, &p.actor(&req)).await?;
    Ok(respond(StatusCode::OK, stored))
}

/// Routes of this resource.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/settings/company/logo")
            .route(web::put().to(put_logo))
            .route(web::get().to(get_logo))
            .route(web::delete().to(delete_logo)),
    );
}

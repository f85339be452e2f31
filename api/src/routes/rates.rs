//! Rates, surcharges, rounding rules and holidays, and the explained rate resolution.

use actix_web::web;
use utoipa::OpenApi;

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi()]
pub struct Doc;

/// Routes of this module.
pub fn configure(_cfg: &mut web::ServiceConfig) {}

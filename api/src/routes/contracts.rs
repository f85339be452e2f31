//! Contracts: the four kinds, covered services, overage tiers, carry-over, fees.

use actix_web::web;
use utoipa::OpenApi;

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi()]
pub struct Doc;

/// Routes of this module.
pub fn configure(_cfg: &mut web::ServiceConfig) {}

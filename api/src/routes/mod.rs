//! HTTP resources. Each module owns one resource: its DTOs, handlers and routes.

pub mod api_clients;
pub mod audit;
pub mod auth;
pub mod customers;
pub mod health;
pub mod users;

use actix_web::web;

/// Registers every `/api/v1` resource on a scope.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    auth::configure(cfg);
    users::configure(cfg);
    api_clients::configure(cfg);
    customers::configure(cfg);
    audit::configure(cfg);
}

//! HTTP resources. Each module owns one resource: its DTOs, handlers and routes.

pub mod accounting;
pub mod api_clients;
pub mod audit;
pub mod auth;
pub mod bookings;
pub mod catalog;
pub mod company;
pub mod company_logo;
pub mod contracts;
pub mod custom_fields;
pub mod customers;
pub mod datev;
pub mod evaluation;
pub mod expenses;
pub mod health;
pub mod integrations;
pub mod invoice_documents;
pub mod invoice_runs;
pub mod invoices;
pub mod mail_log;
pub mod projects;
pub mod proof;
pub mod proof_document;
pub mod quota;
pub mod rates;
pub mod reports;
pub mod teams;
pub mod tickets;
pub mod users;
pub mod webhooks;
pub mod work_orders;

use actix_web::web;

/// Registers every `/api/v1` resource on a scope.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    auth::configure(cfg);
    users::configure(cfg);
    api_clients::configure(cfg);
    customers::configure(cfg);
    audit::configure(cfg);
    catalog::configure(cfg);
    company::configure(cfg);
    company_logo::configure(cfg);
    webhooks::configure(cfg);
    mail_log::configure(cfg);
    teams::configure(cfg);
    custom_fields::configure(cfg);
    projects::configure(cfg);
    tickets::configure(cfg);
    bookings::configure(cfg);
    integrations::configure(cfg);
    expenses::configure(cfg);
    contracts::configure(cfg);
    quota::configure(cfg);
    evaluation::configure(cfg);
    rates::configure(cfg);
    invoice_runs::configure(cfg);
    invoices::configure(cfg);
    invoice_documents::configure(cfg);
    accounting::configure(cfg);
    datev::configure(cfg);
    proof::configure(cfg);
    reports::configure(cfg);
    work_orders::configure(cfg);
}

/// The OpenAPI documents of the resource modules, merged into the API document.
pub fn module_docs() -> Vec<utoipa::openapi::OpenApi> {
    use utoipa::OpenApi;
    vec![
        catalog::Doc::openapi(),
        company::Doc::openapi(),
        company_logo::Doc::openapi(),
        webhooks::Doc::openapi(),
        mail_log::Doc::openapi(),
        teams::Doc::openapi(),
        custom_fields::Doc::openapi(),
        projects::Doc::openapi(),
        tickets::Doc::openapi(),
        bookings::Doc::openapi(),
        integrations::Doc::openapi(),
        expenses::Doc::openapi(),
        contracts::Doc::openapi(),
        quota::Doc::openapi(),
        evaluation::Doc::openapi(),
        reports::Doc::openapi(),
        rates::Doc::openapi(),
        invoice_runs::Doc::openapi(),
        invoices::Doc::openapi(),
        invoice_documents::Doc::openapi(),
        accounting::Doc::openapi(),
        datev::Doc::openapi(),
        proof::Doc::openapi(),
        work_orders::Doc::openapi(),
    ]
}

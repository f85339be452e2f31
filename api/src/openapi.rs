//! The OpenAPI 3.1 document, generated from the handlers and DTOs.
//! `openapi.yaml` in the repository root is this document; a test keeps them equal.

use crate::routes;

mod completion;
pub mod yaml;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

const DESCRIPTION: &str = r#"Kontor turns helpdesk tickets and technicians' time into correct invoices.

## Conventions
- JSON with snake_case fields; dates `YYYY-MM-DD`; timestamps RFC 3339 UTC.
- **Money and other exact decimals are strings** (`"95.50"`), never JSON numbers.
- **Errors** are RFC 9457 `application/problem+json` with a stable `type`
  (`urn:kontor:problem:<slug>`), a `request_id`, and per-field `errors` for 422.
  Malformed JSON is 400 (with line and column), a wrong content type 415, an oversized body 413.
- **Lists** are keyset-paginated: `?limit=` (1–200, default 50) and `?cursor=` (the
  `next_cursor` of the previous page, with the same filters). Pages never overlap or skip.
- **Concurrency**: single resources carry an `ETag`; send it back as `If-Match` on
  `PATCH`/`DELETE` and get 412 if someone changed the resource meanwhile.
- **Retries**: `POST` accepts `Idempotency-Key`. The same key with the same request replays the
  first response (header `Idempotent-Replayed: true`); the same key with another request is 422.
  Keys are remembered for 24 hours per user or API client.

## Billing workflow
1. `GET /api/v1/billing/ready` — what has open billable work, and its value.
2. `POST /api/v1/invoice-runs` with `mode: preview` — the invoices a run would create and the
   blocking problems (e.g. a missing rate); writes nothing.
3. The same with `mode: commit` — draft invoices that reserve their positions (a position is
   in at most one invoice that is not cancelled, enforced by the database).
4. Check and edit drafts (`/invoices/{id}`, manual lines, removed lines), then
   `POST /api/v1/invoices/{id}/issue` — gapless number per series and year, customer snapshot,
   positions locked, quota ledger written, in one transaction.
5. Accounting systems pull issued documents from `GET /api/v1/accounting/invoices` and
   acknowledge each export. Corrections: `POST /api/v1/invoices/{id}/cancel` issues a credit
   note and opens the positions again for the next run.

## Authentication
- Employees: `POST /api/v1/auth/login` → short-lived access token (JWT, HS256) and a single-use
  refresh token (rotated by `POST /api/v1/auth/refresh`; reuse revokes the whole login).
- Machines (helpdesks, accounting): API keys with scopes, sent as `Authorization: Bearer ktr_…`
  or `X-Api-Key: ktr_…`. Created by admins under `/api/v1/api-clients`; shown once.
"#;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Kontor API", description = DESCRIPTION, contact(name = "Kontor"),
         license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")),
    servers((url = "/", description = "This server")),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        crate::metrics::scrape_as_admin,
        routes::auth::login,
        routes::auth::refresh,
        routes::auth::logout,
        routes::auth::me,
        routes::users::list,
        routes::users::create,
        routes::users::get,
        routes::users::update,
        routes::api_clients::list,
        routes::api_clients::create,
        routes::api_clients::get,
        routes::api_clients::revoke,
        routes::customers::list,
        routes::customers::create,
        routes::customers::get,
        routes::customers::update,
        routes::customers::archive,
        routes::customers::restore,
        routes::customers::list_contacts,
        routes::customers::create_contact,
        routes::customers::update_contact,
        routes::customers::delete_contact,
        routes::audit::list,
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "operations", description = "Health and readiness probes, metrics"),
        (name = "auth", description = "Login, tokens, the current principal"),
        (name = "users", description = "Employee accounts (admin)"),
        (name = "api-clients", description = "Machine credentials with scopes (admin)"),
        (name = "customers", description = "Customers and their contacts"),
        (name = "audit", description = "Who changed what (admin)"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some("Access token from `POST /api/v1/auth/login`, or an API key `ktr_…`".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "API key of an API client (`ktr_…`); its scopes decide what it may do",
            ))),
        );
    }
}

/// The whole document: the core paths plus every resource module's own `Doc`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for module in routes::module_docs() {
        doc.merge(module);
    }
    completion::complete(&mut doc);
    doc
}

/// The document with what utoipa cannot say: the OpenAPI 3.1 `webhooks` section (what
/// Kontor `POST`s to registered webhooks).
pub fn document_value() -> serde_json::Value {
    let mut doc = serde_json::to_value(document()).unwrap_or_default();
    if let Some(map) = doc.as_object_mut() {
        map.insert("webhooks".into(), routes::webhooks::openapi_webhooks());
    }
    doc
}

/// The document as pretty JSON (served at `/openapi.json`).
pub fn json() -> String {
    serde_json::to_string_pretty(&document_value()).unwrap_or_default()
}

/// The document as YAML (checked in as `openapi.yaml`) that YAML 1.1 and 1.2 parsers
/// read alike ([`yaml::to_yaml`]).
pub fn yaml() -> String {
    yaml::to_yaml(&document_value())
}

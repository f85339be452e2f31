//! What browsers are told: CORS for a single-page app on another origin
//! (`KONTOR_CORS_ORIGINS`) and the security headers of every response.

use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::Error;

/// Request headers a browser may send cross-origin.
pub const CORS_ALLOWED_HEADERS: [&str; 5] =
    ["authorization", "content-type", "if-match", "idempotency-key", "x-api-key"];

/// Response headers a browser script may read cross-origin.
pub const CORS_EXPOSED_HEADERS: [&str; 5] = ["etag", "location", "x-request-id", "idempotent-replayed", "retry-after"];

/// CORS for the configured origins: preflights answered, credentials (the `Authorization`
/// header) allowed, the headers above allowed and exposed. A request from another origin
/// gets no CORS headers (the browser withholds the answer), but is not refused: same-origin
/// tools such as `/docs` send an `Origin` too.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers(CORS_ALLOWED_HEADERS)
        .expose_headers(CORS_EXPOSED_HEADERS)
        .max_age(3600)
        .block_on_origin_mismatch(false);
    for o in origins {
        cors = cors.allowed_origin(o);
    }
    cors
}

/// The content security policy of the Swagger UI at `/docs` (its scripts and styles come
/// from the binary; it styles elements inline and draws icons from data URLs).
pub const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                            img-src 'self' data:; connect-src 'self'; font-src 'self' data:; \
                            frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The content security policy of everything else (JSON answers never load anything).
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Adds the security headers to every response: `X-Content-Type-Options: nosniff`,
/// `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`, a content security policy
/// (with `frame-ancestors 'none'`), and `Cache-Control: no-store` on the API's answers
/// (they carry customer data and credentials).
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let docs = req.path().starts_with("/docs");
    let api = req.path().starts_with("/api/");
    let mut res = next.call(req).await?.map_into_boxed_body();
    let h = res.headers_mut();
    let set = |h: &mut header::HeaderMap, name: HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::CONTENT_SECURITY_POLICY, if docs { DOCS_CSP } else { API_CSP });
    if api {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    Ok(res)
}

//! What browsers see: CORS for a single-page app on another origin, and the security
//! headers of every response (issue 10, items 11 and 12).

use crate::helpers::*;
use reqwest::{Method, StatusCode};

const SPA: &str = "https://app.example.com";

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn a_configured_spa_origin_gets_preflights_and_readable_headers() {
    let app = spawn_app_with(|c| c.cors_origins = vec![SPA.into()]).await;
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/customers"))
        .header("origin", SPA)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type, idempotency-key, if-match, x-api-key")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(header(&preflight, "access-control-allow-origin"), Some(SPA));
    let allowed = header(&preflight, "access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    for h in ["authorization", "content-type", "idempotency-key", "if-match", "x-api-key"] {
        assert!(allowed.contains(h), "{h} allowed: {allowed}");
    }
    assert!(header(&preflight, "access-control-allow-methods").unwrap_or_default().contains("PATCH"));

    // The real request: the answer names the origin and exposes the headers a client needs.
    let res = app
        .request(Method::POST, "/api/v1/customers", Some(&app.admin_token))
        .header("origin", SPA)
        .json(&serde_json::json!({"name": "SPA GmbH"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SPA));
    let exposed = header(&res, "access-control-expose-headers").unwrap_or_default().to_ascii_lowercase();
    for h in ["etag", "location", "x-request-id", "idempotent-replayed", "retry-after"] {
        assert!(exposed.contains(h), "{h} exposed: {exposed}");
    }
    // Errors carry the CORS headers too, so the SPA can read the problem.
    let res = app.client.get(app.url("/api/v1/customers")).header("origin", SPA).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SPA));

    // Another origin is told nothing.
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/customers"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn without_configured_origins_there_is_no_cors() {
    let app = spawn_app().await;
    let res =
        app.request(Method::GET, "/api/v1/me", Some(&app.admin_token)).header("origin", SPA).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "a request with an Origin still works");
    assert_eq!(header(&res, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let me = app.get("/api/v1/me", &app.admin_token).await;
    let missing = app.client.get(app.url("/no/such/thing")).send().await.unwrap();
    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    for res in [&me, &missing, &docs] {
        assert_eq!(header(res, "x-content-type-options"), Some("nosniff"), "{}", res.url());
        assert_eq!(header(res, "referrer-policy"), Some("no-referrer"));
        assert_eq!(header(res, "x-frame-options"), Some("DENY"));
        assert!(header(res, "content-security-policy").unwrap_or_default().contains("frame-ancestors 'none'"));
    }
    assert_eq!(header(&me, "cache-control"), Some("no-store"), "authenticated JSON is not cached");
    assert_eq!(docs.status(), StatusCode::OK);
    let csp = header(&docs, "content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"), "{csp}");
}

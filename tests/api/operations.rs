//! Probes, docs, framework-level errors, request ids, and the checked-in OpenAPI document.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn health_and_readiness_answer_without_authentication() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let body: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], if app.db.is_postgres() { "postgres" } else { "sqlite" });
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    let p = problem(app.client.get(app.url("/no/such/thing")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    assert_eq!(p["instance"], "/no/such/thing");
    assert!(p["request_id"].is_string());
    let p = problem(
        app.request(Method::PUT, "/api/v1/customers", Some(&app.admin_token)).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    assert_eq!(p["type"], "urn:kontor:problem:method-not-allowed");
    problem(
        app.request(Method::GET, "/api/v1/nothing-here", Some(&app.admin_token)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).header("x-request-id", "trace-abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");
    let res = app.client.get(app.url("/healthz")).header("x-request-id", "bad id with spaces").send().await.unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 32);
}

#[tokio::test]
async fn the_openapi_document_and_swagger_ui_are_served() {
    let app = spawn_app().await;
    let spec: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/api/v1/customers"]["post"].is_object());
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    let res = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "Swagger UI page expected");
    assert!(!html.contains("cdn.") && !html.contains("unpkg.com"), "assets must be vendored, not from a CDN");
    let res = app.client.get(app.url("/docs/swagger-ui.css")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// `openapi.yaml` must equal what the code generates.
/// Regenerate with `cargo run -- openapi > openapi.yaml`.
#[test]
fn checked_in_openapi_yaml_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = api::openapi::yaml();
    assert!(
        checked_in == generated,
        "openapi.yaml is out of date: regenerate it with `cargo run -- openapi > openapi.yaml`"
    );
    // The YAML is the same document as `/openapi.json` (a YAML 1.2 parser here; `.ci/run`
    // reads it with PyYAML, a YAML 1.1 parser, as well).
    let from_yaml: serde_json::Value = serde_norway::from_str(&checked_in).expect("openapi.yaml is YAML");
    let from_json: serde_json::Value = serde_json::from_str(&api::openapi::json()).unwrap();
    assert!(from_yaml == from_json, "openapi.yaml reads differently from /openapi.json");
}

/// Issue 11: every resource that takes `If-Match` can be read singly with its `ETag` — the
/// document declares, for each operation with an `If-Match` header, a `GET` of the resource
/// (the same path, or the resource an action path such as `/invoices/{id}/issue` belongs
/// to) whose 200 answer carries an `ETag` header.
#[test]
fn every_resource_that_takes_if_match_is_readable_with_its_etag() {
    let doc: Value = serde_json::from_str(&api::openapi::json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut missing = Vec::new();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let takes_if_match = op["parameters"].as_array().is_some_and(|ps| {
                ps.iter().any(|p| p["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("if-match")))
            });
            if !takes_if_match {
                continue;
            }
            let segments: Vec<&str> = path.split('/').collect();
            let readable = (0..4).filter_map(|cut| segments.len().checked_sub(cut)).any(|n| {
                let candidate = segments[..n].join("/");
                let etag = &paths.get(&candidate).map(|p| &p["get"]["responses"]["200"]["headers"]);
                etag.is_some_and(|h| h.as_object().is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("etag"))))
            });
            if !readable {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "If-Match without a GET that returns the ETag:\n{}", missing.join("\n"));
}

/// Every `$ref` of the document names a schema it defines (a type used only in a handler's
/// parameters is easily left out of the components).
#[test]
fn every_reference_in_the_document_resolves() {
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    out.push(r);
                }
                map.values().for_each(|x| refs(x, out));
            }
            Value::Array(items) => items.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let doc: Value = serde_json::from_str(&api::openapi::json()).unwrap();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    let dangling: Vec<&&str> = all
        .iter()
        .filter(|r| {
            r.strip_prefix("#/components/schemas/").is_none_or(|name| doc["components"]["schemas"].get(name).is_none())
        })
        .collect();
    assert!(!all.is_empty());
    assert!(dangling.is_empty(), "references to nothing: {dangling:?}");
}

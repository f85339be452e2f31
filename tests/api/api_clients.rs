//! API clients: scoped keys for machines.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn a_key_is_shown_once_and_stored_only_as_its_prefix() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/api-clients",
            &app.admin_token,
            &json!({"name": "Zammad", "scopes": ["tickets:write", "customers:read"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let key = created["key"].as_str().unwrap();
    let prefix = created["key_prefix"].as_str().unwrap();
    assert!(key.starts_with(&format!("ktr_{prefix}_")));
    assert_eq!(created["scopes"], json!(["customers:read", "tickets:write"]));

    let read: Value =
        app.get(&format!("/api/v1/api-clients/{}", created["id"]), &app.admin_token).await.json().await.unwrap();
    assert!(read.get("key").is_none());
    assert!(!read.to_string().contains(&key[prefix.len() + 5..]), "the secret part must never be returned again");
    let list: Value = app.get("/api/v1/api-clients", &app.admin_token).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_key_with_the_needed_scope_works_and_one_without_it_is_forbidden() {
    let app = spawn_app().await;
    app.create_customer(json!({"name": "Muster IT GmbH"})).await;
    let (_, reader) = app.api_key(&["customers:read"]).await;
    let (_, helpdesk) = app.api_key(&["tickets:write"]).await;

    // Bearer and X-Api-Key both carry a key.
    let res = app.get("/api/v1/customers", &reader).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.client.get(app.url("/api/v1/customers")).header("x-api-key", &reader).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = app.get("/api/v1/me", &reader).await.json().await.unwrap();
    assert_eq!(me["kind"], "api_client");
    assert_eq!(me["scopes"], json!(["customers:read"]));

    // Reading is not writing.
    let p = problem(app.post("/api/v1/customers", &reader, &json!({"name": "X"})).await, StatusCode::FORBIDDEN).await;
    assert!(p["detail"].as_str().unwrap().contains("scope"));
    // A helpdesk key cannot read customers, users or the audit log.
    problem(app.get("/api/v1/customers", &helpdesk).await, StatusCode::FORBIDDEN).await;
    problem(app.get("/api/v1/users", &helpdesk).await, StatusCode::FORBIDDEN).await;
    problem(app.get("/api/v1/audit-log", &helpdesk).await, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn a_customers_write_key_can_create_customers_and_is_audited_as_the_client() {
    let app = spawn_app().await;
    let (client_id, key) = app.api_key(&["customers:write"]).await;
    let res = app.post("/api/v1/customers", &key, &json!({"name": "From the helpdesk"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let log: Value = app.get("/api/v1/audit-log?entity_type=customer", &app.admin_token).await.json().await.unwrap();
    assert_eq!(log["items"][0]["actor_type"], "api_client");
    assert_eq!(log["items"][0]["actor_id"], client_id);
}

#[tokio::test]
async fn a_revoked_or_made_up_key_is_rejected() {
    let app = spawn_app().await;
    let (id, key) = app.api_key(&["customers:read"]).await;
    let res = app.delete(&format!("/api/v1/api-clients/{id}"), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let revoked: Value = res.json().await.unwrap();
    assert_eq!(revoked["active"], false);
    problem(app.get("/api/v1/customers", &key).await, StatusCode::UNAUTHORIZED).await;

    // Right prefix, wrong secret.
    let (_, good) = app.api_key(&["customers:read"]).await;
    let forged = format!("{}x", &good[..good.len() - 1]);
    problem(app.get("/api/v1/customers", &forged).await, StatusCode::UNAUTHORIZED).await;
    problem(app.get("/api/v1/customers", "ktr_nonsense").await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn last_use_of_a_key_is_recorded() {
    let app = spawn_app().await;
    let (id, key) = app.api_key(&["customers:read"]).await;
    let before: Value = app.get(&format!("/api/v1/api-clients/{id}"), &app.admin_token).await.json().await.unwrap();
    assert!(before["last_used_at"].is_null());
    app.get("/api/v1/customers", &key).await;
    let after: Value = app.get(&format!("/api/v1/api-clients/{id}"), &app.admin_token).await.json().await.unwrap();
    assert!(after["last_used_at"].is_string());
}

#[tokio::test]
async fn only_admins_manage_api_clients_and_scopes_are_validated() {
    let app = spawn_app().await;
    let (_, billing) = app.user_with_roles(&["billing"]).await;
    problem(
        app.post("/api/v1/api-clients", &billing, &json!({"name": "x", "scopes": ["customers:read"]})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let p = problem(
        app.post("/api/v1/api-clients", &app.admin_token, &json!({"name": "x", "scopes": ["customers:delete"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(error_fields(&p)[0].starts_with("scopes"), "{p}");
    let p = problem(
        app.post("/api/v1/api-clients", &app.admin_token, &json!({"name": "x", "scopes": []})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["scopes"]);
    let list: Value = app.get("/api/v1/api-clients", &app.admin_token).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "nothing was created");
}

/// Issue 10, item 13: a write scope includes reading its own resource — and the OpenAPI
/// document says so on every read operation — but nothing else.
#[tokio::test]
async fn a_write_scope_reads_its_own_resource_and_the_document_says_so() {
    let app = spawn_app().await;
    let (_, helpdesk) = app.api_key(&["tickets:write"]).await;
    assert_eq!(app.get("/api/v1/tickets", &helpdesk).await.status(), StatusCode::OK);
    problem(app.get("/api/v1/bookings", &helpdesk).await, StatusCode::FORBIDDEN).await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let scopes = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["security"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r.get("api_key"))
            .flat_map(|s| s.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()))
            .collect()
    };
    for (path, read, write) in [
        ("/api/v1/tickets", "tickets:read", "tickets:write"),
        ("/api/v1/customers", "customers:read", "customers:write"),
        ("/api/v1/bookings", "bookings:read", "bookings:write"),
        ("/api/v1/accounting/invoices", "invoices:read", "invoices:export"),
    ] {
        let s = scopes(path, "get");
        assert!(s.contains(&read.to_string()) && s.contains(&write.to_string()), "{path}: {s:?}");
    }
}

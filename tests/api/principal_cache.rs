//! The cache of authenticated principals (issue 12): a change of a user, session or API
//! key made through a node takes effect with that node's next request, even while the
//! principal is cached; another node sees it within the cache's TTL.

use crate::helpers::*;
use api::{Application, Config};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// Another API node on the test's database, with its own cache of `ttl`; returns its
/// address.
async fn second_node(app: &TestApp, ttl: Duration) -> String {
    let url = app.database_url.clone();
    let mut config = Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.clone()),
        "KONTOR_JWT_SECRET" => Some(JWT_SECRET.into()),
        "KONTOR_WORKERS" => Some("1".into()),
        "KONTOR_DB_MAX_CONNECTIONS" => Some("4".into()),
        _ => None,
    })
    .expect("node configuration is valid");
    config.principal_cache_ttl = ttl;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a random port");
    let node = Application::build_with_listener(config, listener).await.expect("second node starts");
    let address = format!("http://127.0.0.1:{}", node.port());
    tokio::spawn(node.run_until_stopped());
    address
}

async fn get_on(app: &TestApp, node: &str, path: &str, token: &str) -> reqwest::Response {
    app.client.get(format!("{node}{path}")).bearer_auth(token).send().await.expect("request")
}

/// A second admin (id, token) whose principal is in the cache: it has just listed users.
async fn cached_second_admin(app: &TestApp) -> (i64, String) {
    let (id, token) = app.user_with_roles(&["admin"]).await;
    assert_eq!(app.get("/api/v1/users", &token).await.status(), StatusCode::OK);
    (id, token)
}

#[tokio::test]
async fn a_demoted_admin_loses_admin_rights_with_the_next_request() {
    let app = spawn_app().await;
    let (id, token) = cached_second_admin(&app).await;
    let res = app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, &json!({"roles": ["agent"]}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    problem(app.get("/api/v1/users", &token).await, StatusCode::FORBIDDEN).await;
    let me: Value = app.get("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["agent"]));
}

#[tokio::test]
async fn a_renamed_user_acts_under_the_new_name_at_once() {
    let app = spawn_app().await;
    let (id, token) = app.user_with_roles(&["agent"]).await;
    let me: Value = app.get("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["name"], "Test User");
    let res = app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, &json!({"name": "Jana Novák"}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = app.get("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["name"], "Jana Novák");
}

#[tokio::test]
async fn a_password_change_ends_a_session_in_use_at_once() {
    let app = spawn_app().await;
    let (id, token) = app.user_with_roles(&["agent"]).await;
    assert_eq!(app.get("/api/v1/me", &token).await.status(), StatusCode::OK);
    let res = app
        .patch(&format!("/api/v1/users/{id}"), &app.admin_token, &json!({"password": "a-brand-new-password"}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let p = problem(app.get("/api/v1/me", &token).await, StatusCode::UNAUTHORIZED).await;
    assert!(p["detail"].as_str().unwrap().contains("session has ended"), "{p}");
}

#[tokio::test]
async fn a_revoked_key_in_use_is_refused_with_the_next_request() {
    let app = spawn_app().await;
    let (id, key) = app.api_key(&["customers:read"]).await;
    assert_eq!(app.get("/api/v1/customers", &key).await.status(), StatusCode::OK);
    assert_eq!(app.get("/api/v1/customers", &key).await.status(), StatusCode::OK);
    let res = app.delete(&format!("/api/v1/api-clients/{id}"), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    problem(app.get("/api/v1/customers", &key).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_busy_key_records_its_use_once_a_minute_not_per_request() {
    let app = spawn_app().await;
    let (id, key) = app.api_key(&["customers:read"]).await;
    let last_used = || async {
        let c: Value = app.get(&format!("/api/v1/api-clients/{id}"), &app.admin_token).await.json().await.unwrap();
        c["last_used_at"].clone()
    };
    assert_eq!(app.get("/api/v1/customers", &key).await.status(), StatusCode::OK);
    let first = last_used().await;
    assert!(first.is_string(), "the first use is recorded: {first}");
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(app.get("/api/v1/customers", &key).await.status(), StatusCode::OK);
    }
    assert_eq!(last_used().await, first, "uses within the minute write nothing");
}

#[tokio::test]
async fn another_node_sees_a_demotion_within_its_cache_ttl() {
    let app = spawn_app().await;
    let ttl = Duration::from_millis(800);
    let other = second_node(&app, ttl).await;
    let (id, token) = app.user_with_roles(&["admin"]).await;
    assert_eq!(get_on(&app, &other, "/api/v1/users", &token).await.status(), StatusCode::OK);
    let res = app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, &json!({"roles": ["viewer"]}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    // The change went through the first node: it refuses at once …
    problem(app.get("/api/v1/users", &token).await, StatusCode::FORBIDDEN).await;
    // … the other node at the latest when its cached principal is older than the TTL.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    problem(get_on(&app, &other, "/api/v1/users", &token).await, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn without_the_cache_another_node_sees_a_logout_at_once() {
    let app = spawn_app().await;
    let other = second_node(&app, Duration::ZERO).await;
    let pair: Value = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.json().await.unwrap();
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(get_on(&app, &other, "/api/v1/me", access).await.status(), StatusCode::OK);
    let res = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .json(&json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(get_on(&app, &other, "/api/v1/me", access).await, StatusCode::UNAUTHORIZED).await;
}

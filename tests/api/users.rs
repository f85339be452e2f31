//! User management by admins.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn an_admin_creates_a_technician_who_can_then_log_in() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/users",
            &app.admin_token,
            &json!({"email": "Jana.Novak@Example.com", "name": "Jana Novák", "password": "long-enough-password",
                    "roles": ["agent"], "weekly_capacity_hours": "32", "internal_cost_rate": "41.50"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/api/v1/users/"));
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["email"], "jana.novak@example.com");
    assert_eq!(user["internal_cost_rate"], "41.50");
    assert_eq!(user["weekly_capacity_hours"], "32");
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    app.token_for("jana.novak@example.com", "long-enough-password").await;
}

#[tokio::test]
async fn bad_user_input_is_rejected_per_field_and_creates_nothing() {
    let app = spawn_app().await;
    let p = problem(
        app.post(
            "/api/v1/users",
            &app.admin_token,
            &json!({"email": "not-an-email", "name": "", "password": "short", "roles": [], "internal_cost_rate": "-1"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["email", "internal_cost_rate", "name", "password", "roles"]);
    let p = problem(
        app.post(
            "/api/v1/users",
            &app.admin_token,
            &json!({"email": "a@b.de", "name": "A", "password": "long-enough-password", "roles": ["boss"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(error_fields(&p)[0].starts_with("roles"));
    // Money as a JSON number is refused.
    let p = problem(
        app.post("/api/v1/users", &app.admin_token, &json!({"email": "a@b.de", "name": "A", "password": "long-enough-password", "roles": ["agent"], "default_sales_rate": 95.5})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["default_sales_rate"]);
    let list: Value = app.get("/api/v1/users", &app.admin_token).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "only the admin exists");
}

#[tokio::test]
async fn a_taken_email_is_a_conflict() {
    let app = spawn_app().await;
    let body = json!({"email": ADMIN_EMAIL, "name": "Dup", "password": "long-enough-password", "roles": ["viewer"]});
    problem(app.post("/api/v1/users", &app.admin_token, &body).await, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn only_admins_manage_users() {
    let app = spawn_app().await;
    for role in ["billing", "manager", "agent", "viewer"] {
        let (_, token) = app.user_with_roles(&[role]).await;
        problem(app.get("/api/v1/users", &token).await, StatusCode::FORBIDDEN).await;
        let body = json!({"email": "x@y.de", "name": "X", "password": "long-enough-password", "roles": ["admin"]});
        problem(app.post("/api/v1/users", &token, &body).await, StatusCode::FORBIDDEN).await;
    }
}

#[tokio::test]
async fn a_password_change_ends_existing_sessions() {
    let app = spawn_app().await;
    let (id, _) = app.user_with_roles(&["agent"]).await;
    let user: Value = app.get(&format!("/api/v1/users/{id}"), &app.admin_token).await.json().await.unwrap();
    let email = user["email"].as_str().unwrap();
    let pair: Value = app.login(email, USER_PASSWORD).await.json().await.unwrap();
    let etag =
        app.get(&format!("/api/v1/users/{id}"), &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();
    let res = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &app.admin_token,
            &json!({"password": "a-brand-new-password"}),
            Some(&etag),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
    app.token_for(email, "a-brand-new-password").await;
    // The ETag read before the change is stale now.
    problem(
        app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, &json!({"name": "Late"}), Some(&etag)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
}

#[tokio::test]
async fn an_admin_cannot_deactivate_themselves() {
    let app = spawn_app().await;
    let me: Value = app.get("/api/v1/me", &app.admin_token).await.json().await.unwrap();
    let res =
        app.patch(&format!("/api/v1/users/{}", me["id"]), &app.admin_token, &json!({"active": false}), None).await;
    problem(res, StatusCode::CONFLICT).await;
}

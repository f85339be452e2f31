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
    // The access token of that session stops working at once, not when it expires.
    let access = pair["access_token"].as_str().unwrap();
    let p = problem(app.get("/api/v1/me", access).await, StatusCode::UNAUTHORIZED).await;
    assert!(p["detail"].as_str().unwrap().contains("session has ended"), "{p}");
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

/// Creates an active admin; returns its id.
async fn second_admin(app: &TestApp, email: &str) -> i64 {
    let res = app
        .post(
            "/api/v1/users",
            &app.admin_token,
            &json!({"email": email, "name": "Second Admin", "password": "long-enough-password", "roles": ["admin"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

#[tokio::test]
async fn the_last_active_admin_keeps_the_role_and_stays_active() {
    let app = spawn_app().await;
    let me: Value = app.get("/api/v1/me", &app.admin_token).await.json().await.unwrap();
    let path = format!("/api/v1/users/{}", me["id"]);
    let p =
        problem(app.patch(&path, &app.admin_token, &json!({"roles": ["viewer"]}), None).await, StatusCode::CONFLICT)
            .await;
    assert!(p["detail"].as_str().unwrap().contains("last active admin"), "{p}");
    let after: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(after["roles"], json!(["admin"]), "nothing changed");

    // With a second admin, the first may step down; then the second is the last one.
    let other = second_admin(&app, "second@example.com").await;
    let res = app.patch(&path, &app.admin_token, &json!({"roles": ["billing"]}), None).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let token = app.token_for("second@example.com", "long-enough-password").await;
    let p = problem(
        app.patch(&format!("/api/v1/users/{other}"), &token, &json!({"roles": ["agent"]}), None).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("last active admin"), "{p}");
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = spawn_app().await;
    let me: Value = app.get("/api/v1/me", &app.admin_token).await.json().await.unwrap();
    let first = me["id"].as_i64().unwrap();
    let second = second_admin(&app, "rival@example.com").await;
    let rival = app.token_for("rival@example.com", "long-enough-password").await;
    for round in 0..5 {
        let (second_path, first_path) = (format!("/api/v1/users/{second}"), format!("/api/v1/users/{first}"));
        let (viewer, inactive) = (json!({"roles": ["viewer"]}), json!({"active": false}));
        let demote_second = app.patch(&second_path, &app.admin_token, &viewer, None);
        let deactivate_first = app.patch(&first_path, &rival, &inactive, None);
        let (a, b) = tokio::join!(demote_second, deactivate_first);
        let statuses = [a.status(), b.status()];
        // One wins; the other is refused: 409 as the last admin, 403 when the winner had
        // already taken its admin role before its request was authorized, or 401 when the
        // winner had already deactivated it before its request was authenticated.
        assert!(
            statuses
                .iter()
                .any(|s| [StatusCode::CONFLICT, StatusCode::FORBIDDEN, StatusCode::UNAUTHORIZED].contains(s)),
            "round {round}: {statuses:?}"
        );
        assert!(statuses.contains(&StatusCode::OK), "round {round}: {statuses:?}");
        let store = app.store().await;
        let admins = store
            .list_users(&persistence::PageRequest { after: None, limit: 200 })
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|u| u.active && u.roles.contains(&domain::Role::Admin))
            .count();
        assert_eq!(admins, 1, "round {round}: exactly one active admin left");
        if statuses[0] == StatusCode::OK {
            // The second admin was demoted: make it an admin again for the next round.
            let res = app
                .patch(&format!("/api/v1/users/{second}"), &app.admin_token, &json!({"roles": ["admin"]}), None)
                .await;
            assert_eq!(res.status(), StatusCode::OK);
        } else {
            return; // The first admin is deactivated; its token no longer works.
        }
    }
}

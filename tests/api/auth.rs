//! Login, tokens, refresh rotation, logout, rate limiting.

use crate::helpers::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn mint(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// The session (`sid`) of an access token.
fn session_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().unwrap().to_string()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn login_returns_a_bearer_token_pair_that_opens_me() {
    let app = spawn_app().await;
    let res = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().unwrap().len() >= 40);
    let token = body["access_token"].as_str().unwrap();

    let me: Value = app.get("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(me["kind"], "user");
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["roles"], json!(["admin"]));
}

#[tokio::test]
async fn login_is_case_insensitive_in_the_email() {
    let app = spawn_app().await;
    let res = app.login(&ADMIN_EMAIL.to_uppercase(), ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_the_same_401() {
    let app = spawn_app().await;
    let wrong = problem(app.login(ADMIN_EMAIL, "not-the-password").await, StatusCode::UNAUTHORIZED).await;
    let unknown = problem(app.login("nobody@test.example", "whatever-password").await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    assert_eq!(wrong["type"], "urn:kontor:problem:unauthenticated");
}

#[tokio::test]
async fn login_with_a_malformed_body_is_a_client_error() {
    let app = spawn_app().await;
    let res = app.client.post(app.url("/api/v1/auth/login")).json(&json!({"email": "x"})).send().await.unwrap();
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["password"]);
}

#[tokio::test]
async fn protected_routes_need_a_credential() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    problem(res, StatusCode::UNAUTHORIZED).await;
    let res = app.client.get(app.url("/api/v1/customers")).header("authorization", "Basic abc").send().await.unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_expired_access_token_is_rejected() {
    let app = spawn_app().await;
    let sid = session_of(&app.admin_token);
    let token = mint(
        json!({"sub": "1", "iat": now() - 3600, "exp": now() - 120, "iss": "kontor", "jti": "x", "sid": sid}),
        JWT_SECRET,
    );
    let p = problem(app.get("/api/v1/me", &token).await, StatusCode::UNAUTHORIZED).await;
    assert!(p["detail"].as_str().unwrap().contains("expired"), "{p}");
    // Ten seconds past `exp` is expired too: the leeway is at most 5 s.
    let just_expired = mint(
        json!({"sub": "1", "iat": now() - 900, "exp": now() - 10, "iss": "kontor", "jti": "w", "sid": sid}),
        JWT_SECRET,
    );
    let p = problem(app.get("/api/v1/me", &just_expired).await, StatusCode::UNAUTHORIZED).await;
    assert!(p["detail"].as_str().unwrap().contains("expired"), "{p}");
    // The same claims, unexpired, are accepted: the rejection is about expiry.
    let fresh = mint(
        json!({"sub": "1", "iat": now(), "exp": now() + 300, "iss": "kontor", "jti": "y", "sid": sid}),
        JWT_SECRET,
    );
    assert_eq!(app.get("/api/v1/me", &fresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_tampered_or_foreign_token_is_rejected() {
    let app = spawn_app().await;
    // Change the payload of a valid token to claim another user: the signature no longer fits.
    let parts: Vec<&str> = app.admin_token.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&json!({"sub": "2", "iat": now(), "exp": now() + 600, "iss": "kontor", "jti": "z"}))
            .unwrap(),
    );
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    problem(app.get("/api/v1/me", &tampered).await, StatusCode::UNAUTHORIZED).await;

    // Signed with another secret.
    let foreign = mint(
        json!({"sub": "1", "iat": now(), "exp": now() + 600, "iss": "kontor", "jti": "a"}),
        "another-secret-another-secret-another-secret",
    );
    problem(app.get("/api/v1/me", &foreign).await, StatusCode::UNAUTHORIZED).await;

    // alg=none (no signature) must never be accepted.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let none = format!("{header}.{}.", parts[1]);
    problem(app.get("/api/v1/me", &none).await, StatusCode::UNAUTHORIZED).await;

    // HS384 with the right secret: the algorithm is fixed to HS256.
    let hs384 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS384),
        &json!({"sub": "1", "iat": now(), "exp": now() + 600, "iss": "kontor", "jti": "b"}),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    problem(app.get("/api/v1/me", &hs384).await, StatusCode::UNAUTHORIZED).await;
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.client.post(app.url("/api/v1/auth/refresh")).json(&json!({"refresh_token": token})).send().await.unwrap()
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_login() {
    let app = spawn_app().await;
    let first: Value = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.json().await.unwrap();
    let r1 = first["refresh_token"].as_str().unwrap();

    let res = refresh(&app, r1).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    assert_eq!(app.get("/api/v1/me", second["access_token"].as_str().unwrap()).await.status(), StatusCode::OK);

    // The old refresh token is rejected after use …
    problem(refresh(&app, r1).await, StatusCode::UNAUTHORIZED).await;
    // … and its reuse revoked the whole family, including the successor.
    problem(refresh(&app, r2).await, StatusCode::UNAUTHORIZED).await;

    // Another login is unaffected.
    let other: Value = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.json().await.unwrap();
    assert_eq!(refresh(&app, other["refresh_token"].as_str().unwrap()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_refresh_token_is_rejected() {
    let app = spawn_app().await;
    problem(refresh(&app, "not-a-token").await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let pair: Value = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.json().await.unwrap();
    let r = pair["refresh_token"].as_str().unwrap();
    let res = app.client.post(app.url("/api/v1/auth/logout")).json(&json!({"refresh_token": r})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(refresh(&app, r).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let app = spawn_app().await;
    for _ in 0..5 {
        problem(app.login(ADMIN_EMAIL, "wrong-password-xx").await, StatusCode::UNAUTHORIZED).await;
    }
    let res = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let retry_after: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(retry_after, 900);
    let p = problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(p["type"], "urn:kontor:problem:rate-limited");
}

#[tokio::test]
async fn a_success_resets_the_account_failure_count() {
    let app = spawn_app().await;
    for _ in 0..4 {
        app.login(ADMIN_EMAIL, "wrong-password-xx").await;
    }
    assert_eq!(app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), StatusCode::OK);
    for _ in 0..4 {
        app.login(ADMIN_EMAIL, "wrong-password-xx").await;
    }
    assert_eq!(app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn many_failures_from_one_ip_lock_that_ip_across_accounts() {
    let app = spawn_app_with(|c| c.login_max_failures_per_ip = 3).await;
    for i in 0..3 {
        app.login(&format!("guess{i}@test.example"), "wrong-password-xx").await;
    }
    problem(app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn a_deactivated_user_can_neither_log_in_nor_use_an_issued_token() {
    let app = spawn_app().await;
    let (id, token) = app.user_with_roles(&["agent"]).await;
    assert_eq!(app.get("/api/v1/me", &token).await.status(), StatusCode::OK);
    let res = app.patch(&format!("/api/v1/users/{id}"), &app.admin_token, &json!({"active": false}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    problem(app.get("/api/v1/me", &token).await, StatusCode::UNAUTHORIZED).await;
    let me: Value = app.get(&format!("/api/v1/users/{id}"), &app.admin_token).await.json().await.unwrap();
    problem(app.login(me["email"].as_str().unwrap(), USER_PASSWORD).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn two_simultaneous_refreshes_of_one_token_let_at_most_one_through() {
    let app = spawn_app_with(|c| c.workers = Some(2)).await;
    let pair: Value = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.json().await.unwrap();
    let r = pair["refresh_token"].as_str().unwrap();
    let (a, b) = tokio::join!(refresh(&app, r), refresh(&app, r));
    let ok = [a.status(), b.status()].iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{} / {}", a.status(), b.status());
}

/// Issue 10, item 10: colleagues' typos behind one NAT do not lock the admin out; guessing
/// unknown accounts or failing on many accounts does lock the IP.
#[tokio::test]
async fn typos_of_colleagues_behind_one_ip_do_not_lock_out_the_admin() {
    let app = spawn_app_with(|c| {
        c.login_max_failures_per_ip = 3;
        c.login_max_accounts_per_ip = 3;
    })
    .await;
    let (a, _) = app.user_with_roles(&["agent"]).await;
    let (b, _) = app.user_with_roles(&["agent"]).await;
    for id in [a, b] {
        let u: Value = app.get(&format!("/api/v1/users/{id}"), &app.admin_token).await.json().await.unwrap();
        for _ in 0..2 {
            problem(app.login(u["email"].as_str().unwrap(), "a-typo-in-the-password").await, StatusCode::UNAUTHORIZED)
                .await;
        }
    }
    assert_eq!(app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), StatusCode::OK, "4 failures on 2 accounts");
    // A third account failing from the same IP looks like spraying: the IP is locked.
    problem(app.login(ADMIN_EMAIL, "a-typo-in-the-password").await, StatusCode::UNAUTHORIZED).await;
    problem(app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await, StatusCode::TOO_MANY_REQUESTS).await;
}

/// Issue 10, item 2: an access token lives only as long as its session (login).
#[tokio::test]
async fn logout_and_a_reused_refresh_token_end_the_access_tokens_of_that_session_only() {
    let app = spawn_app().await;
    let first: Value = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.json().await.unwrap();
    let second: Value = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.json().await.unwrap();
    let (a1, a2) = (first["access_token"].as_str().unwrap(), second["access_token"].as_str().unwrap());
    assert_eq!(app.get("/api/v1/me", a1).await.status(), StatusCode::OK);
    let res = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .json(&json!({"refresh_token": first["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(app.get("/api/v1/me", a1).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(app.get("/api/v1/me", a2).await.status(), StatusCode::OK, "the other login goes on");

    // A refreshed pair continues the same session; a reused refresh token ends it.
    let r2 = second["refresh_token"].as_str().unwrap();
    let next: Value = refresh(&app, r2).await.json().await.unwrap();
    let a3 = next["access_token"].as_str().unwrap();
    assert_eq!(session_of(a3), session_of(a2));
    assert_eq!(app.get("/api/v1/me", a3).await.status(), StatusCode::OK);
    problem(refresh(&app, r2).await, StatusCode::UNAUTHORIZED).await;
    problem(app.get("/api/v1/me", a2).await, StatusCode::UNAUTHORIZED).await;
    problem(app.get("/api/v1/me", a3).await, StatusCode::UNAUTHORIZED).await;
    // A token naming another user's session is refused too.
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    let forged = mint(
        json!({"sub": "1", "iat": now(), "exp": now() + 300, "iss": "kontor", "jti": "f", "sid": session_of(&agent)}),
        JWT_SECRET,
    );
    problem(app.get("/api/v1/me", &forged).await, StatusCode::UNAUTHORIZED).await;
}

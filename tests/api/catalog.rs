//! End-to-end tests: the service catalog (Leistungen / výkony): what can be booked and billed.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Creates a service as admin; panics unless 201.
pub async fn create_service(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/services", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create service: {}", res.text().await.unwrap_or_default());
    res.json().await.expect("json")
}

/// A minimal valid service with this code.
pub fn service(code: &str) -> Value {
    json!({"code": code, "name": format!("Service {code}"), "unit": "hour", "kind": "work", "vat_rate": "19"})
}

/// All services visible with this query (follows every page).
pub async fn all_services(app: &TestApp, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/services?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let res = app.get(&path, &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let page: Value = res.json().await.expect("json");
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn codes(services: &[Value]) -> Vec<String> {
    services.iter().map(|s| s["code"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn adding_remote_support_returns_it_with_location_etag_and_exact_prices() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/services",
            &app.admin_token,
            &json!({"code": "remote", "name": "Remote support", "unit": "hour", "kind": "work",
                    "default_price": "95.50", "vat_rate": "19"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let s: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/services/{}", s["id"]));
    assert_eq!(etag, format!("\"service-{}-v1\"", s["id"]));
    assert_eq!(s["code"], "REMOTE", "codes are stored upper case");
    assert_eq!(s["name"], "Remote support");
    assert_eq!(s["unit"], "hour");
    assert_eq!(s["kind"], "work");
    assert_eq!(s["default_price"], "95.50", "money is an exact decimal string");
    assert_eq!(s["vat_rate"], "19");
    assert_eq!(s["billable_by_default"], true);
    assert_eq!(s["archived"], false);
    assert_eq!(s["version"], 1);

    let km = create_service(
        &app,
        json!({"code": "KM", "name": "Kilometres", "unit": "km", "kind": "travel", "default_price": "0.30",
               "vat_rate": "7.5", "billable_by_default": false}),
    )
    .await;
    assert_eq!(km["default_price"], "0.30");
    assert_eq!(km["vat_rate"], "7.5");
    assert_eq!(km["billable_by_default"], false);
    let flat = create_service(
        &app,
        json!({"code": "CALLOUT", "name": "Call-out fee", "unit": "flat", "kind": "fee", "vat_rate": "0"}),
    )
    .await;
    assert!(flat["default_price"].is_null(), "a price is optional (rates may come from contracts)");

    let res = app.get(&location, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["default_price"], "95.50");
    assert_eq!(app.audit_count(Some("service")).await, 3);
}

#[tokio::test]
async fn invalid_services_get_per_field_errors_and_nothing_is_stored() {
    let app = spawn_app().await;
    let with = |patch: Value| {
        let mut body = service("HDD");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (with(json!({"code": ""})), vec!["code"]),
        (with(json!({"code": "HDD 1TB"})), vec!["code"]),
        (with(json!({"code": "X".repeat(33)})), vec!["code"]),
        (with(json!({"name": ""})), vec!["name"]),
        (with(json!({"unit": "mile"})), vec!["unit"]),
        (with(json!({"kind": "labour"})), vec!["kind"]),
        (with(json!({"default_price": "-0.01"})), vec!["default_price"]),
        (with(json!({"default_price": 95.5})), vec!["default_price"]),
        (with(json!({"default_price": "1.23456"})), vec!["default_price"]),
        (with(json!({"default_price": "abc"})), vec!["default_price"]),
        (with(json!({"vat_rate": "100.01"})), vec!["vat_rate"]),
        (with(json!({"vat_rate": "-7"})), vec!["vat_rate"]),
        (with(json!({"vat_rate": "19.555"})), vec!["vat_rate"]),
        (with(json!({"vat_rate": 19})), vec!["vat_rate"]),
        (with(json!({"billable_by_default": "yes"})), vec!["billable_by_default"]),
        (with(json!({"colour": "red"})), vec!["colour"]),
        (json!({"code": "HDD", "name": "Hard disk", "unit": "piece", "kind": "material"}), vec!["vat_rate"]),
        (
            with(json!({"code": "", "default_price": "-1", "vat_rate": "200"})),
            vec!["code", "default_price", "vat_rate"],
        ),
    ];
    for (body, fields) in cases {
        let p = problem(app.post("/api/v1/services", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert_eq!(p["type"], "urn:kontor:problem:validation");
        assert_eq!(error_fields(&p), fields, "for {body}: {p}");
    }
    assert!(all_services(&app, "status=all").await.is_empty());
    assert_eq!(app.audit_count(Some("service")).await, 0);

    // The boundaries themselves are fine.
    create_service(&app, with(json!({"code": "ZERO", "default_price": "0", "vat_rate": "0"}))).await;
    create_service(&app, with(json!({"code": "FULL", "default_price": "0.0001", "vat_rate": "100"}))).await;
}

#[tokio::test]
async fn a_service_code_can_be_used_only_once_whatever_its_case() {
    let app = spawn_app().await;
    create_service(&app, service("REMOTE")).await;
    let onsite = create_service(&app, service("ONSITE")).await;
    let p =
        problem(app.post("/api/v1/services", &app.admin_token, &service("remote")).await, StatusCode::CONFLICT).await;
    assert_eq!(p["type"], "urn:kontor:problem:conflict");
    assert!(p["detail"].as_str().unwrap().contains("code"), "{p}");

    let path = format!("/api/v1/services/{}", onsite["id"]);
    let p =
        problem(app.patch(&path, &app.admin_token, &json!({"code": "Remote"}), None).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("code"), "{p}");
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["code"], "ONSITE");
    assert_eq!(unchanged["version"], 1);
    assert_eq!(all_services(&app, "").await.len(), 2);
}

#[tokio::test]
async fn unknown_services_are_404() {
    let app = spawn_app().await;
    for path in ["/api/v1/services/999", "/api/v1/services/abc", "/api/v1/services/0"] {
        let p = problem(app.get(path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
        assert_eq!(p["type"], "urn:kontor:problem:not-found");
    }
    problem(
        app.patch("/api/v1/services/999", &app.admin_token, &json!({"name": "x"}), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.delete("/api/v1/services/999", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    problem(app.post("/api/v1/services/999/restore", &app.admin_token, &json!({})).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_price_change_keeps_the_other_fields_and_null_clears_the_default_price() {
    let app = spawn_app().await;
    let s = create_service(
        &app,
        json!({"code": "ONSITE", "name": "On-site work", "unit": "hour", "kind": "work", "default_price": "110.00",
               "vat_rate": "19"}),
    )
    .await;
    let path = format!("/api/v1/services/{}", s["id"]);
    let res =
        app.patch(&path, &app.admin_token, &json!({"default_price": "120.00", "name": "On-site service"}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), format!("\"service-{}-v2\"", s["id"]));
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["default_price"], "120.00");
    assert_eq!(u["name"], "On-site service");
    assert_eq!(u["code"], "ONSITE");
    assert_eq!(u["vat_rate"], "19");
    assert_eq!(u["unit"], "hour");

    let u: Value =
        app.patch(&path, &app.admin_token, &json!({"default_price": null}), None).await.json().await.unwrap();
    assert!(u["default_price"].is_null());
    assert_eq!(u["version"], 3);

    for (body, field) in [
        (json!({"vat_rate": "101"}), "vat_rate"),
        (json!({"default_price": "-5"}), "default_price"),
        (json!({"unit": "litre"}), "unit"),
        (json!({"code": "a b"}), "code"),
        (json!({"id": 5}), "id"),
    ] {
        let p = problem(app.patch(&path, &app.admin_token, &body, None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec![field], "{body}");
    }
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["version"], 3);
    assert_eq!(app.audit_count(Some("service")).await, 3);
}

#[tokio::test]
async fn a_stale_if_match_on_a_service_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let s = create_service(&app, service("REMOTE")).await;
    let path = format!("/api/v1/services/{}", s["id"]);
    let v1 = app.get(&path, &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();
    let res = app.patch(&path, &app.admin_token, &json!({"default_price": "90.00"}), Some(&v1)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let v2 = res.headers()["etag"].to_str().unwrap().to_string();

    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"default_price": "80.00"}), Some(&v1)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    assert_eq!(p["type"], "urn:kontor:problem:precondition-failed");
    let res = app.request(Method::DELETE, &path, Some(&app.admin_token)).header("if-match", &v1).send().await.unwrap();
    problem(res, StatusCode::PRECONDITION_FAILED).await;
    problem(
        app.patch(&path, &app.admin_token, &json!({"name": "x"}), Some("\"customer-1-v2\"")).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let now: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(now["default_price"], "90.00");
    assert_eq!(now["archived"], false);
    assert_eq!(app.patch(&path, &app.admin_token, &json!({"name": "x"}), Some(&v2)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn deleting_archives_the_service_which_stays_readable_and_can_be_restored() {
    let app = spawn_app().await;
    let old = create_service(&app, service("MODEM")).await;
    let keep = create_service(&app, service("REMOTE")).await;
    let path = format!("/api/v1/services/{}", old["id"]);

    let res = app.delete(&path, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let archived: Value = res.json().await.unwrap();
    assert_eq!(archived["archived"], true);
    assert!(archived["archived_at"].is_string());
    assert_eq!(app.delete(&path, &app.admin_token).await.status(), StatusCode::OK, "idempotent");

    assert_eq!(codes(&all_services(&app, "").await), vec!["REMOTE"]);
    assert_eq!(codes(&all_services(&app, "status=active").await), vec!["REMOTE"]);
    assert_eq!(codes(&all_services(&app, "status=archived").await), vec!["MODEM"]);
    assert_eq!(codes(&all_services(&app, "status=all").await), vec!["MODEM", "REMOTE"]);
    let read: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(read["archived"], true, "archived services stay readable for the bookings that use them");

    let p = problem(app.patch(&path, &app.admin_token, &json!({"name": "x"}), None).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("archived"), "{p}");
    // Its code stays taken.
    problem(app.post("/api/v1/services", &app.admin_token, &service("MODEM")).await, StatusCode::CONFLICT).await;

    let res = app.post(&format!("{path}/restore"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let restored: Value = res.json().await.unwrap();
    assert_eq!(restored["archived"], false);
    assert!(restored["archived_at"].is_null());
    assert_eq!(all_services(&app, "").await.len(), 2);
    assert_eq!(app.post(&format!("{path}/restore"), &app.admin_token, &json!({})).await.status(), StatusCode::OK);

    let log: Value = app
        .get(&format!("/api/v1/audit-log?entity_type=service&entity_id={}", old["id"]), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["restore", "archive", "create"]);
    assert_eq!(log["items"][1]["before"]["archived_at"], Value::Null);
    let _ = keep;
}

#[tokio::test]
async fn catalog_pages_cover_every_service_exactly_once_in_code_order() {
    let app = spawn_app().await;
    let mut ids = HashSet::new();
    for i in 0..23 {
        // Codes created out of code order.
        let code = format!("S{:02}{}", (i * 7) % 23, if i % 2 == 0 { "A" } else { "B" });
        ids.insert(create_service(&app, service(&code)).await["id"].as_i64().unwrap());
    }
    for limit in [1, 4, 7, 23, 200] {
        let all = all_services(&app, &format!("limit={limit}")).await;
        let seen: Vec<i64> = all.iter().map(|s| s["id"].as_i64().unwrap()).collect();
        assert_eq!(seen.len(), 23, "limit={limit}: duplicates or gaps");
        assert_eq!(seen.iter().copied().collect::<HashSet<_>>(), ids, "limit={limit}");
        let got = codes(&all);
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(got, sorted, "sorted by code");
    }
    let first: Value = app.get("/api/v1/services?limit=5", &app.admin_token).await.json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 5);
    assert!(first["next_cursor"].is_string());
    let last: Value = app.get("/api/v1/services?limit=200", &app.admin_token).await.json().await.unwrap();
    assert!(last["next_cursor"].is_null());
}

#[tokio::test]
async fn search_and_filters_narrow_the_catalog() {
    let app = spawn_app().await;
    create_service(
        &app,
        json!({"code": "REMOTE", "name": "Remote support", "unit": "hour", "kind": "work", "vat_rate": "19"}),
    )
    .await;
    create_service(
        &app,
        json!({"code": "TRAVEL", "name": "Travel time", "unit": "hour", "kind": "travel", "vat_rate": "19"}),
    )
    .await;
    create_service(&app, json!({"code": "KM", "name": "Kilometres", "unit": "km", "kind": "travel", "vat_rate": "19"}))
        .await;
    create_service(
        &app,
        json!({"code": "HDD_1TB", "name": "Hard disk 1 TB (100% new)", "unit": "piece", "kind": "material", "vat_rate": "19"}),
    )
    .await;
    assert_eq!(codes(&all_services(&app, "q=remote").await), vec!["REMOTE"]);
    assert_eq!(codes(&all_services(&app, "q=TIME").await), vec!["TRAVEL"]);
    assert_eq!(codes(&all_services(&app, "q=100%25").await), vec!["HDD_1TB"]);
    assert_eq!(codes(&all_services(&app, "q=d_1").await), vec!["HDD_1TB"]);
    assert_eq!(codes(&all_services(&app, "kind=travel").await), vec!["KM", "TRAVEL"]);
    assert_eq!(codes(&all_services(&app, "unit=hour").await), vec!["REMOTE", "TRAVEL"]);
    assert_eq!(codes(&all_services(&app, "kind=travel&unit=km").await), vec!["KM"]);
    assert_eq!(codes(&all_services(&app, "code=km").await), vec!["KM"]);
    assert!(all_services(&app, "q=nothing-like-this").await.is_empty());
}

#[tokio::test]
async fn bad_catalog_list_parameters_are_client_errors() {
    let app = spawn_app().await;
    for q in
        ["limit=0", "limit=201", "limit=x", "cursor=garbage", "kind=labour", "unit=mile", "status=deleted", "sort=code"]
    {
        let p = problem(
            app.get(&format!("/api/v1/services?{q}"), &app.admin_token).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(!error_fields(&p).is_empty(), "{q}: {p}");
    }
}

#[tokio::test]
async fn everyone_reads_the_catalog_but_only_admin_and_billing_maintain_it() {
    let app = spawn_app().await;
    let s = create_service(&app, service("REMOTE")).await;
    let path = format!("/api/v1/services/{}", s["id"]);
    for role in ["viewer", "agent", "manager"] {
        let (_, token) = app.user_with_roles(&[role]).await;
        assert_eq!(app.get("/api/v1/services", &token).await.status(), StatusCode::OK, "{role} lists");
        assert_eq!(app.get(&path, &token).await.status(), StatusCode::OK, "{role} reads");
        let p = problem(app.post("/api/v1/services", &token, &service(role)).await, StatusCode::FORBIDDEN).await;
        assert_eq!(p["type"], "urn:kontor:problem:forbidden");
        problem(app.patch(&path, &token, &json!({"name": "X"}), None).await, StatusCode::FORBIDDEN).await;
        problem(app.delete(&path, &token).await, StatusCode::FORBIDDEN).await;
        problem(app.post(&format!("{path}/restore"), &token, &json!({})).await, StatusCode::FORBIDDEN).await;
    }
    let (_, billing) = app.user_with_roles(&["billing"]).await;
    assert_eq!(app.post("/api/v1/services", &billing, &service("BILLING")).await.status(), StatusCode::CREATED);
    assert_eq!(
        app.patch(&path, &billing, &json!({"default_price": "99.00"}), None).await.status(),
        StatusCode::OK,
        "billing changes prices"
    );
    assert_eq!(app.delete(&path, &billing).await.status(), StatusCode::OK);
    assert_eq!(app.post(&format!("{path}/restore"), &billing, &json!({})).await.status(), StatusCode::OK);
    problem(app.client.get(app.url("/api/v1/services")).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert_eq!(all_services(&app, "").await.len(), 2);
}

#[tokio::test]
async fn any_api_key_reads_the_catalog_but_none_can_change_it() {
    let app = spawn_app().await;
    let s = create_service(&app, service("REMOTE")).await;
    let path = format!("/api/v1/services/{}", s["id"]);
    for scopes in
        [vec!["tickets:write"], vec!["invoices:read"], vec!["customers:write", "bookings:write", "invoices:export"]]
    {
        let (_, key) = app.api_key(&scopes).await;
        let list: Value = app.get("/api/v1/services", &key).await.json().await.unwrap();
        assert_eq!(list["items"][0]["code"], "REMOTE", "{scopes:?} reads");
        let res = app.request(Method::GET, &path, None).header("x-api-key", &key).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{scopes:?} reads with X-Api-Key");
        problem(app.post("/api/v1/services", &key, &service("MACHINE")).await, StatusCode::FORBIDDEN).await;
        problem(app.patch(&path, &key, &json!({"name": "X"}), None).await, StatusCode::FORBIDDEN).await;
        problem(app.delete(&path, &key).await, StatusCode::FORBIDDEN).await;
    }
    assert_eq!(codes(&all_services(&app, "status=all").await), vec!["REMOTE"]);
}

#[tokio::test]
async fn a_retried_service_creation_with_the_same_idempotency_key_creates_it_once() {
    let app = spawn_app().await;
    let send = |body: Value| {
        let app = &app;
        async move {
            app.request(Method::POST, "/api/v1/services", Some(&app.admin_token))
                .header("idempotency-key", "svc-import-1")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = send(service("REMOTE")).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body: Value = first.json().await.unwrap();
    let replay = send(service("REMOTE")).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap(), first_body);
    problem(send(service("ONSITE")).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(codes(&all_services(&app, "status=all").await), vec!["REMOTE"]);
}

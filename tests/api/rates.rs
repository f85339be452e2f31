//! End-to-end tests: rates, surcharges, rounding rules and holidays, and the explained rate resolution.

use crate::bookings::project;
use crate::helpers::*;
use crate::tickets::customer_id;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Creates an hourly (or other) service with an optional default price.
async fn service(app: &TestApp, code: &str, unit: &str, price: Option<&str>) -> i64 {
    let kind = if unit == "hour" { "work" } else { "material" };
    let res = app
        .post(
            "/api/v1/services",
            &app.admin_token,
            &json!({"code": code, "name": format!("Service {code}"), "unit": unit, "kind": kind,
                    "default_price": price, "vat_rate": "19"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "create service: {}", res.text().await.unwrap_or_default());
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// Creates a technician with an optional default sales rate; returns the id.
async fn technician(app: &TestApp, sales_rate: Option<&str>) -> i64 {
    let email = format!("tech-{}@test.example", uuid::Uuid::new_v4().simple());
    let res = app
        .post(
            "/api/v1/users",
            &app.admin_token,
            &json!({"email": email, "name": "Tech", "password": USER_PASSWORD, "roles": ["agent"],
                    "default_sales_rate": sales_rate}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "create user: {}", res.text().await.unwrap_or_default());
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn rate(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/rates", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create rate {body}: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

async fn booking(app: &TestApp, body: Value) -> i64 {
    let res = app.post("/api/v1/bookings", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "book: {}", res.text().await.unwrap_or_default());
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn resolve(app: &TestApp, booking_id: i64) -> Value {
    let res = app.get(&format!("/api/v1/rates/resolve?booking_id={booking_id}"), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK, "resolve: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

async fn put(app: &TestApp, path: &str, token: &str, body: &Value, if_match: Option<&str>) -> reqwest::Response {
    let mut rb = app.request(reqwest::Method::PUT, path, Some(token)).json(body);
    if let Some(tag) = if_match {
        rb = rb.header("if-match", tag);
    }
    rb.send().await.expect("request")
}

async fn count(app: &TestApp, path: &str) -> usize {
    let page: Value = app.get(path, &app.admin_token).await.json().await.unwrap();
    page["items"].as_array().map(Vec::len).unwrap_or(0)
}

/// Inserts an active time-and-material contract covering all work (the contracts API is
/// built elsewhere), optionally with its own rounding rule; returns its id.
async fn insert_contract(app: &TestApp, customer: i64, rounding: Option<(i64, i64, &str)>) -> i64 {
    let (inc, min, mode) = match rounding {
        Some((i, m, mode)) => (i.to_string(), m.to_string(), format!("'{mode}'")),
        None => ("NULL".into(), "NULL".into(), "NULL".into()),
    };
    let sql = format!(
        "INSERT INTO contracts (customer_id, number, name, kind, start_date, end_date, billing_period, fee_timing, \
         fee, fee_vat_rate, covers_all_work, separate_invoice, rounding_increment_minutes, rounding_minimum_minutes, \
         rounding_mode, created_at, updated_at) VALUES ({customer}, 'V-{}', 'Support', 'time_and_material', \
         '2026-01-01', NULL, 'monthly', 'in_arrears', '0', '19', true, false, {inc}, {min}, {mode}, \
         '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z') RETURNING id",
        uuid::Uuid::new_v4().simple()
    );
    use sqlx::Connection;
    if app.db.is_postgres() {
        let mut conn = sqlx::PgConnection::connect(&app.database_url).await.expect("connect");
        sqlx::query_scalar::<_, i64>(&sql).fetch_one(&mut conn).await.expect("insert contract")
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&app.database_url).await.expect("connect");
        sqlx::query_scalar::<_, i64>(&sql).fetch_one(&mut conn).await.expect("insert contract")
    }
}

#[tokio::test]
async fn each_level_beats_the_ones_below_it_from_catalog_price_to_override() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", Some("50.00")).await;
    let customer = customer_id(&app).await;
    let proj = project(&app, json!({"name": "Migration", "customer_id": customer})).await["id"].as_i64().unwrap();
    let plain_user = technician(&app, None).await;
    let rated_user = technician(&app, Some("60.00")).await;
    let book = |user: i64| {
        json!({"user_id": user, "work_date": "2026-11-23", "duration_minutes": 50, "service_id": remote,
               "project_id": proj, "description": "Work"})
    };
    let b_plain = booking(&app, book(plain_user)).await;
    let b = booking(&app, book(rated_user)).await;

    let r = resolve(&app, b_plain).await;
    assert_eq!((r["level"].as_str(), r["unit_price"].as_str()), (Some("catalog_default"), Some("50.00")), "{r}");
    assert_eq!((r["owner_type"].as_str(), r["owner_id"].as_i64()), (Some("service"), Some(remote)));
    assert_eq!(r["currency"], "EUR");
    assert_eq!(r["surcharge"], Value::Null);

    let r = resolve(&app, b).await;
    assert_eq!((r["level"].as_str(), r["unit_price"].as_str()), (Some("user_default"), Some("60.00")), "{r}");

    let c = rate(&app, json!({"owner_type": "customer", "owner_id": customer, "service_id": remote, "unit_price": "70.00", "valid_from": "2026-01-01"})).await;
    assert_eq!(c["currency"], "EUR", "currency defaults to the customer's");
    let r = resolve(&app, b).await;
    assert_eq!((r["level"].as_str(), r["entry_id"].as_i64()), (Some("customer"), c["id"].as_i64()), "{r}");
    assert_eq!(r["scope"], "service");

    let p = rate(&app, json!({"owner_type": "project", "owner_id": proj, "service_id": remote, "unit_price": "80.00", "valid_from": "2026-01-01"})).await;
    let r = resolve(&app, b).await;
    assert_eq!((r["level"].as_str(), r["entry_id"].as_i64()), (Some("project"), p["id"].as_i64()), "{r}");
    assert_eq!(r["unit_price"], "80.00");

    // Contract level: the contract is inserted directly (its API is built elsewhere); the
    // booking names none, so the customer's active contract covering all work is chosen.
    let contract = insert_contract(&app, customer, Some((30, 30, "up"))).await;
    let k = rate(
        &app,
        json!({"owner_type": "contract", "owner_id": contract, "unit_price": "90.00", "valid_from": "2026-01-01"}),
    )
    .await;
    let r = resolve(&app, b).await;
    assert_eq!((r["level"].as_str(), r["entry_id"].as_i64()), (Some("contract"), k["id"].as_i64()), "{r}");
    assert_eq!((r["scope"].as_str(), r["contract_id"].as_i64()), (Some("default"), Some(contract)));
    assert_eq!(r["rounding"]["source"], "contract");
    assert_eq!(
        (r["rounding"]["actual_minutes"].as_u64(), r["rounding"]["billed_minutes"].as_u64()),
        (Some(50), Some(60))
    );
    let considered: Vec<&str> =
        r["candidates_considered"].as_array().unwrap().iter().map(|c| c["level"].as_str().unwrap()).collect();
    assert_eq!(considered, vec!["contract", "project", "customer", "user_default", "catalog_default"]);
    assert_eq!(r["candidates_considered"][0]["won"], true);
    assert_eq!(r["candidates_considered"][1]["won"], false);

    let res =
        app.patch(&format!("/api/v1/bookings/{b}"), &app.admin_token, &json!({"rate_override": "120.00"}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let r = resolve(&app, b).await;
    assert_eq!((r["level"].as_str(), r["unit_price"].as_str()), (Some("override"), Some("120.00")), "{r}");
    assert_eq!((r["owner_type"].as_str(), r["owner_id"].as_i64()), (Some("booking"), Some(b)));
}

#[tokio::test]
async fn within_a_level_service_and_user_beats_service_beats_user_beats_the_card_default() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", None).await;
    let customer = customer_id(&app).await;
    let proj = project(&app, json!({"name": "Support", "customer_id": customer})).await["id"].as_i64().unwrap();
    let user = technician(&app, None).await;
    let b = booking(
        &app,
        json!({"user_id": user, "work_date": "2026-05-04", "duration_minutes": 60, "service_id": remote,
                                  "project_id": proj, "description": "Work"}),
    )
    .await;
    let base = json!({"owner_type": "customer", "owner_id": customer, "valid_from": "2026-01-01"});
    let with = |extra: Value| {
        let mut v = base.clone();
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let steps = [
        (json!({"unit_price": "70"}), "default", "70"),
        (json!({"unit_price": "75", "user_id": user}), "user", "75"),
        (json!({"unit_price": "80", "service_id": remote}), "service", "80"),
        (json!({"unit_price": "85", "service_id": remote, "user_id": user}), "service_user", "85"),
    ];
    for (i, (body, scope, price)) in steps.into_iter().enumerate() {
        let e = rate(&app, with(body)).await;
        let r = resolve(&app, b).await;
        assert_eq!((r["level"].as_str(), r["scope"].as_str()), (Some("customer"), Some(scope)), "{r}");
        assert_eq!((r["entry_id"].as_i64(), r["unit_price"].as_str()), (e["id"].as_i64(), Some(price)));
        assert_eq!(r["candidates_considered"].as_array().unwrap().len(), i + 1);
    }
}

#[tokio::test]
async fn a_rate_changed_on_the_15th_resolves_by_the_bookings_work_date() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", None).await;
    let customer = customer_id(&app).await;
    let proj = project(&app, json!({"name": "P", "customer_id": customer})).await["id"].as_i64().unwrap();
    let a = rate(
        &app,
        json!({"owner_type": "customer", "owner_id": customer, "service_id": remote, "unit_price": "90.00",
                              "valid_from": "2026-01-01", "valid_to": "2026-03-15"}),
    )
    .await;
    let b = rate(
        &app,
        json!({"owner_type": "customer", "owner_id": customer, "service_id": remote, "unit_price": "100.00",
                              "valid_from": "2026-03-15"}),
    )
    .await;
    for (date, entry, price) in [("2026-03-14", &a, "90.00"), ("2026-03-15", &b, "100.00")] {
        let id = booking(&app, json!({"work_date": date, "duration_minutes": 30, "service_id": remote, "project_id": proj, "description": "x"})).await;
        let r = resolve(&app, id).await;
        assert_eq!(
            (r["entry_id"].as_i64(), r["unit_price"].as_str()),
            (entry["id"].as_i64(), Some(price)),
            "{date}: {r}"
        );
        assert_eq!(r["work_date"], date);
        let listed: Value = app
            .get(&format!("/api/v1/rates?owner_type=customer&owner_id={customer}&valid_on={date}"), &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        assert_eq!(listed["items"][0]["id"], entry["id"]);
    }
    // What would it cost, without a booking.
    let res = app
        .get(
            &format!("/api/v1/rates/resolve?customer_id={customer}&service_id={remote}&date=2026-03-14"),
            &app.admin_token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let r: Value = res.json().await.unwrap();
    assert_eq!((r["entry_id"].as_i64(), r["booking_id"].clone()), (a["id"].as_i64(), Value::Null));
}

#[tokio::test]
async fn overlapping_entries_of_the_same_owner_service_and_user_are_rejected_naming_the_other() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", None).await;
    let customer = customer_id(&app).await;
    let user = technician(&app, None).await;
    let body = |from: &str, to: Option<&str>, user: Option<i64>| {
        json!({"owner_type": "customer", "owner_id": customer, "service_id": remote, "user_id": user,
               "unit_price": "95.00", "valid_from": from, "valid_to": to})
    };
    let a = rate(&app, body("2026-01-01", None, None)).await;
    let p = problem(
        app.post("/api/v1/rates", &app.admin_token, &body("2026-06-01", None, None)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains(&format!("rate entry {}", a["id"])), "{p}");
    // Another user's price, or ending the first entry, makes room.
    rate(&app, body("2026-06-01", None, Some(user))).await;
    let res = app
        .patch(&format!("/api/v1/rates/{}", a["id"]), &app.admin_token, &json!({"valid_to": "2026-06-01"}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let b = rate(&app, body("2026-06-01", None, None)).await;
    // Moving A back over B is rejected too.
    let p = problem(
        app.patch(&format!("/api/v1/rates/{}", a["id"]), &app.admin_token, &json!({"valid_to": "2026-07-01"}), None)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains(&format!("rate entry {}", b["id"])), "{p}");
    assert_eq!(count(&app, "/api/v1/rates").await, 3);
    // Every change is audited: 3 creations and 1 update.
    assert_eq!(app.audit_count(Some("rate_entry")).await, 4);
    let res = app.delete(&format!("/api/v1/rates/{}", b["id"]), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.audit_count(Some("rate_entry")).await, 5);
}

#[tokio::test]
async fn weekend_and_holiday_work_gets_the_surcharge_shown_in_the_explanation() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", None).await;
    let customer = customer_id(&app).await;
    let proj = project(&app, json!({"name": "P", "customer_id": customer})).await["id"].as_i64().unwrap();
    rate(
        &app,
        json!({"owner_type": "customer", "owner_id": customer, "unit_price": "100.00", "valid_from": "2026-01-01"}),
    )
    .await;
    let weekend = app
        .post(
            "/api/v1/surcharges",
            &app.admin_token,
            &json!({"owner_type": "global", "kind": "weekend", "percent": "50", "valid_from": "2026-01-01"}),
        )
        .await;
    assert_eq!(weekend.status(), StatusCode::CREATED);
    let weekend: Value = weekend.json().await.unwrap();
    assert_eq!(weekend["owner_id"], Value::Null);
    let res = app
        .post(
            "/api/v1/surcharges",
            &app.admin_token,
            &json!({"owner_type": "global", "kind": "holiday", "percent": "100", "valid_from": "2026-01-01"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = put(&app, "/api/v1/holidays/2026-12-24", &app.admin_token, &json!({"name": "Christmas Eve"}), None).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let book = |date: &str| json!({"work_date": date, "start_time": "10:00", "end_time": "11:00", "service_id": remote, "project_id": proj, "description": "x"});
    let saturday = booking(&app, book("2026-11-21")).await;
    let r = resolve(&app, saturday).await;
    assert_eq!((r["base_unit_price"].as_str(), r["unit_price"].as_str()), (Some("100.00"), Some("150.00")), "{r}");
    assert_eq!(r["surcharge"]["kind"], "weekend");
    assert_eq!(r["surcharge"]["percent"], "50");
    assert_eq!(r["surcharge"]["surcharge_id"], weekend["id"]);

    let r = resolve(&app, booking(&app, book("2026-12-24")).await).await;
    assert_eq!((r["surcharge"]["kind"].as_str(), r["unit_price"].as_str()), (Some("holiday"), Some("200.00")), "{r}");

    let r = resolve(&app, booking(&app, book("2026-11-23")).await).await;
    assert_eq!((r["surcharge"].clone(), r["unit_price"].as_str()), (Value::Null, Some("100.00")), "a Monday: {r}");

    // A customer's own surcharge set replaces the company-wide one.
    let res = app
        .post("/api/v1/surcharges", &app.admin_token, &json!({"owner_type": "customer", "owner_id": customer, "kind": "outside_business_hours", "percent": "25", "valid_from": "2026-01-01"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let r = resolve(&app, saturday).await;
    assert_eq!((r["surcharge"].clone(), r["unit_price"].as_str()), (Value::Null, Some("100.00")), "{r}");
    let late = booking(&app, json!({"work_date": "2026-11-23", "start_time": "19:00", "end_time": "20:00", "service_id": remote, "project_id": proj, "description": "x"})).await;
    let r = resolve(&app, late).await;
    assert_eq!(
        (r["surcharge"]["kind"].as_str(), r["unit_price"].as_str()),
        (Some("outside_business_hours"), Some("125.00")),
        "{r}"
    );
}

#[tokio::test]
async fn the_rounding_rule_and_its_source_are_shown_customer_beats_global_beats_default() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", Some("80.00")).await;
    let customer = customer_id(&app).await;
    let proj = project(&app, json!({"name": "P", "customer_id": customer})).await["id"].as_i64().unwrap();
    let b = booking(&app, json!({"work_date": "2026-11-23", "duration_minutes": 7, "service_id": remote, "project_id": proj, "description": "Call"})).await;
    let rounding = |r: &Value| {
        let x = &r["rounding"];
        (
            x["source"].as_str().unwrap().to_string(),
            x["actual_minutes"].as_u64().unwrap(),
            x["billed_minutes"].as_u64().unwrap(),
        )
    };
    assert_eq!(rounding(&resolve(&app, b).await), ("default".into(), 7, 15));
    let p = problem(app.get("/api/v1/rounding-rules/global", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    assert!(p["detail"].as_str().unwrap_or_default().contains("default"), "{p}");

    let res = put(
        &app,
        "/api/v1/rounding-rules/global",
        &app.admin_token,
        &json!({"increment_minutes": 10, "minimum_minutes": 0, "mode": "up"}),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let tag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(rounding(&resolve(&app, b).await), ("global".into(), 7, 10));
    // Issue 11: every resource that takes If-Match can be read singly with its ETag.
    let res = app.get("/api/v1/rounding-rules/global", &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), tag);
    assert_eq!(res.json::<Value>().await.unwrap()["increment_minutes"], 10);

    let path = format!("/api/v1/rounding-rules/customers/{customer}");
    let res = put(
        &app,
        &path,
        &app.admin_token,
        &json!({"increment_minutes": 30, "minimum_minutes": 30, "mode": "nearest"}),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let r = resolve(&app, b).await;
    assert_eq!(rounding(&r), ("customer".into(), 7, 30));
    assert_eq!(
        (r["rounding"]["increment_minutes"].as_u64(), r["rounding"]["mode"].as_str()),
        (Some(30), Some("nearest"))
    );
    let res = put(
        &app,
        &path,
        &app.admin_token,
        &json!({"increment_minutes": 5, "minimum_minutes": 0, "mode": "down"}),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK, "a second PUT changes the rule");
    let put_tag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app.get(&path, &app.admin_token).await;
    assert_eq!(res.headers()["etag"].to_str().unwrap(), put_tag);
    assert_eq!(res.json::<Value>().await.unwrap()["mode"], "down");
    assert_eq!(rounding(&resolve(&app, b).await), ("customer".into(), 7, 5));
    assert_eq!(count(&app, "/api/v1/rounding-rules").await, 2);

    let res = app.delete(&path, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(rounding(&resolve(&app, b).await), ("global".into(), 7, 10));
    problem(app.delete(&path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    problem(app.get(&path, &app.admin_token).await, StatusCode::NOT_FOUND).await;

    // A stale If-Match on the global rule is 412.
    let res = put(
        &app,
        "/api/v1/rounding-rules/global",
        &app.admin_token,
        &json!({"increment_minutes": 15, "minimum_minutes": 15, "mode": "up"}),
        Some(&tag),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = put(
        &app,
        "/api/v1/rounding-rules/global",
        &app.admin_token,
        &json!({"increment_minutes": 1, "minimum_minutes": 0, "mode": "up"}),
        Some(&tag),
    )
    .await;
    problem(res, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(app.audit_count(Some("rounding_rule")).await, 5);
}

#[tokio::test]
async fn a_booking_without_any_rate_is_a_missing_rate_problem_never_zero() {
    let app = spawn_app().await;
    let remote = service(&app, "NOPRICE", "hour", None).await;
    let customer = customer_id(&app).await;
    let proj = project(&app, json!({"name": "P", "customer_id": customer})).await["id"].as_i64().unwrap();
    let user = technician(&app, None).await;
    let b = booking(&app, json!({"user_id": user, "work_date": "2026-11-23", "duration_minutes": 30, "service_id": remote, "project_id": proj, "description": "x"})).await;
    let p = problem(
        app.get(&format!("/api/v1/rates/resolve?booking_id={b}"), &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["type"], "urn:kontor:problem:missing-rate", "{p}");
    assert_eq!(p["errors"][0]["code"], "missing_rate");
    assert!(p["request_id"].is_string());
    // A rate that starts later does not help work done before it.
    rate(&app, json!({"owner_type": "customer", "owner_id": customer, "unit_price": "90", "valid_from": "2026-12-01"}))
        .await;
    let p = problem(
        app.get(&format!("/api/v1/rates/resolve?booking_id={b}"), &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["type"], "urn:kontor:problem:missing-rate");
}

#[tokio::test]
async fn invalid_rates_surcharges_rounding_rules_and_holidays_are_rejected_per_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", None).await;
    let customer = customer_id(&app).await;
    let internal = project(&app, json!({"name": "Intern", "internal": true})).await["id"].as_i64().unwrap();
    let base = |extra: Value| {
        let mut b = json!({"owner_type": "customer", "owner_id": customer, "service_id": remote, "unit_price": "95.00", "valid_from": "2026-01-01"});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (base(json!({"unit_price": "-1"})), "unit_price"),
        (base(json!({"unit_price": "1.23456"})), "unit_price"),
        (base(json!({"unit_price": 95.5})), "unit_price"),
        (base(json!({"unit_price": null})), "unit_price"),
        (base(json!({"valid_to": "2026-01-01"})), "valid_to"),
        (base(json!({"valid_from": "01.01.2026"})), "valid_from"),
        (base(json!({"owner_id": 999999})), "owner_id"),
        (base(json!({"owner_type": "project", "owner_id": internal})), "owner_id"),
        (base(json!({"owner_type": "team"})), "owner_type"),
        (base(json!({"service_id": 999999})), "service_id"),
        (base(json!({"user_id": 999999})), "user_id"),
        (base(json!({"currency": "CZK"})), "currency"),
        (base(json!({"currency": "EURO"})), "currency"),
        (base(json!({"price": "1"})), "price"),
    ];
    for (body, field) in cases {
        let p =
            problem(app.post("/api/v1/rates", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec![field], "for {body}: {p}");
    }
    let s = |extra: Value| {
        let mut b = json!({"owner_type": "global", "kind": "weekend", "percent": "50", "valid_from": "2026-01-01"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (s(json!({"percent": "0"})), "percent"),
        (s(json!({"percent": "500.01"})), "percent"),
        (s(json!({"owner_id": customer})), "owner_id"),
        (s(json!({"owner_type": "customer"})), "owner_id"),
        (s(json!({"owner_type": "customer", "owner_id": 999999})), "owner_id"),
        (s(json!({"kind": "night"})), "kind"),
        (s(json!({"valid_to": "2025-12-31"})), "valid_to"),
    ];
    for (body, field) in cases {
        let p =
            problem(app.post("/api/v1/surcharges", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY)
                .await;
        assert_eq!(error_fields(&p), vec![field], "for {body}: {p}");
    }
    let r =
        |inc: Value, min: Value, mode: &str| json!({"increment_minutes": inc, "minimum_minutes": min, "mode": mode});
    for (body, field) in [
        (r(json!(0), json!(0), "up"), "increment_minutes"),
        (r(json!(1441), json!(0), "up"), "increment_minutes"),
        (r(json!(15), json!(-1), "up"), "minimum_minutes"),
        (r(json!(15), json!(1441), "up"), "minimum_minutes"),
        (r(json!(15), json!(15), "sideways"), "mode"),
    ] {
        let p = problem(
            put(&app, "/api/v1/rounding-rules/global", &app.admin_token, &body, None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&p), vec![field], "for {body}: {p}");
    }
    let p = problem(
        put(&app, "/api/v1/holidays/24.12.2026", &app.admin_token, &json!({"name": "x"}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["date"]);
    let p = problem(
        put(&app, "/api/v1/holidays/2026-12-24", &app.admin_token, &json!({"name": ""}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["name"]);
    let p =
        problem(app.get("/api/v1/holidays?year=20000", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["year"]);
    let p = problem(
        app.get("/api/v1/rates/resolve?service_id=1", &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["customer_id", "date"]);

    assert_eq!(count(&app, "/api/v1/rates").await, 0);
    assert_eq!(count(&app, "/api/v1/surcharges").await, 0);
    assert_eq!(count(&app, "/api/v1/rounding-rules").await, 0);
    assert_eq!(count(&app, "/api/v1/holidays").await, 0);
    for entity in ["rate_entry", "surcharge", "rounding_rule", "holiday"] {
        assert_eq!(app.audit_count(Some(entity)).await, 0, "{entity}");
    }
}

#[tokio::test]
async fn unknown_records_are_404() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    for path in ["/api/v1/rates/999999", "/api/v1/surcharges/999999", "/api/v1/rates/resolve?booking_id=999999"] {
        problem(app.get(path, t).await, StatusCode::NOT_FOUND).await;
    }
    problem(app.patch("/api/v1/rates/999999", t, &json!({"unit_price": "1"}), None).await, StatusCode::NOT_FOUND).await;
    problem(app.patch("/api/v1/surcharges/999999", t, &json!({"percent": "10"}), None).await, StatusCode::NOT_FOUND)
        .await;
    problem(app.delete("/api/v1/rates/999999", t).await, StatusCode::NOT_FOUND).await;
    problem(app.delete("/api/v1/surcharges/999999", t).await, StatusCode::NOT_FOUND).await;
    problem(app.delete("/api/v1/holidays/2026-01-01", t).await, StatusCode::NOT_FOUND).await;
    let body = json!({"increment_minutes": 15, "minimum_minutes": 15, "mode": "up"});
    problem(put(&app, "/api/v1/rounding-rules/customers/999999", t, &body, None).await, StatusCode::NOT_FOUND).await;
    problem(app.delete("/api/v1/rounding-rules/customers/999999", t).await, StatusCode::NOT_FOUND).await;
    problem(
        app.get("/api/v1/rates/resolve?customer_id=999999&service_id=1&date=2026-01-01", t).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let customer = customer_id(&app).await;
    let e = rate(
        &app,
        json!({"owner_type": "customer", "owner_id": customer, "unit_price": "90.00", "valid_from": "2026-01-01"}),
    )
    .await;
    let path = format!("/api/v1/rates/{}", e["id"]);
    let res = app.get(&path, &app.admin_token).await;
    let tag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app.patch(&path, &app.admin_token, &json!({"unit_price": "95.00"}), Some(&tag)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let fresh = res.headers()["etag"].to_str().unwrap().to_string();
    problem(
        app.patch(&path, &app.admin_token, &json!({"unit_price": "99.00"}), Some(&tag)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let res = app
        .request(reqwest::Method::DELETE, &path, Some(&app.admin_token))
        .header("if-match", &tag)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::PRECONDITION_FAILED).await;
    let now: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(now["unit_price"], "95.00");
    let res = app
        .request(reqwest::Method::DELETE, &path, Some(&app.admin_token))
        .header("if-match", &fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let s: Value = app
        .post("/api/v1/surcharges", &app.admin_token, &json!({"owner_type": "customer", "owner_id": customer, "kind": "weekend", "percent": "50", "valid_from": "2026-01-01"}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/surcharges/{}", s["id"]);
    let stale = format!("\"surcharge-{}-v{}\"", s["id"], s["version"]);
    let res = app.patch(&path, &app.admin_token, &json!({"percent": "75"}), Some(&stale)).await;
    assert_eq!(res.status(), StatusCode::OK);
    problem(
        app.patch(&path, &app.admin_token, &json!({"percent": "80"}), Some(&stale)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let now: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(now["percent"], "75");
}

#[tokio::test]
async fn the_billing_office_writes_managers_read_and_agents_viewers_and_api_keys_are_refused() {
    let app = spawn_app().await;
    let customer = customer_id(&app).await;
    let (_, billing) = app.user_with_roles(&["billing"]).await;
    let (_, manager) = app.user_with_roles(&["manager"]).await;
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    let (_, viewer) = app.user_with_roles(&["viewer"]).await;
    let (_, key) = app.api_key(&EVERY_SCOPE).await;
    let body =
        json!({"owner_type": "customer", "owner_id": customer, "unit_price": "90.00", "valid_from": "2026-01-01"});
    let res = app.post("/api/v1/rates", &billing, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let holiday = json!({"name": "New Year"});
    assert_eq!(put(&app, "/api/v1/holidays/2026-01-01", &billing, &holiday, None).await.status(), StatusCode::CREATED);
    for path in ["/api/v1/rates", "/api/v1/surcharges", "/api/v1/rounding-rules", "/api/v1/holidays?year=2026"] {
        assert_eq!(app.get(path, &manager).await.status(), StatusCode::OK, "{path}");
        for token in [&agent, &viewer, &key] {
            problem(app.get(path, token).await, StatusCode::FORBIDDEN).await;
        }
    }
    let listed: Value = app.get("/api/v1/holidays?year=2026", &manager).await.json().await.unwrap();
    assert_eq!(listed["items"][0]["name"], "New Year");
    let body2 =
        json!({"owner_type": "customer", "owner_id": customer, "unit_price": "90.00", "valid_from": "2027-01-01"});
    for token in [&manager, &agent, &viewer, &key] {
        problem(app.post("/api/v1/rates", token, &body2).await, StatusCode::FORBIDDEN).await;
        problem(put(&app, "/api/v1/holidays/2026-01-02", token, &holiday, None).await, StatusCode::FORBIDDEN).await;
    }
    assert_eq!(count(&app, "/api/v1/rates").await, 1);
    let res = app.request(reqwest::Method::GET, "/api/v1/rates", None).send().await.unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn holidays_are_set_renamed_listed_by_year_and_removed() {
    let app = spawn_app().await;
    let t = &app.admin_token;
    assert_eq!(
        put(&app, "/api/v1/holidays/2026-12-25", t, &json!({"name": "Xmas"}), None).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        put(&app, "/api/v1/holidays/2027-01-01", t, &json!({"name": "New Year"}), None).await.status(),
        StatusCode::CREATED
    );
    let res = put(&app, "/api/v1/holidays/2026-12-25", t, &json!({"name": "Christmas Day"}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: Value = app.get("/api/v1/holidays?year=2026", t).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        (list["items"][0]["date"].as_str(), list["items"][0]["name"].as_str()),
        (Some("2026-12-25"), Some("Christmas Day"))
    );
    let page: Value = app.get("/api/v1/holidays?limit=1", t).await.json().await.unwrap();
    let next = page["next_cursor"].as_str().unwrap().to_string();
    let page2: Value = app.get(&format!("/api/v1/holidays?limit=1&cursor={next}"), t).await.json().await.unwrap();
    assert_eq!(page2["items"][0]["date"], "2027-01-01");
    assert_eq!(app.delete("/api/v1/holidays/2026-12-25", t).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(count(&app, "/api/v1/holidays?year=2026").await, 0);
    assert_eq!(app.audit_count(Some("holiday")).await, 4);
}

/// Runs one SQL statement on the test database (for what the API does not offer yet).
async fn exec_sql(app: &TestApp, sql: &str) {
    use sqlx::Connection;
    if app.db.is_postgres() {
        let mut conn = sqlx::PgConnection::connect(&app.database_url).await.expect("connect");
        sqlx::query(sql).execute(&mut conn).await.expect("sql");
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&app.database_url).await.expect("connect");
        sqlx::query(sql).execute(&mut conn).await.expect("sql");
    }
}

#[tokio::test]
async fn the_contract_a_ticket_names_is_used_and_work_outside_its_term_is_a_problem() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", Some("50.00")).await;
    let customer = customer_id(&app).await;
    let chosen = insert_contract(&app, customer, None).await;
    let named = insert_contract(&app, customer, Some((60, 60, "up"))).await;
    rate(
        &app,
        json!({"owner_type": "contract", "owner_id": chosen, "unit_price": "70.00", "valid_from": "2026-01-01"}),
    )
    .await;
    let k = rate(
        &app,
        json!({"owner_type": "contract", "owner_id": named, "unit_price": "65.00", "valid_from": "2026-01-01"}),
    )
    .await;
    let ticket = crate::tickets::create_ticket(&app, json!({"title": "Server", "customer_id": customer})).await;
    let tid = ticket["id"].as_i64().unwrap();
    let b = booking(&app, json!({"work_date": "2026-11-23", "duration_minutes": 20, "service_id": remote, "ticket_id": tid, "description": "x"})).await;
    let r = resolve(&app, b).await;
    assert_eq!(r["contract_id"].as_i64(), Some(chosen), "without a named contract the lowest active id wins: {r}");
    exec_sql(&app, &format!("UPDATE tickets SET contract_id = {named} WHERE id = {tid}")).await;
    let r = resolve(&app, b).await;
    assert_eq!((r["contract_id"].as_i64(), r["entry_id"].as_i64()), (Some(named), k["id"].as_i64()), "{r}");
    assert_eq!(
        (r["rounding"]["source"].as_str(), r["rounding"]["billed_minutes"].as_u64()),
        (Some("contract"), Some(60))
    );
    exec_sql(&app, &format!("UPDATE contracts SET end_date = '2026-06-30' WHERE id = {named}")).await;
    let p = problem(
        app.get(&format!("/api/v1/rates/resolve?booking_id={b}"), &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["type"], "urn:kontor:problem:outside-contract-period", "{p}");
}

#[tokio::test]
async fn a_price_in_another_currency_than_the_invoice_is_a_problem() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", Some("50.00")).await;
    let customer =
        app.create_customer(json!({"name": "Firma s.r.o.", "currency": "CZK"})).await["id"].as_i64().unwrap();
    let proj = project(&app, json!({"name": "P", "customer_id": customer})).await["id"].as_i64().unwrap();
    let b = booking(&app, json!({"work_date": "2026-11-23", "duration_minutes": 60, "service_id": remote, "project_id": proj, "description": "x"})).await;
    let p = problem(
        app.get(&format!("/api/v1/rates/resolve?booking_id={b}"), &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["type"], "urn:kontor:problem:currency-mismatch", "the catalog price is in EUR: {p}");
    let e = rate(
        &app,
        json!({"owner_type": "project", "owner_id": proj, "unit_price": "1500", "valid_from": "2026-01-01"}),
    )
    .await;
    assert_eq!(e["currency"], "CZK");
    let r = resolve(&app, b).await;
    assert_eq!((r["currency"].as_str(), r["unit_price"].as_str()), (Some("CZK"), Some("1500")));
}

#[tokio::test]
async fn concurrent_overlapping_entries_let_exactly_one_through() {
    let app = spawn_app().await;
    let customer = customer_id(&app).await;
    let body =
        json!({"owner_type": "customer", "owner_id": customer, "unit_price": "90.00", "valid_from": "2026-01-01"});
    let results =
        futures_util::future::join_all((0..6).map(|_| app.post("/api/v1/rates", &app.admin_token, &body))).await;
    let mut statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409]);
    assert_eq!(count(&app, "/api/v1/rates").await, 1);
}

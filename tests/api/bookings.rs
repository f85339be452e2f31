//! End-to-end tests: time bookings — durations, inheritance from tickets and projects,
//! billable rules, the own-booking rule, locking of billed bookings, lists, summaries,
//! custom fields and the project-estimate event.

use crate::helpers::*;
use crate::tickets::{create_ticket, customer_id};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Creates a catalog service and returns its id.
pub async fn service(app: &TestApp, code: &str, unit: &str, billable: bool) -> i64 {
    let kind = if unit == "hour" {
        "work"
    } else if unit == "km" {
        "travel"
    } else {
        "material"
    };
    let res = app
        .post(
            "/api/v1/services",
            &app.admin_token,
            &json!({"code": code, "name": format!("Service {code}"), "unit": unit, "kind": kind,
                    "default_price": "96.00", "vat_rate": "19", "billable_by_default": billable}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "create service: {}", res.text().await.unwrap_or_default());
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

/// Creates a project and returns it.
pub async fn project(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/projects", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create project: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

async fn book(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/api/v1/bookings", token, &body).await
}

async fn booked(app: &TestApp, token: &str, body: Value) -> Value {
    let res = book(app, token, body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "book: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

async fn count_bookings(app: &TestApp) -> usize {
    let page: Value = app.get("/api/v1/bookings?limit=200", &app.admin_token).await.json().await.unwrap();
    page["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_technician_books_time_on_a_ticket_and_inherits_customer_and_billable_default() {
    let app = spawn_app().await;
    let (agent, token) = app.user_with_roles(&["agent"]).await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    let ticket = create_ticket(&app, json!({"title": "Printer", "customer_id": customer})).await;
    let res = book(
        &app,
        &token,
        json!({"work_date": "2026-11-23", "duration_minutes": 45, "service_id": remote,
                                        "ticket_id": ticket["id"], "description": "Replaced toner"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/api/v1/bookings/"));
    let b: Value = res.json().await.unwrap();
    assert_eq!(b["user_id"], agent);
    assert_eq!(b["customer_id"], customer);
    assert_eq!(b["duration_minutes"], 45);
    assert_eq!(b["billable"], true);
    assert_eq!(b["state"], "open");
    assert_eq!(b["work_date"], "2026-11-23");
    // Continuous recording: a resolved ticket still takes bookings.
    for s in ["open", "in_progress", "resolved"] {
        app.post(&format!("/api/v1/tickets/{}/status", ticket["id"]), &app.admin_token, &json!({"status": s})).await;
    }
    booked(&app, &token, json!({"work_date": "2026-11-24", "duration_minutes": 15, "service_id": remote, "ticket_id": ticket["id"], "description": "Follow-up call"})).await;
}

#[tokio::test]
async fn start_and_end_times_give_the_duration_also_across_midnight() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let ticket =
        create_ticket(&app, json!({"title": "Night maintenance", "customer_id": customer_id(&app).await})).await;
    let b = booked(&app, &app.admin_token, json!({"work_date": "2026-11-20", "start_time": "22:00", "end_time": "01:30",
                                                  "service_id": remote, "ticket_id": ticket["id"], "description": "Server update"})).await;
    assert_eq!(b["duration_minutes"], 210);
    assert_eq!(b["start_time"], "22:00");
    assert_eq!(b["end_time"], "01:30");
    let b = booked(&app, &app.admin_token, json!({"work_date": "2026-11-21", "start_time": "09:15", "end_time": "11:00", "duration_minutes": 105,
                                                  "service_id": remote, "ticket_id": ticket["id"], "description": "Check"})).await;
    assert_eq!(b["duration_minutes"], 105);
}

#[tokio::test]
async fn bad_bookings_are_rejected_per_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let km = service(&app, "KM", "km", true).await;
    let ticket = create_ticket(&app, json!({"title": "t", "customer_id": customer_id(&app).await})).await;
    let t = ticket["id"].clone();
    let base = |extra: Value| {
        let mut b = json!({"work_date": "2026-11-23", "duration_minutes": 30, "service_id": remote, "ticket_id": t, "description": "Work"});
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
        (base(json!({"duration_minutes": -15})), "duration_minutes"),
        (base(json!({"duration_minutes": 0})), "duration_minutes"),
        (base(json!({"duration_minutes": 2000})), "duration_minutes"),
        (base(json!({"duration_minutes": null})), "duration_minutes"),
        (base(json!({"duration_minutes": 30, "start_time": "09:00", "end_time": "10:00"})), "duration_minutes"),
        (base(json!({"duration_minutes": null, "start_time": "09:00"})), "duration_minutes"),
        (base(json!({"start_time": "9 Uhr", "end_time": "10:00", "duration_minutes": null})), "start_time"),
        (base(json!({"duration_minutes": "30"})), "duration_minutes"),
        (base(json!({"work_date": "23.11.2026"})), "work_date"),
        (base(json!({"service_id": 99999})), "service_id"),
        (base(json!({"service_id": km})), "service_id"),
        (base(json!({"description": ""})), "description"),
        (base(json!({"ticket_id": null})), "ticket_id,project_id,task_id"),
        (base(json!({"ticket_id": 99999})), "ticket_id"),
        (base(json!({"task_id": 99999})), "task_id"),
        (base(json!({"user_id": 99999})), "user_id"),
        (base(json!({"rate_override": "-5"})), "rate_override"),
        (base(json!({"custom_fields": [1, 2]})), "custom_fields"),
        (base(json!({"minutes": 30})), "minutes"),
    ];
    for (body, field) in cases {
        let p = problem(book(&app, &app.admin_token, body.clone()).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), field.split(',').collect::<Vec<_>>(), "for {body}: {p}");
    }
    assert_eq!(count_bookings(&app).await, 0);
    assert_eq!(app.audit_count(Some("booking")).await, 0);
}

#[tokio::test]
async fn the_project_and_task_come_from_the_ticket_and_must_fit_together() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    let p = project(&app, json!({"name": "Migration", "customer_id": customer})).await;
    let task: Value = app
        .post(&format!("/api/v1/projects/{}/tasks", p["id"]), &app.admin_token, &json!({"name": "Mailboxes"}))
        .await
        .json()
        .await
        .unwrap();
    let ticket =
        create_ticket(&app, json!({"title": "Move mailboxes", "project_id": p["id"], "task_id": task["id"]})).await;
    assert_eq!(ticket["customer_id"], customer, "the ticket takes the project's customer");
    let b = booked(&app, &app.admin_token, json!({"work_date": "2026-11-23", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Mailbox batch 1"})).await;
    assert_eq!(b["project_id"], p["id"]);
    assert_eq!(b["task_id"], task["id"]);
    assert_eq!(b["customer_id"], customer);
    // A booking on the project alone (no ticket) is fine too.
    let direct = booked(&app, &app.admin_token, json!({"work_date": "2026-11-23", "duration_minutes": 30, "service_id": remote, "task_id": task["id"], "description": "Planning"})).await;
    assert_eq!(direct["project_id"], p["id"]);
    // The ticket's project and another project conflict.
    let other = project(&app, json!({"name": "Other", "customer_id": customer})).await;
    let p2 = problem(book(&app, &app.admin_token, json!({"work_date": "2026-11-23", "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "project_id": other["id"], "description": "x"})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p2), vec!["project_id"]);
    let effort: Value =
        app.get(&format!("/api/v1/projects/{}/effort", p["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(effort["actual_hours"], "1.50");
}

#[tokio::test]
async fn internal_project_time_is_never_billable() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let internal = project(&app, json!({"name": "Internal IT", "internal": true})).await;
    let b = booked(&app, &app.admin_token, json!({"work_date": "2026-11-23", "duration_minutes": 60, "service_id": remote, "project_id": internal["id"], "description": "Laptop setup"})).await;
    assert_eq!(b["billable"], false);
    assert!(b["customer_id"].is_null());
    let p = problem(book(&app, &app.admin_token, json!({"work_date": "2026-11-23", "duration_minutes": 60, "service_id": remote, "project_id": internal["id"], "billable": true, "description": "x"})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["billable"]);
    // A service that is not billable by default makes non-billable bookings elsewhere too.
    let internal_service = service(&app, "TRAINING", "hour", false).await;
    let ticket = create_ticket(&app, json!({"title": "t", "customer_id": customer_id(&app).await})).await;
    let b = booked(&app, &app.admin_token, json!({"work_date": "2026-11-23", "duration_minutes": 60, "service_id": internal_service, "ticket_id": ticket["id"], "description": "Training"})).await;
    assert_eq!(b["billable"], false);
}

#[tokio::test]
async fn agents_book_and_change_only_their_own_time() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let ticket = create_ticket(&app, json!({"title": "t", "customer_id": customer_id(&app).await})).await;
    let (anna, anna_token) = app.user_with_roles(&["agent"]).await;
    let (bert, bert_token) = app.user_with_roles(&["agent"]).await;
    let body = |user: i64| json!({"user_id": user, "work_date": "2026-11-23", "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "description": "Work"});
    let annas = booked(&app, &anna_token, body(anna)).await;
    problem(book(&app, &anna_token, body(bert)).await, StatusCode::FORBIDDEN).await;
    let path = format!("/api/v1/bookings/{}", annas["id"]);
    problem(app.patch(&path, &bert_token, &json!({"duration_minutes": 300}), None).await, StatusCode::FORBIDDEN).await;
    problem(app.delete(&path, &bert_token).await, StatusCode::FORBIDDEN).await;
    let own: Value = app.patch(&path, &anna_token, &json!({"duration_minutes": 40}), None).await.json().await.unwrap();
    assert_eq!(own["duration_minutes"], 40);
    problem(app.patch(&path, &anna_token, &json!({"user_id": bert}), None).await, StatusCode::FORBIDDEN).await;
    // Managers and the billing office correct anyone's bookings.
    let (_, manager) = app.user_with_roles(&["manager"]).await;
    assert_eq!(
        app.patch(&path, &manager, &json!({"description": "Corrected by the manager"}), None).await.status(),
        StatusCode::OK
    );
    booked(&app, &manager, body(bert)).await;
    // Viewers do not book at all.
    let (viewer, viewer_token) = app.user_with_roles(&["viewer"]).await;
    problem(book(&app, &viewer_token, body(viewer)).await, StatusCode::FORBIDDEN).await;
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["duration_minutes"], 40);
}

#[tokio::test]
async fn only_the_billing_office_sets_a_rate_override() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let ticket = create_ticket(&app, json!({"title": "t", "customer_id": customer_id(&app).await})).await;
    let body = json!({"work_date": "2026-11-23", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Special price", "rate_override": "110.00"});
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    problem(book(&app, &agent, body.clone()).await, StatusCode::FORBIDDEN).await;
    let (_, billing) = app.user_with_roles(&["billing"]).await;
    let b = booked(&app, &billing, body).await;
    assert_eq!(b["rate_override"], "110.00");
    // The technician may still fix the text of a booking that carries an override.
    let (agent_id, agent_token) = app.user_with_roles(&["agent"]).await;
    let own = booked(&app, &billing, json!({"user_id": agent_id, "work_date": "2026-11-23", "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "description": "x", "rate_override": "80.00"})).await;
    let path = format!("/api/v1/bookings/{}", own["id"]);
    assert_eq!(
        app.patch(&path, &agent_token, &json!({"description": "Better text"}), None).await.status(),
        StatusCode::OK
    );
    problem(app.patch(&path, &agent_token, &json!({"rate_override": null}), None).await, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn a_billed_booking_is_locked_but_new_work_is_still_recorded() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let ticket = create_ticket(&app, json!({"title": "t", "customer_id": customer_id(&app).await})).await;
    let b = booked(&app, &app.admin_token, json!({"work_date": "2026-11-23", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Billed work"})).await;
    app.store().await.set_booking_state(b["id"].as_i64().unwrap(), "billed").await.unwrap();
    let path = format!("/api/v1/bookings/{}", b["id"]);
    let p =
        problem(app.patch(&path, &app.admin_token, &json!({"duration_minutes": 30}), None).await, StatusCode::CONFLICT)
            .await;
    assert!(p["detail"].as_str().unwrap().contains("billed"));
    problem(app.delete(&path, &app.admin_token).await, StatusCode::CONFLICT).await;
    let still: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(still["duration_minutes"], 60);
    assert_eq!(still["state"], "billed");
    booked(&app, &app.admin_token, json!({"work_date": "2026-11-24", "duration_minutes": 20, "service_id": remote, "ticket_id": ticket["id"], "description": "More work"})).await;
    let open: Value = app
        .get(&format!("/api/v1/bookings?ticket_id={}&state=open", ticket["id"]), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(open["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn open_bookings_can_be_changed_with_if_match_and_deleted() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let ticket = create_ticket(&app, json!({"title": "t", "customer_id": customer_id(&app).await})).await;
    let b = booked(&app, &app.admin_token, json!({"work_date": "2026-11-23", "start_time": "08:00", "end_time": "09:00", "service_id": remote, "ticket_id": ticket["id"], "description": "x"})).await;
    let path = format!("/api/v1/bookings/{}", b["id"]);
    let v1 = app.get(&path, &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();
    let changed: Value =
        app.patch(&path, &app.admin_token, &json!({"end_time": "09:30"}), Some(&v1)).await.json().await.unwrap();
    assert_eq!(changed["duration_minutes"], 90, "new times recompute the duration");
    problem(
        app.patch(&path, &app.admin_token, &json!({"description": "late"}), Some(&v1)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let plain: Value = app
        .patch(&path, &app.admin_token, &json!({"start_time": null, "end_time": null, "duration_minutes": 50}), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plain["duration_minutes"], 50);
    assert!(plain["start_time"].is_null());
    assert_eq!(app.delete(&path, &app.admin_token).await.status(), StatusCode::NO_CONTENT);
    problem(app.get(&path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn bookings_are_listed_with_filters_and_summarised_per_group() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let onsite = service(&app, "ONSITE", "hour", true).await;
    let (anna, anna_token) = app.user_with_roles(&["agent"]).await;
    let (bert, bert_token) = app.user_with_roles(&["agent"]).await;
    let c1 = customer_id(&app).await;
    let c2 = customer_id(&app).await;
    let t1 = create_ticket(&app, json!({"title": "t1", "customer_id": c1})).await;
    let t2 = create_ticket(&app, json!({"title": "t2", "customer_id": c2})).await;
    let internal = project(&app, json!({"name": "Internal", "internal": true})).await;
    let entries = [
        (&anna_token, "2026-11-02", 30, remote, Some(&t1), None),
        (&anna_token, "2026-11-03", 60, onsite, Some(&t1), None),
        (&bert_token, "2026-11-03", 45, remote, Some(&t2), None),
        (&bert_token, "2026-11-10", 15, remote, None, Some(&internal)),
        (&anna_token, "2026-12-01", 120, onsite, Some(&t2), None),
    ];
    for (token, date, minutes, svc, ticket, proj) in entries {
        let mut body = json!({"work_date": date, "duration_minutes": minutes, "service_id": svc, "description": "w"});
        if let Some(t) = ticket {
            body["ticket_id"] = t["id"].clone();
        }
        if let Some(p) = proj {
            body["project_id"] = p["id"].clone();
        }
        booked(&app, token, body).await;
    }
    let count = |q: &str| {
        let app = &app;
        let q = q.to_string();
        async move {
            let v: Value = app.get(&format!("/api/v1/bookings?{q}"), &app.admin_token).await.json().await.unwrap();
            v["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("").await, 5);
    assert_eq!(count(&format!("user_id={anna}")).await, 3);
    assert_eq!(count(&format!("customer_id={c1}")).await, 2);
    assert_eq!(count(&format!("ticket_id={}", t2["id"])).await, 2);
    assert_eq!(count(&format!("project_id={}", internal["id"])).await, 1);
    assert_eq!(count("from=2026-11-03&to=2026-11-30").await, 3);
    assert_eq!(count("billable=false").await, 1);
    assert_eq!(count(&format!("service_id={onsite}")).await, 2);
    // Newest work date first, paginated without gaps.
    let first: Value = app.get("/api/v1/bookings?limit=2", &app.admin_token).await.json().await.unwrap();
    assert_eq!(first["items"][0]["work_date"], "2026-12-01");
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest: Value =
        app.get(&format!("/api/v1/bookings?limit=10&cursor={cursor}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    problem(app.get("/api/v1/bookings?state=paid", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await;

    let by_user: Value = app
        .get("/api/v1/bookings/summary?group_by=user&from=2026-11-01&to=2026-11-30", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_user["total_minutes"], 150);
    assert_eq!(by_user["total_billable_minutes"], 135);
    let row = |v: &Value, key: i64| v["rows"].as_array().unwrap().iter().find(|r| r["key"] == key).cloned().unwrap();
    assert_eq!(row(&by_user, anna)["minutes"], 90);
    assert_eq!(row(&by_user, bert)["minutes"], 60);
    assert_eq!(row(&by_user, bert)["billable_minutes"], 45);
    let by_customer: Value =
        app.get("/api/v1/bookings/summary?group_by=customer", &app.admin_token).await.json().await.unwrap();
    assert_eq!(row(&by_customer, c2)["minutes"], 165);
    let by_service: Value =
        app.get("/api/v1/bookings/summary?group_by=service", &app.admin_token).await.json().await.unwrap();
    assert_eq!(row(&by_service, onsite)["minutes"], 180);
    assert_eq!(row(&by_service, onsite)["label"], "ONSITE");
    let by_project: Value =
        app.get("/api/v1/bookings/summary?group_by=project", &app.admin_token).await.json().await.unwrap();
    assert_eq!(row(&by_project, internal["id"].as_i64().unwrap())["minutes"], 15);
    problem(
        app.get("/api/v1/bookings/summary?group_by=ticket", &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(app.get("/api/v1/bookings/summary", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(
        app.get("/api/v1/bookings/summary?group_by=user&from=2026-12-01&to=2026-11-01", &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn crossing_the_project_estimate_records_one_event_for_the_account_manager() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let (am, _) = app.user_with_roles(&["manager"]).await;
    let p = project(&app, json!({"name": "Fixed scope", "customer_id": customer_id(&app).await, "estimate_hours": "1", "account_manager_id": am})).await;
    let body = |minutes: i64| json!({"work_date": "2026-11-23", "duration_minutes": minutes, "service_id": remote, "project_id": p["id"], "description": "w"});
    let events = || {
        let app = &app;
        async move {
            let v: Value =
                app.get("/api/v1/events?type=project.estimate_exceeded", &app.admin_token).await.json().await.unwrap();
            v["items"].as_array().unwrap().clone()
        }
    };
    booked(&app, &app.admin_token, body(45)).await;
    assert!(events().await.is_empty(), "45 of 60 minutes: not exceeded");
    booked(&app, &app.admin_token, body(15)).await;
    assert!(events().await.is_empty(), "exactly the estimate is not exceeded");
    booked(&app, &app.admin_token, body(30)).await;
    let e = events().await;
    assert_eq!(e.len(), 1);
    let payload: Value = match &e[0]["payload"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    };
    // The project as `GET /projects/{id}` shows it, with the figures under `estimate`.
    assert_eq!((payload["id"].clone(), payload["name"].clone()), (p["id"].clone(), json!("Fixed scope")));
    assert!(payload["estimate_exceeded_at"].is_string());
    assert_eq!(payload["estimate"]["notify_user_id"], am);
    assert_eq!(payload["estimate"]["actual_hours"], "1.50");
    assert_eq!(payload["estimate"]["estimate_hours"], "1");
    booked(&app, &app.admin_token, body(30)).await;
    assert_eq!(events().await.len(), 1, "reported once, not on every booking");
    let effort: Value =
        app.get(&format!("/api/v1/projects/{}/effort", p["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(effort["exceeded"], true);
}

#[tokio::test]
async fn custom_field_values_are_validated_against_their_definitions() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let km_service = service(&app, "KM", "km", true).await;
    let res = app
        .post("/api/v1/custom-fields", &app.admin_token,
              &json!({"entity": "booking", "key": "km", "label": "Kilometres", "field_type": "number", "min": "0", "max": "1000", "billing_service_id": km_service}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let ticket = create_ticket(&app, json!({"title": "On-site", "customer_id": customer_id(&app).await})).await;
    let body = |fields: Value| json!({"work_date": "2026-11-23", "duration_minutes": 90, "service_id": remote, "ticket_id": ticket["id"], "description": "Visit", "custom_fields": fields});
    let b = booked(&app, &app.admin_token, body(json!({"km": 42}))).await;
    assert_eq!(b["custom_fields"]["km"], "42", "numbers are kept as exact decimal strings");
    let p =
        problem(book(&app, &app.admin_token, body(json!({"km": 5000}))).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["custom_fields.km"]);
    let p =
        problem(book(&app, &app.admin_token, body(json!({"kilometers": 5}))).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(error_fields(&p), vec!["custom_fields.kilometers"]);
    let p =
        problem(book(&app, &app.admin_token, body(json!({"km": "far"}))).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["custom_fields.km"]);
    assert_eq!(count_bookings(&app).await, 1);
}

#[tokio::test]
async fn a_helpdesk_key_books_for_a_named_technician_and_a_read_key_cannot_book() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let (tech, _) = app.user_with_roles(&["agent"]).await;
    let ticket = create_ticket(&app, json!({"title": "t", "customer_id": customer_id(&app).await})).await;
    let body = json!({"work_date": "2026-11-23", "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "description": "From the helpdesk"});
    let (_, writer) = app.api_key(&["bookings:write"]).await;
    let p = problem(book(&app, &writer, body.clone()).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["user_id"]);
    let mut named = body.clone();
    named["user_id"] = json!(tech);
    let b = booked(&app, &writer, named.clone()).await;
    assert_eq!(b["user_id"], tech);
    let mut with_override = named.clone();
    with_override["rate_override"] = json!("1.00");
    problem(book(&app, &writer, with_override).await, StatusCode::FORBIDDEN).await;
    let (_, reader) = app.api_key(&["bookings:read"]).await;
    assert_eq!(app.get("/api/v1/bookings", &reader).await.status(), StatusCode::OK);
    problem(book(&app, &reader, named).await, StatusCode::FORBIDDEN).await;
    let (_, tickets_only) = app.api_key(&["tickets:write"]).await;
    problem(app.get("/api/v1/bookings", &tickets_only).await, StatusCode::FORBIDDEN).await;
}

/// Issue 10, item 4: one rule for every date — `YYYY-MM-DD` in the years 1900–2999.
#[tokio::test]
async fn dates_outside_the_business_years_are_refused_everywhere() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    let ticket = create_ticket(&app, json!({"title": "Dates", "customer_id": customer})).await;
    for bad in ["-0001-01-01", "1899-12-31", "3000-01-01", "20260-01-01", "2026-13-01", "26-01-01"] {
        let res = book(
            &app,
            &app.admin_token,
            json!({"work_date": bad, "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "description": "x"}),
        )
        .await;
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec!["work_date"], "{bad}: {p}");
    }
    assert_eq!(count_bookings(&app).await, 0, "nothing stored");
    for good in ["1900-01-01", "2999-12-31"] {
        booked(
            &app,
            &app.admin_token,
            json!({"work_date": good, "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "description": "x"}),
        )
        .await;
    }
    // Rates, holidays and query parameters follow the same rule.
    let res = app
        .post("/api/v1/rates", &app.admin_token, &json!({"owner_type": "customer", "owner_id": customer, "service_id": remote, "unit_price": "90.00", "valid_from": "0001-01-01"}))
        .await;
    assert_eq!(error_fields(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), vec!["valid_from"]);
    let res = app
        .request(reqwest::Method::PUT, "/api/v1/holidays/0999-12-25", Some(&app.admin_token))
        .json(&json!({"name": "Too early"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_fields(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), vec!["date"]);
    let res = app.get("/api/v1/bookings?from=-0001-01-01", &app.admin_token).await;
    assert!(res.status().is_client_error(), "{}", res.status());
}

#[tokio::test]
async fn technicians_booking_at_the_same_moment_each_get_their_own_booking() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    let ticket = create_ticket(&app, json!({"title": "Outage", "customer_id": customer})).await;
    let mut technicians = Vec::new();
    for _ in 0..3 {
        technicians.push(app.user_with_roles(&["agent"]).await);
    }
    let audit_before = app.audit_count(Some("booking")).await;
    // 30 bookings sent at once: the server writes them in shared transactions.
    let calls = (0..30usize).map(|i| {
        let (user, token) = technicians[i % 3].clone();
        let (app, ticket) = (&app, &ticket);
        async move {
            let body = json!({"work_date": "2026-11-23", "duration_minutes": 10 + i, "service_id": remote,
                              "ticket_id": ticket["id"], "description": format!("Outage step {i}")});
            (i, user, book(app, &token, body).await)
        }
    });
    let mut ids = std::collections::BTreeSet::new();
    for (i, user, res) in futures_util::future::join_all(calls).await {
        assert_eq!(res.status(), StatusCode::CREATED, "booking {i}");
        let location = location_of(&res);
        let b: Value = res.json().await.unwrap();
        assert_eq!(b["user_id"], user, "booking {i} is its technician's");
        assert_eq!(b["description"], format!("Outage step {i}"));
        assert_eq!(b["duration_minutes"], 10 + i);
        assert_eq!(location, format!("/api/v1/bookings/{}", b["id"]));
        assert!(ids.insert(b["id"].as_i64().unwrap()), "id {} answered twice", b["id"]);
        let stored: Value = app.get(&location, &app.admin_token).await.json().await.unwrap();
        assert_eq!(stored["description"], b["description"], "booking {i} reads back as answered");
        assert_eq!(stored["created_by"], b["created_by"]);
    }
    assert_eq!(count_bookings(&app).await, 30);
    assert_eq!(app.audit_count(Some("booking")).await, audit_before + 30, "one audit entry per booking");
}

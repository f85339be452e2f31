//! End-to-end tests: `POST /api/v1/bookings/batch` — a day's time pushed at once, all or
//! nothing, with the single booking's rules, authorization and idempotent retries.

use crate::bookings::{project, service};
use crate::helpers::*;
use crate::tickets::{create_ticket, customer_id};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn push(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post("/api/v1/bookings/batch", token, body).await
}

async fn booking_count(app: &TestApp) -> usize {
    let page: Value = app.get("/api/v1/bookings?limit=200", &app.admin_token).await.json().await.unwrap();
    page["items"].as_array().unwrap().len()
}

/// A service, a customer with a ticket, and a project of a second customer.
struct Day {
    remote: i64,
    ticket_customer: i64,
    ticket: Value,
    project_customer: i64,
    project: Value,
}

async fn a_day(app: &TestApp) -> Day {
    let remote = service(app, "REMOTE", "hour", true).await;
    let ticket_customer = customer_id(app).await;
    let ticket = create_ticket(app, json!({"title": "Printer", "customer_id": ticket_customer})).await;
    let project_customer = customer_id(app).await;
    let project = project(app, json!({"name": "Rollout", "customer_id": project_customer})).await;
    Day { remote, ticket_customer, ticket, project_customer, project }
}

fn on_ticket(day: &Day, minutes: i64, text: &str) -> Value {
    json!({"work_date": "2026-11-23", "duration_minutes": minutes, "service_id": day.remote,
           "ticket_id": day.ticket["id"], "description": text})
}

fn on_project(day: &Day, start: &str, end: &str, text: &str) -> Value {
    json!({"work_date": "2026-11-23", "start_time": start, "end_time": end, "service_id": day.remote,
           "project_id": day.project["id"], "description": text})
}

#[tokio::test]
async fn a_helpdesk_pushes_a_day_of_time_and_every_booking_gets_its_customer() {
    let app = spawn_app().await;
    let day = a_day(&app).await;
    let (tech, _) = app.user_with_roles(&["agent"]).await;
    let (_, helpdesk) = app.api_key(&["bookings:write"]).await;
    let mut items = Vec::new();
    for i in 0..30 {
        let mut item = if i % 3 == 0 {
            on_project(&day, "08:00", "09:15", &format!("Rollout step {i}"))
        } else {
            on_ticket(&day, 10 + i, &format!("Ticket work {i}"))
        };
        item["user_id"] = json!(tech);
        items.push(item);
    }
    let audit_before = app.audit_count(Some("booking")).await;
    let res = push(&app, &helpdesk, &json!({"bookings": items})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["created"], 30);
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 30);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i);
        assert_eq!(r["version"], 1);
        assert_eq!(r["location"], format!("/api/v1/bookings/{}", r["id"]));
        let b: Value = app.get(r["location"].as_str().unwrap(), &app.admin_token).await.json().await.unwrap();
        assert_eq!(b["user_id"], tech);
        assert_eq!(b["state"], "open");
        assert_eq!(b["billable"], true);
        if i % 3 == 0 {
            assert_eq!(b["customer_id"], day.project_customer, "item {i} takes the project's customer");
            assert_eq!(b["project_id"], day.project["id"]);
            assert_eq!(b["duration_minutes"], 75);
            assert_eq!(b["description"], format!("Rollout step {i}"));
        } else {
            assert_eq!(b["customer_id"], day.ticket_customer, "item {i} takes the ticket's customer");
            assert_eq!(b["ticket_id"], day.ticket["id"]);
            assert_eq!(b["duration_minutes"], 10 + i as i64);
            assert_eq!(b["description"], format!("Ticket work {i}"));
        }
    }
    assert_eq!(booking_count(&app).await, 30);
    assert_eq!(app.audit_count(Some("booking")).await, audit_before + 30, "one audit entry per booking");
    // One `booking.created` event per booking, in the order of the batch, carrying the booking.
    let events: Value =
        app.get("/api/v1/events?type=booking.created&limit=100", &app.admin_token).await.json().await.unwrap();
    let events = events["items"].as_array().unwrap();
    assert_eq!(events.len(), 30);
    for (i, (e, r)) in events.iter().zip(results).enumerate() {
        assert_eq!(e["entity_id"], r["id"], "event {i} in batch order");
        assert_eq!(e["payload"]["id"], r["id"]);
        assert_eq!(e["payload"]["version"], 1);
        assert_eq!(e["payload"]["user_id"], tech);
    }
    let effort: Value = app
        .get(&format!("/api/v1/projects/{}/effort", day.project["id"]), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(effort["actual_hours"], "12.50", "10 project bookings of 75 minutes");
}

#[tokio::test]
async fn invalid_items_refuse_the_whole_batch_naming_each_by_index_and_field() {
    let app = spawn_app().await;
    let day = a_day(&app).await;
    let km = service(&app, "KM", "km", true).await;
    let mut items: Vec<Value> = (0..6).map(|i| on_ticket(&day, 30, &format!("ok {i}"))).collect();
    items[1]["service_id"] = json!(km);
    items[4]["ticket_id"] = json!(999_999);
    items[5]["description"] = json!("");
    let p = problem(push(&app, &app.admin_token, &json!({"bookings": items})).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(
        error_fields(&p),
        vec!["bookings[1].service_id", "bookings[4].ticket_id", "bookings[5].description"],
        "{p}"
    );
    assert_eq!(booking_count(&app).await, 0, "nothing of the batch is recorded");
    // A malformed item is named by its index too.
    let mut items: Vec<Value> = (0..3).map(|i| on_ticket(&day, 30, &format!("ok {i}"))).collect();
    items[2]["duration_minutes"] = json!("thirty");
    let p = problem(push(&app, &app.admin_token, &json!({"bookings": items})).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(error_fields(&p), vec!["bookings[2].duration_minutes"]);
    assert_eq!(booking_count(&app).await, 0);
}

#[tokio::test]
async fn a_batch_holds_one_to_a_thousand_bookings() {
    let app = spawn_app().await;
    let day = a_day(&app).await;
    let p =
        problem(push(&app, &app.admin_token, &json!({"bookings": []})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["bookings"]);
    let too_many: Vec<Value> = (0..1001).map(|i| on_ticket(&day, 15, &format!("item {i}"))).collect();
    let p =
        problem(push(&app, &app.admin_token, &json!({"bookings": too_many})).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(error_fields(&p), vec!["bookings"]);
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("1000"), "{p}");
    assert_eq!(booking_count(&app).await, 0);
    // Exactly the limit is fine.
    let full: Vec<Value> = (0..1000).map(|i| on_ticket(&day, 15, &format!("item {i}"))).collect();
    let res = push(&app, &app.admin_token, &json!({"bookings": full})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["created"], 1000);
    let ids: Vec<i64> = body["results"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids in request order");
    let last: Value = app.get(&format!("/api/v1/bookings/{}", ids[999]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(last["description"], "item 999", "result 999 is item 999");
}

#[tokio::test]
async fn a_retried_batch_with_its_idempotency_key_records_nothing_twice() {
    let app = spawn_app().await;
    let day = a_day(&app).await;
    let body = json!({"bookings": (0..5).map(|i| on_ticket(&day, 20, &format!("call {i}"))).collect::<Vec<_>>()});
    let send = || {
        app.request(reqwest::Method::POST, "/api/v1/bookings/batch", Some(&app.admin_token))
            .header("Idempotency-Key", "helpdesk-2026-11-23")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first, "the same ids are answered");
    assert_eq!(booking_count(&app).await, 5);
    // The same key with another batch is refused.
    let other = json!({"bookings": [on_ticket(&day, 99, "other")]});
    let res = app
        .request(reqwest::Method::POST, "/api/v1/bookings/batch", Some(&app.admin_token))
        .header("Idempotency-Key", "helpdesk-2026-11-23")
        .json(&other)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(booking_count(&app).await, 5);
}

#[tokio::test]
async fn only_writers_push_batches_and_agents_only_their_own_time() {
    let app = spawn_app().await;
    let day = a_day(&app).await;
    let (agent, agent_token) = app.user_with_roles(&["agent"]).await;
    let (colleague, _) = app.user_with_roles(&["agent"]).await;
    let (_, reader) = app.api_key(&["bookings:read"]).await;
    let mut item = on_ticket(&day, 30, "x");
    item["user_id"] = json!(agent);
    problem(push(&app, &reader, &json!({"bookings": [item.clone()]})).await, StatusCode::FORBIDDEN).await;
    // An agent's batch with one booking for a colleague is refused as a whole.
    let mut for_colleague = item.clone();
    for_colleague["user_id"] = json!(colleague);
    let p = problem(
        push(&app, &agent_token, &json!({"bookings": [item.clone(), for_colleague]})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("bookings[1]"), "{p}");
    // A rate override needs the billing role, in a batch as alone.
    let mut with_override = item.clone();
    with_override["rate_override"] = json!("1.00");
    problem(push(&app, &agent_token, &json!({"bookings": [with_override]})).await, StatusCode::FORBIDDEN).await;
    assert_eq!(booking_count(&app).await, 0);
    // A key with the write scope must name the user, like on the single endpoint.
    let (_, writer) = app.api_key(&["bookings:write"]).await;
    let p = problem(
        push(&app, &writer, &json!({"bookings": [on_ticket(&day, 30, "unnamed")]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["bookings[0].user_id"]);
    // The agent's own batch is fine, by default for himself.
    let res = push(&app, &agent_token, &json!({"bookings": [on_ticket(&day, 30, "mine"), item]})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let page: Value =
        app.get(&format!("/api/v1/bookings?user_id={agent}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
}

//! End-to-end tests: the project report — people, tasks with estimate vs. actual, the work
//! with the notes flagged `in_report`, and profitability (billed share of issued lines, open
//! work at today's rates, cost at internal rates, margin) — as JSON and printable HTML.

use crate::bookings::{project, service};
use crate::helpers::*;
use crate::tickets::create_ticket;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A project of a customer with a task (estimate 2 h) and a ticket; a technician with an
/// internal cost rate of 40.00 books 90 min in November (invoiced and issued) and 30 min in
/// December (open); a helper without a cost rate books 60 min not billable; 60 min of the
/// same customer outside the project are billed too. Services cost 96.00 an hour.
async fn fixture(app: &TestApp) -> (Value, Value) {
    let remote = service(app, "REMOTE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Weber <Bau> GmbH"})).await;
    let (manager, _) = app.user_with_roles(&["manager"]).await;
    let project = project(
        app,
        json!({"name": "Rollout <Phase 1>", "customer_id": customer["id"], "project_manager_id": manager, "estimate_hours": "2"}),
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/projects/{}/tasks", project["id"]),
            &app.admin_token,
            &json!({"name": "Imaging", "estimate_hours": "2"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let task: Value = res.json().await.unwrap();
    let (tech, tech_token) = app.user_with_roles(&["agent"]).await;
    let res = app
        .patch(&format!("/api/v1/users/{tech}"), &app.admin_token, &json!({"internal_cost_rate": "40.00"}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, helper_token) = app.user_with_roles(&["agent"]).await;
    let ticket = create_ticket(app, json!({"title": "Client 1", "project_id": project["id"]})).await;
    let other = create_ticket(app, json!({"title": "Elsewhere", "customer_id": customer["id"]})).await;
    let res = app
        .post(
            &format!("/api/v1/tickets/{}/notes", ticket["id"]),
            &app.admin_token,
            &json!({"body": "Client 1 handed over", "in_report": true, "visibility": "customer"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    for (token, body) in [
        (
            &tech_token,
            json!({"work_date": "2026-11-05", "duration_minutes": 90, "ticket_id": ticket["id"], "task_id": task["id"]}),
        ),
        (&tech_token, json!({"work_date": "2026-12-01", "duration_minutes": 30, "project_id": project["id"]})),
        (
            &helper_token,
            json!({"work_date": "2026-11-06", "duration_minutes": 60, "project_id": project["id"], "billable": false}),
        ),
        (&app.admin_token, json!({"work_date": "2026-11-06", "duration_minutes": 60, "ticket_id": other["id"]})),
    ] {
        let mut body = body;
        body["service_id"] = json!(remote);
        body["description"] = json!("Work");
        let res = app.post("/api/v1/bookings", token, &body).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    }
    let run = crate::invoices::commit(
        app,
        json!({"scope": "customer", "scope_id": customer["id"], "period_end": "2026-11-30"}),
    )
    .await;
    crate::invoices::issue(app, &run["invoice_ids"][0]).await;
    (project, customer)
}

async fn report(app: &TestApp, id: &Value, token: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/projects/{id}/report"), token).await
}

#[tokio::test]
async fn the_project_report_shows_the_work_and_what_the_project_earned_and_cost() {
    let app = spawn_app().await;
    let (project, customer) = fixture(&app).await;
    let res = report(&app, &project["id"], &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["name"], "Rollout <Phase 1>");
    assert_eq!(r["status"], "open");
    assert_eq!(r["customer"]["id"], customer["id"]);
    assert_eq!(r["project_manager"]["name"], "Test User");
    assert_eq!(r["account_manager"], Value::Null);
    assert_eq!(r["effort"]["actual_minutes"], 180);
    assert_eq!(r["effort"]["tasks"][0]["actual_minutes"], 90);
    assert_eq!(r["work"]["bookings"].as_array().unwrap().len(), 3, "the project's work only");
    assert_eq!(r["work"]["tickets"][0]["notes"][0]["text"], "Client 1 handed over");
    let p = &r["profitability"];
    assert_eq!(p["currency"], "EUR");
    assert_eq!(p["billed"], "144.00", "90 min at 96.00; the customer's other ticket is not the project's");
    assert_eq!(p["unbilled"], "48.00", "December's 30 min at today's rate");
    assert_eq!(p["cost"], "80.00", "120 min at 40.00; the helper has no cost rate");
    assert_eq!(p["uncosted_hours"], "1.00");
    assert_eq!(p["margin"], "112.00");
    assert_eq!(p["margin_percent"], "58.3");
}

#[tokio::test]
async fn the_project_report_prints_as_one_self_contained_page() {
    let app = spawn_app().await;
    let (project, _) = fixture(&app).await;
    let res = app
        .request(Method::GET, &format!("/api/v1/projects/{}/report", project["id"]), Some(&app.admin_token))
        .header("accept", "text/html")
        .header("accept-language", "en-GB")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let page = res.text().await.unwrap();
    assert!(page.contains("Project report: Rollout &lt;Phase 1&gt;"), "escaped");
    assert!(!page.contains("<Phase 1>"));
    for text in
        ["Profitability", "144.00", "112.00 (58.3 %)", "Imaging", "Client 1 handed over", "Weber &lt;Bau&gt; GmbH"]
    {
        assert!(page.contains(text), "{text} missing");
    }
    assert!(!page.contains("src=") && !page.contains("<script") && !page.contains("href="));
    let res = app
        .request(Method::GET, &format!("/api/v1/projects/{}/report", project["id"]), Some(&app.admin_token))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let page = res.text().await.unwrap();
    assert!(page.contains("Projektbericht") && page.contains("144,00"), "German by default");

    // Printed as PDF, in English when asked.
    let path = format!("/api/v1/projects/{}/report", project["id"]);
    let expected =
        ["Project report: Rollout <Phase 1>", "Profitability", "144.00", "112.00 (58.3 %)", "Imaging", "Page 1 of"];
    crate::reports::printed_pdf(&app, &path, Some("en-GB"), &expected).await;
}

#[tokio::test]
async fn an_internal_project_counts_its_time_as_cost_and_only_the_office_may_read_the_report() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let internal = project(&app, json!({"name": "Intranet", "internal": true})).await;
    let (office, office_token) = app.user_with_roles(&["manager"]).await;
    let res = app
        .patch(&format!("/api/v1/users/{office}"), &app.admin_token, &json!({"internal_cost_rate": "50.00"}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = json!({"work_date": "2026-11-05", "duration_minutes": 120, "service_id": remote, "project_id": internal["id"],
                      "description": "Wiki"});
    assert_eq!(app.post("/api/v1/bookings", &office_token, &body).await.status(), StatusCode::CREATED);
    let r: Value = report(&app, &internal["id"], &app.admin_token).await.json().await.unwrap();
    assert_eq!(r["customer"], Value::Null);
    let p = &r["profitability"];
    assert_eq!(
        (p["currency"].clone(), p["billed"].clone(), p["unbilled"].clone()),
        (Value::Null, json!("0.00"), json!("0.00"))
    );
    assert_eq!(p["cost"], "100.00");
    assert_eq!(p["margin"], "-100.00");
    assert_eq!(p["margin_percent"], Value::Null, "no revenue, no percentage");

    let (_, agent) = app.user_with_roles(&["agent"]).await;
    problem(report(&app, &internal["id"], &agent).await, StatusCode::FORBIDDEN).await;
    let (_, key) = app.api_key(&["invoices:read"]).await;
    problem(report(&app, &internal["id"], &key).await, StatusCode::FORBIDDEN).await;
    problem(report(&app, &json!(999999), &app.admin_token).await, StatusCode::NOT_FOUND).await;
}

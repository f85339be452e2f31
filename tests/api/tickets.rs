//! End-to-end tests: tickets and work orders — numbers, status machine, assignment,
//! appointments and the registers (notes, correspondence, documents, status changes).

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Creates a customer and returns its id.
pub async fn customer_id(app: &TestApp) -> i64 {
    app.create_customer(json!({"name": format!("Kunde {}", uuid::Uuid::new_v4().simple())})).await["id"]
        .as_i64()
        .unwrap()
}

/// Creates a ticket as admin; panics unless 201.
pub async fn create_ticket(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/tickets", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create ticket: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

async fn set_status(app: &TestApp, id: &Value, status: &str) -> reqwest::Response {
    app.post(&format!("/api/v1/tickets/{id}/status"), &app.admin_token, &json!({"status": status})).await
}

async fn timeline(app: &TestApp, id: &Value) -> Vec<Value> {
    let page: Value =
        app.get(&format!("/api/v1/tickets/{id}/timeline?limit=200"), &app.admin_token).await.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

fn year() -> i32 {
    time::OffsetDateTime::now_utc().year()
}

#[tokio::test]
async fn a_new_ticket_gets_the_next_number_of_the_year_and_starts_as_new() {
    let app = spawn_app().await;
    let customer = customer_id(&app).await;
    let res = app
        .post("/api/v1/tickets", &app.admin_token, &json!({"title": "Printer offline", "customer_id": customer}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["number"], format!("T-{}-000001", year()));
    assert_eq!(t["status"], "new");
    assert_eq!(t["allowed_transitions"], json!(["open"]));
    assert_eq!(t["priority"], "normal");
    assert_eq!(t["source"], "api");
    assert_eq!(t["ticket_type"], "ticket");
    assert_eq!(location, format!("/api/v1/tickets/{}", t["id"]));
    let second = create_ticket(&app, json!({"title": "Second", "customer_id": customer})).await;
    assert_eq!(second["number"], format!("T-{}-000002", year()));

    let entries = timeline(&app, &t["id"]).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["entry_type"], "status_change");
    assert_eq!(entries[0]["new_status"], "new");
    assert_eq!(entries[0]["author_name"], ADMIN_EMAIL);
}

#[tokio::test]
async fn ticket_numbers_stay_unique_and_increasing_under_concurrency() {
    let app = spawn_app_with(|c| c.workers = Some(2)).await;
    let customer = customer_id(&app).await;
    let bodies: Vec<Value> =
        (0..20).map(|i| json!({"title": format!("Parallel {i}"), "customer_id": customer})).collect();
    let responses =
        futures_util::future::join_all(bodies.iter().map(|b| app.post("/api/v1/tickets", &app.admin_token, b))).await;
    let mut by_id = Vec::new();
    for res in responses {
        assert_eq!(res.status(), StatusCode::CREATED);
        let t: Value = res.json().await.unwrap();
        by_id.push((t["id"].as_i64().unwrap(), t["number"].as_str().unwrap().to_string()));
    }
    by_id.sort();
    let numbers: Vec<&String> = by_id.iter().map(|(_, n)| n).collect();
    let unique: HashSet<&&String> = numbers.iter().collect();
    assert_eq!(unique.len(), 20);
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(numbers, sorted, "a later ticket never gets a smaller number");
    assert_eq!(*numbers[19], format!("T-{}-000020", year()));
}

#[tokio::test]
async fn invalid_tickets_are_rejected_per_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let customer = customer_id(&app).await;
    let other = customer_id(&app).await;
    let contact =
        app.post(&format!("/api/v1/customers/{other}/contacts"), &app.admin_token, &json!({"name": "Elsewhere"})).await;
    let contact: Value = contact.json().await.unwrap();
    let archived = customer_id(&app).await;
    app.delete(&format!("/api/v1/customers/{archived}"), &app.admin_token).await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"customer_id": customer}), vec!["title"]),
        (json!({"title": "", "customer_id": customer}), vec!["title"]),
        (json!({"title": "x"}), vec!["customer_id", "project_id"]),
        (json!({"title": "x", "customer_id": 99999}), vec!["customer_id"]),
        (json!({"title": "x", "customer_id": archived}), vec!["customer_id"]),
        (json!({"title": "x", "customer_id": customer, "contact_id": contact["id"]}), vec!["contact_id"]),
        (json!({"title": "x", "customer_id": customer, "assignee_user_id": 99999}), vec!["assignee_user_id"]),
        (json!({"title": "x", "customer_id": customer, "assignee_team_id": 99999}), vec!["assignee_team_id"]),
        (json!({"title": "x", "customer_id": customer, "project_id": 99999}), vec!["project_id"]),
        (json!({"title": "x", "customer_id": customer, "task_id": 99999}), vec!["task_id"]),
        (json!({"title": "x", "customer_id": customer, "contract_id": 99999}), vec!["contract_id"]),
        (json!({"title": "x", "customer_id": customer, "external_id": "17"}), vec!["external_id"]),
        (json!({"title": "x", "customer_id": customer, "external_url": "ftp://x"}), vec!["external_url"]),
        (json!({"title": "x", "customer_id": customer, "due_date": "31.12.2026"}), vec!["due_date"]),
        (json!({"title": "x", "customer_id": customer, "priority": "asap"}), vec!["priority"]),
        (json!({"title": "x", "customer_id": customer, "estimate_minutes": -5}), vec!["estimate_minutes"]),
        (json!({"title": "x", "customer_id": customer, "custom_fields": [1]}), vec!["custom_fields"]),
        (json!({"title": "x", "customer_id": customer, "status": "closed"}), vec!["status"]),
    ];
    for (body, fields) in cases {
        let p =
            problem(app.post("/api/v1/tickets", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), fields, "for {body}: {p}");
    }
    let list: Value = app.get("/api/v1/tickets", &app.admin_token).await.json().await.unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
    assert_eq!(app.audit_count(Some("ticket")).await, 0);
}

#[tokio::test]
async fn an_external_reference_belongs_to_one_ticket_only() {
    let app = spawn_app().await;
    let customer = customer_id(&app).await;
    let body = json!({"title": "From Zammad", "customer_id": customer, "source": "helpdesk",
                      "external_system": "zammad", "external_id": "4711", "external_url": "https://help.example/t/4711"});
    let t = create_ticket(&app, body.clone()).await;
    assert_eq!(t["external_id"], "4711");
    problem(app.post("/api/v1/tickets", &app.admin_token, &body).await, StatusCode::CONFLICT).await;
    // The same id in another system is another ticket.
    create_ticket(
        &app,
        json!({"title": "From OTRS", "customer_id": customer, "external_system": "otrs", "external_id": "4711"}),
    )
    .await;
    let found: Value = app
        .get("/api/v1/tickets?external_system=zammad&external_id=4711", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["id"], t["id"]);
}

#[tokio::test]
async fn a_ticket_moves_through_its_life_and_every_step_is_on_the_timeline() {
    let app = spawn_app().await;
    let t = create_ticket(&app, json!({"title": "Server slow", "customer_id": customer_id(&app).await})).await;
    for status in ["open", "in_progress", "waiting", "in_progress", "resolved"] {
        let res = set_status(&app, &t["id"], status).await;
        assert_eq!(res.status(), StatusCode::OK, "to {status}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], status);
    }
    let resolved: Value =
        app.get(&format!("/api/v1/tickets/{}", t["id"]), &app.admin_token).await.json().await.unwrap();
    assert!(resolved["resolved_at"].is_string());
    assert_eq!(resolved["allowed_transitions"], json!(["closed", "open"]));

    let closed: Value = set_status(&app, &t["id"], "closed").await.json().await.unwrap();
    assert!(closed["closed_at"].is_string());
    // Reopen.
    let reopened: Value = set_status(&app, &t["id"], "open").await.json().await.unwrap();
    assert_eq!(reopened["status"], "open");
    assert!(reopened["closed_at"].is_null() && reopened["resolved_at"].is_null());

    let changes: Vec<(String, String)> = timeline(&app, &t["id"])
        .await
        .iter()
        .filter(|e| e["entry_type"] == "status_change")
        .map(|e| (e["old_status"].as_str().unwrap_or("").to_string(), e["new_status"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(changes.len(), 8);
    assert_eq!(changes[1], ("new".to_string(), "open".to_string()));
    assert_eq!(changes[7], ("closed".to_string(), "open".to_string()));
    let events: Value = app.get("/api/v1/audit-log?entity_type=ticket", &app.admin_token).await.json().await.unwrap();
    assert_eq!(events["items"].as_array().unwrap().len(), 8, "create + 7 status changes");
}

#[tokio::test]
async fn a_forbidden_transition_is_409_with_the_allowed_ones_and_changes_nothing() {
    let app = spawn_app().await;
    let t = create_ticket(&app, json!({"title": "x", "customer_id": customer_id(&app).await})).await;
    let p = problem(set_status(&app, &t["id"], "resolved").await, StatusCode::CONFLICT).await;
    assert_eq!(p["type"], "urn:kontor:problem:invalid-transition");
    assert_eq!(p["allowed"], json!(["open"]));
    let p = problem(set_status(&app, &t["id"], "finished").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["status"]);
    let now: Value = app.get(&format!("/api/v1/tickets/{}", t["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(now["status"], "new");
    assert_eq!(now["version"], 1);
    assert_eq!(timeline(&app, &t["id"]).await.len(), 1);
    problem(set_status(&app, &json!(99999), "open").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn assignment_priority_and_due_date_change_with_optimistic_locking() {
    let app = spawn_app().await;
    let (agent_id, _) = app.user_with_roles(&["agent"]).await;
    let t = create_ticket(&app, json!({"title": "Laptop", "customer_id": customer_id(&app).await})).await;
    let path = format!("/api/v1/tickets/{}", t["id"]);
    let v1 = app.get(&path, &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();
    let res = app
        .patch(
            &path,
            &app.admin_token,
            &json!({"assignee_user_id": agent_id, "priority": "urgent", "due_date": "2026-12-24"}),
            Some(&v1),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["assignee_user_id"], agent_id);
    assert_eq!(u["priority"], "urgent");
    assert_eq!(u["due_date"], "2026-12-24");
    assert_eq!(u["status"], "new", "a patch never changes the status");
    problem(
        app.patch(&path, &app.admin_token, &json!({"priority": "low"}), Some(&v1)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let cleared: Value = app
        .patch(&path, &app.admin_token, &json!({"due_date": null, "assignee_user_id": null}), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(cleared["due_date"].is_null() && cleared["assignee_user_id"].is_null());
    assert_eq!(cleared["priority"], "urgent");
    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"assignee_user_id": 424242}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["assignee_user_id"]);
    problem(
        app.patch(&path, &app.admin_token, &json!({"status": "open"}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn tickets_are_found_by_status_assignee_customer_priority_and_text() {
    let app = spawn_app().await;
    let (agent_id, _) = app.user_with_roles(&["agent"]).await;
    let a = customer_id(&app).await;
    let b = customer_id(&app).await;
    let t1 = create_ticket(
        &app,
        json!({"title": "VPN broken", "customer_id": a, "assignee_user_id": agent_id, "priority": "high"}),
    )
    .await;
    let t2 = create_ticket(&app, json!({"title": "New mailbox", "customer_id": b, "description": "for the VPN admin"}))
        .await;
    let t3 = create_ticket(&app, json!({"title": "Backup check", "customer_id": a})).await;
    set_status(&app, &t3["id"], "open").await;
    let ids = |v: Value| v["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let get = |q: &str| {
        let app = &app;
        let q = q.to_string();
        async move { app.get(&format!("/api/v1/tickets?{q}"), &app.admin_token).await.json::<Value>().await.unwrap() }
    };
    let id = |t: &Value| t["id"].as_i64().unwrap();
    assert_eq!(ids(get("").await), vec![id(&t3), id(&t2), id(&t1)], "newest first");
    assert_eq!(ids(get("status=open").await), vec![id(&t3)]);
    assert_eq!(ids(get("status=new,open").await).len(), 3);
    assert_eq!(ids(get(&format!("assignee={agent_id}")).await), vec![id(&t1)]);
    assert_eq!(ids(get(&format!("customer_id={a}")).await), vec![id(&t3), id(&t1)]);
    assert_eq!(ids(get("priority=high").await), vec![id(&t1)]);
    assert_eq!(ids(get("q=vpn").await), vec![id(&t2), id(&t1)]);
    assert_eq!(ids(get(&format!("q={}", t1["number"].as_str().unwrap())).await), vec![id(&t1)]);
    let page1 = get("limit=2").await;
    let cursor = page1["next_cursor"].as_str().unwrap().to_string();
    let page2 = get(&format!("limit=2&cursor={cursor}")).await;
    assert_eq!([ids(page1), ids(page2)].concat(), vec![id(&t3), id(&t2), id(&t1)]);
    let p =
        problem(app.get("/api/v1/tickets?status=done", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["status"]);
}

#[tokio::test]
async fn notes_and_correspondence_are_appended_and_never_edited() {
    let app = spawn_app().await;
    let t = create_ticket(&app, json!({"title": "Mail", "customer_id": customer_id(&app).await})).await;
    let base = format!("/api/v1/tickets/{}", t["id"]);
    let res = app
        .post(&format!("{base}/notes"), &app.admin_token, &json!({"body": "Checked the cabling", "in_report": true}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let note: Value = res.json().await.unwrap();
    assert_eq!(note["visibility"], "internal");
    assert_eq!(note["in_report"], true);
    let fix = app
        .post(
            &format!("{base}/notes"),
            &app.admin_token,
            &json!({"body": "Correction: it was the switch", "corrects_id": note["id"], "visibility": "customer"}),
        )
        .await;
    assert_eq!(fix.status(), StatusCode::CREATED);
    let call = app
        .post(
            &format!("{base}/correspondence"),
            &app.admin_token,
            &json!({"channel": "phone", "from": "Petra Schmidt", "body": "Customer confirms it works"}),
        )
        .await;
    assert_eq!(call.status(), StatusCode::CREATED);
    let mail: Value = app
        .post(
            &format!("{base}/correspondence"),
            &app.admin_token,
            &json!({"channel": "email_out", "from": "support@kontor.example", "to": "petra@muster.de", "subject": "Your ticket", "body": "Solved."}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mail["channel"], "email_out");
    assert_eq!(mail["to"], "petra@muster.de");

    let p = problem(
        app.post(&format!("{base}/correspondence"), &app.admin_token, &json!({"channel": "email_in", "body": "x"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["from", "to"]);
    problem(
        app.post(&format!("{base}/notes"), &app.admin_token, &json!({"body": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // A correction must point at an entry of the same ticket.
    let other = create_ticket(&app, json!({"title": "Other", "customer_id": customer_id(&app).await})).await;
    let p = problem(
        app.post(
            &format!("/api/v1/tickets/{}/notes", other["id"]),
            &app.admin_token,
            &json!({"body": "x", "corrects_id": note["id"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["corrects_id"]);

    let entries = timeline(&app, &t["id"]).await;
    let types: Vec<&str> = entries.iter().map(|e| e["entry_type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["status_change", "note", "note", "correspondence", "correspondence"]);
    assert_eq!(entries[2]["corrects_id"], note["id"]);
    // The registers are append-only: there is no way to change or delete an entry.
    problem(
        app.request(Method::DELETE, &format!("{base}/notes"), Some(&app.admin_token)).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    problem(
        app.request(Method::PATCH, &format!("{base}/timeline"), Some(&app.admin_token)).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
}

fn upload(name: &str, content_type: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()).mime_str(content_type).unwrap();
    reqwest::multipart::Form::new()
        .part("file", part)
        .text("note", "Scan of the delivery note")
        .text("in_report", "true")
}

#[tokio::test]
async fn documents_are_uploaded_hashed_listed_on_the_timeline_and_downloaded_intact() {
    let app = spawn_app().await;
    let t = create_ticket(&app, json!({"title": "Delivery", "customer_id": customer_id(&app).await})).await;
    let content: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let res = app
        .request(Method::POST, &format!("/api/v1/tickets/{}/documents", t["id"]), Some(&app.admin_token))
        .multipart(upload("Lieferschein März.pdf", "application/pdf", content.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["file_name"], "Lieferschein März.pdf");
    assert_eq!(doc["content_type"], "application/pdf");
    assert_eq!(doc["size_bytes"], 70_000);
    let expected: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&content).iter().map(|b| format!("{b:02x}")).collect()
    };
    assert_eq!(doc["sha256"], expected);

    let entries = timeline(&app, &t["id"]).await;
    let entry = entries.iter().find(|e| e["entry_type"] == "document").unwrap();
    assert_eq!(entry["document_id"], doc["id"]);
    assert_eq!(entry["body"], "Scan of the delivery note");
    assert_eq!(entry["in_report"], true);

    let res = app.get(doc["download_url"].as_str().unwrap(), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("filename*=UTF-8''Lieferschein%20M%C3%A4rz.pdf"));
    assert_eq!(res.bytes().await.unwrap().to_vec(), content);
    problem(app.get("/api/v1/documents/99999", &app.admin_token).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn bad_uploads_are_rejected_and_store_nothing() {
    let app = spawn_app_with(|c| c.max_upload_bytes = 10_000).await;
    let t = create_ticket(&app, json!({"title": "Upload", "customer_id": customer_id(&app).await})).await;
    let path = format!("/api/v1/tickets/{}/documents", t["id"]);
    let too_big = app
        .request(Method::POST, &path, Some(&app.admin_token))
        .multipart(upload("big.bin", "application/octet-stream", vec![7; 20_000]))
        .send()
        .await
        .unwrap();
    problem(too_big, StatusCode::PAYLOAD_TOO_LARGE).await;
    let empty = app
        .request(Method::POST, &path, Some(&app.admin_token))
        .multipart(upload("empty.txt", "text/plain", vec![]))
        .send()
        .await
        .unwrap();
    problem(empty, StatusCode::UNPROCESSABLE_ENTITY).await;
    let no_file = reqwest::multipart::Form::new().text("note", "forgot the file");
    let p = problem(
        app.request(Method::POST, &path, Some(&app.admin_token)).multipart(no_file).send().await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["file"]);
    let json_body = app.post(&path, &app.admin_token, &json!({"file": "x"})).await;
    problem(json_body, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let unknown = app
        .request(Method::POST, "/api/v1/tickets/99999/documents", Some(&app.admin_token))
        .multipart(upload("a.txt", "text/plain", vec![1]))
        .send()
        .await
        .unwrap();
    problem(unknown, StatusCode::NOT_FOUND).await;
    assert_eq!(timeline(&app, &t["id"]).await.len(), 1, "only the creation entry");
}

#[tokio::test]
async fn appointments_are_scheduled_listed_and_cancelled() {
    let app = spawn_app().await;
    let (tech, _) = app.user_with_roles(&["agent"]).await;
    let t = create_ticket(&app, json!({"title": "On-site visit", "customer_id": customer_id(&app).await})).await;
    let base = format!("/api/v1/tickets/{}/appointments", t["id"]);
    let later = app
        .post(
            &base,
            &app.admin_token,
            &json!({"starts_at": "2026-12-02T13:00:00Z", "ends_at": "2026-12-02T15:00:00Z", "user_id": tech}),
        )
        .await;
    assert_eq!(later.status(), StatusCode::CREATED);
    let earlier: Value = app
        .post(&base, &app.admin_token, &json!({"starts_at": "2026-12-01T09:00:00+01:00", "ends_at": "2026-12-01T10:30:00+01:00", "location": "Berlin office"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(earlier["starts_at"], "2026-12-01T08:00:00Z");
    let list: Value = app.get(&base, &app.admin_token).await.json().await.unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], earlier["id"], "ordered by start");
    let p = problem(
        app.post(
            &base,
            &app.admin_token,
            &json!({"starts_at": "2026-12-02T15:00:00Z", "ends_at": "2026-12-02T14:00:00Z"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["ends_at"]);
    problem(
        app.post(&base, &app.admin_token, &json!({"starts_at": "tomorrow", "ends_at": "2026-12-02T14:00:00Z"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.post(
            &base,
            &app.admin_token,
            &json!({"starts_at": "2026-12-02T13:00:00Z", "ends_at": "2026-12-02T14:00:00Z", "user_id": 999}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        app.delete(&format!("{base}/{}", earlier["id"]), &app.admin_token).await.status(),
        StatusCode::NO_CONTENT
    );
    problem(app.delete(&format!("{base}/{}", earlier["id"]), &app.admin_token).await, StatusCode::NOT_FOUND).await;
    let list: Value = app.get(&base, &app.admin_token).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn viewers_read_tickets_and_helpdesk_keys_need_the_tickets_scope() {
    let app = spawn_app().await;
    let customer = customer_id(&app).await;
    let t = create_ticket(&app, json!({"title": "Visible", "customer_id": customer})).await;
    let (_, viewer) = app.user_with_roles(&["viewer"]).await;
    assert_eq!(app.get("/api/v1/tickets", &viewer).await.status(), StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/tickets/{}/timeline", t["id"]), &viewer).await.status(), StatusCode::OK);
    problem(
        app.post("/api/v1/tickets", &viewer, &json!({"title": "x", "customer_id": customer})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.post(&format!("/api/v1/tickets/{}/notes", t["id"]), &viewer, &json!({"body": "x"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.post(&format!("/api/v1/tickets/{}/status", t["id"]), &viewer, &json!({"status": "open"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let (_, agent) = app.user_with_roles(&["agent"]).await;
    assert_eq!(
        app.post("/api/v1/tickets", &agent, &json!({"title": "by agent", "customer_id": customer})).await.status(),
        StatusCode::CREATED
    );

    let (_, helpdesk) = app.api_key(&["tickets:write"]).await;
    let res = app
        .post("/api/v1/tickets", &helpdesk, &json!({"title": "pushed", "customer_id": customer, "source": "helpdesk"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let pushed: Value = res.json().await.unwrap();
    assert!(pushed["created_by"].as_str().unwrap().contains("Test client"));
    let (_, reader) = app.api_key(&["tickets:read"]).await;
    assert_eq!(app.get("/api/v1/tickets", &reader).await.status(), StatusCode::OK);
    problem(
        app.post("/api/v1/tickets", &reader, &json!({"title": "x", "customer_id": customer})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let (_, accounting) = app.api_key(&["invoices:read"]).await;
    problem(app.get("/api/v1/tickets", &accounting).await, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn tickets_on_projects_take_the_project_customer_and_reject_mismatches() {
    let app = spawn_app().await;
    let customer = customer_id(&app).await;
    let other = customer_id(&app).await;
    let project: Value = app
        .post("/api/v1/projects", &app.admin_token, &json!({"name": "Rollout", "customer_id": customer}))
        .await
        .json()
        .await
        .unwrap();
    let internal: Value = app
        .post("/api/v1/projects", &app.admin_token, &json!({"name": "Internal", "internal": true}))
        .await
        .json()
        .await
        .unwrap();
    let task: Value = app
        .post(&format!("/api/v1/projects/{}/tasks", project["id"]), &app.admin_token, &json!({"name": "Clients"}))
        .await
        .json()
        .await
        .unwrap();
    let other_task: Value = app
        .post(&format!("/api/v1/projects/{}/tasks", internal["id"]), &app.admin_token, &json!({"name": "Else"}))
        .await
        .json()
        .await
        .unwrap();

    let t = create_ticket(&app, json!({"title": "Client 1", "project_id": project["id"], "task_id": task["id"]})).await;
    assert_eq!(t["customer_id"], customer);
    assert_eq!(t["task_id"], task["id"]);
    let t = create_ticket(&app, json!({"title": "New laptop for staff", "project_id": internal["id"]})).await;
    assert!(t["customer_id"].is_null(), "internal work has no customer");

    let p = problem(
        app.post(
            "/api/v1/tickets",
            &app.admin_token,
            &json!({"title": "x", "project_id": project["id"], "customer_id": other}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["customer_id"]);
    let p = problem(
        app.post(
            "/api/v1/tickets",
            &app.admin_token,
            &json!({"title": "x", "project_id": project["id"], "task_id": other_task["id"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["task_id"]);
    let list: Value =
        app.get(&format!("/api/v1/tickets?project_id={}", project["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_ticket_assigned_to_a_team_is_found_by_the_team_filter() {
    let app = spawn_app().await;
    let team: Value =
        app.post("/api/v1/teams", &app.admin_token, &json!({"name": "Field service"})).await.json().await.unwrap();
    let customer = customer_id(&app).await;
    let mine =
        create_ticket(&app, json!({"title": "On-site", "customer_id": customer, "assignee_team_id": team["id"]})).await;
    create_ticket(&app, json!({"title": "Remote", "customer_id": customer})).await;
    assert_eq!(mine["assignee_team_id"], team["id"]);
    let found: Value =
        app.get(&format!("/api/v1/tickets?team={}", team["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["id"], mine["id"]);
    app.delete(&format!("/api/v1/teams/{}", team["id"]), &app.admin_token).await;
    let p = problem(
        app.post(
            "/api/v1/tickets",
            &app.admin_token,
            &json!({"title": "x", "customer_id": customer, "assignee_team_id": team["id"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["assignee_team_id"]);
}

#[tokio::test]
async fn ticket_custom_fields_are_checked_against_their_definitions() {
    let app = spawn_app().await;
    let res = app
        .post("/api/v1/custom-fields", &app.admin_token,
              &json!({"entity": "ticket", "key": "sla", "label": "SLA class", "field_type": "select", "options": ["gold", "silver"], "required": true}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let customer = customer_id(&app).await;
    let t =
        create_ticket(&app, json!({"title": "Gold", "customer_id": customer, "custom_fields": {"sla": "gold"}})).await;
    assert_eq!(t["custom_fields"]["sla"], "gold");
    let p = problem(
        app.post("/api/v1/tickets", &app.admin_token, &json!({"title": "x", "customer_id": customer})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["custom_fields.sla"]);
    let p = problem(
        app.post(
            "/api/v1/tickets",
            &app.admin_token,
            &json!({"title": "x", "customer_id": customer, "custom_fields": {"sla": "bronze"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["custom_fields.sla"]);
    let path = format!("/api/v1/tickets/{}", t["id"]);
    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"custom_fields": {"sla": "platinum"}}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["custom_fields.sla"]);
    let u: Value = app
        .patch(&path, &app.admin_token, &json!({"custom_fields": {"sla": "silver"}}), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["custom_fields"]["sla"], "silver");
    // Changing other fields keeps stored values as they are.
    let u: Value = app.patch(&path, &app.admin_token, &json!({"priority": "high"}), None).await.json().await.unwrap();
    assert_eq!(u["custom_fields"]["sla"], "silver");
}

#[tokio::test]
async fn a_ticket_names_a_contract_of_its_own_customer_only() {
    let app = spawn_app().await;
    let customer = customer_id(&app).await;
    let other = customer_id(&app).await;
    let contract = |c: i64, name: &str| json!({"customer_id": c, "name": name, "kind": "time_and_material", "start_date": "2026-01-01"});
    let own: Value =
        app.post("/api/v1/contracts", &app.admin_token, &contract(customer, "Support")).await.json().await.unwrap();
    let foreign: Value =
        app.post("/api/v1/contracts", &app.admin_token, &contract(other, "Elsewhere")).await.json().await.unwrap();
    let t = create_ticket(&app, json!({"title": "Under contract", "customer_id": customer, "contract_id": own["id"]}))
        .await;
    assert_eq!(t["contract_id"], own["id"]);
    let p = problem(
        app.post(
            "/api/v1/tickets",
            &app.admin_token,
            &json!({"title": "x", "customer_id": customer, "contract_id": foreign["id"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["contract_id"]);
    let path = format!("/api/v1/tickets/{}", t["id"]);
    problem(
        app.patch(&path, &app.admin_token, &json!({"contract_id": foreign["id"]}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let cleared: Value =
        app.patch(&path, &app.admin_token, &json!({"contract_id": null}), None).await.json().await.unwrap();
    assert!(cleared["contract_id"].is_null());
    app.delete(&format!("/api/v1/contracts/{}", own["id"]), &app.admin_token).await;
    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"contract_id": own["id"]}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "archived");
}

#[tokio::test]
async fn a_retried_upload_with_an_idempotency_key_stores_the_document_once() {
    let app = spawn_app().await;
    let t = create_ticket(&app, json!({"title": "Scan", "customer_id": customer_id(&app).await})).await;
    let path = format!("/api/v1/tickets/{}/documents", t["id"]);
    // Larger than the JSON body limit (1 MiB), well within the upload limit.
    let content: Vec<u8> = (0..1_500_000u32).map(|i| (i % 253) as u8).collect();
    // A retry resends the same bytes, so the body is built once with a fixed boundary.
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan.pdf\"\r\nContent-Type: application/pdf\r\n\r\n".to_vec();
    body.extend_from_slice(&content);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let send = || {
        app.request(Method::POST, &path, Some(&app.admin_token))
            .header("idempotency-key", "scan-upload-1")
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(body.clone())
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let retry = send().await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(first["size_bytes"], 1_500_000);
    let documents = timeline(&app, &t["id"]).await.iter().filter(|e| e["entry_type"] == "document").count();
    assert_eq!(documents, 1);
    // JSON bodies keep their own, smaller limit, also with an idempotency key.
    let big_note = json!({"body": "x".repeat(1_100_000)});
    let res = app
        .request(Method::POST, &format!("/api/v1/tickets/{}/notes", t["id"]), Some(&app.admin_token))
        .header("idempotency-key", "big-note")
        .json(&big_note)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
}

//! End-to-end tests: the helpdesk push integration — idempotent ticket and time-entry upserts
//! by the helpdesk's ids (also under concurrency), customer matching, locked bookings, and
//! Zammad's signed webhook with a payload shaped like Zammad's.

use crate::bookings::service;
use crate::helpers::*;
use hmac::{Hmac, Mac};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

/// The Zammad webhook secret of the tests.
const ZAMMAD_SECRET: &str = "zammad-test-secret-0123456789";

async fn put(app: &TestApp, path: &str, key: &str, body: &Value) -> Response {
    app.request(Method::PUT, path, Some(key)).json(body).send().await.expect("request")
}

async fn ok_json(res: Response, status: StatusCode) -> Value {
    let got = res.status();
    let text = res.text().await.unwrap_or_default();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).expect("json")
}

/// A customer whose helpdesk reference is `org` and who has a contact at `domain`.
async fn helpdesk_customer(app: &TestApp, org: Option<&str>, domain: &str) -> i64 {
    let c = app
        .create_customer(json!({"name": format!("Kunde {domain}"), "helpdesk_ref": org,
                                "contacts": [{"name": "IT", "email": format!("it@{domain}")}]}))
        .await;
    c["id"].as_i64().unwrap()
}

async fn tickets_of(app: &TestApp, system: &str, external_id: &str) -> Vec<Value> {
    let page: Value = app
        .get(&format!("/api/v1/tickets?external_system={system}&external_id={external_id}"), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

/// An agent (technician) with this e-mail; returns the user id.
async fn agent(app: &TestApp, email: &str) -> i64 {
    let res = app
        .post(
            "/api/v1/users",
            &app.admin_token,
            &json!({"email": email, "name": "Emma Taylor", "password": USER_PASSWORD, "roles": ["agent"]}),
        )
        .await;
    ok_json(res, StatusCode::CREATED).await["id"].as_i64().unwrap()
}

#[tokio::test]
async fn pushing_the_same_ticket_twice_creates_one_ticket() {
    let app = spawn_app().await;
    let customer = helpdesk_customer(&app, Some("org-42"), "mueller-bau.de").await;
    let (_, key) = app.api_key(&["tickets:write", "tickets:read"]).await;
    let body = json!({"title": "Printer offline", "description": "2nd floor", "status": "open", "priority": "high",
                      "customer_ref": "org-42", "contact": {"email": "Anna@mueller-bau.de", "name": "Anna"},
                      "external_url": "https://helpdesk.example/t/81"});

    let res = put(&app, "/api/v1/integrations/freshdesk/tickets/81", &key, &body).await;
    let location = location_of(&res);
    let first = ok_json(res, StatusCode::CREATED).await;
    assert_eq!(first["result"], "created");
    assert_eq!(first["customer_match"], "helpdesk_ref");
    let t = &first["ticket"];
    assert_eq!(location, format!("/api/v1/tickets/{}", t["id"]));
    assert_eq!(t["customer_id"], customer);
    assert_eq!(t["status"], "open");
    assert_eq!(t["priority"], "high");
    assert_eq!(t["source"], "helpdesk");
    assert_eq!(t["external_system"], "freshdesk");
    assert_eq!(t["external_id"], "81");
    // The requester became a contact of the customer.
    let contacts: Value =
        app.get(&format!("/api/v1/customers/{customer}"), &app.admin_token).await.json().await.unwrap();
    let anna = contacts["contacts"].as_array().unwrap().iter().find(|c| c["name"] == "Anna").cloned().unwrap();
    assert_eq!(t["contact_id"], anna["id"]);

    let again =
        ok_json(put(&app, "/api/v1/integrations/freshdesk/tickets/81", &key, &body).await, StatusCode::OK).await;
    assert_eq!(again["result"], "unchanged");
    assert_eq!(again["ticket"]["id"], t["id"]);
    assert_eq!(again["ticket"]["version"], t["version"], "nothing was written");
    assert_eq!(tickets_of(&app, "freshdesk", "81").await.len(), 1);

    // A change of title and status is an update, recorded on the timeline.
    let changed = json!({"title": "Printer offline again", "status": "resolved"});
    let updated =
        ok_json(put(&app, "/api/v1/integrations/freshdesk/tickets/81", &key, &changed).await, StatusCode::OK).await;
    assert_eq!(updated["result"], "updated");
    assert_eq!(updated["customer_match"], "existing");
    assert_eq!(updated["ticket"]["title"], "Printer offline again");
    assert_eq!(updated["ticket"]["status"], "resolved");
    assert_eq!(updated["ticket"]["priority"], "high", "absent fields stay");
    let timeline: Value =
        app.get(&format!("/api/v1/tickets/{}/timeline", t["id"]), &app.admin_token).await.json().await.unwrap();
    let changes: Vec<&Value> =
        timeline["items"].as_array().unwrap().iter().filter(|e| e["entry_type"] == "status_change").collect();
    assert_eq!(changes.last().unwrap()["new_status"], "resolved");
    assert_eq!(changes.last().unwrap()["old_status"], "open");
    // The helpdesk's webhook learns of the change under its own id.
    let events: Value =
        app.get("/api/v1/events?type=ticket.status_changed&limit=200", &app.admin_token).await.json().await.unwrap();
    let last = events["items"].as_array().unwrap().last().cloned().unwrap();
    // The ticket as `GET /tickets/{id}` shows it, with the change under `status_change`.
    assert_eq!(last["payload"]["status_change"], json!({"from": "open", "to": "resolved"}));
    assert_eq!(
        (last["payload"]["id"].clone(), last["payload"]["status"].clone()),
        (t["id"].clone(), json!("resolved"))
    );
    assert_eq!(
        (&last["payload"]["external_system"], &last["payload"]["external_id"]),
        (&json!("freshdesk"), &json!("81"))
    );
    // The same id in another system is another ticket.
    let other = put(&app, "/api/v1/integrations/otrs/tickets/81", &key, &body).await;
    assert_eq!(other.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn concurrent_pushes_of_the_same_ticket_create_one() {
    let app = spawn_app().await;
    helpdesk_customer(&app, Some("org-7"), "example-gmbh.de").await;
    let (_, key) = app.api_key(&["tickets:write"]).await;
    let pushes = (0..8).map(|i| {
        let body = json!({"title": format!("Mail down {i}"), "customer_ref": "org-7"});
        let (app, key) = (&app, &key);
        async move { put(app, "/api/v1/integrations/zammad/tickets/4711", key, &body).await.status() }
    });
    let statuses = futures_util::future::join_all(pushes).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::OK), "{statuses:?}");
    assert_eq!(tickets_of(&app, "zammad", "4711").await.len(), 1);
}

#[tokio::test]
async fn concurrent_first_tickets_of_one_new_requester_add_one_contact() {
    let app = spawn_app().await;
    let customer = helpdesk_customer(&app, Some("org-8"), "example-gmbh.de").await;
    let (_, key) = app.api_key(&["tickets:write"]).await;
    let pushes = (0..8).map(|i| {
        let body = json!({"title": format!("Request {i}"), "customer_ref": "org-8",
                          "contact": {"email": "New.Person@example-gmbh.de", "name": "New Person"}});
        let (app, key) = (&app, &key);
        async move { put(app, &format!("/api/v1/integrations/zammad/tickets/c{i}"), key, &body).await.status() }
    });
    let statuses = futures_util::future::join_all(pushes).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
    let c: Value = app.get(&format!("/api/v1/customers/{customer}"), &app.admin_token).await.json().await.unwrap();
    let added: Vec<&Value> =
        c["contacts"].as_array().unwrap().iter().filter(|k| k["email"] == "new.person@example-gmbh.de").collect();
    assert_eq!(added.len(), 1, "{:?}", c["contacts"]);
    for i in 0..8 {
        assert_eq!(tickets_of(&app, "zammad", &format!("c{i}")).await[0]["contact_id"], added[0]["id"]);
    }
}

#[tokio::test]
async fn a_ticket_is_matched_by_the_contacts_mail_domain_and_refused_when_nothing_matches() {
    let app = spawn_app().await;
    let customer = helpdesk_customer(&app, None, "schmidt-it.de").await;
    let (_, key) = app.api_key(&["tickets:write"]).await;
    let by_domain = json!({"title": "VPN", "contact": {"email": "boss@Schmidt-IT.de"}});
    let res = put(&app, "/api/v1/integrations/zammad/tickets/1", &key, &by_domain).await;
    let done = ok_json(res, StatusCode::CREATED).await;
    assert_eq!(done["customer_match"], "email_domain");
    assert_eq!(done["ticket"]["customer_id"], customer);

    // Unknown reference, shared mail domain: 422 naming both ways, nothing created.
    let unmatched = json!({"title": "VPN", "customer_ref": "org-unknown", "contact": {"email": "someone@gmail.com"}});
    let res = put(&app, "/api/v1/integrations/zammad/tickets/2", &key, &unmatched).await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["customer_ref"]);
    let message = p["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("helpdesk_ref") && message.contains("`org-unknown`"), "{message}");
    assert!(tickets_of(&app, "zammad", "2").await.is_empty());

    // Two customers at one domain: ambiguous, never guessed.
    let _second = helpdesk_customer(&app, None, "schmidt-it.de").await;
    let res = put(&app, "/api/v1/integrations/zammad/tickets/3", &key, &by_domain).await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("several customers"), "{p}");

    // Bad paths and bodies are 4xx too.
    let res = put(&app, "/api/v1/integrations/Zammad!/tickets/4", &key, &by_domain).await;
    assert_eq!(error_fields(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), vec!["system"]);
    let res = put(&app, "/api/v1/integrations/zammad/tickets/4", &key, &json!({"title": ""})).await;
    assert_eq!(error_fields(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), vec!["title"]);
    // Pushing needs tickets:write.
    let (_, reader) = app.api_key(&["tickets:read"]).await;
    let res = put(&app, "/api/v1/integrations/zammad/tickets/4", &reader, &by_domain).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_time_entry_push_is_idempotent_and_a_billed_booking_stays_as_it_is() {
    let app = spawn_app().await;
    helpdesk_customer(&app, Some("org-1"), "kanzlei-weber.de").await;
    service(&app, "SUPPORT", "hour", true).await;
    let user = agent(&app, "emma@msp.example").await;
    let (_, key) = app.api_key(&["tickets:write", "bookings:write"]).await;
    ok_json(
        put(&app, "/api/v1/integrations/zammad/tickets/81", &key, &json!({"title": "Server", "customer_ref": "org-1"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let entry = json!({"ticket_external_id": "81", "user_email": "EMMA@msp.example", "service_code": "SUPPORT",
                       "work_date": "2026-11-23", "duration_minutes": 15, "description": "Restarted the spooler"});
    let res = put(&app, "/api/v1/integrations/zammad/time-entries/5", &key, &entry).await;
    let created = ok_json(res, StatusCode::CREATED).await;
    assert_eq!(created["result"], "created");
    let booking = &created["booking"];
    assert_eq!(booking["user_id"], user);
    assert_eq!(booking["duration_minutes"], 15);
    assert_eq!(booking["billable"], true);
    assert_eq!(booking["ticket_id"], tickets_of(&app, "zammad", "81").await[0]["id"]);

    let again =
        ok_json(put(&app, "/api/v1/integrations/zammad/time-entries/5", &key, &entry).await, StatusCode::OK).await;
    assert_eq!(again["result"], "unchanged");
    assert_eq!(again["booking"]["version"], booking["version"]);

    let longer = json!({"ticket_external_id": "81", "user_email": "emma@msp.example", "service_code": "SUPPORT",
                        "work_date": "2026-11-23", "duration_minutes": 30, "description": "Restarted the spooler"});
    let updated =
        ok_json(put(&app, "/api/v1/integrations/zammad/time-entries/5", &key, &longer).await, StatusCode::OK).await;
    assert_eq!(updated["result"], "updated");
    assert_eq!(updated["booking"]["id"], booking["id"]);
    assert_eq!(updated["booking"]["duration_minutes"], 30);

    // Billed: a change is 409 and changes nothing; the same push is still `unchanged`.
    let id = booking["id"].as_i64().unwrap();
    app.store().await.set_booking_state(id, "billed").await.unwrap();
    let res = put(&app, "/api/v1/integrations/zammad/time-entries/5", &key, &entry).await;
    problem(res, StatusCode::CONFLICT).await;
    let stored: Value = app.get(&format!("/api/v1/bookings/{id}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(stored["duration_minutes"], 30);
    let same =
        ok_json(put(&app, "/api/v1/integrations/zammad/time-entries/5", &key, &longer).await, StatusCode::OK).await;
    assert_eq!(same["result"], "unchanged");

    // Unknown ticket, user and service are named at once.
    let unknown = json!({"ticket_external_id": "999", "user_email": "nobody@msp.example", "service_code": "NOPE",
                         "work_date": "2026-11-23", "duration_minutes": 15, "description": "x"});
    let res = put(&app, "/api/v1/integrations/zammad/time-entries/6", &key, &unknown).await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["service_code", "ticket_external_id", "user_email"]);
    // Pushing time needs bookings:write.
    let (_, tickets_only) = app.api_key(&["tickets:write"]).await;
    let res = put(&app, "/api/v1/integrations/zammad/time-entries/6", &tickets_only, &entry).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn concurrent_pushes_of_the_same_time_entry_create_one_booking() {
    let app = spawn_app().await;
    helpdesk_customer(&app, Some("org-2"), "praxis-lang.de").await;
    service(&app, "SUPPORT", "hour", true).await;
    agent(&app, "jacob@msp.example").await;
    let (_, key) = app.api_key(&["tickets:write", "bookings:write", "bookings:read"]).await;
    let ticket = json!({"title": "x", "customer_ref": "org-2"});
    let res = put(&app, "/api/v1/integrations/zammad/tickets/9", &key, &ticket).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let pushes = (0..8).map(|_| {
        let entry = json!({"ticket_external_id": "9", "user_email": "jacob@msp.example", "service_code": "SUPPORT",
                           "work_date": "2026-11-24", "duration_minutes": 20, "description": "Checked backups"});
        let (app, key) = (&app, &key);
        async move { put(app, "/api/v1/integrations/zammad/time-entries/77", key, &entry).await.status() }
    });
    let statuses = futures_util::future::join_all(pushes).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::OK), "{statuses:?}");
    let ticket = &tickets_of(&app, "zammad", "9").await[0];
    let page: Value =
        app.get(&format!("/api/v1/bookings?ticket_id={}", ticket["id"]), &key).await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

/// A payload shaped like Zammad's default trigger payload (trimmed to what matters, plus
/// fields Kontor ignores).
fn zammad_payload(state: &str, time_units: &[(i64, &str)]) -> Value {
    let agent = json!({"id": 5, "email": "emma@chrispresso.com", "firstname": "Emma", "lastname": "Taylor",
                       "login": "emma@chrispresso.com", "roles": ["Agent"], "organization_id": 2});
    json!({
        "ticket": {
            "id": 81, "number": "10081", "title": "Webhook-Test", "state": state, "state_id": 2,
            "priority": {"id": 3, "name": "3 high", "default_create": false},
            "group": {"id": 3, "name": "Service Desk"},
            "organization": {"id": 3, "name": "Awesome Customer Inc.", "domain_assignment": false},
            "customer": {"id": 8, "email": "emily@example.com", "firstname": "Emily", "lastname": "Adams",
                         "roles": ["Customer"]},
            "owner": agent, "updated_by": agent,
            "article_count": 1, "article_ids": [104],
            "ticket_time_accounting": time_units.iter().map(|(id, units)| json!({
                "id": id, "ticket_id": 81, "ticket_article_id": 104, "time_unit": units, "type_id": null,
                "created_by_id": 5, "created_at": "2026-11-13T14:34:35.282Z", "updated_at": "2026-11-13T14:34:35.282Z"
            })).collect::<Vec<_>>(),
            "created_at": "2026-11-13T14:34:35.282Z"
        },
        "article": {
            "id": 104, "ticket_id": 81, "type": "phone", "sender": "Customer", "internal": false,
            "from": "Emily Adams <emily@example.com>", "content_type": "text/html",
            "body": "Printer <b>offline</b>.<div><br></div><div>Reset the spooler.</div>",
            "created_by": agent, "accounted_time": 15
        }
    })
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(ZAMMAD_SECRET.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha1={hex}")
}

async fn zammad_post(app: &TestApp, payload: &Value, signature: Option<String>) -> Response {
    let body = serde_json::to_vec(payload).unwrap();
    let mut rb = app
        .request(Method::POST, "/api/v1/integrations/zammad/webhook", None)
        .header("content-type", "application/json")
        .header("user-agent", "Zammad User Agent")
        .header("x-zammad-trigger", "Kontor sync");
    if let Some(s) = signature.or_else(|| Some(sign(&body))) {
        rb = rb.header("x-hub-signature", s);
    }
    rb.body(body).send().await.expect("request")
}

async fn zammad_app() -> TestApp {
    spawn_app_with(|c| {
        c.zammad = api::config::ZammadSettings {
            secret: Some(ZAMMAD_SECRET.into()),
            service_code: Some("SUPPORT".into()),
            url: Some("https://helpdesk.chrispresso.com".into()),
            ..Default::default()
        }
    })
    .await
}

#[tokio::test]
async fn a_signed_zammad_webhook_becomes_a_ticket_with_its_time_and_a_resend_changes_nothing() {
    let app = zammad_app().await;
    let customer = helpdesk_customer(&app, Some("3"), "example.com").await;
    service(&app, "SUPPORT", "hour", true).await;
    let emma = agent(&app, "emma@chrispresso.com").await;

    let res = zammad_post(&app, &zammad_payload("open", &[(1, "15.0")]), None).await;
    let done = ok_json(res, StatusCode::OK).await;
    assert_eq!(done["result"], "created");
    assert_eq!(done["customer_match"], "helpdesk_ref");
    let t = &done["ticket"];
    assert_eq!(t["customer_id"], customer);
    assert_eq!(t["title"], "Webhook-Test");
    assert_eq!(t["status"], "open");
    assert_eq!(t["priority"], "high");
    assert_eq!(t["description"], "Printer offline.\nReset the spooler.");
    assert_eq!(t["external_url"], "https://helpdesk.chrispresso.com/#ticket/zoom/81");
    assert_eq!(done["time_entries"][0]["result"], "created");
    let booking_id = done["time_entries"][0]["booking_id"].as_i64().unwrap();
    let b: Value = app.get(&format!("/api/v1/bookings/{booking_id}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(b["user_id"], emma);
    assert_eq!(b["duration_minutes"], 15);
    assert_eq!(b["work_date"], "2026-11-13");
    assert_eq!(b["description"], "Printer offline.\nReset the spooler.");

    // Zammad sends the whole ticket again on every trigger: nothing changes.
    let again = ok_json(zammad_post(&app, &zammad_payload("open", &[(1, "15.0")]), None).await, StatusCode::OK).await;
    assert_eq!(again["result"], "unchanged");
    assert_eq!(again["time_entries"][0]["result"], "unchanged");

    // Later: pending, a second accounting; the first one billed meanwhile and then changed.
    app.store().await.set_booking_state(booking_id, "billed").await.unwrap();
    let later = zammad_payload("pending reminder", &[(1, "20.0"), (2, "7.5")]);
    let done = ok_json(zammad_post(&app, &later, None).await, StatusCode::OK).await;
    assert_eq!(done["result"], "updated");
    assert_eq!(done["ticket"]["status"], "waiting");
    assert_eq!(done["time_entries"][0]["result"], "locked");
    assert_eq!(done["time_entries"][0]["booking_id"], booking_id);
    assert_eq!(done["time_entries"][1]["result"], "created");
    let b: Value = app.get(&format!("/api/v1/bookings/{booking_id}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(b["duration_minutes"], 15, "a billed booking is never changed");
    let second = done["time_entries"][1]["booking_id"].as_i64().unwrap();
    let b: Value = app.get(&format!("/api/v1/bookings/{second}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(b["duration_minutes"], 8);
}

#[tokio::test]
async fn a_zammad_webhook_with_a_wrong_signature_or_unmappable_content_changes_nothing() {
    let app = zammad_app().await;
    helpdesk_customer(&app, Some("3"), "example.com").await;
    service(&app, "SUPPORT", "hour", true).await;
    let payload = zammad_payload("open", &[(1, "15.0")]);

    let res = zammad_post(&app, &payload, Some("sha1=0000000000000000000000000000000000000000".into())).await;
    problem(res, StatusCode::UNAUTHORIZED).await;
    let res = zammad_post(&app, &payload, Some(String::new())).await;
    problem(res, StatusCode::UNAUTHORIZED).await;
    // The agent has no Kontor user: 422 naming the accounting, and no ticket either.
    let res = zammad_post(&app, &payload, None).await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["ticket.ticket_time_accounting[0].created_by_id"]);
    assert!(tickets_of(&app, "zammad", "81").await.is_empty());
    // Not JSON (but signed): 400.
    let res = app
        .request(Method::POST, "/api/v1/integrations/zammad/webhook", None)
        .header("content-type", "application/json")
        .header("x-hub-signature", sign(b"{not json"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Without a configured secret the endpoint does not exist; an unsigned call is 401 first.
    let plain = spawn_app().await;
    let res = zammad_post(&plain, &payload, None).await;
    problem(res, StatusCode::NOT_FOUND).await;
    let res = zammad_post(&plain, &payload, Some(String::new())).await;
    problem(res, StatusCode::UNAUTHORIZED).await;
}

/// `ticket.billed` events, oldest first, as `(ticket id, payload)`.
async fn tickets_billed(app: &TestApp) -> Vec<(i64, Value)> {
    let page: Value =
        app.get("/api/v1/events?type=ticket.billed&limit=200", &app.admin_token).await.json().await.unwrap();
    page["items"].as_array().unwrap().iter().map(|e| (e["entity_id"].as_i64().unwrap(), e["payload"].clone())).collect()
}

/// The `ticket.billed` events once there are `n` (the dispatcher derives them from
/// `invoice.issued` a moment after issuing, all of one invoice at once); panics after 10 s.
pub(crate) async fn tickets_billed_when(app: &TestApp, n: usize) -> Vec<(i64, Value)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let billed = tickets_billed(app).await;
        if billed.len() >= n || std::time::Instant::now() > deadline {
            return billed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_ticket_whose_time_is_all_on_issued_invoices_is_announced_as_billed_with_their_numbers() {
    let app = spawn_app().await;
    helpdesk_customer(&app, Some("org-a"), "alpha-gmbh.de").await;
    helpdesk_customer(&app, Some("org-b"), "beta-kg.de").await;
    service(&app, "SUPPORT", "hour", true).await;
    agent(&app, "tech@msp.example").await;
    let (_, key) = app.api_key(&["tickets:write", "bookings:write"]).await;
    let mut ids = Vec::new();
    for (ext, org) in [("81", "org-a"), ("82", "org-a"), ("91", "org-b")] {
        let body = json!({"title": format!("Ticket {ext}"), "customer_ref": org});
        let done = ok_json(
            put(&app, &format!("/api/v1/integrations/zammad/tickets/{ext}"), &key, &body).await,
            StatusCode::CREATED,
        )
        .await;
        ids.push(done["ticket"]["id"].as_i64().unwrap());
    }
    // 81 and 91 are billed wholly in November; 82 has December time left open.
    for (entry, ticket, date) in [
        ("1", "81", "2026-11-10"),
        ("2", "81", "2026-11-11"),
        ("3", "82", "2026-11-12"),
        ("4", "82", "2026-12-03"),
        ("5", "91", "2026-11-13"),
    ] {
        let body = json!({"ticket_external_id": ticket, "user_email": "tech@msp.example", "service_code": "SUPPORT",
                          "work_date": date, "duration_minutes": 30, "description": format!("Entry {entry}")});
        ok_json(
            put(&app, &format!("/api/v1/integrations/zammad/time-entries/{entry}"), &key, &body).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let customer_of = |org: &str| {
        let app = &app;
        let org = org.to_string();
        async move { app.all_customers(&format!("helpdesk_ref={org}")).await[0]["id"].clone() }
    };

    // Customer A: a draft reserves the time but bills nothing yet; issuing it bills ticket 81.
    let run_a = crate::invoices::commit(
        &app,
        json!({"scope": "customer", "scope_id": customer_of("org-a").await, "period_end": "2026-11-30"}),
    )
    .await;
    assert!(tickets_billed(&app).await.is_empty(), "a draft bills nothing");
    let issued = crate::invoices::issue(&app, &run_a["invoice_ids"][0]).await;
    let billed = tickets_billed_when(&app, 1).await;
    assert_eq!(billed.len(), 1, "{billed:?}");
    assert_eq!(billed[0].0, ids[0]);
    assert_eq!(billed[0].1["external_system"], "zammad");
    assert_eq!(billed[0].1["external_id"], "81");
    assert_eq!(billed[0].1["invoice_numbers"], json!([issued["number"]]));

    // Customer B, issued by the run's issue job (the batch path).
    let run_b = crate::invoices::commit(
        &app,
        json!({"scope": "customer", "scope_id": customer_of("org-b").await, "period_end": "2026-11-30"}),
    )
    .await;
    let path = format!("/api/v1/invoice-runs/{}/issue", run_b["id"]);
    let res = app.post(&path, &app.admin_token, &json!({})).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
    let job = app.wait_for_job(&path).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let number_b = crate::invoices::invoice(&app, &run_b["invoice_ids"][0]).await["number"].clone();
    let billed = tickets_billed_when(&app, 2).await;
    assert_eq!(billed.len(), 2, "{billed:?}");
    assert_eq!(billed[1].0, ids[2]);
    assert_eq!(billed[1].1["invoice_numbers"], json!([number_b]));
}

#[tokio::test]
async fn a_zammad_that_accounts_hours_books_its_time_in_minutes() {
    let app = spawn_app_with(|c| {
        c.zammad = api::config::ZammadSettings {
            secret: Some(ZAMMAD_SECRET.into()),
            service_code: Some("SUPPORT".into()),
            time_unit_minutes: "60".parse().unwrap(),
            ..Default::default()
        }
    })
    .await;
    helpdesk_customer(&app, Some("3"), "example.com").await;
    service(&app, "SUPPORT", "hour", true).await;
    agent(&app, "emma@chrispresso.com").await;
    let done = ok_json(zammad_post(&app, &zammad_payload("open", &[(1, "1.25")]), None).await, StatusCode::OK).await;
    let booking_id = done["time_entries"][0]["booking_id"].as_i64().unwrap();
    let b: Value = app.get(&format!("/api/v1/bookings/{booking_id}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(b["duration_minutes"], 75, "1.25 hours");
}

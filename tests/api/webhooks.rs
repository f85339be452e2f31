//! End-to-end tests of webhooks: a real HTTP receiver (a small actix server on a random port)
//! checks every request's Standard Webhooks signature with its own HMAC, answers 500 when told
//! to, and records what arrived; the tests see retries, each event once after recovery, the
//! delivery log, giving up and switching off, a manual retry, a ping and a secret rotation.

use crate::helpers::*;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) id: String,
    timestamp: i64,
    signatures: Vec<String>,
    body: Vec<u8>,
    /// What the receiver answered.
    pub(crate) status: u16,
}

#[derive(Default)]
pub(crate) struct Inbox {
    received: Vec<Received>,
    /// Answer 500 to this many more requests.
    fail_next: usize,
    /// Answer 500 to every request.
    fail_all: bool,
    /// Wait this long before answering.
    pub(crate) delay: Duration,
}

/// The receiver: its URL and what it got.
pub(crate) struct Receiver {
    pub(crate) url: String,
    inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let shared = web::Data::new(inbox.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server =
            HttpServer::new(move || App::new().app_data(shared.clone()).route("/hook", web::post().to(receive)))
                .workers(1)
                .disable_signals()
                .listen(listener)
                .unwrap()
                .run();
        tokio::spawn(server);
        Receiver { url: format!("http://127.0.0.1:{port}/hook"), inbox }
    }

    pub(crate) fn set(&self, change: impl FnOnce(&mut Inbox)) {
        change(&mut self.inbox.lock().unwrap());
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().received.clone()
    }

    /// Waits until `done` holds for what arrived (at most 30 s).
    pub(crate) async fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..600 {
            let got = self.received();
            if done(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: not within 30 s; got {:#?}", self.received());
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, inbox: web::Data<Arc<Mutex<Inbox>>>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let delay = inbox.lock().unwrap().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut inbox = inbox.lock().unwrap();
    let fail = inbox.fail_all || inbox.fail_next > 0;
    inbox.fail_next = inbox.fail_next.saturating_sub(1);
    let status = if fail { 500 } else { 204 };
    inbox.received.push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp").parse().unwrap_or_default(),
        signatures: header("webhook-signature").split(' ').map(str::to_string).collect(),
        body: body.to_vec(),
        status,
    });
    if fail {
        HttpResponse::InternalServerError().body("receiver down for maintenance")
    } else {
        HttpResponse::NoContent().finish()
    }
}

/// The Standard Webhooks signature of a request under `secret`, computed here independently.
fn expected_signature(secret: &str, r: &Received) -> String {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", r.id, r.timestamp).as_bytes());
    mac.update(&r.body);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

pub(crate) fn envelope(r: &Received) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

async fn create_webhook(app: &TestApp, body: Value) -> (Value, String) {
    let res = app.post("/api/v1/webhooks", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    (created["webhook"].clone(), secret)
}

async fn deliveries(app: &TestApp, hook: &Value) -> Vec<Value> {
    let res = app.get(&format!("/api/v1/webhooks/{}/deliveries", hook["id"]), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn signed_events_reach_the_receiver_once_each_after_it_recovers_from_500s() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.set(|i| i.fail_next = 2);
    let (hook, secret) =
        create_webhook(&app, json!({"url": receiver.url, "event_types": ["ticket.*"], "description": "Helpdesk"}))
            .await;
    assert!(secret.starts_with("whsec_"));
    assert_eq!(hook["event_types"], json!(["ticket.*"]));
    assert!(hook.get("secret").is_none());
    // Another webhook wants only invoices: it gets nothing of the tickets.
    let (other, _) = create_webhook(&app, json!({"url": receiver.url, "event_types": ["invoice.*"]})).await;

    let customer = app.create_customer(json!({"name": "Webhook GmbH"})).await["id"].clone();
    let mut tickets = Vec::new();
    for n in 0..3 {
        let t = crate::tickets::create_ticket(&app, json!({"title": format!("T{n}"), "customer_id": customer})).await;
        tickets.push(t["id"].clone());
    }

    let got =
        receiver.wait_for("three events delivered", |got| got.iter().filter(|r| r.status == 204).count() >= 3).await;
    // Every request is signed with the webhook's secret and carries the envelope.
    for r in &got {
        assert_eq!(r.signatures, [expected_signature(&secret, r)], "{r:?}");
        assert!((time::OffsetDateTime::now_utc().unix_timestamp() - r.timestamp).abs() < 60);
        let e = envelope(r);
        assert_eq!(e["id"], r.id);
        assert_eq!(e["type"], "ticket.created");
        assert!(e["occurred_at"].as_str().unwrap().ends_with('Z'));
    }
    // Two 500s, then each event exactly once with success; the failed ones were retried.
    assert_eq!(got.iter().filter(|r| r.status == 500).count(), 2);
    let mut ok: Vec<Value> =
        got.iter().filter(|r| r.status == 204).map(|r| envelope(r)["data"]["id"].clone()).collect();
    ok.sort_by_key(|v| v.as_i64());
    assert_eq!(ok, tickets);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 5, "nothing delivered twice");

    // The delivery log: every delivery succeeded, the retried ones show the 500 first.
    let log = deliveries(&app, &hook).await;
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|d| d["status"] == "succeeded" && d["next_attempt_at"].is_null()), "{log:#?}");
    let attempts: i64 = log.iter().map(|d| d["attempts"].as_i64().unwrap()).sum();
    assert_eq!(attempts, 5);
    let retried = log.iter().find(|d| d["attempts"].as_i64().unwrap() > 1).unwrap();
    assert_eq!(retried["log"][0]["status_code"], 500);
    assert_eq!(retried["log"][0]["response_excerpt"], "receiver down for maintenance");
    assert_eq!(retried["log"].as_array().unwrap().last().unwrap()["status_code"], 204);
    assert!(deliveries(&app, &other).await.is_empty());
}

#[tokio::test]
async fn a_receiver_that_stays_down_uses_up_the_schedule_is_switched_off_and_recovers_by_retry() {
    let app = spawn_app_with(|c| c.webhooks.disable_after = Duration::from_millis(300)).await;
    let receiver = Receiver::start().await;
    receiver.set(|i| i.fail_all = true);
    let (hook, _) = create_webhook(&app, json!({"url": receiver.url, "event_types": ["*"]})).await;
    let res = app.post(&format!("/api/v1/webhooks/{}/ping", hook["id"]), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let delivery_id = res.json::<Value>().await.unwrap()["delivery_id"].clone();

    // 1 attempt and 3 retries (100, 200, 300 ms), then it gives up.
    receiver.wait_for("four attempts", |got| got.len() >= 4).await;
    let mut log = Vec::new();
    for _ in 0..100 {
        log = deliveries(&app, &hook).await;
        if log[0]["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log[0]["status"], "failed", "{log:#?}");
    assert_eq!(log[0]["attempts"], 4);
    assert_eq!(log[0]["event_type"], "webhook.ping");
    // Failing longer than KONTOR_WEBHOOK_DISABLE_AFTER switched it off, with an event.
    let h: Value = app.get(&format!("/api/v1/webhooks/{}", hook["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(h["active"], false);
    assert!(h["disabled_reason"].as_str().unwrap().contains("HTTP 500"), "{h}");
    let events: Value = app.get("/api/v1/events?type=webhook.disabled", &app.admin_token).await.json().await.unwrap();
    assert_eq!(events["items"].as_array().unwrap().len(), 1);

    // The receiver is back: switched on and retried by hand, the ping arrives.
    receiver.set(|i| i.fail_all = false);
    let etag = app.get(&format!("/api/v1/webhooks/{}", hook["id"]), &app.admin_token).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let res = app
        .patch(&format!("/api/v1/webhooks/{}", hook["id"]), &app.admin_token, &json!({"active": true}), Some(&etag))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let h: Value = res.json().await.unwrap();
    assert_eq!((h["active"].clone(), h["disabled_reason"].clone()), (json!(true), Value::Null));
    let path = format!("/api/v1/webhooks/{}/deliveries/{delivery_id}/retry", hook["id"]);
    let res = app.post(&path, &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    receiver.wait_for("the ping after the retry", |got| got.iter().any(|r| r.status == 204)).await;
    // A stale If-Match changes nothing.
    let res = app
        .patch(&format!("/api/v1/webhooks/{}", hook["id"]), &app.admin_token, &json!({"active": false}), Some(&etag))
        .await;
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_for_a_day() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let (hook, old) = create_webhook(&app, json!({"url": receiver.url, "event_types": ["webhook.ping"]})).await;
    let res = app.post(&format!("/api/v1/webhooks/{}/rotate-secret", hook["id"]), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let rotated: Value = res.json().await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(rotated["webhook"]["previous_secret_expires_at"].is_string());
    let res = app.post(&format!("/api/v1/webhooks/{}/ping", hook["id"]), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let got = receiver.wait_for("the ping", |got| !got.is_empty()).await;
    assert_eq!(got[0].signatures, [expected_signature(&new, &got[0]), expected_signature(&old, &got[0])]);
}

#[tokio::test]
async fn bad_webhooks_are_refused_and_only_admins_manage_them() {
    let app = spawn_app_with(|c| c.webhooks.allow_private = false).await;
    let post = |body: Value| {
        let app = &app;
        async move { app.post("/api/v1/webhooks", &app.admin_token, &body).await }
    };
    for (body, field) in [
        (json!({"url": "ftp://example.com/x", "event_types": ["*"]}), "url"),
        (json!({"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}), "url"),
        (json!({"url": "http://10.0.0.5/hook", "event_types": ["*"]}), "url"),
        (json!({"url": "https://8.8.8.8/hook", "event_types": []}), "event_types"),
        (json!({"url": "https://8.8.8.8/hook", "event_types": ["Invoice.Issued"]}), "event_types"),
    ] {
        let p = problem(post(body.clone()).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), [field], "{body}");
    }
    let p = problem(
        post(json!({"url": "http://127.0.0.1:9/hook", "event_types": ["*"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("KONTOR_WEBHOOK_ALLOW_PRIVATE"), "{p}");
    let list: Value = app.get("/api/v1/webhooks", &app.admin_token).await.json().await.unwrap();
    assert_eq!(list["items"], json!([]), "nothing was stored");

    let (_, billing) = app.user_with_roles(&["billing"]).await;
    problem(app.get("/api/v1/webhooks", &billing).await, StatusCode::FORBIDDEN).await;
    let res = app
        .request(Method::POST, "/api/v1/webhooks", Some(&billing))
        .json(&json!({"url": "https://8.8.8.8/hook", "event_types": ["*"]}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::FORBIDDEN).await;
    problem(app.get("/api/v1/webhooks/4242", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    problem(app.get("/api/v1/webhooks/4242/deliveries", &app.admin_token).await, StatusCode::NOT_FOUND).await;

    // A public target is fine; deleting removes it.
    let (hook, _) = create_webhook(&app, json!({"url": "https://8.8.8.8/hook", "event_types": ["invoice.*"]})).await;
    let res = app
        .request(Method::DELETE, &format!("/api/v1/webhooks/{}", hook["id"]), Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(app.get(&format!("/api/v1/webhooks/{}", hook["id"]), &app.admin_token).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn changes_to_tickets_and_bookings_reach_a_webhook_that_wants_them() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    create_webhook(&app, json!({"url": receiver.url, "event_types": ["booking.*", "ticket.updated"]})).await;
    let customer = app.create_customer(json!({"name": "Ereignis KG"})).await["id"].clone();
    let ticket = crate::tickets::create_ticket(&app, json!({"title": "Drucker", "customer_id": customer})).await;
    let path = format!("/api/v1/tickets/{}", ticket["id"]);
    let etag = app.get(&path, &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();
    let res = app.patch(&path, &app.admin_token, &json!({"title": "Drucker im Empfang"}), Some(&etag)).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let ticket_as_updated: Value = res.json().await.unwrap();
    let remote = crate::bookings::service(&app, "REMOTE-EV", "hour", true).await;
    let booking = crate::invoices::book(
        &app,
        json!({"work_date": "2026-11-05", "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "description": "Treiber"}),
    )
    .await;
    let path = format!("/api/v1/bookings/{}", booking["id"]);
    let etag = app.get(&path, &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();
    let res = app.patch(&path, &app.admin_token, &json!({"duration_minutes": 45}), Some(&etag)).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app.request(Method::DELETE, &path, Some(&app.admin_token)).header("If-Match", etag).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());

    let got = receiver.wait_for("four events", |got| got.len() >= 4).await;
    let mut types: Vec<(String, Value)> = got
        .iter()
        .map(|r| {
            let e = envelope(r);
            (e["type"].as_str().unwrap().to_string(), e["data"]["id"].clone())
        })
        .collect();
    types.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        types,
        [
            ("booking.created".to_string(), booking["id"].clone()),
            ("booking.deleted".to_string(), booking["id"].clone()),
            ("booking.updated".to_string(), booking["id"].clone()),
            ("ticket.updated".to_string(), ticket["id"].clone()),
        ]
    );
    let updated = got.iter().map(envelope).find(|e| e["type"] == "booking.updated").unwrap();
    assert_eq!(updated["data"]["duration_minutes"], 45);
    // `data` is the resource as the API returned it at the time.
    let created = got.iter().map(envelope).find(|e| e["type"] == "booking.created").unwrap();
    assert_eq!(created["data"], booking);
    let changed = got.iter().map(envelope).find(|e| e["type"] == "ticket.updated").unwrap();
    assert_eq!(changed["data"], ticket_as_updated);
    let events: Value = app.get("/api/v1/events?type=ticket.created", &app.admin_token).await.json().await.unwrap();
    assert_eq!(events["items"][0]["payload"]["title"], "Drucker");
    assert_eq!(
        events["items"][0]["payload"]["allowed_transitions"],
        json!(["open"]),
        "as GET /tickets/{{id}} shows it"
    );
}

#[tokio::test]
async fn an_invoice_is_announced_when_drafted_and_when_issued() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    create_webhook(&app, json!({"url": receiver.url, "event_types": ["invoice.*"]})).await;
    let customer = app.create_customer(json!({"name": "Rechnung per Webhook GmbH"})).await["id"].clone();
    let ticket = crate::tickets::create_ticket(&app, json!({"title": "VPN", "customer_id": customer})).await;
    let remote = crate::bookings::service(&app, "REMOTE-INV", "hour", true).await;
    crate::invoices::book(
        &app,
        json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "VPN"}),
    )
    .await;
    let run =
        crate::invoices::commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"}))
            .await;
    let draft = run["invoice_ids"][0].clone();
    let issued = crate::invoices::issue(&app, &draft).await;
    let paid = app
        .post(&format!("/api/v1/invoices/{draft}/mark-paid"), &app.admin_token, &json!({"paid_on": "2026-12-10"}))
        .await;
    assert_eq!(paid.status(), StatusCode::OK);
    let got = receiver.wait_for("drafted, issued and paid", |got| got.len() >= 3).await;
    let events: Vec<Value> = got.iter().map(envelope).collect();
    let of = |t: &str| events.iter().find(|e| e["type"] == t).unwrap_or_else(|| panic!("{t}"))["data"].clone();
    let drafted = of("invoice.drafted");
    assert_eq!((drafted["id"].clone(), drafted["customer_id"].clone()), (draft.clone(), customer));
    assert_eq!((drafted["run_id"].clone(), drafted["status"].clone()), (run["id"].clone(), json!("draft")));
    assert!(drafted["number"].is_null());
    assert_eq!(drafted["line_count"], 1);
    assert_eq!(crate::invoices::dec(&drafted["totals"]["gross"]), crate::invoices::dec(&issued["totals"]["gross"]));
    // The issued invoice exactly as the API returned it, less the lines and positions.
    let mut summary = issued.clone();
    summary.as_object_mut().unwrap().retain(|k, _| k != "lines" && k != "positions");
    assert_eq!(of("invoice.issued"), summary);
    let paid = of("invoice.paid");
    assert_eq!((paid["status"].clone(), paid["paid_on"].clone()), (json!("paid"), json!("2026-12-10")));
    assert_eq!(paid["number"], issued["number"]);
}

#[tokio::test]
async fn every_invoice_of_a_large_issue_job_and_every_ticket_it_bills_is_announced_once() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    create_webhook(&app, json!({"url": receiver.url, "event_types": ["invoice.issued", "ticket.billed"]})).await;
    let remote = crate::bookings::service(&app, "REMOTE-JOB", "hour", true).await;
    // More invoices than one fan-out transaction derives `ticket.billed` from.
    for i in 0..20 {
        let customer = app.create_customer(json!({"name": format!("Kunde {i:02}")})).await["id"].clone();
        let ticket = crate::tickets::create_ticket(&app, json!({"title": "VPN", "customer_id": customer})).await;
        crate::invoices::book(
            &app,
            json!({"work_date": "2026-11-05", "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "description": "VPN"}),
        )
        .await;
    }
    let run = crate::invoices::commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    let path = format!("/api/v1/invoice-runs/{}/issue", run["id"]);
    let res = app.post(&path, &app.admin_token, &json!({})).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
    assert_eq!(app.wait_for_job(&path).await["invoices_issued"], 20);
    let got = receiver.wait_for("20 invoices and 20 tickets", |got| got.len() >= 40).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events: Vec<Value> = receiver.received().iter().map(envelope).collect();
    assert_eq!(events.len(), 40, "each once: {}", got.len());
    let ids: std::collections::BTreeSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 40);
    let billed = events.iter().filter(|e| e["type"] == "ticket.billed").count();
    assert_eq!(billed, 20);
}

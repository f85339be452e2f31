//! End-to-end tests: committed invoice runs, drafts that reserve their positions, issuing
//! with gapless numbers, payment, cancellation by credit note, draft editing — over HTTP.

use crate::bookings::service;
use crate::helpers::*;
use crate::tickets::create_ticket;
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;

pub fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_else(|| panic!("decimal string expected, got {v}"))).unwrap()
}

pub fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Books time as admin; panics unless 201.
pub async fn book(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/bookings", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "book: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

/// Commits a run as admin and returns it finished (a run over all customers is a job:
/// followed until it has finished); panics unless it was created.
pub async fn commit(app: &TestApp, body: Value) -> Value {
    let mut body = body;
    body["mode"] = json!("commit");
    let run = app.commit_run_and_wait(&body).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    run
}

/// Reads an invoice as admin.
pub async fn invoice(app: &TestApp, id: &Value) -> Value {
    let res = app.get(&format!("/api/v1/invoices/{id}"), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Issues a draft as admin; panics unless 200.
pub async fn issue(app: &TestApp, id: &Value) -> Value {
    let res = app
        .request(Method::POST, &format!("/api/v1/invoices/{id}/issue"), Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "issue: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

pub async fn booking_state(app: &TestApp, id: &Value) -> String {
    let b: Value = app.get(&format!("/api/v1/bookings/{id}"), &app.admin_token).await.json().await.unwrap();
    b["state"].as_str().unwrap().to_string()
}

/// A customer (one line per booking) with one ticket and two remote-support bookings in
/// November (60 + 30 min at the catalog's 96.00): (customer, ticket, [booking ids]).
async fn two_bookings(app: &TestApp) -> (i64, Value, Vec<Value>) {
    let remote = service(app, "REMOTE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Muster IT GmbH", "invoice_detail": "per_booking"})).await["id"]
        .as_i64()
        .unwrap();
    let ticket = create_ticket(app, json!({"title": "VPN", "customer_id": customer})).await;
    let a = book(app, json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Setup"})).await;
    let b = book(app, json!({"work_date": "2026-11-06", "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "description": "Check"})).await;
    (customer, ticket, vec![a["id"].clone(), b["id"].clone()])
}

#[tokio::test]
async fn a_committed_run_creates_a_draft_that_reserves_its_positions_and_a_second_run_takes_nothing() {
    let app = spawn_app().await;
    let (customer, _, bookings) = two_bookings(&app).await;
    let run = commit(&app, json!({"scope": "all", "period_start": "2026-11-01", "period_end": "2026-11-30"})).await;
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["mode"], "commit");
    assert_eq!(run["customers_billed"], 1);
    assert_eq!(run["invoices_created"], 1);
    assert_eq!(run["positions_reserved"], 2);
    assert_eq!(run["started_by"]["name"], ADMIN_EMAIL);
    let draft = invoice(&app, &run["invoice_ids"][0]).await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["number"], Value::Null);
    assert_eq!(draft["customer_id"], customer);
    assert_eq!(draft["run_id"], run["id"]);
    assert_eq!(dec(&draft["totals"]["net"]), d("144.00"), "96.00 + 48.00");
    for b in &bookings {
        assert_eq!(booking_state(&app, b).await, "reserved");
    }
    // A reserved booking is locked.
    let p = problem(
        app.patch(&format!("/api/v1/bookings/{}", bookings[0]), &app.admin_token, &json!({"description": "x"}), None)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("draft"), "{p}");
    // The same run again finds nothing open.
    let again = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    assert_eq!(again["invoices_created"], 0);
    assert_eq!(again["positions_reserved"], 0);
    let recorded: Value =
        app.get(&format!("/api/v1/invoice-runs/{}", run["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(recorded["invoice_ids"], run["invoice_ids"]);
    assert_eq!(recorded["scope"], "all");
    assert_eq!(recorded["period_end"], "2026-11-30");
    let list: Value = app.get("/api/v1/invoice-runs", &app.admin_token).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["items"][0]["id"], again["id"], "newest first");
}

#[tokio::test]
async fn issuing_numbers_gaplessly_locks_positions_and_freezes_the_customer() {
    let app = spawn_app().await;
    let (customer, _, bookings) = two_bookings(&app).await;
    let run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let id = run["invoice_ids"][0].clone();
    let issued = issue(&app, &id).await;
    let year = time::OffsetDateTime::now_utc().year();
    assert_eq!(issued["status"], "issued");
    assert_eq!(issued["number"], format!("RE-{year}-00001"));
    assert_eq!(issued["customer"]["id"], customer);
    assert!(issued["due_date"].is_string() && issued["issue_date"].is_string());
    for b in &bookings {
        assert_eq!(booking_state(&app, b).await, "billed");
    }
    // Issued documents are immutable.
    let p = problem(
        app.request(Method::POST, &format!("/api/v1/invoices/{id}/issue"), Some(&app.admin_token))
            .send()
            .await
            .unwrap(),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("immutable"), "{p}");
    problem(app.delete(&format!("/api/v1/invoices/{id}"), &app.admin_token).await, StatusCode::CONFLICT).await;
    problem(
        app.post(
            &format!("/api/v1/invoices/{id}/lines"),
            &app.admin_token,
            &json!({"description": "x", "quantity": "1", "unit_price": "1.00", "vat_rate": "19"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    // The snapshot stays when the customer moves.
    let res = app
        .patch(&format!("/api/v1/customers/{customer}"), &app.admin_token, &json!({"name": "Renamed GmbH"}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let again = invoice(&app, &id).await;
    assert_ne!(again["customer"]["name"], "Renamed GmbH");
    // The next invoice gets the next number.
    let remote = service(&app, "ONSITE", "hour", true).await;
    let t = create_ticket(&app, json!({"title": "Next", "customer_id": customer})).await;
    book(&app, json!({"work_date": "2026-12-02", "duration_minutes": 60, "service_id": remote, "ticket_id": t["id"], "description": "x"})).await;
    let run2 = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-12-31"})).await;
    let second = issue(&app, &run2["invoice_ids"][0]).await;
    assert_eq!(second["number"], format!("RE-{year}-00002"));
}

#[tokio::test]
async fn cancelling_issues_a_credit_note_and_opens_the_positions_for_the_next_run() {
    let app = spawn_app().await;
    let (customer, _, bookings) = two_bookings(&app).await;
    let run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let id = run["invoice_ids"][0].clone();
    let issued = issue(&app, &id).await;
    let res =
        app.post(&format!("/api/v1/invoices/{id}/cancel"), &app.admin_token, &json!({"reason": "wrong rate"})).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let c: Value = res.json().await.unwrap();
    let year = time::OffsetDateTime::now_utc().year();
    assert_eq!(c["invoice"]["status"], "cancelled");
    assert_eq!(c["credit_note"]["kind"], "credit_note");
    assert_eq!(c["credit_note"]["number"], format!("GS-{year}-00001"));
    assert_eq!(c["credit_note"]["cancels"]["number"], issued["number"]);
    assert_eq!(c["invoice"]["cancelled_by"]["id"], c["credit_note"]["id"]);
    assert_eq!(dec(&c["credit_note"]["totals"]["gross"]), -dec(&issued["totals"]["gross"]));
    assert!(c["credit_note"]["notes"].as_str().unwrap().contains("wrong rate"));
    for b in &bookings {
        assert_eq!(booking_state(&app, b).await, "open");
    }
    // Cancelled twice? No.
    problem(
        app.post(&format!("/api/v1/invoices/{id}/cancel"), &app.admin_token, &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    // The positions are billed again by the next run, once.
    let rerun = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    assert_eq!(rerun["positions_reserved"], 2);
    let redraft = invoice(&app, &rerun["invoice_ids"][0]).await;
    assert_eq!(dec(&redraft["totals"]["net"]), d("144.00"));
}

#[tokio::test]
async fn removing_a_line_releases_its_booking_and_deleting_the_draft_releases_the_rest() {
    let app = spawn_app().await;
    let (customer, _, bookings) = two_bookings(&app).await;
    let run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let id = run["invoice_ids"][0].clone();
    let res = app.get(&format!("/api/v1/invoices/{id}"), &app.admin_token).await;
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let draft: Value = res.json().await.unwrap();
    let line =
        draft["lines"].as_array().unwrap().iter().find(|l| l["positions"][0]["id"] == bookings[1]).unwrap().clone();
    // A manual line, then a stale ETag is refused.
    let res = app
        .request(Method::POST, &format!("/api/v1/invoices/{id}/lines"), Some(&app.admin_token))
        .header("if-match", &etag)
        .json(&json!({"description": "USB cable", "quantity": "3", "unit_price": "4.995", "vat_rate": "19"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let with_cable: Value = res.json().await.unwrap();
    assert_eq!(dec(&with_cable["totals"]["net"]), d("158.99"), "144.00 + 14.99");
    let res = app
        .request(Method::DELETE, &format!("/api/v1/invoices/{id}/lines/{}", line["id"]), Some(&app.admin_token))
        .header("if-match", &etag)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::PRECONDITION_FAILED).await;
    let res = app.delete(&format!("/api/v1/invoices/{id}/lines/{}", line["id"]), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let after: Value = res.json().await.unwrap();
    assert_eq!(dec(&after["totals"]["net"]), d("110.99"), "96.00 + 14.99");
    assert_eq!(booking_state(&app, &bookings[1]).await, "open");
    assert_eq!(booking_state(&app, &bookings[0]).await, "reserved");
    // The released booking goes into the next run's draft.
    let next = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    assert_eq!(next["positions_reserved"], 1);
    // Deleting the first draft opens its booking again.
    let res = app.delete(&format!("/api/v1/invoices/{id}"), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(booking_state(&app, &bookings[0]).await, "open");
    problem(app.get(&format!("/api/v1/invoices/{id}"), &app.admin_token).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn paying_an_issued_invoice_and_bad_invoice_requests_change_nothing() {
    let app = spawn_app().await;
    let (customer, _, _) = two_bookings(&app).await;
    let run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let id = run["invoice_ids"][0].clone();
    // A draft cannot be paid or cancelled.
    problem(
        app.post(&format!("/api/v1/invoices/{id}/mark-paid"), &app.admin_token, &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.post(&format!("/api/v1/invoices/{id}/cancel"), &app.admin_token, &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    for (body, field) in [
        (json!({"series": "re"}), "series"),
        (json!({"series": "TOOLONGSERIES"}), "series"),
        (json!({"issue_date": "30.11.2026"}), "issue_date"),
        (json!({"number": "RE-1"}), "number"),
    ] {
        let p = problem(
            app.post(&format!("/api/v1/invoices/{id}/issue"), &app.admin_token, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&p), vec![field], "{body}");
    }
    for (body, field) in [
        (json!({"description": "", "quantity": "1", "unit_price": "1", "vat_rate": "19"}), "description"),
        (json!({"description": "x", "quantity": "0", "unit_price": "1", "vat_rate": "19"}), "quantity"),
        (json!({"description": "x", "quantity": "1", "unit_price": 1.5, "vat_rate": "19"}), "unit_price"),
        (json!({"description": "x", "quantity": "1", "unit_price": "1", "vat_rate": "101"}), "vat_rate"),
    ] {
        let p = problem(
            app.post(&format!("/api/v1/invoices/{id}/lines"), &app.admin_token, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&p), vec![field], "{body}");
    }
    assert_eq!(invoice(&app, &id).await["status"], "draft", "nothing changed");
    let (_, manager) = app.user_with_roles(&["manager"]).await;
    problem(app.post(&format!("/api/v1/invoices/{id}/issue"), &manager, &json!({})).await, StatusCode::FORBIDDEN).await;
    assert_eq!(app.get(&format!("/api/v1/invoices/{id}"), &manager).await.status(), StatusCode::OK, "managers read");
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    problem(app.get("/api/v1/invoices", &agent).await, StatusCode::FORBIDDEN).await;
    problem(
        app.post(
            "/api/v1/invoice-runs",
            &manager,
            &json!({"mode": "commit", "scope": "all", "period_end": "2026-11-30"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(app.get("/api/v1/invoices/999999", &app.admin_token).await, StatusCode::NOT_FOUND).await;

    let issued = issue(&app, &id).await;
    let res = app
        .post(&format!("/api/v1/invoices/{id}/mark-paid"), &app.admin_token, &json!({"paid_on": "2000-01-01"}))
        .await;
    problem(res, StatusCode::CONFLICT).await;
    let res = app.post(&format!("/api/v1/invoices/{id}/mark-paid"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let paid: Value = res.json().await.unwrap();
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["paid_on"], issued["issue_date"]);
    assert_eq!(paid["allowed_actions"], json!(["cancel"]));
    let page: Value = app
        .get(&format!("/api/v1/invoices?customer_id={customer}&status=paid"), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let none: Value = app
        .get(&format!("/api/v1/invoices?customer_id={customer}&status=draft"), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_commit_retried_with_the_same_idempotency_key_creates_nothing_new() {
    let app = spawn_app().await;
    let (customer, _, _) = two_bookings(&app).await;
    let body = json!({"mode": "commit", "scope": "customer", "scope_id": customer, "period_end": "2026-11-30"});
    let send = || {
        app.request(Method::POST, "/api/v1/invoice-runs", Some(&app.admin_token))
            .header("idempotency-key", "run-2026-11")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["id"], first["id"]);
    let all: Value =
        app.get(&format!("/api/v1/invoices?customer_id={customer}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "one draft only");
    let runs: Value = app.get("/api/v1/invoice-runs", &app.admin_token).await.json().await.unwrap();
    assert_eq!(runs["items"].as_array().unwrap().len(), 1, "one run only");
}

/// What a computation read must still hold when its drafts are stored: a booking edited
/// after the engine ran, or a second computation of the same customer, is refused as stale
/// (nothing written) — the run then computes again.
#[tokio::test]
async fn drafts_computed_from_data_that_changed_meanwhile_are_not_stored() {
    use persistence::billing::{BillingSetup, InputParams, PositionScope};
    use persistence::invoice_runs::{RunPlan, RunScope, RunStart, StartedVia};
    use persistence::invoices::{DraftBatch, DraftOutcome};
    let app = spawn_app().await;
    let (customer, _, bookings) = two_bookings(&app).await;
    let store = app.store().await;
    let setup = BillingSetup::load(&store).await.unwrap();
    let params = InputParams {
        period_start: None,
        period_end: time::macros::date!(2026 - 11 - 30),
        scope: PositionScope::default(),
        contract_id: None,
        partial: false,
        per_booking: false,
    };
    let actor = persistence::Actor::system();
    let plan = RunPlan { scope: RunScope::Customer(customer), customers: vec![], params };
    let start = RunStart { via: StartedVia::Api, actor: &actor, idempotency: None };
    let run = store.commit_run(&setup, &plan, &start).await.unwrap().run;
    let stale_read = setup.customer_input(&store, customer, params).await.unwrap();
    let stale = domain::engine::compute_customer(&setup.ctx, &stale_read.input);
    fn batch<'a>(
        run_id: i64,
        customer_id: i64,
        cr: &'a persistence::billing::CustomerRun,
        billing: &'a domain::engine::CustomerBilling,
        actor: &'a persistence::Actor,
    ) -> DraftBatch<'a> {
        DraftBatch {
            run_id,
            customer_id,
            billing_version: cr.billing_version,
            billing,
            versions: &cr.versions,
            scope_ticket_id: None,
            scope_project_id: None,
            scope_contract_id: None,
            actor,
            holding: None,
        }
    }
    // A booking changes after the computation: its drafts are stale.
    let res = app
        .patch(&format!("/api/v1/bookings/{}", bookings[0]), &app.admin_token, &json!({"duration_minutes": 120}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        store.create_drafts(&batch(run.id, customer, &stale_read, &stale, &actor)).await.unwrap(),
        DraftOutcome::Stale
    );
    assert_eq!(booking_state(&app, &bookings[0]).await, "open", "nothing written");
    let none: Value =
        app.get(&format!("/api/v1/invoices?customer_id={customer}"), &app.admin_token).await.json().await.unwrap();
    assert!(none["items"].as_array().unwrap().is_empty());
    // Two fresh computations of the same customer: only the first is stored.
    let first_read = setup.customer_input(&store, customer, params).await.unwrap();
    let second_read = setup.customer_input(&store, customer, params).await.unwrap();
    let first = domain::engine::compute_customer(&setup.ctx, &first_read.input);
    let second = domain::engine::compute_customer(&setup.ctx, &second_read.input);
    assert!(matches!(
        store.create_drafts(&batch(run.id, customer, &first_read, &first, &actor)).await.unwrap(),
        DraftOutcome::Created { .. }
    ));
    assert_eq!(
        store.create_drafts(&batch(run.id, customer, &second_read, &second, &actor)).await.unwrap(),
        DraftOutcome::Stale
    );
    let one: Value =
        app.get(&format!("/api/v1/invoices?customer_id={customer}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    assert_eq!(dec(&one["items"][0]["totals"]["net"]), d("240.00"), "the edited 2 h + 0.5 h at 96.00");

    // Customers stored together (as a run stores a chunk): the one whose data changed
    // writes nothing, the other is stored.
    let services: Value = app.get("/api/v1/services", &app.admin_token).await.json().await.unwrap();
    let remote = services["items"][0]["id"].clone();
    let mut others = Vec::new();
    for name in ["Beispiel AG", "Probe KG"] {
        let c = app.create_customer(json!({"name": name})).await["id"].as_i64().unwrap();
        let ticket = create_ticket(&app, json!({"title": "Printer", "customer_id": c})).await;
        let b = book(&app, json!({"work_date": "2026-11-09", "duration_minutes": 45, "service_id": remote, "ticket_id": ticket["id"], "description": "Toner"})).await;
        let read = setup.customer_input(&store, c, params).await.unwrap();
        let billing = domain::engine::compute_customer(&setup.ctx, &read.input);
        others.push((c, b["id"].clone(), read, billing));
    }
    let changed = &others[1].1;
    let res = app
        .patch(&format!("/api/v1/bookings/{changed}"), &app.admin_token, &json!({"description": "Toner, drum"}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let batches: Vec<DraftBatch<'_>> =
        others.iter().map(|(c, _, read, billing)| batch(run.id, *c, read, billing, &actor)).collect();
    let outcomes = store.create_drafts_together(&batches).await.unwrap();
    assert!(matches!(outcomes[0], DraftOutcome::Created { positions: 1, .. }), "{outcomes:?}");
    assert_eq!(outcomes[1], DraftOutcome::Stale);
    assert_eq!(booking_state(&app, &others[0].1).await, "reserved");
    assert_eq!(booking_state(&app, changed).await, "open", "the stale customer's savepoint rolled back");
    for (c, expected) in [(others[0].0, 1), (others[1].0, 0)] {
        let docs: Value =
            app.get(&format!("/api/v1/invoices?customer_id={c}"), &app.admin_token).await.json().await.unwrap();
        assert_eq!(docs["items"].as_array().unwrap().len(), expected, "customer {c}");
    }
}

/// Issue 11: the commit answer says what was created — per document whom it bills, net,
/// gross, lines and positions — and why nothing was created when nothing was.
#[tokio::test]
async fn a_committed_run_summarises_its_documents_and_says_why_it_created_nothing() {
    let app = spawn_app().await;
    let (customer, _, _) = two_bookings(&app).await;
    let run = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    assert_eq!(run["empty_reason"], Value::Null);
    assert_eq!(run["scope"], "all");
    let docs = run["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 1, "{run}");
    let doc = &docs[0];
    assert_eq!(doc["id"], run["invoice_ids"][0]);
    assert_eq!((doc["kind"].as_str(), doc["status"].as_str()), (Some("invoice"), Some("draft")));
    assert_eq!(doc["customer_id"], customer);
    assert_eq!(doc["customer_name"], "Muster IT GmbH");
    assert_eq!(
        (doc["net"].as_str(), doc["gross"].as_str()),
        (Some("144.00"), Some("171.36")),
        "96.00 + 48.00, 19 % VAT"
    );
    assert_eq!((doc["lines"].as_i64(), doc["positions"].as_i64()), (Some(2), Some(2)));
    let read: Value =
        app.get(&format!("/api/v1/invoice-runs/{}", run["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(read["documents"], run["documents"]);

    // Everything is in the draft now: a second run creates nothing and says why.
    let again = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    assert_eq!(again["documents"], json!([]));
    assert_eq!(again["empty_reason"]["code"], "nothing_open", "{again}");

    // A customer whose work has no rate is left out: nothing created, and that is why.
    let consulting = crate::invoice_runs::unpriced_service(&app).await;
    let other = app.create_customer(json!({"name": "Ohne Preis AG"})).await["id"].clone();
    let ticket = create_ticket(&app, json!({"title": "Advice", "customer_id": other})).await;
    book(&app, json!({"work_date": "2026-11-10", "duration_minutes": 60, "service_id": consulting, "ticket_id": ticket["id"], "description": "Advice"})).await;
    let blocked = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    assert_eq!(blocked["empty_reason"]["code"], "all_blocked", "{blocked}");
    assert_eq!(blocked["problems"][0]["code"], "missing_rate");
}

/// Issue 11: a draft lists every position it settles with its treatment, the billing office
/// can move covered or non-billable work out of it without deleting it, and lists can leave
/// the lines out.
#[tokio::test]
async fn a_draft_lists_what_it_settles_and_non_billable_work_can_be_moved_out_of_it() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer =
        app.create_customer(json!({"name": "Kulanz GmbH", "invoice_detail": "per_booking"})).await["id"].clone();
    let ticket = create_ticket(&app, json!({"title": "Printer", "customer_id": customer})).await;
    let billed = book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Repair"})).await;
    let goodwill = book(&app, json!({"work_date": "2026-11-06", "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "description": "Goodwill", "billable": false})).await;
    let run = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    let id = run["invoice_ids"][0].clone();
    let draft = invoice(&app, &id).await;
    let treatments: Vec<(Value, Value)> = draft["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["position"]["id"].clone(), p["treatment"].clone()))
        .collect();
    assert_eq!(
        treatments,
        vec![(billed["id"].clone(), json!("billed")), (goodwill["id"].clone(), json!("non_billable"))]
    );
    assert_eq!(booking_state(&app, &goodwill["id"]).await, "reserved", "a draft reserves what it documents");
    assert_eq!(draft["line_count"], 1);

    // Lists can leave the lines out.
    let summary: Value = app.get("/api/v1/invoices?fields=summary", &app.admin_token).await.json().await.unwrap();
    let item = &summary["items"][0];
    assert!(item.get("lines").is_none() && item.get("positions").is_none(), "{item}");
    assert_eq!((item["line_count"].as_i64(), item["totals"]["net"].as_str()), (Some(1), Some("96.00")));
    let full: Value = app.get("/api/v1/invoices", &app.admin_token).await.json().await.unwrap();
    assert_eq!(full["items"][0]["lines"].as_array().map(Vec::len), Some(1));
    problem(app.get("/api/v1/invoices?fields=everything", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;

    // The billed booking goes with its line, not alone.
    let path = |b: &Value| format!("/api/v1/invoices/{id}/positions/bookings/{}", b["id"]);
    let p = problem(app.delete(&path(&billed), &app.admin_token).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("line 1"), "{p}");
    // The goodwill booking is moved out: open again, the draft keeps its line and totals.
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    problem(app.delete(&path(&goodwill), &agent).await, StatusCode::FORBIDDEN).await;
    let res = app.delete(&path(&goodwill), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let after = invoice(&app, &id).await;
    assert_eq!(after["positions"].as_array().unwrap().len(), 1);
    assert_eq!(after["totals"], draft["totals"]);
    assert_eq!(after["lines"], draft["lines"]);
    assert_eq!(booking_state(&app, &goodwill["id"]).await, "open");
    problem(app.delete(&path(&goodwill), &app.admin_token).await, StatusCode::NOT_FOUND).await;
    problem(
        app.delete(&format!("/api/v1/invoices/{id}/positions/fees/1"), &app.admin_token).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Issued documents are not edited.
    issue(&app, &id).await;
    problem(app.delete(&path(&billed), &app.admin_token).await, StatusCode::CONFLICT).await;
}

//! End-to-end tests: empty proposals are not invoices. A committed proposal without lines
//! (only non-billable or covered work, or a quota period to close) becomes a settlement —
//! its positions settled, its proof of service available — with no number, no place in the
//! accounting feed and no way to issue it; cancelling it opens its positions again without
//! a credit note. A draft left without lines cannot be issued.

use crate::accounting::read_to_end;
use crate::bookings::service;
use crate::helpers::*;
use crate::invoices::{book, booking_state, commit, d, dec, invoice, issue};
use crate::proof_of_service::proof;
use crate::tickets::create_ticket;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A customer with one ticket and 45 minutes of goodwill (non-billable) work in November.
async fn goodwill_customer(app: &TestApp) -> (i64, Value, Value) {
    let remote = service(app, "REMOTE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Kulanz KG"})).await["id"].as_i64().unwrap();
    let ticket = create_ticket(app, json!({"title": "Explain the client", "customer_id": customer})).await;
    let goodwill = book(
        app,
        json!({"work_date": "2026-11-06", "duration_minutes": 45, "service_id": remote,
               "ticket_id": ticket["id"], "billable": false, "description": "Explained the new client"}),
    )
    .await;
    (customer, ticket, goodwill)
}

/// Issuing `id` is refused (409) with a detail containing `why`.
async fn issue_refused(app: &TestApp, id: &Value, why: &str) {
    let res = app
        .request(Method::POST, &format!("/api/v1/invoices/{id}/issue"), Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    let p = problem(res, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains(why), "{p}");
}

#[tokio::test]
async fn a_run_that_bills_nothing_settles_its_positions_without_an_invoice_number() {
    let app = spawn_app().await;
    let (customer, _, goodwill) = goodwill_customer(&app).await;
    let run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let id = run["invoice_ids"][0].clone();
    let s = invoice(&app, &id).await;
    assert_eq!((s["kind"].as_str(), s["status"].as_str()), (Some("settlement"), Some("settled")), "{s}");
    assert!(s["number"].is_null() && s["issue_date"].is_null() && s["due_date"].is_null(), "{s}");
    assert_eq!(s["lines"], json!([]));
    assert_eq!(dec(&s["totals"]["gross"]), d("0"));
    assert_eq!(s["allowed_actions"], json!(["cancel"]));
    assert_eq!(booking_state(&app, &goodwill["id"]).await, "billed", "settled: locked like billed work");

    // The proof of service shows the work it settles.
    let report = proof(&app, &format!("/api/v1/invoices/{id}/proof-of-service"), &app.admin_token).await;
    let bookings = report["bookings"].as_array().unwrap();
    assert_eq!(bookings.len(), 1, "{report}");
    assert_eq!(bookings[0]["treatment"], "non_billable");

    // Never issued, never in the accounting feed, not counted as a document to send.
    issue_refused(&app, &id, "bills nothing").await;
    let res = app.post(&format!("/api/v1/invoices/{id}/mark-paid"), &app.admin_token, &json!({})).await;
    problem(res, StatusCode::CONFLICT).await;
    let (items, _) = read_to_end(&app, &app.admin_token, None, 50).await;
    assert!(items.is_empty(), "a settlement is not in the feed: {items:?}");
    let res = app.post(&format!("/api/v1/accounting/invoices/{id}/ack"), &app.admin_token, &json!({})).await;
    problem(res, StatusCode::CONFLICT).await;
    let listed: Value = app.get("/api/v1/invoices?kind=settlement", &app.admin_token).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let listed: Value = app.get("/api/v1/invoices?kind=invoice", &app.admin_token).await.json().await.unwrap();
    assert!(listed["items"].as_array().unwrap().is_empty());

    // A second run finds nothing to settle.
    let again = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    assert_eq!(again["invoice_ids"], json!([]));

    // Cancelling a settlement opens its positions again; there is no credit note.
    let res = app.post(&format!("/api/v1/invoices/{id}/cancel"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let c: Value = res.json().await.unwrap();
    assert!(c["credit_note"].is_null(), "{c}");
    assert_eq!(c["invoice"]["status"], "cancelled");
    assert_eq!(c["invoice"]["allowed_actions"], json!([]));
    assert_eq!(booking_state(&app, &goodwill["id"]).await, "open");
    let (items, _) = read_to_end(&app, &app.admin_token, None, 50).await;
    assert!(items.is_empty(), "cancelling a settlement adds nothing to the feed: {items:?}");
    let res = app.post(&format!("/api/v1/invoices/{id}/cancel"), &app.admin_token, &json!({})).await;
    problem(res, StatusCode::CONFLICT).await;
    let third = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    assert_eq!(invoice(&app, &third["invoice_ids"][0]).await["kind"], "settlement", "settled anew");
}

#[tokio::test]
async fn a_draft_left_without_lines_cannot_be_issued() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Leer GmbH"})).await["id"].as_i64().unwrap();
    let ticket = create_ticket(&app, json!({"title": "One hour", "customer_id": customer})).await;
    book(&app, json!({"work_date": "2026-11-03", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "work"})).await;
    let run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let id = run["invoice_ids"][0].clone();
    let draft = invoice(&app, &id).await;
    assert_eq!(draft["kind"], "invoice");
    let line = draft["lines"][0]["id"].clone();
    let res = app.delete(&format!("/api/v1/invoices/{id}/lines/{line}"), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    issue_refused(&app, &id, "no lines").await;
    let after = invoice(&app, &id).await;
    assert_eq!((after["status"].as_str(), after["number"].is_null()), (Some("draft"), true), "nothing changed");
    let (items, _) = read_to_end(&app, &app.admin_token, None, 50).await;
    assert!(items.is_empty());
    // With a line again it issues as usual.
    let res = app
        .post(
            &format!("/api/v1/invoices/{id}/lines"),
            &app.admin_token,
            &json!({"description": "Setup", "quantity": "1", "unit": "piece", "unit_price": "10.00", "vat_rate": "19"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    assert!(issue(&app, &id).await["number"].is_string());
}

/// A flat fee billed in advance covers the month's remote support: a second run in the
/// same month finds only covered work and settles it without an invoice.
#[tokio::test]
async fn covered_work_after_the_fee_was_billed_is_settled_not_invoiced() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Pauschal AG"})).await["id"].as_i64().unwrap();
    let res = app
        .post(
            "/api/v1/contracts",
            &app.admin_token,
            &json!({"customer_id": customer, "name": "Managed", "kind": "flat_fee",
              "start_date": "2026-11-01", "fee": "500.00", "covered_service_ids": [remote]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let ticket = create_ticket(&app, json!({"title": "Printer", "customer_id": customer})).await;
    let first = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let fee = issue(&app, &first["invoice_ids"][0]).await;
    assert_eq!(dec(&fee["totals"]["net"]), d("500.00"));
    let covered = book(&app, json!({"work_date": "2026-11-20", "duration_minutes": 90, "service_id": remote, "ticket_id": ticket["id"], "description": "Printer queue"})).await;
    let second = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let s = invoice(&app, &second["invoice_ids"][0]).await;
    assert_eq!((s["kind"].as_str(), s["status"].as_str()), (Some("settlement"), Some("settled")), "{s}");
    assert_eq!(booking_state(&app, &covered["id"]).await, "billed");
    let (items, _) = read_to_end(&app, &app.admin_token, None, 50).await;
    assert_eq!(items.len(), 1, "only the fee invoice is in the feed");

    // The settlement is announced (`invoice.settled`, the settlement as the API shows it), and
    // the ticket whose covered time it settled is billed: by no invoice number.
    let events: Value = app.get("/api/v1/events?type=invoice.settled", &app.admin_token).await.json().await.unwrap();
    let events = events["items"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0]["payload"]["id"].clone(), events[0]["payload"]["status"].clone()),
        (s["id"].clone(), json!("settled"))
    );
    assert_eq!(events[0]["payload"]["kind"], "settlement");
    let billed = crate::helpdesk::tickets_billed_when(&app, 1).await;
    assert_eq!(billed.len(), 1, "{billed:?}");
    assert_eq!(billed[0].0, ticket["id"].as_i64().unwrap());
    assert_eq!(billed[0].1["invoice_numbers"], json!([]));
}

//! End-to-end tests of the accounting pull: the cursor feed of issued invoices and credit
//! notes, and the export acknowledgement — as an accounting system sees them over HTTP.

use crate::bookings::service;
use crate::helpers::*;
use crate::invoices::*;
use crate::tickets::create_ticket;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const FEED: &str = "/api/v1/accounting/invoices";

/// One page of the feed; panics unless 200.
pub async fn feed_page(app: &TestApp, token: &str, cursor: Option<&str>, limit: u32) -> Value {
    let path = match cursor {
        Some(c) => format!("{FEED}?limit={limit}&cursor={c}"),
        None => format!("{FEED}?limit={limit}"),
    };
    let res = app.get(&path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "feed: {}", res.text().await.unwrap_or_default());
    let page: Value = res.json().await.unwrap();
    assert!(page["next_cursor"].is_string(), "next_cursor is always present: {page}");
    assert!(page["has_more"].is_boolean(), "{page}");
    page
}

/// Reads the feed from `cursor` to its end: (documents, cursor to poll with later).
pub async fn read_to_end(app: &TestApp, token: &str, cursor: Option<&str>, limit: u32) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut cursor = cursor.map(str::to_string);
    loop {
        let page = feed_page(app, token, cursor.as_deref(), limit).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        cursor = Some(page["next_cursor"].as_str().unwrap().to_string());
        if page["has_more"] == false {
            return (items, cursor.unwrap_or_default());
        }
    }
}

fn ids(items: &[Value]) -> Vec<Value> {
    items.iter().map(|i| i["id"].clone()).collect()
}

async fn ack(app: &TestApp, token: &str, id: &Value) -> reqwest::Response {
    app.request(Method::POST, &format!("{FEED}/{id}/ack"), Some(token)).send().await.unwrap()
}

/// Books an hour on a new ticket of the customer and commits a draft for that ticket
/// alone: the draft's id.
async fn draft_for_new_ticket(app: &TestApp, customer: i64, service_id: i64, title: &str) -> Value {
    let t = create_ticket(app, json!({"title": title, "customer_id": customer})).await;
    book(app, json!({"work_date": "2026-11-10", "duration_minutes": 60, "service_id": service_id, "ticket_id": t["id"], "description": title})).await;
    let run = commit(app, json!({"scope": "ticket", "scope_id": t["id"], "period_end": "2026-11-30"})).await;
    assert_eq!(run["invoices_created"], 1, "{run}");
    run["invoice_ids"][0].clone()
}

/// A customer with `n` issued invoices (one per ticket, issued in that order): their ids.
async fn issued_invoices(app: &TestApp, n: usize) -> (i64, i64, Vec<Value>) {
    let remote = service(app, "REMOTE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Feed Kunde GmbH"})).await["id"].as_i64().unwrap();
    let mut out = Vec::new();
    for k in 0..n {
        let id = draft_for_new_ticket(app, customer, remote, &format!("Ticket {k}")).await;
        issue(app, &id).await;
        out.push(id);
    }
    (customer, remote, out)
}

#[tokio::test]
async fn the_feed_lists_issued_documents_in_issue_order_with_everything_accounting_needs() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let res = app
        .post(
            "/api/v1/services",
            &app.admin_token,
            &json!({"code": "DOC", "name": "Documentation", "unit": "hour", "kind": "work",
                    "default_price": "50.00", "vat_rate": "7", "billable_by_default": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let reduced = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let domestic = app
        .create_customer(json!({
            "number": "K-4711", "name": "Muster IT GmbH", "vat_id": "DE123456789", "accounting_ref": "D-10001",
            "payment_terms_days": 30, "invoice_detail": "per_booking",
            "address": {"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"}
        }))
        .await["id"]
        .as_i64()
        .unwrap();
    let eu = app
        .create_customer(json!({
            "number": "K-0815", "name": "Wiener Technik GmbH", "vat_id": "ATU12345678",
            "vat_treatment": "eu_reverse_charge",
            "address": {"street": "Ring 2", "postal_code": "1010", "city": "Wien", "country": "AT"}
        }))
        .await["id"]
        .as_i64()
        .unwrap();
    let t = create_ticket(&app, json!({"title": "Server", "customer_id": domestic})).await;
    book(&app, json!({"work_date": "2026-11-03", "duration_minutes": 60, "service_id": remote, "ticket_id": t["id"], "description": "Patching"})).await;
    book(&app, json!({"work_date": "2026-11-04", "duration_minutes": 120, "service_id": reduced, "ticket_id": t["id"], "description": "Runbook"})).await;
    let first_draft = commit(&app, json!({"scope": "customer", "scope_id": domestic, "period_end": "2026-11-30"}))
        .await["invoice_ids"][0]
        .clone();
    let eu_draft = draft_for_new_ticket(&app, eu, remote, "Firewall").await;
    let never_issued = draft_for_new_ticket(&app, domestic, remote, "Still a draft").await;
    // Issued in the opposite order of creation: the feed follows the issue order.
    let eu_issued = issue(&app, &eu_draft).await;
    let domestic_issued = issue(&app, &first_draft).await;

    let (items, _) = read_to_end(&app, &app.admin_token, None, 50).await;
    assert_eq!(ids(&items), vec![eu_draft.clone(), first_draft.clone()], "issue order, no drafts");
    assert!(!ids(&items).contains(&never_issued));
    // The full document as GET /invoices/{id} shows it, but for the settled positions (the
    // proof of service's business, not accounting's).
    let without_positions = |mut v: Value| {
        assert!(v["positions"].is_array(), "single documents list their positions");
        v.as_object_mut().unwrap().remove("positions");
        v
    };
    assert_eq!(items[0], without_positions(eu_issued), "the full document, as GET /invoices/{{id}} shows it");
    assert_eq!(items[1], without_positions(domestic_issued));

    let inv = &items[1];
    assert_eq!(inv["kind"], "invoice");
    assert_eq!(inv["status"], "issued");
    assert!(inv["number"].as_str().unwrap().starts_with("RE-"));
    assert_eq!(inv["currency"], "EUR");
    let c = &inv["customer"];
    assert_eq!(c["number"], "K-4711");
    assert_eq!(c["vat_id"], "DE123456789");
    assert_eq!(c["accounting_ref"], "D-10001");
    assert_eq!(
        c["address"],
        json!({"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"})
    );
    let issue_date = time::Date::parse(
        inv["issue_date"].as_str().unwrap(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    assert_eq!(inv["due_date"], (issue_date + time::Duration::days(30)).to_string(), "30 days payment terms");
    let lines = inv["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{inv}");
    assert!(lines.iter().any(|l| l["description"].as_str().unwrap().contains("Patching")
        && dec(&l["net"]) == d("96.00")
        && dec(&l["vat_rate"]) == d("19")));
    assert!(lines.iter().any(|l| l["description"].as_str().unwrap().contains("Runbook")
        && dec(&l["net"]) == d("100.00")
        && dec(&l["vat_rate"]) == d("7")));
    let vat = inv["vat"].as_array().unwrap();
    assert_eq!(vat.len(), 2, "one entry per VAT rate: {inv}");
    let at = |rate: &str| vat.iter().find(|v| dec(&v["rate"]) == d(rate)).unwrap().clone();
    assert_eq!((dec(&at("19")["net"]), dec(&at("19")["vat"])), (d("96.00"), d("18.24")));
    assert_eq!((dec(&at("7")["net"]), dec(&at("7")["vat"])), (d("100.00"), d("7.00")));
    assert_eq!(dec(&inv["totals"]["net"]), d("196.00"));
    assert_eq!(dec(&inv["totals"]["gross"]), d("221.24"));
    assert_eq!(inv["legal_note"], Value::Null);
    assert_eq!(inv["exported_at"], Value::Null);

    let rc = &items[0];
    assert_eq!(rc["customer"]["vat_id"], "ATU12345678");
    assert_eq!(rc["legal_note"], "reverse_charge");
    assert!(rc["legal_note_text"].as_str().unwrap().contains("Reverse charge"));
    assert_eq!(dec(&rc["totals"]["vat"]), d("0"));
}

#[tokio::test]
async fn paging_one_by_one_returns_every_document_exactly_once_in_issue_order() {
    let app = spawn_app().await;
    let (_, _, issued) = issued_invoices(&app, 4).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for k in 0..issued.len() {
        let page = feed_page(&app, &app.admin_token, cursor.as_deref(), 1).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
        assert_eq!(page["has_more"], k + 1 < issued.len(), "page {k}");
        seen.push(page["items"][0]["id"].clone());
        cursor = Some(page["next_cursor"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, issued, "each document once, in issue order");
    // At the end: nothing more, and the cursor stays where it is.
    let end = feed_page(&app, &app.admin_token, cursor.as_deref(), 1).await;
    assert_eq!(end["items"], json!([]));
    assert_eq!(end["has_more"], false);
    assert_eq!(end["next_cursor"].as_str(), cursor.as_deref());
    // Larger pages give the same sequence.
    let (all, _) = read_to_end(&app, &app.admin_token, None, 3).await;
    assert_eq!(ids(&all), issued);
}

#[tokio::test]
async fn documents_issued_after_the_client_reached_the_end_appear_on_the_next_poll() {
    let app = spawn_app().await;
    // A client that starts before anything was issued gets a cursor to poll with.
    let empty = feed_page(&app, &app.admin_token, None, 10).await;
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["has_more"], false);
    let start = empty["next_cursor"].as_str().unwrap().to_string();

    let (customer, remote, issued) = issued_invoices(&app, 2).await;
    let (first, cursor) = read_to_end(&app, &app.admin_token, Some(&start), 10).await;
    assert_eq!(ids(&first), issued, "nothing issued before the first poll is skipped");
    let again = feed_page(&app, &app.admin_token, Some(&cursor), 10).await;
    assert_eq!(again["items"], json!([]), "no repeat");
    assert_eq!(again["next_cursor"], cursor.as_str());

    // Work goes on: a draft created meanwhile appears only once issued.
    let later = draft_for_new_ticket(&app, customer, remote, "Later").await;
    let before_issue = feed_page(&app, &app.admin_token, Some(&cursor), 10).await;
    assert_eq!(before_issue["items"], json!([]), "drafts never appear");
    issue(&app, &later).await;
    let (next, cursor2) = read_to_end(&app, &app.admin_token, Some(&cursor), 10).await;
    assert_eq!(ids(&next), vec![later.clone()], "the new document, and only it");
    assert_ne!(cursor2, cursor);
    let (rest, _) = read_to_end(&app, &app.admin_token, Some(&cursor2), 10).await;
    assert!(rest.is_empty());
    let (everything, _) = read_to_end(&app, &app.admin_token, None, 10).await;
    assert_eq!(ids(&everything), vec![issued[0].clone(), issued[1].clone(), later]);
}

#[tokio::test]
async fn cancelling_adds_the_credit_note_later_in_the_feed_referencing_the_original() {
    let app = spawn_app().await;
    let (_, _, issued) = issued_invoices(&app, 2).await;
    let (_, cursor) = read_to_end(&app, &app.admin_token, None, 10).await;
    let res = app
        .post(&format!("/api/v1/invoices/{}/cancel", issued[0]), &app.admin_token, &json!({"reason": "wrong rate"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let cancellation: Value = res.json().await.unwrap();
    let credit_id = cancellation["credit_note"]["id"].clone();

    let (new, _) = read_to_end(&app, &app.admin_token, Some(&cursor), 10).await;
    assert_eq!(ids(&new), vec![credit_id.clone()], "only the credit note is new");
    let credit = &new[0];
    assert_eq!(credit["kind"], "credit_note");
    assert_eq!(credit["status"], "issued");
    assert_eq!(credit["cancels"]["id"], issued[0]);
    assert_eq!(credit["cancels"]["number"], cancellation["invoice"]["number"]);
    assert_eq!(dec(&credit["totals"]["gross"]), -dec(&cancellation["invoice"]["totals"]["gross"]));
    assert_eq!(credit["lines"].as_array().unwrap().len(), cancellation["invoice"]["lines"].as_array().unwrap().len());

    // From the start: the original keeps its position and now reads cancelled.
    let (all, _) = read_to_end(&app, &app.admin_token, None, 10).await;
    assert_eq!(ids(&all), vec![issued[0].clone(), issued[1].clone(), credit_id.clone()]);
    assert_eq!(all[0]["status"], "cancelled");
    assert_eq!(all[0]["cancelled_by"]["id"], credit_id);
    assert_eq!(all[1]["status"], "issued");
}

#[tokio::test]
async fn acknowledging_an_export_is_idempotent_and_drafts_cannot_be_acknowledged() {
    let app = spawn_app().await;
    let (customer, remote, issued) = issued_invoices(&app, 2).await;
    let (_, export_key) = app.api_key(&["invoices:export"]).await;
    let res = ack(&app, &export_key, &issued[0]).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["id"], issued[0]);
    let exported_at = first["exported_at"].as_str().expect("exported_at is recorded").to_string();
    let audits = app.audit_count(Some("invoice")).await;

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let res = ack(&app, &export_key, &issued[0]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["exported_at"], exported_at.as_str(), "the first acknowledgement counts");
    assert_eq!(second, first, "the same document");
    assert_eq!(app.audit_count(Some("invoice")).await, audits, "a repeat changes nothing");

    // The feed shows what was acknowledged; the other invoice is still pending.
    let (items, _) = read_to_end(&app, &export_key, None, 10).await;
    assert_eq!(items[0]["exported_at"], exported_at.as_str());
    assert_eq!(items[1]["exported_at"], Value::Null);
    // Each feed item links to the files it can be fetched as.
    let link = &items[1]["documents"][0];
    assert_eq!(link["format"], "pdf");
    assert_eq!(link["href"], format!("/api/v1/invoices/{}/document?format=pdf", issued[1]));
    // (These test customers have no address, which an invoice needs: the link answers so.)
    let res = app.request(Method::GET, link["href"].as_str().unwrap(), Some(&export_key)).send().await.unwrap();
    let p = problem(res, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("customer lacks address"), "{p}");
    // A format that does not exist is refused and records nothing.
    let unknown = app
        .request(Method::POST, &format!("{FEED}/{}/ack", issued[1]), Some(&export_key))
        .json(&json!({"format": "docx"}))
        .send()
        .await
        .unwrap();
    problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invoice(&app, &issued[1]).await["exported_at"], Value::Null);
    // The billing office may acknowledge too (e.g. a manual export), naming the format.
    let (_, billing) = app.user_with_roles(&["billing"]).await;
    let res = app
        .request(Method::POST, &format!("{FEED}/{}/ack", issued[1]), Some(&billing))
        .json(&json!({"format": "xrechnung-cii"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let acked: Value = res.json().await.unwrap();
    assert!(acked["exported_at"].is_string());
    assert_eq!(acked["exported_format"], "xrechnung-cii");
    assert_eq!(first["exported_format"], Value::Null, "an acknowledgement without body names no format");

    let draft = draft_for_new_ticket(&app, customer, remote, "Draft").await;
    let links = invoice(&app, &draft).await["documents"].clone();
    assert_eq!(links.as_array().unwrap().len(), 1, "a draft has no e-invoice yet: {links}");
    assert_eq!(links[0]["format"], "pdf", "only the PDF preview");
    let p = problem(ack(&app, &export_key, &draft).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("draft"), "{p}");
    assert_eq!(invoice(&app, &draft).await["exported_at"], Value::Null, "nothing changed");
    problem(ack(&app, &export_key, &json!(999999)).await, StatusCode::NOT_FOUND).await;
    problem(ack(&app, &export_key, &json!("abc")).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn only_invoice_readers_see_the_feed_and_only_exporters_acknowledge() {
    let app = spawn_app().await;
    let (_, _, issued) = issued_invoices(&app, 1).await;
    let (_, read_key) = app.api_key(&["invoices:read"]).await;
    let (items, _) = read_to_end(&app, &read_key, None, 10).await;
    assert_eq!(ids(&items), issued);
    let p = problem(ack(&app, &read_key, &issued[0]).await, StatusCode::FORBIDDEN).await;
    assert!(p["detail"].is_string(), "{p}");
    // The key also works as X-Api-Key.
    let res = app.client.get(app.url(FEED)).header("x-api-key", &read_key).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let (_, helpdesk) = app.api_key(&["tickets:write"]).await;
    problem(app.get(FEED, &helpdesk).await, StatusCode::FORBIDDEN).await;
    problem(ack(&app, &helpdesk, &issued[0]).await, StatusCode::FORBIDDEN).await;
    let (_, manager) = app.user_with_roles(&["manager"]).await;
    assert_eq!(app.get(FEED, &manager).await.status(), StatusCode::OK, "managers read invoices");
    problem(ack(&app, &manager, &issued[0]).await, StatusCode::FORBIDDEN).await;
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    problem(app.get(FEED, &agent).await, StatusCode::FORBIDDEN).await;
    problem(app.request(Method::GET, FEED, None).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert_eq!(invoice(&app, &issued[0]).await["exported_at"], Value::Null, "refused acks change nothing");
}

#[tokio::test]
async fn bad_feed_requests_are_422_problems() {
    let app = spawn_app().await;
    issued_invoices(&app, 1).await;
    let invoice_list_cursor = "NQ"; // the invoice list's cursor format (a bare id)
    let negative = "eyJhZnRlciI6LTF9"; // {"after":-1}
    let ahead = "eyJhZnRlciI6OTl9"; // {"after":99}: one document was issued, the feed never handed this out
    for (query, field) in [
        ("cursor=not-a-cursor!", "cursor"),
        ("cursor=", "cursor"),
        (&format!("cursor={invoice_list_cursor}") as &str, "cursor"),
        (&format!("cursor={negative}"), "cursor"),
        (&format!("cursor={ahead}"), "cursor"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("since=2026-01-01", "since"),
    ] {
        let p = problem(app.get(&format!("{FEED}?{query}"), &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert_eq!(error_fields(&p), vec![field], "{query}: {p}");
    }
}

#[tokio::test]
async fn a_client_polling_while_invoices_are_issued_concurrently_sees_each_exactly_once() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Parallel GmbH"})).await["id"].as_i64().unwrap();
    let mut drafts = Vec::new();
    for k in 0..6 {
        drafts.push(draft_for_new_ticket(&app, customer, remote, &format!("Ticket {k}")).await);
    }
    let issuing = futures_util::future::join_all(drafts.iter().map(|id| issue(&app, id)));
    let polling = async {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let page = feed_page(&app, &app.admin_token, cursor.as_deref(), 1).await;
            seen.extend(ids(page["items"].as_array().unwrap()));
            cursor = Some(page["next_cursor"].as_str().unwrap().to_string());
            if seen.len() >= drafts.len() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        (seen, cursor)
    };
    let (_, (seen, cursor)) = tokio::join!(issuing, polling);
    let (rest, _) = read_to_end(&app, &app.admin_token, cursor.as_deref(), 10).await;
    assert!(rest.is_empty(), "nothing left behind: {rest:?}");
    let (all, _) = read_to_end(&app, &app.admin_token, None, 10).await;
    assert_eq!(seen, ids(&all), "the poller saw the feed in order, no document skipped or repeated");
    let mut sorted = seen.iter().map(|v| v.as_i64().unwrap()).collect::<Vec<_>>();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), drafts.len());
}

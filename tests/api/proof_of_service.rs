//! End-to-end tests: the proof of service (Leistungsnachweis / Tätigkeitsnachweis) per
//! invoice, ticket and project — every booking with actual vs. billed minutes and its
//! treatment, the notes flagged `in_report`, the date filters and who may read it.

use crate::bookings::{project, service};
use crate::helpers::*;
use crate::invoices::*;
use crate::tickets::{create_ticket, customer_id};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Reads a proof of service as `token`; panics unless 200.
pub async fn proof(app: &TestApp, path: &str, token: &str) -> Value {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

/// Adds a note to a ticket as admin.
async fn note(app: &TestApp, ticket: &Value, body: &str, in_report: bool) -> Value {
    let res = app
        .post(
            &format!("/api/v1/tickets/{}/notes", ticket["id"]),
            &app.admin_token,
            &json!({"body": body, "in_report": in_report, "visibility": "customer"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "note: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

/// The report's booking with this id.
fn booking<'a>(report: &'a Value, id: &Value) -> &'a Value {
    report["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| &b["booking_id"] == id)
        .unwrap_or_else(|| panic!("booking {id} in {report}"))
}

fn booking_ids(report: &Value) -> Vec<Value> {
    report["bookings"].as_array().unwrap().iter().map(|b| b["booking_id"].clone()).collect()
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[tokio::test]
async fn the_invoice_proof_shows_seven_minutes_billed_as_fifteen_the_goodwill_work_and_only_the_report_notes() {
    let app = spawn_app().await;
    let (tech, _) = app.user_with_roles(&["agent"]).await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    let ticket = create_ticket(&app, json!({"title": "VPN drops", "customer_id": customer})).await;
    let quick = book(
        &app,
        json!({"user_id": tech, "work_date": "2026-11-05", "start_time": "09:15", "end_time": "09:22",
        "service_id": remote, "ticket_id": ticket["id"], "description": "Reset VPN profile"}),
    )
    .await;
    let goodwill = book(
        &app,
        json!({"work_date": "2026-11-06", "duration_minutes": 45, "service_id": remote,
        "ticket_id": ticket["id"], "billable": false, "description": "Explained the new client"}),
    )
    .await;
    note(&app, &ticket, "Customer confirmed the VPN is stable again", true).await;
    note(&app, &ticket, "Internal: check the firewall firmware next week", false).await;

    let run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let id = run["invoice_ids"][0].clone();
    let issued = issue(&app, &id).await;
    let report = proof(&app, &format!("/api/v1/invoices/{id}/proof-of-service"), &app.admin_token).await;

    assert_eq!(report["scope"], "invoice");
    assert_eq!(report["invoice"]["id"], id);
    assert_eq!(report["invoice"]["number"], issued["number"]);
    assert_eq!(report["invoice"]["status"], "issued");
    assert_eq!(report["customer"]["id"], customer);
    assert_eq!(booking_ids(&report), vec![quick["id"].clone(), goodwill["id"].clone()], "by work date");
    let b = booking(&report, &quick["id"]);
    assert_eq!(b["work_date"], "2026-11-05");
    assert_eq!((b["start_time"].as_str(), b["end_time"].as_str()), (Some("09:15"), Some("09:22")));
    assert_eq!(b["user"], json!({"id": tech, "name": "Test User"}));
    assert_eq!(b["ticket"], json!({"id": ticket["id"], "number": ticket["number"], "title": "VPN drops"}));
    assert_eq!(b["service"]["id"], remote);
    assert_eq!(b["service"]["code"], "REMOTE");
    assert_eq!(b["description"], "Reset VPN profile");
    assert_eq!(b["actual_minutes"], 7);
    assert_eq!(b["billed_minutes"], 15, "rounded up to the default 15 minutes");
    assert_eq!(b["covered_minutes"], 0);
    assert_eq!(b["treatment"], "billed");
    assert_eq!(b["invoice"], json!({"id": id, "number": issued["number"], "status": "issued"}));
    let g = booking(&report, &goodwill["id"]);
    assert_eq!(g["treatment"], "non_billable");
    assert_eq!(g["billable"], false);
    assert_eq!((g["actual_minutes"].as_i64(), g["billed_minutes"].as_i64()), (Some(45), Some(0)));
    assert_eq!(
        report["totals"],
        json!({"bookings": 2, "actual_minutes": 52, "billed_minutes": 15, "covered_minutes": 0,
               "non_billable_minutes": 45, "open_minutes": 0})
    );
    let tickets = report["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["number"], ticket["number"]);
    assert_eq!(tickets[0]["totals"], report["totals"]);
    let notes = tickets[0]["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "only the note flagged in_report: {notes:?}");
    assert_eq!(notes[0]["text"], "Customer confirmed the VPN is stable again");
    assert_eq!(notes[0]["author"]["name"], ADMIN_EMAIL);
    assert_eq!(notes[0]["date"], today());
    assert_eq!(notes[0]["entry_type"], "note");
    assert_eq!(report["missing_positions"], 0);

    // The ticket's report now names the issued invoice.
    let t = proof(&app, &format!("/api/v1/tickets/{}/proof-of-service", ticket["id"]), &app.admin_token).await;
    assert_eq!(booking(&t, &quick["id"])["invoice"]["number"], issued["number"]);
    assert_eq!(booking(&t, &quick["id"])["billed_minutes"], 15);

    // Cancelled, the invoice still shows what it billed; the ticket's work is open again.
    let res = app.post(&format!("/api/v1/invoices/{id}/cancel"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let cancelled = proof(&app, &format!("/api/v1/invoices/{id}/proof-of-service"), &app.admin_token).await;
    assert_eq!(cancelled["invoice"]["status"], "cancelled");
    assert_eq!(cancelled["totals"], report["totals"]);
    assert_eq!(booking(&cancelled, &quick["id"])["treatment"], "billed");
    assert_eq!(booking(&cancelled, &quick["id"])["invoice"]["status"], "cancelled");
    let t = proof(&app, &format!("/api/v1/tickets/{}/proof-of-service", ticket["id"]), &app.admin_token).await;
    assert_eq!(booking(&t, &quick["id"])["treatment"], "open");
    assert_eq!(booking(&t, &quick["id"])["invoice"], Value::Null);
    // A booking deleted after the cancellation leaves the cancelled invoice's lists.
    assert_eq!(
        app.delete(&format!("/api/v1/bookings/{}", goodwill["id"]), &app.admin_token).await.status(),
        StatusCode::NO_CONTENT
    );
    let cancelled = proof(&app, &format!("/api/v1/invoices/{id}/proof-of-service"), &app.admin_token).await;
    assert_eq!(booking_ids(&cancelled), vec![quick["id"].clone()]);
    assert_eq!(cancelled["missing_positions"], 1);
}

/// Flat fee covering remote support: 3 h remote are covered (nothing billed), 1 h on-site
/// is billed on top.
#[tokio::test]
async fn work_covered_by_a_flat_fee_shows_as_covered_and_extra_work_as_billed() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let onsite = service(&app, "ONSITE", "hour", true).await;
    let disk = service(&app, "HDD1TB", "piece", true).await;
    let customer = customer_id(&app).await;
    let res = app
        .post("/api/v1/rates", &app.admin_token, &json!({"owner_type": "customer", "owner_id": customer, "service_id": onsite, "unit_price": "120.00", "valid_from": "2026-01-01"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let res = app
        .post("/api/v1/contracts", &app.admin_token, &json!({"customer_id": customer, "name": "Managed workplace", "kind": "flat_fee",
              "start_date": "2026-11-01", "billing_period": "monthly", "fee": "500.00", "covered_service_ids": [remote]}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let ticket = create_ticket(&app, json!({"title": "New workstation", "customer_id": customer})).await;
    let covered = book(&app, json!({"work_date": "2026-11-03", "duration_minutes": 180, "service_id": remote, "ticket_id": ticket["id"], "description": "Remote setup"})).await;
    let extra = book(&app, json!({"work_date": "2026-11-04", "duration_minutes": 60, "service_id": onsite, "ticket_id": ticket["id"], "description": "Installed the disk"})).await;
    let res = app
        .post("/api/v1/expenses", &app.admin_token, &json!({"expense_date": "2026-11-04", "service_id": disk, "quantity": "1", "unit_price": "89.00", "ticket_id": ticket["id"], "description": "Hard disk 1 TB"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());

    let run = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    let id = run["invoice_ids"][0].clone();
    issue(&app, &id).await;
    let report = proof(&app, &format!("/api/v1/invoices/{id}/proof-of-service"), &app.admin_token).await;
    let c = booking(&report, &covered["id"]);
    assert_eq!(c["treatment"], "covered");
    assert_eq!((c["actual_minutes"].as_i64(), c["covered_minutes"].as_i64()), (Some(180), Some(180)));
    assert_eq!(c["billed_minutes"], 0);
    let e = booking(&report, &extra["id"]);
    assert_eq!((e["treatment"].as_str(), e["billed_minutes"].as_i64()), (Some("billed"), Some(60)));
    assert_eq!(report["bookings"].as_array().unwrap().len(), 2, "the fee is no booking");
    assert_eq!(report["totals"]["covered_minutes"], 180);
    assert_eq!(report["totals"]["billed_minutes"], 60);
    let expenses = report["expenses"].as_array().unwrap();
    assert_eq!(expenses.len(), 1);
    assert_eq!(expenses[0]["description"], "Hard disk 1 TB");
    assert_eq!(dec(&expenses[0]["quantity"]), d("1"));
    assert_eq!(expenses[0]["unit"], "piece");
    assert_eq!(expenses[0]["treatment"], "billed");
    assert_eq!(expenses[0]["ticket"]["id"], ticket["id"]);
}

#[tokio::test]
async fn before_invoicing_the_ticket_proof_shows_open_work_and_then_the_draft_without_number() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    let ticket = create_ticket(&app, json!({"title": "Printer", "customer_id": customer})).await;
    let other = create_ticket(&app, json!({"title": "Other", "customer_id": customer})).await;
    let a = book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 20, "service_id": remote, "ticket_id": ticket["id"], "description": "Driver"})).await;
    book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 30, "service_id": remote, "ticket_id": other["id"], "description": "Elsewhere"})).await;
    note(&app, &other, "Not this ticket's note", true).await;

    let path = format!("/api/v1/tickets/{}/proof-of-service", ticket["id"]);
    let report = proof(&app, &path, &app.admin_token).await;
    assert_eq!(report["scope"], "ticket");
    assert_eq!(report["ticket"]["id"], ticket["id"]);
    assert_eq!(report["customer"]["id"], customer);
    assert_eq!(booking_ids(&report), vec![a["id"].clone()], "only this ticket's work");
    let b = booking(&report, &a["id"]);
    assert_eq!(b["treatment"], "open");
    assert_eq!((b["billed_minutes"].clone(), b["covered_minutes"].clone()), (Value::Null, Value::Null));
    assert_eq!(b["invoice"], Value::Null);
    assert_eq!(report["totals"]["open_minutes"], 20);
    assert_eq!(report["totals"]["billed_minutes"], 0);
    assert_eq!(report["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(report["tickets"][0]["notes"], json!([]));

    let run = commit(&app, json!({"scope": "ticket", "scope_id": ticket["id"], "period_end": "2026-11-30"})).await;
    let report = proof(&app, &path, &app.admin_token).await;
    let b = booking(&report, &a["id"]);
    assert_eq!(b["treatment"], "billed");
    assert_eq!(b["billed_minutes"], 30, "20 minutes rounded up to two quarter hours");
    assert_eq!(b["invoice"], json!({"id": run["invoice_ids"][0], "number": null, "status": "draft"}));
    assert_eq!(report["totals"]["open_minutes"], 0);

    // A corrected note is replaced by its correction.
    let wrong = note(&app, &ticket, "Replaced the toner", true).await;
    let res = app
        .post(
            &format!("/api/v1/tickets/{}/notes", ticket["id"]),
            &app.admin_token,
            &json!({"body": "Replaced the drum unit", "in_report": true, "corrects_id": wrong["id"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let report = proof(&app, &path, &app.admin_token).await;
    let texts: Vec<&Value> = report["tickets"][0]["notes"].as_array().unwrap().iter().map(|n| &n["text"]).collect();
    assert_eq!(texts, vec!["Replaced the drum unit"]);

    // A ticket without any work still has a (empty) report.
    let empty = create_ticket(&app, json!({"title": "Empty", "customer_id": customer})).await;
    let report = proof(&app, &format!("/api/v1/tickets/{}/proof-of-service", empty["id"]), &app.admin_token).await;
    assert_eq!(report["bookings"], json!([]));
    assert_eq!(report["tickets"][0]["id"], empty["id"]);
    assert_eq!(report["totals"]["bookings"], 0);
}

#[tokio::test]
async fn the_project_proof_lists_the_work_on_the_project_and_its_tickets_within_the_dates() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    let rollout = project(&app, json!({"name": "Rollout", "customer_id": customer})).await;
    let ticket = create_ticket(&app, json!({"title": "Client 1", "project_id": rollout["id"]})).await;
    let elsewhere = create_ticket(&app, json!({"title": "Unrelated", "customer_id": customer})).await;
    let october = book(&app, json!({"work_date": "2026-10-30", "duration_minutes": 60, "service_id": remote, "project_id": rollout["id"], "description": "Planning"})).await;
    let on_ticket = book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 90, "service_id": remote, "ticket_id": ticket["id"], "description": "Imaged client 1"})).await;
    let on_project = book(&app, json!({"work_date": "2026-11-20", "duration_minutes": 30, "service_id": remote, "project_id": rollout["id"], "description": "Status meeting"})).await;
    let december = book(&app, json!({"work_date": "2026-12-02", "duration_minutes": 15, "service_id": remote, "project_id": rollout["id"], "description": "Handover"})).await;
    book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 45, "service_id": remote, "ticket_id": elsewhere["id"], "description": "Not the project"})).await;
    note(&app, &ticket, "Client 1 handed over to the user", true).await;

    let all = proof(&app, &format!("/api/v1/projects/{}/proof-of-service", rollout["id"]), &app.admin_token).await;
    assert_eq!(all["scope"], "project");
    assert_eq!(all["project"], json!({"id": rollout["id"], "name": "Rollout"}));
    assert_eq!(all["customer"]["id"], customer);
    assert_eq!(
        booking_ids(&all),
        vec![october["id"].clone(), on_ticket["id"].clone(), on_project["id"].clone(), december["id"].clone()]
    );
    assert_eq!(all["totals"]["actual_minutes"], 195);
    assert_eq!(booking(&all, &on_project["id"])["project"]["name"], "Rollout");
    assert_eq!(booking(&all, &on_project["id"])["ticket"], Value::Null);
    let tickets = all["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1, "the project's ticket, not the unrelated one");
    assert_eq!(tickets[0]["totals"]["actual_minutes"], 90);
    assert_eq!(tickets[0]["notes"][0]["text"], "Client 1 handed over to the user");

    let path = format!("/api/v1/projects/{}/proof-of-service?from=2026-11-01&to=2026-11-30", rollout["id"]);
    let november = proof(&app, &path, &app.admin_token).await;
    assert_eq!((november["from"].as_str(), november["to"].as_str()), (Some("2026-11-01"), Some("2026-11-30")));
    assert_eq!(booking_ids(&november), vec![on_ticket["id"].clone(), on_project["id"].clone()]);
    assert_eq!(november["totals"]["actual_minutes"], 120);
    assert_eq!(november["totals"]["open_minutes"], 120);
    let in_november = today().starts_with("2026-11");
    let notes = november["tickets"][0]["notes"].as_array().unwrap();
    assert_eq!(notes.len(), usize::from(in_november), "notes written in the period only");
    let from_only =
        proof(&app, &format!("/api/v1/projects/{}/proof-of-service?from=2026-11-21", rollout["id"]), &app.admin_token)
            .await;
    assert_eq!(booking_ids(&from_only), vec![december["id"].clone()]);

    for query in ["from=2026-12-01&to=2026-11-01", "from=01.11.2026", "since=2026-11-01"] {
        let p = problem(
            app.get(&format!("/api/v1/projects/{}/proof-of-service?{query}", rollout["id"]), &app.admin_token).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p["errors"].as_array().map(Vec::len), Some(1), "{query}: {p}");
    }
}

#[tokio::test]
async fn only_billing_managers_admins_and_invoice_readers_see_proofs_and_unknown_ids_are_404() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    let rollout = project(&app, json!({"name": "Rollout", "customer_id": customer})).await;
    let ticket = create_ticket(&app, json!({"title": "VPN", "customer_id": customer})).await;
    book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Setup"})).await;
    let run = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    let paths = [
        format!("/api/v1/invoices/{}/proof-of-service", run["invoice_ids"][0]),
        format!("/api/v1/tickets/{}/proof-of-service", ticket["id"]),
        format!("/api/v1/projects/{}/proof-of-service", rollout["id"]),
    ];
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    let (_, viewer) = app.user_with_roles(&["viewer"]).await;
    let (_, billing) = app.user_with_roles(&["billing"]).await;
    let (_, manager) = app.user_with_roles(&["manager"]).await;
    let (_, accounting) = app.api_key(&["invoices:read"]).await;
    let (_, helpdesk) = app.api_key(&["tickets:write", "bookings:write"]).await;
    for path in &paths {
        problem(app.get(path, &agent).await, StatusCode::FORBIDDEN).await;
        problem(app.get(path, &viewer).await, StatusCode::FORBIDDEN).await;
        problem(app.get(path, &helpdesk).await, StatusCode::FORBIDDEN).await;
        problem(app.request(Method::GET, path, None).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        for token in [&billing, &manager, &accounting] {
            assert_eq!(app.get(path, token).await.status(), StatusCode::OK, "{path}");
        }
    }
    for path in [
        "/api/v1/invoices/99999/proof-of-service",
        "/api/v1/tickets/99999/proof-of-service",
        "/api/v1/projects/99999/proof-of-service",
        "/api/v1/invoices/abc/proof-of-service",
    ] {
        problem(app.get(path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }
}

/// Issue 10, item 5: a report is bounded (`KONTOR_MAX_REPORT_ENTRIES`); a longer one is 422
/// naming the period to narrow, and the narrowed report is complete.
#[tokio::test]
async fn a_report_longer_than_the_bound_asks_for_a_narrower_period() {
    let app = spawn_app_with(|c| c.max_report_entries = 2).await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    let rollout = project(&app, json!({"name": "Rollout", "customer_id": customer})).await;
    let ticket = create_ticket(&app, json!({"title": "Client 1", "project_id": rollout["id"]})).await;
    for day in ["2026-10-30", "2026-11-05", "2026-11-20"] {
        book(&app, json!({"work_date": day, "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Work"})).await;
    }
    for path in [
        format!("/api/v1/projects/{}/proof-of-service", rollout["id"]),
        format!("/api/v1/tickets/{}/proof-of-service", ticket["id"]),
    ] {
        let p = problem(app.get(&path, &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec!["from".to_string(), "to".to_string()], "{p}");
        assert_eq!(p["errors"][0]["code"], "report_too_large");
        assert!(p["errors"][0]["message"].as_str().unwrap().contains("more than 2"), "{p}");
        let november = proof(&app, &format!("{path}?from=2026-11-01&to=2026-11-30"), &app.admin_token).await;
        assert_eq!(november["bookings"].as_array().unwrap().len(), 2);
        assert_eq!(november["totals"]["actual_minutes"], 120);
    }
}

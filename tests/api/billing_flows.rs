//! End-to-end tests: billing flows across runs — prepaid quota through drafts, issue and
//! cancellation (`/contracts/{id}/quota`), fees billed once, contract-scoped runs, customers
//! billed per resolved ticket, and projects moving to `billed`.

use crate::bookings::service;
use crate::cluster::Sql;
use crate::helpers::*;
use crate::invoice_runs::preview;
use crate::invoices::{book, commit, d, dec, invoice, issue};
use crate::projects::{create_project, expect_status};
use crate::tickets::create_ticket;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn quota(app: &TestApp, contract: i64, period: &str) -> Value {
    let res = app.get(&format!("/api/v1/contracts/{contract}/quota?period={period}"), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK, "quota: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

async fn contract(app: &TestApp, body: Value) -> i64 {
    let res = app.post("/api/v1/contracts", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "contract: {}", res.text().await.unwrap_or_default());
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

fn hours(h: i64) -> i64 {
    h * 60
}

/// 10 h per month for 800.00, unused hours carried (at most 5 h), overage at 90.00.
async fn prepaid_customer(app: &TestApp) -> (i64, i64, i64, Value) {
    let remote = service(app, "REMOTE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Kontingent GmbH", "invoice_detail": "per_booking"})).await["id"]
        .as_i64()
        .unwrap();
    let c = contract(
        app,
        json!({"customer_id": customer, "name": "Support 10 h", "kind": "prepaid_hours", "start_date": "2026-11-01",
               "fee": "800.00", "hours_per_period": "10", "carry_over": {"policy": "carry", "cap": "5"},
               "overage": {"type": "tiers", "tiers": [{"up_to_hours": null, "unit_price": "90.00"}]}}),
    )
    .await;
    let ticket = create_ticket(app, json!({"title": "Support", "customer_id": customer})).await;
    (customer, c, remote, ticket)
}

/// November: 6 h used of 10 → 4 h carried into December; December: 12 h, of which the 4
/// carried hours and 8 of December's 10 are covered; cancelling December's invoice gives
/// its consumption back and its fee and work are billed again by the next run — once.
#[tokio::test]
async fn prepaid_hours_are_consumed_carried_and_reversed_through_the_ledger() {
    let app = spawn_app().await;
    let (customer, c, remote, ticket) = prepaid_customer(&app).await;
    book(&app, json!({"work_date": "2026-11-10", "duration_minutes": hours(6), "service_id": remote, "ticket_id": ticket["id"], "description": "Nov"})).await;

    let before = quota(&app, c, "2026-11-15").await;
    assert_eq!(before["ledger"]["projected"], true, "no invoice reached November yet");
    assert_eq!(dec(&before["ledger"]["granted"]), d("600"));
    assert_eq!(dec(&before["ledger"]["used"]), d("0"));

    let nov = commit(
        &app,
        json!({"scope": "customer", "scope_id": customer, "period_start": "2026-11-01", "period_end": "2026-11-30"}),
    )
    .await;
    let nov_id = nov["invoice_ids"][0].clone();
    let draft = invoice(&app, &nov_id).await;
    assert_eq!(dec(&draft["totals"]["net"]), d("800.00"), "the fee; the 6 h are covered");
    let q = quota(&app, c, "2026-11-15").await;
    assert_eq!(dec(&q["ledger"]["used"]), d("0"), "a draft writes no ledger entry yet");
    assert_eq!(dec(&q["including_drafts"]["used"]), d("360"));
    assert_eq!(q["including_drafts"]["closed"], true);
    assert_eq!(dec(&q["including_drafts"]["carried_out"]), d("240"));
    assert_eq!(dec(&q["including_drafts"]["used_hours"]), d("6"), "hours next to the minutes");
    assert_eq!(dec(&q["including_drafts"]["carried_out_hours"]), d("4"));
    assert_eq!(dec(&q["including_drafts"]["available"]), d("0"), "carried into December at the close");
    assert_eq!(dec(&q["ledger"]["available"]), d("600"), "nothing written yet: the whole grant");
    assert_eq!(dec(&q["ledger"]["available_hours"]), d("10"));

    issue(&app, &nov_id).await;
    let q = quota(&app, c, "2026-11-15").await;
    assert_eq!(q["ledger"]["projected"], false);
    assert_eq!(dec(&q["ledger"]["used"]), d("360"));
    assert_eq!(dec(&q["ledger"]["remaining"]), d("0"), "carried out at the close");
    assert!(q["entries"].as_array().unwrap().iter().any(|e| e["kind"] == "consumption"));
    let dec_q = quota(&app, c, "2026-12-01").await;
    assert_eq!(dec(&dec_q["ledger"]["carried_in"]), d("240"));
    assert_eq!(dec(&dec_q["ledger"]["remaining"]), d("840"), "10 h + 4 h carried");
    assert_eq!(dec(&dec_q["ledger"]["available"]), d("840"));
    assert_eq!(dec(&dec_q["ledger"]["available_hours"]), d("14"));
    assert_eq!(dec(&dec_q["ledger"]["carried_in_hours"]), d("4"));

    book(&app, json!({"work_date": "2026-12-03", "duration_minutes": hours(12), "service_id": remote, "ticket_id": ticket["id"], "description": "Dec"})).await;
    let dec_run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-12-31"})).await;
    let dec_id = dec_run["invoice_ids"][0].clone();
    let dec_inv = invoice(&app, &dec_id).await;
    let fee_lines: Vec<&Value> = dec_inv["lines"].as_array().unwrap().iter().filter(|l| l["kind"] == "fee").collect();
    assert_eq!(fee_lines.len(), 1, "December's fee only; November's was billed");
    assert!(fee_lines[0]["description"].as_str().unwrap().contains("2026-12-01"), "{}", fee_lines[0]);
    assert_eq!(dec(&dec_inv["totals"]["net"]), d("800.00"), "12 h within 14 h available");
    issue(&app, &dec_id).await;
    let q = quota(&app, c, "2026-12-15").await;
    assert_eq!(dec(&q["ledger"]["used"]), d("720"));
    assert_eq!(dec(&q["ledger"]["carried_out"]), d("120"), "2 h left, carried into January at the close");
    let events: Value =
        app.get("/api/v1/events?type=contract.quota_threshold", &app.admin_token).await.json().await.unwrap();
    assert!(!events["items"].as_array().unwrap().is_empty(), "80 % of December crossed: {events}");

    let res = app.post(&format!("/api/v1/invoices/{dec_id}/cancel"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let q = quota(&app, c, "2026-12-15").await;
    assert_eq!(dec(&q["ledger"]["used"]), d("0"), "the credit note reversed the consumption");
    assert!(q["entries"].as_array().unwrap().iter().any(|e| e["kind"] == "reversal"));
    let again = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-12-31"})).await;
    let again_inv = invoice(&app, &again["invoice_ids"][0]).await;
    let fees = again_inv["lines"].as_array().unwrap().iter().filter(|l| l["kind"] == "fee").count();
    assert_eq!(fees, 1, "the cancelled fee is billed again, once");
    assert_eq!(again["positions_reserved"], 2, "the fee and the booking");
}

#[tokio::test]
async fn a_draft_a_later_draft_builds_on_cannot_be_deleted_first() {
    let app = spawn_app().await;
    let (customer, _, remote, ticket) = prepaid_customer(&app).await;
    book(&app, json!({"work_date": "2026-11-10", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Nov"})).await;
    let nov = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let dec_run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-12-31"})).await;
    let (a, b) = (nov["invoice_ids"][0].clone(), dec_run["invoice_ids"][0].clone());
    let p = problem(app.delete(&format!("/api/v1/invoices/{a}"), &app.admin_token).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("later"), "{p}");
    assert_eq!(app.delete(&format!("/api/v1/invoices/{b}"), &app.admin_token).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&format!("/api/v1/invoices/{a}"), &app.admin_token).await.status(), StatusCode::NO_CONTENT);
    // Quota lines cannot be cut out of a draft either.
    let nov = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let draft = invoice(&app, &nov["invoice_ids"][0]).await;
    assert_eq!(draft["lines"].as_array().unwrap().len(), 1, "only the fee: the hour is covered");
}

#[tokio::test]
async fn a_quota_of_a_contract_without_one_or_outside_its_term_is_refused() {
    let app = spawn_app().await;
    let (customer, c, _, _) = prepaid_customer(&app).await;
    let tm = contract(
        &app,
        json!({"customer_id": customer, "name": "Hourly", "kind": "time_and_material", "start_date": "2026-01-01"}),
    )
    .await;
    problem(app.get(&format!("/api/v1/contracts/{tm}/quota"), &app.admin_token).await, StatusCode::NOT_FOUND).await;
    let p = problem(
        app.get(&format!("/api/v1/contracts/{c}/quota?period=2026-10-15"), &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["period"]);
    problem(
        app.get(&format!("/api/v1/contracts/{c}/quota?period=soon"), &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(app.get("/api/v1/contracts/99999/quota", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    problem(app.get(&format!("/api/v1/contracts/{c}/quota"), &agent).await, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn a_contract_run_bills_that_contract_only_and_a_separate_contract_gets_its_own_invoice() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let onsite = service(&app, "ONSITE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Zwei Verträge AG"})).await["id"].as_i64().unwrap();
    let flat = contract(
        &app,
        json!({"customer_id": customer, "name": "Managed", "kind": "flat_fee", "start_date": "2026-11-01",
        "fee": "500.00", "covered_service_ids": [remote], "separate_invoice": true}),
    )
    .await;
    let hourly = contract(
        &app,
        json!({"customer_id": customer, "name": "On-site", "kind": "time_and_material", "start_date": "2026-01-01",
        "covered_service_ids": [onsite]}),
    )
    .await;
    let t = create_ticket(&app, json!({"title": "Rollout", "customer_id": customer})).await;
    book(&app, json!({"work_date": "2026-11-03", "duration_minutes": 60, "service_id": remote, "ticket_id": t["id"], "description": "remote"})).await;
    book(&app, json!({"work_date": "2026-11-04", "duration_minutes": 60, "service_id": onsite, "ticket_id": t["id"], "description": "on site"})).await;

    let run = commit(&app, json!({"scope": "contract", "scope_id": hourly, "period_end": "2026-11-30"})).await;
    assert_eq!(run["invoices_created"], 1);
    let inv = invoice(&app, &run["invoice_ids"][0]).await;
    assert_eq!(inv["contract_id"], hourly);
    assert_eq!(dec(&inv["totals"]["net"]), d("96.00"), "the on-site hour only, no flat fee");
    // The rest: the flat fee's separate invoice with its covered work.
    let rest = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    assert_eq!(rest["invoices_created"], 1);
    let sep = invoice(&app, &rest["invoice_ids"][0]).await;
    assert_eq!(sep["contract_id"], flat);
    assert_eq!(dec(&sep["totals"]["net"]), d("500.00"));
    let p = problem(
        app.post(
            "/api/v1/invoice-runs",
            &app.admin_token,
            &json!({"mode": "commit", "scope": "contract", "scope_id": 4242, "period_end": "2026-11-30"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["scope_id"]);
}

async fn move_ticket(app: &TestApp, id: &Value, statuses: &[&str]) {
    for s in statuses {
        let res = app.post(&format!("/api/v1/tickets/{id}/status"), &app.admin_token, &json!({"status": s})).await;
        assert_eq!(res.status(), StatusCode::OK, "→ {s}: {}", res.text().await.unwrap_or_default());
    }
}

#[tokio::test]
async fn a_customer_billed_per_ticket_gets_a_draft_when_the_ticket_is_resolved() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer =
        app.create_customer(json!({"name": "Sofort KG", "billing_mode": "immediate"})).await["id"].as_i64().unwrap();
    let done = create_ticket(&app, json!({"title": "Done soon", "customer_id": customer})).await;
    let waiting = create_ticket(&app, json!({"title": "Still open", "customer_id": customer})).await;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let b = book(&app, json!({"work_date": today, "duration_minutes": 60, "service_id": remote, "ticket_id": done["id"], "description": "fixed"})).await;
    book(&app, json!({"work_date": today, "duration_minutes": 30, "service_id": remote, "ticket_id": waiting["id"], "description": "ongoing"})).await;

    // The periodic run leaves the work on unresolved tickets of this customer alone.
    let periodic = commit(&app, json!({"scope": "all", "period_end": today})).await;
    assert_eq!(periodic["positions_reserved"], 0);

    move_ticket(&app, &done["id"], &["open", "in_progress", "resolved"]).await;
    let drafts: Value =
        app.get(&format!("/api/v1/invoices?ticket_id={}", done["id"]), &app.admin_token).await.json().await.unwrap();
    let items = drafts["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{drafts}");
    assert_eq!(items[0]["status"], "draft");
    assert_eq!(items[0]["ticket_id"], done["id"]);
    assert_eq!(items[0]["lines"][0]["positions"][0]["id"], b["id"]);
    let run: Value =
        app.get(&format!("/api/v1/invoice-runs/{}", items[0]["run_id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(run["started_via"], "ticket_resolved");
    assert_eq!(run["scope"], "ticket");
    let other: Value =
        app.get(&format!("/api/v1/invoices?ticket_id={}", waiting["id"]), &app.admin_token).await.json().await.unwrap();
    assert!(other["items"].as_array().unwrap().is_empty());
    // Reopened and resolved again: nothing new to bill, no second draft.
    move_ticket(&app, &done["id"], &["open", "in_progress", "resolved"]).await;
    let drafts: Value =
        app.get(&format!("/api/v1/invoices?ticket_id={}", done["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(drafts["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_run_that_bills_the_last_open_work_of_a_finished_project_marks_it_billed() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Projekt GmbH"})).await["id"].as_i64().unwrap();
    let finished = create_project(&app, json!({"name": "Finished", "customer_id": customer})).await;
    let ongoing = create_project(&app, json!({"name": "Ongoing", "customer_id": customer})).await;
    for (p, date) in [(&finished, "2026-11-05"), (&ongoing, "2026-11-06"), (&ongoing, "2026-12-06")] {
        book(&app, json!({"work_date": date, "duration_minutes": 60, "service_id": remote, "project_id": p["id"], "description": "work"})).await;
    }
    for p in [&finished, &ongoing] {
        for s in ["lead_done", "manager_done"] {
            expect_status(&app, &p["id"], &app.admin_token, s).await;
        }
    }
    let run = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    assert_eq!(run["projects_billed"], json!([finished["id"]]));
    let f: Value =
        app.get(&format!("/api/v1/projects/{}", finished["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(f["status"], "billed");
    let o: Value =
        app.get(&format!("/api/v1/projects/{}", ongoing["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(o["status"], "manager_done", "December's work is still open");
}

#[tokio::test]
async fn a_run_interrupted_before_the_project_step_marks_the_finished_project_billed_when_retried() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Abbruch GmbH"})).await["id"].as_i64().unwrap();
    let project = create_project(&app, json!({"name": "Rollout", "customer_id": customer})).await;
    book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": remote, "project_id": project["id"], "description": "work"})).await;
    for s in ["lead_done", "manager_done"] {
        expect_status(&app, &project["id"], &app.admin_token, s).await;
    }
    let body = json!({"mode": "commit", "scope": "all", "period_end": "2026-11-30"});
    let send = || async {
        let res = app
            .request(reqwest::Method::POST, "/api/v1/invoice-runs", Some(&app.admin_token))
            .header("idempotency-key", "run-nov-crash")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!([StatusCode::ACCEPTED, StatusCode::OK].contains(&res.status()), "{}", res.status());
        let run = res.json::<Value>().await.unwrap();
        app.wait_for_job(&format!("/api/v1/invoice-runs/{}", run["id"])).await
    };
    let first = send().await;
    assert_eq!(first["projects_billed"], json!([project["id"]]));

    // The process died after the drafts were stored and before the project step: the project
    // still `manager_done`, the run record `running` without a live lease, the key released
    // as after a failed request. The job worker resumes the run (or the retry finds it).
    let sql = Sql::connect(&app.database_url).await;
    sql.run(&format!("UPDATE projects SET status = 'manager_done' WHERE id = {}", project["id"])).await;
    sql.run("UPDATE invoice_runs SET status = 'running', finished_at = NULL, projects_billed = '[]'").await;
    sql.run("DELETE FROM idempotency_keys WHERE idem_key = 'run-nov-crash'").await;

    let retried = send().await;
    assert_eq!(retried["id"], first["id"], "the same run is continued");
    assert_eq!(retried["status"], "succeeded");
    assert_eq!(retried["invoice_ids"], first["invoice_ids"], "no new draft");
    assert_eq!(retried["projects_billed"], json!([project["id"]]), "the resumed run finishes the project step");
    let p: Value =
        app.get(&format!("/api/v1/projects/{}", project["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(p["status"], "billed");
    assert_eq!(sql.count("SELECT COUNT(*) FROM invoices").await, 1, "one draft only");
}

/// The lines of a document as (kind, description, net), to compare documents.
pub fn line_summary(inv: &Value) -> Vec<(String, String, String)> {
    inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["kind"].as_str().unwrap().into(), l["description"].as_str().unwrap().into(), l["net"].to_string()))
        .collect()
}

/// Issue 16: January (6 h) and February (12 h, 4 of them carried from January) are billed
/// and issued; then January is cancelled. Every later run bills January's fee again —
/// once — with its work covered by January's quota exactly as first billed, and February's
/// invoice and quota stay as they were.
#[tokio::test]
async fn a_cancelled_earlier_fee_period_is_billed_again_after_later_periods_were_issued() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = app.create_customer(json!({"name": "Gutschrift GmbH", "invoice_detail": "per_booking"})).await["id"]
        .as_i64()
        .unwrap();
    let c = contract(
        &app,
        json!({"customer_id": customer, "name": "Support 10 h", "kind": "prepaid_hours", "start_date": "2026-01-01",
               "fee": "800.00", "hours_per_period": "10", "carry_over": {"policy": "carry"},
               "overage": {"type": "tiers", "tiers": [{"up_to_hours": null, "unit_price": "90.00"}]}}),
    )
    .await;
    let ticket = create_ticket(&app, json!({"title": "Support", "customer_id": customer})).await;
    let scope = |end: &str| json!({"scope": "customer", "scope_id": customer, "period_end": end});
    book(&app, json!({"work_date": "2026-01-12", "duration_minutes": hours(6), "service_id": remote, "ticket_id": ticket["id"], "description": "Jan"})).await;
    let jan = commit(&app, scope("2026-01-31")).await["invoice_ids"][0].clone();
    let jan_first = issue(&app, &jan).await;
    assert_eq!(dec(&jan_first["totals"]["net"]), d("800.00"));
    book(&app, json!({"work_date": "2026-02-10", "duration_minutes": hours(12), "service_id": remote, "ticket_id": ticket["id"], "description": "Feb"})).await;
    let feb = commit(&app, scope("2026-02-28")).await["invoice_ids"][0].clone();
    let feb_issued = issue(&app, &feb).await;
    assert_eq!(dec(&feb_issued["totals"]["net"]), d("800.00"), "12 h within 10 h + 4 h carried");
    let feb_quota = quota(&app, c, "2026-02-15").await;

    let res = app.post(&format!("/api/v1/invoices/{jan}/cancel"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let credit: Value = res.json().await.unwrap();
    assert_eq!(dec(&credit["credit_note"]["totals"]["net"]), d("-800.00"));

    // Every preview up to January's end or later proposes January's fee again.
    for end in ["2026-01-31", "2026-02-28", "2026-03-31"] {
        let run = preview(&app, scope(end)).await;
        let p = &run["customers"][0]["proposals"][0];
        let fees: Vec<&str> = p["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["kind"] == "fee")
            .map(|l| l["description"].as_str().unwrap())
            .collect();
        assert!(fees.iter().any(|f| f.contains("2026-01-01")), "January's fee up to {end}: {fees:?}");
        assert_eq!(p["changes_since_cancelled"], json!([]), "billed again exactly as first billed");
        assert!(!fees.iter().any(|f| f.contains("2026-02-01")), "February's fee is billed: {fees:?}");
        assert_eq!(fees.len(), if end == "2026-03-31" { 2 } else { 1 }, "{fees:?}");
    }

    // Committed and issued: January's invoice as first billed, a new number, February untouched.
    let again = commit(&app, scope("2026-02-28")).await;
    assert_eq!(again["invoice_ids"].as_array().unwrap().len(), 1);
    let rebilled = issue(&app, &again["invoice_ids"][0]).await;
    assert_eq!(rebilled["kind"], "invoice");
    assert_eq!(line_summary(&rebilled), line_summary(&jan_first), "January billed exactly as first billed");
    assert_eq!(rebilled["totals"], jan_first["totals"]);
    assert_ne!(rebilled["number"], jan_first["number"]);
    let feb_now = invoice(&app, &feb).await;
    assert_eq!((line_summary(&feb_now), &feb_now["totals"]), (line_summary(&feb_issued), &feb_issued["totals"]));
    let jan_q = quota(&app, c, "2026-01-15").await;
    assert_eq!(dec(&jan_q["ledger"]["used"]), d("360"), "January's 6 h consumed again");
    assert_eq!(quota(&app, c, "2026-02-15").await["ledger"], feb_quota["ledger"], "February's quota unchanged");

    // Nothing is billed twice: a further run to March bills March's fee only.
    let march = preview(&app, scope("2026-03-31")).await;
    let lines = march["customers"][0]["proposals"][0]["lines"].as_array().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0]["description"].as_str().unwrap().contains("2026-03-01"));

    // Cancelling February too: only February's fee comes back, not January's a second time.
    let res = app.post(&format!("/api/v1/invoices/{feb}/cancel"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let run = preview(&app, scope("2026-02-28")).await;
    let fees: Vec<String> = run["customers"][0]["proposals"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "fee")
        .map(|l| l["description"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fees.len(), 1, "{fees:?}");
    assert!(fees[0].contains("2026-02-01"), "{fees:?}");
}

/// A cancelled period whose data changed before it is billed again: the proposal names what
/// is billed differently from the cancelled invoice.
#[tokio::test]
async fn rebilling_a_cancelled_period_names_what_changed_since() {
    let app = spawn_app().await;
    let (customer, _, remote, ticket) = prepaid_customer(&app).await;
    let b = book(&app, json!({"work_date": "2026-11-10", "duration_minutes": hours(6), "service_id": remote, "ticket_id": ticket["id"], "description": "Nov"})).await;
    let scope = json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"});
    let nov = commit(&app, scope.clone()).await["invoice_ids"][0].clone();
    let first = issue(&app, &nov).await;
    let res = app.post(&format!("/api/v1/invoices/{nov}/cancel"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .patch(&format!("/api/v1/bookings/{}", b["id"]), &app.admin_token, &json!({"duration_minutes": hours(7)}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let run = preview(&app, scope).await;
    let changes = run["customers"][0]["proposals"][0]["changes_since_cancelled"].as_array().unwrap().clone();
    let what: Vec<(String, String, String)> = changes
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().into(),
                c["before"].as_str().unwrap().into(),
                c["after"].as_str().unwrap().into(),
            )
        })
        .collect();
    // November's 4 unused hours were carried out when it was first billed (a fact of the
    // period that stays): of the 7 hours now booked, 6 are covered as before and 1 is overage.
    let expected = [("treatment", "covered", "partly_covered"), ("billed_minutes", "0", "60")];
    let expected: Vec<(String, String, String)> =
        expected.iter().map(|(f, b, a)| (f.to_string(), b.to_string(), a.to_string())).collect();
    assert_eq!(what, expected, "{changes:?}");
    assert_eq!(changes[0]["cancelled_number"], first["number"]);
    assert_eq!(changes[0]["position"]["id"], b["id"]);
}

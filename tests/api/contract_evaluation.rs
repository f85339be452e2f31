//! End-to-end tests: the year of seed 004 — a contract's work orders generated for a year,
//! worked, invoiced with the period's fee (covered time not billed; a fixed-price execution
//! and extra work billed in the same document) and evaluated per period, schedule and order
//! type (`/contracts/{id}/evaluation`, `/reports/contracts`).

use crate::bookings::service;
use crate::helpers::*;
use crate::invoices::{book, commit, d, dec, invoice, issue};
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::OffsetDateTime;

async fn order_type(app: &TestApp, code: &str) -> i64 {
    let list: Value = app.get("/api/v1/order-types", &app.admin_token).await.json().await.unwrap();
    list["items"].as_array().unwrap().iter().find(|t| t["code"] == code).unwrap()["id"].as_i64().unwrap()
}

async fn schedule(app: &TestApp, contract_id: i64, body: Value) -> i64 {
    let res = app.post(&format!("/api/v1/contracts/{contract_id}/schedules"), &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn set_status(app: &TestApp, id: i64, statuses: &[&str]) {
    for status in statuses {
        let res = app.post(&format!("/api/v1/tickets/{id}/status"), &app.admin_token, &json!({"status": status})).await;
        assert_eq!(res.status(), StatusCode::OK, "{status}: {}", res.text().await.unwrap_or_default());
    }
}

async fn evaluation(app: &TestApp, contract_id: i64, year: i32) -> Value {
    let res = app
        .get(&format!("/api/v1/contracts/{contract_id}/evaluation?from={year}-01-01&to={year}-12-31"), &app.admin_token)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

/// (fees, fixed prices, extras, revenue, minutes, cost, margin) of a figures object.
fn money(f: &Value) -> (String, String, String, String, i64, String, String) {
    let s = |k: &str| f[k].as_str().unwrap_or("null").to_string();
    (s("fees"), s("fixed_prices"), s("extras"), s("revenue"), f["minutes"].as_i64().unwrap(), s("cost"), s("margin"))
}

/// (due, done, open, overdue, skipped) of a figures object.
fn executions(f: &Value) -> [u64; 5] {
    let x = &f["executions"];
    ["due", "done", "open", "overdue", "skipped"].map(|k| x[k].as_u64().unwrap())
}

/// Seed 004's year (last year, so that every order is due by now): a flat fee of 300.00 a
/// month covering remote support, with a monthly remote check (covered), a quarterly on-site
/// maintenance at 450.00 per execution (21 days' lead) and a yearly disaster-recovery test
/// (covered). Eleven checks, the third quarter's maintenance (2 h on site and an extra hour of
/// remote follow-up) and the DR test are done, the first maintenance is skipped, three orders
/// are still open. One run bills the year: twelve fees, the one execution and the extra hour
/// in one document, covered time not billed; the evaluation adds it up.
#[tokio::test]
async fn the_seeds_year_is_generated_worked_invoiced_and_evaluated() {
    let app = spawn_app().await;
    let y = OffsetDateTime::now_utc().year() - 1;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let onsite = service(&app, "ONSITE", "hour", true).await;
    let me: Value = app.get("/api/v1/me", &app.admin_token).await.json().await.unwrap();
    let res = app
        .patch(&format!("/api/v1/users/{}", me["id"]), &app.admin_token, &json!({"internal_cost_rate": "60.00"}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let customer = app.create_customer(json!({"name": "Systemhaus Kunde GmbH", "invoice_detail": "per_booking"})).await
        ["id"]
        .as_i64()
        .unwrap();
    let res = app
        .post(
            "/api/v1/contracts",
            &app.admin_token,
            &json!({"customer_id": customer, "name": "Managed services", "kind": "flat_fee",
                    "start_date": format!("{y}-01-01"), "fee": "300.00", "covered_service_ids": [remote]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let contract = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let check = schedule(
        &app,
        contract,
        json!({"title": "Monitoring summary", "order_type_id": order_type(&app, "remote").await, "service_id": remote,
               "estimate_minutes": 30, "recurrence": {"unit": "months", "anchor": format!("{y}-01-15")}}),
    )
    .await;
    let maintenance = schedule(
        &app,
        contract,
        json!({"title": "Server maintenance", "order_type_id": order_type(&app, "on_site").await, "service_id": onsite,
               "execution_billing": "fixed_price", "fixed_price": "450.00",
               "recurrence": {"unit": "months", "every": 3, "anchor": format!("{y}-03-31")}}),
    )
    .await;
    let dr_test = schedule(
        &app,
        contract,
        json!({"title": "Disaster-recovery test", "order_type_id": order_type(&app, "remote").await,
               "service_id": remote, "recurrence": {"unit": "years", "anchor": format!("{y}-11-20")}}),
    )
    .await;
    let generated =
        app.post("/api/v1/work-orders/generate", &app.admin_token, &json!({"until": format!("{y}-12-31")})).await;
    assert_eq!(generated.status(), StatusCode::OK);
    assert_eq!(generated.json::<Value>().await.unwrap()["count"], 17, "12 checks, 4 maintenances, 1 DR test");
    let orders = |schedule: i64| {
        let app = &app;
        async move {
            let res = app.get(&format!("/api/v1/work-orders?schedule_id={schedule}&limit=50"), &app.admin_token).await;
            res.json::<Value>().await.unwrap()["items"].as_array().cloned().unwrap()
        }
    };
    let checks = orders(check).await;
    let quarters = orders(maintenance).await;
    let dr = orders(dr_test).await;
    assert_eq!((checks.len(), quarters.len(), dr.len()), (12, 4, 1));
    assert_eq!(quarters[1]["due_date"], format!("{y}-06-30"), "the 31st is the last day of a shorter month");

    // The work: 30 minutes per check January to November, the DR test, the third quarter.
    let work = |order: &Value, minutes: i64, service: i64, text: &str| {
        json!({"work_date": order["due_date"], "duration_minutes": minutes, "service_id": service,
               "ticket_id": order["id"], "description": text})
    };
    for c in &checks[..11] {
        book(&app, work(c, 30, remote, "Monitoring summary sent")).await;
        set_status(&app, c["id"].as_i64().unwrap(), &["open", "in_progress", "resolved"]).await;
    }
    book(&app, work(&dr[0], 240, remote, "Restore tested")).await;
    set_status(&app, dr[0]["id"].as_i64().unwrap(), &["open", "in_progress", "resolved"]).await;
    let q3 = quarters[2]["id"].as_i64().unwrap();
    book(&app, work(&quarters[2], 120, onsite, "Firmware and backups")).await;
    book(&app, work(&quarters[2], 60, remote, "Extra: VPN for the new branch")).await;
    set_status(&app, q3, &["open", "in_progress", "resolved"]).await;
    // Reopened and done again: still one execution.
    set_status(&app, q3, &["open", "in_progress", "resolved"]).await;
    let q3_order: Value = app.get(&format!("/api/v1/work-orders/{q3}"), &app.admin_token).await.json().await.unwrap();
    let expense_id = q3_order["execution_expense_id"].as_i64().expect("the execution's price is an expense");
    let expenses: Value =
        app.get(&format!("/api/v1/expenses?ticket_id={q3}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(expenses["items"].as_array().unwrap().len(), 1);
    let execution = &expenses["items"][0];
    assert_eq!((execution["id"].as_i64(), execution["unit_price"].as_str()), (Some(expense_id), Some("450.00")));
    assert_eq!(execution["expense_date"], format!("{y}-09-30"), "dated the day the order was due");
    let res = app
        .post(
            &format!("/api/v1/work-orders/{}/skip", quarters[0]["id"]),
            &app.admin_token,
            &json!({"reason": "office moved"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Nothing is issued yet: no revenue, all the effort.
    let before = evaluation(&app, contract, y).await;
    assert_eq!(money(&before["total"]).3, "0.00");
    assert_eq!(before["total"]["minutes"], 750);

    // One run bills the year in one document.
    let run =
        commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": format!("{y}-12-31")})).await;
    assert_eq!(run["invoices_created"], 1);
    let inv = invoice(&app, &run["invoice_ids"][0]).await;
    let lines = inv["lines"].as_array().unwrap();
    let of_kind = |kind: &str| lines.iter().filter(|l| l["kind"] == kind).collect::<Vec<_>>();
    assert_eq!(of_kind("fee").len(), 12);
    let expense_lines = of_kind("expense");
    assert_eq!(expense_lines.len(), 1);
    assert_eq!(dec(&expense_lines[0]["net"]), d("450.00"));
    assert!(expense_lines[0]["description"].as_str().unwrap().contains("Server maintenance"));
    let work_lines = of_kind("work");
    assert_eq!(work_lines.len(), 1, "only the extra hour: checks, DR test and the execution are covered");
    assert_eq!((dec(&work_lines[0]["quantity"]), dec(&work_lines[0]["net"])), (d("1"), d("96.00")));
    assert_eq!(lines.len(), 14);
    assert_eq!(dec(&inv["totals"]["net"]), d("4146.00"));
    issue(&app, &run["invoice_ids"][0]).await;

    let e = evaluation(&app, contract, y).await;
    assert_eq!((e["currency"].as_str(), e["cost_currency"].as_str()), (Some("EUR"), Some("EUR")));
    let total = &e["total"];
    assert_eq!(
        money(total),
        ("3600.00".into(), "450.00".into(), "96.00".into(), "4146.00".into(), 750, "750.00".into(), "3396.00".into())
    );
    assert_eq!(total["margin_percent"], "81.9");
    assert_eq!(executions(total), [17, 13, 3, 3, 1]);
    let periods = e["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 12);
    assert_eq!(periods[8]["period_start"], format!("{y}-09-01"));
    assert_eq!(
        money(&periods[8]["figures"]),
        ("300.00".into(), "450.00".into(), "96.00".into(), "846.00".into(), 210, "210.00".into(), "636.00".into())
    );
    assert_eq!(money(&periods[0]["figures"]).3, "300.00");
    let by_schedule =
        |id: i64| e["schedules"].as_array().unwrap().iter().find(|s| s["schedule_id"] == id).cloned().unwrap();
    let s = by_schedule(check);
    assert_eq!(
        money(&s["figures"]),
        ("0.00".into(), "0.00".into(), "0.00".into(), "0.00".into(), 330, "330.00".into(), "-330.00".into())
    );
    assert_eq!(executions(&s["figures"]), [12, 11, 1, 1, 0]);
    let s = by_schedule(maintenance);
    assert_eq!(s["title"], "Server maintenance");
    assert_eq!(
        money(&s["figures"]),
        ("0.00".into(), "450.00".into(), "96.00".into(), "546.00".into(), 180, "180.00".into(), "366.00".into())
    );
    assert_eq!(executions(&s["figures"]), [4, 1, 2, 2, 1]);
    assert_eq!(by_schedule(dr_test)["figures"]["minutes"], 240);
    let by_type =
        |code: &str| e["order_types"].as_array().unwrap().iter().find(|t| t["code"] == code).cloned().unwrap();
    assert_eq!(by_type("remote")["figures"]["minutes"], 570);
    assert_eq!(executions(&by_type("remote")["figures"]), [13, 12, 1, 1, 0]);
    assert_eq!(money(&by_type("on_site")["figures"]).3, "546.00");

    // The same totals across contracts.
    let res = app
        .get(&format!("/api/v1/reports/contracts?from={y}-01-01&to={y}-12-31&customer_id={customer}"), &app.admin_token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.unwrap();
    let rows = report["items"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["contract_id"].as_i64(), rows[0]["kind"].as_str()), (Some(contract), Some("flat_fee")));
    assert_eq!(money(&rows[0]["total"]), money(total));
}

#[tokio::test]
async fn an_evaluation_needs_a_sane_range_an_existing_contract_and_billing_rights() {
    let app = spawn_app().await;
    let customer = app.create_customer(json!({"name": "Range GmbH"})).await["id"].as_i64().unwrap();
    let res = app
        .post(
            "/api/v1/contracts",
            &app.admin_token,
            &json!({"customer_id": customer, "name": "T&M", "kind": "time_and_material", "start_date": "2026-01-01"}),
        )
        .await;
    let contract = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let path = |q: &str| format!("/api/v1/contracts/{contract}/evaluation?{q}");
    for q in ["from=2026-05-01&to=2026-04-30", "from=2020-01-01&to=2026-12-31"] {
        let p = problem(app.get(&path(q), &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), ["to"], "{q}");
    }
    let p = problem(app.get(&path("from=2026-02-30"), &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), ["from"]);
    problem(app.get("/api/v1/contracts/987654/evaluation", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    problem(app.get(&path(""), &agent).await, StatusCode::FORBIDDEN).await;
    problem(app.get("/api/v1/reports/contracts", &agent).await, StatusCode::FORBIDDEN).await;
    // An empty contract: a monthly period each, nothing earned, nothing spent.
    let e: Value = app.get(&path("from=2026-01-01&to=2026-03-31"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(e["periods"].as_array().unwrap().len(), 3);
    assert_eq!(e["total"]["revenue"], "0.00");
    assert_eq!(e["total"]["margin"], "0.00");
    assert_eq!(e["total"]["margin_percent"], Value::Null);
    let p = problem(
        app.get("/api/v1/reports/contracts?cursor=zzz", &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["cursor"]);
}

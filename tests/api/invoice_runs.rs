//! End-to-end tests: invoice-run previews — the billing engine over stored positions,
//! contracts and rates, through the HTTP API, writing nothing.

use crate::bookings::service;
use crate::helpers::*;
use crate::tickets::{create_ticket, customer_id};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_else(|| panic!("decimal string expected, got {v}"))).unwrap()
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Previews a run as admin; panics unless 200.
pub async fn preview(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/invoice-runs", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::OK, "preview: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

/// A catalog service without a default price ("Consulting" per hour): work on it has no
/// rate unless one is given.
pub async fn unpriced_service(app: &TestApp) -> Value {
    let res = app
        .post(
            "/api/v1/services",
            &app.admin_token,
            &json!({"code": "CONSULT", "name": "Consulting", "unit": "hour", "kind": "work", "vat_rate": "19"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"].clone()
}

async fn book(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/bookings", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "book: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

#[tokio::test]
async fn seven_minutes_of_remote_support_preview_as_a_quarter_hour_at_96_is_24_00() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    let ticket = create_ticket(&app, json!({"title": "VPN", "customer_id": customer})).await;
    let b = book(&app, json!({"work_date": "2026-11-10", "duration_minutes": 7, "service_id": remote, "ticket_id": ticket["id"], "description": "Reset VPN"})).await;
    let run = preview(
        &app,
        json!({"scope": "customer", "scope_id": customer, "period_start": "2026-11-01", "period_end": "2026-11-30"}),
    )
    .await;
    assert_eq!(run["committable"], true);
    assert_eq!(run["summary"]["proposals"], 1);
    let proposal = &run["customers"][0]["proposals"][0];
    let line = &proposal["lines"][0];
    assert_eq!(dec(&line["quantity"]), d("0.25"));
    assert_eq!(dec(&line["unit_price"]), d("96.00"));
    assert_eq!(dec(&line["net"]), d("24.00"));
    assert!(line["description"].as_str().unwrap().contains(ticket["number"].as_str().unwrap()), "{line}");
    assert!(line["description"].as_str().unwrap().contains("Reset VPN"));
    assert_eq!(dec(&proposal["totals"]["net"]), d("24.00"));
    assert_eq!(dec(&proposal["totals"]["vat"]), d("4.56"));
    assert_eq!(dec(&proposal["totals"]["gross"]), d("28.56"));
    assert_eq!(proposal["positions"][0]["position"]["id"], b["id"]);
}

/// Flat fee 500.00/month covering remote support; 3 h remote (covered, 0 on the invoice),
/// 1 h on-site at the customer's 120.00 and one hard disk at 89.00 → 500.00 + 209.00 net in one
/// invoice.
#[tokio::test]
async fn flat_fee_covers_remote_support_and_bills_on_site_work_and_a_hard_disk_on_top() {
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
    book(&app, json!({"work_date": "2026-11-04", "duration_minutes": 60, "service_id": onsite, "ticket_id": ticket["id"], "description": "Installed the disk"})).await;
    let res = app
        .post("/api/v1/expenses", &app.admin_token, &json!({"expense_date": "2026-11-04", "service_id": disk, "quantity": "1", "unit_price": "89.00", "ticket_id": ticket["id"]}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let run = preview(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    assert_eq!(run["summary"]["customers"], 1);
    assert_eq!(run["summary"]["proposals"], 1, "fee and extras in one invoice");
    let proposal = &run["customers"][0]["proposals"][0];
    assert_eq!(dec(&proposal["totals"]["net"]), d("709.00"));
    let nets: Vec<Decimal> = proposal["lines"].as_array().unwrap().iter().map(|l| dec(&l["net"])).collect();
    assert!(nets.contains(&d("500.00")) && nets.contains(&d("120.00")) && nets.contains(&d("89.00")), "{nets:?}");
    let remote_outcome =
        proposal["positions"].as_array().unwrap().iter().find(|o| o["position"]["id"] == covered["id"]).unwrap();
    assert_eq!(remote_outcome["status"], "covered", "covered work is shown, not billed");
}

#[tokio::test]
async fn a_missing_rate_is_a_blocking_problem_never_a_zero_line() {
    let app = spawn_app().await;
    let consulting = unpriced_service(&app).await;
    let customer = customer_id(&app).await;
    let ticket = create_ticket(&app, json!({"title": "Advice", "customer_id": customer})).await;
    let b = book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": consulting, "ticket_id": ticket["id"], "description": "Workshop"})).await;
    let run = preview(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    assert_eq!(run["committable"], false);
    let problem = &run["customers"][0]["problems"][0];
    assert_eq!(problem["code"], "missing_rate");
    assert_eq!(problem["position"]["id"], b["id"]);
    let zero_lines = run["customers"][0]["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["lines"].as_array().unwrap().clone())
        .count();
    assert_eq!(zero_lines, 0, "the unpriced booking gets no line");
}

#[tokio::test]
async fn a_ticket_run_bills_only_that_ticket_and_no_contract_fee_and_a_preview_writes_nothing() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    app.post(
        "/api/v1/contracts",
        &app.admin_token,
        &json!({"customer_id": customer, "name": "Hourly", "kind": "time_and_material", "start_date": "2026-01-01"}),
    )
    .await;
    let t1 = create_ticket(&app, json!({"title": "One", "customer_id": customer})).await;
    let t2 = create_ticket(&app, json!({"title": "Two", "customer_id": customer})).await;
    let b1 = book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": remote, "ticket_id": t1["id"], "description": "One"})).await;
    book(&app, json!({"work_date": "2026-11-06", "duration_minutes": 30, "service_id": remote, "ticket_id": t2["id"], "description": "Two"})).await;
    book(&app, json!({"work_date": "2026-12-06", "duration_minutes": 30, "service_id": remote, "ticket_id": t1["id"], "description": "Later"})).await;
    let audit_before = app.audit_count(None).await;
    let run = preview(&app, json!({"scope": "ticket", "scope_id": t1["id"], "period_end": "2026-11-30"})).await;
    let proposal = &run["customers"][0]["proposals"][0];
    let billed: Vec<&Value> = proposal["positions"].as_array().unwrap().iter().map(|o| &o["position"]["id"]).collect();
    assert_eq!(billed, vec![&b1["id"]], "only the ticket's positions up to the period end");
    assert_eq!(dec(&proposal["totals"]["net"]), d("96.00"));
    let again = preview(&app, json!({"scope": "ticket", "scope_id": t1["id"], "period_end": "2026-11-30"})).await;
    assert_eq!(again, run, "a preview is repeatable");
    assert_eq!(app.audit_count(None).await, audit_before, "a preview writes nothing");
    let open: Value = app.get("/api/v1/bookings?state=open", &app.admin_token).await.json().await.unwrap();
    assert_eq!(open["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn bad_run_requests_are_rejected_and_only_billing_roles_preview() {
    let app = spawn_app().await;
    let customer = customer_id(&app).await;
    let internal: Value = app
        .post("/api/v1/projects", &app.admin_token, &json!({"name": "Internal", "internal": true}))
        .await
        .json()
        .await
        .unwrap();
    for (body, field) in [
        (json!({"scope": "customer", "period_end": "2026-11-30"}), "scope_id"),
        (json!({"scope": "customer", "scope_id": 99999, "period_end": "2026-11-30"}), "scope_id"),
        (json!({"scope": "all", "scope_id": customer, "period_end": "2026-11-30"}), "scope_id"),
        (json!({"scope": "project", "scope_id": internal["id"], "period_end": "2026-11-30"}), "scope_id"),
        (
            json!({"scope": "customer", "scope_id": customer, "period_start": "2026-12-01", "period_end": "2026-11-30"}),
            "period_start",
        ),
        (json!({"scope": "everything", "period_end": "2026-11-30"}), "scope"),
        (json!({"scope": "all", "period_end": "30.11.2026"}), "period_end"),
    ] {
        let p =
            problem(app.post("/api/v1/invoice-runs", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY)
                .await;
        assert_eq!(error_fields(&p), vec![field], "for {body}");
    }
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    problem(
        app.post("/api/v1/invoice-runs", &agent, &json!({"scope": "all", "period_end": "2026-11-30"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let (_, manager) = app.user_with_roles(&["manager"]).await;
    assert_eq!(
        app.post("/api/v1/invoice-runs", &manager, &json!({"scope": "all", "period_end": "2026-11-30"})).await.status(),
        StatusCode::OK
    );
    let empty = preview(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    assert_eq!(empty["summary"]["customers"], 0);
}

#[tokio::test]
async fn ready_to_invoice_values_open_billable_work_per_customer_project_and_ticket() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let disk = service(&app, "HDD", "piece", true).await;
    let a = customer_id(&app).await;
    let b = customer_id(&app).await;
    let project: Value = app
        .post("/api/v1/projects", &app.admin_token, &json!({"name": "Rollout", "customer_id": a}))
        .await
        .json()
        .await
        .unwrap();
    let t1 = create_ticket(&app, json!({"title": "T1", "customer_id": a})).await;
    book(&app, json!({"work_date": "2026-11-02", "duration_minutes": 60, "service_id": remote, "ticket_id": t1["id"], "description": "a"})).await;
    book(&app, json!({"work_date": "2026-11-03", "duration_minutes": 30, "service_id": remote, "ticket_id": t1["id"], "description": "b"})).await;
    book(&app, json!({"work_date": "2026-11-04", "duration_minutes": 60, "service_id": remote, "project_id": project["id"], "description": "c"})).await;
    book(&app, json!({"work_date": "2026-11-04", "duration_minutes": 45, "service_id": remote, "ticket_id": t1["id"], "billable": false, "description": "goodwill"})).await;
    let billed = book(&app, json!({"work_date": "2026-11-01", "duration_minutes": 120, "service_id": remote, "ticket_id": t1["id"], "description": "old"})).await;
    app.store().await.set_booking_state(billed["id"].as_i64().unwrap(), "billed").await.unwrap();
    app.post("/api/v1/expenses", &app.admin_token, &json!({"expense_date": "2026-11-04", "service_id": disk, "quantity": "1", "unit_price": "89.00", "ticket_id": t1["id"]})).await;
    let consulting = unpriced_service(&app).await;
    let t2 = create_ticket(&app, json!({"title": "T2", "customer_id": b})).await;
    book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": consulting, "ticket_id": t2["id"], "description": "unpriced"})).await;

    let ready: Value = app.get("/api/v1/billing/ready?as_of=2026-11-30", &app.admin_token).await.json().await.unwrap();
    let find = |list: &str, id: &Value| {
        ready[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| &i["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{list} {id} in {ready}"))
    };
    let ca = find("customers", &json!(a));
    assert_eq!(ca["open_positions"], 4, "billable and open only");
    assert_eq!(ca["billable_minutes"], 150);
    assert_eq!(dec(&ca["unbilled_value"]), d("329.00"), "96 + 48 + 96 + 89");
    assert_eq!(ca["currency"], "EUR");
    let ticket = find("tickets", &t1["id"]);
    assert_eq!(dec(&ticket["unbilled_value"]), d("233.00"));
    assert_eq!(ticket["label"], t1["number"]);
    let proj = find("projects", &project["id"]);
    assert_eq!(dec(&proj["unbilled_value"]), d("96.00"));
    assert_eq!(proj["label"], "Rollout");
    let cb = find("customers", &json!(b));
    assert_eq!(cb["unpriced_positions"], 1);
    assert_eq!(dec(&cb["unbilled_value"]), d("0"));
    assert!(ready["next_cursor"].is_null());

    // Paged by customer: one customer per page, with its own tickets only.
    let first: Value =
        app.get("/api/v1/billing/ready?as_of=2026-11-30&limit=1", &app.admin_token).await.json().await.unwrap();
    assert_eq!(first["customers"].as_array().unwrap().len(), 1);
    assert_eq!(first["customers"][0]["customer_id"], a);
    assert!(first["tickets"].as_array().unwrap().iter().all(|t| t["customer_id"] == a), "{first}");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .get(&format!("/api/v1/billing/ready?as_of=2026-11-30&limit=1&cursor={cursor}"), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["customers"].as_array().unwrap().len(), 1);
    assert_eq!(second["customers"][0]["customer_id"], b);
    assert!(second["next_cursor"].is_null(), "{second}");
    let p = problem(
        app.get(&format!("/api/v1/billing/ready?as_of=2026-11-02&cursor={cursor}"), &app.admin_token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "invalid_cursor");

    let early: Value = app.get("/api/v1/billing/ready?as_of=2026-11-02", &app.admin_token).await.json().await.unwrap();
    assert_eq!(dec(&early["customers"][0]["unbilled_value"]), d("96.00"), "only work up to the day");
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    problem(app.get("/api/v1/billing/ready", &agent).await, StatusCode::FORBIDDEN).await;
    problem(app.get("/api/v1/billing/ready?as_of=tomorrow", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
}

/// Issue 10, item 5: a contract with decades of unbilled fees is a blocking problem that
/// says what to do, not thousands of fee lines; the bound is configurable.
#[tokio::test]
async fn decades_of_unbilled_fees_are_a_blocking_problem_not_thousands_of_lines() {
    let app = spawn_app_with(|c| c.max_fee_periods_per_run = 12).await;
    let customer = customer_id(&app).await;
    let res = app
        .post(
            "/api/v1/contracts",
            &app.admin_token,
            &json!({"customer_id": customer, "name": "Old flat fee", "kind": "flat_fee",
              "start_date": "1990-01-01", "fee": "100.00"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let run = preview(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    assert_eq!(run["committable"], false);
    let problems = run["customers"][0]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["code"], "too_many_fee_periods");
    assert!(problems[0]["message"].as_str().unwrap().contains("more than 12"), "{}", problems[0]);
    let body = serde_json::to_string(&run).unwrap();
    assert!(body.len() < 20_000, "a small answer: {} bytes", body.len());
}

/// Issue 10, item 5: a preview over all customers is paged like a list, so that its answer
/// stays bounded; every customer appears on exactly one page, and a cursor only continues
/// the preview it was made for.
#[tokio::test]
async fn a_preview_of_all_customers_is_paged_and_each_customer_is_on_one_page() {
    let app = spawn_app().await;
    let mut customers = Vec::new();
    for i in 0..5 {
        let customer = customer_id(&app).await;
        let res = app
            .post(
                "/api/v1/contracts",
                &app.admin_token,
                &json!({"customer_id": customer, "name": format!("Flat {i}"), "kind": "flat_fee",
                  "start_date": "2026-11-01", "fee": "100.00"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
        customers.push(customer);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({"scope": "all", "period_end": "2026-11-30", "limit": 2});
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let page = preview(&app, body).await;
        pages += 1;
        let listed = page["customers"].as_array().unwrap();
        assert!(listed.len() <= 2, "{page}");
        assert_eq!(page["summary"]["customers"], listed.len());
        seen.extend(listed.iter().map(|c| c["customer_id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, customers, "every customer once, in id order");
    assert_eq!(pages, 3);
    // Without a limit, up to 50 customers come on one page.
    let all = preview(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    assert_eq!(all["customers"].as_array().unwrap().len(), 5);
    assert!(all["next_cursor"].is_null());

    // A cursor of another period, a made-up limit and paging a commit are 422.
    let first = preview(&app, json!({"scope": "all", "period_end": "2026-11-30", "limit": 2})).await;
    let c = first["next_cursor"].as_str().unwrap();
    for (body, field) in [
        (json!({"scope": "all", "period_end": "2026-12-31", "cursor": c}), "cursor"),
        (json!({"scope": "all", "period_end": "2026-11-30", "limit": 0}), "limit"),
        (json!({"scope": "all", "period_end": "2026-11-30", "limit": 201}), "limit"),
        (json!({"mode": "commit", "scope": "all", "period_end": "2026-11-30", "limit": 2}), "limit"),
    ] {
        let p =
            problem(app.post("/api/v1/invoice-runs", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY)
                .await;
        assert_eq!(error_fields(&p), vec![field.to_string()], "{body}: {p}");
    }
    assert_eq!(app.get("/api/v1/invoices", &app.admin_token).await.json::<Value>().await.unwrap()["items"], json!([]));
}

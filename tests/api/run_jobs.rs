//! End-to-end tests: invoice runs as jobs — a run over all customers answers 202 and is
//! polled until it has finished; cancelling between customers; a run whose node died is
//! resumed by another worker without billing anything twice; issuing a run's drafts as a
//! job with gapless numbers in customer-number order, writing what issuing each draft alone
//! writes; refused states.

use crate::bookings::service;
use crate::cluster::Sql;
use crate::helpers::*;
use crate::invoices::{book, commit};
use crate::tickets::create_ticket;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const ALL: &str = r#"{"mode": "commit", "scope": "all", "period_end": "2026-11-30"}"#;

fn all_customers() -> Value {
    serde_json::from_str(ALL).unwrap()
}

/// `n` customers (numbered `K-{number}` from `numbers`), each with one ticket and two
/// November bookings (60 + 30 min of remote support at 96.00): their ids, in creation order.
async fn customers_with_work(app: &TestApp, numbers: impl IntoIterator<Item = u32>) -> Vec<i64> {
    let remote = service(app, "REMOTE", "hour", true).await;
    let mut ids = Vec::new();
    for n in numbers {
        let body =
            json!({"name": format!("Kunde {n} GmbH"), "number": format!("K-{n:04}"), "invoice_detail": "per_booking"});
        let customer = app.create_customer(body).await["id"].as_i64().unwrap();
        let ticket = create_ticket(app, json!({"title": "Support", "customer_id": customer})).await;
        for (day, minutes) in [("2026-11-05", 60), ("2026-11-06", 30)] {
            book(app, json!({"work_date": day, "duration_minutes": minutes, "service_id": remote, "ticket_id": ticket["id"], "description": "Remote"})).await;
        }
        ids.push(customer);
    }
    ids
}

/// How often each booking is settled by a live (not cancelled) document, and how many
/// bookings there are.
async fn settlements_per_booking(sql: &Sql) -> (i64, i64) {
    let most = sql
        .count(
            "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM settled_positions p \
             JOIN invoices i ON i.id = p.invoice_id WHERE p.booking_id IS NOT NULL AND i.status <> 'cancelled' \
             GROUP BY p.booking_id) per_booking",
        )
        .await;
    let settled = sql
        .count(
            "SELECT COUNT(DISTINCT p.booking_id) FROM settled_positions p JOIN invoices i ON i.id = p.invoice_id \
             WHERE p.booking_id IS NOT NULL AND i.status <> 'cancelled'",
        )
        .await;
    (most, settled)
}

/// A server whose job worker looks for work only once at start (so that queued jobs stay
/// queued while a test looks at them).
async fn app_with_idle_worker() -> TestApp {
    spawn_app_with(|c| c.job_poll_interval = Duration::from_secs(3600)).await
}

#[tokio::test]
async fn a_run_over_all_customers_is_a_job_answered_202_and_polled_until_it_has_succeeded() {
    let app = spawn_app().await;
    let customers = customers_with_work(&app, 1..=3).await;
    let post = || {
        app.request(Method::POST, "/api/v1/invoice-runs", Some(&app.admin_token))
            .header("idempotency-key", "november-all")
            .json(&all_customers())
            .send()
    };
    let res = post().await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = location_of(&res);
    assert!(res.headers().get("retry-after").is_some(), "a 202 says when to poll");
    let queued: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/invoice-runs/{}", queued["id"]));
    assert!(["queued", "running"].contains(&queued["status"].as_str().unwrap()), "{queued}");
    assert!(queued["queued_at"].is_string());
    assert_eq!(queued["empty_reason"], Value::Null, "no verdict while it runs");

    // The same key while it runs, or after: the same run, no second one.
    let again = post().await.unwrap();
    assert!([StatusCode::ACCEPTED, StatusCode::OK].contains(&again.status()));
    assert_eq!(again.json::<Value>().await.unwrap()["id"], queued["id"]);

    let run = app.wait_for_job(&location).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["customers_total"], 3);
    assert_eq!(run["customers_done"], 3);
    assert_eq!(run["customers_billed"], 3);
    assert_eq!(run["invoices_created"], 3);
    assert_eq!(run["positions_reserved"], 6);
    assert_eq!(run["cancel_requested"], false);
    assert!(run["started_at"].is_string() && run["finished_at"].is_string(), "{run}");
    assert!(run["duration_ms"].is_u64(), "{run}");
    let mut billed: Vec<i64> =
        run["documents"].as_array().unwrap().iter().map(|d| d["customer_id"].as_i64().unwrap()).collect();
    // (On PostgreSQL a few customers are billed at once: draft ids follow the commits.)
    billed.sort_unstable();
    assert_eq!(billed, customers, "one draft per customer");
    for d in run["documents"].as_array().unwrap() {
        assert_eq!(d["status"], "draft");
        assert_eq!(d["net"], "144.00");
    }

    let replay = post().await.unwrap();
    assert_eq!(replay.status(), StatusCode::OK, "a finished job replays as it is now");
    assert!(replay.headers().get("retry-after").is_none());
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["id"], run["id"]);
    assert_eq!(replay["status"], "succeeded");
    let runs: Value = app.get("/api/v1/invoice-runs", &app.admin_token).await.json().await.unwrap();
    assert_eq!(runs["items"].as_array().unwrap().len(), 1, "one run only");
    assert_eq!(runs["items"][0]["status"], "succeeded");
    let sql = Sql::connect(&app.database_url).await;
    assert_eq!(settlements_per_booking(&sql).await, (1, 6));

    // A small scope still answers at once, finished.
    let res = app
        .post(
            "/api/v1/invoice-runs",
            &app.admin_token,
            &json!({"mode": "commit", "scope": "customer", "scope_id": customers[0], "period_end": "2026-11-30"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let small: Value = res.json().await.unwrap();
    assert_eq!(small["status"], "succeeded");
    assert_eq!(small["customers_total"], 1);
    assert_eq!(small["customers_done"], 1);
    assert_eq!(small["empty_reason"]["code"], "nothing_open");
}

#[tokio::test]
async fn cancelling_a_running_run_stops_it_between_customers_and_keeps_what_was_committed() {
    // The run pauses after each chunk, so the cancel surely comes before its last one.
    let app = spawn_app_with(|c| c.run_chunk_pause = Duration::from_millis(150)).await;
    // A run of 100 customers bills 12 at a time (PostgreSQL: three such chunks at once).
    let customers = customers_with_work(&app, 1..=100).await;
    let res = app.post("/api/v1/invoice-runs", &app.admin_token, &all_customers()).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = location_of(&res);
    let id = res.json::<Value>().await.unwrap()["id"].clone();
    // Wait until the worker has billed a first chunk of customers, then cancel.
    loop {
        let run: Value = app.get(&location, &app.admin_token).await.json().await.unwrap();
        assert_eq!(run["status"].as_str().map(|s| ["queued", "running"].contains(&s)), Some(true), "{run}");
        if run["customers_done"].as_i64() >= Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let res = app.post(&format!("/api/v1/invoice-runs/{id}/cancel"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let asked: Value = res.json().await.unwrap();
    assert!(asked["status"] == "cancelled" || asked["cancel_requested"] == true, "{asked}");

    let run = app.wait_for_job(&location).await;
    assert_eq!(run["status"], "cancelled", "{run}");
    let done = run["customers_done"].as_i64().unwrap();
    assert!((1..customers.len() as i64).contains(&done), "stopped between customers: {run}");
    assert_eq!(run["customers_total"], customers.len());
    assert_eq!(run["documents"].as_array().unwrap().len() as i64, done, "what was committed stays");
    let sql = Sql::connect(&app.database_url).await;
    assert_eq!(settlements_per_booking(&sql).await, (1, 2 * done));
    // It stays stopped, and a finished run cannot be cancelled.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later: Value = app.get(&location, &app.admin_token).await.json().await.unwrap();
    assert_eq!(later["customers_done"], done);
    problem(
        app.post(&format!("/api/v1/invoice-runs/{id}/cancel"), &app.admin_token, &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;

    // The next run bills the rest, each position once.
    let rest = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    assert_eq!(rest["invoices_created"].as_i64().unwrap(), customers.len() as i64 - done);
    assert_eq!(settlements_per_booking(&sql).await, (1, 2 * customers.len() as i64));
}

#[tokio::test]
async fn a_run_whose_node_died_is_resumed_by_another_worker_and_bills_every_position_once() {
    let app = spawn_app().await;
    let customers = customers_with_work(&app, 1..=4).await;
    // The dead node had billed the first customer and recorded it, and billed the second one
    // without recording it (it died between the drafts and the progress record): their
    // drafts are made here by single-customer runs and handed to the dead node's run.
    for &c in &customers[..2] {
        commit(&app, json!({"scope": "customer", "scope_id": c, "period_end": "2026-11-30"})).await;
    }
    let sql = Sql::connect(&app.database_url).await;
    let long_ago = "2000-01-01T00:00:00.000000Z";
    sql.run(&format!(
        "INSERT INTO invoice_runs (started_via, scope, period_end, status, started_by_type, started_by_id, \
         started_by_name, queued_at, started_at, customers_total, customers_done, last_customer_id) \
         VALUES ('api', 'all', '2026-11-30', 'cancelled', 'user', 1, '{ADMIN_EMAIL}', '{long_ago}', '{long_ago}', 4, 1, {})",
        customers[0]
    ))
    .await;
    let run_id = sql.count("SELECT MAX(id) FROM invoice_runs").await;
    sql.run(&format!("UPDATE invoices SET run_id = {run_id}")).await;
    // Now it is a running run whose lease expired: the node is gone.
    sql.run(&format!(
        "UPDATE invoice_runs SET status = 'running', lease_owner = 'dead-node', lease_expires_at = '{long_ago}' \
         WHERE id = {run_id}"
    ))
    .await;

    // The second customer, billed but not recorded, has nothing open any more: the
    // resumed run does not take its work again.
    let run = app.wait_for_job(&format!("/api/v1/invoice-runs/{run_id}")).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["customers_total"], 3, "1 done before, 2 with open work after it");
    assert_eq!(run["customers_done"], 3);
    assert_eq!(run["customers_billed"], 2);
    let mut billed: Vec<i64> =
        run["documents"].as_array().unwrap().iter().map(|d| d["customer_id"].as_i64().unwrap()).collect();
    // (On PostgreSQL a few customers are billed at once: draft ids follow the commits.)
    billed.sort_unstable();
    assert_eq!(billed, customers, "one draft per customer");
    assert_eq!(settlements_per_booking(&sql).await, (1, 8), "every position billed once");
    let owner = sql.count(&format!("SELECT COUNT(*) FROM invoice_runs WHERE id = {run_id} AND attempts = 1")).await;
    assert_eq!(owner, 1, "taken over by one claim");
}

#[tokio::test]
async fn issuing_a_runs_drafts_is_a_job_numbering_gaplessly_in_customer_number_order() {
    let app = spawn_app().await;
    // Created (ids) in another order than their numbers.
    let customers = customers_with_work(&app, [300, 100, 400, 200]).await;
    let run = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    let draft_of = |c: i64| {
        run["documents"].as_array().unwrap().iter().find(|d| d["customer_id"] == c).unwrap()["id"].as_i64().unwrap()
    };
    // K-0200's draft loses its lines: it cannot be issued.
    let empty = draft_of(customers[3]);
    let inv: Value = app.get(&format!("/api/v1/invoices/{empty}"), &app.admin_token).await.json().await.unwrap();
    for line in inv["lines"].as_array().unwrap() {
        let res = app.delete(&format!("/api/v1/invoices/{empty}/lines/{}", line["id"]), &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    let path = format!("/api/v1/invoice-runs/{}/issue", run["id"]);
    let res = app.post(&path, &app.admin_token, &json!({"issue_date": "2026-12-01"})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(location_of(&res), path);
    assert!(res.headers().get("retry-after").is_some());
    let job = app.wait_for_job(&path).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["invoices_total"], 4);
    assert_eq!(job["invoices_issued"], 3);
    assert_eq!(job["invoices_skipped"], 1);
    assert_eq!(job["problems"][0]["invoice_id"], empty);
    assert_eq!(job["problems"][0]["code"], "conflict");
    let number = |c: i64| {
        let app = &app;
        async move {
            let inv: Value =
                app.get(&format!("/api/v1/invoices/{}", draft_of(c)), &app.admin_token).await.json().await.unwrap();
            inv["number"].as_str().map(str::to_string)
        }
    };
    // K-0100, K-0300, K-0400 in that order; K-0200 stays a draft.
    assert_eq!(number(customers[1]).await.as_deref(), Some("RE-2026-00001"));
    assert_eq!(number(customers[0]).await.as_deref(), Some("RE-2026-00002"));
    assert_eq!(number(customers[2]).await.as_deref(), Some("RE-2026-00003"));
    assert_eq!(number(customers[3]).await, None);
    let shown: Value =
        app.get(&format!("/api/v1/invoice-runs/{}", run["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(shown["issue"]["id"], job["id"], "the run shows its issue job");
    assert_eq!(shown["issue"]["status"], "succeeded");

    // Issuing again tries the rest: the empty draft is a problem again, nothing else moves.
    let res = app.post(&path, &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let again = app.wait_for_job(&path).await;
    assert_ne!(again["id"], job["id"]);
    assert_eq!((again["invoices_issued"].as_i64(), again["invoices_skipped"].as_i64()), (Some(0), Some(1)));
}

#[tokio::test]
async fn jobs_in_the_wrong_state_are_refused_and_queued_jobs_are_cancelled_at_once() {
    let app = app_with_idle_worker().await;
    let customers = customers_with_work(&app, 1..=2).await;
    let res = app.post("/api/v1/invoice-runs", &app.admin_token, &all_customers()).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let queued: Value = res.json().await.unwrap();
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["customers_total"], Value::Null);
    assert_eq!(queued["started_at"], Value::Null);
    let id = &queued["id"];

    // A queued (or running) run's drafts cannot be issued yet.
    problem(
        app.post(&format!("/api/v1/invoice-runs/{id}/issue"), &app.admin_token, &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    let sql = Sql::connect(&app.database_url).await;
    sql.run(&format!(
        "UPDATE invoice_runs SET status = 'running', lease_owner = 'busy-node', lease_expires_at = '2999-01-01T00:00:00.000000Z' WHERE id = {id}"
    ))
    .await;
    problem(
        app.post(&format!("/api/v1/invoice-runs/{id}/issue"), &app.admin_token, &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    sql.run(&format!(
        "UPDATE invoice_runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL WHERE id = {id}"
    ))
    .await;
    problem(app.get(&format!("/api/v1/invoice-runs/{id}/issue"), &app.admin_token).await, StatusCode::NOT_FOUND).await;

    // Who may cancel: the billing role.
    let (_, manager) = app.user_with_roles(&["manager"]).await;
    problem(app.post(&format!("/api/v1/invoice-runs/{id}/cancel"), &manager, &json!({})).await, StatusCode::FORBIDDEN)
        .await;
    let res = app.post(&format!("/api/v1/invoice-runs/{id}/cancel"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cancelled: Value = res.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled", "a queued run is cancelled at once");
    assert_eq!(cancelled["customers_done"], 0);
    assert!(cancelled["finished_at"].is_string());
    problem(
        app.post(&format!("/api/v1/invoice-runs/{id}/cancel"), &app.admin_token, &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;

    // Unknown runs.
    for (method, path) in [
        (Method::GET, "/api/v1/invoice-runs/999999"),
        (Method::POST, "/api/v1/invoice-runs/999999/cancel"),
        (Method::POST, "/api/v1/invoice-runs/999999/issue"),
        (Method::GET, "/api/v1/invoice-runs/999999/issue"),
    ] {
        let res = app.request(method, path, Some(&app.admin_token)).send().await.unwrap();
        problem(res, StatusCode::NOT_FOUND).await;
    }

    // A finished small run: its issue job stays queued here; a bad series changes nothing;
    // cancelling the run cancels the issue job.
    let small = commit(&app, json!({"scope": "customer", "scope_id": customers[0], "period_end": "2026-11-30"})).await;
    let issue = format!("/api/v1/invoice-runs/{}/issue", small["id"]);
    problem(app.post(&issue, &manager, &json!({})).await, StatusCode::FORBIDDEN).await;
    let p =
        problem(app.post(&issue, &app.admin_token, &json!({"series": "re-"})).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(error_fields(&p), vec!["series"]);
    problem(app.get(&issue, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    let res = app.post(&issue, &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "queued");
    problem(app.post(&issue, &app.admin_token, &json!({})).await, StatusCode::CONFLICT).await;
    let res = app.post(&format!("/api/v1/invoice-runs/{}/cancel", small["id"]), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let shown: Value = res.json().await.unwrap();
    assert_eq!(shown["status"], "succeeded", "the run itself had finished");
    assert_eq!(shown["issue"]["status"], "cancelled");
    let job: Value = app.get(&issue, &app.admin_token).await.json().await.unwrap();
    assert_eq!(job["status"], "cancelled");
    assert_eq!(job["invoices_issued"], 0);
    problem(
        app.post(&format!("/api/v1/invoice-runs/{}/cancel", small["id"]), &app.admin_token, &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(sql.count("SELECT COUNT(*) FROM invoices WHERE number IS NOT NULL").await, 0, "nothing was issued");
}

/// Every record of `path` (all pages) without what differs between two servers doing the
/// same (`id`s of the records themselves, times, request ids), invoices named by the
/// customer number they are for (`invoices`: id → number; PostgreSQL bills customers side by
/// side, so invoice ids differ between servers).
async fn records(app: &TestApp, path: &str, invoices: &HashMap<i64, String>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let name = |v: &mut Value| {
        if let Some(n) = v.as_i64().and_then(|id| invoices.get(&id)) {
            *v = Value::from(format!("invoice for {n}"));
        }
    };
    loop {
        let page_path = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let page: Value = app.get(&page_path, &app.admin_token).await.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            let mut item = item.clone();
            for volatile in ["id", "at", "created_at", "delivered_at", "request_id"] {
                item.as_object_mut().unwrap().remove(volatile);
            }
            if item["entity_type"] == "invoice" {
                name(&mut item["entity_id"]);
            }
            if item["payload"]["invoice_id"].is_i64() {
                name(&mut item["payload"]["invoice_id"]);
            }
            // An invoice event's data is the invoice: its id, times and links differ too.
            if item["type"].as_str().is_some_and(|t| t.starts_with("invoice.")) {
                name(&mut item["payload"]["id"]);
                for volatile in ["issued_at", "created_at", "updated_at", "run_id"] {
                    item["payload"].as_object_mut().unwrap().remove(volatile);
                }
                for link in item["payload"]["documents"].as_array_mut().unwrap() {
                    link.as_object_mut().unwrap().remove("href");
                }
            }
            out.push(item);
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn a_run_reading_customers_together_bills_each_under_its_own_rates_and_rounding() {
    // 18 customers: a run takes them two at a time, reading both customers' terms in one
    // query per kind. Each must be billed under its own: every third has its own hourly rate,
    // every third after that its own rounding (a full hour at least), the rest the catalog
    // price (96.00) under the default rounding; 60 + 30 minutes each.
    let app = spawn_app().await;
    let customers = customers_with_work(&app, 1..=18).await;
    let services: Value = app.get("/api/v1/services", &app.admin_token).await.json().await.unwrap();
    let remote = services["items"][0]["id"].clone();
    let mut expected = HashMap::new();
    for (i, &customer) in customers.iter().enumerate() {
        let net = match i % 3 {
            0 => {
                let price = 100 + i as i64;
                let body = json!({"owner_type": "customer", "owner_id": customer, "service_id": remote,
                                  "unit_price": format!("{price}.00"), "valid_from": "2026-01-01"});
                let res = app.post("/api/v1/rates", &app.admin_token, &body).await;
                assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
                format!("{}.{}", price * 3 / 2, if price % 2 == 0 { "00" } else { "50" })
            }
            1 => {
                let res = app
                    .request(
                        Method::PUT,
                        &format!("/api/v1/rounding-rules/customers/{customer}"),
                        Some(&app.admin_token),
                    )
                    .json(&json!({"increment_minutes": 60, "minimum_minutes": 60, "mode": "up"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
                "192.00".to_string()
            }
            _ => "144.00".to_string(),
        };
        expected.insert(customer, net);
    }
    let run = app.commit_run_and_wait(&all_customers()).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["invoices_created"], 18, "{run}");
    for (customer, net) in expected {
        let drafts: Value = app
            .get(&format!("/api/v1/invoices?customer_id={customer}&status=draft"), &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        let items = drafts["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{drafts}");
        assert_eq!(items[0]["totals"]["net"], net.as_str(), "customer {customer}: {}", items[0]["totals"]);
    }
}

/// Four customers (one with a prepaid-hours contract used beyond its thresholds) and a
/// committed run over all of them: the run's drafts (id and customer number) in
/// customer-number order.
async fn run_with_quota(app: &TestApp) -> Vec<(i64, String)> {
    customers_with_work(app, [300, 100, 200]).await;
    let services: Value = app.get("/api/v1/services", &app.admin_token).await.json().await.unwrap();
    let remote = services["items"][0]["id"].clone();
    let customer = app.create_customer(json!({"name": "Kontingent GmbH", "number": "K-0150"})).await["id"].clone();
    let res = app
        .post(
            "/api/v1/contracts",
            &app.admin_token,
            &json!({"customer_id": customer, "name": "Support 10 h", "kind": "prepaid_hours", "start_date": "2026-11-01",
                    "fee": "800.00", "hours_per_period": "10", "quota_thresholds": [50, 80, 100],
                    "overage": {"type": "tiers", "tiers": [{"up_to_hours": null, "unit_price": "90.00"}]}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
    let ticket = create_ticket(app, json!({"title": "Migration", "customer_id": customer})).await;
    for day in ["2026-11-10", "2026-11-11"] {
        book(app, json!({"work_date": day, "duration_minutes": 300, "service_id": remote, "ticket_id": ticket["id"], "description": "Migration"})).await;
    }
    let run = commit(app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    let mut drafts = Vec::new();
    for d in run["documents"].as_array().unwrap() {
        let customer: Value =
            app.get(&format!("/api/v1/customers/{}", d["customer_id"]), &app.admin_token).await.json().await.unwrap();
        drafts.push((d["id"].as_i64().unwrap(), customer["number"].as_str().unwrap().to_string()));
    }
    drafts.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(drafts.len(), 4, "{run}");
    drafts
}

#[tokio::test]
async fn an_issue_job_writes_what_issuing_each_draft_alone_writes() {
    // The same data on two servers: one issues the drafts one by one, the other by a job
    // (in batches).
    let (alone, together) = (spawn_app().await, spawn_app().await);
    let drafts_alone = run_with_quota(&alone).await;
    let drafts_together = run_with_quota(&together).await;
    let customers = |d: &[(i64, String)]| d.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>();
    assert_eq!(customers(&drafts_alone), ["K-0100", "K-0150", "K-0200", "K-0300"]);
    assert_eq!(customers(&drafts_together), customers(&drafts_alone));
    for (id, _) in &drafts_alone {
        let res = alone
            .post(&format!("/api/v1/invoices/{id}/issue"), &alone.admin_token, &json!({"issue_date": "2026-12-01"}))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    }
    let runs: Value = together.get("/api/v1/invoice-runs", &together.admin_token).await.json().await.unwrap();
    let path = format!("/api/v1/invoice-runs/{}/issue", runs["items"][0]["id"]);
    let res = together.post(&path, &together.admin_token, &json!({"issue_date": "2026-12-01"})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let job = together.wait_for_job(&path).await;
    assert_eq!((job["status"].as_str(), job["invoices_issued"].as_i64()), (Some("succeeded"), Some(4)), "{job}");

    let fields = |mut v: Value| {
        for volatile in ["id", "issued_at", "created_at", "updated_at", "run_id"] {
            v.as_object_mut().unwrap().remove(volatile);
        }
        for line in v["lines"].as_array_mut().unwrap() {
            line.as_object_mut().unwrap().remove("id");
        }
        // The document links carry the invoice id.
        for link in v["documents"].as_array_mut().unwrap() {
            link.as_object_mut().unwrap().remove("href");
        }
        v
    };
    let mut numbers = Vec::new();
    for ((a_id, customer), (b_id, _)) in drafts_alone.iter().zip(&drafts_together) {
        let a: Value = alone.get(&format!("/api/v1/invoices/{a_id}"), &alone.admin_token).await.json().await.unwrap();
        let b: Value =
            together.get(&format!("/api/v1/invoices/{b_id}"), &together.admin_token).await.json().await.unwrap();
        assert_eq!((b["status"].as_str(), b["issue_date"].as_str()), (Some("issued"), Some("2026-12-01")), "{b}");
        assert!(b["due_date"].is_string() && b["customer"]["number"] == customer.as_str(), "{b}");
        numbers.push(b["number"].clone());
        assert_eq!(fields(a), fields(b), "the invoice for {customer}");
    }
    assert_eq!(numbers, ["RE-2026-00001", "RE-2026-00002", "RE-2026-00003", "RE-2026-00004"].map(Value::from));
    let named = |d: &[(i64, String)]| d.iter().cloned().collect::<HashMap<i64, String>>();
    for path in [
        "/api/v1/events?type=invoice.issued&limit=200",
        "/api/v1/events?type=contract.quota_threshold&limit=200",
        "/api/v1/audit-log?entity_type=invoice&limit=200",
    ] {
        let issued = |records: Vec<Value>| records.into_iter().filter(|r| r["action"] != "create").collect::<Vec<_>>();
        let a = issued(records(&alone, path, &named(&drafts_alone)).await);
        let b = issued(records(&together, path, &named(&drafts_together)).await);
        assert!(!a.is_empty(), "{path}");
        assert_eq!(a, b, "{path}");
    }
    let contracts: Value = together.get("/api/v1/contracts", &together.admin_token).await.json().await.unwrap();
    let contract = &contracts["items"][0]["id"];
    let quota = format!("/api/v1/contracts/{contract}/quota?period=2026-11-15");
    let a: Value = alone.get(&quota, &alone.admin_token).await.json().await.unwrap();
    let b: Value = together.get(&quota, &together.admin_token).await.json().await.unwrap();
    assert!(!b["entries"].as_array().unwrap().is_empty(), "{b}");
    assert_eq!(a, b, "the quota ledger");
}

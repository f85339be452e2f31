//! End-to-end test of the money format (issue 11): every money amount in every response
//! carries the currency's minor units (`"0.00"`, `"96.00"`, never `"0"` or `"96"`), whatever
//! the client sent (`"800"`) and whatever the engine computed (an empty sum is `"0.00"`).

use crate::bookings::service;
use crate::helpers::*;
use crate::invoices::{book, commit, issue};
use crate::tickets::create_ticket;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Keys that hold a money amount wherever they occur in a response (prices, fees, nets,
/// VAT, gross, costs, values). Quantities, hours, minutes and percentages are not money.
const MONEY_KEYS: &[&str] = &[
    "unit_price",
    "base_unit_price",
    "base_price",
    "override_price",
    "rate_override",
    "default_price",
    "default_sales_rate",
    "internal_cost_rate",
    "fee",
    "fee_net",
    "budget_per_period",
    "net",
    "vat",
    "gross",
    "amount",
    "covered_value",
    "unbilled_value",
    "revenue",
    "cost",
    "margin",
];

/// Every `(path, value)` under a money key whose text does not have exactly `minor`
/// decimals (prices may have more: a rate of `0.125` per km is kept).
fn misformatted(v: &Value, path: &str, minor: usize, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let p = format!("{path}.{k}");
                if MONEY_KEYS.contains(&k.as_str()) {
                    if let Some(s) = x.as_str() {
                        let decimals = s.split_once('.').map_or(0, |(_, f)| f.len());
                        let price = k.contains("price") || k.contains("rate");
                        if decimals < minor || (!price && decimals != minor) {
                            out.push(format!("{p} = {s:?}"));
                        }
                    }
                }
                misformatted(x, &p, minor, out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                misformatted(x, &format!("{path}[{i}]"), minor, out);
            }
        }
        _ => {}
    }
}

async fn ok(res: reqwest::Response, what: &str) -> Value {
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {body}");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("{what}: {body}"))
}

#[tokio::test]
async fn every_money_amount_in_every_response_has_the_currencys_minor_units() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let onsite = service(&app, "ONSITE", "hour", true).await;
    let disk = service(&app, "HDD", "piece", true).await;
    let (tech, _) = app.user_with_roles(&["agent"]).await;
    let mut responses: Vec<(String, Value)> = Vec::new();
    let mut seen = |what: &str, v: Value| responses.push((what.to_string(), v));

    let user = ok(
        app.patch(&format!("/api/v1/users/{tech}"), &app.admin_token, &json!({"internal_cost_rate": "40"}), None).await,
        "user",
    )
    .await;
    seen("user", user);
    let customer = app.create_customer(json!({"name": "Geld GmbH"})).await;
    let cid = customer["id"].as_i64().unwrap();
    seen(
        "rate",
        ok(
            app.post(
                "/api/v1/rates",
                &app.admin_token,
                &json!({"owner_type": "customer", "owner_id": cid, "service_id": onsite, "unit_price": "120", "valid_from": "2026-01-01"}),
            )
            .await,
            "rate",
        )
        .await,
    );
    seen(
        "flat fee",
        ok(
            app.post(
                "/api/v1/contracts",
                &app.admin_token,
                &json!({"customer_id": cid, "name": "Flat", "kind": "flat_fee", "start_date": "2026-11-01",
                  "fee": "500", "covered_service_ids": [remote]}),
            )
            .await,
            "contract",
        )
        .await,
    );
    let ticket = create_ticket(&app, json!({"title": "Work", "customer_id": cid})).await;
    book(&app, json!({"user_id": tech, "work_date": "2026-11-03", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Covered"})).await;
    seen("booking", book(&app, json!({"user_id": tech, "work_date": "2026-11-04", "duration_minutes": 60, "service_id": onsite, "ticket_id": ticket["id"], "description": "On site", "rate_override": "100"})).await);
    seen(
        "expense",
        ok(
            app.post(
                "/api/v1/expenses",
                &app.admin_token,
                &json!({"expense_date": "2026-11-05", "service_id": disk, "quantity": "1", "unit_price": "89", "ticket_id": ticket["id"]}),
            )
            .await,
            "expense",
        )
        .await,
    );
    // A prepaid budget customer whose period has nothing booked yet.
    let budget_customer = app.create_customer(json!({"name": "Budget s.r.o."})).await["id"].as_i64().unwrap();
    seen(
        "budget contract",
        ok(
            app.post(
                "/api/v1/contracts",
                &app.admin_token,
                &json!({"customer_id": budget_customer, "name": "Budget", "kind": "prepaid_budget", "start_date": "2026-11-01",
                  "budget_per_period": "1000"}),
            )
            .await,
            "contract",
        )
        .await,
    );

    seen("ready", ok(app.get("/api/v1/billing/ready?as_of=2026-11-30", &app.admin_token).await, "ready").await);
    seen(
        "preview",
        ok(
            app.post("/api/v1/invoice-runs", &app.admin_token, &json!({"scope": "all", "period_end": "2026-11-30"}))
                .await,
            "preview",
        )
        .await,
    );
    let run = commit(&app, json!({"scope": "all", "period_end": "2026-11-30"})).await;
    seen("run", run.clone());
    for id in run["invoice_ids"].as_array().unwrap() {
        let res = app
            .post(
                &format!("/api/v1/invoices/{id}/lines"),
                &app.admin_token,
                &json!({"description": "Setup", "quantity": "1", "unit_price": "50", "vat_rate": "19"}),
            )
            .await;
        seen("manual line", ok(res, "manual line").await);
        seen("draft", ok(app.get(&format!("/api/v1/invoices/{id}"), &app.admin_token).await, "invoice").await);
        let issued = issue(&app, id).await;
        seen("issued", issued);
        seen(
            "proof",
            ok(app.get(&format!("/api/v1/invoices/{id}/proof-of-service"), &app.admin_token).await, "proof").await,
        );
    }
    for path in [
        "/api/v1/invoices",
        "/api/v1/accounting/invoices",
        "/api/v1/rates",
        "/api/v1/services",
        "/api/v1/contracts",
        "/api/v1/expenses",
        "/api/v1/bookings",
        "/api/v1/users",
        "/api/v1/invoice-runs",
    ] {
        seen(path, ok(app.get(path, &app.admin_token).await, path).await);
    }
    let contracts = ok(app.get("/api/v1/contracts", &app.admin_token).await, "contracts").await;
    for c in contracts["items"].as_array().unwrap() {
        let path = format!("/api/v1/contracts/{}/quota?period=2026-11-15", c["id"]);
        let res = app.get(&path, &app.admin_token).await;
        if res.status() == StatusCode::OK {
            seen(&path, res.json().await.unwrap());
        }
    }

    let mut bad = Vec::new();
    for (what, v) in &responses {
        misformatted(v, what, 2, &mut bad);
    }
    assert!(bad.is_empty(), "money without the currency's minor units:\n{}", bad.join("\n"));
}

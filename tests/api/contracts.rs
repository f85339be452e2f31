//! End-to-end tests: contracts: the four kinds, covered services, overage tiers, carry-over, fees.

use crate::bookings::service;
use crate::helpers::*;
use domain::contract::{CarryOver, ContractTerms, Coverage, FeeTiming, Overage, OverageTier};
use domain::period::PeriodKind;
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Creates a customer (EUR unless `currency`) and returns its id.
async fn customer(app: &TestApp, name: &str) -> i64 {
    app.create_customer(json!({"name": name})).await["id"].as_i64().unwrap()
}

/// Creates a contract as admin; panics unless 201.
async fn create_contract(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/contracts", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create contract: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

/// A minimal valid time-and-material contract of the customer.
fn tm(customer_id: i64, name: &str) -> Value {
    json!({"customer_id": customer_id, "name": name, "kind": "time_and_material", "start_date": "2026-01-01"})
}

/// The SPEC example: prepaid 10 h per month for 800.00, carry-over capped at 5 h,
/// overage first 5 h at 90.00, beyond at 110.00.
fn prepaid_support(customer_id: i64) -> Value {
    json!({
        "customer_id": customer_id, "name": "Support 10 h", "kind": "prepaid_hours",
        "start_date": "2026-01-01", "billing_period": "monthly",
        "fee": "800.00", "hours_per_period": "10",
        "carry_over": {"policy": "carry", "cap": "5"},
        "overage": {"type": "tiers", "tiers": [{"up_to_hours": "5", "unit_price": "90.00"},
                                                {"up_to_hours": null, "unit_price": "110.00"}]}
    })
}

/// All contracts visible with this query (follows every page).
async fn all_contracts(app: &TestApp, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/contracts?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let res = app.get(&path, &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let page: Value = res.json().await.unwrap();
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn names(contracts: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = contracts.iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
    n.sort();
    n
}

#[tokio::test]
async fn prepaid_ten_hours_a_month_for_800_with_capped_carry_over_and_overage_tiers_reaches_the_engine_as_sent() {
    let app = spawn_app().await;
    let cust = customer(&app, "Muster IT").await;
    let res = app.post("/api/v1/contracts", &app.admin_token, &prepaid_support(cust)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let c: Value = res.json().await.unwrap();
    let id = c["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/contracts/{id}"));
    assert_eq!(etag, format!("\"contract-{id}-v1\""));
    let year = time::OffsetDateTime::now_utc().year();
    assert_eq!(c["number"], format!("V-{year}-0001"));
    assert_eq!(c["kind"], "prepaid_hours");
    assert_eq!(c["currency"], "EUR");
    assert_eq!(c["fee"], "800.00", "money is an exact decimal string");
    assert_eq!(c["fee_vat_rate"], "19");
    assert_eq!(c["fee_timing"], "in_advance");
    assert_eq!(c["billing_period"], "monthly");
    assert_eq!(c["start_date"], "2026-01-01");
    assert!(c["end_date"].is_null());
    assert_eq!(c["hours_per_period"], "10");
    assert!(c["budget_per_period"].is_null());
    assert_eq!(c["carry_over"], json!({"policy": "carry", "cap": "5", "expiry_periods": null}));
    assert_eq!(
        c["overage"],
        json!({"type": "tiers", "tiers": [{"up_to_hours": "5", "unit_price": "90.00"},
                                          {"up_to_hours": null, "unit_price": "110.00"}]})
    );
    assert_eq!(c["covers_all_work"], true);
    assert_eq!(c["covered_service_ids"], json!([]));
    assert_eq!(c["quota_thresholds"], json!([80, 100]));
    assert_eq!(c["separate_invoice"], false);
    assert!(c["rounding"].is_null());
    assert_eq!(c["version"], 1);

    let res = app.get(&location, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(res.json::<Value>().await.unwrap(), c);

    // What the invoice run will bill with.
    let store = app.store().await;
    let stored = store.get_contract(id).await.unwrap();
    let engine = stored.to_domain();
    assert_eq!(engine.id, id);
    assert_eq!(engine.customer_id, cust);
    assert_eq!(engine.period, PeriodKind::Monthly);
    assert_eq!(engine.fee_timing, FeeTiming::InAdvance);
    assert_eq!(engine.fee, dec("800.00"));
    assert_eq!(engine.coverage, Coverage::AllWork);
    assert_eq!(
        engine.terms,
        ContractTerms::PrepaidHours {
            hours_per_period: dec("10"),
            carry_over: CarryOver::Carry { cap: Some(dec("5")), expiry_periods: None },
            overage: Overage::Tiers(vec![
                OverageTier { up_to_hours: Some(dec("5")), unit_price: dec("90.00") },
                OverageTier { up_to_hours: None, unit_price: dec("110.00") },
            ]),
        }
    );
    assert_eq!(engine.quota(), Some((dec("600"), &CarryOver::Carry { cap: Some(dec("5")), expiry_periods: None })));
    assert!(engine.validate().is_ok());
    let of_customer = store.contracts_of_customer(cust).await.unwrap();
    assert_eq!(of_customer.len(), 1);
    assert_eq!(of_customer[0], stored);
    assert_eq!(app.audit_count(Some("contract")).await, 1);
}

#[tokio::test]
async fn a_flat_fee_of_500_a_month_covers_remote_support_only() {
    let app = spawn_app().await;
    let cust = customer(&app, "Praxis Dr. Weber").await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let c = create_contract(
        &app,
        json!({"customer_id": cust, "name": "Remote support flat", "kind": "flat_fee", "start_date": "2026-02-01",
               "end_date": "2026-12-31", "fee": "500.00", "fee_timing": "in_arrears", "fee_vat_rate": "7",
               "covered_service_ids": [remote], "separate_invoice": true,
               "rounding": {"increment_minutes": 15, "minimum_minutes": 15, "mode": "up"}}),
    )
    .await;
    assert_eq!(c["kind"], "flat_fee");
    assert_eq!(c["fee"], "500.00");
    assert_eq!(c["fee_timing"], "in_arrears");
    assert_eq!(c["fee_vat_rate"], "7");
    assert_eq!(c["end_date"], "2026-12-31");
    assert_eq!(c["covers_all_work"], false);
    assert_eq!(c["covered_service_ids"], json!([remote]));
    assert_eq!(c["separate_invoice"], true);
    assert_eq!(c["rounding"], json!({"increment_minutes": 15, "minimum_minutes": 15, "mode": "up"}));
    for absent in ["hours_per_period", "budget_per_period", "carry_over", "overage", "quota_thresholds"] {
        assert!(c[absent].is_null(), "{absent} does not apply to a flat fee: {c}");
    }
    let engine = app.store().await.get_contract(c["id"].as_i64().unwrap()).await.unwrap().to_domain();
    assert_eq!(engine.terms, ContractTerms::FlatFee);
    assert_eq!(engine.coverage, Coverage::Services(vec![remote]));
    assert!(engine.coverage.covers(remote, true));
    assert_eq!(engine.fee_timing, FeeTiming::InArrears);
    assert!(engine.separate_invoice);
    assert_eq!(engine.rounding.map(|r| r.increment_minutes), Some(15));
    assert!(engine.active_on(time::macros::date!(2026 - 12 - 31)));
    assert!(!engine.active_on(time::macros::date!(2027 - 01 - 01)));

    // Covering a service that was archived since stays possible; adding one is not.
    let onsite = service(&app, "ONSITE", "hour", true).await;
    let old = service(&app, "OLD", "hour", true).await;
    app.delete(&format!("/api/v1/services/{remote}"), &app.admin_token).await;
    app.delete(&format!("/api/v1/services/{old}"), &app.admin_token).await;
    let path = format!("/api/v1/contracts/{}", c["id"]);
    let res = app.patch(&path, &app.admin_token, &json!({"fee": "550.00"}), None).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let u: Value = app
        .patch(&path, &app.admin_token, &json!({"covered_service_ids": [remote, onsite]}), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(u["covered_service_ids"], json!([remote, onsite]));
    assert_eq!(u["fee"], "550.00");
    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"covered_service_ids": [remote, old]}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["covered_service_ids[1]"]);
    assert_eq!(p["errors"][0]["code"], "archived");
}

#[tokio::test]
async fn time_and_material_has_no_fee_and_covers_all_work_by_default() {
    let app = spawn_app().await;
    let cust = customer(&app, "Kanzlei Berg").await;
    let c = create_contract(
        &app,
        json!({"customer_id": cust, "name": "Hourly", "kind": "time_and_material",
                                         "start_date": "2026-01-01", "fee": "0"}),
    )
    .await;
    assert_eq!(c["fee"], "0.00", "money always has the minor units");
    assert_eq!(c["covers_all_work"], true);
    assert!(c["quota_thresholds"].is_null());
    let engine = app.store().await.get_contract(c["id"].as_i64().unwrap()).await.unwrap().to_domain();
    assert_eq!(engine.terms, ContractTerms::TimeAndMaterial);
    assert_eq!(engine.fee, Decimal::ZERO);
    assert_eq!(engine.quota(), None);
}

#[tokio::test]
async fn a_prepaid_budget_bills_the_budget_as_fee_in_the_customers_currency_and_carries_unused_money() {
    let app = spawn_app().await;
    let cust = app.create_customer(json!({"name": "Firma s.r.o.", "currency": "CZK"})).await["id"].as_i64().unwrap();
    let c = create_contract(
        &app,
        json!({"customer_id": cust, "name": "Budget 2026", "kind": "prepaid_budget", "start_date": "2026-01-01",
               "billing_period": "yearly", "budget_per_period": "120000.00",
               "carry_over": {"policy": "carry", "cap": "20000", "expiry_periods": 1},
               "quota_thresholds": [100, 50, 90, 90]}),
    )
    .await;
    assert_eq!(c["currency"], "CZK");
    assert_eq!(c["budget_per_period"], "120000.00");
    assert_eq!(c["fee"], "120000.00", "the prepaid amount is the fee unless given");
    assert_eq!(c["billing_period"], "yearly");
    assert_eq!(c["carry_over"], json!({"policy": "carry", "cap": "20000.00", "expiry_periods": 1}));
    assert_eq!(c["quota_thresholds"], json!([50, 90, 100]), "sorted, once each");
    assert!(c["overage"].is_null());
    let engine = app.store().await.get_contract(c["id"].as_i64().unwrap()).await.unwrap().to_domain();
    assert_eq!(
        engine.terms,
        ContractTerms::PrepaidBudget {
            budget_per_period: dec("120000"),
            carry_over: CarryOver::Carry { cap: Some(dec("20000")), expiry_periods: Some(1) },
        }
    );

    // A fee of its own (paid elsewhere: nothing to invoice) is kept.
    let own = create_contract(
        &app,
        json!({"customer_id": cust, "name": "Budget paid in advance", "kind": "prepaid_budget",
               "start_date": "2026-01-01", "budget_per_period": "5000", "fee": "0"}),
    )
    .await;
    assert_eq!(own["fee"], "0.00");
    assert_eq!(own["carry_over"], json!({"policy": "none", "cap": null, "expiry_periods": null}));
}

#[tokio::test]
async fn invalid_contracts_get_per_field_errors_and_nothing_is_stored() {
    let app = spawn_app().await;
    let cust = customer(&app, "Muster IT").await;
    let archived_cust = customer(&app, "Gone GmbH").await;
    app.delete(&format!("/api/v1/customers/{archived_cust}"), &app.admin_token).await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let old = service(&app, "OLD", "hour", true).await;
    app.delete(&format!("/api/v1/services/{old}"), &app.admin_token).await;
    let with = |base: Value, patch: Value| {
        let mut body = base;
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let prepaid = || prepaid_support(cust);
    let flat = || {
        json!({"customer_id": cust, "name": "Flat", "kind": "flat_fee", "start_date": "2026-01-01",
                         "fee": "500.00", "covered_service_ids": [remote]})
    };
    let tiers = |t: Value| json!({"overage": {"type": "tiers", "tiers": t}});
    let cases: Vec<(Value, Vec<&str>)> = vec![
        // References.
        (with(flat(), json!({"customer_id": 999_999})), vec!["customer_id"]),
        (with(flat(), json!({"customer_id": archived_cust})), vec!["customer_id"]),
        (with(flat(), json!({"covered_service_ids": [remote, 999_999]})), vec!["covered_service_ids[1]"]),
        (with(flat(), json!({"covered_service_ids": [old]})), vec!["covered_service_ids[0]"]),
        (with(flat(), json!({"covered_service_ids": []})), vec!["covered_service_ids"]),
        (with(flat(), json!({"covers_all_work": false, "covered_service_ids": null})), vec!["covered_service_ids"]),
        (with(flat(), json!({"covers_all_work": true})), vec!["covered_service_ids"]),
        (with(flat(), json!({"covered_service_ids": vec![remote; 201]})), vec!["covered_service_ids"]),
        // Dates.
        (with(flat(), json!({"end_date": "2025-12-31"})), vec!["end_date"]),
        (with(flat(), json!({"start_date": "2026-02-30"})), vec!["start_date"]),
        (with(flat(), json!({"start_date": null})), vec!["start_date"]),
        // Money.
        (with(flat(), json!({"fee": "-500.00"})), vec!["fee"]),
        (with(flat(), json!({"fee": 500.0})), vec!["fee"]),
        (with(flat(), json!({"fee": "0"})), vec!["fee"]),
        (with(flat(), json!({"fee": null})), vec!["fee"]),
        (with(flat(), json!({"fee": "5.00001"})), vec!["fee"]),
        (with(flat(), json!({"fee": "1e3"})), vec!["fee"]),
        (with(flat(), json!({"fee_vat_rate": "101"})), vec!["fee_vat_rate"]),
        (with(prepaid(), json!({"fee": null})), vec!["fee"]),
        (with(prepaid(), json!({"hours_per_period": "0"})), vec!["hours_per_period"]),
        (with(prepaid(), json!({"hours_per_period": null})), vec!["hours_per_period"]),
        (with(prepaid(), json!({"hours_per_period": 10})), vec!["hours_per_period"]),
        // Carry-over and tiers.
        (with(prepaid(), json!({"carry_over": {"policy": "carry", "cap": "-1"}})), vec!["carry_over.cap"]),
        (with(prepaid(), json!({"carry_over": {"policy": "none", "cap": "5"}})), vec!["carry_over.cap"]),
        (
            with(prepaid(), json!({"carry_over": {"policy": "carry", "expiry_periods": 0}})),
            vec!["carry_over.expiry_periods"],
        ),
        (with(prepaid(), json!({"carry_over": {"policy": "sometimes"}})), vec!["carry_over.policy"]),
        (
            with(
                prepaid(),
                tiers(json!([{"up_to_hours": "5", "unit_price": "90"}, {"up_to_hours": "3", "unit_price": "110"}])),
            ),
            vec!["overage.tiers[1].up_to_hours"],
        ),
        (
            with(
                prepaid(),
                tiers(json!([{"up_to_hours": null, "unit_price": "90"}, {"up_to_hours": null, "unit_price": "110"}])),
            ),
            vec!["overage.tiers[0].up_to_hours"],
        ),
        (
            with(prepaid(), tiers(json!([{"up_to_hours": null, "unit_price": "-90"}]))),
            vec!["overage.tiers[0].unit_price"],
        ),
        (with(prepaid(), tiers(json!([{"up_to_hours": null, "unit_price": 90}]))), vec!["overage.tiers[0].unit_price"]),
        (with(prepaid(), tiers(json!([]))), vec!["overage.tiers"]),
        (
            with(prepaid(), json!({"quota_thresholds": [80, 0, 201]})),
            vec!["quota_thresholds[1]", "quota_thresholds[2]"],
        ),
        (
            with(prepaid(), json!({"rounding": {"increment_minutes": -15, "minimum_minutes": 2000, "mode": "up"}})),
            vec!["rounding.increment_minutes", "rounding.minimum_minutes"],
        ),
        // Shape.
        (with(flat(), json!({"kind": "subscription"})), vec!["kind"]),
        (with(flat(), json!({"billing_period": "weekly"})), vec!["billing_period"]),
        (with(flat(), json!({"name": "  "})), vec!["name"]),
        (with(flat(), json!({"number": "V 1"})), vec!["number"]),
        (with(flat(), json!({"colour": "red"})), vec!["colour"]),
        // Several at once.
        (
            with(flat(), json!({"customer_id": 999_999, "fee": "-1", "end_date": "2025-01-01"})),
            vec!["customer_id", "end_date", "fee"],
        ),
    ];
    for (body, fields) in cases {
        let p = problem(app.post("/api/v1/contracts", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert_eq!(p["type"], "urn:kontor:problem:validation");
        assert_eq!(error_fields(&p), fields, "for {body}: {p}");
    }
    assert!(all_contracts(&app, "status=all").await.is_empty());
    assert_eq!(app.audit_count(Some("contract")).await, 0);
}

#[tokio::test]
async fn fields_that_do_not_fit_the_kind_are_named_in_the_422() {
    let app = spawn_app().await;
    let cust = customer(&app, "Muster IT").await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"kind": "time_and_material", "fee": "100.00", "hours_per_period": "10", "carry_over": {"policy": "none"}}),
            vec!["carry_over", "fee", "hours_per_period"],
        ),
        (
            json!({"kind": "flat_fee", "fee": "500", "budget_per_period": "100", "overage": {"type": "resolved_rates"},
                   "quota_thresholds": [80]}),
            vec!["budget_per_period", "overage", "quota_thresholds"],
        ),
        (
            json!({"kind": "prepaid_budget", "budget_per_period": "1000", "hours_per_period": "10",
                   "overage": {"type": "tiers", "tiers": [{"up_to_hours": null, "unit_price": "90"}]}}),
            vec!["hours_per_period", "overage"],
        ),
        (
            json!({"kind": "prepaid_hours", "fee": "800", "hours_per_period": "10", "budget_per_period": "1"}),
            vec!["budget_per_period"],
        ),
    ];
    for (mut body, fields) in cases {
        body["customer_id"] = json!(cust);
        body["name"] = json!("Mismatch");
        body["start_date"] = json!("2026-01-01");
        let p = problem(app.post("/api/v1/contracts", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert_eq!(error_fields(&p), fields, "for {body}: {p}");
        assert!(p["errors"].as_array().unwrap().iter().all(|e| e["code"] == "not_applicable"), "{p}");
    }
    assert!(all_contracts(&app, "status=all").await.is_empty());
}

#[tokio::test]
async fn unknown_contracts_are_404() {
    let app = spawn_app().await;
    for path in ["/api/v1/contracts/999", "/api/v1/contracts/abc", "/api/v1/contracts/0"] {
        let p = problem(app.get(path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
        assert_eq!(p["type"], "urn:kontor:problem:not-found");
    }
    problem(
        app.patch("/api/v1/contracts/999", &app.admin_token, &json!({"name": "x"}), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.delete("/api/v1/contracts/999", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    problem(app.post("/api/v1/contracts/999/restore", &app.admin_token, &json!({})).await, StatusCode::NOT_FOUND).await;
    let store = app.store().await;
    assert!(matches!(store.get_contract(999).await, Err(persistence::StoreError::NotFound)));
}

#[tokio::test]
async fn changing_the_quota_and_tiers_keeps_the_rest_but_customer_and_kind_are_fixed() {
    let app = spawn_app().await;
    let cust = customer(&app, "Muster IT").await;
    let other = customer(&app, "Other").await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let c = create_contract(&app, prepaid_support(cust)).await;
    let path = format!("/api/v1/contracts/{}", c["id"]);

    let res = app
        .patch(
            &path,
            &app.admin_token,
            &json!({"hours_per_period": "12.5", "fee": "950.00", "end_date": "2026-12-31",
                    "covered_service_ids": [remote], "customer_id": cust, "kind": "prepaid_hours",
                    "overage": {"type": "tiers", "tiers": [{"up_to_hours": "2", "unit_price": "85.00"},
                                                           {"up_to_hours": "10", "unit_price": "95.00"},
                                                           {"up_to_hours": null, "unit_price": "120.00"}]},
                    "rounding": {"increment_minutes": 10, "minimum_minutes": 0, "mode": "nearest"}}),
            Some(&format!("\"contract-{}-v1\"", c["id"])),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), format!("\"contract-{}-v2\"", c["id"]));
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["hours_per_period"], "12.5");
    assert_eq!(u["fee"], "950.00");
    assert_eq!(u["end_date"], "2026-12-31");
    assert_eq!(u["covers_all_work"], false);
    assert_eq!(u["covered_service_ids"], json!([remote]));
    assert_eq!(u["overage"]["tiers"].as_array().unwrap().len(), 3);
    assert_eq!(u["overage"]["tiers"][2]["unit_price"], "120.00");
    assert_eq!(u["carry_over"], c["carry_over"], "untouched terms stay");
    assert_eq!(u["number"], c["number"]);
    assert_eq!(u["name"], "Support 10 h");
    assert_eq!(u["version"], 2);

    // null clears the end and the rounding rule; back to resolved rates drops the tiers.
    let u: Value = app
        .patch(
            &path,
            &app.admin_token,
            &json!({"end_date": null, "rounding": null, "overage": {"type": "resolved_rates"},
                                                 "covers_all_work": true}),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(u["end_date"].is_null());
    assert!(u["rounding"].is_null());
    assert_eq!(u["overage"], json!({"type": "resolved_rates", "tiers": null}));
    assert_eq!(u["covers_all_work"], true);
    assert_eq!(u["covered_service_ids"], json!([]));
    let engine = app.store().await.get_contract(c["id"].as_i64().unwrap()).await.unwrap().to_domain();
    assert!(matches!(engine.terms, ContractTerms::PrepaidHours { overage: Overage::ResolvedRates, .. }));

    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"customer_id": other, "kind": "flat_fee", "name": "Moved"}), None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["customer_id", "kind"]);
    assert!(p["errors"].as_array().unwrap().iter().all(|e| e["code"] == "immutable"), "{p}");
    let p = problem(
        app.patch(
            &path,
            &app.admin_token,
            &json!({"budget_per_period": "100", "start_date": "2027-01-01",
                                                   "end_date": "2026-12-31"}),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["budget_per_period", "end_date"]);
    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"number": "  "}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["number"], "a contract keeps its number");
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["name"], "Support 10 h");
    assert_eq!(unchanged["customer_id"], cust);
    assert_eq!(unchanged["version"], 3);
    assert_eq!(app.audit_count(Some("contract")).await, 3);
}

#[tokio::test]
async fn a_budget_change_moves_a_fee_that_was_the_budget() {
    let app = spawn_app().await;
    let cust = customer(&app, "Muster IT").await;
    let c = create_contract(
        &app,
        json!({"customer_id": cust, "name": "Budget", "kind": "prepaid_budget",
                                         "start_date": "2026-01-01", "budget_per_period": "1000.00"}),
    )
    .await;
    let path = format!("/api/v1/contracts/{}", c["id"]);
    let u: Value =
        app.patch(&path, &app.admin_token, &json!({"budget_per_period": "1500.00"}), None).await.json().await.unwrap();
    assert_eq!(u["budget_per_period"], "1500.00");
    assert_eq!(u["fee"], "1500.00");
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let cust = customer(&app, "Muster IT").await;
    let c = create_contract(&app, prepaid_support(cust)).await;
    let path = format!("/api/v1/contracts/{}", c["id"]);
    let v1 = format!("\"contract-{}-v1\"", c["id"]);
    let res = app.patch(&path, &app.admin_token, &json!({"name": "Support 2026"}), Some(&v1)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"fee": "1.00"}), Some(&v1)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    assert_eq!(p["type"], "urn:kontor:problem:precondition-failed");
    problem(
        app.patch(&path, &app.admin_token, &json!({"fee": "1.00"}), Some("\"service-1-v2\"")).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let stale_delete =
        app.request(Method::DELETE, &path, Some(&app.admin_token)).header("if-match", &v1).send().await.unwrap();
    problem(stale_delete, StatusCode::PRECONDITION_FAILED).await;
    let now: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(now["fee"], "800.00");
    assert_eq!(now["name"], "Support 2026");
    assert_eq!(now["archived"], false);
    assert_eq!(now["version"], 2);

    // The audit log has who changed what, with the terms before and after.
    let log: Value = app
        .get(&format!("/api/v1/audit-log?entity_type=contract&entity_id={}", c["id"]), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"], "update");
    assert_eq!(items[0]["actor_name"], ADMIN_EMAIL);
    assert_eq!(items[0]["before"]["name"], "Support 10 h");
    assert_eq!(items[0]["after"]["name"], "Support 2026");
    assert_eq!(items[0]["after"]["fee"], "800.00");
    assert_eq!(items[0]["after"]["terms"]["kind"], "prepaid_hours");
    assert_eq!(items[1]["action"], "create");
}

#[tokio::test]
async fn an_archived_contract_is_hidden_read_only_and_not_billed_until_restored() {
    let app = spawn_app().await;
    let cust = customer(&app, "Muster IT").await;
    let c = create_contract(&app, prepaid_support(cust)).await;
    let id = c["id"].as_i64().unwrap();
    let path = format!("/api/v1/contracts/{id}");
    let res = app.delete(&path, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let a: Value = res.json().await.unwrap();
    assert_eq!(a["archived"], true);
    assert!(a["archived_at"].is_string());
    assert_eq!(app.delete(&path, &app.admin_token).await.status(), StatusCode::OK, "archiving is idempotent");

    assert!(all_contracts(&app, "").await.is_empty());
    assert_eq!(all_contracts(&app, "status=archived").await.len(), 1);
    assert_eq!(all_contracts(&app, "status=all").await.len(), 1);
    assert_eq!(app.get(&path, &app.admin_token).await.status(), StatusCode::OK, "still readable");
    let store = app.store().await;
    assert!(store.contracts_of_customer(cust).await.unwrap().is_empty(), "the invoice run skips it");

    let p = problem(app.patch(&path, &app.admin_token, &json!({"name": "x"}), None).await, StatusCode::CONFLICT).await;
    assert_eq!(p["type"], "urn:kontor:problem:conflict");

    let res = app.post(&format!("{path}/restore"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["archived"], false);
    assert!(r["archived_at"].is_null());
    assert_eq!(store.contracts_of_customer(cust).await.unwrap().len(), 1);
    assert_eq!(app.patch(&path, &app.admin_token, &json!({"name": "Again"}), None).await.status(), StatusCode::OK);
    // create, archive, restore, update (the repeated archive changed nothing)
    assert_eq!(app.audit_count(Some("contract")).await, 4);
}

#[tokio::test]
async fn contracts_are_filtered_by_customer_kind_day_status_and_search() {
    let app = spawn_app().await;
    let a = customer(&app, "Alpha").await;
    let b = customer(&app, "Beta").await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    create_contract(
        &app,
        json!({"customer_id": a, "name": "Alpha hourly", "kind": "time_and_material",
                                 "start_date": "2025-01-01", "end_date": "2025-12-31"}),
    )
    .await;
    create_contract(&app, prepaid_support(a)).await;
    create_contract(
        &app,
        json!({"customer_id": b, "name": "Beta flat", "kind": "flat_fee", "start_date": "2026-03-01",
                                 "end_date": "2026-06-30", "fee": "500", "covered_service_ids": [remote],
                                 "number": "SLA-BETA-7"}),
    )
    .await;
    let gone = create_contract(&app, tm(b, "Beta old")).await;
    app.delete(&format!("/api/v1/contracts/{}", gone["id"]), &app.admin_token).await;

    assert_eq!(names(&all_contracts(&app, &format!("customer_id={a}")).await), ["Alpha hourly", "Support 10 h"]);
    assert_eq!(names(&all_contracts(&app, &format!("customer_id={b}")).await), ["Beta flat"]);
    assert_eq!(names(&all_contracts(&app, &format!("customer_id={b}&status=all")).await), ["Beta flat", "Beta old"]);
    assert_eq!(names(&all_contracts(&app, "kind=flat_fee").await), ["Beta flat"]);
    assert_eq!(names(&all_contracts(&app, "active_on=2025-12-31").await), ["Alpha hourly"], "the end day is included");
    assert_eq!(names(&all_contracts(&app, "active_on=2026-01-01").await), ["Support 10 h"]);
    assert_eq!(names(&all_contracts(&app, "active_on=2026-06-30").await), ["Beta flat", "Support 10 h"]);
    assert_eq!(names(&all_contracts(&app, "active_on=2026-07-01").await), ["Support 10 h"]);
    assert_eq!(names(&all_contracts(&app, "active_on=2024-12-31").await), Vec::<String>::new());
    assert_eq!(names(&all_contracts(&app, "q=sla-beta").await), ["Beta flat"], "number, case-insensitive");
    assert_eq!(names(&all_contracts(&app, "q=HOURLY").await), ["Alpha hourly"]);
    assert_eq!(names(&all_contracts(&app, "q=100%25").await), Vec::<String>::new(), "% is literal");
    assert_eq!(
        names(&all_contracts(&app, &format!("customer_id={a}&kind=prepaid_hours&active_on=2026-05-01")).await),
        ["Support 10 h"]
    );

    for bad in
        ["active_on=2026-13-01", "kind=subscription", "status=deleted", "limit=0", "cursor=garbage", "colour=red"]
    {
        let p = problem(
            app.get(&format!("/api/v1/contracts?{bad}"), &app.admin_token).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p["type"], "urn:kontor:problem:validation", "{bad}: {p}");
    }
}

#[tokio::test]
async fn paging_through_contracts_returns_each_exactly_once() {
    let app = spawn_app().await;
    let cust = customer(&app, "Muster IT").await;
    for i in 0..7 {
        create_contract(&app, tm(cust, &format!("Contract {i}"))).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/api/v1/contracts?limit=3".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|c| c["number"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "sorted by number");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7, "no gaps, no repeats");
}

#[tokio::test]
async fn the_billing_office_maintains_contracts_managers_read_them_and_nobody_else_may() {
    let app = spawn_app().await;
    let cust = customer(&app, "Muster IT").await;
    let (_, billing) = app.user_with_roles(&["billing"]).await;
    let (_, manager) = app.user_with_roles(&["manager"]).await;
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    let (_, viewer) = app.user_with_roles(&["viewer"]).await;
    let (_, key) = app.api_key(&["customers:read", "customers:write", "invoices:read", "invoices:export"]).await;

    let res = app.post("/api/v1/contracts", &billing, &prepaid_support(cust)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let c: Value = res.json().await.unwrap();
    let path = format!("/api/v1/contracts/{}", c["id"]);
    assert_eq!(app.patch(&path, &billing, &json!({"name": "By billing"}), None).await.status(), StatusCode::OK);

    assert_eq!(app.get(&path, &manager).await.status(), StatusCode::OK);
    assert_eq!(app.get("/api/v1/contracts", &manager).await.status(), StatusCode::OK);
    problem(app.post("/api/v1/contracts", &manager, &prepaid_support(cust)).await, StatusCode::FORBIDDEN).await;
    problem(app.patch(&path, &manager, &json!({"name": "x"}), None).await, StatusCode::FORBIDDEN).await;
    problem(app.delete(&path, &manager).await, StatusCode::FORBIDDEN).await;
    problem(app.post(&format!("{path}/restore"), &manager, &json!({})).await, StatusCode::FORBIDDEN).await;

    for token in [&agent, &viewer, &key] {
        problem(app.get("/api/v1/contracts", token).await, StatusCode::FORBIDDEN).await;
        problem(app.get(&path, token).await, StatusCode::FORBIDDEN).await;
        problem(app.post("/api/v1/contracts", token, &prepaid_support(cust)).await, StatusCode::FORBIDDEN).await;
        problem(app.patch(&path, token, &json!({"name": "x"}), None).await, StatusCode::FORBIDDEN).await;
        problem(app.delete(&path, token).await, StatusCode::FORBIDDEN).await;
    }
    let res = app.client.get(app.url("/api/v1/contracts")).header("x-api-key", &key).send().await.unwrap();
    problem(res, StatusCode::FORBIDDEN).await;
    problem(app.client.get(app.url("/api/v1/contracts")).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;

    let now: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(now["name"], "By billing");
    assert_eq!(now["archived"], false);
    assert_eq!(all_contracts(&app, "status=all").await.len(), 1);
}

#[tokio::test]
async fn concurrent_creations_get_unique_gapless_automatic_numbers_around_a_number_given_by_hand() {
    let app = spawn_app_with(|c| c.workers = Some(2)).await;
    let cust = customer(&app, "Muster IT").await;
    let year = time::OffsetDateTime::now_utc().year();
    let manual = create_contract(
        &app,
        json!({"customer_id": cust, "name": "Manual", "kind": "time_and_material",
                                              "start_date": "2026-01-01", "number": format!("V-{year}-0003")}),
    )
    .await;
    assert_eq!(manual["number"], format!("V-{year}-0003"));
    let bodies: Vec<Value> = (0..12).map(|i| tm(cust, &format!("Parallel {i}"))).collect();
    let responses =
        futures_util::future::join_all(bodies.iter().map(|b| app.post("/api/v1/contracts", &app.admin_token, b))).await;
    for res in &responses {
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let mut numbers: Vec<String> =
        all_contracts(&app, "").await.iter().map(|c| c["number"].as_str().unwrap().to_string()).collect();
    numbers.sort();
    let expected: Vec<String> = (1..=13).map(|n| format!("V-{year}-{n:04}")).collect();
    assert_eq!(numbers, expected, "the number given by hand is skipped, none is used twice");

    let p = problem(
        app.post(
            "/api/v1/contracts",
            &app.admin_token,
            &json!({"customer_id": cust, "name": "Dup",
                  "kind": "time_and_material", "start_date": "2026-01-01", "number": format!("V-{year}-0005")}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("number"), "{p}");
    let first = all_contracts(&app, "q=Parallel 0").await;
    let p = problem(
        app.patch(
            &format!("/api/v1/contracts/{}", first[0]["id"]),
            &app.admin_token,
            &json!({"number": format!("V-{year}-0003")}),
            None,
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("number"), "{p}");
}

#[tokio::test]
async fn a_retried_contract_creation_with_the_same_idempotency_key_creates_it_once() {
    let app = spawn_app().await;
    let cust = customer(&app, "Muster IT").await;
    let body = prepaid_support(cust);
    let send = |b: Value| {
        app.request(Method::POST, "/api/v1/contracts", Some(&app.admin_token))
            .header("idempotency-key", "contract-import-1")
            .json(&b)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send(body.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    let mut other = body;
    other["name"] = json!("Something else");
    problem(send(other).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(all_contracts(&app, "").await.len(), 1);
}

#[tokio::test]
async fn contracts_of_an_archived_customer_are_read_only_until_the_customer_is_restored() {
    let app = spawn_app().await;
    let customer = app.create_customer(json!({"name": "Leaving GmbH"})).await;
    let contract = create_contract(&app, tm(customer["id"].as_i64().unwrap(), "Hourly")).await;
    let path = format!("/api/v1/contracts/{}", contract["id"]);
    app.delete(&format!("/api/v1/customers/{}", customer["id"]), &app.admin_token).await;
    problem(app.patch(&path, &app.admin_token, &json!({"name": "Renamed"}), None).await, StatusCode::CONFLICT).await;
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["name"], "Hourly");
    app.post(&format!("/api/v1/customers/{}/restore", customer["id"]), &app.admin_token, &json!({})).await;
    assert_eq!(app.patch(&path, &app.admin_token, &json!({"name": "Renamed"}), None).await.status(), StatusCode::OK);
}

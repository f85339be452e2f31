//! End-to-end tests: expenses and material — catalog defaults, free text, validation,
//! ownership and locking.

use crate::bookings::{project, service};
use crate::helpers::*;
use crate::tickets::{create_ticket, customer_id};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn expense(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/api/v1/expenses", token, &body).await
}

#[tokio::test]
async fn a_catalog_item_brings_its_unit_price_vat_and_name() {
    let app = spawn_app().await;
    let disk = service(&app, "HDD1TB", "piece", true).await;
    let customer = customer_id(&app).await;
    let ticket = create_ticket(&app, json!({"title": "New disk", "customer_id": customer})).await;
    let res = expense(
        &app,
        &app.admin_token,
        json!({"expense_date": "2026-11-23", "service_id": disk, "quantity": "2", "ticket_id": ticket["id"]}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["unit"], "piece");
    assert_eq!(e["unit_price"], "96.00");
    assert_eq!(e["vat_rate"], "19");
    assert_eq!(e["description"], "Service HDD1TB");
    assert_eq!(e["quantity"], "2");
    assert_eq!(e["customer_id"], customer);
    assert_eq!(e["billable"], true);
    assert_eq!(e["state"], "open");
    // The price can be overridden per line.
    let e: Value = expense(&app, &app.admin_token, json!({"expense_date": "2026-11-23", "service_id": disk, "quantity": "1", "unit_price": "89.00", "ticket_id": ticket["id"]})).await.json().await.unwrap();
    assert_eq!(e["unit_price"], "89.00");
}

#[tokio::test]
async fn free_text_expenses_need_unit_price_and_vat_and_bad_amounts_are_refused() {
    let app = spawn_app().await;
    let ticket = create_ticket(&app, json!({"title": "Cables", "customer_id": customer_id(&app).await})).await;
    let p = problem(
        expense(
            &app,
            &app.admin_token,
            json!({"expense_date": "2026-11-23", "quantity": "3", "ticket_id": ticket["id"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["description", "unit", "unit_price", "vat_rate"]);
    let ok = expense(&app, &app.admin_token, json!({"expense_date": "2026-11-23", "description": "Patch cable 2 m", "quantity": "3", "unit": "piece", "unit_price": "4.90", "vat_rate": "19", "ticket_id": ticket["id"]})).await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    let base = json!({"expense_date": "2026-11-23", "description": "x", "unit": "piece", "unit_price": "1.00", "vat_rate": "19", "ticket_id": ticket["id"]});
    for (patch, field) in [
        (json!({"quantity": "0"}), "quantity"),
        (json!({"quantity": 2.5}), "quantity"),
        (json!({"quantity": "1", "unit_price": "-1"}), "unit_price"),
        (json!({"quantity": "1", "vat_rate": "150"}), "vat_rate"),
        (json!({"quantity": "1", "service_id": 99999}), "service_id"),
        (json!({"quantity": "1", "ticket_id": null}), "ticket_id,project_id,task_id"),
        (json!({"quantity": "1", "unit": "bucket"}), "unit"),
    ] {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        let p = problem(expense(&app, &app.admin_token, body.clone()).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), field.split(',').collect::<Vec<_>>(), "for {body}");
    }
    let list: Value = app.get("/api/v1/expenses", &app.admin_token).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn expenses_on_internal_projects_are_not_billable() {
    let app = spawn_app().await;
    let internal = project(&app, json!({"name": "Office", "internal": true})).await;
    let body = json!({"expense_date": "2026-11-23", "description": "Coffee machine", "quantity": "1", "unit": "piece", "unit_price": "300.00", "vat_rate": "19", "project_id": internal["id"]});
    let e: Value = expense(&app, &app.admin_token, body.clone()).await.json().await.unwrap();
    assert_eq!(e["billable"], false);
    let mut billable = body;
    billable["billable"] = json!(true);
    problem(expense(&app, &app.admin_token, billable).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(
        app.patch(&format!("/api/v1/expenses/{}", e["id"]), &app.admin_token, &json!({"billable": true}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn billed_expenses_are_locked_and_agents_touch_only_their_own() {
    let app = spawn_app().await;
    let ticket = create_ticket(&app, json!({"title": "t", "customer_id": customer_id(&app).await})).await;
    let (_, anna) = app.user_with_roles(&["agent"]).await;
    let (_, bert) = app.user_with_roles(&["agent"]).await;
    let body = json!({"expense_date": "2026-11-23", "description": "Parking", "quantity": "1", "unit": "flat", "unit_price": "6.50", "vat_rate": "19", "ticket_id": ticket["id"]});
    let e: Value = expense(&app, &anna, body.clone()).await.json().await.unwrap();
    let path = format!("/api/v1/expenses/{}", e["id"]);
    problem(app.patch(&path, &bert, &json!({"quantity": "2"}), None).await, StatusCode::FORBIDDEN).await;
    problem(app.delete(&path, &bert).await, StatusCode::FORBIDDEN).await;
    let changed: Value = app.patch(&path, &anna, &json!({"unit_price": "7.00"}), None).await.json().await.unwrap();
    assert_eq!(changed["unit_price"], "7.00");
    app.store().await.set_expense_state(e["id"].as_i64().unwrap(), "billed").await.unwrap();
    problem(app.patch(&path, &anna, &json!({"quantity": "2"}), None).await, StatusCode::CONFLICT).await;
    problem(app.delete(&path, &app.admin_token).await, StatusCode::CONFLICT).await;
    let second: Value = expense(&app, &anna, body).await.json().await.unwrap();
    assert_eq!(app.delete(&format!("/api/v1/expenses/{}", second["id"]), &anna).await.status(), StatusCode::NO_CONTENT);
    let (_, viewer) = app.user_with_roles(&["viewer"]).await;
    assert_eq!(app.get("/api/v1/expenses", &viewer).await.status(), StatusCode::OK);
    problem(expense(&app, &viewer, json!({"expense_date": "2026-11-23", "description": "x", "quantity": "1", "unit": "flat", "unit_price": "1", "vat_rate": "0", "ticket_id": ticket["id"]})).await, StatusCode::FORBIDDEN).await;
    let billed: Value = app.get("/api/v1/expenses?state=billed", &app.admin_token).await.json().await.unwrap();
    assert_eq!(billed["items"].as_array().unwrap().len(), 1);
}

//! End-to-end tests: admin-defined custom fields of bookings and tickets.

use crate::catalog::{create_service, service};
use crate::helpers::*;
use domain::custom_field::{billed_values, billing_mappings, validate_values, CustomFieldEntity, FieldType};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Defines a custom field as admin; panics unless 201.
pub async fn create_field(app: &TestApp, body: Value) -> Value {
    let res = app.post("/api/v1/custom-fields", &app.admin_token, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "create custom field: {}", res.text().await.unwrap_or_default());
    res.json().await.expect("json")
}

/// All definitions visible with this query (follows every page).
async fn all_fields(app: &TestApp, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/custom-fields?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let res = app.get(&path, &app.admin_token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let page: Value = res.json().await.expect("json");
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn keys(items: &[Value]) -> Vec<String> {
    items.iter().map(|f| format!("{}.{}", f["entity"].as_str().unwrap(), f["key"].as_str().unwrap())).collect()
}

/// A second handle on the test server's database, as the bookings and tickets code has.
async fn store_of(app: &TestApp) -> persistence::Store {
    let url = match &app.db {
        TestDb::Sqlite { dir } => format!("sqlite://{}/kontor.db?mode=rwc", dir.display()),
        TestDb::Postgres { admin_url, name } => {
            let base = admin_url.split('?').next().unwrap_or(admin_url);
            let host = base.rsplit_once('/').map(|(h, _)| h).unwrap_or(base);
            format!("{host}/{name}")
        }
    };
    persistence::Store::open(&persistence::StoreOptions { url, max_connections: Some(2) }).await.expect("open store")
}

fn km_field(service_id: &Value) -> Value {
    json!({"entity": "booking", "key": "km", "label": "Kilometres driven", "field_type": "number",
           "min": "0", "max": "1000", "billing_service_id": service_id})
}

#[tokio::test]
async fn an_admin_defines_a_km_field_billed_as_the_kilometre_service() {
    let app = spawn_app().await;
    let km = create_service(
        &app,
        json!({"code": "KM", "name": "Kilometres", "unit": "km", "kind": "travel", "default_price": "0.30", "vat_rate": "19"}),
    )
    .await;
    let res = app.post("/api/v1/custom-fields", &app.admin_token, &km_field(&km["id"])).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let f: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/custom-fields/{}", f["id"]));
    assert_eq!(etag, format!("\"custom-field-{}-v1\"", f["id"]));
    assert_eq!(f["entity"], "booking");
    assert_eq!(f["key"], "km");
    assert_eq!(f["label"], "Kilometres driven");
    assert_eq!(f["field_type"], "number");
    assert_eq!(f["required"], false);
    assert_eq!(f["options"], json!([]));
    assert_eq!(f["min"], "0");
    assert_eq!(f["max"], "1000");
    assert_eq!(f["billing_service_id"], km["id"]);
    assert_eq!(f["archived"], false);

    let vehicle = create_field(
        &app,
        json!({"entity": "booking", "key": "vehicle", "label": "Vehicle", "field_type": "select",
               "options": ["car", "van"], "required": true}),
    )
    .await;
    assert_eq!(vehicle["options"], json!(["car", "van"]));
    assert_eq!(vehicle["required"], true);
    for (key, field_type) in [("contract_ref", "text"), ("on_site", "boolean"), ("visit_on", "date")] {
        let f =
            create_field(&app, json!({"entity": "ticket", "key": key, "label": key, "field_type": field_type})).await;
        assert_eq!(f["field_type"], field_type);
    }
    let res = app.get(&location, &app.admin_token).await;
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["billing_service_id"], km["id"]);
    assert_eq!(app.audit_count(Some("custom_field")).await, 5);
}

#[tokio::test]
async fn invalid_definitions_get_per_field_errors_and_nothing_is_stored() {
    let app = spawn_app().await;
    let km = create_service(&app, service("KM")).await;
    let number = |extra: Value| {
        let mut body = json!({"entity": "booking", "key": "km", "label": "Km", "field_type": "number"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (number(json!({"key": "Km"})), vec!["key"]),
        (number(json!({"key": "1km"})), vec!["key"]),
        (number(json!({"key": "km-driven"})), vec!["key"]),
        (number(json!({"key": ""})), vec!["key"]),
        (number(json!({"key": "k".repeat(41)})), vec!["key"]),
        (number(json!({"label": ""})), vec!["label"]),
        (number(json!({"entity": "invoice"})), vec!["entity"]),
        (number(json!({"field_type": "money"})), vec!["field_type"]),
        (number(json!({"min": 5})), vec!["min"]),
        (number(json!({"min": "10", "max": "5"})), vec!["min"]),
        (number(json!({"options": ["a"]})), vec!["options"]),
        (number(json!({"required": "yes"})), vec!["required"]),
        (number(json!({"entity": "ticket", "billing_service_id": km["id"]})), vec!["billing_service_id"]),
        (number(json!({"field_type": "text", "min": "1"})), vec!["min"]),
        (number(json!({"field_type": "text", "billing_service_id": km["id"]})), vec!["billing_service_id"]),
        (number(json!({"field_type": "select"})), vec!["options"]),
        (number(json!({"field_type": "select", "options": []})), vec!["options"]),
        (number(json!({"field_type": "select", "options": ["car", "van", "car"]})), vec!["options[2]"]),
        (number(json!({"field_type": "select", "options": ["car", " "]})), vec!["options[1]"]),
        (number(json!({"field_type": "select", "options": "car,van"})), vec!["options"]),
        (number(json!({"field_type": "boolean", "max": "1"})), vec!["max"]),
        (number(json!({"default": "0"})), vec!["default"]),
        (json!({"entity": "booking", "label": "Km", "field_type": "number"}), vec!["key"]),
        (number(json!({"key": "Km", "label": "", "min": "3", "max": "1"})), vec!["key", "label", "min"]),
    ];
    for (body, fields) in cases {
        let p =
            problem(app.post("/api/v1/custom-fields", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY)
                .await;
        assert_eq!(p["type"], "urn:kontor:problem:validation");
        assert_eq!(error_fields(&p), fields, "for {body}: {p}");
    }
    assert!(all_fields(&app, "status=all").await.is_empty());
    assert_eq!(app.audit_count(Some("custom_field")).await, 0);
}

#[tokio::test]
async fn a_billing_mapping_must_name_an_existing_active_service() {
    let app = spawn_app().await;
    let p = problem(
        app.post("/api/v1/custom-fields", &app.admin_token, &km_field(&json!(99999))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["billing_service_id"]);
    assert_eq!(p["errors"][0]["code"], "unknown_reference");

    let old = create_service(&app, service("KMOLD")).await;
    app.delete(&format!("/api/v1/services/{}", old["id"]), &app.admin_token).await;
    let p = problem(
        app.post("/api/v1/custom-fields", &app.admin_token, &km_field(&old["id"])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["billing_service_id"]);
    assert_eq!(p["errors"][0]["code"], "archived");
    assert!(all_fields(&app, "status=all").await.is_empty());

    // The same rules when a mapping is added later.
    let f = create_field(&app, json!({"entity": "booking", "key": "km", "label": "Km", "field_type": "number"})).await;
    let path = format!("/api/v1/custom-fields/{}", f["id"]);
    for id in [json!(99999), old["id"].clone()] {
        let p = problem(
            app.patch(&path, &app.admin_token, &json!({"billing_service_id": id}), None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&p), vec!["billing_service_id"]);
    }
    let km = create_service(&app, service("KM")).await;
    let mapped: Value =
        app.patch(&path, &app.admin_token, &json!({"billing_service_id": km["id"]}), None).await.json().await.unwrap();
    assert_eq!(mapped["billing_service_id"], km["id"]);
    let unmapped: Value =
        app.patch(&path, &app.admin_token, &json!({"billing_service_id": null}), None).await.json().await.unwrap();
    assert!(unmapped["billing_service_id"].is_null());
}

#[tokio::test]
async fn a_key_is_unique_per_entity_also_after_archiving() {
    let app = spawn_app().await;
    let body = json!({"entity": "booking", "key": "km", "label": "Km", "field_type": "number"});
    let first = create_field(&app, body.clone()).await;
    let p = problem(app.post("/api/v1/custom-fields", &app.admin_token, &body).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("key"), "{p}");
    // The same key on tickets is another field.
    create_field(&app, json!({"entity": "ticket", "key": "km", "label": "Km", "field_type": "number"})).await;
    // Archived fields keep their key reserved (stored values still use it).
    app.delete(&format!("/api/v1/custom-fields/{}", first["id"]), &app.admin_token).await;
    problem(app.post("/api/v1/custom-fields", &app.admin_token, &body).await, StatusCode::CONFLICT).await;
    assert_eq!(all_fields(&app, "status=all").await.len(), 2);
}

#[tokio::test]
async fn entity_key_and_type_are_fixed_while_label_rules_and_options_can_change() {
    let app = spawn_app().await;
    let f = create_field(
        &app,
        json!({"entity": "booking", "key": "vehicle", "label": "Vehicle", "field_type": "select", "options": ["car"]}),
    )
    .await;
    let path = format!("/api/v1/custom-fields/{}", f["id"]);
    for (body, fields) in [
        (json!({"key": "car"}), vec!["key"]),
        (json!({"entity": "ticket"}), vec!["entity"]),
        (json!({"field_type": "text", "label": "x"}), vec!["field_type"]),
        (json!({"options": null}), vec!["options"]),
        (json!({"options": ["car", "car"]}), vec!["options[1]"]),
        (json!({"min": "1"}), vec!["min"]),
        (json!({"label": ""}), vec!["label"]),
    ] {
        let p = problem(app.patch(&path, &app.admin_token, &body, None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), fields, "{body}: {p}");
    }
    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"key": "car"}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "immutable");
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["version"], 1);

    let res = app
        .patch(
            &path,
            &app.admin_token,
            &json!({"label": "Company vehicle", "required": true, "options": ["car", "van"]}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), format!("\"custom-field-{}-v2\"", f["id"]));
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["label"], "Company vehicle");
    assert_eq!(u["required"], true);
    assert_eq!(u["options"], json!(["car", "van"]));
    assert_eq!(u["key"], "vehicle");

    let n = create_field(
        &app,
        json!({"entity": "booking", "key": "km", "label": "Km", "field_type": "number", "max": "500"}),
    )
    .await;
    let npath = format!("/api/v1/custom-fields/{}", n["id"]);
    let p = problem(
        app.patch(&npath, &app.admin_token, &json!({"min": "600"}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["min"], "min is checked against the stored max");
    let u: Value =
        app.patch(&npath, &app.admin_token, &json!({"max": null, "min": "600"}), None).await.json().await.unwrap();
    assert_eq!(u["min"], "600");
    assert!(u["max"].is_null());
}

#[tokio::test]
async fn a_stale_if_match_on_a_custom_field_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let f = create_field(&app, json!({"entity": "ticket", "key": "site", "label": "Site", "field_type": "text"})).await;
    let path = format!("/api/v1/custom-fields/{}", f["id"]);
    let v1 = app.get(&path, &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(
        app.patch(&path, &app.admin_token, &json!({"label": "Location"}), Some(&v1)).await.status(),
        StatusCode::OK
    );
    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"label": "Place"}), Some(&v1)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    assert_eq!(p["type"], "urn:kontor:problem:precondition-failed");
    let res = app.request(Method::DELETE, &path, Some(&app.admin_token)).header("if-match", &v1).send().await.unwrap();
    problem(res, StatusCode::PRECONDITION_FAILED).await;
    let now: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(now["label"], "Location");
    assert_eq!(now["archived"], false);
}

#[tokio::test]
async fn unknown_custom_fields_are_404() {
    let app = spawn_app().await;
    for path in ["/api/v1/custom-fields/999", "/api/v1/custom-fields/km"] {
        problem(app.get(path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }
    let km = create_service(&app, service("KM")).await;
    problem(
        app.patch("/api/v1/custom-fields/999", &app.admin_token, &json!({"billing_service_id": km["id"]}), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.delete("/api/v1/custom-fields/999", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    problem(app.post("/api/v1/custom-fields/999/restore", &app.admin_token, &json!({})).await, StatusCode::NOT_FOUND)
        .await;
}

#[tokio::test]
async fn archived_fields_leave_the_default_list_and_can_be_restored() {
    let app = spawn_app().await;
    let km = create_field(&app, json!({"entity": "booking", "key": "km", "label": "Km", "field_type": "number"})).await;
    create_field(&app, json!({"entity": "booking", "key": "parking", "label": "Parking", "field_type": "number"}))
        .await;
    create_field(&app, json!({"entity": "ticket", "key": "asset", "label": "Asset", "field_type": "text"})).await;
    let path = format!("/api/v1/custom-fields/{}", km["id"]);
    let archived: Value = app.delete(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(archived["archived"], true);
    assert_eq!(app.delete(&path, &app.admin_token).await.status(), StatusCode::OK, "idempotent");

    assert_eq!(keys(&all_fields(&app, "").await), vec!["booking.parking", "ticket.asset"]);
    assert_eq!(keys(&all_fields(&app, "entity=booking").await), vec!["booking.parking"]);
    assert_eq!(keys(&all_fields(&app, "entity=ticket").await), vec!["ticket.asset"]);
    assert_eq!(keys(&all_fields(&app, "status=archived").await), vec!["booking.km"]);
    assert_eq!(keys(&all_fields(&app, "status=all&entity=booking").await), vec!["booking.km", "booking.parking"]);
    problem(app.patch(&path, &app.admin_token, &json!({"label": "x"}), None).await, StatusCode::CONFLICT).await;
    problem(app.get("/api/v1/custom-fields?entity=invoice", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;

    let restored: Value =
        app.post(&format!("{path}/restore"), &app.admin_token, &json!({})).await.json().await.unwrap();
    assert_eq!(restored["archived"], false);
    assert_eq!(all_fields(&app, "entity=booking").await.len(), 2);
    let log: Value = app
        .get(&format!("/api/v1/audit-log?entity_type=custom_field&entity_id={}", km["id"]), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["restore", "archive", "create"]);
}

#[tokio::test]
async fn custom_field_pages_cover_every_definition_exactly_once() {
    let app = spawn_app().await;
    let mut ids = HashSet::new();
    for i in 0..13 {
        let entity = if i % 2 == 0 { "booking" } else { "ticket" };
        let key = format!("f{:02}", (i * 5) % 13);
        let f = create_field(&app, json!({"entity": entity, "key": key, "label": key, "field_type": "text"})).await;
        ids.insert(f["id"].as_i64().unwrap());
    }
    for limit in [1, 4, 13, 200] {
        let all = all_fields(&app, &format!("limit={limit}")).await;
        let seen: Vec<i64> = all.iter().map(|f| f["id"].as_i64().unwrap()).collect();
        assert_eq!(seen.len(), 13, "limit={limit}: duplicates or gaps");
        assert_eq!(seen.iter().copied().collect::<HashSet<_>>(), ids);
        let got = keys(&all);
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(got, sorted, "sorted by entity, then key");
    }
    for q in ["limit=0", "cursor=garbage", "status=gone", "sort=key"] {
        problem(
            app.get(&format!("/api/v1/custom-fields?{q}"), &app.admin_token).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
}

#[tokio::test]
async fn only_admins_define_custom_fields_while_everyone_reads_them() {
    let app = spawn_app().await;
    let f = create_field(&app, json!({"entity": "booking", "key": "km", "label": "Km", "field_type": "number"})).await;
    let path = format!("/api/v1/custom-fields/{}", f["id"]);
    let body = json!({"entity": "ticket", "key": "other", "label": "Other", "field_type": "text"});
    for role in ["viewer", "agent", "manager", "billing"] {
        let (_, token) = app.user_with_roles(&[role]).await;
        let list: Value = app.get("/api/v1/custom-fields", &token).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{role} reads the definitions");
        assert_eq!(app.get(&path, &token).await.status(), StatusCode::OK);
        problem(app.post("/api/v1/custom-fields", &token, &body).await, StatusCode::FORBIDDEN).await;
        problem(app.patch(&path, &token, &json!({"label": "X"}), None).await, StatusCode::FORBIDDEN).await;
        problem(app.delete(&path, &token).await, StatusCode::FORBIDDEN).await;
    }
    for scopes in [vec!["bookings:write"], vec!["tickets:read"]] {
        let (_, key) = app.api_key(&scopes).await;
        assert_eq!(app.get("/api/v1/custom-fields?entity=booking", &key).await.status(), StatusCode::OK);
        problem(app.post("/api/v1/custom-fields", &key, &body).await, StatusCode::FORBIDDEN).await;
        problem(app.delete(&path, &key).await, StatusCode::FORBIDDEN).await;
    }
    problem(app.client.get(app.url("/api/v1/custom-fields")).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["label"], "Km");
    assert_eq!(unchanged["archived"], false);
    assert_eq!(all_fields(&app, "status=all").await.len(), 1);
}

/// What bookings and tickets do on write: load the active definitions of their entity
/// from the store and validate the record's `custom_fields` with the domain function.
#[tokio::test]
async fn booking_values_are_validated_against_the_active_definitions_from_the_store() {
    let app = spawn_app().await;
    let km_service = create_service(
        &app,
        json!({"code": "KM", "name": "Kilometres", "unit": "km", "kind": "travel", "default_price": "0.30", "vat_rate": "19"}),
    )
    .await;
    let km = create_field(&app, km_field(&km_service["id"])).await;
    create_field(
        &app,
        json!({"entity": "booking", "key": "vehicle", "label": "Vehicle", "field_type": "select", "options": ["car", "van"], "required": true}),
    )
    .await;
    let parking =
        create_field(&app, json!({"entity": "booking", "key": "parking", "label": "Parking", "field_type": "text"}))
            .await;
    create_field(&app, json!({"entity": "ticket", "key": "asset", "label": "Asset", "field_type": "text"})).await;
    app.delete(&format!("/api/v1/custom-fields/{}", parking["id"]), &app.admin_token).await;

    let store = store_of(&app).await;
    let defs = store.active_custom_fields("booking").await.unwrap();
    assert_eq!(defs.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), vec!["km", "vehicle"], "active only, by key");
    assert_eq!(defs[0].field_type, FieldType::Number);
    assert_eq!(defs[0].entity, CustomFieldEntity::Booking);
    assert_eq!(defs[0].max, Some(1000.into()));
    assert_eq!(defs[1].options, vec!["car", "van"]);
    assert_eq!(store.active_custom_fields("ticket").await.unwrap().len(), 1);
    assert!(store.active_custom_fields("invoice").await.unwrap().is_empty());

    let stored = validate_values(&defs, &json!({"km": 42.5, "vehicle": "van"})).unwrap();
    assert_eq!(stored["km"], json!("42.5"));
    let errors = validate_values(&defs, &json!({"km": "1200", "parking": "P1"})).unwrap_err();
    let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
    assert_eq!(
        fields,
        vec![
            ("custom_fields.km", "range"),
            ("custom_fields.parking", "unknown_field"),
            ("custom_fields.vehicle", "required")
        ]
    );

    let mappings = billing_mappings(&defs);
    assert_eq!(mappings.len(), 1);
    assert_eq!(mappings[0].field_id, km["id"].as_i64().unwrap());
    assert_eq!(mappings[0].service_id, km_service["id"].as_i64().unwrap());
    let billed = billed_values(&defs, &stored);
    assert_eq!(billed[0].value, rust_decimal::Decimal::new(425, 1));

    // The invoice run also sees mappings of fields archived since.
    app.delete(&format!("/api/v1/custom-fields/{}", km["id"]), &app.admin_token).await;
    assert_eq!(store.active_custom_fields("booking").await.unwrap().len(), 1);
    assert_eq!(billing_mappings(&store.billed_custom_fields().await.unwrap()), mappings);
    let catalog_entry = store.get_service(km_service["id"].as_i64().unwrap()).await.unwrap().to_domain();
    assert_eq!(catalog_entry.default_price, Some(rust_decimal::Decimal::new(30, 2)));
    store.close().await;
}

/// Booking writes keep the definitions in memory while they stay unchanged: every change
/// (new rules, archive, restore, a new field) is in force for the very next booking.
#[tokio::test]
async fn a_changed_definition_applies_to_the_next_booking_at_once() {
    let app = spawn_app().await;
    let remote = crate::bookings::service(&app, "REMOTE", "hour", true).await;
    let customer = crate::tickets::customer_id(&app).await;
    let ticket = crate::tickets::create_ticket(&app, json!({"title": "Visit", "customer_id": customer})).await;
    let book = |values: Value| {
        let app = &app;
        let body = json!({"work_date": "2026-11-23", "duration_minutes": 30, "service_id": remote,
                          "ticket_id": ticket["id"], "description": "On site", "custom_fields": values});
        async move { app.post("/api/v1/bookings", &app.admin_token, &body).await }
    };
    let rejected = |res: reqwest::Response| async move {
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        p["errors"][0]["code"].as_str().unwrap_or_default().to_string()
    };
    let km = create_field(&app, json!({"entity": "booking", "key": "km", "label": "Km", "field_type": "number"})).await;
    let path = format!("/api/v1/custom-fields/{}", km["id"]);
    assert_eq!(book(json!({"km": 42})).await.status(), StatusCode::CREATED);
    assert_eq!(book(json!({"km": 42})).await.status(), StatusCode::CREATED, "definitions unchanged");

    let res = app.patch(&path, &app.admin_token, &json!({"max": "10"}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(rejected(book(json!({"km": 42})).await).await, "range", "the new maximum applies");
    assert_eq!(book(json!({"km": 7})).await.status(), StatusCode::CREATED);

    app.delete(&path, &app.admin_token).await;
    assert_eq!(rejected(book(json!({"km": 7})).await).await, "unknown_field", "an archived field is gone");
    app.post(&format!("{path}/restore"), &app.admin_token, &json!({})).await;
    assert_eq!(book(json!({"km": 7})).await.status(), StatusCode::CREATED, "restored");

    create_field(
        &app,
        json!({"entity": "booking", "key": "vehicle", "label": "Vehicle", "field_type": "text", "required": true}),
    )
    .await;
    assert_eq!(rejected(book(json!({"km": 7})).await).await, "required", "a new required field applies");
}

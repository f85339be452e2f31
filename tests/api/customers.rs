//! Customers and contacts: the template resource.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;

fn full_customer() -> Value {
    json!({
        "name": "Muster IT GmbH",
        "address": {"street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
        "vat_id": "de 123 456 789",
        "billing_email": "Rechnung@Muster-IT.de",
        "currency": "EUR",
        "payment_terms_days": 30,
        "vat_treatment": "eu_reverse_charge",
        "billing_mode": "immediate",
        "invoice_detail": "per_booking",
        "helpdesk_ref": "zammad-org-17",
        "accounting_ref": "D10017",
        "notes": "Key account",
        "contacts": [{"name": "Petra Schmidt", "email": "Petra@Muster-IT.de", "phone": "+49 30 1234567", "position": "IT lead"}]
    })
}

#[tokio::test]
async fn creating_a_customer_returns_it_with_location_etag_and_an_automatic_number() {
    let app = spawn_app().await;
    let res = app.post("/api/v1/customers", &app.admin_token, &full_customer()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let c: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/customers/{}", c["id"]));
    assert_eq!(etag, format!("\"customer-{}-v1\"", c["id"]));
    assert_eq!(c["number"], "10001");
    assert_eq!(c["vat_id"], "DE123456789");
    assert_eq!(c["billing_email"], "rechnung@muster-it.de");
    assert_eq!(c["address"]["city"], "Berlin");
    assert_eq!(c["payment_terms_days"], 30);
    assert_eq!(c["vat_treatment"], "eu_reverse_charge");
    assert_eq!(c["contacts"][0]["email"], "petra@muster-it.de");
    assert_eq!(c["archived"], false);

    let second = app.create_customer(json!({"name": "Zweite GmbH"})).await;
    assert_eq!(second["number"], "10002");
    assert_eq!(second["currency"], "EUR");
    assert_eq!(second["payment_terms_days"], 14);
    assert_eq!(second["billing_mode"], "period_end");

    let res = app.get(&location, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["contacts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn automatic_numbers_skip_numbers_taken_by_hand() {
    let app = spawn_app().await;
    app.create_customer(json!({"name": "Manual", "number": "10001"})).await;
    let auto = app.create_customer(json!({"name": "Auto"})).await;
    assert_eq!(auto["number"], "10002");
}

#[tokio::test]
async fn invalid_customers_get_per_field_errors_and_nothing_is_stored() {
    let app = spawn_app().await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"name": ""}), vec!["name"]),
        (json!({"name": "X", "currency": "EURO"}), vec!["currency"]),
        (json!({"name": "X", "billing_email": "nope"}), vec!["billing_email"]),
        (json!({"name": "X", "address": {"country": "Germany"}}), vec!["address.country"]),
        (json!({"name": "X", "payment_terms_days": 400}), vec!["payment_terms_days"]),
        (json!({"name": "X", "payment_terms_days": "14"}), vec!["payment_terms_days"]),
        (json!({"name": "X", "billing_mode": "weekly"}), vec!["billing_mode"]),
        (json!({"name": "X", "vat_treatment": "eu_reverse_charge"}), vec!["vat_id"]),
        (json!({"name": "X", "nmae": "typo"}), vec!["nmae"]),
        (json!({"currency": "EUR"}), vec!["name"]),
        (json!({"name": "X", "number": "has spaces"}), vec!["number"]),
        (json!({"name": "X", "contacts": [{"name": "A", "email": "bad"}]}), vec!["contacts[0].email"]),
        (json!({"name": "", "currency": "XYZ", "billing_email": "x"}), vec!["billing_email", "currency", "name"]),
    ];
    for (body, fields) in cases {
        let p = problem(app.post("/api/v1/customers", &app.admin_token, &body).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert_eq!(p["type"], "urn:kontor:problem:validation");
        assert_eq!(error_fields(&p), fields, "for {body}: {p}");
    }
    assert!(app.all_customers("status=all").await.is_empty());
    assert_eq!(app.audit_count(Some("customer")).await, 0);
}

#[tokio::test]
async fn malformed_json_wrong_content_type_and_oversized_bodies_are_rejected() {
    let app = spawn_app_with(|c| c.max_body_bytes = 2048).await;
    let res = app
        .request(Method::POST, "/api/v1/customers", Some(&app.admin_token))
        .header("content-type", "application/json")
        .body("{\"name\": \"X\",")
        .send()
        .await
        .unwrap();
    let p = problem(res, StatusCode::BAD_REQUEST).await;
    assert!(p["detail"].as_str().unwrap().contains("line 1, column"), "{p}");

    let res = app
        .request(Method::POST, "/api/v1/customers", Some(&app.admin_token))
        .header("content-type", "text/plain")
        .body("{\"name\": \"X\"}")
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    let big = json!({"name": "X", "notes": "x".repeat(5000)});
    problem(app.post("/api/v1/customers", &app.admin_token, &big).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(app.all_customers("status=all").await.is_empty());
}

#[tokio::test]
async fn unknown_customers_are_404() {
    let app = spawn_app().await;
    for path in
        ["/api/v1/customers/999", "/api/v1/customers/abc", "/api/v1/customers/-1", "/api/v1/customers/999/contacts"]
    {
        problem(app.get(path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    }
    problem(
        app.patch("/api/v1/customers/999", &app.admin_token, &json!({"name": "x"}), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.delete("/api/v1/customers/999", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    problem(app.post("/api/v1/customers/999/restore", &app.admin_token, &json!({})).await, StatusCode::NOT_FOUND).await;
    problem(
        app.post("/api/v1/customers/999/contacts", &app.admin_token, &json!({"name": "A"})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn a_number_or_helpdesk_reference_can_be_used_only_once() {
    let app = spawn_app().await;
    app.create_customer(json!({"name": "A", "number": "K-1", "helpdesk_ref": "org-1"})).await;
    let p = problem(
        app.post("/api/v1/customers", &app.admin_token, &json!({"name": "B", "number": "K-1"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("number"), "{p}");
    let p = problem(
        app.post("/api/v1/customers", &app.admin_token, &json!({"name": "B", "helpdesk_ref": "org-1"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("helpdesk_ref"), "{p}");
    assert_eq!(app.all_customers("").await.len(), 1);
}

#[tokio::test]
async fn patch_changes_only_the_given_fields_and_null_clears() {
    let app = spawn_app().await;
    let c = app.create_customer(full_customer()).await;
    let path = format!("/api/v1/customers/{}", c["id"]);
    let res = app
        .patch(
            &path,
            &app.admin_token,
            &json!({"name": "Muster IT AG", "notes": null, "vat_treatment": "domestic", "vat_id": null}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), format!("\"customer-{}-v2\"", c["id"]));
    let u: Value = res.json().await.unwrap();
    assert_eq!(u["name"], "Muster IT AG");
    assert!(u["notes"].is_null());
    assert!(u["vat_id"].is_null());
    assert_eq!(u["address"], c["address"]);
    assert_eq!(u["billing_email"], c["billing_email"]);
    assert_eq!(u["version"], 2);

    // Cross-field rule on the merged result: reverse charge without a VAT id.
    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"vat_treatment": "eu_reverse_charge"}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["vat_id"]);
    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"currency": "ABC"}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["currency"]);
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["version"], 2);
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let c = app.create_customer(json!({"name": "Original"})).await;
    let path = format!("/api/v1/customers/{}", c["id"]);
    let v1 = app.get(&path, &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();

    let res = app.patch(&path, &app.admin_token, &json!({"name": "First writer"}), Some(&v1)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let v2 = res.headers()["etag"].to_str().unwrap().to_string();

    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"name": "Second writer"}), Some(&v1)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    assert_eq!(p["type"], "urn:kontor:problem:precondition-failed");
    // Another resource's ETag never matches either.
    problem(
        app.patch(&path, &app.admin_token, &json!({"name": "x"}), Some("\"customer-999-v2\"")).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    // Something that is no entity-tag at all is a malformed request.
    for garbage in ["null", "customer-1-v1", "\"unterminated"] {
        problem(
            app.patch(&path, &app.admin_token, &json!({"name": "x"}), Some(garbage)).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let now: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(now["name"], "First writer");

    // The current tag (or `*`) works.
    assert_eq!(app.patch(&path, &app.admin_token, &json!({"name": "Third"}), Some(&v2)).await.status(), StatusCode::OK);
    assert_eq!(
        app.patch(&path, &app.admin_token, &json!({"name": "Fourth"}), Some("*")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_first_response() {
    let app = spawn_app().await;
    let body = json!({"name": "Retry GmbH"});
    let send = |key: &'static str, body: Value| {
        let app = &app;
        async move {
            app.request(Method::POST, "/api/v1/customers", Some(&app.admin_token))
                .header("idempotency-key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = send("create-retry-1", body.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_location = first.headers()["location"].clone();
    let first_body: Value = first.json().await.unwrap();

    let replay = send("create-retry-1", body.clone()).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["location"], first_location);
    let replay_body: Value = replay.json().await.unwrap();
    assert_eq!(replay_body, first_body);
    assert_eq!(app.all_customers("").await.len(), 1, "the retry created nothing");

    let p =
        problem(send("create-retry-1", json!({"name": "Other GmbH"})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p["type"], "urn:kontor:problem:idempotency-key-reused");
    assert_eq!(app.all_customers("").await.len(), 1);

    // Keys are per principal: another user may use the same key for their own request.
    let (_, billing) = app.user_with_roles(&["billing"]).await;
    let res = app
        .request(Method::POST, "/api/v1/customers", Some(&billing))
        .header("idempotency-key", "create-retry-1")
        .json(&json!({"name": "Other GmbH"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    // A rejected request is replayed as rejected too, and still creates nothing.
    let bad = send("bad-1", json!({"name": ""})).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_again = send("bad-1", json!({"name": ""})).await;
    assert_eq!(bad_again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.all_customers("").await.len(), 2);
}

#[tokio::test]
async fn pages_cover_every_customer_exactly_once_in_both_sort_orders() {
    let app = spawn_app().await;
    let names = [
        "delta", "Alpha", "charlie", "Bravo", "echo", "alpha", "Foxtrot", "golf", "hotel", "India", "juliet", "kilo",
        "Lima",
    ];
    let mut ids = HashSet::new();
    for (i, name) in names.iter().chain(names.iter()).enumerate() {
        let c = app.create_customer(json!({"name": name, "number": format!("N{:03}", 50 - i)})).await;
        ids.insert(c["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 26);
    for sort in ["name", "number"] {
        for limit in [1, 4, 7, 26, 200] {
            let all = app.all_customers(&format!("sort={sort}&limit={limit}")).await;
            let seen: Vec<i64> = all.iter().map(|c| c["id"].as_i64().unwrap()).collect();
            let unique: HashSet<i64> = seen.iter().copied().collect();
            assert_eq!(seen.len(), 26, "sort={sort} limit={limit}: duplicates or gaps");
            assert_eq!(unique, ids, "sort={sort} limit={limit}");
            if sort == "number" {
                let numbers: Vec<String> = all.iter().map(|c| c["number"].as_str().unwrap().to_string()).collect();
                let mut sorted = numbers.clone();
                sorted.sort();
                assert_eq!(numbers, sorted);
            }
        }
    }
    let first: Value = app.get("/api/v1/customers?limit=5", &app.admin_token).await.json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 5);
    assert!(first["next_cursor"].is_string());
    let last: Value = app.get("/api/v1/customers?limit=200", &app.admin_token).await.json().await.unwrap();
    assert!(last["next_cursor"].is_null());
}

#[tokio::test]
async fn a_customer_created_between_pages_is_neither_skipped_nor_repeated() {
    let app = spawn_app().await;
    for name in ["a", "c", "e", "g"] {
        app.create_customer(json!({"name": name})).await;
    }
    let page1: Value = app.get("/api/v1/customers?limit=2", &app.admin_token).await.json().await.unwrap();
    app.create_customer(json!({"name": "f"})).await;
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value =
        app.get(&format!("/api/v1/customers?limit=10&cursor={cursor}"), &app.admin_token).await.json().await.unwrap();
    let names: Vec<&str> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["items"].as_array().unwrap())
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["a", "c", "e", "f", "g"]);
}

#[tokio::test]
async fn bad_list_parameters_are_client_errors() {
    let app = spawn_app().await;
    for q in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "cursor=garbage",
        "sort=price",
        "status=deleted",
        "billing_mode=weekly",
        "unknown=1",
    ] {
        let p = problem(
            app.get(&format!("/api/v1/customers?{q}"), &app.admin_token).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(!error_fields(&p).is_empty(), "{q}: {p}");
    }
}

#[tokio::test]
async fn search_and_filters_narrow_the_list() {
    let app = spawn_app().await;
    app.create_customer(
        json!({"name": "Muster IT GmbH", "number": "K-100", "currency": "EUR", "helpdesk_ref": "org-1"}),
    )
    .await;
    app.create_customer(
        json!({"name": "Novák s.r.o.", "number": "K-200", "currency": "CZK", "billing_mode": "immediate"}),
    )
    .await;
    app.create_customer(json!({"name": "100% Service_Partner", "number": "X-1", "accounting_ref": "D4711"})).await;
    let names = |v: Vec<Value>| v.iter().map(|c| c["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(names(app.all_customers("q=muster").await), vec!["Muster IT GmbH"]);
    assert_eq!(names(app.all_customers("q=k-2").await), vec!["Novák s.r.o."]);
    assert_eq!(names(app.all_customers("q=100%25").await), vec!["100% Service_Partner"]);
    assert_eq!(names(app.all_customers("q=e_p").await), vec!["100% Service_Partner"]);
    assert_eq!(names(app.all_customers("currency=CZK").await), vec!["Novák s.r.o."]);
    assert_eq!(names(app.all_customers("billing_mode=immediate").await), vec!["Novák s.r.o."]);
    assert_eq!(names(app.all_customers("helpdesk_ref=org-1").await), vec!["Muster IT GmbH"]);
    assert_eq!(names(app.all_customers("accounting_ref=D4711").await), vec!["100% Service_Partner"]);
    assert!(app.all_customers("q=nothing-like-this").await.is_empty());
}

#[tokio::test]
async fn deleting_archives_the_customer_which_stays_readable_and_can_be_restored() {
    let app = spawn_app().await;
    let c = app.create_customer(json!({"name": "Gone GmbH"})).await;
    let keep = app.create_customer(json!({"name": "Stays GmbH"})).await;
    let path = format!("/api/v1/customers/{}", c["id"]);

    let res = app.delete(&path, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let archived: Value = res.json().await.unwrap();
    assert_eq!(archived["archived"], true);
    assert!(archived["archived_at"].is_string());
    // Idempotent.
    assert_eq!(app.delete(&path, &app.admin_token).await.status(), StatusCode::OK);

    let active = app.all_customers("").await;
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["id"], keep["id"]);
    assert_eq!(app.all_customers("status=archived").await.len(), 1);
    assert_eq!(app.all_customers("status=all").await.len(), 2);
    assert_eq!(app.get(&path, &app.admin_token).await.status(), StatusCode::OK);

    // Archived customers are read-only.
    problem(app.patch(&path, &app.admin_token, &json!({"name": "x"}), None).await, StatusCode::CONFLICT).await;
    problem(app.post(&format!("{path}/contacts"), &app.admin_token, &json!({"name": "A"})).await, StatusCode::CONFLICT)
        .await;

    let res = app.post(&format!("{path}/restore"), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let restored: Value = res.json().await.unwrap();
    assert_eq!(restored["archived"], false);
    assert_eq!(app.all_customers("").await.len(), 2);
    let actions: Vec<String> = {
        let log: Value = app
            .get(&format!("/api/v1/audit-log?entity_type=customer&entity_id={}", c["id"]), &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(actions, vec!["restore", "archive", "create"]);
}

#[tokio::test]
async fn contacts_can_be_added_changed_and_removed() {
    let app = spawn_app().await;
    let c = app.create_customer(json!({"name": "Kontakt GmbH"})).await;
    let base = format!("/api/v1/customers/{}/contacts", c["id"]);
    let res = app.post(&base, &app.admin_token, &json!({"name": "Anna", "email": "anna@kontakt.de"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let anna: Value = res.json().await.unwrap();
    let anna_path = format!("{base}/{}", anna["id"]);

    let res = app.patch(&anna_path, &app.admin_token, &json!({"phone": "+49 1", "email": null}), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["phone"], "+49 1");
    assert!(changed["email"].is_null());
    assert_eq!(changed["name"], "Anna");

    let p = problem(
        app.post(&base, &app.admin_token, &json!({"name": "", "email": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["email", "name"]);

    let list: Value = app.get(&base, &app.admin_token).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // A contact is addressed only under its own customer.
    let other = app.create_customer(json!({"name": "Other"})).await;
    problem(
        app.delete(&format!("/api/v1/customers/{}/contacts/{}", other["id"], anna["id"]), &app.admin_token).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    assert_eq!(app.delete(&anna_path, &app.admin_token).await.status(), StatusCode::NO_CONTENT);
    problem(app.delete(&anna_path, &app.admin_token).await, StatusCode::NOT_FOUND).await;
    let list: Value = app.get(&base, &app.admin_token).await.json().await.unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn roles_decide_who_may_read_and_who_may_change_customers() {
    let app = spawn_app().await;
    let c = app.create_customer(json!({"name": "Rollen GmbH"})).await;
    let path = format!("/api/v1/customers/{}", c["id"]);
    for role in ["viewer", "agent"] {
        let (_, token) = app.user_with_roles(&[role]).await;
        assert_eq!(app.get("/api/v1/customers", &token).await.status(), StatusCode::OK, "{role} reads");
        assert_eq!(app.get(&path, &token).await.status(), StatusCode::OK, "{role} reads one");
        problem(app.post("/api/v1/customers", &token, &json!({"name": "X"})).await, StatusCode::FORBIDDEN).await;
        problem(app.patch(&path, &token, &json!({"name": "X"}), None).await, StatusCode::FORBIDDEN).await;
        problem(app.delete(&path, &token).await, StatusCode::FORBIDDEN).await;
        problem(app.post(&format!("{path}/contacts"), &token, &json!({"name": "X"})).await, StatusCode::FORBIDDEN)
            .await;
    }
    for role in ["billing", "manager"] {
        let (_, token) = app.user_with_roles(&[role]).await;
        assert_eq!(
            app.post("/api/v1/customers", &token, &json!({"name": role})).await.status(),
            StatusCode::CREATED,
            "{role} creates"
        );
        assert_eq!(
            app.patch(&path, &token, &json!({"notes": role}), None).await.status(),
            StatusCode::OK,
            "{role} changes"
        );
    }
    problem(app.client.get(app.url("/api/v1/customers")).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["name"], "Rollen GmbH");
}

#[tokio::test]
async fn every_change_is_in_the_audit_log_with_before_and_after() {
    let app = spawn_app().await;
    let c = app.create_customer(json!({"name": "Audit GmbH"})).await;
    let path = format!("/api/v1/customers/{}", c["id"]);
    app.patch(&path, &app.admin_token, &json!({"payment_terms_days": 7}), None).await;
    let log: Value = app
        .get(&format!("/api/v1/audit-log?entity_type=customer&entity_id={}", c["id"]), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let update = &items[0];
    assert_eq!(update["action"], "update");
    assert_eq!(update["actor_type"], "user");
    assert_eq!(update["actor_name"], ADMIN_EMAIL);
    assert_eq!(update["before"]["payment_terms_days"], 14);
    assert_eq!(update["after"]["payment_terms_days"], 7);
    assert!(update["request_id"].is_string());
    assert_eq!(items[1]["action"], "create");
    assert!(items[1]["before"].is_null());

    let (_, billing) = app.user_with_roles(&["billing"]).await;
    problem(app.get("/api/v1/audit-log", &billing).await, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn concurrent_creations_get_unique_gapless_automatic_numbers() {
    let app = spawn_app_with(|c| c.workers = Some(2)).await;
    let bodies: Vec<Value> = (0..16).map(|i| json!({"name": format!("Parallel {i}")})).collect();
    let requests = bodies.iter().map(|b| app.post("/api/v1/customers", &app.admin_token, b));
    let responses = futures_util::future::join_all(requests).await;
    for res in &responses {
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let mut numbers: Vec<i64> =
        app.all_customers("").await.iter().map(|c| c["number"].as_str().unwrap().parse().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, (10001..=10016).collect::<Vec<_>>());
}

/// Issue 10, item 3: serde would take a JSON array's items as the fields by position.
#[tokio::test]
async fn an_array_in_place_of_an_object_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    let c = app
        .create_customer(json!({"name": "Array GmbH", "contacts": [{"name": "Petra", "email": "petra@array.de"}]}))
        .await;
    let contact = &c["contacts"][0];
    let path = format!("/api/v1/customers/{}/contacts/{}", c["id"], contact["id"]);
    let p =
        problem(app.patch(&path, &app.admin_token, &json!([null, null]), None).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(error_fields(&p), vec!["body"], "{p}");
    let read: Value = app.get(&format!("/api/v1/customers/{}", c["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(read["contacts"][0]["email"], "petra@array.de", "nothing changed");
    // Nested objects too: an address given as an array.
    let res =
        app.post("/api/v1/customers", &app.admin_token, &json!({"name": "Nested", "address": ["Berlin", "DE"]})).await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["address"], "{p}");
    // And a login given as an array gets no token.
    let res = app
        .request(Method::POST, "/api/v1/auth/login", None)
        .json(&json!(["admin@example.com", "whatever-password"]))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
}

/// Issue 10, item 8: a caller without the permission learns nothing about the body.
#[tokio::test]
async fn a_caller_without_permission_gets_403_whatever_the_body() {
    let app = spawn_app().await;
    let (_, viewer) = app.user_with_roles(&["viewer"]).await;
    let invalid = app.post("/api/v1/customers", &viewer, &json!({"name": "", "currency": "XXX", "nonsense": 1})).await;
    let p = problem(invalid, StatusCode::FORBIDDEN).await;
    assert!(p.get("errors").is_none(), "no schema hints: {p}");
    let malformed = app
        .request(Method::POST, "/api/v1/customers", Some(&viewer))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(malformed, StatusCode::FORBIDDEN).await;
    let wrong_type = app
        .request(Method::POST, "/api/v1/customers", Some(&viewer))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    problem(wrong_type, StatusCode::FORBIDDEN).await;
    // With the permission, the same body is a 422 naming the fields.
    let p = problem(
        app.post("/api/v1/customers", &app.admin_token, &json!({"name": "", "currency": "XXX", "nonsense": 1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(p["errors"].is_array(), "{p}");
    // Previews are read-only but still need the billing office's permission first.
    let p = problem(
        app.post("/api/v1/invoice-runs", &viewer, &json!({"mode": "commit", "period_end": "not-a-date"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(p.get("errors").is_none(), "{p}");
}

/// Issue 10, item 7: a contact a ticket names is a conflict to delete, naming the ticket.
#[tokio::test]
async fn a_contact_a_ticket_names_cannot_be_deleted() {
    let app = spawn_app().await;
    let c = app
        .create_customer(json!({"name": "Kontakt AG", "contacts": [{"name": "Petra", "email": "petra@kontakt.de"}]}))
        .await;
    let contact = c["contacts"][0]["id"].clone();
    let res = app
        .post(
            "/api/v1/tickets",
            &app.admin_token,
            &json!({"title": "Printer", "customer_id": c["id"], "contact_id": contact}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let ticket: Value = res.json().await.unwrap();
    let path = format!("/api/v1/customers/{}/contacts/{contact}", c["id"]);
    let p = problem(app.delete(&path, &app.admin_token).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains(ticket["number"].as_str().unwrap()), "{p}");
    // Once the ticket names nobody, the contact can go.
    let res = app
        .patch(&format!("/api/v1/tickets/{}", ticket["id"]), &app.admin_token, &json!({"contact_id": null}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    assert_eq!(app.delete(&path, &app.admin_token).await.status(), StatusCode::NO_CONTENT);
}

/// Issue 10, item 9: a cursor continues only the list, sort and filters it was made for.
#[tokio::test]
async fn a_cursor_used_with_another_sort_or_filter_is_422() {
    let app = spawn_app().await;
    for n in 0..3 {
        app.create_customer(json!({"name": format!("Cursor {n} GmbH")})).await;
    }
    let first: Value = app.get("/api/v1/customers?sort=name&limit=1", &app.admin_token).await.json().await.unwrap();
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let same = app.get(&format!("/api/v1/customers?limit=1&sort=name&cursor={cursor}"), &app.admin_token).await;
    assert_eq!(same.status(), StatusCode::OK, "the same list continues (parameter order and limit do not matter)");
    for other in [
        format!("/api/v1/customers?sort=number&limit=1&cursor={cursor}"),
        format!("/api/v1/customers?sort=name&q=cursor&limit=1&cursor={cursor}"),
        format!("/api/v1/projects?cursor={cursor}"),
    ] {
        let p = problem(app.get(&other, &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(p["errors"][0]["code"], "invalid_cursor", "{other}: {p}");
    }
}

#[tokio::test]
async fn e_invoicing_data_is_stored_replaced_as_a_whole_and_bad_values_change_nothing() {
    let app = spawn_app().await;
    let c = app.create_customer(json!({"name": "Stadt Musterhausen"})).await;
    assert_eq!(
        c["e_invoicing"],
        json!({"buyer_reference": null, "address": null, "address_scheme": null, "document_format": "pdf"})
    );
    let id = c["id"].as_i64().unwrap();
    let path = format!("/api/v1/customers/{id}");
    let res = app
        .patch(&path, &app.admin_token, &json!({"e_invoicing": {"buyer_reference": "991-12345-67", "address": "ap@stadt.example", "address_scheme": "em", "document_format": "xrechnung_cii"}}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let stored: Value = res.json().await.unwrap();
    assert_eq!(stored["e_invoicing"]["address_scheme"], "EM");
    assert_eq!(stored["e_invoicing"]["document_format"], "xrechnung_cii");

    // Bad values: 422 for each, nothing changed.
    for (body, field) in [
        (json!({"e_invoicing": {"address": "not-an-address"}}), "e_invoicing.address"),
        (json!({"e_invoicing": {"address": "x", "address_scheme": "E-MAIL"}}), "e_invoicing.address_scheme"),
        (json!({"e_invoicing": {"buyer_reference": "x".repeat(101)}}), "e_invoicing.buyer_reference"),
    ] {
        let p = problem(app.patch(&path, &app.admin_token, &body, None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), [field], "{body}");
    }
    problem(
        app.patch(&path, &app.admin_token, &json!({"e_invoicing": {"document_format": "docx"}}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let read: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(read["e_invoicing"], stored["e_invoicing"]);
    assert_eq!(read["version"], stored["version"]);
}

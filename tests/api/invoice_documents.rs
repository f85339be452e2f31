//! End-to-end tests of invoice documents (`GET /invoices/{id}/document`): an issued invoice
//! and its credit note as XRechnung 3.0 CII, checked by the offline validator in
//! `../shared/tools/einvoice` when it is set up (`.ci/run` sets it up and requires it:
//! `KONTOR_REQUIRE_EINVOICE=1`), the seller profile frozen at issue, and the refusals.

use crate::company::complete_profile;
use crate::helpers::*;
use crate::invoices::{book, commit, d, dec, issue};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::str::FromStr;

/// The offline e-invoice validator, when it can run here.
fn validator() -> Option<PathBuf> {
    let path = std::env::var_os("EINVOICE_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/einvoice/validate"));
    let usable = path.exists()
        && std::process::Command::new(&path).arg("--help").output().is_ok_and(|o| o.status.code() != Some(2));
    let required = std::env::var("KONTOR_REQUIRE_EINVOICE").is_ok_and(|v| v == "1");
    assert!(usable || !required, "KONTOR_REQUIRE_EINVOICE=1 but the validator {} cannot run", path.display());
    usable.then_some(path)
}

/// Validates an e-invoice file (`name` with its extension) with the offline validator (when
/// set up) and keeps a copy in `KONTOR_EINVOICE_OUT` (when set) for CI.
pub(crate) fn assert_valid_einvoice(name: &str, file: impl AsRef<[u8]>) {
    let file_bytes = file.as_ref();
    let xml = if file_bytes.starts_with(b"%PDF") { "(PDF)".into() } else { String::from_utf8_lossy(file_bytes) };
    let name = if name.contains('.') { name.to_string() } else { format!("{name}.xml") };
    let dir = std::env::temp_dir().join(format!("kontor-einvoice-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(&name);
    std::fs::write(&file, file_bytes).unwrap();
    if let Some(out) = std::env::var_os("KONTOR_EINVOICE_OUT") {
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(PathBuf::from(out).join(format!("api-{name}")), file_bytes).unwrap();
    }
    match validator() {
        Some(validate) => {
            let out = std::process::Command::new(validate).arg("--json").arg(&file).output().unwrap();
            assert!(
                out.status.success(),
                "{name} is not a valid e-invoice:\n{}\n{xml}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        None => eprintln!("{name}: e-invoice validator not set up (../shared/tools/einvoice/setup.sh); not validated"),
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The text of the first `<tag>` element.
fn element<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}> in\n{xml}"));
    let rest = &xml[start..];
    let body = &rest[rest.find('>').unwrap() + 1..];
    &body[..body.find('<').unwrap()]
}

pub(crate) async fn document(app: &TestApp, id: &Value, query: &str) -> reqwest::Response {
    app.request(Method::GET, &format!("/api/v1/invoices/{id}/document{query}"), Some(&app.admin_token))
        .send()
        .await
        .unwrap()
}

/// A catalog service of remote support (96.00 an hour, 19 %) with a code of its own.
async fn remote_support(app: &TestApp) -> i64 {
    let code = format!("REMOTE-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    crate::bookings::service(app, &code, "hour", true).await
}

/// The customer's issued invoice of two bookings in November (60 + 30 min of remote
/// support at 96.00) on a ticket.
pub(crate) async fn issued_invoice(app: &TestApp, customer: Value) -> Value {
    let remote = remote_support(app).await;
    let customer = app.create_customer(customer).await["id"].clone();
    let ticket =
        crate::tickets::create_ticket(app, json!({"title": "VPN <&> \"Zugang\"", "customer_id": customer})).await;
    book(app, json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Einrichtung für Dvořák & Łódź"})).await;
    book(app, json!({"work_date": "2026-11-06", "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "description": "Prüfung"})).await;
    let run = commit(
        app,
        json!({"scope": "customer", "scope_id": customer, "period_start": "2026-11-01", "period_end": "2026-11-30"}),
    )
    .await;
    // The buyer's purchase order number, named on the draft.
    let draft = &run["invoice_ids"][0];
    let res = app
        .patch(&format!("/api/v1/invoices/{draft}"), &app.admin_token, &json!({"order_reference": " PO-4711 "}), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    issue(app, draft).await
}

pub(crate) fn domestic_customer() -> Value {
    json!({"name": "Müller Gebäudetechnik GmbH", "billing_email": "rechnung@mueller.example",
           "address": {"street": "Lindenstraße 5", "postal_code": "10115", "city": "Berlin", "country": "DE"}})
}

#[tokio::test]
async fn an_issued_invoice_and_its_credit_note_are_valid_xrechnung_with_the_seller_frozen_at_issue() {
    let app = spawn_app().await;
    let inv = issued_invoice(&app, domestic_customer()).await;
    let res = document(&app, &inv["id"], "?format=xrechnung-cii").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    assert_eq!(res.headers()["content-type"], "application/xml; charset=utf-8");
    let number = inv["number"].as_str().unwrap();
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains(&format!("{number}.xml")));
    let xml = res.text().await.unwrap();
    assert_valid_einvoice("invoice-domestic", &xml);
    // The figures are the JSON invoice's, to the cent.
    assert_eq!(element(&xml, "ram:TypeCode"), "380");
    assert!(xml.contains(&format!("<ram:ID>{number}</ram:ID>")));
    assert_eq!(Decimal::from_str(element(&xml, "ram:GrandTotalAmount")).unwrap(), dec(&inv["totals"]["gross"]));
    assert_eq!(Decimal::from_str(element(&xml, "ram:TaxBasisTotalAmount")).unwrap(), dec(&inv["totals"]["net"]));
    assert_eq!(dec(&inv["totals"]["net"]), d("144.00"));
    assert!(xml.contains("Muster IT GmbH") && xml.contains("Müller Gebäudetechnik GmbH"));
    assert_eq!(inv["order_reference"], "PO-4711");
    let order = &xml[xml.find("<ram:BuyerOrderReferencedDocument>").expect("BT-13")..];
    assert_eq!(element(order, "ram:IssuerAssignedID"), "PO-4711");
    assert!(xml.contains("DE02120300000000202051"));

    // The same invoice as ISDOC for a Czech accountant: the same totals.
    let res = document(&app, &inv["id"], "?format=isdoc").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains(&format!("{number}.isdoc")));
    let isdoc = res.text().await.unwrap();
    assert_valid_einvoice("invoice-domestic.isdoc", &isdoc);
    assert_eq!(Decimal::from_str(element(&isdoc, "PayableAmount")).unwrap(), dec(&inv["totals"]["gross"]));
    assert_eq!(Decimal::from_str(element(&isdoc, "TaxExclusiveAmount")).unwrap(), dec(&inv["totals"]["net"]));
    let formats: Vec<&str> =
        inv["documents"].as_array().unwrap().iter().map(|d| d["format"].as_str().unwrap()).collect();
    assert_eq!(formats, ["pdf", "zugferd", "xrechnung-cii", "isdoc"]);

    // The profile changes later; the issued document keeps the seller of its issue.
    let mut changed = complete_profile();
    changed["legal_name"] = json!("Muster IT AG");
    let res = crate::company::put_profile(&app, &app.admin_token, &changed, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let again = document(&app, &inv["id"], "?format=xrechnung-cii").await.text().await.unwrap();
    assert_eq!(again, xml);

    // Accept: application/xml chooses the format too.
    let res = app
        .request(Method::GET, &format!("/api/v1/invoices/{}/document", inv["id"]), Some(&app.admin_token))
        .header("Accept", "application/xml")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // The credit note: type 381, positive amounts, the cancelled invoice referenced; its
    // seller is the profile as of the cancel.
    let id = &inv["id"];
    let res =
        app.post(&format!("/api/v1/invoices/{id}/cancel"), &app.admin_token, &json!({"reason": "wrong rate"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let c: Value = res.json().await.unwrap();
    let credit = &c["credit_note"];
    let xml = document(&app, &credit["id"], "?format=xrechnung-cii").await.text().await.unwrap();
    assert_valid_einvoice("credit-note", &xml);
    assert_eq!(element(&xml, "ram:TypeCode"), "381");
    assert_eq!(Decimal::from_str(element(&xml, "ram:GrandTotalAmount")).unwrap(), -dec(&credit["totals"]["gross"]));
    let reference = &xml[xml.find("<ram:InvoiceReferencedDocument>").expect("BG-3")..];
    assert_eq!(element(reference, "ram:IssuerAssignedID"), number);
    assert!(xml.contains("Muster IT AG"));
    let isdoc = document(&app, &credit["id"], "?format=isdoc").await.text().await.unwrap();
    assert_valid_einvoice("credit-note.isdoc", &isdoc);
    assert_eq!(element(&isdoc, "DocumentType"), "2");
    assert_eq!(credit["order_reference"], "PO-4711", "the credit note names the same order");
    assert_eq!(Decimal::from_str(element(&isdoc, "PayableAmount")).unwrap(), -dec(&credit["totals"]["gross"]));
}

#[tokio::test]
async fn reverse_charge_and_export_invoices_carry_their_vat_category() {
    let app = spawn_app().await;
    let eu = issued_invoice(
        &app,
        json!({"name": "Alpenblick IT GmbH", "vat_id": "ATU12345678", "vat_treatment": "eu_reverse_charge",
               "billing_email": "ap@alpenblick.example",
               "address": {"street": "Ring 1", "postal_code": "1010", "city": "Wien", "country": "AT"}}),
    )
    .await;
    let xml = document(&app, &eu["id"], "?format=xrechnung-cii").await.text().await.unwrap();
    assert_valid_einvoice("reverse-charge", &xml);
    assert!(xml.contains("<ram:CategoryCode>AE</ram:CategoryCode>") && xml.contains("ATU12345678"), "{xml}");
    assert_eq!(Decimal::from_str(element(&xml, "ram:TaxTotalAmount")).unwrap(), Decimal::ZERO);

    let ch = issued_invoice(
        &app,
        json!({"name": "Bergsicht AG", "vat_treatment": "export", "billing_email": "kreditoren@bergsicht.example",
               "address": {"street": "Bahnhofstrasse 1", "postal_code": "8001", "city": "Zürich", "country": "CH"}}),
    )
    .await;
    let xml = document(&app, &ch["id"], "?format=xrechnung-cii").await.text().await.unwrap();
    assert_valid_einvoice("export", &xml);
    assert!(xml.contains("<ram:CategoryCode>G</ram:CategoryCode>"), "{xml}");
}

#[tokio::test]
async fn nothing_is_issued_without_a_seller_profile_and_documents_that_cannot_be_rendered_are_refused() {
    let app = spawn_app_without_seller_profile(|_| {}).await;
    let customer = app.create_customer(json!({"name": "Ohne Adresse KG"})).await["id"].clone();
    let remote = remote_support(&app).await;
    let ticket = crate::tickets::create_ticket(&app, json!({"title": "Setup", "customer_id": customer})).await;
    book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Setup"})).await;
    let run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let draft = run["invoice_ids"][0].clone();

    // A draft has no number yet.
    problem(document(&app, &draft, "?format=xrechnung-cii").await, StatusCode::CONFLICT).await;
    // An order reference of more than one line or 100 characters is refused.
    for bad in [json!("x".repeat(101)), json!("PO\n4711")] {
        let res = app
            .patch(&format!("/api/v1/invoices/{draft}"), &app.admin_token, &json!({"order_reference": bad}), None)
            .await;
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), ["order_reference"]);
    }

    // Without a complete seller profile nothing is issued: 409 naming the fields, the draft
    // stays a draft, and a run's issue job is refused up front.
    let before: Value = app.get(&format!("/api/v1/invoices/{draft}"), &app.admin_token).await.json().await.unwrap();
    let p = problem(
        app.request(Method::POST, &format!("/api/v1/invoices/{draft}/issue"), Some(&app.admin_token))
            .send()
            .await
            .unwrap(),
        StatusCode::CONFLICT,
    )
    .await;
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("legal_name") && detail.contains("iban") && detail.contains("settings/company"),
        "{detail}"
    );
    let after: Value = app.get(&format!("/api/v1/invoices/{draft}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(after, before);
    let res = app.post(&format!("/api/v1/invoice-runs/{}/issue", run["id"]), &app.admin_token, &json!({})).await;
    problem(res, StatusCode::CONFLICT).await;

    // A seller identified by tax number and register entry may issue; the customer without an
    // address makes the e-invoice impossible, and the answer says what to complete.
    let mut profile = complete_profile();
    profile.as_object_mut().unwrap().remove("vat_id");
    profile["tax_number"] = json!("143/123/45678");
    let res = crate::company::put_profile(&app, &app.admin_token, &profile, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let inv = issue(&app, &draft).await;
    let p = problem(document(&app, &inv["id"], "?format=xrechnung-cii").await, StatusCode::CONFLICT).await;
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("customer lacks address.postal_code, address.city, address.country"), "{detail}");

    // Unknown format 422, none at all 406, unknown invoice 404.
    problem(document(&app, &inv["id"], "?format=docx").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(document(&app, &inv["id"], "").await, StatusCode::NOT_ACCEPTABLE).await;
    problem(document(&app, &json!(999999), "?format=xrechnung-cii").await, StatusCode::NOT_FOUND).await;

    // GETs wrote nothing: the invoice is as issued.
    let after: Value =
        app.get(&format!("/api/v1/invoices/{}", inv["id"]), &app.admin_token).await.json().await.unwrap();
    assert_eq!(after["version"], inv["version"]);
}

#[tokio::test]
async fn a_public_buyer_gets_its_leitweg_id_and_electronic_address_on_the_e_invoice() {
    let app = spawn_app().await;
    let mut customer = domestic_customer();
    customer["name"] = json!("Stadt Musterhausen");
    customer["e_invoicing"] = json!({"buyer_reference": " 04011000-1234512345-06 ", "address": "04011000-1234512345-06",
                                     "address_scheme": "0204", "document_format": "xrechnung_cii"});
    let inv = issued_invoice(&app, customer).await;
    let xml = document(&app, &inv["id"], "?format=xrechnung-cii").await.text().await.unwrap();
    assert_valid_einvoice("public-buyer", &xml);
    assert_eq!(element(&xml, "ram:BuyerReference"), "04011000-1234512345-06");
    assert!(xml.contains("<ram:URIID schemeID=\"0204\">04011000-1234512345-06</ram:URIID>"), "{xml}");

    // The customer changes its reference later; the issued e-invoice keeps the one of issue.
    let id = &inv["customer_id"];
    let res = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &app.admin_token,
            &json!({"e_invoicing": {"buyer_reference": "NEU-1"}}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let c: Value = res.json().await.unwrap();
    assert_eq!(
        c["e_invoicing"],
        json!({"buyer_reference": "NEU-1", "address": null, "address_scheme": null, "document_format": "pdf"})
    );
    let again = document(&app, &inv["id"], "?format=xrechnung-cii").await.text().await.unwrap();
    assert_eq!(again, xml);
}

#[tokio::test]
async fn a_contracts_order_reference_goes_onto_its_drafts_and_their_e_invoices() {
    let app = spawn_app().await;
    let remote = remote_support(&app).await;
    let customer = app.create_customer(domestic_customer()).await["id"].clone();
    let res = app
        .post(
            "/api/v1/contracts",
            &app.admin_token,
            &json!({"customer_id": customer, "name": "Wartung", "kind": "time_and_material",
                    "start_date": "2026-01-01", "order_reference": " PO-2026-77 "}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let contract: Value = res.json().await.unwrap();
    assert_eq!(contract["order_reference"], "PO-2026-77");
    let ticket = crate::tickets::create_ticket(&app, json!({"title": "Wartung", "customer_id": customer})).await;
    book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Wartung"})).await;
    let run = commit(
        &app,
        json!({"scope": "contract", "scope_id": contract["id"], "period_start": "2026-11-01", "period_end": "2026-11-30"}),
    )
    .await;
    let draft = run["invoice_ids"][0].clone();
    let path = format!("/api/v1/contracts/{}", contract["id"]);
    let patch = |body: Value| {
        let (app, path) = (&app, &path);
        async move {
            let etag = app.get(path, &app.admin_token).await.headers()["etag"].to_str().unwrap().to_string();
            app.patch(path, &app.admin_token, &body, Some(&etag)).await
        }
    };
    // Too long or on two lines: refused, nothing changed.
    for bad in [json!("x".repeat(101)), json!("PO\n77")] {
        let p = problem(patch(json!({"order_reference": bad})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), ["order_reference"]);
    }
    // Cleared on the contract later: the draft keeps the reference it was made with.
    let res = patch(json!({"order_reference": null})).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    assert_eq!(res.json::<Value>().await.unwrap()["order_reference"], Value::Null);
    let inv = issue(&app, &draft).await;
    assert_eq!(inv["order_reference"], "PO-2026-77");
    let xml = document(&app, &inv["id"], "?format=xrechnung-cii").await.text().await.unwrap();
    let order = &xml[xml.find("<ram:BuyerOrderReferencedDocument>").expect("BT-13")..];
    assert_eq!(element(order, "ram:IssuerAssignedID"), "PO-2026-77");
}

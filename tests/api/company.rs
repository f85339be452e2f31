//! End-to-end tests of the seller profile (`/settings/company`): read, replace under
//! `If-Match`, refused input, permissions, audit.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A seller profile with everything an e-invoice needs.
pub fn complete_profile() -> Value {
    json!({
        "legal_name": "Muster IT GmbH",
        "address_street": "Hauptstraße 1",
        "address_postal_code": "80331",
        "address_city": "München",
        "address_country": "DE",
        "vat_id": "DE123456789",
        "commercial_register": "HRB 12345, Amtsgericht München",
        "iban": "DE02 1203 0000 0000 2020 51",
        "bic": "BYLADEM1001",
        "bank_name": "Musterbank",
        "contact_name": "Erika Muster",
        "contact_phone": "+49 89 123456",
        "contact_email": "billing@muster.example",
        "electronic_address": "invoices@muster.example",
        "payment_terms_text": "Payable within 14 days without deduction.",
        "footer_lines": ["Geschäftsführerin: Erika Muster", "USt-IdNr. DE123456789"],
        "datev_consultant_number": "1234567",
        "datev_client_number": "12345"
    })
}

/// Stores [`complete_profile`] as admin; panics unless 200.
pub async fn store_complete_profile(app: &TestApp) -> Value {
    let res = put_profile(app, &app.admin_token, &complete_profile(), None).await;
    assert_eq!(res.status(), StatusCode::OK, "store the seller profile: {}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

/// `PUT /settings/company` with `body`, optionally under `If-Match`.
pub async fn put_profile(app: &TestApp, token: &str, body: &Value, if_match: Option<&str>) -> reqwest::Response {
    let mut req = app.request(Method::PUT, "/api/v1/settings/company", Some(token)).json(body);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_billing_office_fills_in_the_seller_profile_and_sees_what_e_invoices_still_need() {
    let app = spawn_app_without_seller_profile(|_| {}).await;
    let res = app.get("/api/v1/settings/company", &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"seller_profile-1-v0\"");
    let empty: Value = res.json().await.unwrap();
    assert_eq!(empty["version"], 0);
    assert_eq!(empty["profile"]["legal_name"], Value::Null);
    assert_eq!(empty["profile"]["revenue_accounts"]["standard"], "8400");
    assert_eq!(empty["missing_for_e_invoice"].as_array().unwrap().len(), 10, "{empty}");

    // A partial profile is stored and says what is left.
    let (_, billing) = app.user_with_roles(&["billing"]).await;
    let partial = json!({"legal_name": "  Muster IT GmbH ", "address_country": "de", "iban": "de02120300000000202051"});
    let res = put_profile(&app, &billing, &partial, Some("\"seller_profile-1-v0\"")).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    assert_eq!(res.headers()["etag"], "\"seller_profile-1-v1\"");
    let stored: Value = res.json().await.unwrap();
    assert_eq!(stored["profile"]["legal_name"], "Muster IT GmbH");
    assert_eq!(stored["profile"]["address_country"], "DE");
    assert_eq!(stored["profile"]["iban"], "DE02120300000000202051");
    let missing: Vec<&str> =
        stored["missing_for_e_invoice"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(
        missing.contains(&"contact_email") && missing.contains(&"vat_id") && !missing.contains(&"iban"),
        "{missing:?}"
    );

    // The complete profile needs nothing more; the change is audited.
    let before = app.audit_count(Some("seller_profile")).await;
    let res = put_profile(&app, &billing, &complete_profile(), Some("\"seller_profile-1-v1\"")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let full: Value = res.json().await.unwrap();
    assert_eq!(full["missing_for_e_invoice"], json!([]));
    assert_eq!(full["version"], 2);
    assert_eq!(full["profile"]["footer_lines"][0], "Geschäftsführerin: Erika Muster");
    // What GET answers in `profile` goes back into PUT unchanged.
    let res = put_profile(&app, &billing, &full["profile"], Some("\"seller_profile-1-v2\"")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let full: Value = res.json().await.unwrap();
    assert_eq!(full["version"], 3);
    assert_eq!(app.audit_count(Some("seller_profile")).await, before + 2);
    let read: Value = app.get("/api/v1/settings/company", &app.admin_token).await.json().await.unwrap();
    assert_eq!(read, full);
}

#[tokio::test]
async fn a_stale_or_bad_profile_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let stored: Value = app.get("/api/v1/settings/company", &app.admin_token).await.json().await.unwrap();
    assert_eq!(stored["version"], 1, "spawn_app stores a complete profile");

    // Another user's change in between: 412.
    let res =
        put_profile(&app, &app.admin_token, &json!({"legal_name": "Other"}), Some("\"seller_profile-1-v0\"")).await;
    problem(res, StatusCode::PRECONDITION_FAILED).await;

    // Every bad field at once: 422.
    let mut bad = complete_profile();
    bad["iban"] = json!("DE03120300000000202051");
    bad["address_country"] = json!("Germany");
    bad["contact_email"] = json!("not-an-address");
    bad["bic"] = json!("XY");
    bad["datev_client_number"] = json!("12ab");
    bad["revenue_accounts"] = json!({"standard": "84", "reduced": "8300", "reverse_charge": "8336", "export": "8338"});
    bad["footer_lines"] = json!(vec!["line"; 11]);
    let p = problem(put_profile(&app, &app.admin_token, &bad, None).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        error_fields(&p),
        [
            "address_country",
            "bic",
            "contact_email",
            "datev_client_number",
            "footer_lines",
            "iban",
            "revenue_accounts.standard"
        ]
    );
    // An unknown field is refused too.
    let mut unknown = complete_profile();
    unknown["letterhead_colour"] = json!("blue");
    problem(put_profile(&app, &app.admin_token, &unknown, None).await, StatusCode::UNPROCESSABLE_ENTITY).await;

    // Technicians read invoices but do not set the letterhead.
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    problem(put_profile(&app, &agent, &json!({"legal_name": "Mine"}), None).await, StatusCode::FORBIDDEN).await;

    let read: Value = app.get("/api/v1/settings/company", &app.admin_token).await.json().await.unwrap();
    assert_eq!(read, stored);
}

const LOGO: &[u8] = include_bytes!("../../documents/tests/common/logo.png");

async fn put_logo(app: &TestApp, token: &str, media_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.request(Method::PUT, "/api/v1/settings/company/logo", Some(token))
        .header("Content-Type", media_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// How many images the document's PDF carries.
async fn images_in_pdf(app: &TestApp, invoice: &Value) -> usize {
    let res = crate::invoice_documents::document(app, &invoice["id"], "?format=pdf").await;
    assert_eq!(res.status(), StatusCode::OK);
    let pdf = res.bytes().await.unwrap();
    pdf.windows(b"/Subtype/Image".len()).filter(|w| w == b"/Subtype/Image").count()
}

#[tokio::test]
async fn the_letterhead_logo_is_uploaded_printed_frozen_at_issue_and_removed() {
    let app = spawn_app().await;
    let (_, billing) = app.user_with_roles(&["billing"]).await;
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    let before: Value = app.get("/api/v1/settings/company", &app.admin_token).await.json().await.unwrap();

    // Bad input changes nothing: another type, an unreadable image, too large, no permission.
    problem(put_logo(&app, &billing, "image/gif", b"GIF89a".to_vec()).await, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let p = problem(
        put_logo(&app, &billing, "image/svg+xml", b"<svg><rect".to_vec()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["logo"]);
    let p = problem(put_logo(&app, &billing, "image/png", LOGO[..60].to_vec()).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(error_fields(&p), ["logo"]);
    problem(put_logo(&app, &billing, "image/png", vec![0; 600 * 1024]).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    problem(put_logo(&app, &agent, "image/png", LOGO.to_vec()).await, StatusCode::FORBIDDEN).await;
    problem(app.get("/api/v1/settings/company/logo", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    let unchanged: Value = app.get("/api/v1/settings/company", &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged, before);

    // Uploaded: the profile names it, it reads back as sent, and the next invoice prints it.
    let res = put_logo(&app, &billing, "image/png", LOGO.to_vec()).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let profile: Value = res.json().await.unwrap();
    let sha = profile["profile"]["logo_sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    assert_eq!(profile["version"], before["version"].as_i64().unwrap() + 1);
    let res = app.get("/api/v1/settings/company/logo", &agent).await;
    problem(res, StatusCode::FORBIDDEN).await;
    let res = app.get("/api/v1/settings/company/logo", &billing).await;
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), LOGO);
    let inv = crate::invoice_documents::issued_invoice(&app, crate::invoice_documents::domestic_customer()).await;
    assert_eq!(images_in_pdf(&app, &inv).await, 1);

    // Replacing the profile keeps the logo, whatever the body says about it.
    let mut body = crate::company::complete_profile();
    body["logo_sha256"] = json!("0".repeat(64));
    let res = put_profile(&app, &billing, &body, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["profile"]["logo_sha256"], sha.as_str());

    // Removed: later documents print none, the issued one keeps the logo of its issue.
    let res = app.request(Method::DELETE, "/api/v1/settings/company/logo", Some(&billing)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.json::<Value>().await.unwrap()["profile"].get("logo_sha256").is_none());
    problem(app.get("/api/v1/settings/company/logo", &billing).await, StatusCode::NOT_FOUND).await;
    assert_eq!(images_in_pdf(&app, &inv).await, 1, "frozen at issue");
    let later = crate::invoice_documents::issued_invoice(&app, crate::invoice_documents::domestic_customer()).await;
    assert_eq!(images_in_pdf(&app, &later).await, 0);

    // An SVG logo is kept as uploaded and drawn as vectors.
    let svg = include_bytes!("../../documents/tests/common/logo.svg").to_vec();
    let res = put_logo(&app, &billing, "image/svg+xml", svg.clone()).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let res = app.get("/api/v1/settings/company/logo", &billing).await;
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert_eq!(res.bytes().await.unwrap().to_vec(), svg);
    let with_svg = crate::invoice_documents::issued_invoice(&app, crate::invoice_documents::domestic_customer()).await;
    let plain = crate::invoice_documents::document(&app, &later["id"], "?format=pdf").await.bytes().await.unwrap();
    let drawn = crate::invoice_documents::document(&app, &with_svg["id"], "?format=pdf").await.bytes().await.unwrap();
    assert!(drawn.len() > plain.len() + 500, "the drawing is in the PDF");
}

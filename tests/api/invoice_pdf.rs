//! End-to-end tests of the printed invoice (`GET /invoices/{id}/document?format=pdf` and
//! `format=zugferd`): the PDF of an issued invoice and of its credit note carries the JSON
//! invoice's number, lines and totals (read back with `pdftotext` from Debian's
//! `poppler-utils`, required under `KONTOR_REQUIRE_EINVOICE=1` as `.ci/run` sets it), the
//! Factur-X PDF passes the offline validator, and a draft previews with a watermark.

use crate::helpers::*;
use crate::invoice_documents::{assert_valid_einvoice, document, domestic_customer, issued_invoice};
use crate::invoices::{book, commit};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The text of a PDF (`pdftotext -raw`), or `None` where `pdftotext` is not installed.
pub(crate) fn pdf_text(pdf: &[u8]) -> Option<String> {
    let file = std::env::temp_dir().join(format!("kontor-{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext").arg("-raw").arg(&file).arg("-").output();
    let _ = std::fs::remove_file(&file);
    match out {
        Ok(out) if out.status.success() => Some(String::from_utf8(out.stdout).unwrap()),
        Ok(out) => panic!("pdftotext failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(_) => {
            let required = std::env::var("KONTOR_REQUIRE_EINVOICE").is_ok_and(|v| v == "1");
            assert!(!required, "pdftotext (poppler-utils) missing, and KONTOR_REQUIRE_EINVOICE=1");
            eprintln!("pdftotext not installed: PDF text not checked");
            None
        }
    }
}

/// `"1234.5"` (a JSON amount) as the PDF prints it: `1.234,50`.
fn german(amount: &Value) -> String {
    let d = crate::invoices::dec(amount).abs().round_dp(2);
    let plain = format!("{d:.2}");
    let (int, frac) = plain.split_once('.').unwrap();
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    format!("{out},{frac}")
}

pub(crate) fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

async fn pdf_of(app: &TestApp, id: &Value, query: &str) -> Vec<u8> {
    let res = document(app, id, query).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"));
    pdf
}

/// The number, every line's description and net, and the totals of the JSON invoice.
fn assert_prints(text: &str, inv: &Value) {
    assert!(text.contains(inv["number"].as_str().unwrap()), "number missing:\n{text}");
    for total in ["net", "gross"] {
        let printed = format!("{} EUR", german(&inv["totals"][total]));
        assert!(text.contains(&printed), "{total} {printed} missing:\n{text}");
    }
    for line in inv["lines"].as_array().unwrap() {
        let description = line["description"].as_str().unwrap();
        assert!(squeeze(text).contains(&squeeze(description)), "{description} missing:\n{text}");
        assert!(text.contains(&german(&line["net"])), "net of {description} missing:\n{text}");
    }
}

#[tokio::test]
async fn an_issued_invoice_and_its_credit_note_print_as_pdf_and_zugferd_with_the_json_figures() {
    let app = spawn_app().await;
    let inv = issued_invoice(&app, domestic_customer()).await;
    let number = inv["number"].as_str().unwrap();
    let res = document(&app, &inv["id"], "?format=pdf").await;
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.contains(&format!("{number}.pdf")), "{disposition}");
    let pdf = res.bytes().await.unwrap().to_vec();
    if let Some(text) = pdf_text(&pdf) {
        assert_prints(&text, &inv);
        for expected in ["Rechnung ", "Müller Gebäudetechnik GmbH", "Muster IT GmbH", "PO-4711", "Seite 1 von 1"] {
            assert!(text.contains(expected), "{expected} missing:\n{text}");
        }
    }
    // The same bytes on every GET, and by `Accept: application/pdf`.
    assert_eq!(pdf_of(&app, &inv["id"], "?format=pdf").await, pdf);
    let res = app
        .request(Method::GET, &format!("/api/v1/invoices/{}/document", inv["id"]), Some(&app.admin_token))
        .header("Accept", "application/pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().to_vec(), pdf);

    // Factur-X: the PDF with the EN 16931 XML inside, valid for the offline validator.
    let zugferd = pdf_of(&app, &inv["id"], "?format=zugferd").await;
    assert_valid_einvoice("invoice-domestic-zugferd.pdf", &zugferd);
    if let Some(text) = pdf_text(&zugferd) {
        assert_prints(&text, &inv);
    }

    // The credit note names the invoice it corrects and prints positive amounts.
    let id = &inv["id"];
    let res =
        app.post(&format!("/api/v1/invoices/{id}/cancel"), &app.admin_token, &json!({"reason": "wrong rate"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let c: Value = res.json().await.unwrap();
    let credit = &c["credit_note"];
    let pdf = pdf_of(&app, &credit["id"], "?format=zugferd").await;
    assert_valid_einvoice("credit-note-zugferd.pdf", &pdf);
    if let Some(text) = pdf_text(&pdf) {
        assert_prints(&text, credit);
        assert!(text.contains(&format!("zur Rechnung {number} vom")), "{text}");
        assert!(text.contains("Gutschriftsbetrag") && !text.contains("Bitte überweisen"), "{text}");
    }
}

#[tokio::test]
async fn a_draft_previews_as_pdf_with_a_watermark_and_no_number_and_nothing_else() {
    let app = spawn_app().await;
    let customer = app.create_customer(domestic_customer()).await["id"].clone();
    let remote = crate::bookings::service(&app, "REMOTE-DRAFT", "hour", true).await;
    let ticket = crate::tickets::create_ticket(&app, json!({"title": "Drucker", "customer_id": customer})).await;
    book(&app, json!({"work_date": "2026-11-05", "duration_minutes": 90, "service_id": remote, "ticket_id": ticket["id"], "description": "Drucker im Empfang eingerichtet"})).await;
    let run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let id = run["invoice_ids"][0].clone();
    let before: Value = app.get(&format!("/api/v1/invoices/{id}"), &app.admin_token).await.json().await.unwrap();
    let formats: Vec<&str> =
        before["documents"].as_array().unwrap().iter().map(|d| d["format"].as_str().unwrap()).collect();
    assert_eq!(formats, ["pdf"], "a draft previews as PDF only");

    let res = document(&app, &id, "?format=pdf").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains(&format!("draft-{id}.pdf")));
    let pdf = res.bytes().await.unwrap();
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("Rechnungsentwurf") && squeeze(&text).contains("ENTWURF"), "{text}");
        assert!(text.contains("Drucker im Empfang eingerichtet"), "{text}");
        assert!(text.contains(&format!("{} EUR", german(&before["totals"]["gross"]))), "{text}");
    }
    // The e-invoice formats need a number.
    for format in ["zugferd", "xrechnung-cii", "isdoc"] {
        problem(document(&app, &id, &format!("?format={format}")).await, StatusCode::CONFLICT).await;
    }
    let after: Value = app.get(&format!("/api/v1/invoices/{id}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(after, before, "a GET writes nothing");
}

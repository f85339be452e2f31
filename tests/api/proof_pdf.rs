//! End-to-end tests of the printed proof of service (`format=pdf` on
//! `GET /invoices|tickets|projects/{id}/proof-of-service`): the PDF lists what the JSON report
//! lists — read back with `pdftotext` (required under `KONTOR_REQUIRE_EINVOICE=1`).

use crate::bookings::{project, service};
use crate::helpers::*;
use crate::invoice_pdf::{pdf_text, squeeze};
use crate::invoices::*;
use crate::tickets::{create_ticket, customer_id};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn pdf(app: &TestApp, path: &str) -> (String, Vec<u8>) {
    let res = app.get(path, &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}: {}", res.text().await.unwrap_or_default());
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_string();
    let body = res.bytes().await.unwrap().to_vec();
    assert!(body.starts_with(b"%PDF-"));
    (disposition, body)
}

fn assert_lists(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(squeeze(text).contains(&squeeze(e)), "{e} missing:\n{text}");
    }
}

#[tokio::test]
async fn the_proof_of_service_prints_for_an_invoice_a_ticket_and_a_project_with_a_signature_line() {
    let app = spawn_app().await;
    let remote = service(&app, "REMOTE", "hour", true).await;
    let customer = customer_id(&app).await;
    let ticket = create_ticket(&app, json!({"title": "Drucker im Empfang", "customer_id": customer})).await;
    book(
        &app,
        json!({"work_date": "2026-11-05", "start_time": "09:15", "end_time": "09:22", "service_id": remote,
        "ticket_id": ticket["id"], "description": "Treiber für Łódź-Drucker aktualisiert"}),
    )
    .await;
    book(
        &app,
        json!({"work_date": "2026-11-06", "duration_minutes": 45, "service_id": remote,
        "ticket_id": ticket["id"], "billable": false, "description": "Kulanz: Einweisung"}),
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/tickets/{}/notes", ticket["id"]),
            &app.admin_token,
            &json!({"body": "Kunde bestätigt: Druck funktioniert", "in_report": true, "visibility": "customer"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // Before invoicing: the ticket's work is open.
    let (disposition, body) = pdf(&app, &format!("/api/v1/tickets/{}/proof-of-service?format=pdf", ticket["id"])).await;
    assert!(disposition.contains(&format!("proof-{}.pdf", ticket["number"].as_str().unwrap())), "{disposition}");
    if let Some(text) = pdf_text(&body) {
        assert_lists(
            &text,
            &[
                "Leistungsnachweis",
                &format!("Ticket {} Drucker im Empfang", ticket["number"].as_str().unwrap()),
                "05.11.2026 – 06.11.2026",
                "09:15–09:22",
                "Treiber für Łódź-Drucker aktualisiert (noch nicht abgerechnet)",
                "Kunde bestätigt: Druck funktioniert",
                "Unterschrift Kunde",
                "Muster IT GmbH",
            ],
        );
    }

    // The issued invoice's report: 7 minutes billed as 15, the goodwill work without charge.
    let run = commit(&app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    let id = run["invoice_ids"][0].clone();
    let issued = issue(&app, &id).await;
    let number = issued["number"].as_str().unwrap();
    let (disposition, body) = pdf(&app, &format!("/api/v1/invoices/{id}/proof-of-service?format=pdf")).await;
    assert!(disposition.contains(&format!("proof-{number}.pdf")), "{disposition}");
    if let Some(text) = pdf_text(&body) {
        assert_lists(
            &text,
            &[
                &format!("zur Rechnung {number}"),
                "0:07 0:15",
                "Kulanz: Einweisung (ohne Berechnung)",
                "Summe 0:52 0:15",
            ],
        );
    }
    // By Accept too; JSON stays the default.
    let res = app
        .request(Method::GET, &format!("/api/v1/invoices/{id}/proof-of-service"), Some(&app.admin_token))
        .header("Accept", "application/pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let res = app.get(&format!("/api/v1/invoices/{id}/proof-of-service"), &app.admin_token).await;
    assert_eq!(res.headers()["content-type"], "application/json");

    // A project's report within dates.
    let proj = project(&app, json!({"name": "Netzwerk 2026", "customer_id": customer})).await["id"].clone();
    book(
        &app,
        json!({"work_date": "2026-11-10", "duration_minutes": 120, "service_id": remote,
        "project_id": proj, "description": "Switches getauscht"}),
    )
    .await;
    let path = format!("/api/v1/projects/{proj}/proof-of-service?format=pdf&from=2026-11-01&to=2026-11-30");
    let (disposition, body) = pdf(&app, &path).await;
    assert!(disposition.contains(&format!("proof-project-{proj}.pdf")), "{disposition}");
    if let Some(text) = pdf_text(&body) {
        assert_lists(&text, &["Projekt Netzwerk 2026", "01.11.2026 – 30.11.2026", "Switches getauscht", "2:00"]);
    }

    // An unknown format is refused.
    let res = app.get(&format!("/api/v1/invoices/{id}/proof-of-service?format=docx"), &app.admin_token).await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), ["format"]);
}

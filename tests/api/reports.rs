//! End-to-end tests: status reports of a customer, a project and a contract — open tickets,
//! hours by service, quota, estimate vs. actual, unbilled work — as JSON and printable HTML.

use crate::bookings::{project, service};
use crate::helpers::*;
use crate::invoices::book;
use crate::tickets::create_ticket;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Fixture {
    customer: i64,
    project: i64,
    contract: i64,
}

/// A customer with a prepaid contract (10 h a month), a project (estimate 10 h), an open and
/// a closed ticket, and bookings in October and November.
async fn fixture(app: &TestApp) -> Fixture {
    let customer = app.create_customer(json!({"name": "Kanzlei <Weber> & Partner"})).await["id"].as_i64().unwrap();
    let support = service(app, "SUPPORT", "hour", true).await;
    let onsite = service(app, "ONSITE", "hour", true).await;
    let res = app
        .post(
            "/api/v1/contracts",
            &app.admin_token,
            &json!({"customer_id": customer, "name": "Support 10 h", "kind": "prepaid_hours", "number": "V-2026-0007",
                    "start_date": "2026-01-01", "billing_period": "monthly", "fee": "800.00", "hours_per_period": "10",
                    "overage": {"type": "resolved_rates"}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let contract = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let project = project(app, json!({"name": "Server migration", "customer_id": customer, "estimate_hours": "10"}))
        .await["id"]
        .as_i64()
        .unwrap();
    let open = create_ticket(app, json!({"title": "Printer offline", "customer_id": customer})).await;
    let closed = create_ticket(app, json!({"title": "Old issue", "customer_id": customer})).await;
    for status in ["open", "in_progress", "resolved", "closed"] {
        let res = app
            .post(&format!("/api/v1/tickets/{}/status", closed["id"]), &app.admin_token, &json!({"status": status}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    for (date, minutes, service, target) in [
        ("2026-10-30", 60, support, json!({"ticket_id": open["id"]})),
        ("2026-11-03", 90, support, json!({"ticket_id": open["id"]})),
        ("2026-11-04", 30, onsite, json!({"ticket_id": open["id"]})),
        ("2026-11-05", 240, onsite, json!({"project_id": project})),
    ] {
        let mut body = json!({"work_date": date, "duration_minutes": minutes, "service_id": service,
                              "description": "Work"});
        body.as_object_mut().unwrap().extend(target.as_object().unwrap().clone());
        book(app, body).await;
    }
    Fixture { customer, project, contract }
}

async fn report(app: &TestApp, query: &str) -> Value {
    let res = app.get(&format!("/api/v1/reports/status?{query}"), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_customers_status_report_shows_open_tickets_hours_quota_projects_and_unbilled_work() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let r = report(&app, &format!("customer_id={}&from=2026-11-01&to=2026-11-30", f.customer)).await;
    assert_eq!(r["subject"], json!({"kind": "customer", "id": f.customer, "label": "Kanzlei <Weber> & Partner"}));
    assert_eq!((r["from"].as_str(), r["to"].as_str()), (Some("2026-11-01"), Some("2026-11-30")));
    let open: Vec<&str> = r["open_tickets"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(open, vec!["Printer offline"], "the closed ticket is not open");
    assert_eq!((r["open_tickets_truncated"].as_bool(), r["projects_truncated"].as_bool()), (Some(false), Some(false)));
    // November only: SUPPORT 90, ONSITE 30 + 240.
    let by_service: Vec<(String, i64)> = r["hours_by_service"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["service"].as_str().unwrap().to_string(), s["minutes"].as_i64().unwrap()))
        .collect();
    assert_eq!(by_service, vec![("SUPPORT".to_string(), 90), ("ONSITE".to_string(), 270)]);
    assert_eq!(r["total_minutes"], 360);
    assert_eq!(r["total_hours"], "6.00");
    assert_eq!(r["quota"].as_array().unwrap().len(), 1);
    assert_eq!(r["quota"][0]["contract_id"], f.contract);
    assert_eq!(r["quota"][0]["including_drafts"]["granted_hours"], "10");
    assert_eq!(r["projects"].as_array().unwrap().len(), 1);
    assert_eq!(r["projects"][0]["name"], "Server migration");
    assert_eq!(r["projects"][0]["actual_minutes"], 240);
    assert_eq!(r["projects"][0]["percent_used"], "40.0");
    // Everything up to the 30th is still open: October's booking too.
    assert_eq!(r["unbilled"]["open_positions"], 4);
    assert_eq!(r["unbilled"]["billable_minutes"], 420);
    assert_eq!(r["unbilled"]["currency"], "EUR");
}

#[tokio::test]
async fn a_project_or_contract_report_narrows_to_its_subject() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let r = report(&app, &format!("project_id={}&from=2026-11-01&to=2026-11-30", f.project)).await;
    assert_eq!(r["subject"]["label"], "Server migration");
    assert_eq!(r["customer"]["id"], f.customer);
    assert_eq!(r["total_minutes"], 240, "the project's bookings only");
    assert!(r["open_tickets"].as_array().unwrap().is_empty(), "no ticket belongs to the project");
    assert!(r["quota"].as_array().unwrap().is_empty());
    assert_eq!(r["projects"][0]["project_id"], f.project);
    assert_eq!(r["unbilled"]["open_positions"], 1);
    assert_eq!(r["unbilled"]["billable_minutes"], 240);

    let r = report(&app, &format!("contract_id={}&to=2026-11-30", f.contract)).await;
    assert_eq!(r["subject"]["label"], "V-2026-0007");
    assert_eq!(r["from"], "2026-11-01", "the month of `to`");
    assert_eq!(r["quota"][0]["contract_number"], "V-2026-0007");
    assert!(r["projects"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_status_report_prints_as_one_self_contained_html_page() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let path = format!("/api/v1/reports/status?customer_id={}&from=2026-11-01&to=2026-11-30", f.customer);
    let res =
        app.request(Method::GET, &path, Some(&app.admin_token)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>"));
    assert!(html.contains("<html lang=\"de\">") && html.contains("Statusbericht: Kanzlei &lt;Weber&gt; &amp; Partner"));
    assert!(html.contains("Printer offline") && !html.contains("Old issue"));
    assert!(html.contains("<th class=\"n\">6,00</th>"), "total hours with a decimal comma");
    assert!(html.contains("V-2026-0007") && html.contains("Server migration"));
    for external in ["src=", "href=", "<script", "@import", "url("] {
        assert!(!html.contains(external), "nothing to load: {external}");
    }
    let res = app
        .request(Method::GET, &path, Some(&app.admin_token))
        .header("accept", "text/html")
        .header("accept-language", "en-US,en;q=0.8")
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">") && html.contains("Status report") && html.contains(">6.00<"));

    // The same as a PDF.
    let expected =
        ["Statusbericht: Kanzlei <Weber> & Partner", "Printer offline", "6,00", "V-2026-0007", "Seite 1 von"];
    if let Some(text) = printed_pdf(&app, &path, None, &expected).await {
        assert!(!text.contains("Old issue"));
    }
}

/// The PDF `path` answers with `Accept: application/pdf` (and `Accept-Language: language`):
/// its text, checked to hold every `expected` line part (`None` where `pdftotext` is not
/// installed).
pub(crate) async fn printed_pdf(
    app: &TestApp,
    path: &str,
    language: Option<&str>,
    expected: &[&str],
) -> Option<String> {
    let mut req = app.request(Method::GET, path, Some(&app.admin_token)).header("accept", "application/pdf");
    if let Some(language) = language {
        req = req.header("accept-language", language);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = crate::invoice_pdf::pdf_text(&pdf)?;
    for part in expected {
        assert!(text.contains(part), "{part} missing in {text}");
    }
    Some(text)
}

#[tokio::test]
async fn a_report_needs_exactly_one_known_subject_a_valid_period_and_the_billing_view() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    for query in ["".to_string(), format!("customer_id={}&project_id={}", f.customer, f.project)] {
        let res = app.get(&format!("/api/v1/reports/status?{query}"), &app.admin_token).await;
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec!["contract_id", "customer_id", "project_id"]);
    }
    let res = app.get("/api/v1/reports/status?customer_id=999999", &app.admin_token).await;
    problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .get(
            &format!("/api/v1/reports/status?customer_id={}&from=2026-11-30&to=2026-11-01", f.customer),
            &app.admin_token,
        )
        .await;
    assert_eq!(error_fields(&problem(res, StatusCode::UNPROCESSABLE_ENTITY).await), vec!["to"]);
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    let res = app.get(&format!("/api/v1/reports/status?customer_id={}", f.customer), &agent).await;
    problem(res, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn a_report_says_when_it_lists_only_the_first_200_open_tickets() {
    let app = spawn_app().await;
    let customer = app.create_customer(json!({"name": "Busy GmbH"})).await["id"].clone();
    let creates =
        (0..201).map(|n| {
            let app = &app;
            let body = json!({"title": format!("Ticket {n}"), "customer_id": customer});
            async move {
                assert_eq!(app.post("/api/v1/tickets", &app.admin_token, &body).await.status(), StatusCode::CREATED)
            }
        });
    futures_util::future::join_all(creates).await;
    let r = report(&app, &format!("customer_id={customer}")).await;
    assert_eq!(r["open_tickets"].as_array().unwrap().len(), 200);
    assert_eq!(r["open_tickets_truncated"], true);
}

//! End-to-end tests of e-mail: a real SMTP conversation with the tests' own server
//! ([`SmtpServer`]) — the project workflow mails (PL fertig → project manager, PM fertig →
//! billing office, corrections back), the estimate mail to the account manager, ticket status
//! mails to a customer kept informed, issued invoices with their document attached; the
//! server down (retried, logged, nothing lost); no server at all (`not_configured`); and the
//! mail log's filters and permissions.

use crate::helpers::*;
use crate::projects::{create_project, expect_status};
use crate::smtp_server::SmtpServer;
use mail_parser::MimeHeaders;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// A server mailing through `smtp` (none: no SMTP server configured).
async fn mail_app(smtp: Option<&SmtpServer>, invoices: bool) -> TestApp {
    let url = smtp.map(|s| s.url.clone());
    spawn_app_with(move |c| {
        c.mail.smtp_url = url;
        c.mail.from = Some("Kontor <kontor@example.com>".into());
        c.mail.invoices = invoices;
    })
    .await
}

async fn email_of(app: &TestApp, user_id: i64) -> String {
    let u: Value = app.get(&format!("/api/v1/users/{user_id}"), &app.admin_token).await.json().await.unwrap();
    u["email"].as_str().unwrap().to_string()
}

async fn set_language(app: &TestApp, user_id: i64, language: &str) {
    let res =
        app.patch(&format!("/api/v1/users/{user_id}"), &app.admin_token, &json!({"language": language}), None).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
}

/// The mail log with this query (admin).
async fn mail_log(app: &TestApp, query: &str) -> Vec<Value> {
    let res = app.get(&format!("/api/v1/mail-log?limit=200&{query}"), &app.admin_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["items"].as_array().cloned().unwrap_or_default()
}

/// Waits (up to 15 s) until the mail log with `query` satisfies `done`.
async fn wait_for_log(app: &TestApp, query: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..300 {
        let log = mail_log(app, query).await;
        if done(&log) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: the mail log has {:#?}", mail_log(app, query).await);
}

/// The subject and the text part of a received message.
fn subject_and_text(m: &crate::smtp_server::SmtpMail) -> (String, String) {
    let parsed = m.parsed();
    (parsed.subject().unwrap_or_default().to_string(), parsed.body_text(0).unwrap_or_default().to_string())
}

#[tokio::test]
async fn pl_done_mails_the_project_manager_pm_done_the_billing_office_and_a_return_the_one_who_must_correct() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(Some(&smtp), false).await;
    let lead = app.user_with_roles(&["agent"]).await;
    let manager = app.user_with_roles(&["manager"]).await;
    let office_de = app.user_with_roles(&["billing"]).await;
    let office_en = app.user_with_roles(&["billing"]).await;
    set_language(&app, office_en.0, "en").await;
    let (lead_mail, manager_mail) = (email_of(&app, lead.0).await, email_of(&app, manager.0).await);
    let (office_de_mail, office_en_mail) = (email_of(&app, office_de.0).await, email_of(&app, office_en.0).await);
    let customer = app.create_customer(json!({"name": "Muster GmbH"})).await;
    let project = create_project(
        &app,
        json!({"name": "Migration", "customer_id": customer["id"], "project_manager_id": manager.0,
               "project_lead_id": lead.0}),
    )
    .await;
    let id = &project["id"];

    // "PL fertig", withdrawn by the lead (nobody is told of their own step), then again.
    expect_status(&app, id, &lead.1, "lead_done").await;
    expect_status(&app, id, &lead.1, "open").await;
    expect_status(&app, id, &lead.1, "lead_done").await;
    let got = smtp.wait_for("PL fertig to the manager, twice", |m| m.len() == 2).await;
    assert!(got.iter().all(|m| m.to == [manager_mail.clone()]), "only the manager: {got:?}");
    let mail = &got[0];
    assert_eq!(mail.from, "kontor@example.com");
    let (subject, text) = subject_and_text(mail);
    assert_eq!(subject, "Projekt „Migration“: PL fertig – bitte prüfen");
    assert!(text.contains("von „offen“ auf „PL fertig“"), "{text}");
    assert!(mail.parsed().attachments().next().is_none());

    expect_status(&app, id, &manager.1, "manager_done").await;
    smtp.wait_for("PM fertig to both billing users", |m| m.len() == 4).await;
    let (subject, _) = subject_and_text(&smtp.mails_to(&office_de_mail)[0]);
    assert_eq!(subject, "Projekt „Migration“: PM fertig – bitte abrechnen");
    let (subject, text) = subject_and_text(&smtp.mails_to(&office_en_mail)[0]);
    assert_eq!(subject, "Project „Migration“: manager done – ready for billing", "in the user's language");
    assert!(text.contains("ready to be billed"), "{text}");

    // The billing office returns "PM fertig" to the manager, the manager "PL fertig" to the
    // lead: each is told to correct.
    expect_status(&app, id, &office_de.1, "lead_done").await;
    expect_status(&app, id, &manager.1, "open").await;
    let got = smtp.wait_for("the corrections", |m| m.len() == 6).await;
    let (subject, _) = subject_and_text(&got[4]);
    assert_eq!(
        (got[4].to.clone(), subject.as_str()),
        (vec![manager_mail.clone()], "Projekt „Migration“: zurück zur Korrektur")
    );
    let (subject, _) = subject_and_text(&got[5]);
    assert_eq!(
        (got[5].to.clone(), subject.as_str()),
        (vec![lead_mail.clone()], "Projekt „Migration“: zurück zur Korrektur")
    );
    assert_eq!(smtp.mails_to(&office_de_mail).len(), 1, "the office member is not told of their own return");

    // The SMTP server has the mails a moment before the log records them as sent.
    let query = format!("entity_type=project&entity_id={id}");
    let log = wait_for_log(&app, &query, "six mails logged as sent", |log| {
        log.len() == 6 && log.iter().all(|m| m["status"] == "sent")
    })
    .await;
    assert!(log.iter().all(|m| m["status"] == "sent" && m["kind"] == "project_step" && m["attempts"] == 1));
    assert!(log.iter().all(|m| m["event_id"].is_i64() && m["sent_at"].is_string()));
    let en: Vec<&Value> = log.iter().filter(|m| m["recipient"] == office_en_mail.as_str()).collect();
    assert_eq!(en[0]["language"], "en");
    assert_eq!(mail_log(&app, &format!("recipient={lead_mail}")).await.len(), 1);
}

#[tokio::test]
async fn the_account_manager_hears_when_a_project_passes_its_estimate() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(Some(&smtp), false).await;
    let account_manager = app.user_with_roles(&["manager"]).await;
    let to = email_of(&app, account_manager.0).await;
    let customer = app.create_customer(json!({"name": "Muster GmbH"})).await;
    let project = create_project(
        &app,
        json!({"name": "Rollout", "customer_id": customer["id"], "account_manager_id": account_manager.0,
               "estimate_hours": "1"}),
    )
    .await;
    let service = crate::bookings::service(&app, "ROLL", "hour", true).await;
    crate::invoices::book(
        &app,
        json!({"work_date": "2026-11-05", "duration_minutes": 90, "service_id": service, "project_id": project["id"],
               "description": "Rollout"}),
    )
    .await;
    let got = smtp.wait_for("estimate mail", |m| m.iter().any(|m| m.to == [to.clone()])).await;
    let (subject, text) = subject_and_text(&got[0]);
    assert_eq!(subject, "Projekt „Rollout“: Schätzung überschritten");
    assert!(text.contains("1,5 h") && text.contains("geschätzt waren 1 h"), "{text}");
}

#[tokio::test]
async fn a_customer_kept_informed_gets_each_status_change_with_the_notes_meant_for_it() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(Some(&smtp), false).await;
    let informed = app
        .create_customer(json!({"name": "Informed Ltd", "contacts": [{"name": "Pat", "email": "pat@informed.example"}],
                                "notifications": {"language": "en", "keep_client_informed": true}}))
        .await;
    assert_eq!(
        informed["notifications"],
        json!({"language": "en", "keep_client_informed": true, "account_manager_id": null})
    );
    let quiet = app
        .create_customer(json!({"name": "Quiet GmbH", "contacts": [{"name": "Q", "email": "q@quiet.example"}]}))
        .await;
    let quiet_ticket = crate::tickets::create_ticket(
        &app,
        json!({"title": "Printer", "customer_id": quiet["id"], "contact_id": quiet["contacts"][0]["id"]}),
    )
    .await;
    let ticket = crate::tickets::create_ticket(
        &app,
        json!({"title": "VPN down", "customer_id": informed["id"], "contact_id": informed["contacts"][0]["id"]}),
    )
    .await;
    let note = |body: &str, visibility: &str| {
        let (app, path) = (&app, format!("/api/v1/tickets/{}/notes", ticket["id"]));
        let body = json!({"body": body, "visibility": visibility});
        async move { assert_eq!(app.post(&path, &app.admin_token, &body).await.status(), StatusCode::CREATED) }
    };
    let status = |id: &Value, to: &str| {
        let (app, path) = (&app, format!("/api/v1/tickets/{id}/status"));
        let body = json!({"status": to});
        async move { assert_eq!(app.post(&path, &app.admin_token, &body).await.status(), StatusCode::OK) }
    };
    status(&quiet_ticket["id"], "open").await;
    note("We are looking into the tunnel.", "customer").await;
    note("Firewall rule 17 looks wrong.", "internal").await;
    status(&ticket["id"], "open").await;
    let got = smtp.wait_for("the first status mail", |m| !m.is_empty()).await;
    assert_eq!(got.len(), 1, "the customer not kept informed gets nothing (its change came first)");
    assert_eq!(got[0].to, ["pat@informed.example"]);
    let (subject, text) = subject_and_text(&got[0]);
    assert_eq!(subject, format!("Ticket {}: accepted", ticket["number"].as_str().unwrap()));
    assert!(text.contains("We are looking into the tunnel."), "{text}");
    assert!(!text.contains("Firewall"), "internal notes stay internal: {text}");

    note("The tunnel is up again.", "customer").await;
    status(&ticket["id"], "in_progress").await;
    let got = smtp.wait_for("the second status mail", |m| m.len() == 2).await;
    let (subject, text) = subject_and_text(&got[1]);
    assert!(subject.ends_with(": in progress"), "{subject}");
    assert!(text.contains("The tunnel is up again.") && !text.contains("looking into"), "only what is new: {text}");
    let log = mail_log(&app, &format!("entity_type=ticket&entity_id={}", ticket["id"])).await;
    assert_eq!(log.len(), 2);
    // What the client was told is on the ticket's timeline, as outgoing mail.
    let timeline: Value = app
        .get(&format!("/api/v1/tickets/{}/timeline?limit=200", ticket["id"]), &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let told: Vec<&Value> =
        timeline["items"].as_array().unwrap().iter().filter(|e| e["channel"] == "email_out").collect();
    assert_eq!(told.len(), 2, "{timeline:#}");
    assert_eq!(told[1]["to"], "pat@informed.example");
    assert_eq!(told[1]["subject"], subject.as_str());
    assert_eq!(told[1]["visibility"], "customer");
    assert!(told[1]["body"].as_str().unwrap().contains("The tunnel is up again."));
    assert!(mail_log(&app, &format!("entity_type=ticket&entity_id={}", quiet_ticket["id"])).await.is_empty());
}

#[tokio::test]
async fn an_issued_invoice_is_mailed_to_the_billing_address_with_its_pdf_when_enabled() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(Some(&smtp), true).await;
    let customer = app
        .create_customer(json!({"name": "Muster GmbH", "billing_email": "rechnung@muster.example",
            "address": {"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"}}))
        .await;
    let service = crate::bookings::service(&app, "REM", "hour", true).await;
    let ticket = crate::tickets::create_ticket(&app, json!({"title": "VPN", "customer_id": customer["id"]})).await;
    crate::invoices::book(
        &app,
        json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": service, "ticket_id": ticket["id"],
               "description": "Setup"}),
    )
    .await;
    let run = crate::invoices::commit(
        &app,
        json!({"scope": "customer", "scope_id": customer["id"], "period_end": "2026-11-30"}),
    )
    .await;
    let issued = crate::invoices::issue(&app, &run["invoice_ids"][0]).await;
    let number = issued["number"].as_str().unwrap().to_string();

    let got = smtp.wait_for("the invoice mail", |m| !m.is_empty()).await;
    assert_eq!(got[0].to, ["rechnung@muster.example"]);
    let parsed = got[0].parsed();
    assert!(parsed.subject().unwrap().starts_with(&format!("Rechnung {number}")), "{:?}", parsed.subject());
    let text = parsed.body_text(0).unwrap().to_string();
    assert!(text.contains(&number) && text.contains("EUR"), "{text}");
    let attachment = parsed.attachments().next().expect("the invoice is attached");
    assert_eq!(attachment.attachment_name(), Some(format!("{number}.pdf").as_str()));
    assert!(attachment.contents().starts_with(b"%PDF-"), "a PDF");
    // The very document the API serves.
    let served = app
        .client
        .get(app.url(&format!("/api/v1/invoices/{}/document?format=pdf", issued["id"])))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(attachment.contents(), &served[..]);
    let log = mail_log(&app, &format!("entity_type=invoice&entity_id={}", issued["id"])).await;
    assert_eq!(log[0]["kind"], "invoice_issued");
    assert_eq!(log[0]["attachment"], format!("{number}.pdf"));
}

#[tokio::test]
async fn while_the_smtp_server_is_down_mail_is_retried_and_logged_and_then_sent_once() {
    let smtp = SmtpServer::start().await;
    smtp.set_down(true);
    let url = smtp.url.clone();
    let app = spawn_app_with(move |c| {
        c.mail.smtp_url = Some(url);
        c.mail.from = Some("kontor@example.com".into());
        c.mail.retry_schedule = vec![Duration::from_millis(150); 50];
    })
    .await;
    let lead = app.user_with_roles(&["agent"]).await;
    let manager = app.user_with_roles(&["manager"]).await;
    let to = email_of(&app, manager.0).await;
    let project = create_project(
        &app,
        json!({"name": "Down", "internal": true, "project_manager_id": manager.0, "project_lead_id": lead.0}),
    )
    .await;
    expect_status(&app, &project["id"], &lead.1, "lead_done").await;
    let log = wait_for_log(&app, "", "a failed attempt", |l| {
        l.len() == 1 && l[0]["attempts"].as_i64() >= Some(2) && l[0]["status"] == "pending"
    })
    .await;
    assert!(log[0]["last_error"].as_str().unwrap().contains("SMTP"), "{:?}", log[0]["last_error"]);
    assert!(log[0]["next_attempt_at"].is_string());
    assert!(smtp.refused() >= 2);
    assert!(smtp.mails().is_empty());

    smtp.set_down(false);
    let log = wait_for_log(&app, "", "sent after recovery", |l| l.len() == 1 && l[0]["status"] == "sent").await;
    assert!(log[0]["last_error"].is_null());
    let got = smtp.mails_to(&to);
    assert_eq!(got.len(), 1, "sent exactly once");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.mails().len(), 1, "and not again");
}

#[tokio::test]
async fn without_an_smtp_server_mail_is_recorded_as_not_configured_and_can_be_sent_again_later() {
    let app = mail_app(None, false).await;
    let lead = app.user_with_roles(&["agent"]).await;
    let manager = app.user_with_roles(&["manager"]).await;
    let project = create_project(
        &app,
        json!({"name": "No SMTP", "internal": true, "project_manager_id": manager.0, "project_lead_id": lead.0}),
    )
    .await;
    expect_status(&app, &project["id"], &lead.1, "lead_done").await;
    let log = wait_for_log(&app, "status=not_configured", "recorded", |l| l.len() == 1).await;
    assert!(log[0]["last_error"].as_str().unwrap().contains("KONTOR_SMTP_URL"));
    assert!(log[0]["subject"].as_str().unwrap().contains("PL fertig"));
    let id = &log[0]["id"];
    let one: Value = app.get(&format!("/api/v1/mail-log/{id}"), &app.admin_token).await.json().await.unwrap();
    assert_eq!(one["id"], *id);

    // Send again: queued, and (still no server) recorded again.
    let res = app.post(&format!("/api/v1/mail-log/{id}/retry"), &manager.1, &json!({})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let queued: Value = res.json().await.unwrap();
    assert!(queued["status"] == "pending" || queued["status"] == "not_configured");
    wait_for_log(&app, "status=not_configured", "recorded again", |l| l.len() == 1 && l[0]["attempts"] == 1).await;

    // Who may read and resend; bad filters.
    problem(app.get("/api/v1/mail-log", &lead.1).await, StatusCode::FORBIDDEN).await;
    problem(app.post(&format!("/api/v1/mail-log/{id}/retry"), &lead.1, &json!({})).await, StatusCode::FORBIDDEN).await;
    let (_, key) = app.api_key(&["tickets:write"]).await;
    problem(app.get("/api/v1/mail-log", &key).await, StatusCode::FORBIDDEN).await;
    problem(app.get("/api/v1/mail-log/999999", &app.admin_token).await, StatusCode::NOT_FOUND).await;
    problem(app.post("/api/v1/mail-log/999999/retry", &app.admin_token, &json!({})).await, StatusCode::NOT_FOUND).await;
    let p = problem(app.get("/api/v1/mail-log?status=lost", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(error_fields(&p), vec!["status"]);
    let p = problem(app.get("/api/v1/mail-log?entity_id=1", &app.admin_token).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(error_fields(&p), vec!["entity_type"]);
}

#[tokio::test]
async fn a_customers_mail_settings_are_kept_and_checked() {
    let app = spawn_app().await;
    let am = app.user_with_roles(&["manager"]).await;
    let c = app.create_customer(json!({"name": "Settings GmbH"})).await;
    assert_eq!(
        c["notifications"],
        json!({"language": "de", "keep_client_informed": false, "account_manager_id": null})
    );
    let path = format!("/api/v1/customers/{}", c["id"]);
    let body = json!({"notifications": {"language": "en", "keep_client_informed": true, "account_manager_id": am.0}});
    let res = app.patch(&path, &app.admin_token, &body, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["notifications"], body["notifications"]);
    let p = problem(
        app.patch(&path, &app.admin_token, &json!({"notifications": {"account_manager_id": 999999}}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["notifications.account_manager_id"]);
    problem(
        app.patch(&path, &app.admin_token, &json!({"notifications": {"language": "fr"}}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let unchanged: Value = app.get(&path, &app.admin_token).await.json().await.unwrap();
    assert_eq!(unchanged["notifications"], body["notifications"], "bad input changes nothing");
    let user: Value = app.get(&format!("/api/v1/users/{}", am.0), &app.admin_token).await.json().await.unwrap();
    assert_eq!(user["language"], "de");
}

#[tokio::test]
async fn a_report_goes_to_any_recipients_with_its_page_attached_and_is_recorded_on_its_subject() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(Some(&smtp), false).await;
    let (_, manager) = app.user_with_roles(&["manager"]).await;
    let customer = app
        .create_customer(
            json!({"name": "Kanzlei <Weber>", "notifications": {"language": "en", "keep_client_informed": false}}),
        )
        .await;
    let body = json!({"report": "status", "params": {"customer_id": customer["id"], "from": "2026-11-01", "to": "2026-11-30"},
                      "recipients": ["IT-Lead@kunde.example", "chef@kunde.example", "it-lead@kunde.example"],
                      "message": "Here is November."});
    let res = app.post("/api/v1/reports/send", &manager, &body).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED, "{}", res.text().await.unwrap_or_default());
    let sent: Value = res.json().await.unwrap();
    let mails = sent["mails"].as_array().unwrap();
    assert_eq!(mails.len(), 2, "each address once, lower-cased");
    assert_eq!(mails[0]["kind"], "report");
    assert_eq!(mails[0]["language"], "en", "the customer's language");
    assert_eq!(mails[0]["entity_type"], "customer");
    assert_eq!(mails[0]["attachment"], format!("status-report-customer-{}-2026-11-30.html", customer["id"]));

    let got = smtp.wait_for("both report mails", |m| m.len() == 2).await;
    let to: Vec<&str> = got.iter().map(|m| m.to[0].as_str()).collect();
    assert!(to.contains(&"it-lead@kunde.example") && to.contains(&"chef@kunde.example"), "{to:?}");
    let parsed = got[0].parsed();
    assert_eq!(parsed.subject(), Some("Status report: Kanzlei <Weber>"));
    let text = parsed.body_text(0).unwrap().to_string();
    assert!(text.starts_with("Here is November."), "{text}");
    let page = parsed.attachments().next().expect("the report is attached");
    let html = String::from_utf8(page.contents().to_vec()).unwrap();
    assert!(html.contains("Status report: Kanzlei &lt;Weber&gt;") && html.contains("2026-11-30"), "{html}");

    // On the customer's record: the event names the mails.
    let events: Value = app
        .get(
            &format!("/api/v1/events?type=report.sent&entity_type=customer&entity_id={}", customer["id"]),
            &app.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let event = &events["items"][0];
    assert_eq!(event["payload"]["recipients"], json!(["it-lead@kunde.example", "chef@kunde.example"]));
    assert_eq!(event["payload"]["mail_ids"].as_array().unwrap().len(), 2);

    // A project report, in German when asked.
    let project = create_project(&app, json!({"name": "Rollout", "customer_id": customer["id"]})).await;
    let body = json!({"report": "project", "params": {"project_id": project["id"]}, "recipients": ["pm@kunde.example"],
                      "language": "de", "format": "pdf"});
    assert_eq!(app.post("/api/v1/reports/send", &manager, &body).await.status(), StatusCode::ACCEPTED);
    let got = smtp.wait_for("the project report", |m| m.len() == 3).await;
    let parsed = got[2].parsed();
    assert_eq!(parsed.subject(), Some("Projektbericht: Rollout"));
    let pdf = parsed.attachments().next().unwrap();
    assert_eq!(pdf.attachment_name(), Some(format!("projektbericht-{}.pdf", project["id"]).as_str()));
    assert!(pdf.contents().starts_with(b"%PDF-"), "printed as PDF");
    if let Some(text) = crate::invoice_pdf::pdf_text(pdf.contents()) {
        assert!(text.contains("Projektbericht: Rollout") && text.contains("Seite 1 von 1"), "{text}");
    }
    assert_eq!(mail_log(&app, &format!("entity_type=project&entity_id={}", project["id"])).await.len(), 1);
}

#[tokio::test]
async fn a_report_with_bad_recipients_or_params_sends_nothing() {
    let app = mail_app(None, false).await;
    let customer = app.create_customer(json!({"name": "X"})).await;
    let send = |body: Value| {
        let app = &app;
        async move { app.post("/api/v1/reports/send", &app.admin_token, &body).await }
    };
    let ok_params = json!({"customer_id": customer["id"]});
    for (body, fields) in [
        (json!({"report": "status", "params": ok_params, "recipients": []}), vec!["recipients"]),
        (
            json!({"report": "status", "params": ok_params, "recipients": ["a@b.example", "not-mail"]}),
            vec!["recipients[1]"],
        ),
        (
            json!({"report": "status", "params": {"customer_id": customer["id"], "project_id": 1}, "recipients": ["a@b.example"]}),
            vec!["params.contract_id", "params.customer_id", "params.project_id"],
        ),
        (json!({"report": "status", "params": {"client": 1}, "recipients": ["a@b.example"]}), vec!["params.client"]),
        (json!({"report": "project", "params": {}, "recipients": ["a@b.example"]}), vec!["params.project_id"]),
        (
            json!({"report": "project", "params": {"project_id": 1, "from": "2026-11-01"}, "recipients": ["a@b.example"]}),
            vec!["params.from"],
        ),
        (
            json!({"report": "status", "params": ok_params, "recipients": ["a@b.example"], "message": "x".repeat(5001)}),
            vec!["message"],
        ),
    ] {
        let p = problem(send(body.clone()).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), fields, "{body}");
    }
    problem(
        send(json!({"report": "weekly", "params": {}, "recipients": ["a@b.example"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let body = json!({"report": "project", "params": {"project_id": 999999}, "recipients": ["a@b.example"]});
    problem(send(body).await, StatusCode::NOT_FOUND).await;
    let (_, agent) = app.user_with_roles(&["agent"]).await;
    let body = json!({"report": "status", "params": ok_params, "recipients": ["a@b.example"]});
    problem(app.post("/api/v1/reports/send", &agent, &body).await, StatusCode::FORBIDDEN).await;
    assert!(mail_log(&app, "").await.is_empty(), "nothing was written");
}

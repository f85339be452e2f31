//! End-to-end tests of the DATEV export (`GET /accounting/datev`): the file parsed as DATEV's
//! format describes it — header fields by position, one row per document and VAT rate, sums
//! per account — in Windows-1252, and the refusals.

use crate::helpers::*;
use crate::invoices::{book, commit, dec, issue};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

/// A customer with the given fields, two bookings on a ticket in November and its issued
/// invoice.
async fn issued_for(app: &TestApp, customer: Value) -> Value {
    let code = format!("R{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let remote = crate::bookings::service(app, &code, "hour", true).await;
    let customer = app.create_customer(customer).await["id"].clone();
    let ticket = crate::tickets::create_ticket(app, json!({"title": "VPN", "customer_id": customer})).await;
    book(app, json!({"work_date": "2026-11-05", "duration_minutes": 60, "service_id": remote, "ticket_id": ticket["id"], "description": "Setup"})).await;
    book(app, json!({"work_date": "2026-11-06", "duration_minutes": 30, "service_id": remote, "ticket_id": ticket["id"], "description": "Check"})).await;
    let run = commit(app, json!({"scope": "customer", "scope_id": customer, "period_end": "2026-11-30"})).await;
    issue(app, &run["invoice_ids"][0]).await
}

async fn export(app: &TestApp, query: &str) -> reqwest::Response {
    app.request(Method::GET, &format!("/api/v1/accounting/datev{query}"), Some(&app.admin_token)).send().await.unwrap()
}

/// The issue year's period as a query.
fn this_year(issued: &Value) -> String {
    let year = &issued["issue_date"].as_str().unwrap()[..4];
    format!("?from={year}-01-01&to={year}-12-31")
}

#[tokio::test]
async fn a_tax_advisor_imports_invoices_and_credit_notes_as_a_datev_booking_batch() {
    let app = spawn_app().await;
    let domestic = issued_for(&app, json!({"name": "Müller Gebäudetechnik GmbH", "accounting_ref": "10001"})).await;
    let eu = issued_for(
        &app,
        json!({"name": "Alpenblick IT GmbH", "accounting_ref": "10002", "vat_id": "ATU12345678",
               "vat_treatment": "eu_reverse_charge"}),
    )
    .await;
    let res = app.post(&format!("/api/v1/invoices/{}/cancel", domestic["id"]), &app.admin_token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let credit: Value = res.json::<Value>().await.unwrap()["credit_note"].clone();

    let res = export(&app, &this_year(&domestic)).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    assert_eq!(res.headers()["content-type"], "text/csv; charset=windows-1252");
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("EXTF_Buchungsstapel_"));
    let bytes = res.bytes().await.unwrap();
    // Windows-1252: ü is the one byte 0xFC, never UTF-8's 0xC3 0xBC.
    assert!(bytes.contains(&0xFC) && !bytes.windows(2).any(|w| w == [0xC3, 0xBC]));
    let (text, _, malformed) = encoding_rs::WINDOWS_1252.decode(&bytes);
    assert!(!malformed);
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();

    let header: Vec<&str> = lines[0].split(';').collect();
    assert_eq!(&header[..5], ["\"EXTF\"", "700", "21", "\"Buchungsstapel\"", "13"]);
    assert_eq!((header[10], header[11], header[13]), ("1234567", "12345", "4"), "consultant, client, account length");
    let year = &domestic["issue_date"].as_str().unwrap()[..4];
    assert_eq!(
        (header[12], header[14], header[15]),
        (&*format!("{year}0101"), &*format!("{year}0101"), &*format!("{year}1231"))
    );
    assert!(lines[1].starts_with("Umsatz (ohne Soll/Haben-Kz);Soll/Haben-Kennzeichen;WKZ Umsatz;"));

    // One row per document and rate: the invoice, the reverse-charge invoice, the credit note.
    let rows: Vec<Vec<&str>> = lines[2..].iter().map(|l| l.split(';').collect()).collect();
    assert_eq!(rows.len(), 3, "{text}");
    let mut per_account: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for r in &rows {
        assert_eq!(r.len(), 40);
        let amount = Decimal::from_str(&r[0].replace(',', ".")).unwrap();
        *per_account.entry((r[7].to_string(), r[1].to_string())).or_default() += amount;
    }
    let gross = dec(&domestic["totals"]["gross"]);
    assert_eq!(per_account[&("8400".to_string(), "\"S\"".to_string())], gross);
    assert_eq!(per_account[&("8400".to_string(), "\"H\"".to_string())], gross, "the credit note reverses it");
    assert_eq!(per_account[&("8336".to_string(), "\"S\"".to_string())], dec(&eu["totals"]["gross"]));
    let rc = rows.iter().find(|r| r[7] == "8336").unwrap();
    assert_eq!((rc[6], rc[39]), ("10002", "\"ATU12345678\""));
    let invoice_row = rows.iter().find(|r| r[1] == "\"S\"" && r[7] == "8400").unwrap();
    let issued = domestic["issue_date"].as_str().unwrap();
    assert_eq!(invoice_row[9], format!("{}{}", &issued[8..10], &issued[5..7]), "document date DDMM");
    assert_eq!(invoice_row[10], format!("\"{}\"", domestic["number"].as_str().unwrap()));
    assert!(invoice_row[13].contains("Müller"), "{}", invoice_row[13]);

    // One document alone.
    let res = export(&app, &format!("?invoice_id={}", credit["id"])).await;
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = res.bytes().await.unwrap();
    let (one, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
    assert_eq!(one.split("\r\n").filter(|l| !l.is_empty()).count(), 3, "header, columns, one row");
}

#[tokio::test]
async fn an_export_the_accountant_could_not_import_is_refused_with_what_to_fix() {
    let app = spawn_app_without_seller_profile(|_| {}).await;
    let mut profile = crate::company::complete_profile();
    profile.as_object_mut().unwrap().remove("datev_client_number");
    let res = crate::company::put_profile(&app, &app.admin_token, &profile, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let inv = issued_for(&app, json!({"name": "Ohne Debitor KG", "number": "K-7"})).await;
    let p = problem(export(&app, &this_year(&inv)).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("datev_client_number"), "{p}");

    let res = crate::company::put_profile(&app, &app.admin_token, &crate::company::complete_profile(), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let p = problem(export(&app, &this_year(&inv)).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("K-7 Ohne Debitor KG"), "{p}");

    problem(export(&app, "?from=2026-12-01&to=2027-01-31").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(export(&app, "?from=2026-12-31&to=2026-12-01").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(export(&app, "").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(export(&app, "?from=2026-13-01&to=2026-12-31").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let p = problem(export(&app, "?invoice_id=999999").await, StatusCode::NOT_FOUND).await;
    assert!(p["detail"].as_str().unwrap().contains("invoice"), "{p}");
}

#[tokio::test]
async fn a_fiscal_year_from_july_is_the_batch_period_and_its_header() {
    let app = spawn_app().await;
    let inv = issued_for(&app, json!({"name": "Müller Gebäudetechnik GmbH", "accounting_ref": "10001"})).await;
    let mut profile = crate::company::complete_profile();
    profile["fiscal_year_start_month"] = json!(13);
    let p = problem(
        crate::company::put_profile(&app, &app.admin_token, &profile, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["fiscal_year_start_month"]);
    profile["fiscal_year_start_month"] = json!(7);
    let res = crate::company::put_profile(&app, &app.admin_token, &profile, None).await;
    assert_eq!(res.status(), StatusCode::OK);

    // The fiscal year of the issue date: July to June.
    let issued = inv["issue_date"].as_str().unwrap();
    let (year, month): (i32, u32) = (issued[..4].parse().unwrap(), issued[5..7].parse().unwrap());
    let start = if month >= 7 { year } else { year - 1 };
    let res = export(&app, &format!("?from={start}-07-01&to={}-06-30", start + 1)).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let bytes = res.bytes().await.unwrap();
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
    let header: Vec<&str> = text.split("\r\n").next().unwrap().split(';').collect();
    assert_eq!(header[12], format!("{start}0701"), "fiscal year start");
    assert_eq!(text.split("\r\n").filter(|l| !l.is_empty()).count(), 3, "the invoice's row");
    // A calendar year now spans two fiscal years.
    let p =
        problem(export(&app, &format!("?from={year}-01-01&to={year}-12-31")).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("fiscal_year_start_month"), "{p}");
}

//! The proof of service as the PDF a customer signs (`format=pdf`, or `Accept:
//! application/pdf`, on `GET /invoices|tickets|projects/{id}/proof-of-service`): the JSON
//! report ([`ProofOfServiceOut`]) mapped onto the `documents` crate's [`ServiceReport`] and
//! rendered with the seller's letterhead — the profile frozen at issue for an issued invoice,
//! the current one otherwise.

use crate::error::ApiError;
use crate::routes::company_logo::logo_of;
use crate::routes::invoice_documents::seller_party;
use crate::routes::proof::{ProofOfServiceOut, ProofScope};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use documents::pdf::{ReportBooking, ReportExpense, ReportNote, ReportTotals, ServiceReport, Settled};
use documents::LineUnit;
use domain::company::SellerProfile;
use domain::invoice::InvoiceKind;
use domain::proof::Treatment;
use time::Date;

/// Whether the report is asked for as PDF: `format=pdf`, or no `format` and `Accept:
/// application/pdf`; `format=json` or nothing is the JSON report. 422 for another format.
pub fn wants_pdf(req: &HttpRequest, format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        Some("pdf") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::invalid("format", "unknown_format", format!("`{other}`: one of json, pdf"))),
        None => Ok(req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/pdf"))),
    }
}

/// The report as JSON, or as a PDF attachment named `<stem>.pdf` with `seller`'s letterhead
/// (and logo).
pub async fn respond(
    state: &AppState,
    out: ProofOfServiceOut,
    pdf: bool,
    seller: &SellerProfile,
    stem: &str,
) -> Result<HttpResponse, ApiError> {
    if !pdf {
        return Ok(HttpResponse::Ok().json(out));
    }
    let today = time::OffsetDateTime::now_utc().date();
    let mut report = service_report(&out, seller, today)?;
    report.logo = logo_of(state, seller).await?;
    let body = documents::pdf::render_service_report(&report).map_err(|e| ApiError::Internal(e.to_string()))?;
    let stem = stem.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{stem}.pdf\"")))
        .body(body))
}

/// A `YYYY-MM-DD` date of the report.
fn iso(s: &str) -> Result<Date, ApiError> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|e| ApiError::Internal(format!("report date {s:?}: {e}")))
}

fn settled(t: Treatment) -> Settled {
    match t {
        Treatment::Billed => Settled::Billed,
        Treatment::Covered => Settled::Covered,
        Treatment::PartlyCovered => Settled::PartlyCovered,
        Treatment::NonBillable => Settled::NonBillable,
        Treatment::Open => Settled::Open,
    }
}

fn unit(u: &str) -> LineUnit {
    match u {
        "hour" => LineUnit::Hour,
        "km" => LineUnit::Km,
        "flat" => LineUnit::Flat,
        _ => LineUnit::Piece,
    }
}

/// What the printed report says: the JSON report's content in the PDF's terms.
fn service_report(out: &ProofOfServiceOut, seller: &SellerProfile, today: Date) -> Result<ServiceReport, ApiError> {
    let subject = match out.scope {
        ProofScope::Invoice => match out.invoice.as_ref().map(|i| (i.kind, i.number.as_deref())) {
            Some((InvoiceKind::CreditNote, Some(n))) => format!("zur Rechnungskorrektur {n}"),
            Some((_, Some(n))) => format!("zur Rechnung {n}"),
            _ => "zum Rechnungsentwurf".into(),
        },
        ProofScope::Ticket => {
            out.ticket.as_ref().map(|t| format!("Ticket {} {}", t.number, t.title)).unwrap_or_default()
        }
        ProofScope::Project => out.project.as_ref().map(|p| format!("Projekt {}", p.name)).unwrap_or_default(),
    };
    let bookings = out
        .bookings
        .iter()
        .map(|b| {
            Ok(ReportBooking {
                date: iso(&b.work_date)?,
                time: b.start_time.as_ref().zip(b.end_time.as_ref()).map(|(s, e)| format!("{s}–{e}")),
                person: b.user.name.clone(),
                ticket: b.ticket.as_ref().map(|t| t.number.clone()),
                service: b.service.name.clone(),
                description: b.description.clone(),
                worked_minutes: b.actual_minutes,
                billed_minutes: b.billed_minutes,
                settled: settled(b.treatment),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    // The period asked for or invoiced, else the first and last work date listed.
    let period = match (&out.invoice, &out.from, &out.to) {
        (Some(i), _, _) => (i.period_start.as_deref().map(iso).transpose()?, Some(iso(&i.period_end)?)),
        (None, None, None) => (bookings.iter().map(|b| b.date).min(), bookings.iter().map(|b| b.date).max()),
        (None, from, to) => (from.as_deref().map(iso).transpose()?, to.as_deref().map(iso).transpose()?),
    };
    let expenses = out
        .expenses
        .iter()
        .map(|e| {
            Ok(ReportExpense {
                date: iso(&e.date)?,
                description: e.description.clone(),
                quantity: e.quantity.0,
                unit: unit(&e.unit),
                settled: settled(e.treatment),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let mut notes = Vec::new();
    for t in &out.tickets {
        for n in &t.notes {
            notes.push(ReportNote {
                ticket: format!("{} {}", t.number, t.title),
                date: iso(&n.date)?,
                author: n.author.name.clone(),
                text: n.text.clone(),
            });
        }
    }
    Ok(ServiceReport {
        seller: seller_party(seller),
        footer_lines: seller.footer_lines.clone(),
        logo: None,
        subject,
        customer: out.customer.as_ref().map(|c| format!("{} {}", c.number, c.name)),
        period,
        bookings,
        expenses,
        notes,
        totals: ReportTotals {
            worked: out.totals.actual_minutes,
            billed: out.totals.billed_minutes,
            covered: out.totals.covered_minutes,
            open: out.totals.open_minutes,
        },
        printed_on: today,
    })
}

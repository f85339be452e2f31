//! The DATEV export (`GET /accounting/datev`): the issued invoices and credit notes of a
//! period — or one document — as a DATEV booking batch (`EXTF`, Windows-1252) for the tax
//! advisor, with the consultant and client numbers and revenue accounts of the seller profile
//! and each customer's debtor account. A GET writes nothing.

use crate::auth::Principal;
use crate::error::{not_found, ApiError};
use crate::extract::Query;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use documents::datev::{self, DatevAccounts, DatevBatch, DatevDocument, DatevRow};
use documents::VatSubtotal;
use domain::Permission;
use persistence::invoices::Invoice;
use serde::Deserialize;
use time::{Date, OffsetDateTime, PrimitiveDateTime};
use utoipa::{IntoParams, OpenApi};

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(paths(datev_export))]
pub struct Doc;

/// Which documents to export: a period of issue dates, or one document.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DatevQuery {
    /// First issue date (`YYYY-MM-DD`); with `to`, within one fiscal year.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub from: Option<Date>,
    /// Last issue date.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub to: Option<Date>,
    /// Instead of a period: this issued invoice or credit note only.
    pub invoice_id: Option<i64>,
}

/// Issued invoices and credit notes as a DATEV booking batch (`EXTF` Buchungsstapel,
/// version 700, category 21): one row per document and VAT rate with the gross amount on
/// the customer's debtor account (`accounting_ref`, else its number; digits only) against
/// the revenue account of the rate from the seller profile (standard, reduced 7 %, reverse
/// charge — with the buyer's VAT id —, export), `S` for invoices and `H` for credit notes,
/// document date `DDMM`, document field 1 the number. Windows-1252, `;`, quoted text,
/// decimal comma; an attachment `EXTF_Buchungsstapel_<from>_<to>.csv`. The fiscal year
/// starts in the seller profile's `fiscal_year_start_month` (January by default). Cancelled invoices stay in (their credit notes reverse them).
/// 409 while the seller profile lacks the DATEV consultant or client number, or a
/// customer has no numeric debtor account (the message names them); 422 for a period
/// that is reversed or spans two fiscal years, or neither a period nor `invoice_id`.
#[utoipa::path(operation_id = "datev_export", get, path = "/api/v1/accounting/datev", tag = "accounting",
    params(DatevQuery),
    security(("bearer" = []), ("api_key" = ["invoices:export"])),
    responses(
        (status = 200, description = "The booking batch (Windows-1252 CSV)", content_type = "text/csv", body = String),
        (status = 404, description = "No such invoice (`invoice_id`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "DATEV numbers of the seller profile or customers' debtor accounts missing (named)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Period reversed, spanning two fiscal years, or missing", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn datev_export(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<DatevQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadInvoices)?;
    let q = q.0;
    let profile = state.store.seller_profile().await?.profile;
    let (from, to, documents) = match (q.invoice_id, q.from, q.to) {
        (Some(id), None, None) => {
            let i = state.store.get_invoice(id).await.map_err(not_found("invoice"))?;
            let Some(date) = i.issue_date.filter(|_| i.feed_seq.is_some()) else {
                return Err(ApiError::Conflict("only issued invoices and credit notes are exported".into()));
            };
            (date, date, vec![i])
        }
        (None, Some(from), Some(to)) => {
            let next_year = profile.fiscal_year_start(from).replace_year(profile.fiscal_year_start(from).year() + 1);
            if to < from || next_year.is_ok_and(|next| to >= next) {
                return Err(ApiError::invalid(
                    "to",
                    "invalid_period",
                    "from ≤ to, both in one fiscal year (a DATEV batch covers one; the seller profile's \
                     fiscal_year_start_month says where it starts, January by default)",
                ));
            }
            (from, to, state.store.issued_between(from, to).await?)
        }
        _ => {
            return Err(ApiError::invalid("from", "required", "either from and to, or invoice_id alone"));
        }
    };
    let (Some(consultant), Some(client)) = (&profile.datev_consultant_number, &profile.datev_client_number) else {
        return Err(ApiError::Conflict(
            "the seller profile lacks datev_consultant_number or datev_client_number (PUT /settings/company)".into(),
        ));
    };
    let a = &profile.revenue_accounts;
    let accounts = DatevAccounts {
        standard: a.standard.clone(),
        reduced: a.reduced.clone(),
        reverse_charge: a.reverse_charge.clone(),
        export: a.export.clone(),
    };
    let mut rows: Vec<DatevRow> = Vec::new();
    let mut lacking: Vec<String> = Vec::new();
    for i in &documents {
        match datev_document(i) {
            Ok(doc) => rows.extend(datev::rows_of(&doc, &accounts)),
            Err(customer) if !lacking.contains(&customer) => lacking.push(customer),
            Err(_) => {}
        }
    }
    if !lacking.is_empty() {
        return Err(ApiError::Conflict(format!(
            "these customers have no numeric debtor account (set accounting_ref): {}",
            lacking.join(", ")
        )));
    }
    let now = OffsetDateTime::now_utc();
    let batch = DatevBatch {
        consultant_number: consultant.clone(),
        client_number: client.clone(),
        fiscal_year_start: profile.fiscal_year_start(from),
        account_length: u8::try_from(accounts.standard.len()).unwrap_or(4),
        from,
        to,
        created_at: PrimitiveDateTime::new(now.date(), now.time()),
        currency: state.store.company_currency().await?.code().to_string(),
        label: "Kontor Rechnungen".into(),
    };
    let bytes = datev::render(&batch, &rows).map_err(|e| ApiError::invalid("to", "invalid_period", e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=windows-1252")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"EXTF_Buchungsstapel_{from}_{to}.csv\""),
        ))
        .body(bytes))
}

/// What the batch books of an issued document; `Err` with the customer (number and name)
/// when it has no numeric debtor account.
fn datev_document(i: &Invoice) -> Result<DatevDocument, String> {
    let customer = i.customer_snapshot.as_ref().ok_or_else(|| format!("customer {}", i.customer_id))?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let debtor = match &customer.accounting_ref {
        Some(r) if numeric(r) => r.clone(),
        Some(_) => return Err(format!("{} {}", customer.number, customer.name)),
        None if numeric(&customer.number) => customer.number.clone(),
        None => return Err(format!("{} {}", customer.number, customer.name)),
    };
    Ok(DatevDocument {
        number: i.number.clone().unwrap_or_default(),
        issue_date: i.issue_date.unwrap_or(i.period_end),
        debtor_account: debtor,
        customer_name: customer.name.clone(),
        vat_category: crate::routes::invoice_documents::vat_category(i.legal_note),
        buyer_vat_id: customer.vat_id.clone(),
        currency: i.currency.code().to_string(),
        vat: i.vat.iter().map(|v| VatSubtotal { rate: v.rate, net: v.net, vat: v.vat }).collect(),
    })
}

/// Routes of this resource.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/accounting/datev").route(web::get().to(datev_export)));
}

//! The seller profile (`/settings/company`): who issues the invoices — letterhead, tax
//! registration, bank account, contact, printed texts and the accounting export's numbers.
//! Read by anyone who reads billing settings; replaced as a whole (`PUT`, `If-Match`) by
//! admins and the billing office. Issued documents keep the profile as of their issue.

use crate::auth::Principal;
use crate::dto::timestamp;
use crate::error::{ApiError, FieldError};
use crate::extract::{versioned, IfMatch, Json};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::company::{is_valid_iban, SellerProfile};
use domain::Permission;
use persistence::company::StoredSellerProfile;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use validator::ValidateEmail;

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(
    paths(get_company, put_company),
    tags((name = "settings", description = "The seller profile printed on and frozen into every document (read: admin, billing, manager; write: admin, billing)"))
)]
pub struct Doc;

/// The entity-tag kind and id of the one profile.
const KIND: &str = "seller_profile";
const ID: i64 = 1;

/// Longest text of a profile field.
const MAX_TEXT: usize = 200;
/// Most footer lines.
const MAX_FOOTER_LINES: usize = 10;

/// The seller profile with its version and what an e-invoice still needs of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SellerProfileOut {
    /// The profile as stored (what `PUT` takes).
    pub profile: SellerProfile,
    /// What an e-invoice (XRechnung, Factur-X) needs that is still empty, by field name.
    /// Documents can be issued meanwhile; their e-invoice formats answer 409 naming these.
    pub missing_for_e_invoice: Vec<String>,
    /// 0 while no profile was ever stored.
    pub version: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<String>,
}

impl From<StoredSellerProfile> for SellerProfileOut {
    fn from(s: StoredSellerProfile) -> Self {
        SellerProfileOut {
            missing_for_e_invoice: s.profile.missing_for_e_invoice().into_iter().map(String::from).collect(),
            profile: s.profile,
            version: s.version,
            updated_at: s.updated_at.as_ref().map(timestamp),
        }
    }
}

/// The stored profile as the answer, with its `ETag`.
pub(crate) fn respond(status: StatusCode, s: StoredSellerProfile) -> HttpResponse {
    let version = s.version;
    versioned(status, KIND, ID, version, SellerProfileOut::from(s))
}

/// The seller profile (`profile`, what `PUT` takes back) with its `ETag` (for `If-Match` on
/// `PUT`), its version and what e-invoices still need of it; an empty profile in version 0
/// while none was stored.
#[utoipa::path(operation_id = "get_company_settings", get, path = "/api/v1/settings/company", tag = "settings",
    security(("bearer" = [])),
    responses((status = 200, body = SellerProfileOut, headers(("ETag" = String)))))]
pub async fn get_company(p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    Ok(respond(StatusCode::OK, state.store.seller_profile().await?))
}

/// Replace the seller profile (admin, billing). Fields left out are cleared; revenue
/// accounts left out fall back to SKR03 (8400, 8300, 8336, 8338). `If-Match` with the
/// `ETag` read guards against overwriting another user's change (`"seller_profile-1-v0"`
/// before the first save).
#[utoipa::path(operation_id = "put_company_settings", put, path = "/api/v1/settings/company", tag = "settings",
    params(("If-Match" = Option<String>, Header)), request_body = SellerProfile,
    security(("bearer" = [])),
    responses((status = 200, body = SellerProfileOut, headers(("ETag" = String)))))]
pub async fn put_company(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<SellerProfile>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let profile = normalized(body.into_inner()?)?;
    let version = IfMatch::from_request(&req, KIND, ID).version()?;
    let stored = state.store.put_seller_profile(&profile, version, &p.actor(&req)).await?;
    Ok(respond(StatusCode::OK, stored))
}

/// The profile with text trimmed (blank text is absent), or 422 listing every bad field.
fn normalized(mut p: SellerProfile) -> Result<SellerProfile, ApiError> {
    let mut errors = Vec::new();
    let texts: [(&str, &mut Option<String>); 19] = [
        ("legal_name", &mut p.legal_name),
        ("address_street", &mut p.address_street),
        ("address_postal_code", &mut p.address_postal_code),
        ("address_city", &mut p.address_city),
        ("address_country", &mut p.address_country),
        ("vat_id", &mut p.vat_id),
        ("tax_number", &mut p.tax_number),
        ("commercial_register", &mut p.commercial_register),
        ("iban", &mut p.iban),
        ("bic", &mut p.bic),
        ("bank_name", &mut p.bank_name),
        ("contact_name", &mut p.contact_name),
        ("contact_phone", &mut p.contact_phone),
        ("contact_email", &mut p.contact_email),
        ("electronic_address", &mut p.electronic_address),
        ("electronic_address_scheme", &mut p.electronic_address_scheme),
        ("payment_terms_text", &mut p.payment_terms_text),
        ("datev_consultant_number", &mut p.datev_consultant_number),
        ("datev_client_number", &mut p.datev_client_number),
    ];
    for (field, value) in texts {
        *value = value.take().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        if value.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT || v.chars().any(char::is_control)) {
            errors.push(FieldError::new(field, "invalid", format!("at most {MAX_TEXT} characters on one line")));
        }
    }
    let bad =
        |errors: &mut Vec<FieldError>, field: &str, msg: &str| errors.push(FieldError::new(field, "invalid", msg));
    if let Some(c) = &mut p.address_country {
        *c = c.to_ascii_uppercase();
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            bad(&mut errors, "address_country", "an ISO 3166-1 alpha-2 country code, e.g. DE");
        }
    }
    if let Some(iban) = &mut p.iban {
        *iban = iban.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        if !is_valid_iban(iban) {
            bad(&mut errors, "iban", "not a valid IBAN (country, check digits, account; ISO 13616 checksum)");
        }
    }
    if let Some(bic) = &mut p.bic {
        *bic = bic.to_ascii_uppercase();
        if !(bic.len() == 8 || bic.len() == 11) || !bic.bytes().all(|b| b.is_ascii_alphanumeric()) {
            bad(&mut errors, "bic", "a BIC of 8 or 11 letters and digits");
        }
    }
    if p.contact_email.as_ref().is_some_and(|v| !v.validate_email()) {
        bad(&mut errors, "contact_email", "not an e-mail address");
    }
    let scheme = p.electronic_address_scheme().to_string();
    if !(2..=4).contains(&scheme.len()) || !scheme.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
        bad(&mut errors, "electronic_address_scheme", "an EAS code such as EM (e-mail), 9930 or 0088");
    }
    if scheme == "EM" && p.electronic_address.as_ref().is_some_and(|v| !v.validate_email()) {
        bad(&mut errors, "electronic_address", "with scheme EM, an e-mail address");
    }
    let digits = |v: &Option<String>, max: usize| {
        v.as_ref().is_some_and(|v| v.len() > max || !v.bytes().all(|b| b.is_ascii_digit()))
    };
    if digits(&p.datev_consultant_number, 7) {
        bad(&mut errors, "datev_consultant_number", "up to 7 digits (DATEV Beraternummer)");
    }
    if digits(&p.datev_client_number, 5) {
        bad(&mut errors, "datev_client_number", "up to 5 digits (DATEV Mandantennummer)");
    }
    let accounts = &p.revenue_accounts;
    for (field, account) in [
        ("revenue_accounts.standard", &accounts.standard),
        ("revenue_accounts.reduced", &accounts.reduced),
        ("revenue_accounts.reverse_charge", &accounts.reverse_charge),
        ("revenue_accounts.export", &accounts.export),
    ] {
        if !(4..=9).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
            bad(&mut errors, field, "an account number of 4 to 9 digits");
        }
    }
    if p.fiscal_year_start_month.is_some_and(|m| !(1..=12).contains(&m)) {
        bad(&mut errors, "fiscal_year_start_month", "a month, 1 to 12");
    }
    p.footer_lines = p.footer_lines.into_iter().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
    if p.footer_lines.len() > MAX_FOOTER_LINES
        || p.footer_lines.iter().any(|l| l.chars().count() > MAX_TEXT || l.chars().any(char::is_control))
    {
        bad(&mut errors, "footer_lines", "at most 10 lines of at most 200 characters each");
    }
    if errors.is_empty() {
        Ok(p)
    } else {
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        Err(ApiError::Validation(errors))
    }
}

/// Routes of this resource.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/settings/company").route(web::get().to(get_company)).route(web::put().to(put_company)));
}

//! Customers and their contacts: the billed parties.
//!
//! Built the way every resource is: keyset pagination, filters, `ETag`/`If-Match`,
//! `Idempotency-Key` on POST, per-field validation, an audit entry per change.
//! Customers are archived, never hard-deleted, because invoices keep referring to them.

mod contacts;
mod e_invoicing;
mod notifications;
pub use contacts::*;
pub use e_invoicing::EInvoicing;
pub use notifications::Notifications;

use crate::auth::Principal;
use crate::dto::{clean, double_option, timestamp, validate};
use crate::error::{not_found, ApiError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::{BillingMode, Currency, InvoiceDetail, Permission, VatTreatment};
use persistence::{Contact, ContactData, Customer, CustomerData, CustomerFilter, CustomerSort, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

fn valid_currency(code: &str) -> Result<(), ValidationError> {
    code.parse::<Currency>().map(|_| ()).map_err(|e| {
        let mut err = ValidationError::new("currency");
        err.message = Some(format!("{e}; supported: {}", Currency::supported_codes().join(", ")).into());
        err
    })
}

fn valid_country(code: &str) -> Result<(), ValidationError> {
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        let mut err = ValidationError::new("country");
        err.message = Some("must be an ISO 3166-1 alpha-2 code such as DE, AT, CZ".into());
        Err(err)
    }
}

fn valid_code(s: &str) -> Result<(), ValidationError> {
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)) {
        Ok(())
    } else {
        let mut err = ValidationError::new("format");
        err.message = Some("may contain only letters, digits and - _ . /".into());
        Err(err)
    }
}

fn valid_vat_id(s: &str) -> Result<(), ValidationError> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if (4..=20).contains(&compact.len()) && compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        let mut err = ValidationError::new("vat_id");
        err.message = Some("must be a VAT identification number such as DE123456789".into());
        Err(err)
    }
}

/// A billing address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    #[schema(example = "Hauptstraße 1")]
    pub street: Option<String>,
    #[validate(length(max = 20))]
    #[schema(max_length = 20)]
    #[schema(example = "10115")]
    pub postal_code: Option<String>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    #[schema(example = "Berlin")]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[validate(custom(function = "valid_country"))]
    #[schema(example = "DE")]
    pub country: Option<String>,
}

/// A customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerOut {
    pub id: i64,
    /// Customer number (debtor number); assigned from 10001 on when not given.
    #[schema(example = "10001")]
    pub number: String,
    #[schema(example = "Muster IT GmbH")]
    pub name: String,
    pub address: Address,
    #[schema(example = "DE123456789")]
    pub vat_id: Option<String>,
    #[schema(example = "rechnung@muster-it.de")]
    pub billing_email: Option<String>,
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(example = 14)]
    pub payment_terms_days: i64,
    pub vat_treatment: VatTreatment,
    pub billing_mode: BillingMode,
    pub invoice_detail: InvoiceDetail,
    /// Id of this customer in the helpdesk.
    pub helpdesk_ref: Option<String>,
    /// Debtor number in the accounting system.
    pub accounting_ref: Option<String>,
    pub notes: Option<String>,
    /// What the customer's e-invoices carry and the document it prefers.
    pub e_invoicing: EInvoicing,
    /// Its mail language, ticket status mails and account manager.
    pub notifications: Notifications,
    /// Archived customers are hidden from default lists and read-only until restored.
    pub archived: bool,
    pub archived_at: Option<String>,
    /// Contacts (in single-customer responses only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<ContactOut>>,
    /// Increases with every change; the `ETag` carries it.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl CustomerOut {
    fn new(c: Customer, contacts: Option<Vec<Contact>>) -> Self {
        let (e_invoicing, notifications) = (EInvoicing::of(&c.data), Notifications::of(&c.data));
        let d = c.data;
        CustomerOut {
            e_invoicing,
            notifications,
            id: c.id,
            number: d.number,
            name: d.name,
            address: Address {
                street: d.address_street,
                postal_code: d.address_postal_code,
                city: d.address_city,
                country: d.address_country,
            },
            vat_id: d.vat_id,
            billing_email: d.billing_email,
            currency: d.currency.code().to_string(),
            payment_terms_days: d.payment_terms_days,
            vat_treatment: d.vat_treatment,
            billing_mode: d.billing_mode,
            invoice_detail: d.invoice_detail,
            helpdesk_ref: d.helpdesk_ref,
            accounting_ref: d.accounting_ref,
            notes: d.notes,
            archived: c.archived_at.is_some(),
            archived_at: c.archived_at.as_ref().map(timestamp),
            contacts: contacts.map(|cs| cs.into_iter().map(ContactOut::from).collect()),
            version: c.version,
            created_at: timestamp(&c.created_at),
            updated_at: timestamp(&c.updated_at),
        }
    }
}

list_response!(CustomerList, CustomerOut, "A page of customers.");

/// A new customer. Only `name` is required.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerCreate {
    /// Customer number; assigned automatically (10001, 10002, …) when absent.
    #[validate(length(min = 1, max = 32), custom(function = "valid_code"))]
    #[schema(min_length = 1, max_length = 32)]
    pub number: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    #[schema(example = "Muster IT GmbH")]
    pub name: String,
    #[validate(nested)]
    pub address: Option<Address>,
    /// Required when `vat_treatment` is `eu_reverse_charge`.
    #[validate(custom(function = "valid_vat_id"))]
    #[schema(example = "DE123456789")]
    pub vat_id: Option<String>,
    #[validate(email, length(max = 254))]
    #[schema(max_length = 254)]
    pub billing_email: Option<String>,
    /// ISO 4217; default `EUR`.
    #[validate(custom(function = "valid_currency"))]
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    /// Default 14.
    #[validate(range(min = 0, max = 365))]
    #[schema(minimum = 0, maximum = 365)]
    pub payment_terms_days: Option<i64>,
    /// Default `domestic`.
    pub vat_treatment: Option<VatTreatment>,
    /// Default `period_end`.
    pub billing_mode: Option<BillingMode>,
    /// Default `per_ticket`.
    pub invoice_detail: Option<InvoiceDetail>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub helpdesk_ref: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub accounting_ref: Option<String>,
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
    /// E-invoicing data (default: none, `pdf`).
    pub e_invoicing: Option<EInvoicing>,
    /// Mail settings (default: German, no ticket mails, no account manager).
    pub notifications: Option<Notifications>,
    /// Contacts to create with the customer (at most 50).
    #[validate(length(max = 50), nested)]
    #[schema(max_items = 50)]
    pub contacts: Option<Vec<ContactCreate>>,
}

/// Changes to a customer; absent fields stay, `null` clears an optional field.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    #[validate(length(min = 1, max = 32), custom(function = "valid_code"))]
    #[schema(min_length = 1, max_length = 32)]
    pub number: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Replaces the whole address; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[validate(nested)]
    #[schema(value_type = Option<Address>)]
    pub address: Option<Option<Address>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(custom(function = "valid_vat_id"))]
    #[schema(value_type = Option<String>)]
    pub vat_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(email, length(max = 254))]
    #[schema(max_length = 254)]
    #[schema(value_type = Option<String>)]
    pub billing_email: Option<Option<String>>,
    #[validate(custom(function = "valid_currency"))]
    pub currency: Option<String>,
    #[validate(range(min = 0, max = 365))]
    #[schema(minimum = 0, maximum = 365)]
    pub payment_terms_days: Option<i64>,
    pub vat_treatment: Option<VatTreatment>,
    pub billing_mode: Option<BillingMode>,
    pub invoice_detail: Option<InvoiceDetail>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    #[schema(value_type = Option<String>)]
    pub helpdesk_ref: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    #[schema(value_type = Option<String>)]
    pub accounting_ref: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// Replaces the whole e-invoicing data.
    pub e_invoicing: Option<EInvoicing>,
    /// Replaces the whole mail settings.
    pub notifications: Option<Notifications>,
}

/// Rules across fields of the resulting customer.
fn check_customer(d: &CustomerData) -> Result<(), ApiError> {
    if d.vat_treatment == VatTreatment::EuReverseCharge && d.vat_id.is_none() {
        return Err(ApiError::invalid(
            "vat_id",
            "required",
            "EU reverse charge needs the customer's VAT id on every invoice",
        ));
    }
    Ok(())
}

fn address_fields(a: Option<Address>) -> (Option<String>, Option<String>, Option<String>, Option<String>) {
    let a = a.unwrap_or_default();
    (clean(a.street.as_deref()), clean(a.postal_code.as_deref()), clean(a.city.as_deref()), clean(a.country.as_deref()))
}

fn vat_id_clean(v: Option<&str>) -> Option<String> {
    clean(v).map(|s| s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase())
}

fn currency(code: &str) -> Result<Currency, ApiError> {
    code.parse()
        .map_err(|e: domain::currency::UnknownCurrency| ApiError::invalid("currency", "currency", e.to_string()))
}

/// Sort order of the customer list.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerSortParam {
    /// By name, then id (default).
    #[default]
    Name,
    /// By customer number, then id.
    Number,
}

/// Which customers to show.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveStatus {
    /// Only active customers (default).
    #[default]
    Active,
    /// Only archived customers.
    Archived,
    /// Both.
    All,
}

/// Query of the customer list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters and sort).
    pub cursor: Option<String>,
    /// Case-insensitive search in name and number.
    pub q: Option<String>,
    /// ISO 4217 currency.
    pub currency: Option<String>,
    pub billing_mode: Option<BillingMode>,
    /// Exact helpdesk id (for matching incoming tickets).
    pub helpdesk_ref: Option<String>,
    /// Exact accounting debtor number.
    pub accounting_ref: Option<String>,
    /// `active` (default), `archived` or `all`.
    #[param(inline)]
    pub status: Option<ArchiveStatus>,
    /// `name` (default) or `number`.
    #[param(inline)]
    pub sort: Option<CustomerSortParam>,
}

fn customer_response(status: StatusCode, c: Customer, contacts: Option<Vec<Contact>>) -> HttpResponse {
    versioned(status, "customer", c.id, c.version, CustomerOut::new(c, contacts))
}

/// List customers.
///
/// Keyset-paginated: pass `next_cursor` back as `cursor` with the same filters and
/// sort to get the next page; pages never overlap or skip a customer.
#[utoipa::path(operation_id = "list_customers", get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery),
    security(("bearer" = []), ("api_key" = ["customers:read"]), ("api_key" = ["customers:write"])),
    responses(
        (status = 200, body = CustomerList),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<CustomerQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCustomers)?;
    let q = q.0;
    let sort = match q.sort.unwrap_or_default() {
        CustomerSortParam::Name => CustomerSort::Name,
        CustomerSortParam::Number => CustomerSort::Number,
    };
    let filter = CustomerFilter {
        search: clean(q.q.as_deref()),
        currency: clean(q.currency.as_deref()).map(|c| c.to_uppercase()),
        billing_mode: q.billing_mode.map(|m| m.as_str().to_string()),
        helpdesk_ref: clean(q.helpdesk_ref.as_deref()),
        accounting_ref: clean(q.accounting_ref.as_deref()),
        archived_only: match q.status.unwrap_or_default() {
            ArchiveStatus::Active => None,
            ArchiveStatus::Archived => Some(true),
            ArchiveStatus::All => Some(false),
        },
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<(String, i64)>(q.cursor.as_deref())? };
    let page = state.store.list_customers(&filter, sort, &page).await?;
    Ok(HttpResponse::Ok().json(CustomerList {
        items: page.items.into_iter().map(|c| CustomerOut::new(c, None)).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Create a customer (admin, billing, manager; API scope `customers:write`).
#[utoipa::path(operation_id = "create_customer", post, path = "/api/v1/customers", tag = "customers", request_body = CustomerCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body replay the first response; the same key with another body is 422")),
    security(("bearer" = []), ("api_key" = ["customers:write"])),
    responses(
        (status = 201, body = CustomerOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Number or external reference taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (see `errors`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<CustomerCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteCustomers)?;
    let b = body.into_inner()?;
    let mut errors = Vec::new();
    let e_invoicing = b.e_invoicing.clone().unwrap_or_default().cleaned(&mut errors);
    validate(&b, errors)?;
    let notifications = b.notifications.clone().unwrap_or_default();
    notifications.check(&state).await?;
    let (street, postal, city, country) = address_fields(b.address);
    let mut data = CustomerData {
        number: clean(b.number.as_deref()).unwrap_or_default(),
        name: b.name.trim().to_string(),
        address_street: street,
        address_postal_code: postal,
        address_city: city,
        address_country: country,
        vat_id: vat_id_clean(b.vat_id.as_deref()),
        billing_email: clean(b.billing_email.as_deref()).map(|e| e.to_lowercase()),
        currency: currency(b.currency.as_deref().unwrap_or("EUR"))?,
        payment_terms_days: b.payment_terms_days.unwrap_or(14),
        vat_treatment: b.vat_treatment.unwrap_or(VatTreatment::Domestic),
        billing_mode: b.billing_mode.unwrap_or(BillingMode::PeriodEnd),
        invoice_detail: b.invoice_detail.unwrap_or(InvoiceDetail::PerTicket),
        helpdesk_ref: clean(b.helpdesk_ref.as_deref()),
        accounting_ref: clean(b.accounting_ref.as_deref()),
        notes: clean(b.notes.as_deref()),
        buyer_reference: None,
        e_invoice_address: None,
        e_invoice_address_scheme: None,
        document_format: Default::default(),
        language: Default::default(),
        keep_client_informed: false,
        account_manager_id: None,
    };
    e_invoicing.apply(&mut data);
    notifications.apply(&mut data);
    check_customer(&data)?;
    let contacts: Vec<ContactData> = b.contacts.unwrap_or_default().into_iter().map(ContactCreate::into_data).collect();
    let customer = state.store.create_customer(&data, &contacts, &p.actor(&req)).await?;
    let id = customer.id;
    let contacts = state.store.list_contacts(id).await?;
    Ok(created_at(customer_response(StatusCode::CREATED, customer, Some(contacts)), &format!("/api/v1/customers/{id}")))
}

/// Read a customer with its contacts.
#[utoipa::path(operation_id = "get_customer", get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = ["customers:read"]), ("api_key" = ["customers:write"])),
    responses(
        (status = 200, body = CustomerOut, headers(("ETag" = String)))))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCustomers)?;
    let id = path_id(&req, "id")?;
    let customer = state.store.get_customer(id).await.map_err(not_found("customer"))?;
    let contacts = state.store.list_contacts(id).await?;
    Ok(customer_response(StatusCode::OK, customer, Some(contacts)))
}

/// Change a customer. Send `If-Match` with the ETag you read; a stale one is 412.
#[utoipa::path(operation_id = "update_customer", patch, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = CustomerPatch,
    security(("bearer" = []), ("api_key" = ["customers:write"])),
    responses(
        (status = 200, body = CustomerOut, headers(("ETag" = String))),
        (status = 409, description = "Archived, or number taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<CustomerPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteCustomers)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let mut errors = Vec::new();
    let e_invoicing = b.e_invoicing.clone().map(|e| e.cleaned(&mut errors));
    validate(&b, errors)?;
    if let Some(n) = &b.notifications {
        n.check(&state).await?;
    }
    let version = IfMatch::from_request(&req, "customer", id).version()?;
    let customer = state
        .store
        .update_customer(id, version, &p.actor(&req), |cur: &Customer| -> Result<CustomerData, ApiError> {
            let c = &cur.data;
            let (street, postal, city, country) = match b.address.clone() {
                Some(a) => address_fields(a),
                None => (
                    c.address_street.clone(),
                    c.address_postal_code.clone(),
                    c.address_city.clone(),
                    c.address_country.clone(),
                ),
            };
            let keep = |patch: &Option<Option<String>>, cur: &Option<String>| match patch {
                Some(v) => clean(v.as_deref()),
                None => cur.clone(),
            };
            let mut data = CustomerData {
                number: clean(b.number.as_deref()).unwrap_or_else(|| c.number.clone()),
                name: b.name.as_deref().map(|n| n.trim().to_string()).unwrap_or_else(|| c.name.clone()),
                address_street: street,
                address_postal_code: postal,
                address_city: city,
                address_country: country,
                vat_id: match &b.vat_id {
                    Some(v) => vat_id_clean(v.as_deref()),
                    None => c.vat_id.clone(),
                },
                billing_email: keep(&b.billing_email, &c.billing_email).map(|e| e.to_lowercase()),
                currency: match &b.currency {
                    Some(code) => currency(code)?,
                    None => c.currency,
                },
                payment_terms_days: b.payment_terms_days.unwrap_or(c.payment_terms_days),
                vat_treatment: b.vat_treatment.unwrap_or(c.vat_treatment),
                billing_mode: b.billing_mode.unwrap_or(c.billing_mode),
                invoice_detail: b.invoice_detail.unwrap_or(c.invoice_detail),
                helpdesk_ref: keep(&b.helpdesk_ref, &c.helpdesk_ref),
                accounting_ref: keep(&b.accounting_ref, &c.accounting_ref),
                notes: keep(&b.notes, &c.notes),
                ..c.clone()
            };
            if let Some(e) = e_invoicing.clone() {
                e.apply(&mut data);
            }
            if let Some(n) = b.notifications.clone() {
                n.apply(&mut data);
            }
            check_customer(&data)?;
            Ok(data)
        })
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("customer".into()),
            other => other,
        })?;
    let contacts = state.store.list_contacts(id).await?;
    Ok(customer_response(StatusCode::OK, customer, Some(contacts)))
}

/// Archive a customer ("delete"). The customer stays readable (invoices refer to it)
/// but is hidden from default lists and read-only until restored. Idempotent.
#[utoipa::path(operation_id = "archive_customer", delete, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = []), ("api_key" = ["customers:write"])),
    responses(
        (status = 200, description = "Archived", body = CustomerOut, headers(("ETag" = String)))))]
pub async fn archive(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, true).await
}

/// Restore an archived customer. Idempotent.
#[utoipa::path(operation_id = "restore_customer", post, path = "/api/v1/customers/{id}/restore", tag = "customers",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = []), ("api_key" = ["customers:write"])),
    responses(
        (status = 200, description = "Active again", body = CustomerOut, headers(("ETag" = String)))))]
pub async fn restore(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, false).await
}

async fn set_archived(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    archive: bool,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteCustomers)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "customer", id).version()?;
    let customer =
        state.store.set_customer_archived(id, version, archive, &p.actor(&req)).await.map_err(not_found("customer"))?;
    let contacts = state.store.list_contacts(id).await?;
    Ok(customer_response(StatusCode::OK, customer, Some(contacts)))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/customers").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/customers/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(archive)),
        )
        .service(web::resource("/customers/{id}/restore").route(web::post().to(restore)))
        .service(
            web::resource("/customers/{id}/contacts")
                .route(web::get().to(list_contacts))
                .route(web::post().to(create_contact)),
        )
        .service(
            web::resource("/customers/{id}/contacts/{contact_id}")
                .route(web::patch().to(update_contact))
                .route(web::delete().to(delete_contact)),
        );
}

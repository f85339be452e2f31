//! An issued invoice or credit note as a document file (`GET /invoices/{id}/document`):
//! assembled from the stored, frozen data — the lines and totals, the customer snapshot and
//! the seller profile as of issue — and rendered by the `documents` crate. Formats:
//! `xrechnung-cii` (XRechnung 3.0, UN/CEFACT CII) and `isdoc` (ISDOC 6.0.2, Czech). A GET
//! writes nothing.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{path_id, Query};
use crate::routes::company_logo::logo_of;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use documents::{
    Address, Contact, Document, DocumentError, DocumentKind, DocumentLine, ElectronicAddress, LineUnit, Party,
    PaymentAccount, PrecedingInvoice, VatCategory, VatSubtotal,
};
use domain::catalog::Unit;
use domain::company::SellerProfile;
use domain::engine::LegalNote;
use domain::invoice::{InvoiceKind, InvoiceStatus};
use domain::Permission;
use persistence::invoices::{CustomerSnapshot, Invoice};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(paths(get_invoice_document))]
pub struct Doc;

/// A format a document is rendered in.
struct Format {
    /// `format=` of the request.
    name: &'static str,
    media_type: &'static str,
    /// File name extension of the download.
    extension: &'static str,
    /// Whether a draft renders in it (the printed PDF, with a watermark and no number).
    drafts: bool,
    render: fn(&Document, bool) -> Result<Vec<u8>, DocumentError>,
}

/// The formats; `Accept: application/pdf` chooses the first PDF, `application/xml` the first
/// XML one.
const FORMATS: [Format; 4] = [
    Format {
        name: "pdf",
        media_type: "application/pdf",
        extension: "pdf",
        drafts: true,
        render: documents::pdf::render,
    },
    Format {
        name: "zugferd",
        media_type: "application/pdf",
        extension: "pdf",
        drafts: false,
        render: |d, _| documents::pdf::render_factur_x(d),
    },
    Format {
        name: "xrechnung-cii",
        media_type: "application/xml",
        extension: "xml",
        drafts: false,
        render: |d, _| documents::cii::render(d).map(String::into_bytes),
    },
    Format {
        name: "isdoc",
        media_type: "application/xml",
        extension: "isdoc",
        drafts: false,
        render: |d, _| documents::isdoc::render(d).map(String::into_bytes),
    },
];

/// The bytes of a file (a PDF document, a logo image).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct DocumentFile(Vec<u8>);

/// A file an issued document can be fetched as.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentLink {
    /// The `format` parameter, e.g. `xrechnung-cii`.
    pub format: String,
    /// What the file is, e.g. `application/xml`.
    pub media_type: String,
    /// `GET` it, with the same credentials.
    #[schema(example = "/api/v1/invoices/17/document?format=xrechnung-cii")]
    pub href: String,
}

/// The files an invoice can be fetched as: every format for issued (also paid or
/// cancelled) invoices and credit notes, the PDF preview for drafts, none for settlements.
pub fn document_links(i: &Invoice) -> Vec<DocumentLink> {
    if i.kind == InvoiceKind::Settlement {
        return Vec::new();
    }
    let issued = i.number.is_some() && i.customer_snapshot.is_some();
    FORMATS
        .iter()
        .filter(|f| issued || (f.drafts && i.status == InvoiceStatus::Draft))
        .map(|f| DocumentLink {
            format: f.name.to_string(),
            media_type: f.media_type.to_string(),
            href: format!("/api/v1/invoices/{}/document?format={}", i.id, f.name),
        })
        .collect()
}

/// Whether `format` names a document format (`format=` of `GET /invoices/{id}/document`).
pub fn is_format(format: &str) -> bool {
    FORMATS.iter().any(|f| f.name == format)
}

fn format_names() -> String {
    FORMATS.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
}

/// Query of `GET /invoices/{id}/document`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DocumentQuery {
    /// `pdf`: the printed invoice (PDF/A-3b, DIN 5008, German; drafts too, with an
    /// "ENTWURF" watermark); `zugferd`: the same PDF with its EN 16931 CII XML embedded as
    /// `factur-x.xml` (Factur-X 1.0 / ZUGFeRD 2.x, profile EN 16931); `xrechnung-cii`:
    /// XRechnung 3.0 in the UN/CEFACT CII syntax; `isdoc`: ISDOC 6.0.2 (Czech). Without
    /// `format`, `Accept: application/pdf` chooses `pdf`, `Accept: application/xml`
    /// `xrechnung-cii`.
    #[param(example = "pdf")]
    pub format: Option<String>,
}

/// An invoice or credit note as a file, an attachment named after its number: the printed
/// PDF (`.pdf`; a draft as a preview with an "ENTWURF" watermark, the current seller profile
/// and customer, no number), Factur-X / ZUGFeRD (`.pdf` with the XML inside), XRechnung 3.0
/// CII (`.xml`) or ISDOC 6.0.2 (`.isdoc`). Issued documents render from what was frozen at
/// issue (lines, customer, seller profile), so the same document always gives the same
/// bytes. 409 for settlements (no document), for drafts in the e-invoice formats (no number
/// yet), and when the seller profile frozen at issue — or the customer's address — lacks what
/// the format requires (the message names the fields: complete `PUT /settings/company`;
/// documents issued before take the profile of their issue). 422 for an unknown format, 406
/// when neither `format` nor `Accept` names one. A GET writes nothing.
#[utoipa::path(operation_id = "get_invoice_document", get, path = "/api/v1/invoices/{id}/document", tag = "invoices",
    params(("id" = i64, Path), DocumentQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The document file: a PDF (`pdf`, `zugferd`) or XML", content(
            (DocumentFile = "application/pdf"),
            (String = "application/xml"))),
        (status = 406, description = "No format asked for", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A draft or settlement, or what the format needs is missing (named)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown format", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_invoice_document(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    q: Query<DocumentQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadInvoices)?;
    let id = path_id(&req, "id")?;
    let format = match q.0.format.as_deref() {
        Some(name) => FORMATS.iter().find(|f| f.name == name).ok_or_else(|| {
            ApiError::invalid("format", "unknown_format", format!("`{name}`: one of {}", format_names()))
        })?,
        None => {
            let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
            let wanted = if accept.contains("application/pdf") {
                "application/pdf"
            } else if accept.contains("application/xml") || accept.contains("text/xml") {
                "application/xml"
            } else {
                return Err(ApiError::NotAcceptable(format!(
                    "name the document format: ?format= one of {}, or Accept: application/pdf or application/xml",
                    format_names()
                )));
            };
            FORMATS.iter().find(|f| f.media_type == wanted).expect("a format of each media type")
        }
    };
    let invoice = state.store.get_invoice(id).await?;
    if invoice.status == InvoiceStatus::Draft && invoice.kind != InvoiceKind::Settlement {
        if !format.drafts {
            return Err(ApiError::Conflict(
                "a draft has no number yet: issue it first (format=pdf previews the draft)".into(),
            ));
        }
        let customer = CustomerSnapshot::of(&state.store.get_customer(invoice.customer_id).await?);
        let seller = state.store.seller_profile().await?.profile;
        let mut doc = draft_document(&invoice, customer, &seller)?;
        doc.logo = logo_of(&state, &seller).await?;
        let body = (format.render)(&doc, true).map_err(document_problem)?;
        return Ok(file_response(format, &format!("draft-{}", invoice.id), body));
    }
    let (number, body) = render_issued(&state, &invoice, format).await?;
    Ok(file_response(format, &number, body))
}

/// An issued invoice or credit note rendered in `format`: its number and the file.
async fn render_issued(state: &AppState, invoice: &Invoice, format: &Format) -> Result<(String, Vec<u8>), ApiError> {
    let preceding = match invoice.cancels_id {
        Some(original) => {
            let o = state.store.get_invoice(original).await?;
            o.number.zip(o.issue_date).map(|(number, issue_date)| PrecedingInvoice { number, issue_date })
        }
        None => None,
    };
    let mut doc = document_of(invoice, preceding)?;
    if format.media_type == "application/pdf" {
        if let Some(seller) = &invoice.seller_snapshot {
            doc.logo = logo_of(state, seller).await?;
        }
    }
    let body = (format.render)(&doc, false).map_err(document_problem)?;
    Ok((doc.number, body))
}

/// The file of issued invoice `id` in the format named `format` (`pdf`, `zugferd`,
/// `xrechnung-cii`, `isdoc`), as a mail attaches it.
pub async fn issued_file(state: &AppState, id: i64, format: &str) -> Result<Vec<u8>, ApiError> {
    let format = FORMATS
        .iter()
        .find(|f| f.name == format)
        .ok_or_else(|| ApiError::Internal(format!("unknown document format `{format}`")))?;
    let invoice = state.store.get_invoice(id).await?;
    if invoice.status == InvoiceStatus::Draft || invoice.kind == InvoiceKind::Settlement {
        return Err(ApiError::Conflict("a draft or settlement has no document to send".into()));
    }
    Ok(render_issued(state, &invoice, format).await?.1)
}

/// The file as an attachment named `<stem>.<extension>`.
fn file_response(format: &Format, stem: &str, body: Vec<u8>) -> HttpResponse {
    let stem = stem.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
    let content_type = match format.media_type {
        "application/pdf" => format.media_type.to_string(),
        text => format!("{text}; charset=utf-8"),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{stem}.{}\"", format.extension)))
        .body(body)
}

/// The VAT category of a document with this legal note.
pub(crate) fn vat_category(note: Option<LegalNote>) -> VatCategory {
    match note {
        None => VatCategory::Standard,
        Some(LegalNote::ReverseCharge) => VatCategory::ReverseCharge,
        Some(LegalNote::Export) => VatCategory::Export,
    }
}

fn document_problem(e: DocumentError) -> ApiError {
    match e {
        DocumentError::Missing(fields) => {
            let (seller, other): (Vec<String>, Vec<String>) =
                fields.into_iter().partition(|f| f.starts_with("seller."));
            let (buyer, document): (Vec<String>, Vec<String>) =
                other.into_iter().partition(|f| f.starts_with("buyer."));
            let mut parts = Vec::new();
            if !seller.is_empty() {
                let names: Vec<String> =
                    seller.iter().map(|f| seller_field(&f["seller.".len()..]).to_string()).collect();
                parts
                    .push(format!("the seller profile as of issue lacks {} (PUT /settings/company)", names.join(", ")));
            }
            if !buyer.is_empty() {
                let names: Vec<String> = buyer.iter().map(|f| buyer_field(&f["buyer.".len()..])).collect();
                parts.push(format!("the customer lacks {}", names.join(", ")));
            }
            if !document.is_empty() {
                parts.push(format!("the document lacks {}", document.join(", ")));
            }
            ApiError::Conflict(format!("this format cannot be rendered: {}", parts.join("; ")))
        }
        DocumentError::Inconsistent(what) => ApiError::Internal(format!("stored invoice does not add up: {what}")),
        DocumentError::Render(what) => ApiError::Internal(what),
    }
}

/// The seller profile's field name of a renderer's `seller.…` name.
fn seller_field(name: &str) -> &str {
    match name {
        "postal_code" => "address_postal_code",
        "city" => "address_city",
        "country" => "address_country",
        "street" => "address_street",
        other => other,
    }
}

/// The customer's field name (as `POST /customers` spells it) of a renderer's `buyer.…` name.
fn buyer_field(name: &str) -> String {
    match name {
        "postal_code" | "city" | "country" | "street" => format!("address.{name}"),
        "electronic_address" => "e_invoicing.address (or billing_email)".into(),
        "legal_name" => "name".into(),
        other => other.into(),
    }
}

/// The document an issued invoice or credit note is: amounts as printed (a credit note's
/// positive), the seller as of issue.
pub fn document_of(i: &Invoice, preceding: Option<PrecedingInvoice>) -> Result<Document, ApiError> {
    let kind = match (i.kind, i.status) {
        (InvoiceKind::Settlement, _) => {
            return Err(ApiError::Conflict("a settlement bills nothing and has no document".into()))
        }
        (_, InvoiceStatus::Draft) => {
            return Err(ApiError::Conflict("a draft has no number yet: issue it first".into()))
        }
        (InvoiceKind::CreditNote, _) => DocumentKind::CreditNote,
        _ => DocumentKind::Invoice,
    };
    let (Some(number), Some(issue_date), Some(customer)) = (&i.number, i.issue_date, &i.customer_snapshot) else {
        return Err(ApiError::Conflict("the document has no number, issue date or customer snapshot".into()));
    };
    let Some(seller) = &i.seller_snapshot else {
        return Err(ApiError::Conflict(format!(
            "the document was issued before a seller profile was stored: it lacks {}",
            SellerProfile::default().missing_for_e_invoice().join(", ")
        )));
    };
    Ok(assemble(i, kind, number, issue_date, customer, seller, preceding))
}

/// The preview of a draft: no number, dated today, with the customer and the seller profile
/// as they are now (issuing freezes them).
fn draft_document(i: &Invoice, customer: CustomerSnapshot, seller: &SellerProfile) -> Result<Document, ApiError> {
    let kind = match i.kind {
        InvoiceKind::Settlement => {
            return Err(ApiError::Conflict("a settlement bills nothing and has no document".into()))
        }
        InvoiceKind::CreditNote => DocumentKind::CreditNote,
        _ => DocumentKind::Invoice,
    };
    let today = time::OffsetDateTime::now_utc().date();
    Ok(assemble(i, kind, "", i.issue_date.unwrap_or(today), &customer, seller, None))
}

/// The document of invoice `i` with the given number, date and parties.
fn assemble(
    i: &Invoice,
    kind: DocumentKind,
    number: &str,
    issue_date: time::Date,
    customer: &CustomerSnapshot,
    seller: &SellerProfile,
    preceding: Option<PrecedingInvoice>,
) -> Document {
    // A credit note stores negated amounts; the document prints them positive.
    let sign = |v: Decimal| if kind == DocumentKind::CreditNote { -v } else { v };
    let mut notes: Vec<String> = i.notes.iter().cloned().collect();
    notes.extend(i.legal_note.map(|n| super::invoices::legal_text(n).to_string()));
    Document {
        kind,
        number: number.to_string(),
        issue_date,
        due_date: i.due_date,
        currency: i.currency.code().to_string(),
        buyer_reference: customer.buyer_reference.clone(),
        order_reference: i.order_reference.clone(),
        seller: seller_party(seller),
        buyer: buyer_party(customer),
        vat_category: vat_category(i.legal_note),
        period: i.period_start.map(|start| (start, i.period_end)),
        payment_terms: seller.payment_terms_text.clone(),
        payee_account: seller.iban.as_ref().map(|iban| PaymentAccount {
            iban: iban.clone(),
            bic: seller.bic.clone(),
            bank_name: seller.bank_name.clone(),
        }),
        notes,
        lines: i
            .lines
            .iter()
            .map(|l| DocumentLine {
                line_no: l.line_no,
                description: l.line.description.clone(),
                quantity: sign(l.line.quantity),
                unit: match l.line.unit {
                    Unit::Hour => LineUnit::Hour,
                    Unit::Km => LineUnit::Km,
                    Unit::Piece => LineUnit::Piece,
                    Unit::Flat => LineUnit::Flat,
                },
                unit_price: l.line.unit_price,
                net: sign(l.line.net),
                vat_rate: l.line.vat_rate,
            })
            .collect(),
        vat: i.vat.iter().map(|v| VatSubtotal { rate: v.rate, net: sign(v.net), vat: sign(v.vat) }).collect(),
        net: sign(i.totals.net),
        vat_total: sign(i.totals.vat),
        gross: sign(i.totals.gross),
        preceding: preceding.filter(|_| kind == DocumentKind::CreditNote),
        footer_lines: seller.footer_lines.clone(),
        logo: None,
        uuid: document_uuid(seller, i.id, number),
    }
}

/// The document's UUID: name-based (v5) on the seller, the document id and its number, so the
/// same document always carries the same one and two sellers' documents never share one.
fn document_uuid(seller: &SellerProfile, id: i64, number: &str) -> String {
    let issuer = seller.vat_id.as_deref().or(seller.tax_number.as_deref()).or(seller.legal_name.as_deref());
    let name = format!("urn:kontor:document:{}:{id}:{number}", issuer.unwrap_or_default());
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()).to_string()
}

/// The seller as the documents print it.
pub(crate) fn seller_party(s: &SellerProfile) -> Party {
    Party {
        name: s.legal_name.clone().unwrap_or_default(),
        address: Address {
            street: s.address_street.clone(),
            postal_code: s.address_postal_code.clone(),
            city: s.address_city.clone(),
            country: s.address_country.clone().unwrap_or_default(),
        },
        vat_id: s.vat_id.clone(),
        tax_number: s.tax_number.clone(),
        commercial_register: s.commercial_register.clone(),
        electronic_address: s
            .electronic_address
            .as_ref()
            .map(|v| ElectronicAddress { scheme: s.electronic_address_scheme().to_string(), value: v.clone() }),
        // Empty parts are named one by one by the renderer.
        contact: Some(Contact {
            name: s.contact_name.clone().unwrap_or_default(),
            phone: s.contact_phone.clone().unwrap_or_default(),
            email: s.contact_email.clone().unwrap_or_default(),
        }),
        id: None,
    }
}

fn buyer_party(c: &CustomerSnapshot) -> Party {
    Party {
        name: c.name.clone(),
        address: Address {
            street: c.address_street.clone(),
            postal_code: c.address_postal_code.clone(),
            city: c.address_city.clone(),
            country: c.address_country.clone().unwrap_or_default(),
        },
        vat_id: c.vat_id.clone(),
        tax_number: None,
        commercial_register: None,
        // The customer's e-invoice address, else its billing e-mail.
        electronic_address: match (&c.e_invoice_address, &c.billing_email) {
            (Some(a), _) => Some(ElectronicAddress {
                scheme: c.e_invoice_address_scheme.clone().unwrap_or_else(|| "EM".into()),
                value: a.clone(),
            }),
            (None, Some(e)) => Some(ElectronicAddress { scheme: "EM".into(), value: e.clone() }),
            (None, None) => None,
        },
        contact: None,
        id: Some(c.number.clone()),
    }
}

/// Routes of this resource.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/invoices/{id}/document").route(web::get().to(get_invoice_document)));
}

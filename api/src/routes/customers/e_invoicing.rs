//! A customer's e-invoicing data (`e_invoicing` on the customer): the buyer reference its
//! e-invoices carry (BT-10, a public buyer's Leitweg-ID), the electronic address they go to
//! (BT-49) with its scheme, and the document format it prefers.

use crate::dto::clean;
use crate::error::FieldError;
use domain::customer::DocumentFormat;
use persistence::CustomerData;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::ValidateEmail;

/// What a customer's e-invoices carry and which document it prefers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EInvoicing {
    /// Buyer reference (XRechnung BT-10): a German public buyer's Leitweg-ID (e.g.
    /// `04011000-1234512345-06`), else the reference the buyer asked for. Without it the
    /// e-invoice carries the customer number.
    #[serde(default)]
    #[schema(max_length = 100, example = "04011000-1234512345-06")]
    pub buyer_reference: Option<String>,
    /// Electronic address the e-invoices go to (BT-49); without it the billing e-mail.
    #[serde(default)]
    #[schema(max_length = 254, example = "rechnungseingang@stadt.example")]
    pub address: Option<String>,
    /// The address's scheme (EAS code): `EM` e-mail (the default), `0204` Leitweg-ID,
    /// `9930` German VAT id, `0088` GLN, …
    #[serde(default)]
    #[schema(min_length = 2, max_length = 4, example = "EM")]
    pub address_scheme: Option<String>,
    /// The document the customer prefers (default `pdf`).
    #[serde(default)]
    pub document_format: DocumentFormat,
}

impl EInvoicing {
    /// The customer's e-invoicing data as stored.
    pub fn of(d: &CustomerData) -> EInvoicing {
        EInvoicing {
            buyer_reference: d.buyer_reference.clone(),
            address: d.e_invoice_address.clone(),
            address_scheme: d.e_invoice_address_scheme.clone(),
            document_format: d.document_format,
        }
    }

    /// Trims the text (blank is absent), upper-cases the scheme and checks the fields; the
    /// field errors are named `e_invoicing.…`.
    pub fn cleaned(self, errors: &mut Vec<FieldError>) -> EInvoicing {
        let e = EInvoicing {
            buyer_reference: clean(self.buyer_reference.as_deref()),
            address: clean(self.address.as_deref()),
            address_scheme: clean(self.address_scheme.as_deref()).map(|s| s.to_ascii_uppercase()),
            document_format: self.document_format,
        };
        let mut bad = |field: &str, msg: &str| errors.push(FieldError::new(field, "invalid", msg));
        if e.buyer_reference.as_ref().is_some_and(|r| r.chars().count() > 100 || r.chars().any(char::is_control)) {
            bad("e_invoicing.buyer_reference", "at most 100 characters on one line");
        }
        if e.address.as_ref().is_some_and(|a| a.chars().count() > 254 || a.chars().any(char::is_control)) {
            bad("e_invoicing.address", "at most 254 characters on one line");
        }
        let scheme = e.address_scheme.as_deref().unwrap_or("EM");
        if !(2..=4).contains(&scheme.len()) || !scheme.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
            bad("e_invoicing.address_scheme", "an EAS code such as EM (e-mail), 0204 (Leitweg-ID) or 9930");
        } else if scheme == "EM" && e.address.as_ref().is_some_and(|a| !a.validate_email()) {
            bad("e_invoicing.address", "with scheme EM, an e-mail address");
        }
        e
    }

    /// Writes the data into a customer record.
    pub fn apply(self, d: &mut CustomerData) {
        d.buyer_reference = self.buyer_reference;
        d.e_invoice_address = self.address;
        d.e_invoice_address_scheme = self.address_scheme;
        d.document_format = self.document_format;
    }
}

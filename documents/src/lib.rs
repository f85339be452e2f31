//! Invoice documents: what an issued invoice or credit note says, as plain values
//! ([`Document`]), and its renderings in the exchange formats: [`cii`] (XRechnung 3.0 /
//! EN 16931 in UN/CEFACT CII syntax) and [`isdoc`] (ISDOC 6.0.2, Czech), [`pdf`] (the printed
//! invoice as PDF/A-3, also as Factur-X with the CII attached); and the DATEV
//! booking batch of many documents ([`datev`]); printed reports ([`report`], as HTML and PDF). Pure: no IO, no database; the caller
//! assembles a [`Document`] from the stored, frozen invoice and its seller profile.
//!
//! Amounts are as printed on the document: a credit note carries positive amounts (its type
//! says it reverses), lines' nets are rounded to the minor unit and the VAT breakdown and
//! totals add up from them exactly.

pub mod cii;
pub mod datev;
mod figures;
pub mod isdoc;
pub mod pdf;
pub mod report;
pub(crate) mod xml;

pub use xml::escape as escape_markup;

use rust_decimal::Decimal;
use time::Date;

/// Invoice (UNTDID 1001 code 380) or credit note (381).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Invoice,
    CreditNote,
}

/// How VAT applies to the whole document (EN 16931 VAT category, BT-118 / BT-151).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VatCategory {
    /// Standard rated (`S`): each line's rate applies.
    Standard,
    /// Intra-EU reverse charge (`AE`): 0 %, the buyer owes the VAT; needs both VAT ids.
    ReverseCharge,
    /// Export outside the EU (`G`): 0 %.
    Export,
}

/// An electronic address (BT-34 seller, BT-49 buyer) with its scheme (EAS code list), e.g.
/// `EM` for an e-mail address, `0204` for a German Leitweg-ID, `9930` for a German VAT id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectronicAddress {
    pub scheme: String,
    pub value: String,
}

/// A postal address; `country` is an ISO 3166-1 alpha-2 code (`DE`, `CZ`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: String,
}

/// Seller contact (BG-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub email: String,
}

/// The seller (BG-4) or the buyer (BG-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// Legal name (BT-27 / BT-44).
    pub name: String,
    pub address: Address,
    /// VAT id (BT-31 / BT-48), e.g. `DE123456789`.
    pub vat_id: Option<String>,
    /// Seller's tax number (BT-32, Steuernummer).
    pub tax_number: Option<String>,
    /// Legal registration, e.g. `HRB 12345, Amtsgericht München` (BT-30).
    pub commercial_register: Option<String>,
    /// BT-34 / BT-49.
    pub electronic_address: Option<ElectronicAddress>,
    /// Seller contact (BG-6); buyers have none here.
    pub contact: Option<Contact>,
    /// Buyer: its number at the seller (debtor number, BT-46).
    pub id: Option<String>,
}

/// The account the buyer pays to (BG-17, SEPA credit transfer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentAccount {
    pub iban: String,
    pub bic: Option<String>,
    pub bank_name: Option<String>,
}

/// Unit of a line's quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineUnit {
    Hour,
    Km,
    Piece,
    Flat,
}

/// One line (BG-25).
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentLine {
    /// Line number on the document (BT-126).
    pub line_no: i64,
    /// Item name (BT-153): description with ticket number and activity text.
    pub description: String,
    pub quantity: Decimal,
    pub unit: LineUnit,
    /// Net price per unit (BT-146; may have more than 2 decimals).
    pub unit_price: Decimal,
    /// Line net amount (BT-131), rounded to the minor unit.
    pub net: Decimal,
    /// VAT rate in percent (0 under reverse charge and export).
    pub vat_rate: Decimal,
}

/// VAT of one rate (BG-23).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatSubtotal {
    pub rate: Decimal,
    /// Sum of the line nets with this rate (BT-116).
    pub net: Decimal,
    /// VAT amount (BT-117).
    pub vat: Decimal,
}

/// The format of a [`Logo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoFormat {
    Png,
    Jpeg,
    /// Drawn as vectors; text in it is set in DejaVu Sans (the only font there is).
    Svg,
}

impl LogoFormat {
    /// The format of a media type (`image/png`, `image/jpeg` or `image/jpg`, `image/svg+xml`).
    pub fn from_media_type(media_type: &str) -> Option<LogoFormat> {
        match media_type {
            "image/png" => Some(LogoFormat::Png),
            "image/jpeg" | "image/jpg" => Some(LogoFormat::Jpeg),
            "image/svg+xml" => Some(LogoFormat::Svg),
            _ => None,
        }
    }

    /// The media type files of this format are stored and served with.
    pub fn media_type(self) -> &'static str {
        match self {
            LogoFormat::Png => "image/png",
            LogoFormat::Jpeg => "image/jpeg",
            LogoFormat::Svg => "image/svg+xml",
        }
    }
}

/// The seller's letterhead logo: the image file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    pub format: LogoFormat,
    pub data: std::sync::Arc<Vec<u8>>,
}

/// The invoice a credit note reverses (BG-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrecedingInvoice {
    pub number: String,
    pub issue_date: Date,
}

/// An issued invoice or credit note as the formats render it.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub kind: DocumentKind,
    /// Invoice number (BT-1).
    pub number: String,
    /// Issue date (BT-2).
    pub issue_date: Date,
    /// Due date (BT-9), when an amount is due.
    pub due_date: Option<Date>,
    /// ISO 4217 currency code (BT-5).
    pub currency: String,
    /// Buyer reference (BT-10): a public buyer's Leitweg-ID, else the reference the buyer
    /// gave; renderers that require one fall back to the customer number.
    pub buyer_reference: Option<String>,
    /// The buyer's order reference (BT-13).
    pub order_reference: Option<String>,
    pub seller: Party,
    pub buyer: Party,
    pub vat_category: VatCategory,
    /// Service period (BG-14).
    pub period: Option<(Date, Date)>,
    /// Payment terms text (BT-20).
    pub payment_terms: Option<String>,
    pub payee_account: Option<PaymentAccount>,
    /// Free text (BT-22), e.g. the legal note or the reason of a credit note.
    pub notes: Vec<String>,
    pub lines: Vec<DocumentLine>,
    /// VAT per rate, rate ascending.
    pub vat: Vec<VatSubtotal>,
    /// Sum of line nets (BT-106 = BT-109).
    pub net: Decimal,
    /// Total VAT (BT-110).
    pub vat_total: Decimal,
    /// Total with VAT (BT-112 = BT-115).
    pub gross: Decimal,
    /// Credit note: the invoice it reverses.
    pub preceding: Option<PrecedingInvoice>,
    /// Lines the seller prints at the foot of every page (seller profile `footer_lines`).
    pub footer_lines: Vec<String>,
    /// The seller's logo, printed in the letterhead.
    pub logo: Option<Logo>,
    /// A UUID that names this document for good (ISDOC `UUID`), lower-case hex with dashes.
    pub uuid: String,
}

/// A document that cannot be rendered in a format: what is missing or inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// Fields the format requires are missing (names as the API spells them).
    #[error("missing for this format: {}", .0.join(", "))]
    Missing(Vec<String>),
    /// The figures do not add up.
    #[error("inconsistent document: {0}")]
    Inconsistent(String),
    /// The file could not be written (a PDF library failure, not the document's fault).
    #[error("cannot render the document: {0}")]
    Render(String),
}

//! XRechnung 3.0 / EN 16931 in UN/CEFACT CII syntax (D16B).
//!
//! This module owns the CII rendering of a [`Document`]: [`render`] checks that the document
//! carries everything a German XRechnung 3.0 invoice or credit note requires and that its
//! figures add up, then writes the `rsm:CrossIndustryInvoice` XML (UTF-8) in the element order
//! of the D16B schema. The output passes KoSIT's XRechnung validator (EN 16931 + XRechnung
//! CIUS + the adopted Peppol rules); `documents/tests/xrechnung.rs` checks that with the
//! offline validator in `shared/tools/einvoice`.

mod check;

use rust_decimal::Decimal;

use crate::xml::{amount, non_blank, percent, price, quantity, XmlWriter};
use crate::{Document, DocumentError, DocumentKind, DocumentLine, LineUnit, Party, VatCategory};

/// Specification identifier (BT-24) of XRechnung 3.0.
pub const XRECHNUNG_3_0: &str = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0";

/// Specification identifier (BT-24) of plain EN 16931, the Factur-X / ZUGFeRD profile
/// "EN 16931" (COMFORT) embeds.
pub const EN_16931: &str = "urn:cen.eu:en16931:2017";

/// Business process type (BT-23) XRechnung uses (Peppol billing).
pub const PEPPOL_BILLING: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";

const NAMESPACES: [(&str, &str); 4] = [
    ("xmlns:rsm", "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"),
    ("xmlns:ram", "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"),
    ("xmlns:qdt", "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"),
    ("xmlns:udt", "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"),
];

/// Renders `doc` as an XRechnung 3.0 CII document (UTF-8 XML with declaration).
///
/// Type code 380 for an invoice, 381 for a credit note (amounts stay positive; the credit note
/// references the invoice it reverses in BG-3).
///
/// # Errors
/// - [`DocumentError::Missing`] with every required field that is absent or blank, named as
///   the API spells them (`seller.postal_code`, `buyer.electronic_address`,
///   `preceding_invoice`, …);
/// - [`DocumentError::Inconsistent`] when the lines, the VAT breakdown and the totals do not
///   add up (after rounding to the minor unit) or a line's VAT rate does not fit the document's
///   VAT category.
pub fn render(doc: &Document) -> Result<String, DocumentError> {
    render_as(doc, XRECHNUNG_3_0)
}

/// Renders `doc` like [`render`] with the specification identifier (BT-24) `guideline`:
/// [`XRECHNUNG_3_0`] or [`EN_16931`] (what a Factur-X PDF embeds). The same fields are
/// required either way.
///
/// # Errors
/// As [`render`].
pub fn render_as(doc: &Document, guideline: &str) -> Result<String, DocumentError> {
    let missing = check::missing_fields(doc);
    if !missing.is_empty() {
        return Err(DocumentError::Missing(missing));
    }
    crate::figures::check_figures(doc, true)?;

    let mut w = XmlWriter::new();
    w.open_with("rsm:CrossIndustryInvoice", &NAMESPACES);
    context(&mut w, guideline);
    exchanged_document(&mut w, doc);
    w.open("rsm:SupplyChainTradeTransaction");
    for line in &doc.lines {
        line_item(&mut w, doc, line);
    }
    agreement(&mut w, doc);
    delivery(&mut w, doc);
    settlement(&mut w, doc);
    w.close("rsm:SupplyChainTradeTransaction");
    w.close("rsm:CrossIndustryInvoice");
    Ok(w.finish())
}

/// UNTDID 5305 code, exemption reason text and VATEX code of a VAT category.
fn category_codes(category: VatCategory) -> (&'static str, Option<(&'static str, &'static str)>) {
    match category {
        VatCategory::Standard => ("S", None),
        VatCategory::ReverseCharge => ("AE", Some(("Reverse charge", "VATEX-EU-AE"))),
        VatCategory::Export => ("G", Some(("Export outside the EU", "VATEX-EU-G"))),
    }
}

/// UN/ECE Recommendation 20 code of a line unit.
fn unit_code(unit: LineUnit) -> &'static str {
    match unit {
        LineUnit::Hour => "HUR",
        LineUnit::Km => "KMT",
        LineUnit::Piece => "C62",
        LineUnit::Flat => "LS",
    }
}

fn context(w: &mut XmlWriter, guideline: &str) {
    w.open("rsm:ExchangedDocumentContext");
    w.open("ram:BusinessProcessSpecifiedDocumentContextParameter");
    w.leaf("ram:ID", PEPPOL_BILLING);
    w.close("ram:BusinessProcessSpecifiedDocumentContextParameter");
    w.open("ram:GuidelineSpecifiedDocumentContextParameter");
    w.leaf("ram:ID", guideline);
    w.close("ram:GuidelineSpecifiedDocumentContextParameter");
    w.close("rsm:ExchangedDocumentContext");
}

fn exchanged_document(w: &mut XmlWriter, doc: &Document) {
    w.open("rsm:ExchangedDocument");
    w.leaf("ram:ID", doc.number.trim());
    w.leaf(
        "ram:TypeCode",
        match doc.kind {
            DocumentKind::Invoice => "380",
            DocumentKind::CreditNote => "381",
        },
    );
    w.date("ram:IssueDateTime", "udt", doc.issue_date);
    for note in doc.notes.iter().filter_map(|n| non_blank(n)) {
        w.open("ram:IncludedNote");
        w.leaf("ram:Content", note);
        w.close("ram:IncludedNote");
    }
    w.close("rsm:ExchangedDocument");
}

/// One line (BG-25). Lines with a negative unit price (a discount) are written with a positive
/// price and a negated quantity (BR-27: the item net price must not be negative).
fn line_item(w: &mut XmlWriter, doc: &Document, line: &DocumentLine) {
    let (price_value, qty) = if line.unit_price < Decimal::ZERO {
        (-line.unit_price, -line.quantity)
    } else {
        (line.unit_price, line.quantity)
    };
    let fallback = format!("Position {}", line.line_no);
    let name = non_blank(&line.description).unwrap_or(&fallback);

    w.open("ram:IncludedSupplyChainTradeLineItem");
    w.open("ram:AssociatedDocumentLineDocument");
    w.leaf("ram:LineID", &line.line_no.to_string());
    w.close("ram:AssociatedDocumentLineDocument");
    w.open("ram:SpecifiedTradeProduct");
    w.leaf("ram:Name", name);
    w.close("ram:SpecifiedTradeProduct");
    w.open("ram:SpecifiedLineTradeAgreement");
    w.open("ram:NetPriceProductTradePrice");
    w.leaf("ram:ChargeAmount", &price(price_value));
    w.close("ram:NetPriceProductTradePrice");
    w.close("ram:SpecifiedLineTradeAgreement");
    w.open("ram:SpecifiedLineTradeDelivery");
    w.leaf_with("ram:BilledQuantity", &[("unitCode", unit_code(line.unit))], &quantity(qty));
    w.close("ram:SpecifiedLineTradeDelivery");
    w.open("ram:SpecifiedLineTradeSettlement");
    w.open("ram:ApplicableTradeTax");
    w.leaf("ram:TypeCode", "VAT");
    w.leaf("ram:CategoryCode", category_codes(doc.vat_category).0);
    w.leaf("ram:RateApplicablePercent", &percent(line.vat_rate));
    w.close("ram:ApplicableTradeTax");
    w.open("ram:SpecifiedTradeSettlementLineMonetarySummation");
    w.leaf("ram:LineTotalAmount", &amount(line.net));
    w.close("ram:SpecifiedTradeSettlementLineMonetarySummation");
    w.close("ram:SpecifiedLineTradeSettlement");
    w.close("ram:IncludedSupplyChainTradeLineItem");
}

fn agreement(w: &mut XmlWriter, doc: &Document) {
    w.open("ram:ApplicableHeaderTradeAgreement");
    let buyer_reference = doc.buyer_reference.as_deref().and_then(non_blank).or(doc.buyer.id.as_deref());
    w.opt_leaf("ram:BuyerReference", buyer_reference);
    party(w, "ram:SellerTradeParty", &doc.seller, true);
    party(w, "ram:BuyerTradeParty", &doc.buyer, false);
    if let Some(order) = doc.order_reference.as_deref().and_then(non_blank) {
        w.open("ram:BuyerOrderReferencedDocument");
        w.leaf("ram:IssuerAssignedID", order);
        w.close("ram:BuyerOrderReferencedDocument");
    }
    w.close("ram:ApplicableHeaderTradeAgreement");
}

/// Seller (BG-4) or buyer (BG-7), children in D16B `TradePartyType` order: ID, Name,
/// SpecifiedLegalOrganization, DefinedTradeContact, PostalTradeAddress,
/// URIUniversalCommunication, SpecifiedTaxRegistration.
fn party(w: &mut XmlWriter, tag: &str, p: &Party, seller: bool) {
    w.open(tag);
    if !seller {
        w.opt_leaf("ram:ID", p.id.as_deref()); // BT-46
    }
    w.leaf("ram:Name", p.name.trim());
    if seller {
        if let Some(register) = p.commercial_register.as_deref().and_then(non_blank) {
            w.open("ram:SpecifiedLegalOrganization");
            w.leaf("ram:ID", register); // BT-30
            w.close("ram:SpecifiedLegalOrganization");
        }
    }
    if let Some(c) = p.contact.as_ref().filter(|_| seller) {
        w.open("ram:DefinedTradeContact");
        w.leaf("ram:PersonName", c.name.trim());
        w.open("ram:TelephoneUniversalCommunication");
        w.leaf("ram:CompleteNumber", c.phone.trim());
        w.close("ram:TelephoneUniversalCommunication");
        w.open("ram:EmailURIUniversalCommunication");
        w.leaf("ram:URIID", c.email.trim());
        w.close("ram:EmailURIUniversalCommunication");
        w.close("ram:DefinedTradeContact");
    }
    w.open("ram:PostalTradeAddress");
    w.opt_leaf("ram:PostcodeCode", p.address.postal_code.as_deref());
    w.opt_leaf("ram:LineOne", p.address.street.as_deref());
    w.opt_leaf("ram:CityName", p.address.city.as_deref());
    w.leaf("ram:CountryID", &p.address.country.trim().to_ascii_uppercase());
    w.close("ram:PostalTradeAddress");
    if let Some(a) = &p.electronic_address {
        w.open("ram:URIUniversalCommunication");
        w.leaf_with("ram:URIID", &[("schemeID", a.scheme.trim())], a.value.trim());
        w.close("ram:URIUniversalCommunication");
    }
    let tax_number = if seller { p.tax_number.as_deref().and_then(non_blank) } else { None };
    for (scheme, id) in [("VA", p.vat_id.as_deref().and_then(non_blank)), ("FC", tax_number)] {
        if let Some(id) = id {
            w.open("ram:SpecifiedTaxRegistration");
            w.leaf_with("ram:ID", &[("schemeID", scheme)], id);
            w.close("ram:SpecifiedTaxRegistration");
        }
    }
    w.close(tag);
}

/// Delivery: the issue date as the date of supply (BT-72) unless a service period is given
/// (that goes into the settlement as BG-14).
fn delivery(w: &mut XmlWriter, doc: &Document) {
    w.open("ram:ApplicableHeaderTradeDelivery");
    if doc.period.is_none() {
        w.open("ram:ActualDeliverySupplyChainEvent");
        w.date("ram:OccurrenceDateTime", "udt", doc.issue_date);
        w.close("ram:ActualDeliverySupplyChainEvent");
    }
    w.close("ram:ApplicableHeaderTradeDelivery");
}

/// Settlement in D16B order: PaymentReference, InvoiceCurrencyCode, PaymentMeans,
/// ApplicableTradeTax*, BillingSpecifiedPeriod, PaymentTerms, MonetarySummation,
/// InvoiceReferencedDocument.
fn settlement(w: &mut XmlWriter, doc: &Document) {
    let currency = doc.currency.trim().to_ascii_uppercase();
    w.open("ram:ApplicableHeaderTradeSettlement");
    w.leaf("ram:PaymentReference", doc.number.trim()); // BT-83: remittance information
    w.leaf("ram:InvoiceCurrencyCode", &currency);
    payment_means(w, doc);
    let (category, exemption) = category_codes(doc.vat_category);
    for sub in &doc.vat {
        w.open("ram:ApplicableTradeTax");
        w.leaf("ram:CalculatedAmount", &amount(sub.vat));
        w.leaf("ram:TypeCode", "VAT");
        if let Some((reason, _)) = exemption {
            w.leaf("ram:ExemptionReason", reason);
        }
        w.leaf("ram:BasisAmount", &amount(sub.net));
        w.leaf("ram:CategoryCode", category);
        if let Some((_, code)) = exemption {
            w.leaf("ram:ExemptionReasonCode", code);
        }
        w.leaf("ram:RateApplicablePercent", &percent(sub.rate));
        w.close("ram:ApplicableTradeTax");
    }
    if let Some((start, end)) = doc.period {
        w.open("ram:BillingSpecifiedPeriod");
        w.date("ram:StartDateTime", "udt", start);
        w.date("ram:EndDateTime", "udt", end);
        w.close("ram:BillingSpecifiedPeriod");
    }
    payment_terms(w, doc);
    w.open("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    w.leaf("ram:LineTotalAmount", &amount(doc.net));
    w.leaf("ram:TaxBasisTotalAmount", &amount(doc.net));
    w.leaf_with("ram:TaxTotalAmount", &[("currencyID", &currency)], &amount(doc.vat_total));
    w.leaf("ram:GrandTotalAmount", &amount(doc.gross));
    w.leaf("ram:DuePayableAmount", &amount(doc.gross));
    w.close("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    if let Some(p) = doc.preceding.as_ref().filter(|_| doc.kind == DocumentKind::CreditNote) {
        w.open("ram:InvoiceReferencedDocument");
        w.leaf("ram:IssuerAssignedID", p.number.trim()); // BT-25
        w.date("ram:FormattedIssueDateTime", "qdt", p.issue_date); // BT-26
        w.close("ram:InvoiceReferencedDocument");
    }
    w.close("ram:ApplicableHeaderTradeSettlement");
}

/// BG-16: SEPA credit transfer (58) to the payee account; without an account (only allowed when
/// nothing is due) the means is "not defined" (1), as BR-DE-1 wants BG-16 in any case.
fn payment_means(w: &mut XmlWriter, doc: &Document) {
    let account = doc.payee_account.as_ref().filter(|a| non_blank(&a.iban).is_some());
    w.open("ram:SpecifiedTradeSettlementPaymentMeans");
    w.leaf("ram:TypeCode", if account.is_some() { "58" } else { "1" });
    if let Some(a) = account {
        w.open("ram:PayeePartyCreditorFinancialAccount");
        let iban: String = a.iban.chars().filter(|c| !c.is_whitespace()).collect();
        w.leaf("ram:IBANID", &iban.to_ascii_uppercase()); // BT-84
        w.close("ram:PayeePartyCreditorFinancialAccount");
        if let Some(bic) = a.bic.as_deref().and_then(non_blank) {
            w.open("ram:PayeeSpecifiedCreditorFinancialInstitution");
            w.leaf("ram:BICID", bic); // BT-86
            w.close("ram:PayeeSpecifiedCreditorFinancialInstitution");
        }
    }
    w.close("ram:SpecifiedTradeSettlementPaymentMeans");
}

/// At most one `SpecifiedTradePaymentTerms` with at most one `Description` (CII-SR-452/453).
/// A text with a `#SKONTO#` line gets the trailing line break BR-DE-18 insists on.
fn payment_terms(w: &mut XmlWriter, doc: &Document) {
    let text = doc.payment_terms.as_deref().and_then(non_blank).map(|t| {
        if t.contains("#SKONTO#") {
            format!("{t}\n")
        } else {
            t.to_string()
        }
    });
    if text.is_none() && doc.due_date.is_none() {
        return;
    }
    w.open("ram:SpecifiedTradePaymentTerms");
    if let Some(text) = &text {
        w.leaf("ram:Description", text);
    }
    if let Some(due) = doc.due_date {
        w.date("ram:DueDateDateTime", "udt", due);
    }
    w.close("ram:SpecifiedTradePaymentTerms");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, Contact, ElectronicAddress, PaymentAccount, PrecedingInvoice, VatSubtotal};
    use std::str::FromStr;
    use time::macros::date;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn party(name: &str, country: &str) -> Party {
        Party {
            name: name.into(),
            address: Address {
                street: Some("Musterstraße 1".into()),
                postal_code: Some("10115".into()),
                city: Some("Berlin".into()),
                country: country.into(),
            },
            vat_id: None,
            tax_number: None,
            commercial_register: None,
            electronic_address: Some(ElectronicAddress { scheme: "EM".into(), value: "x@example.com".into() }),
            contact: None,
            id: None,
        }
    }

    /// Two lines at 19 % and one at 7 %: net 300.00 + 7.77, VAT 57.00 + 0.54.
    fn sample() -> Document {
        let seller = Party {
            vat_id: Some("DE123456789".into()),
            contact: Some(Contact {
                name: "Erika".into(),
                phone: "+49 30 1234567".into(),
                email: "e@example.com".into(),
            }),
            ..party("Kontor Services GmbH", "DE")
        };
        let line = |line_no, net: &str, rate: &str| DocumentLine {
            line_no,
            description: format!("Line {line_no}"),
            quantity: Decimal::ONE,
            unit: LineUnit::Piece,
            unit_price: dec(net),
            net: dec(net),
            vat_rate: dec(rate),
        };
        Document {
            kind: DocumentKind::Invoice,
            number: "RE-1".into(),
            issue_date: date!(2026 - 11 - 30),
            due_date: Some(date!(2026 - 12 - 14)),
            currency: "EUR".into(),
            buyer_reference: None,
            order_reference: None,
            seller,
            buyer: Party { id: Some("K-1".into()), ..party("Beispiel AG", "DE") },
            vat_category: VatCategory::Standard,
            period: None,
            payment_terms: None,
            payee_account: Some(PaymentAccount { iban: "DE02120300000000202051".into(), bic: None, bank_name: None }),
            notes: vec![],
            lines: vec![line(1, "100", "19"), line(2, "200", "19"), line(3, "7.77", "7")],
            vat: vec![
                VatSubtotal { rate: dec("7"), net: dec("7.77"), vat: dec("0.54") },
                VatSubtotal { rate: dec("19"), net: dec("300"), vat: dec("57") },
            ],
            net: dec("307.77"),
            vat_total: dec("57.54"),
            gross: dec("365.31"),
            preceding: None,
            footer_lines: Vec::new(),
            logo: None,
            uuid: "8f14e45f-ceea-467f-a8f5-5e3c6c1d9b2a".into(),
        }
    }

    /// The text of the first `<tag>…</tag>` in `xml`.
    fn text_of<'a>(xml: &'a str, tag: &str) -> &'a str {
        let open = xml.find(&format!("<{tag}")).unwrap_or_else(|| panic!("{tag} missing"));
        let start = open + xml[open..].find('>').unwrap() + 1;
        let end = start + xml[start..].find(&format!("</{tag}>")).unwrap();
        &xml[start..end]
    }

    fn missing(doc: &Document) -> Vec<String> {
        match render(doc) {
            Err(DocumentError::Missing(names)) => names,
            other => panic!("expected Missing, got {other:?}"),
        }
    }

    fn inconsistent(doc: &Document) -> String {
        match render(doc) {
            Err(DocumentError::Inconsistent(msg)) => msg,
            other => panic!("expected Inconsistent, got {other:?}"),
        }
    }

    #[test]
    fn totals_in_the_xml_equal_the_document() {
        let xml = render(&sample()).unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rsm:CrossIndustryInvoice "));
        let summation = &xml[xml.find("<ram:SpecifiedTradeSettlementHeaderMonetarySummation>").unwrap()..];
        assert_eq!(text_of(summation, "ram:LineTotalAmount"), "307.77");
        assert_eq!(text_of(summation, "ram:TaxBasisTotalAmount"), "307.77");
        assert_eq!(text_of(summation, "ram:TaxTotalAmount"), "57.54");
        assert!(summation.contains("<ram:TaxTotalAmount currencyID=\"EUR\">"));
        assert_eq!(text_of(summation, "ram:GrandTotalAmount"), "365.31");
        assert_eq!(text_of(summation, "ram:DuePayableAmount"), "365.31");
        assert_eq!(text_of(&xml, "ram:TypeCode"), "380");
        assert_eq!(text_of(&xml, "ram:BuyerReference"), "K-1", "falls back to the customer number");
        assert_eq!(xml.matches("<ram:CalculatedAmount>").count(), 2);
        assert!(xml.contains("<ram:CalculatedAmount>0.54</ram:CalculatedAmount>"));
        assert!(xml.contains("<ram:RateApplicablePercent>7</ram:RateApplicablePercent>"));
        assert!(xml.contains("<ram:LineTotalAmount>200.00</ram:LineTotalAmount>"));
        assert_eq!(text_of(&xml, "ram:IBANID"), "DE02120300000000202051");
        assert!(!xml.contains("></"), "no empty elements");
    }

    #[test]
    fn missing_seller_fields_are_all_listed() {
        let mut doc = sample();
        doc.seller = Party {
            address: Address { street: None, postal_code: Some(" ".into()), city: None, country: "".into() },
            electronic_address: None,
            ..party("", "")
        };
        doc.payee_account = None;
        assert_eq!(
            missing(&doc),
            [
                "seller.legal_name",
                "seller.postal_code",
                "seller.city",
                "seller.country",
                "seller.contact_name",
                "seller.contact_phone",
                "seller.contact_email",
                "seller.electronic_address",
                "seller.vat_id",
                "seller.iban",
            ]
        );
    }

    #[test]
    fn missing_buyer_fields_and_references() {
        let mut doc = sample();
        doc.vat_category = VatCategory::ReverseCharge;
        doc.buyer = Party { address: Address::default(), electronic_address: None, ..party("Wien GmbH", "AT") };
        doc.due_date = None;
        assert_eq!(
            missing(&doc),
            [
                "buyer_reference",
                "due_date",
                "buyer.postal_code",
                "buyer.city",
                "buyer.country",
                "buyer.electronic_address",
                "buyer.vat_id"
            ]
        );
    }

    #[test]
    fn seller_tax_number_instead_of_vat_id() {
        let mut doc = sample();
        doc.seller.vat_id = None;
        doc.seller.tax_number = Some("30/123/45678".into());
        assert_eq!(missing(&doc), ["seller.commercial_register"], "BR-CO-26");
        doc.seller.commercial_register = Some("HRB 1, AG Berlin".into());
        let xml = render(&doc).unwrap();
        assert!(xml.contains("<ram:ID schemeID=\"FC\">30/123/45678</ram:ID>"));
        doc.vat_category = VatCategory::Export;
        assert_eq!(missing(&doc), ["seller.vat_id"], "BR-G-02 needs the VAT id");
    }

    #[test]
    fn credit_note_needs_the_preceding_invoice() {
        let mut doc = sample();
        doc.kind = DocumentKind::CreditNote;
        assert_eq!(render(&doc), Err(DocumentError::Missing(vec!["preceding_invoice".into()])));
        doc.preceding = Some(PrecedingInvoice { number: "RE-0".into(), issue_date: date!(2026 - 10 - 31) });
        let xml = render(&doc).unwrap();
        assert_eq!(text_of(&xml, "ram:TypeCode"), "381");
        assert_eq!(text_of(&xml, "ram:GrandTotalAmount"), "365.31");
        let reference = &xml[xml.find("<ram:InvoiceReferencedDocument>").unwrap()..];
        assert_eq!(text_of(reference, "ram:IssuerAssignedID"), "RE-0");
        assert_eq!(text_of(reference, "qdt:DateTimeString"), "20261031");
    }

    #[test]
    fn inconsistent_totals_are_rejected() {
        let mut doc = sample();
        doc.gross = dec("365.30");
        assert!(inconsistent(&doc).contains("gross"));

        let mut doc = sample();
        doc.lines[0].net = dec("100.01");
        assert!(inconsistent(&doc).contains("line nets"));

        let mut doc = sample();
        doc.vat[1].vat = dec("57.01");
        doc.vat_total = dec("57.54");
        assert!(inconsistent(&doc).contains("VAT total"));

        let mut doc = sample();
        doc.vat[1].net = dec("299");
        assert!(inconsistent(&doc).contains("taxable amount"));

        let mut doc = sample();
        doc.vat[1].vat = dec("58.00");
        doc.vat_total = dec("58.54");
        doc.gross = dec("366.31");
        assert!(inconsistent(&doc).contains("is not 19 %"), "BR-S-09");

        let mut doc = sample();
        doc.vat.remove(0);
        assert!(inconsistent(&doc).contains("missing from the VAT breakdown"));

        let mut doc = sample();
        doc.vat_category = VatCategory::Export;
        assert!(inconsistent(&doc).contains("0 % VAT category"));

        let mut doc = sample();
        doc.period = Some((date!(2026 - 11 - 30), date!(2026 - 11 - 01)));
        assert!(inconsistent(&doc).contains("period"));
    }

    #[test]
    fn optional_values_never_render_as_empty_elements() {
        let mut doc = sample();
        doc.buyer.address.street = Some("  ".into());
        doc.order_reference = Some(String::new());
        doc.notes = vec![String::new(), "Danke".into()];
        doc.lines[0].description = " ".into();
        let xml = render(&doc).unwrap();
        assert!(!xml.contains("></"));
        assert!(!xml.contains("BuyerOrderReferencedDocument"));
        assert_eq!(xml.matches("<ram:IncludedNote>").count(), 1);
        assert!(xml.contains("<ram:Name>Position 1</ram:Name>"));
        assert_eq!(xml.matches("<ram:LineOne>").count(), 1, "only the seller's street");
    }
}

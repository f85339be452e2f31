//! ISDOC 6.0.2 (Czech e-invoice XML).
//!
//! This module owns the ISDOC rendering of a [`Document`]: [`render`] checks that the document
//! carries what an ISDOC invoice needs and that its figures add up (ISDOC's own validation does
//! not check arithmetic), then writes the `Invoice` XML (UTF-8, namespace
//! [`ISDOC_NAMESPACE`], `version="6.0.2"`) in the element order of the ISDOC 6.0.2 XSD. The
//! output passes the ISDOC XSD and the business rules of the ISDOC specification;
//! `documents/tests/isdoc.rs` checks that with the offline validator in `shared/tools/einvoice`.
//!
//! Amounts are written in the document currency as `LocalCurrencyCode` with rates 1 (no
//! `…Curr` foreign-currency amounts). A credit note is `DocumentType` 2 with positive amounts,
//! as the ISDOC rules demand, and references the invoice it corrects.

mod check;
mod values;

use rust_decimal::Decimal;

use crate::xml::{amount, non_blank, percent, price, quantity, round2, XmlWriter};
use crate::{Document, DocumentError, DocumentKind, DocumentLine, LineUnit, Party};
use values::{country_name, domestic_account, iso_date, split_street, variable_symbol};

/// XML namespace of ISDOC 6.x documents.
pub const ISDOC_NAMESPACE: &str = "http://isdoc.cz/namespace/2013";

/// The ISDOC version written to `Invoice/@version`.
pub const ISDOC_VERSION: &str = "6.0.2";

/// `IssuingSystem`: the system that produced the document.
const ISSUING_SYSTEM: &str = "Kontor";

/// Renders `doc` as an ISDOC 6.0.2 invoice (UTF-8 XML with declaration).
///
/// `DocumentType` 1 for an invoice, 2 for a credit note (positive amounts, with
/// `OriginalDocumentReferences` naming the invoice it corrects). The document's UUID is
/// written upper-case. The VAT breakdown and the totals are written as the document gives them;
/// each line's VAT is computed from its net (rounded half away from zero), so the lines' VAT
/// may differ from the breakdown by rounding, which ISDOC allows (the breakdown prevails).
///
/// # Errors
/// - [`DocumentError::Missing`] with every required field that is absent or blank, named as
///   the API spells them (`seller.postal_code`, `buyer.city`, `lines`, `preceding_invoice`, …);
/// - [`DocumentError::Inconsistent`] when the UUID is malformed, or the lines, the VAT
///   breakdown and the totals do not add up (after rounding to the minor unit), or a line's
///   VAT rate does not fit the document's VAT category.
pub fn render(doc: &Document) -> Result<String, DocumentError> {
    let missing = check::missing_fields(doc);
    if !missing.is_empty() {
        return Err(DocumentError::Missing(missing));
    }
    let uuid = check::normalized_uuid(&doc.uuid)?;
    check::check_consistency(doc)?;

    let mut w = XmlWriter::new();
    w.open_with("Invoice", &[("xmlns", ISDOC_NAMESPACE), ("version", ISDOC_VERSION)]);
    header(&mut w, doc, &uuid);
    w.open("AccountingSupplierParty");
    party(&mut w, &doc.seller, true);
    w.close("AccountingSupplierParty");
    w.open("AccountingCustomerParty");
    party(&mut w, &doc.buyer, false);
    w.close("AccountingCustomerParty");
    references(&mut w, doc);
    w.open("InvoiceLines");
    for line in &doc.lines {
        invoice_line(&mut w, line);
    }
    w.close("InvoiceLines");
    tax_total(&mut w, doc);
    monetary_total(&mut w, doc);
    payment_means(&mut w, doc);
    w.close("Invoice");
    Ok(w.finish())
}

/// UN/ECE Recommendation 20 code of a line unit (ISDOC's `unitCode` is free text; receivers
/// expect Rec 20 codes).
fn unit_code(unit: LineUnit) -> &'static str {
    match unit {
        LineUnit::Hour => "HUR",
        LineUnit::Km => "KMT",
        LineUnit::Piece => "C62",
        LineUnit::Flat => "LS",
    }
}

/// Header elements from `DocumentType` to `RefCurrRate`, in XSD order.
fn header(w: &mut XmlWriter, doc: &Document, uuid: &str) {
    let credit_note = doc.kind == DocumentKind::CreditNote;
    w.leaf("DocumentType", if credit_note { "2" } else { "1" });
    w.leaf("ID", doc.number.trim());
    w.leaf("UUID", uuid);
    w.leaf("IssuingSystem", ISSUING_SYSTEM);
    w.leaf("IssueDate", &iso_date(doc.issue_date));
    // Date of taxable supply: the end of the service period, else the issue date. Not on a
    // credit note: its tax point is the day the buyer receives it (ISDOC rules, Czech VAT act).
    if !credit_note {
        let tax_point = doc.period.map_or(doc.issue_date, |(_, end)| end);
        w.leaf("TaxPointDate", &iso_date(tax_point));
    }
    w.leaf("VATApplicable", "true");
    w.leaf("ElectronicPossibilityAgreementReference", "");
    // ISDOC has a single `Note` and no payment terms text: both go there, one per line.
    let note: Vec<&str> =
        doc.notes.iter().map(String::as_str).chain(doc.payment_terms.as_deref()).filter_map(non_blank).collect();
    if !note.is_empty() {
        w.leaf("Note", &note.join("\n"));
    }
    w.leaf("LocalCurrencyCode", &doc.currency.trim().to_ascii_uppercase());
    w.leaf("CurrRate", "1");
    w.leaf("RefCurrRate", "1");
}

/// `Party` of the seller or the buyer, children in `PartyType` order: PartyIdentification,
/// PartyName, PostalAddress, PartyTaxScheme, RegisterIdentification, Contact.
fn party(w: &mut XmlWriter, p: &Party, seller: bool) {
    let vat_id = p.vat_id.as_deref().and_then(non_blank);
    // Seller: IČO / tax number, else the VAT id; buyer: its customer number, else the VAT id;
    // the name when there is nothing else (the element is mandatory).
    let own_id = if seller { p.tax_number.as_deref() } else { p.id.as_deref() };
    let id = own_id.and_then(non_blank).or(vat_id).unwrap_or(p.name.trim());

    w.open("Party");
    w.open("PartyIdentification");
    w.leaf("ID", id);
    w.close("PartyIdentification");
    w.open("PartyName");
    w.leaf("Name", p.name.trim());
    w.close("PartyName");

    let a = &p.address;
    let (street, building) = split_street(a.street.as_deref().unwrap_or(""));
    let country = a.country.trim().to_ascii_uppercase();
    w.open("PostalAddress");
    w.leaf("StreetName", street);
    w.leaf("BuildingNumber", building);
    w.leaf("CityName", a.city.as_deref().unwrap_or("").trim());
    w.leaf("PostalZone", a.postal_code.as_deref().unwrap_or("").trim());
    w.open("Country");
    w.leaf("IdentificationCode", &country);
    w.leaf("Name", country_name(&country));
    w.close("Country");
    w.close("PostalAddress");

    if let Some(vat_id) = vat_id {
        w.open("PartyTaxScheme");
        w.leaf("CompanyID", vat_id);
        w.leaf("TaxScheme", "VAT");
        w.close("PartyTaxScheme");
    }
    if seller {
        if let Some(register) = p.commercial_register.as_deref().and_then(non_blank) {
            w.open("RegisterIdentification");
            w.leaf("Preformatted", register);
            w.close("RegisterIdentification");
        }
    }
    let contact = p
        .contact
        .as_ref()
        .filter(|c| seller && [&c.name, &c.phone, &c.email].into_iter().any(|s| non_blank(s).is_some()));
    if let Some(c) = contact {
        w.open("Contact");
        w.opt_leaf("Name", Some(&c.name));
        w.opt_leaf("Telephone", Some(&c.phone));
        w.opt_leaf("ElectronicMail", Some(&c.email));
        w.close("Contact");
    }
    w.close("Party");
}

/// `OrderReferences` (the buyer's order) and, for a credit note, `OriginalDocumentReferences`.
fn references(w: &mut XmlWriter, doc: &Document) {
    if let Some(order) = doc.order_reference.as_deref().and_then(non_blank) {
        // Only the buyer's order number is known: it stands for the seller's id too.
        w.open("OrderReferences");
        w.open("OrderReference");
        w.leaf("SalesOrderID", order);
        w.leaf("ExternalOrderID", order);
        w.close("OrderReference");
        w.close("OrderReferences");
    }
    if let Some(p) = doc.preceding.as_ref().filter(|_| doc.kind == DocumentKind::CreditNote) {
        w.open("OriginalDocumentReferences");
        w.open("OriginalDocumentReference");
        w.leaf("ID", p.number.trim());
        w.leaf("IssueDate", &iso_date(p.issue_date));
        w.close("OriginalDocumentReference");
        w.close("OriginalDocumentReferences");
    }
}

/// The VAT of one line: net × rate / 100, rounded half away from zero to the minor unit.
fn line_vat(line: &DocumentLine) -> Decimal {
    round2(round2(line.net) * line.vat_rate / Decimal::ONE_HUNDRED)
}

/// One `InvoiceLine` in `InvoiceLineType` order. Amounts keep their sign (a discount line is
/// negative, which ISDOC allows for a minority of lines).
fn invoice_line(w: &mut XmlWriter, line: &DocumentLine) {
    let net = round2(line.net);
    let vat = line_vat(line);
    let gross_price = line.unit_price * (Decimal::ONE_HUNDRED + line.vat_rate) / Decimal::ONE_HUNDRED;

    w.open("InvoiceLine");
    w.leaf("ID", &line.line_no.to_string());
    w.leaf_with("InvoicedQuantity", &[("unitCode", unit_code(line.unit))], &quantity(line.quantity));
    w.leaf("LineExtensionAmount", &amount(net));
    w.leaf("LineExtensionAmountTaxInclusive", &amount(net + vat));
    w.leaf("LineExtensionTaxAmount", &amount(vat));
    w.leaf("UnitPrice", &price(line.unit_price));
    w.leaf("UnitPriceTaxInclusive", &price(gross_price));
    w.open("ClassifiedTaxCategory");
    w.leaf("Percent", &percent(line.vat_rate));
    w.leaf("VATCalculationMethod", "0"); // VAT computed from the net amount
    w.close("ClassifiedTaxCategory");
    if let Some(description) = non_blank(&line.description) {
        w.open("Item");
        w.leaf("Description", description);
        w.close("Item");
    }
    w.close("InvoiceLine");
}

/// `TaxTotal`: one `TaxSubTotal` per VAT rate (nothing claimed by advance invoices, so the
/// differences equal the amounts), then the VAT total.
fn tax_total(w: &mut XmlWriter, doc: &Document) {
    w.open("TaxTotal");
    for sub in &doc.vat {
        let (net, vat) = (round2(sub.net), round2(sub.vat));
        w.open("TaxSubTotal");
        w.leaf("TaxableAmount", &amount(net));
        w.leaf("TaxAmount", &amount(vat));
        w.leaf("TaxInclusiveAmount", &amount(net + vat));
        w.leaf("AlreadyClaimedTaxableAmount", &amount(Decimal::ZERO));
        w.leaf("AlreadyClaimedTaxAmount", &amount(Decimal::ZERO));
        w.leaf("AlreadyClaimedTaxInclusiveAmount", &amount(Decimal::ZERO));
        w.leaf("DifferenceTaxableAmount", &amount(net));
        w.leaf("DifferenceTaxAmount", &amount(vat));
        w.leaf("DifferenceTaxInclusiveAmount", &amount(net + vat));
        w.open("TaxCategory");
        w.leaf("Percent", &percent(sub.rate));
        w.close("TaxCategory");
        w.close("TaxSubTotal");
    }
    w.leaf("TaxAmount", &amount(doc.vat_total));
    w.close("TaxTotal");
}

/// `LegalMonetaryTotal`: no advance invoices, no deposits, no rounding, so the payable amount
/// is the gross total.
fn monetary_total(w: &mut XmlWriter, doc: &Document) {
    let (net, gross) = (amount(doc.net), amount(doc.gross));
    w.open("LegalMonetaryTotal");
    w.leaf("TaxExclusiveAmount", &net);
    w.leaf("TaxInclusiveAmount", &gross);
    w.leaf("AlreadyClaimedTaxExclusiveAmount", &amount(Decimal::ZERO));
    w.leaf("AlreadyClaimedTaxInclusiveAmount", &amount(Decimal::ZERO));
    w.leaf("DifferenceTaxExclusiveAmount", &net);
    w.leaf("DifferenceTaxInclusiveAmount", &gross);
    w.leaf("PaidDepositsAmount", &amount(Decimal::ZERO));
    w.leaf("PayableAmount", &gross);
    w.close("LegalMonetaryTotal");
}

/// `PaymentMeans`: bank transfer (42) of the gross total to the payee account, due on the due
/// date (else the issue date). Only on an invoice with an amount due and an IBAN: without
/// `PaymentMeans` an ISDOC document tells the receiver to pay nothing, which is right for a
/// credit note. The domestic account number, bank code and variable symbol are filled for
/// Czech and Slovak accounts (the bank account group's elements are mandatory but may be empty).
fn payment_means(w: &mut XmlWriter, doc: &Document) {
    let Some(account) = doc.payee_account.as_ref().filter(|a| non_blank(&a.iban).is_some()) else {
        return;
    };
    if doc.kind != DocumentKind::Invoice || round2(doc.gross) <= Decimal::ZERO {
        return;
    }
    let iban: String = account.iban.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let (local_id, bank_code) = domestic_account(&iban).unwrap_or_default();
    w.open("PaymentMeans");
    w.open("Payment");
    w.leaf("PaidAmount", &amount(doc.gross));
    w.leaf("PaymentMeansCode", "42");
    w.open("Details");
    w.leaf("PaymentDueDate", &iso_date(doc.due_date.unwrap_or(doc.issue_date)));
    w.leaf("ID", &local_id);
    w.leaf("BankCode", &bank_code);
    w.leaf("Name", account.bank_name.as_deref().unwrap_or("").trim());
    w.leaf("IBAN", &iban);
    w.leaf("BIC", account.bic.as_deref().unwrap_or("").trim());
    if !local_id.is_empty() {
        w.opt_leaf("VariableSymbol", variable_symbol(&doc.number).as_deref());
    }
    w.close("Details");
    w.close("Payment");
    w.close("PaymentMeans");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, Contact, PaymentAccount, PrecedingInvoice, VatCategory, VatSubtotal};
    use std::str::FromStr;
    use time::macros::date;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn party(name: &str, street: &str) -> Party {
        Party {
            name: name.into(),
            address: Address {
                street: Some(street.into()),
                postal_code: Some("120 00".into()),
                city: Some("Praha".into()),
                country: "CZ".into(),
            },
            vat_id: None,
            tax_number: None,
            commercial_register: None,
            electronic_address: None,
            contact: None,
            id: None,
        }
    }

    /// Two lines at 21 %, one at 12 %: net 3000.00 + 333.33, VAT 630.00 + 40.00.
    fn sample() -> Document {
        let line = |line_no, net: &str, rate: &str| DocumentLine {
            line_no,
            description: format!("Položka {line_no}"),
            quantity: Decimal::ONE,
            unit: LineUnit::Hour,
            unit_price: dec(net),
            net: dec(net),
            vat_rate: dec(rate),
        };
        Document {
            kind: DocumentKind::Invoice,
            number: "FV-2026-0042".into(),
            issue_date: date!(2026 - 11 - 30),
            due_date: Some(date!(2026 - 12 - 14)),
            currency: "CZK".into(),
            buyer_reference: None,
            order_reference: None,
            seller: Party {
                vat_id: Some("CZ12345678".into()),
                tax_number: Some("12345678".into()),
                contact: Some(Contact { name: "Jana".into(), phone: " ".into(), email: "j@example.cz".into() }),
                ..party("Dvořák s.r.o.", "Vinohradská 12/34")
            },
            buyer: Party { id: Some("Z-7".into()), ..party("Šťastný a.s.", "Dlouhá") },
            vat_category: VatCategory::Standard,
            period: None,
            payment_terms: None,
            payee_account: Some(PaymentAccount {
                iban: "CZ65 0800 0000 1920 0014 5399".into(),
                bic: Some("GIBACZPX".into()),
                bank_name: None,
            }),
            notes: vec![],
            lines: vec![line(1, "1000", "21"), line(2, "2000", "21"), line(3, "333.33", "12")],
            vat: vec![
                VatSubtotal { rate: dec("12"), net: dec("333.33"), vat: dec("40.00") },
                VatSubtotal { rate: dec("21"), net: dec("3000"), vat: dec("630") },
            ],
            net: dec("3333.33"),
            vat_total: dec("670.00"),
            gross: dec("4003.33"),
            preceding: None,
            footer_lines: Vec::new(),
            logo: None,
            uuid: "8f14e45f-ceea-467f-a8f5-5e3c6c1d9b2a".into(),
        }
    }

    /// The text of the first `<tag>…</tag>` in `xml`.
    fn text_of<'a>(xml: &'a str, tag: &str) -> &'a str {
        let start = xml.find(&format!("<{tag}>")).unwrap_or_else(|| panic!("{tag} missing")) + tag.len() + 2;
        &xml[start..start + xml[start..].find(&format!("</{tag}>")).unwrap()]
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
    fn splits_street_and_building_number() {
        assert_eq!(split_street("Vinohradská 12/34"), ("Vinohradská", "12/34"));
        assert_eq!(split_street("Hauptstraße 1"), ("Hauptstraße", "1"));
        assert_eq!(split_street("  Mariahilfer Straße  10a "), ("Mariahilfer Straße", "10a"));
        assert_eq!(split_street("ul. Piotrkowska 12"), ("ul. Piotrkowska", "12"));
        assert_eq!(split_street("Dlouhá"), ("Dlouhá", ""));
        assert_eq!(split_street("Na Příkopě"), ("Na Příkopě", ""));
        assert_eq!(split_street("12 Baker Street"), ("12 Baker Street", ""));
        assert_eq!(split_street("42"), ("42", ""));
        assert_eq!(split_street(""), ("", ""));
    }

    #[test]
    fn header_parties_and_lines() {
        let xml = render(&sample()).unwrap();
        assert!(xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Invoice xmlns=\"http://isdoc.cz/namespace/2013\" version=\"6.0.2\">\n"
        ));
        assert_eq!(text_of(&xml, "DocumentType"), "1");
        assert_eq!(text_of(&xml, "TaxPointDate"), "2026-11-30");
        assert!(xml.contains("<ElectronicPossibilityAgreementReference></ElectronicPossibilityAgreementReference>"));
        assert!(xml.contains("<StreetName>Vinohradská</StreetName>\n"));
        assert!(xml.contains("<BuildingNumber>12/34</BuildingNumber>\n"));
        assert!(xml.contains("<StreetName>Dlouhá</StreetName>\n"));
        assert!(xml.contains("<BuildingNumber></BuildingNumber>\n"));
        assert!(xml.contains("<Name>Česká republika</Name>"));
        assert!(xml.contains("<ID>12345678</ID>"), "seller by tax number");
        assert!(xml.contains("<ID>Z-7</ID>"), "buyer by customer number");
        assert_eq!(text_of(&xml, "CompanyID"), "CZ12345678");
        assert!(xml.contains("<Contact>\n"));
        assert!(!xml.contains("<Telephone>"), "blank phone left out");
        assert!(xml.contains("<InvoicedQuantity unitCode=\"HUR\">1</InvoicedQuantity>"));
        assert!(xml.contains("<LineExtensionTaxAmount>40.00</LineExtensionTaxAmount>"), "333.33 × 12 % = 39.9996");
        assert!(xml.contains("<UnitPriceTaxInclusive>373.3296</UnitPriceTaxInclusive>"));
        assert_eq!(text_of(&xml, "PayableAmount"), "4003.33");
        assert_eq!(text_of(&xml, "IBAN"), "CZ6508000000192000145399");
        assert!(xml.contains("<ID>19-2000145399</ID>\n"));
        assert_eq!(text_of(&xml, "BankCode"), "0800");
        assert_eq!(text_of(&xml, "VariableSymbol"), "20260042");
        assert!(!xml.contains("OriginalDocumentReferences"));
    }

    #[test]
    fn notes_period_and_order() {
        let mut doc = sample();
        doc.notes = vec!["Děkujeme.".into(), " ".into(), "A & B".into()];
        doc.payment_terms = Some("Splatnost 14 dní".into());
        doc.period = Some((date!(2026 - 11 - 01), date!(2026 - 11 - 28)));
        doc.order_reference = Some("OBJ-7".into());
        let xml = render(&doc).unwrap();
        assert_eq!(xml.matches("<Note>").count(), 1);
        assert_eq!(text_of(&xml, "Note"), "Děkujeme.\nA &amp; B\nSplatnost 14 dní");
        assert_eq!(text_of(&xml, "TaxPointDate"), "2026-11-28");
        assert_eq!(text_of(&xml, "ExternalOrderID"), "OBJ-7");
    }

    #[test]
    fn missing_fields_are_all_listed() {
        let mut doc = sample();
        doc.seller = Party {
            address: Address { street: None, postal_code: Some(" ".into()), city: None, country: "".into() },
            ..party("", "")
        };
        doc.buyer.address.city = Some(String::new());
        doc.lines.clear();
        doc.uuid = " ".into();
        assert_eq!(
            missing(&doc),
            ["uuid", "seller.legal_name", "seller.postal_code", "seller.city", "seller.country", "buyer.city", "lines"]
        );
    }

    #[test]
    fn credit_note_needs_the_preceding_invoice() {
        let mut doc = sample();
        doc.kind = DocumentKind::CreditNote;
        assert_eq!(render(&doc), Err(DocumentError::Missing(vec!["preceding_invoice".into()])));
        doc.preceding = Some(PrecedingInvoice { number: "FV-2026-0041".into(), issue_date: date!(2026 - 10 - 31) });
        let xml = render(&doc).unwrap();
        assert_eq!(text_of(&xml, "DocumentType"), "2");
        let reference = &xml[xml.find("<OriginalDocumentReference>").unwrap()..];
        assert_eq!(text_of(reference, "ID"), "FV-2026-0041");
        assert_eq!(text_of(reference, "IssueDate"), "2026-10-31");
        assert_eq!(text_of(&xml, "PayableAmount"), "4003.33", "positive amounts");
        assert!(!xml.contains("<TaxPointDate>"));
        assert!(!xml.contains("<PaymentMeans>"), "nothing to pay on a credit note");
    }

    #[test]
    fn uuid_is_checked_and_upper_cased() {
        let xml = render(&sample()).unwrap();
        assert_eq!(text_of(&xml, "UUID"), "8F14E45F-CEEA-467F-A8F5-5E3C6C1D9B2A");
        assert_eq!(
            check::normalized_uuid(" 6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8 ").unwrap(),
            "6F1C2A3B-4D5E-4F60-8172-93A4B5C6D7E8"
        );
        for bad in [
            "8f14e45fceea467fa8f55e3c6c1d9b2a",
            "8f14e45f-ceea-467f-a8f5-5e3c6c1d9b2",
            "g014e45f-ceea-467f-a8f5-5e3c6c1d9b2a",
        ] {
            let mut doc = sample();
            doc.uuid = bad.into();
            assert!(inconsistent(&doc).contains("not a UUID"), "{bad}");
        }
        let mut doc = sample();
        doc.uuid = "00000000-0000-0000-0000-000000000000".into();
        assert!(inconsistent(&doc).contains("nil"));
    }

    #[test]
    fn inconsistent_totals_are_rejected() {
        let mut doc = sample();
        doc.gross = dec("4003.34");
        assert!(inconsistent(&doc).contains("gross"));

        let mut doc = sample();
        doc.lines[0].net = dec("1000.01");
        assert!(inconsistent(&doc).contains("line nets"));

        let mut doc = sample();
        doc.vat_total = dec("670.01");
        assert!(inconsistent(&doc).contains("VAT total"));

        let mut doc = sample();
        doc.vat.remove(0);
        assert!(inconsistent(&doc).contains("missing from the VAT breakdown"));

        let mut doc = sample();
        doc.vat_category = VatCategory::ReverseCharge;
        assert!(inconsistent(&doc).contains("0 % VAT category"));

        let mut doc = sample();
        doc.currency = "Kč".into();
        assert!(inconsistent(&doc).contains("ISO 4217"));
    }

    #[test]
    fn payment_values() {
        assert_eq!(values::domestic_account("CZ6508000000192000145399"), Some(("19-2000145399".into(), "0800".into())));
        assert_eq!(values::domestic_account("CZ5503000000000000012345"), Some(("12345".into(), "0300".into())));
        assert_eq!(values::domestic_account("DE02120300000000202051"), None);
        assert_eq!(variable_symbol("FV-2026-0042").as_deref(), Some("20260042"));
        assert_eq!(variable_symbol("RE-2026-00000000042"), None, "more than 10 digits");
        assert_eq!(variable_symbol("ABC"), None);
        assert_eq!(country_name("DE"), "Německo");
        assert_eq!(country_name("XK"), "XK");
    }
}

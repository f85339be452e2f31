//! XRechnung 3.0 CII output of `documents::cii::render`, checked with the offline validator
//! (`shared/tools/einvoice/validate`, KoSIT XRechnung 3.0.2 + EN 16931 schematron + D16B XSD).
//!
//! The validator is found via `EINVOICE_VALIDATE`, else next to the workspace
//! (`<workspace>/../shared/tools/einvoice/validate`). Where it is missing or not set up
//! (`setup.sh`), only well-formedness is checked and a note printed — unless
//! `KONTOR_REQUIRE_EINVOICE=1` (as `.ci/run` sets it), which makes a missing validator a
//! failure. With `KONTOR_EINVOICE_OUT` set, every rendered case is also written there as
//! `<case>.xml`.

mod common;

use common::fixtures::{buyer_at, buyer_de, document, line};
use documents::cii::render;
use documents::{Document, DocumentKind, ElectronicAddress, LineUnit, Party, PrecedingInvoice, VatCategory};
use time::macros::date;

/// Renders `doc`, checks it is well-formed (no empty element) and validates it (a copy as
/// `$KONTOR_EINVOICE_OUT/<case>.xml`). Returns the XML.
fn validate_case(case: &str, doc: &Document) -> String {
    let xml = render(doc).unwrap_or_else(|e| panic!("{case}: render failed: {e}"));
    common::assert_well_formed(&xml, &[]);
    common::validate_file(case, &format!("{case}.xml"), &xml);
    xml
}

#[test]
fn domestic_19() {
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        buyer_de(),
        vec![
            line(1, "Ticket #4711: Serverwartung", "2", LineUnit::Hour, "95", "19"),
            line(2, "Anfahrt", "42", LineUnit::Km, "0.30", "19"),
            line(3, "Pauschale Einrichtung", "1", LineUnit::Flat, "150", "19"),
        ],
    );
    doc.order_reference = Some("PO-2026-17".into());
    doc.buyer_reference = Some("Abteilung IT".into());
    doc.notes = vec!["Vielen Dank für Ihren Auftrag.".into(), "  ".into()];
    let xml = validate_case("domestic_19", &doc);
    assert!(xml.contains("<ram:BuyerReference>Abteilung IT</ram:BuyerReference>"));
    assert!(xml.contains("<ram:IssuerAssignedID>PO-2026-17</ram:IssuerAssignedID>"));
    assert!(xml.contains("<ram:BilledQuantity unitCode=\"KMT\">42</ram:BilledQuantity>"));
}

#[test]
fn mixed_19_and_7_with_period() {
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        buyer_de(),
        vec![
            line(1, "Beratung", "3.5", LineUnit::Hour, "120", "19"),
            line(2, "Fachbuch", "2", LineUnit::Piece, "39.90", "7"),
            line(3, "Lizenz (anteilig)", "1", LineUnit::Piece, "12.3456", "19"),
        ],
    );
    doc.period = Some((date!(2026 - 11 - 01), date!(2026 - 11 - 30)));
    doc.payment_terms = Some("Zahlbar innerhalb von 14 Tagen.\n#SKONTO#TAGE=7#PROZENT=2.00#".into());
    let xml = validate_case("mixed_19_7", &doc);
    assert_eq!(xml.matches("<ram:CategoryCode>S</ram:CategoryCode>").count(), 3 + 2);
    assert!(xml.contains("<ram:BillingSpecifiedPeriod>"));
    assert!(!xml.contains("ActualDeliverySupplyChainEvent"));
}

#[test]
fn reverse_charge_eu() {
    let buyer = Party {
        id: Some("K-20001".into()),
        ..buyer_at(
            "Wiener Technik GmbH",
            ["Mariahilfer Straße 10", "1070", "Wien", "AT"],
            Some("ATU12345678"),
            "invoice@wiener-technik.example",
        )
    };
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::ReverseCharge,
        buyer,
        vec![line(1, "Remote-Support", "10", LineUnit::Hour, "90", "0")],
    );
    doc.notes = vec!["Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge).".into()];
    let xml = validate_case("reverse_charge_eu", &doc);
    assert!(xml.contains("<ram:ExemptionReasonCode>VATEX-EU-AE</ram:ExemptionReasonCode>"));
    assert!(xml.contains("<ram:ID schemeID=\"VA\">ATU12345678</ram:ID>"));
}

#[test]
fn export_outside_eu() {
    let buyer = Party {
        id: Some("K-30001".into()),
        ..buyer_at(
            "Zürcher Daten AG",
            ["Bahnhofstrasse 1", "8001", "Zürich", "CH"],
            Some("CHE-123.456.789 MWST"),
            "kreditoren@zuercher-daten.example",
        )
    };
    let doc = document(
        DocumentKind::Invoice,
        VatCategory::Export,
        buyer,
        vec![
            line(1, "Hardware-Lieferung", "3", LineUnit::Piece, "499", "0"),
            line(2, "Installation", "4", LineUnit::Hour, "95", "0"),
        ],
    );
    let xml = validate_case("export_ch", &doc);
    assert!(xml.contains("<ram:ExemptionReasonCode>VATEX-EU-G</ram:ExemptionReasonCode>"));
}

#[test]
fn credit_note() {
    let mut doc = document(
        DocumentKind::CreditNote,
        VatCategory::Standard,
        buyer_de(),
        vec![line(1, "Gutschrift: doppelt berechnete Stunde", "1", LineUnit::Hour, "95", "19")],
    );
    doc.number = "GS-2026-00003".into();
    doc.due_date = None;
    doc.payment_terms = Some("Der Betrag wird Ihrem Konto gutgeschrieben.".into());
    doc.notes = vec!["Korrektur zu Rechnung RE-2026-00042".into()];
    doc.preceding = Some(PrecedingInvoice { number: "RE-2026-00042".into(), issue_date: date!(2026 - 11 - 30) });
    let xml = validate_case("credit_note", &doc);
    assert!(xml.contains("<ram:TypeCode>381</ram:TypeCode>"));
    assert!(xml.contains("<ram:GrandTotalAmount>113.05</ram:GrandTotalAmount>"));
    let summation = xml.find("</ram:SpecifiedTradeSettlementHeaderMonetarySummation>").unwrap();
    assert!(xml.find("<ram:InvoiceReferencedDocument>").unwrap() > summation);
}

#[test]
fn many_lines() {
    let lines = (1..=150)
        .map(|i| {
            let (unit, rate) = if i % 3 == 0 { (LineUnit::Piece, "7") } else { (LineUnit::Hour, "19") };
            let quantity = format!("{}.{}", i % 7 + 1, (i * 25) % 100);
            let price = format!("{}.{:02}", 10 + i % 50, (i * 37) % 100);
            line(i, &format!("Ticket #{}: Tätigkeit {i}", 1000 + i), &quantity, unit, &price, rate)
        })
        .collect();
    let doc = document(DocumentKind::Invoice, VatCategory::Standard, buyer_de(), lines);
    let xml = validate_case("lines_150", &doc);
    assert_eq!(xml.matches("<ram:IncludedSupplyChainTradeLineItem>").count(), 150);
}

#[test]
fn non_ascii_and_markup() {
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        Party {
            id: Some("K-\"40001\"".into()),
            ..buyer_at(
                "Dvořák s.r.o. & Partner <Łódź>",
                ["ul. Piotrkowska 12", "90-001", "Łódź", "PL"],
                None,
                "faktury@dvorak.example",
            )
        },
        vec![
            line(1, r#"Fix <script> & "quotes" 'single' > ok"#, "1", LineUnit::Hour, "80", "19"),
            line(2, "", "1", LineUnit::Flat, "20", "19"),
        ],
    );
    doc.seller.name = "Müller GmbH".into();
    doc.seller.contact.as_mut().unwrap().name = "Jürgen Weiß".into();
    let xml = validate_case("non_ascii", &doc);
    assert!(xml.contains("<ram:Name>Müller GmbH</ram:Name>"));
    assert!(xml.contains("<ram:Name>Dvořák s.r.o. &amp; Partner &lt;Łódź&gt;</ram:Name>"));
    assert!(xml.contains("<ram:CityName>Łódź</ram:CityName>"));
    assert!(xml.contains("Fix &lt;script&gt; &amp; &quot;quotes&quot; &apos;single&apos; &gt; ok"));
    assert!(xml.contains("<ram:Name>Position 2</ram:Name>"));
}

#[test]
fn seller_with_tax_number_only() {
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        buyer_de(),
        vec![line(1, "Wartungsvertrag November", "1", LineUnit::Flat, "250", "19")],
    );
    doc.seller.vat_id = None;
    let xml = validate_case("tax_number_only", &doc);
    assert!(xml.contains("<ram:ID schemeID=\"FC\">30/123/45678</ram:ID>"));
    assert!(!xml.contains("schemeID=\"VA\""));
}

#[test]
fn public_buyer_with_leitweg_id() {
    let buyer = Party {
        name: "Stadtverwaltung Musterstadt".into(),
        electronic_address: Some(ElectronicAddress { scheme: "0204".into(), value: "991-01234-44".into() }),
        ..buyer_de()
    };
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        buyer,
        vec![line(1, "Support ticket #4711: server maintenance", "2", LineUnit::Hour, "95", "19")],
    );
    doc.buyer_reference = Some("991-01234-44".into());
    let xml = validate_case("public_buyer", &doc);
    assert!(xml.contains("<ram:BuyerReference>991-01234-44</ram:BuyerReference>"));
}

#[test]
fn discount_line_with_negative_price() {
    let doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        buyer_de(),
        vec![
            line(1, "Beratung", "4", LineUnit::Hour, "100", "19"),
            line(2, "Treuerabatt", "1", LineUnit::Flat, "-40", "19"),
        ],
    );
    let xml = validate_case("discount_line", &doc);
    assert!(xml.contains("<ram:BilledQuantity unitCode=\"LS\">-1</ram:BilledQuantity>"));
    assert!(xml.contains("<ram:LineTotalAmount>-40.00</ram:LineTotalAmount>"));
}

#[test]
fn zero_total_without_account() {
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        buyer_de(),
        vec![line(1, "Kulanz: Fehleranalyse ohne Berechnung", "1.5", LineUnit::Hour, "0", "19")],
    );
    doc.payee_account = None;
    doc.due_date = None;
    doc.payment_terms = None;
    let xml = validate_case("zero_total", &doc);
    assert!(xml.contains("<ram:DuePayableAmount>0.00</ram:DuePayableAmount>"));
}

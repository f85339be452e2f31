//! The printed invoice and credit note (`documents::pdf`): every case is rendered as a
//! Factur-X PDF and checked twice — by the offline validator (the attached EN 16931 XML and the
//! Factur-X container: XMP `fx:` metadata, PDF/A-3 identification, `/AF`) and by text
//! extraction (`pdftotext`), which must find the number, the totals and every line's
//! description. Validator and `pdftotext` are required under `KONTOR_REQUIRE_EINVOICE=1` (as
//! `.ci/run` sets it); with `KONTOR_EINVOICE_OUT` set, each PDF is kept there for CI.

mod common;

use common::fixtures::{buyer_at, buyer_de, dec, document, line};
use documents::{Address, Document, DocumentKind, LineUnit, Party, PrecedingInvoice, VatCategory};
use rust_decimal::Decimal;
use time::macros::date;

/// `1.234,56`: how the PDF prints an amount.
fn german(d: Decimal) -> String {
    let plain = format!("{:.2}", d);
    let (int, frac) = plain.split_once('.').unwrap();
    let (sign, int) = int.strip_prefix('-').map_or(("", int), |i| ("-", i));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{frac}")
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Renders `doc` as Factur-X, validates it and checks its text; returns the text (empty where
/// `pdftotext` is not installed) and the PDF.
fn check_case(case: &str, doc: &Document) -> (String, Vec<u8>) {
    let pdf = documents::pdf::render_factur_x(doc).unwrap_or_else(|e| panic!("{case}: render failed: {e}"));
    assert!(pdf.starts_with(b"%PDF-1.7") && pdf.ends_with(b"%%EOF\n"));
    common::validate_file(case, &format!("{case}.pdf"), &pdf);
    let Some(text) = common::pdf_text(&pdf) else { return (String::new(), pdf) };
    let flat = squeeze(&text);
    assert!(text.contains(&doc.number), "{case}: number missing:\n{text}");
    for total in [doc.net, doc.gross] {
        assert!(
            text.contains(&format!("{} {}", german(total), doc.currency)),
            "{case}: total {total} missing:\n{text}"
        );
    }
    for v in &doc.vat {
        assert!(text.contains(&german(v.vat)), "{case}: VAT {} missing:\n{text}", v.vat);
    }
    for l in &doc.lines {
        assert!(flat.contains(&squeeze(&l.description)), "{case}: line {} missing:\n{text}", l.description);
        assert!(text.contains(&german(l.net)), "{case}: net of line {} missing", l.line_no);
    }
    (text, pdf)
}

#[test]
fn domestic_19_with_km_and_flat_lines() {
    let doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        buyer_de(),
        vec![
            line(1, "Ticket #4711: Drucker im Empfang eingerichtet", "1.5", LineUnit::Hour, "95", "19"),
            line(2, "Anfahrt Ticket #4711", "42", LineUnit::Km, "0.30", "19"),
            line(3, "Pauschale Einrichtung", "1", LineUnit::Flat, "150", "19"),
        ],
    );
    let (text, _) = check_case("pdf_domestic_19", &doc);
    if text.is_empty() {
        return;
    }
    for expected in ["Rechnung RE-2026-00042", "Beispiel AG", "80331 München", "Fällig am", "14.12.2026"] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    assert!(text.contains("DE02120300000000202051") && text.contains("USt-IdNr. DE123456789"));
    assert!(text.contains("Seite 1 von 1"));
    assert!(text.contains("42 km") || squeeze(&text).contains("42km"));
}

#[test]
fn mixed_19_and_7_prints_a_rate_column_and_vat_per_rate() {
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        buyer_de(),
        vec![
            line(1, "Fernwartung Server", "2", LineUnit::Hour, "96", "19"),
            line(2, "Fachbuch Netzwerktechnik", "1", LineUnit::Piece, "39.90", "7"),
        ],
    );
    doc.period = Some((date!(2026 - 11 - 01), date!(2026 - 11 - 30)));
    let (text, _) = check_case("pdf_mixed_19_7", &doc);
    if !text.is_empty() {
        assert!(text.contains("USt. 19 % auf 192,00 EUR") && text.contains("USt. 7 % auf 39,90 EUR"), "{text}");
        assert!(text.contains("01.11.2026 – 30.11.2026"), "{text}");
    }
}

#[test]
fn reverse_charge_and_export_carry_their_legal_note() {
    let eu = buyer_at(
        "Dvořák s.r.o.",
        ["Václavské náměstí 1", "110 00", "Praha", "CZ"],
        Some("CZ12345678"),
        "faktury@dvorak.example",
    );
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::ReverseCharge,
        eu,
        vec![line(1, "Migration Mailserver", "8", LineUnit::Hour, "110", "0")],
    );
    doc.notes = vec!["Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge).".into()];
    let (text, _) = check_case("pdf_reverse_charge", &doc);
    if !text.is_empty() {
        assert!(
            text.contains("TSCHECHIEN") && text.contains("CZ12345678") && text.contains("Reverse Charge"),
            "{text}"
        );
    }

    let ch = buyer_at(
        "Zürcher Treuhand AG",
        ["Bahnhofstrasse 1", "8001", "Zürich", "CH"],
        None,
        "kreditoren@treuhand.example",
    );
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::Export,
        ch,
        vec![line(1, "Beratung", "3", LineUnit::Hour, "120", "0")],
    );
    doc.notes = vec!["Nicht im Inland steuerbare Leistung.".into()];
    let (text, _) = check_case("pdf_export", &doc);
    if !text.is_empty() {
        assert!(text.contains("SCHWEIZ") && text.contains("Ausfuhr"), "{text}");
    }
}

#[test]
fn a_credit_note_names_the_invoice_it_corrects() {
    let mut doc = document(
        DocumentKind::CreditNote,
        VatCategory::Standard,
        buyer_de(),
        vec![line(1, "Gutschrift: doppelt berechnete Stunde", "1", LineUnit::Hour, "95", "19")],
    );
    doc.number = "GS-2026-00003".into();
    doc.due_date = None;
    doc.preceding = Some(PrecedingInvoice { number: "RE-2026-00042".into(), issue_date: date!(2026 - 11 - 30) });
    let (text, _) = check_case("pdf_credit_note", &doc);
    if !text.is_empty() {
        assert!(text.contains("Rechnungskorrektur GS-2026-00003"), "{text}");
        assert!(text.contains("zur Rechnung RE-2026-00042 vom 30.11.2026"), "{text}");
        assert!(text.contains("Gutschriftsbetrag") && !text.contains("Bitte überweisen"), "{text}");
    }
}

#[test]
fn a_prepaid_contract_with_fee_overage_and_covered_work() {
    let doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        buyer_de(),
        vec![
            line(1, "Servicevertrag SV-12 Kontingent Dezember 2026 (20 Std.)", "1", LineUnit::Flat, "1800", "19"),
            line(2, "Ticket #5001: Firewall-Update (im Kontingent)", "3", LineUnit::Hour, "0", "19"),
            line(3, "Mehrstunden über Kontingent November 2026", "2.25", LineUnit::Hour, "105", "19"),
            line(
                4,
                "Wartungspauschale mit abgedeckter Arbeit: Ticket #5002 Backup geprüft",
                "1",
                LineUnit::Flat,
                "250",
                "19",
            ),
        ],
    );
    check_case("pdf_prepaid_contract", &doc);
}

#[test]
fn non_ascii_names_print_as_they_are() {
    let buyer = buyer_at(
        "Łódź Dvořák & Müller Sp. z o.o.",
        ["ul. Piotrkowska 12", "90-001", "Łódź", "PL"],
        Some("PL1234567890"),
        "faktury@lodz.example",
    );
    let doc = document(
        DocumentKind::Invoice,
        VatCategory::ReverseCharge,
        buyer,
        vec![line(1, "Schulung für Frau Żółć: „Grüße“ – naïve café", "4", LineUnit::Hour, "80", "0")],
    );
    let (text, _) = check_case("pdf_non_ascii", &doc);
    if !text.is_empty() {
        assert!(text.contains("Łódź Dvořák & Müller Sp. z o.o.") && text.contains("90-001 Łódź"), "{text}");
    }
}

#[test]
fn a_150_line_invoice_runs_over_several_numbered_pages_with_the_header_repeated() {
    let lines = (1..=150)
        .map(|i| {
            let (unit, rate) = if i % 3 == 0 { (LineUnit::Piece, "7") } else { (LineUnit::Hour, "19") };
            let quantity = format!("{}.{}", i % 7 + 1, (i * 25) % 100);
            let price = format!("{}.{:02}", 10 + i % 50, (i * 37) % 100);
            let text = if i % 10 == 0 {
                format!(
                    "Ticket #{}: Tätigkeit {i} mit einer längeren Beschreibung, die über mehrere Zeilen umbrochen wird",
                    1000 + i
                )
            } else {
                format!("Ticket #{}: Tätigkeit {i}", 1000 + i)
            };
            line(i, &text, &quantity, unit, &price, rate)
        })
        .collect();
    let doc = document(DocumentKind::Invoice, VatCategory::Standard, buyer_de(), lines);
    let (text, _) = check_case("pdf_lines_150", &doc);
    if text.is_empty() {
        return;
    }
    let pages = text.matches('\u{c}').count() + 1 - usize::from(text.ends_with('\u{c}'));
    assert!(pages >= 4, "{pages} pages");
    for page in 1..=pages {
        assert!(text.contains(&format!("Seite {page} von {pages}")), "page {page} unnumbered");
    }
    assert_eq!(text.matches("Pos. Beschreibung").count(), pages, "table header on every page");
}

#[test]
fn a_draft_has_no_number_and_a_watermark_and_the_same_document_renders_the_same_bytes() {
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        buyer_de(),
        vec![line(1, "Fernwartung", "1", LineUnit::Hour, "96", "19")],
    );
    doc.number = String::new();
    let pdf = documents::pdf::render(&doc, true).unwrap();
    assert_eq!(pdf, documents::pdf::render(&doc, true).unwrap());
    if let Some(text) = common::pdf_text(&pdf) {
        assert!(text.contains("Rechnungsentwurf") && text.contains("Rechnungsnr. Entwurf"), "{text}");
        assert!(squeeze(&text).contains("ENTWURF"), "watermark missing:\n{text}");
        assert!(!text.contains("Verwendungszweck"), "{text}");
        assert!(text.contains("114,24 EUR"), "{text}");
    }
    // A plain PDF has no attachment.
    assert!(!pdf.windows(b"factur-x.xml".len()).any(|w| w == b"factur-x.xml"));
}

#[test]
fn an_issued_invoice_without_the_buyers_address_is_refused_but_its_draft_previews() {
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        Party { address: Address { country: "DE".into(), ..Address::default() }, ..buyer_de() },
        vec![line(1, "Fernwartung", "1", LineUnit::Hour, "96", "19")],
    );
    let err = documents::pdf::render(&doc, false).unwrap_err();
    assert_eq!(err, documents::DocumentError::Missing(vec!["buyer.postal_code".into(), "buyer.city".into()]));
    doc.number = String::new();
    assert!(documents::pdf::render(&doc, true).is_ok());
}

#[test]
fn figures_that_do_not_add_up_are_refused() {
    let mut doc = document(
        DocumentKind::Invoice,
        VatCategory::Standard,
        buyer_de(),
        vec![line(1, "Fernwartung", "1", LineUnit::Hour, "96", "19")],
    );
    doc.gross += dec("0.01");
    assert!(matches!(documents::pdf::render(&doc, false), Err(documents::DocumentError::Inconsistent(_))));
    assert!(matches!(documents::pdf::render_factur_x(&doc), Err(documents::DocumentError::Inconsistent(_))));
}

mod service_report {
    use super::*;
    use documents::pdf::{
        render_service_report, ReportBooking, ReportExpense, ReportNote, ReportTotals, ServiceReport, Settled,
    };

    fn booking(day: u8, minutes: i64, billed: Option<i64>, settled: Settled, text: &str) -> ReportBooking {
        ReportBooking {
            date: time::Date::from_calendar_date(2026, time::Month::November, day).unwrap(),
            time: Some("08:00–09:30".into()),
            person: "Jana Dvořáková".into(),
            ticket: Some("T-2026-000123".into()),
            service: "Fernwartung".into(),
            description: text.into(),
            worked_minutes: minutes,
            billed_minutes: billed,
            settled,
        }
    }

    fn report(bookings: Vec<ReportBooking>) -> ServiceReport {
        let worked = bookings.iter().map(|b| b.worked_minutes).sum();
        let billed = bookings.iter().filter_map(|b| b.billed_minutes).sum();
        ServiceReport {
            seller: common::fixtures::seller(),
            footer_lines: vec!["Geschäftsführer: Max Muster".into()],
            logo: None,
            subject: "zur Rechnung RE-2026-00042".into(),
            customer: Some("K-10042 Beispiel AG".into()),
            period: (Some(date!(2026 - 11 - 01)), Some(date!(2026 - 11 - 30))),
            bookings,
            expenses: vec![ReportExpense {
                date: date!(2026 - 11 - 05),
                description: "Patchkabel Cat 6".into(),
                quantity: dec("3"),
                unit: LineUnit::Piece,
                settled: Settled::Billed,
            }],
            notes: vec![ReportNote {
                ticket: "T-2026-000123 Drucker im Empfang".into(),
                date: date!(2026 - 11 - 05),
                author: "Jana Dvořáková".into(),
                text: "Treiber aktualisiert, Testdruck erfolgreich.".into(),
            }],
            totals: ReportTotals { worked, billed, covered: 30, open: 0 },
            printed_on: date!(2026 - 12 - 02),
        }
    }

    #[test]
    fn a_proof_of_service_lists_every_booking_the_sums_and_a_signature_line() {
        let r = report(vec![
            booking(5, 90, Some(90), Settled::Billed, "Drucker im Empfang eingerichtet"),
            booking(6, 30, Some(0), Settled::Covered, "Prüfung nach Łódź-Umzug"),
        ]);
        let pdf = render_service_report(&r).unwrap();
        assert!(pdf.starts_with(b"%PDF-1.7"));
        assert_eq!(pdf, render_service_report(&r).unwrap(), "the same report gives the same bytes");
        let Some(text) = common::pdf_text(&pdf) else { return };
        for expected in [
            "Leistungsnachweis",
            "zur Rechnung RE-2026-00042",
            "K-10042 Beispiel AG",
            "01.11.2026 – 30.11.2026",
            "Drucker im Empfang eingerichtet",
            "im Vertrag enthalten",
            "Summe 2:00 1:30",
            "Patchkabel Cat 6",
            "3 Stk.",
            "Treiber aktualisiert, Testdruck erfolgreich.",
            "Unterschrift Kunde",
            "Seite 1 von 1",
        ] {
            assert!(squeeze(&text).contains(&squeeze(expected)), "{expected} missing:\n{text}");
        }
    }

    #[test]
    fn a_long_proof_of_service_runs_over_numbered_pages_with_the_header_repeated() {
        let bookings =
            (0..120).map(|i| booking(1 + i % 28, 45, Some(45), Settled::Billed, &format!("Tätigkeit {i}"))).collect();
        let pdf = render_service_report(&report(bookings)).unwrap();
        let Some(text) = common::pdf_text(&pdf) else { return };
        let pages = text.matches("Ticket / Tätigkeit").count();
        assert!(pages >= 3, "{pages} pages:\n{text}");
        assert!(text.contains(&format!("Seite {pages} von {pages}")));
        for i in 0..120 {
            assert!(
                text.contains(&format!("Tätigkeit {i}\n")) || text.contains(&format!("Tätigkeit {i} ")),
                "booking {i} missing"
            );
        }
    }
}

mod logo {
    use super::*;
    use documents::pdf::check_logo;
    use documents::{Logo, LogoFormat};
    use std::sync::Arc;

    fn logo(format: LogoFormat, data: &[u8]) -> Logo {
        Logo { format, data: Arc::new(data.to_vec()) }
    }

    const PNG: &[u8] = include_bytes!("common/logo.png");

    #[test]
    fn a_logo_prints_in_the_letterhead_of_invoices_and_proofs() {
        let logo = logo(LogoFormat::Png, PNG);
        assert_eq!(check_logo(&logo), Ok((150, 50)));
        let mut doc = document(
            DocumentKind::Invoice,
            VatCategory::Standard,
            buyer_de(),
            vec![line(1, "Fernwartung", "1", LineUnit::Hour, "96", "19")],
        );
        let without = documents::pdf::render(&doc, false).unwrap();
        doc.logo = Some(logo);
        let with = documents::pdf::render(&doc, false).unwrap();
        let images = |pdf: &[u8]| pdf.windows(b"/Subtype/Image".len()).filter(|w| w == b"/Subtype/Image").count();
        assert_eq!(images(&without), 0);
        assert_eq!(images(&with), 1);
        let (_, pdf) = check_case("pdf_with_logo", &doc);
        assert_eq!(images(&pdf), 1, "the Factur-X PDF too");
    }

    #[test]
    fn an_svg_logo_prints_as_vectors_with_its_text_and_without_files_it_names() {
        let svg = logo(LogoFormat::Svg, include_bytes!("common/logo.svg"));
        assert_eq!(check_logo(&svg), Ok((300, 100)));
        let mut doc = document(
            DocumentKind::Invoice,
            VatCategory::Standard,
            buyer_de(),
            vec![line(1, "Fernwartung", "1", LineUnit::Hour, "96", "19")],
        );
        let without = documents::pdf::render(&doc, false).unwrap();
        doc.logo = Some(svg);
        let with = documents::pdf::render(&doc, false).unwrap();
        assert!(with.len() > without.len(), "the drawing is in the PDF");
        // Vectors, not a bitmap: and the <image> naming a local file was not loaded.
        assert!(!with.windows(b"/Subtype/Image".len()).any(|w| w == b"/Subtype/Image"));
        check_case("pdf_with_svg_logo", &doc);
        let broken = check_logo(&logo(LogoFormat::Svg, b"<svg><rect")).unwrap_err();
        assert!(broken.contains("not a readable image"), "{broken}");
    }

    #[test]
    fn a_broken_or_huge_image_is_refused() {
        let truncated = check_logo(&logo(LogoFormat::Png, &PNG[..60])).unwrap_err();
        assert!(truncated.contains("not a readable image"), "{truncated}");
        let not_jpeg = check_logo(&logo(LogoFormat::Jpeg, PNG)).unwrap_err();
        assert!(not_jpeg.contains("not a readable image"), "{not_jpeg}");
        // 16 bits per channel are printed with 8.
        assert_eq!(check_logo(&logo(LogoFormat::Png, include_bytes!("common/logo-16bit.png"))), Ok((20, 20)));
        // A PNG claiming 5000 × 10 pixels.
        let err = check_logo(&logo(LogoFormat::Png, include_bytes!("common/logo-huge.png"))).unwrap_err();
        assert!(err.contains("at most 4000"), "{err}");
    }
}

//! How long rendering takes (issue 13's targets): a 20-line invoice as XRechnung CII
//! (≤ 2 ms), as ISDOC, as the printed PDF/A-3 (≤ 15 ms) and as Factur-X, and the DATEV booking batch of 5,000 invoices (≤ 2 s, including
//! building the rows). Run: `cargo bench -p documents --bench render`.

use documents::datev::{self, DatevAccounts, DatevBatch, DatevDocument};
use documents::{
    Address, Contact, Document, DocumentKind, DocumentLine, ElectronicAddress, LineUnit, Party, PaymentAccount,
    VatCategory, VatSubtotal,
};
use rust_decimal::Decimal;
use std::hint::black_box;
use std::time::{Duration, Instant};
use time::macros::{date, datetime};

fn party(name: &str) -> Party {
    Party {
        name: name.into(),
        address: Address {
            street: Some("Hauptstraße 1".into()),
            postal_code: Some("80331".into()),
            city: Some("München".into()),
            country: "DE".into(),
        },
        vat_id: Some("DE123456789".into()),
        tax_number: None,
        commercial_register: None,
        electronic_address: Some(ElectronicAddress { scheme: "EM".into(), value: "billing@example.com".into() }),
        contact: Some(Contact {
            name: "Erika Muster".into(),
            phone: "+49 89 123456".into(),
            email: "e@example.com".into(),
        }),
        id: Some("10001".into()),
    }
}

/// A 20-line invoice at 19 %: lines of 1.5 h at 96.00.
fn invoice() -> Document {
    let net = Decimal::new(14400, 2);
    let lines: Vec<DocumentLine> = (1..=20)
        .map(|n| DocumentLine {
            line_no: n,
            description: format!("T-2026-{n:06} – Remote support: VPN setup and check"),
            quantity: Decimal::new(15, 1),
            unit: LineUnit::Hour,
            unit_price: Decimal::new(9600, 2),
            net,
            vat_rate: Decimal::new(19, 0),
        })
        .collect();
    let total = net * Decimal::new(20, 0);
    let vat = Decimal::new(54720, 2);
    Document {
        kind: DocumentKind::Invoice,
        number: "RE-2026-00017".into(),
        issue_date: date!(2026 - 12 - 01),
        due_date: Some(date!(2026 - 12 - 15)),
        currency: "EUR".into(),
        buyer_reference: None,
        order_reference: None,
        seller: Party { id: None, ..party("Muster IT GmbH") },
        buyer: party("Müller Gebäudetechnik GmbH"),
        vat_category: VatCategory::Standard,
        period: Some((date!(2026 - 11 - 01), date!(2026 - 11 - 30))),
        payment_terms: Some("Payable within 14 days.".into()),
        payee_account: Some(PaymentAccount { iban: "DE02120300000000202051".into(), bic: None, bank_name: None }),
        notes: vec![],
        lines,
        vat: vec![VatSubtotal { rate: Decimal::new(19, 0), net: total, vat }],
        net: total,
        vat_total: vat,
        gross: total + vat,
        preceding: None,
        footer_lines: Vec::new(),
        logo: None,
        uuid: "8f14e45f-ceea-467f-a8f5-5e3c6c1d9b2a".into(),
    }
}

/// Mean time of `f` over at least 200 runs and 0.5 s.
fn time(mut f: impl FnMut()) -> Duration {
    f();
    let start = Instant::now();
    let mut runs = 0u32;
    while runs < 200 || start.elapsed() < Duration::from_millis(500) {
        f();
        runs += 1;
    }
    start.elapsed() / runs
}

fn main() {
    let doc = invoice();
    let cii = time(|| {
        black_box(documents::cii::render(black_box(&doc)).unwrap());
    });
    let isdoc = time(|| {
        black_box(documents::isdoc::render(black_box(&doc)).unwrap());
    });
    let accounts = DatevAccounts {
        standard: "8400".into(),
        reduced: "8300".into(),
        reverse_charge: "8336".into(),
        export: "8338".into(),
    };
    let docs: Vec<DatevDocument> = (0..5_000)
        .map(|n| DatevDocument {
            number: format!("RE-2026-{n:05}"),
            issue_date: date!(2026 - 12 - 01),
            debtor_account: format!("{}", 10_000 + n % 900),
            customer_name: format!("Kunde {n} Gebäudetechnik GmbH"),
            vat_category: VatCategory::Standard,
            buyer_vat_id: None,
            currency: "EUR".into(),
            vat: vec![
                VatSubtotal { rate: Decimal::new(7, 0), net: Decimal::new(10000, 2), vat: Decimal::new(700, 2) },
                VatSubtotal { rate: Decimal::new(19, 0), net: Decimal::new(288000, 2), vat: Decimal::new(54720, 2) },
            ],
        })
        .collect();
    let batch = DatevBatch {
        consultant_number: "1234567".into(),
        client_number: "12345".into(),
        fiscal_year_start: date!(2026 - 01 - 01),
        account_length: 4,
        from: date!(2026 - 12 - 01),
        to: date!(2026 - 12 - 31),
        created_at: datetime!(2026-12-02 08:00),
        currency: "EUR".into(),
        label: "Kontor Rechnungen".into(),
    };
    let mut size = 0;
    let datev = time(|| {
        let rows: Vec<_> = docs.iter().flat_map(|d| datev::rows_of(d, &accounts)).collect();
        size = black_box(datev::render(&batch, &rows).unwrap()).len();
    });
    let pdf = time(|| {
        black_box(documents::pdf::render(black_box(&doc), false).unwrap());
    });
    let factur_x = time(|| {
        black_box(documents::pdf::render_factur_x(black_box(&doc)).unwrap());
    });
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("render: XRechnung CII, 20 lines: {:.3} ms (target ≤ 2 ms)", ms(cii));
    println!("render: ISDOC, 20 lines: {:.3} ms", ms(isdoc));
    println!("render: PDF/A-3 invoice, 20 lines: {:.2} ms (target ≤ 15 ms)", ms(pdf));
    println!("render: Factur-X PDF (PDF/A-3 + CII), 20 lines: {:.2} ms", ms(factur_x));
    println!(
        "render: DATEV batch of 5,000 invoices (10,000 rows, {size} bytes): {:.1} ms (target ≤ 2,000 ms)",
        ms(datev)
    );
}

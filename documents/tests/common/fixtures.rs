//! The German example documents the format tests render: a seller with a complete profile,
//! a domestic buyer, lines, and a document whose VAT breakdown and totals are computed from
//! its lines.

use std::str::FromStr;

use documents::{
    Address, Contact, Document, DocumentKind, DocumentLine, ElectronicAddress, LineUnit, Party, PaymentAccount,
    VatCategory, VatSubtotal,
};
use rust_decimal::{Decimal, RoundingStrategy};
use time::macros::date;

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn email(value: &str) -> Option<ElectronicAddress> {
    Some(ElectronicAddress { scheme: "EM".into(), value: value.into() })
}

pub fn seller() -> Party {
    Party {
        name: "Kontor Services GmbH".into(),
        address: Address {
            street: Some("Musterstraße 1".into()),
            postal_code: Some("10115".into()),
            city: Some("Berlin".into()),
            country: "DE".into(),
        },
        vat_id: Some("DE123456789".into()),
        tax_number: Some("30/123/45678".into()),
        commercial_register: Some("HRB 12345, Amtsgericht Berlin-Charlottenburg".into()),
        electronic_address: email("invoices@kontor.example"),
        contact: Some(Contact {
            name: "Erika Musterfrau".into(),
            phone: "+49 30 1234567".into(),
            email: "billing@kontor.example".into(),
        }),
        id: None,
    }
}

pub fn buyer_de() -> Party {
    Party {
        name: "Beispiel AG".into(),
        address: Address {
            street: Some("Hauptstraße 5".into()),
            postal_code: Some("80331".into()),
            city: Some("München".into()),
            country: "DE".into(),
        },
        vat_id: None,
        tax_number: None,
        commercial_register: None,
        electronic_address: email("rechnungseingang@beispiel.example"),
        contact: None,
        id: Some("K-10042".into()),
    }
}

/// A buyer abroad (or anywhere): name, street, postal code, city, country code, VAT id and
/// e-mail address; the rest as [`buyer_de`].
pub fn buyer_at(
    name: &str,
    [street, postal_code, city, country]: [&str; 4],
    vat_id: Option<&str>,
    mail: &str,
) -> Party {
    Party {
        name: name.into(),
        address: Address {
            street: Some(street.into()),
            postal_code: Some(postal_code.into()),
            city: Some(city.into()),
            country: country.into(),
        },
        vat_id: vat_id.map(Into::into),
        electronic_address: email(mail),
        ..buyer_de()
    }
}

pub fn line(no: i64, description: &str, quantity: &str, unit: LineUnit, price: &str, rate: &str) -> DocumentLine {
    let (quantity, unit_price) = (dec(quantity), dec(price));
    DocumentLine {
        line_no: no,
        description: description.into(),
        quantity,
        unit,
        unit_price,
        net: (quantity * unit_price).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        vat_rate: dec(rate),
    }
}

/// A document around `lines` whose VAT breakdown and totals are computed from them.
pub fn document(kind: DocumentKind, category: VatCategory, buyer: Party, lines: Vec<DocumentLine>) -> Document {
    let mut rates: Vec<Decimal> = lines.iter().map(|l| l.vat_rate).collect();
    rates.sort();
    rates.dedup();
    let vat: Vec<VatSubtotal> = rates
        .into_iter()
        .map(|rate| {
            let net: Decimal = lines.iter().filter(|l| l.vat_rate == rate).map(|l| l.net).sum();
            let vat =
                (net * rate / Decimal::ONE_HUNDRED).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            VatSubtotal { rate, net, vat }
        })
        .collect();
    let net: Decimal = lines.iter().map(|l| l.net).sum();
    let vat_total: Decimal = vat.iter().map(|v| v.vat).sum();
    Document {
        kind,
        number: "RE-2026-00042".into(),
        issue_date: date!(2026 - 11 - 30),
        due_date: Some(date!(2026 - 12 - 14)),
        currency: "EUR".into(),
        buyer_reference: None,
        order_reference: None,
        seller: seller(),
        buyer,
        vat_category: category,
        period: None,
        payment_terms: Some("Zahlbar innerhalb von 14 Tagen ohne Abzug.".into()),
        payee_account: Some(PaymentAccount {
            iban: "DE02120300000000202051".into(),
            bic: Some("BYLADEM1001".into()),
            bank_name: Some("Deutsche Kreditbank".into()),
        }),
        notes: vec![],
        lines,
        vat,
        net,
        vat_total,
        gross: net + vat_total,
        preceding: None,
        footer_lines: Vec::new(),
        logo: None,
        uuid: "8f14e45f-ceea-467f-a8f5-5e3c6c1d9b2a".into(),
    }
}

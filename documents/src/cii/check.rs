//! What must hold before a [`Document`] is rendered as XRechnung: the fields XRechnung 3.0
//! requires ([`missing_fields`]), so that the renderer never writes a file the KoSIT validator
//! would reject for a missing field (the figures: [`crate::figures`]).

use rust_decimal::Decimal;

use crate::xml::{non_blank, round2};
use crate::{Document, DocumentKind, ElectronicAddress, VatCategory};

fn present(s: &str) -> bool {
    non_blank(s).is_some()
}

fn present_opt(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(present)
}

fn address_present(a: &Option<ElectronicAddress>) -> bool {
    a.as_ref().is_some_and(|a| present(&a.scheme) && present(&a.value))
}

/// Names (as the API spells them) of every field XRechnung requires that `doc` lacks, in a
/// stable order; empty when nothing is missing. Blank strings count as missing.
pub(super) fn missing_fields(doc: &Document) -> Vec<String> {
    let mut missing: Vec<&str> = Vec::new();
    let mut need = |ok: bool, name: &'static str| {
        if !ok {
            missing.push(name);
        }
    };
    let (s, b) = (&doc.seller, &doc.buyer);

    need(present(&doc.number), "number");
    need(present(&doc.currency), "currency");
    // BT-10 (BR-DE-15): the buyer reference, else the customer number.
    need(present_opt(&doc.buyer_reference) || present_opt(&b.id), "buyer_reference");

    need(present(&s.name), "seller.legal_name");
    need(present_opt(&s.address.postal_code), "seller.postal_code");
    need(present_opt(&s.address.city), "seller.city");
    need(present(&s.address.country), "seller.country");
    let contact = s.contact.as_ref();
    need(contact.is_some_and(|c| present(&c.name)), "seller.contact_name");
    need(contact.is_some_and(|c| present(&c.phone)), "seller.contact_phone");
    need(contact.is_some_and(|c| present(&c.email)), "seller.contact_email");
    need(address_present(&s.electronic_address), "seller.electronic_address");
    // BR-S-02 accepts the tax number instead of the VAT id; BR-AE-02 and BR-G-02 do not.
    // With the tax number alone BR-CO-26 wants the legal registration id (BT-30).
    let seller_vat_id = present_opt(&s.vat_id);
    let by_tax_number = doc.vat_category == VatCategory::Standard && present_opt(&s.tax_number);
    need(seller_vat_id || by_tax_number, "seller.vat_id");
    need(seller_vat_id || !by_tax_number || present_opt(&s.commercial_register), "seller.commercial_register");
    // BR-DE-23-a: SEPA credit transfer needs the IBAN; payment is only asked for an amount due.
    let amount_due = round2(doc.gross) > Decimal::ZERO;
    need(!amount_due || doc.payee_account.as_ref().is_some_and(|a| present(&a.iban)), "seller.iban");
    // BR-CO-25: due date or payment terms when an amount is due.
    need(!amount_due || doc.due_date.is_some() || present_opt(&doc.payment_terms), "due_date");

    need(present(&b.name), "buyer.legal_name");
    need(present_opt(&b.address.postal_code), "buyer.postal_code");
    need(present_opt(&b.address.city), "buyer.city");
    need(present(&b.address.country), "buyer.country");
    need(address_present(&b.electronic_address), "buyer.electronic_address");
    need(doc.vat_category != VatCategory::ReverseCharge || present_opt(&b.vat_id), "buyer.vat_id");

    need(!doc.lines.is_empty(), "lines");
    need(
        doc.kind != DocumentKind::CreditNote || doc.preceding.as_ref().is_some_and(|p| present(&p.number)),
        "preceding_invoice",
    );

    missing.into_iter().map(String::from).collect()
}

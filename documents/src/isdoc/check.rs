//! What must hold before a [`Document`] is rendered as ISDOC: the fields ISDOC 6.0.2 (and the
//! Czech tax document it carries) needs ([`missing_fields`]), a well-formed document UUID
//! ([`normalized_uuid`]) and figures that add up ([`check_consistency`], with
//! [`crate::figures`]). Neither the ISDOC XSD nor its published rules check arithmetic.

use crate::xml::non_blank;
use crate::{Document, DocumentError, DocumentKind};

fn present(s: &str) -> bool {
    non_blank(s).is_some()
}

fn present_opt(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(present)
}

/// Names (as the API spells them) of every field ISDOC needs that `doc` lacks, in a stable
/// order; empty when nothing is missing. Blank strings count as missing.
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
    need(present(&doc.uuid), "uuid");

    need(present(&s.name), "seller.legal_name");
    need(present_opt(&s.address.postal_code), "seller.postal_code");
    need(present_opt(&s.address.city), "seller.city");
    need(present(&s.address.country), "seller.country");

    need(present(&b.name), "buyer.legal_name");
    need(present_opt(&b.address.postal_code), "buyer.postal_code");
    need(present_opt(&b.address.city), "buyer.city");
    need(present(&b.address.country), "buyer.country");

    need(!doc.lines.is_empty(), "lines");
    need(
        doc.kind != DocumentKind::CreditNote || doc.preceding.as_ref().is_some_and(|p| present(&p.number)),
        "preceding_invoice",
    );

    missing.into_iter().map(String::from).collect()
}

/// `uuid` trimmed and upper-cased (the ISDOC rules recommend one case, UUIDs being case-
/// insensitive), after checking that it has the `8-4-4-4-12` hex form of the XSD's `UUIDType`
/// and is not the nil UUID (which the ISDOC rules forbid).
pub(super) fn normalized_uuid(uuid: &str) -> Result<String, DocumentError> {
    let uuid = uuid.trim();
    let groups: Vec<&str> = uuid.split('-').collect();
    let well_formed = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|c| c.is_ascii_hexdigit()));
    if !well_formed {
        return Err(DocumentError::Inconsistent(format!("uuid {uuid:?} is not a UUID (8-4-4-4-12 hex digits)")));
    }
    if uuid.bytes().all(|c| c == b'0' || c == b'-') {
        return Err(DocumentError::Inconsistent("uuid is the nil UUID".into()));
    }
    Ok(uuid.to_ascii_uppercase())
}

/// The figures as [`crate::figures::check_figures`] checks them (a 0 % line may stand among
/// standard-rated ones: ISDOC has no category per line), and an ISO 4217 currency code.
pub(super) fn check_consistency(doc: &Document) -> Result<(), DocumentError> {
    let currency = doc.currency.trim();
    if currency.chars().count() != 3 {
        return Err(DocumentError::Inconsistent(format!("currency {currency:?} is not an ISO 4217 code")));
    }
    crate::figures::check_figures(doc, false)
}

//! The figures of a [`Document`] as every format prints them: lines, the VAT breakdown and
//! the totals add up after rounding to the minor unit, and the VAT rates fit the document's
//! VAT category. Each renderer checks them before writing.

use crate::xml::round2;
use crate::{Document, DocumentError, VatCategory};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Checks that Σ line nets = net total, per VAT rate Σ its line nets = the subtotal's
/// taxable amount, Σ taxable amounts = net, Σ subtotal VAT = VAT total, net + VAT = gross;
/// zero-rated categories carry 0 % and no VAT; each subtotal's VAT is its rate of its taxable
/// amount (within 1 unit, for rounding rules); the service period does not end before it
/// starts. `standard_needs_rate`: a standard-rated line must have a rate above 0 % (EN 16931);
/// without it 0 % lines may stand among standard-rated ones (ISDOC).
pub(crate) fn check_figures(doc: &Document, standard_needs_rate: bool) -> Result<(), DocumentError> {
    let fail = |msg: String| Err(DocumentError::Inconsistent(msg));
    let zero_rated = doc.vat_category != VatCategory::Standard;

    let mut line_nets: BTreeMap<Decimal, Decimal> = BTreeMap::new();
    for line in &doc.lines {
        let rate = line.vat_rate.normalize();
        if zero_rated && !rate.is_zero() {
            return fail(format!("line {}: VAT rate {rate} % under a 0 % VAT category", line.line_no));
        }
        if rate < Decimal::ZERO {
            return fail(format!("line {}: negative VAT rate {rate} %", line.line_no));
        }
        if standard_needs_rate && !zero_rated && rate.is_zero() {
            return fail(format!("line {}: standard-rated line needs a VAT rate above 0 %", line.line_no));
        }
        *line_nets.entry(rate).or_default() += round2(line.net);
    }
    let lines_net: Decimal = line_nets.values().sum();
    if lines_net != round2(doc.net) {
        return fail(format!("sum of line nets {lines_net} != net total {}", round2(doc.net)));
    }

    let mut seen = BTreeMap::new();
    for sub in &doc.vat {
        let rate = sub.rate.normalize();
        if seen.insert(rate, ()).is_some() {
            return fail(format!("VAT rate {rate} % appears twice in the VAT breakdown"));
        }
        let (net, vat) = (round2(sub.net), round2(sub.vat));
        let Some(&lines) = line_nets.get(&rate) else {
            return fail(format!("VAT breakdown has rate {rate} % but no line has that rate"));
        };
        if zero_rated && !vat.is_zero() {
            return fail(format!("VAT amount {vat} under a 0 % VAT category"));
        }
        if net != lines {
            return fail(format!("VAT {rate} %: taxable amount {net} != sum of its line nets {lines}"));
        }
        let expected = round2(net * rate / Decimal::ONE_HUNDRED);
        if (vat - expected).abs() >= Decimal::ONE {
            return fail(format!("VAT {rate} %: amount {vat} is not {rate} % of {net} ({expected})"));
        }
    }
    if let Some(rate) = line_nets.keys().find(|r| !seen.contains_key(*r)) {
        return fail(format!("VAT rate {rate} % of some lines is missing from the VAT breakdown"));
    }
    let sub_net: Decimal = doc.vat.iter().map(|s| round2(s.net)).sum();
    if sub_net != round2(doc.net) {
        return fail(format!("sum of VAT breakdown taxable amounts {sub_net} != net total {}", round2(doc.net)));
    }
    let sub_vat: Decimal = doc.vat.iter().map(|s| round2(s.vat)).sum();
    if sub_vat != round2(doc.vat_total) {
        return fail(format!("sum of VAT breakdown amounts {sub_vat} != VAT total {}", round2(doc.vat_total)));
    }
    if round2(doc.net) + round2(doc.vat_total) != round2(doc.gross) {
        return fail(format!("net {} + VAT {} != gross {}", round2(doc.net), round2(doc.vat_total), round2(doc.gross)));
    }
    if let Some((start, end)) = doc.period {
        if end < start {
            return fail(format!("service period ends ({end}) before it starts ({start})"));
        }
    }
    Ok(())
}

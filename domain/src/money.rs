//! Money arithmetic: rounding to a currency's minor unit, line nets, VAT breakdowns
//! per rate and invoice totals. All amounts are [`Decimal`]; every operation that
//! input can drive is checked and reports overflow as `None` instead of panicking.

use crate::currency::Currency;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Rounds an amount half-up (away from zero at the midpoint) to the currency's minor unit,
/// with exactly that many decimals (`24` → `24.00`, `0` → `0.00` in EUR): every computed
/// amount goes through here, so it is written and shown with the currency's minor units.
pub fn round_to_minor(amount: Decimal, currency: Currency) -> Decimal {
    with_minor_units(
        amount.round_dp_with_strategy(currency.minor_units(), RoundingStrategy::MidpointAwayFromZero),
        currency,
    )
}

/// The one money format: `amount` with at least the currency's minor units (`500` →
/// `500.00`, `0` → `0.00` in EUR, `500` in JPY); more decimals are kept, as a price may
/// have them (`0.125` per km). Used for every amount a client sees.
pub fn with_minor_units(amount: Decimal, currency: Currency) -> Decimal {
    with_decimals(amount, currency.minor_units())
}

/// `amount` with at least `decimals` decimal places (trailing zeros added, never rounded).
pub fn with_decimals(amount: Decimal, minor: u32) -> Decimal {
    if amount.scale() >= minor {
        return amount;
    }
    let mut padded = amount;
    padded.rescale(minor);
    // `rescale` cannot fail to represent a value with fewer decimals than 28 minus its
    // digits; if it had to round, keep the exact amount instead.
    if padded == amount {
        padded
    } else {
        amount
    }
}

/// Net of a line: `quantity × unit_price`, rounded half-up to the minor unit.
/// `None` on arithmetic overflow.
pub fn line_net(quantity: Decimal, unit_price: Decimal, currency: Currency) -> Option<Decimal> {
    quantity.checked_mul(unit_price).map(|v| round_to_minor(v, currency))
}

/// Exact (unrounded) value of `minutes` at an hourly `unit_price`: `minutes × price / 60`.
pub fn minutes_value(minutes: u64, unit_price: Decimal) -> Option<Decimal> {
    Decimal::from(minutes).checked_mul(unit_price)?.checked_div(Decimal::from(60))
}

/// Net of an hourly line computed from whole minutes: `minutes × price / 60`, rounded
/// half-up to the minor unit. This is `quantity × unit_price` with the exact
/// (non-terminating) hour quantity, so a 10-minute line at 100.00/h nets 16.67.
pub fn minutes_net(minutes: u64, unit_price: Decimal, currency: Currency) -> Option<Decimal> {
    minutes_value(minutes, unit_price).map(|v| round_to_minor(v, currency))
}

/// Hours shown on an invoice line for `minutes`, rounded half-up to 4 decimal places
/// (the net is always computed from the exact minutes, see [`minutes_net`]).
pub fn minutes_to_hours(minutes: u64) -> Decimal {
    (Decimal::from(minutes) / Decimal::from(60))
        .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

/// `amount × (100 + percent) / 100`, unrounded (used for surcharges).
pub fn add_percent(amount: Decimal, percent: Decimal) -> Option<Decimal> {
    amount.checked_mul(Decimal::ONE_HUNDRED.checked_add(percent)?)?.checked_div(Decimal::ONE_HUNDRED)
}

/// Checked sum of amounts; `None` on overflow.
pub fn checked_sum<I: IntoIterator<Item = Decimal>>(amounts: I) -> Option<Decimal> {
    amounts.into_iter().try_fold(Decimal::ZERO, |acc, x| acc.checked_add(x))
}

/// VAT of one rate on an invoice: the summed nets of the lines with that rate and the
/// VAT computed once on that sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VatAmount {
    /// VAT rate in percent, e.g. `19` or `21`.
    pub rate: Decimal,
    /// Sum of the (already rounded) line nets with this rate.
    pub net: Decimal,
    /// `net × rate / 100`, rounded half-up to the minor unit.
    pub vat: Decimal,
}

/// Net, VAT and gross of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    /// Sum of the rounded line nets.
    pub net: Decimal,
    /// Sum of the per-rate VAT amounts.
    pub vat: Decimal,
    /// `net + vat`.
    pub gross: Decimal,
}

/// VAT per rate from `(rate, net)` pairs of rounded line nets, sorted by rate ascending.
/// `None` on arithmetic overflow.
pub fn vat_breakdown<I>(lines: I, currency: Currency) -> Option<Vec<VatAmount>>
where
    I: IntoIterator<Item = (Decimal, Decimal)>,
{
    let mut per_rate: Vec<VatAmount> = Vec::new();
    for (rate, net) in lines {
        match per_rate.iter_mut().find(|v| v.rate == rate) {
            Some(v) => v.net = v.net.checked_add(net)?,
            None => per_rate.push(VatAmount { rate: rate.normalize(), net, vat: Decimal::ZERO }),
        }
    }
    per_rate.sort_by_key(|v| v.rate);
    for v in &mut per_rate {
        let raw = v.net.checked_mul(v.rate)?.checked_div(Decimal::ONE_HUNDRED)?;
        v.vat = round_to_minor(raw, currency);
    }
    Some(per_rate)
}

/// Totals from the net total and the VAT breakdown, with the currency's minor units (an
/// empty document totals `0.00`). `None` on overflow.
pub fn totals(net: Decimal, vat: &[VatAmount], currency: Currency) -> Option<Totals> {
    let vat_total = checked_sum(vat.iter().map(|v| v.vat))?;
    let gross = net.checked_add(vat_total)?;
    let shown = |a| with_minor_units(a, currency);
    Some(Totals { net: shown(net), vat: shown(vat_total), gross: shown(gross) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts_show_the_currencys_minor_units_and_prices_keep_their_extra_decimals() {
        assert_eq!(with_minor_units(d("500"), Currency::EUR).to_string(), "500.00");
        assert_eq!(with_minor_units(Decimal::ZERO, Currency::EUR).to_string(), "0.00");
        assert_eq!(with_minor_units(d("0.125"), Currency::EUR).to_string(), "0.125");
        let jpy: Currency = "JPY".parse().unwrap();
        assert_eq!(with_minor_units(d("500"), jpy).to_string(), "500");
        assert_eq!(round_to_minor(d("24"), Currency::EUR).to_string(), "24.00");
        assert_eq!(round_to_minor(d("2.345"), Currency::EUR).to_string(), "2.35");
        assert_eq!(totals(Decimal::ZERO, &[], Currency::EUR).unwrap().gross.to_string(), "0.00");
    }

    #[test]
    fn half_cent_rounds_away_from_zero() {
        assert_eq!(round_to_minor(d("2.345"), Currency::EUR), d("2.35"));
        assert_eq!(round_to_minor(d("2.3449"), Currency::EUR), d("2.34"));
        assert_eq!(round_to_minor(d("-2.345"), Currency::EUR), d("-2.35"));
    }

    #[test]
    fn yen_amounts_round_to_whole_units() {
        let jpy: Currency = "JPY".parse().unwrap();
        assert_eq!(round_to_minor(d("100.5"), jpy), d("101"));
    }

    #[test]
    fn ten_minutes_at_one_hundred_per_hour_net_sixteen_sixty_seven() {
        assert_eq!(minutes_net(10, d("100"), Currency::EUR), Some(d("16.67")));
        assert_eq!(minutes_to_hours(10), d("0.1667"));
        assert_eq!(minutes_to_hours(15), d("0.25"));
    }

    #[test]
    fn vat_is_computed_once_per_rate_on_the_summed_nets() {
        // Two lines of 0.03 at 19 %: per line 0.01 each (0.02), on the sum 0.06*0.19=0.0114 -> 0.01.
        let v = vat_breakdown([(d("19"), d("0.03")), (d("7"), d("10.00")), (d("19.00"), d("0.03"))], Currency::EUR)
            .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0], VatAmount { rate: d("7"), net: d("10.00"), vat: d("0.70") });
        assert_eq!(v[1].net, d("0.06"));
        assert_eq!(v[1].vat, d("0.01"));
        let t = totals(d("10.06"), &v, Currency::EUR).unwrap();
        assert_eq!(t.gross, d("10.77"));
    }

    #[test]
    fn absurd_amounts_report_overflow_instead_of_panicking() {
        assert_eq!(line_net(Decimal::MAX, Decimal::MAX, Currency::EUR), None);
        assert_eq!(minutes_net(u64::MAX, Decimal::MAX, Currency::EUR), None);
        assert_eq!(checked_sum([Decimal::MAX, Decimal::MAX]), None);
    }
}

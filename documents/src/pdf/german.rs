//! How the printed documents write numbers and dates: the German way (`1.234,56`,
//! `1,5`, `19 %`, `05.01.2026`), as a German billing office and its customers read them.

use rust_decimal::{Decimal, RoundingStrategy};
use time::Date;

/// An amount with 2 decimals, a decimal comma and `.` between thousands: `-1.234,50`.
pub fn amount(d: Decimal) -> String {
    let mut d = crate::xml::round2(d);
    d.rescale(2);
    group(&d.to_string())
}

/// A quantity or unit price: at most 4 decimals, trailing zeros dropped (`2`, `1,5`); a
/// price keeps at least 2 (`95,00`).
pub fn number(d: Decimal, min_decimals: u32) -> String {
    let mut d = d.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero).normalize();
    if d.scale() < min_decimals {
        d.rescale(min_decimals);
    }
    group(&d.to_string())
}

/// A VAT rate: `19 %`, `5,5 %`.
pub fn percent(d: Decimal) -> String {
    format!("{} %", number(d, 0))
}

/// `DD.MM.YYYY`.
pub fn date(d: Date) -> String {
    format!("{:02}.{:02}.{:04}", d.day(), u8::from(d.month()), d.year())
}

/// `1234.5` → `1.234,5`.
fn group(plain: &str) -> String {
    let (sign, digits) = plain.strip_prefix('-').map_or(("", plain), |d| ("-", d));
    let (int, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    if let Some(frac) = frac {
        out.push(',');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts_have_a_decimal_comma_and_thousands_points() {
        assert_eq!(amount(dec("1234.5")), "1.234,50");
        assert_eq!(amount(dec("-1234567.005")), "-1.234.567,01");
        assert_eq!(amount(dec("0")), "0,00");
        assert_eq!(amount(dec("999.999")), "1.000,00");
    }

    #[test]
    fn quantities_drop_trailing_zeros_and_prices_keep_two_decimals() {
        assert_eq!(number(dec("2.000"), 0), "2");
        assert_eq!(number(dec("1.50"), 0), "1,5");
        assert_eq!(number(dec("95"), 2), "95,00");
        assert_eq!(number(dec("12.34567"), 2), "12,3457");
        assert_eq!(percent(dec("19.00")), "19 %");
        assert_eq!(percent(dec("5.5")), "5,5 %");
    }

    #[test]
    fn dates_are_day_month_year() {
        assert_eq!(date(time::macros::date!(2026 - 01 - 05)), "05.01.2026");
    }
}

//! ISO 4217 currencies Kontor can invoice in, with their minor units.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency code Kontor knows the minor unit of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    minor_units: u8,
}

/// (code, minor units) of the currencies a European IT service company invoices in.
const KNOWN: &[(&str, u8)] = &[
    ("AUD", 2),
    ("BGN", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JPY", 0),
    ("KRW", 0),
    ("MXN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PLN", 2),
    ("RON", 2),
    ("RSD", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("TRY", 2),
    ("UAH", 2),
    ("USD", 2),
    ("ZAR", 2),
    ("BHD", 3),
    ("KWD", 3),
    ("TND", 3),
];

/// The code is not an ISO 4217 currency Kontor supports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown or unsupported ISO 4217 currency code `{0}`")]
pub struct UnknownCurrency(pub String);

impl Currency {
    /// Euro.
    pub const EUR: Currency = Currency { code: *b"EUR", minor_units: 2 };
    /// Czech koruna.
    pub const CZK: Currency = Currency { code: *b"CZK", minor_units: 2 };

    /// The three-letter code, e.g. `EUR`.
    pub fn code(&self) -> &str {
        // The code is always built from an entry of `KNOWN`, which is ASCII.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Number of decimal places of the currency's minor unit (2 for EUR, 0 for JPY).
    pub fn minor_units(&self) -> u32 {
        u32::from(self.minor_units)
    }

    /// All supported currency codes, sorted.
    pub fn supported_codes() -> Vec<&'static str> {
        let mut v: Vec<_> = KNOWN.iter().map(|(c, _)| *c).collect();
        v.sort_unstable();
        v
    }
}

impl FromStr for Currency {
    type Err = UnknownCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KNOWN
            .iter()
            .find(|(code, _)| *code == s)
            .map(|(code, minor)| {
                let b = code.as_bytes();
                Currency { code: [b[0], b[1], b[2]], minor_units: *minor }
            })
            .ok_or_else(|| UnknownCurrency(s.to_string()))
    }
}

impl TryFrom<String> for Currency {
    type Error = UnknownCurrency;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euro_and_koruna_have_cents() {
        assert_eq!("EUR".parse::<Currency>().unwrap().minor_units(), 2);
        assert_eq!("CZK".parse::<Currency>().unwrap(), Currency::CZK);
    }

    #[test]
    fn yen_has_no_minor_unit() {
        assert_eq!("JPY".parse::<Currency>().unwrap().minor_units(), 0);
    }

    #[test]
    fn lowercase_or_unknown_codes_are_rejected() {
        assert!("eur".parse::<Currency>().is_err());
        assert!("XYZ".parse::<Currency>().is_err());
        assert!("EURO".parse::<Currency>().is_err());
    }
}

//! Value conversions ISDOC needs beyond the shared XML formats: street lines split into street
//! name and building number, country names, ISO dates, and the Czech (and Slovak) domestic
//! account number, bank code and variable symbol of a payment.

use time::Date;

/// Splits a street line into `(StreetName, BuildingNumber)` at its last space when the part
/// after it starts with a digit (`"Vinohradská 12/34"` → `("Vinohradská", "12/34")`,
/// `"Hauptstraße 1a"` → `("Hauptstraße", "1a")`); otherwise the whole line is the street name
/// and the building number is empty.
pub(super) fn split_street(line: &str) -> (&str, &str) {
    let line = line.trim();
    match line.rsplit_once(char::is_whitespace) {
        Some((street, number)) if number.starts_with(|c: char| c.is_ascii_digit()) && !street.trim().is_empty() => {
            (street.trim_end(), number)
        }
        _ => (line, ""),
    }
}

/// The country name ISDOC wants next to the ISO 3166-1 code, in Czech (the language of the
/// format's receivers) for common codes, else the code itself.
pub(super) fn country_name(code: &str) -> &str {
    match code {
        "CZ" => "Česká republika",
        "SK" => "Slovensko",
        "DE" => "Německo",
        "AT" => "Rakousko",
        "PL" => "Polsko",
        "HU" => "Maďarsko",
        "CH" => "Švýcarsko",
        "FR" => "Francie",
        "IT" => "Itálie",
        "ES" => "Španělsko",
        "NL" => "Nizozemsko",
        "BE" => "Belgie",
        "LU" => "Lucembursko",
        "DK" => "Dánsko",
        "SE" => "Švédsko",
        "IE" => "Irsko",
        "SI" => "Slovinsko",
        "GB" => "Spojené království",
        "US" => "Spojené státy americké",
        other => other,
    }
}

/// A date as `xs:date` (`YYYY-MM-DD`).
pub(super) fn iso_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The domestic account number (`prefix-number` without leading zeros, the prefix only when
/// not zero) and bank code of a Czech or Slovak IBAN (`CZkk BBBB PPPPPP NNNNNNNNNN`); `None`
/// for other IBANs. `iban` must be upper-case without spaces.
pub(super) fn domestic_account(iban: &str) -> Option<(String, String)> {
    let valid = iban.len() == 24
        && (iban.starts_with("CZ") || iban.starts_with("SK"))
        && iban[2..].bytes().all(|c| c.is_ascii_digit());
    if !valid {
        return None;
    }
    let (bank, prefix, number) = (&iban[4..8], iban[8..14].trim_start_matches('0'), iban[14..].trim_start_matches('0'));
    let number = if number.is_empty() { "0" } else { number };
    let account = if prefix.is_empty() { number.to_string() } else { format!("{prefix}-{number}") };
    Some((account, bank.to_string()))
}

/// The variable symbol (the Czech payment reference, up to 10 digits) of a document number:
/// its digits without leading zeros, when that leaves 1 to 10 digits.
pub(super) fn variable_symbol(number: &str) -> Option<String> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    (1..=10).contains(&digits.len()).then(|| digits.to_string())
}

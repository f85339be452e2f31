//! Wire helpers shared by the resource modules: decimals as strings, timestamps,
//! PATCH's "absent vs. null" distinction and validation-error flattening.

use crate::error::{ApiError, FieldError};
use persistence::types::DbTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::str::FromStr;
use time::format_description::well_known::Rfc3339;

/// An exact decimal sent as a JSON string (`"95.50"`). JSON numbers are rejected so
/// that no client sends money through a float.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecimalString(pub Decimal);

impl<'de> Deserialize<'de> for DecimalString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = DecimalString;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a decimal number as a string, e.g. \"95.50\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<DecimalString, E> {
                let valid = !s.is_empty()
                    && s.len() <= 40
                    && s.trim_start_matches('-').chars().all(|c| c.is_ascii_digit() || c == '.')
                    && s.chars().filter(|c| *c == '.').count() <= 1
                    && !s.trim_start_matches('-').starts_with('.')
                    && !s.ends_with('.');
                if !valid {
                    return Err(E::custom(format!("`{s}` is not a decimal number like \"95.50\"")));
                }
                Decimal::from_str(s)
                    .map(DecimalString)
                    .map_err(|_| E::custom(format!("`{s}` is not a decimal number like \"95.50\"")))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for DecimalString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl DecimalString {
    /// The one money format on the wire: `amount` with at least the minor units of
    /// `currency` (`"500.00"`, `"0.00"`; a price keeps extra decimals, `"0.125"`), see
    /// [`domain::money::with_minor_units`].
    pub fn money(amount: rust_decimal::Decimal, currency: domain::Currency) -> Self {
        DecimalString(domain::money::with_minor_units(amount, currency))
    }

    /// A company-level price (catalog prices, cost and sales rates, expense prices, rate
    /// overrides) in the money format of the company currency.
    pub fn company_money(amount: rust_decimal::Decimal) -> Self {
        Self::money(amount, persistence::rates::DEFAULT_COMPANY_CURRENCY)
    }
}

/// A date in a request: `YYYY-MM-DD` with a four-digit year within
/// [`domain::timekeeping::BUSINESS_YEARS`] (1900–2999). The one rule for every date field
/// and date parameter, so that `-0001-01-01` or `20260-01-01` is a 422, not a date to bill:
/// use `#[serde(deserialize_with = "crate::dto::business_date")]` (and the `_opt` / `_patch`
/// twins for optional and PATCH fields).
pub fn business_date<'de, D: Deserializer<'de>>(d: D) -> Result<time::Date, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = time::Date;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a date as \"YYYY-MM-DD\" between 1900-01-01 and 2999-12-31")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<time::Date, E> {
            parse_business_date(s).ok_or_else(|| E::custom(format!("`{s}` {BUSINESS_DATE_RULE}")))
        }
    }
    d.deserialize_str(V)
}

/// What a date in a request must look like (completes "`<text>` …" in messages).
pub const BUSINESS_DATE_RULE: &str = "is not a date as \"YYYY-MM-DD\" between 1900-01-01 and 2999-12-31";

/// A request date from its text (see [`business_date`]): `None` unless `YYYY-MM-DD` within
/// the business years.
pub fn parse_business_date(s: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    (s.len() == 10 && s.as_bytes()[0].is_ascii_digit())
        .then(|| time::Date::parse(s, &format).ok())
        .flatten()
        .filter(|d| domain::timekeeping::is_business_date(*d))
}

/// [`business_date`] of an optional field (`null` or absent is `None`; with `#[serde(default)]`).
pub fn business_date_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<time::Date>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "business_date")] time::Date);
    Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
}

/// [`business_date`] of a PATCH field: absent keeps, `null` clears, a date sets (see
/// [`double_option`]; with `#[serde(default)]`).
pub fn business_date_patch<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<time::Date>>, D::Error> {
    business_date_opt(d).map(Some)
}

/// `YYYY-MM-DD` text of a date.
pub fn date_text(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// RFC 3339 text of a stored timestamp.
pub fn timestamp(t: &DbTime) -> String {
    t.0.format(&Rfc3339).unwrap_or_default()
}

/// Deserializes a PATCH field where absent means "keep", `null` means "clear" and a
/// value means "set": use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Flattens `validator` errors into field errors with JSON paths, sorted by field.
pub fn validation_errors(errors: &validator::ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    flatten("", errors, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn flatten(prefix: &str, errors: &validator::ValidationErrors, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            ValidationErrorsKind::Field(errs) => {
                for e in errs {
                    out.push(FieldError::new(&path, e.code.as_ref(), message(e)));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    flatten(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

fn message(e: &validator::ValidationError) -> String {
    if let Some(m) = &e.message {
        return m.to_string();
    }
    let p = |k: &str| e.params.get(k).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("must be {min} to {max} characters long"),
            (Some(min), None) => format!("must be at least {min} characters long"),
            (None, Some(max)) => format!("must be at most {max} characters long"),
            _ => "has an invalid length".into(),
        },
        "range" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("must be from {min} to {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            _ => "is out of range".into(),
        },
        "email" => "is not a valid e-mail address".into(),
        other => format!("is invalid ({other})"),
    }
}

/// Runs `validator` checks plus extra field errors; any error becomes one 422.
pub fn validate(v: &impl validator::Validate, mut extra: Vec<FieldError>) -> Result<(), ApiError> {
    if let Err(e) = v.validate() {
        extra.extend(validation_errors(&e));
    }
    if extra.is_empty() {
        Ok(())
    } else {
        extra.sort_by(|a, b| a.field.cmp(&b.field));
        extra.dedup();
        Err(ApiError::Validation(extra))
    }
}

/// Appends an error when a decimal is negative.
pub fn non_negative(field: &str, v: Option<&DecimalString>, errors: &mut Vec<FieldError>) {
    if v.is_some_and(|d| d.0.is_sign_negative() && !d.0.is_zero()) {
        errors.push(FieldError::new(field, "range", "must not be negative"));
    }
}

/// Trims a string and turns an empty one into `None`.
pub fn clean(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// A buyer's order reference (BT-13) as stored: trimmed, empty = none; an error for
/// `order_reference` when longer than 100 characters or not on one line.
pub fn order_reference(s: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let r = clean(s);
    if r.as_ref().is_some_and(|r| r.chars().count() > 100 || r.chars().any(char::is_control)) {
        errors.push(FieldError::new("order_reference", "length", "at most 100 characters on one line"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct M {
        amount: DecimalString,
    }

    #[test]
    fn money_must_be_a_decimal_string_never_a_float() {
        let ok: M = serde_json::from_str(r#"{"amount":"95.50"}"#).unwrap();
        assert_eq!(ok.amount.0, Decimal::new(9550, 2));
        assert!(serde_json::from_str::<M>(r#"{"amount":95.5}"#).is_err());
        assert!(serde_json::from_str::<M>(r#"{"amount":"1e3"}"#).is_err());
        assert!(serde_json::from_str::<M>(r#"{"amount":"NaN"}"#).is_err());
        assert!(serde_json::from_str::<M>(r#"{"amount":""}"#).is_err());
    }
}

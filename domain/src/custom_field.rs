//! Custom fields: definitions and the validation of values on write.
//!
//! Admins define extra fields for bookings and tickets (number, text, boolean, date,
//! select). Bookings and tickets carry their values as one JSON object
//! (`"custom_fields": {"km": "42.5", "vehicle": "van"}`), checked on every write with
//! [`validate_values`] against the *active* definitions of the entity. A number field of a
//! booking may carry a billing mapping to a catalog service: the invoice run then bills
//! `value × rate of that service` ([`billing_mappings`], [`billed_values`]).
//!
//! Stored (normalised) values: numbers as decimal strings (`"42.5"`, never floats), texts
//! trimmed, booleans as JSON booleans, dates as `YYYY-MM-DD`, selects as the chosen option.
//! Optional fields sent as `null` are dropped.

use crate::customer::str_enum;
use crate::position::{CustomFieldMapping, CustomFieldValue};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::str::FromStr;

/// JSON key of the values object on bookings and tickets; error paths start with it.
pub const VALUES_FIELD: &str = "custom_fields";
/// Longest accepted text value, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest select option, in characters.
pub const MAX_OPTION_CHARS: usize = 100;
/// Most options of a select field.
pub const MAX_OPTIONS: usize = 100;
/// Longest field key.
pub const MAX_KEY_CHARS: usize = 40;

/// Which kind of record a custom field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CustomFieldEntity {
    /// Time bookings.
    Booking,
    /// Tickets.
    Ticket,
}

str_enum!(CustomFieldEntity { Booking => "booking", Ticket => "ticket" });

/// The type of a custom field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// An exact decimal (JSON number or decimal string on input, decimal string stored).
    Number,
    /// Free text up to [`MAX_TEXT_CHARS`] characters.
    Text,
    /// `true` or `false`.
    Boolean,
    /// A calendar date `YYYY-MM-DD`.
    Date,
    /// One of a fixed list of options.
    Select,
}

str_enum!(FieldType { Number => "number", Text => "text", Boolean => "boolean", Date => "date", Select => "select" });

/// A custom-field definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldDefinition {
    /// Definition id.
    pub id: i64,
    /// Bookings or tickets.
    pub entity: CustomFieldEntity,
    /// JSON key of the value, e.g. `km` (see [`valid_key`]).
    pub key: String,
    /// Label shown to users, e.g. "Kilometres driven".
    pub label: String,
    /// Value type.
    pub field_type: FieldType,
    /// Whether every write must carry a value.
    pub required: bool,
    /// Allowed values of a select field (empty otherwise).
    pub options: Vec<String>,
    /// Smallest allowed number (number fields only).
    pub min: Option<Decimal>,
    /// Largest allowed number (number fields only).
    pub max: Option<Decimal>,
    /// Catalog service billed per unit of the value (number fields of bookings only).
    pub billing_service_id: Option<i64>,
}

/// Why a value (or a definition) is invalid: a JSON path, a stable code, a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValueError {
    /// JSON path, e.g. `custom_fields.km`.
    pub field: String,
    /// Machine-readable reason: `required`, `unknown_field`, `invalid_type`, `range`,
    /// `length`, `date`, `option`, `format`, `not_allowed`.
    pub code: &'static str,
    /// Human-readable reason.
    pub message: String,
}

impl FieldValueError {
    fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldValueError { field: field.into(), code, message: message.into() }
    }
}

/// Whether `key` is a valid field key: `^[a-z][a-z0-9_]{0,39}$`.
pub fn valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_KEY_CHARS
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// Checks the rules of a definition across its fields; paths are the definition's JSON
/// fields (`key`, `options`, `options[2]`, `min`, `max`, `billing_service_id`). Whether the
/// billing service exists and is active is the caller's check.
pub fn check_definition(def: &CustomFieldDefinition) -> Vec<FieldValueError> {
    let mut errors = Vec::new();
    if !valid_key(&def.key) {
        errors.push(FieldValueError::new(
            "key",
            "format",
            "must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 40 characters)",
        ));
    }
    if def.field_type == FieldType::Select {
        if def.options.is_empty() {
            errors.push(FieldValueError::new("options", "required", "a select field needs at least one option"));
        }
        if def.options.len() > MAX_OPTIONS {
            errors.push(FieldValueError::new("options", "length", format!("at most {MAX_OPTIONS} options")));
        }
        for (i, option) in def.options.iter().enumerate() {
            let path = format!("options[{i}]");
            let len = option.chars().count();
            if option.trim().is_empty() || len > MAX_OPTION_CHARS {
                errors.push(FieldValueError::new(
                    path,
                    "length",
                    format!("must be 1 to {MAX_OPTION_CHARS} characters long"),
                ));
            } else if def.options[..i].contains(option) {
                errors.push(FieldValueError::new(path, "duplicate", format!("`{option}` is listed twice")));
            }
        }
    } else if !def.options.is_empty() {
        errors.push(FieldValueError::new("options", "not_allowed", "only select fields have options"));
    }
    if def.field_type == FieldType::Number {
        if let (Some(min), Some(max)) = (def.min, def.max) {
            if min > max {
                errors.push(FieldValueError::new("min", "range", format!("must not be greater than max ({max})")));
            }
        }
    } else {
        for (field, v) in [("min", def.min), ("max", def.max)] {
            if v.is_some() {
                errors.push(FieldValueError::new(
                    field,
                    "not_allowed",
                    "only number fields have a minimum and maximum",
                ));
            }
        }
    }
    if def.billing_service_id.is_some()
        && (def.field_type != FieldType::Number || def.entity != CustomFieldEntity::Booking)
    {
        errors.push(FieldValueError::new(
            "billing_service_id",
            "not_allowed",
            "only number fields of bookings can be billed as a service",
        ));
    }
    errors
}

fn path(key: &str) -> String {
    format!("{VALUES_FIELD}.{key}")
}

/// Reads a number given as a JSON number or a decimal string, without going through a
/// float: the JSON number's text is parsed as a decimal.
fn parse_number(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let s = s.trim();
            let digits = s.strip_prefix('-').unwrap_or(s);
            let ok = !digits.is_empty()
                && s.len() <= 40
                && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && digits.bytes().filter(|b| *b == b'.').count() <= 1
                && !digits.starts_with('.')
                && !digits.ends_with('.');
            if !ok {
                return None;
            }
            s.to_string()
        }
        _ => return None,
    };
    Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).ok()
}

/// Whether `s` is a real calendar date written `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    if !b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit()) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u16>().ok()).unwrap_or(0);
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let Ok(month) = time::Month::try_from(month as u8) else { return false };
    time::Date::from_calendar_date(i32::from(year), month, day as u8).is_ok()
}

fn check_value(def: &CustomFieldDefinition, v: &Value) -> Result<Value, FieldValueError> {
    let p = path(&def.key);
    match def.field_type {
        FieldType::Number => {
            let n = parse_number(v)
                .ok_or_else(|| FieldValueError::new(&p, "invalid_type", "must be a number, e.g. 42.5 or \"42.5\""))?;
            if let Some(min) = def.min.filter(|m| n < *m) {
                return Err(FieldValueError::new(&p, "range", format!("must be at least {min}")));
            }
            if let Some(max) = def.max.filter(|m| n > *m) {
                return Err(FieldValueError::new(&p, "range", format!("must be at most {max}")));
            }
            Ok(Value::String(n.to_string()))
        }
        FieldType::Text => {
            let Value::String(s) = v else {
                return Err(FieldValueError::new(&p, "invalid_type", "must be a text"));
            };
            let s = s.trim();
            if s.chars().count() > MAX_TEXT_CHARS {
                return Err(FieldValueError::new(
                    &p,
                    "length",
                    format!("must be at most {MAX_TEXT_CHARS} characters long"),
                ));
            }
            if s.is_empty() && def.required {
                return Err(FieldValueError::new(&p, "required", format!("`{}` is required", def.label)));
            }
            Ok(Value::String(s.to_string()))
        }
        FieldType::Boolean => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            _ => Err(FieldValueError::new(&p, "invalid_type", "must be true or false")),
        },
        FieldType::Date => match v {
            Value::String(s) if is_date(s) => Ok(Value::String(s.clone())),
            _ => Err(FieldValueError::new(&p, "date", "must be a date written YYYY-MM-DD")),
        },
        FieldType::Select => match v {
            Value::String(s) if def.options.contains(s) => Ok(Value::String(s.clone())),
            _ => Err(FieldValueError::new(&p, "option", format!("must be one of: {}", def.options.join(", ")))),
        },
    }
}

/// Validates the custom-field values of one booking or ticket against the active
/// definitions of its entity and returns them normalised for storage.
///
/// `values` is the record's `custom_fields` JSON object (`null` counts as `{}`). Every key
/// must name an active definition (`unknown_field`), every required field must have a
/// non-null value (`required`), and each value must match its field's type and limits.
/// All errors are returned at once, sorted by path (`custom_fields.<key>`).
pub fn validate_values(
    definitions: &[CustomFieldDefinition],
    values: &Value,
) -> Result<Map<String, Value>, Vec<FieldValueError>> {
    let empty = Map::new();
    let object = match values {
        Value::Null => &empty,
        Value::Object(o) => o,
        _ => {
            return Err(vec![FieldValueError::new(
                VALUES_FIELD,
                "invalid_type",
                "must be an object of field keys and values",
            )])
        }
    };
    let mut errors = Vec::new();
    let mut out = Map::new();
    for (key, value) in object {
        match definitions.iter().find(|d| &d.key == key) {
            None => {
                errors.push(FieldValueError::new(path(key), "unknown_field", "no active custom field has this key"))
            }
            Some(_) if value.is_null() => {}
            Some(def) => match check_value(def, value) {
                Ok(v) => {
                    out.insert(key.clone(), v);
                }
                Err(e) => errors.push(e),
            },
        }
    }
    for def in definitions.iter().filter(|d| d.required) {
        if object.get(&def.key).is_none_or(Value::is_null) {
            errors.push(FieldValueError::new(path(&def.key), "required", format!("`{}` is required", def.label)));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        errors.dedup();
        Err(errors)
    }
}

/// The definitions that are billed: number fields of bookings mapped to a service.
pub fn billing_mapped_fields(definitions: &[CustomFieldDefinition]) -> Vec<&CustomFieldDefinition> {
    definitions
        .iter()
        .filter(|d| {
            d.entity == CustomFieldEntity::Booking
                && d.field_type == FieldType::Number
                && d.billing_service_id.is_some()
        })
        .collect()
}

/// The billing mappings of the definitions, for the invoice engine's context.
pub fn billing_mappings(definitions: &[CustomFieldDefinition]) -> Vec<CustomFieldMapping> {
    billing_mapped_fields(definitions)
        .into_iter()
        .filter_map(|d| d.billing_service_id.map(|service_id| CustomFieldMapping { field_id: d.id, service_id }))
        .collect()
}

/// The values of a booking's billed number fields (from its stored, normalised values),
/// in definition order, for [`crate::position::Booking::custom_fields`]. Missing, null
/// and unreadable values are skipped.
pub fn billed_values(definitions: &[CustomFieldDefinition], values: &Map<String, Value>) -> Vec<CustomFieldValue> {
    billing_mapped_fields(definitions)
        .into_iter()
        .filter_map(|d| {
            let value = values.get(&d.key).and_then(parse_number)?;
            Some(CustomFieldValue { field_id: d.id, value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(id: i64, key: &str, field_type: FieldType) -> CustomFieldDefinition {
        CustomFieldDefinition {
            id,
            entity: CustomFieldEntity::Booking,
            key: key.into(),
            label: key.to_uppercase(),
            field_type,
            required: false,
            options: vec![],
            min: None,
            max: None,
            billing_service_id: None,
        }
    }

    fn km() -> CustomFieldDefinition {
        CustomFieldDefinition {
            min: Some(Decimal::ZERO),
            max: Some(Decimal::from(1000)),
            billing_service_id: Some(7),
            ..def(1, "km", FieldType::Number)
        }
    }

    fn vehicle() -> CustomFieldDefinition {
        CustomFieldDefinition { options: vec!["car".into(), "van".into()], ..def(2, "vehicle", FieldType::Select) }
    }

    fn travel_defs() -> Vec<CustomFieldDefinition> {
        vec![
            km(),
            vehicle(),
            def(3, "note", FieldType::Text),
            def(4, "night", FieldType::Boolean),
            def(5, "visit_on", FieldType::Date),
        ]
    }

    fn fields(errors: &[FieldValueError]) -> Vec<(&str, &str)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn a_complete_travel_booking_is_accepted_and_normalised() {
        let out = validate_values(
            &travel_defs(),
            &json!({"km": 42.5, "vehicle": "van", "note": "  via A9  ", "night": false, "visit_on": "2026-02-28"}),
        )
        .unwrap();
        assert_eq!(out["km"], json!("42.5"));
        assert_eq!(out["vehicle"], json!("van"));
        assert_eq!(out["note"], json!("via A9"));
        assert_eq!(out["night"], json!(false));
        assert_eq!(out["visit_on"], json!("2026-02-28"));
    }

    #[test]
    fn km_may_be_sent_as_a_decimal_string_and_keeps_its_scale() {
        let out = validate_values(&[km()], &json!({"km": "12.50"})).unwrap();
        assert_eq!(out["km"], json!("12.50"));
    }

    #[test]
    fn km_above_the_maximum_is_rejected() {
        let e = validate_values(&[km()], &json!({"km": "1000.01"})).unwrap_err();
        assert_eq!(fields(&e), vec![("custom_fields.km", "range")]);
        assert!(e[0].message.contains("1000"), "{}", e[0].message);
        assert!(validate_values(&[km()], &json!({"km": 1000})).is_ok(), "the maximum itself is allowed");
    }

    #[test]
    fn negative_km_below_the_minimum_is_rejected() {
        let e = validate_values(&[km()], &json!({"km": -1})).unwrap_err();
        assert_eq!(fields(&e), vec![("custom_fields.km", "range")]);
        assert!(validate_values(&[km()], &json!({"km": 0})).is_ok(), "the minimum itself is allowed");
    }

    #[test]
    fn km_as_words_or_a_boolean_is_not_a_number() {
        for bad in [json!("forty"), json!(true), json!("1e3"), json!("."), json!(""), json!([1]), json!({"v": 1})] {
            let e = validate_values(&[km()], &json!({ "km": bad })).unwrap_err();
            assert_eq!(fields(&e), vec![("custom_fields.km", "invalid_type")], "{bad}");
        }
    }

    #[test]
    fn a_json_number_is_read_exactly_without_float_rounding() {
        let out = validate_values(&[def(1, "qty", FieldType::Number)], &json!({"qty": 0.1})).unwrap();
        assert_eq!(out["qty"], json!("0.1"));
    }

    #[test]
    fn keys_that_no_active_field_defines_are_rejected() {
        let e = validate_values(&travel_defs(), &json!({"kilometres": 5, "km": 5})).unwrap_err();
        assert_eq!(fields(&e), vec![("custom_fields.kilometres", "unknown_field")]);
        let e = validate_values(&[], &json!({"km": 5})).unwrap_err();
        assert_eq!(fields(&e), vec![("custom_fields.km", "unknown_field")]);
    }

    #[test]
    fn a_required_field_must_be_present_and_not_null() {
        let defs = [CustomFieldDefinition { required: true, ..km() }];
        for values in [json!({}), json!(null), json!({"km": null})] {
            let e = validate_values(&defs, &values).unwrap_err();
            assert_eq!(fields(&e), vec![("custom_fields.km", "required")], "{values}");
        }
        let defs = [CustomFieldDefinition { required: true, ..def(3, "note", FieldType::Text) }];
        let e = validate_values(&defs, &json!({"note": "   "})).unwrap_err();
        assert_eq!(fields(&e), vec![("custom_fields.note", "required")]);
    }

    #[test]
    fn optional_fields_may_be_left_out_or_sent_as_null_and_are_then_not_stored() {
        let out = validate_values(&travel_defs(), &json!({"km": null})).unwrap();
        assert!(out.is_empty());
        assert!(validate_values(&travel_defs(), &json!(null)).unwrap().is_empty());
    }

    #[test]
    fn a_vehicle_outside_the_options_is_rejected() {
        let e = validate_values(&[vehicle()], &json!({"vehicle": "bike"})).unwrap_err();
        assert_eq!(fields(&e), vec![("custom_fields.vehicle", "option")]);
        assert!(e[0].message.contains("car, van"));
        let e = validate_values(&[vehicle()], &json!({"vehicle": "Van"})).unwrap_err();
        assert_eq!(fields(&e), vec![("custom_fields.vehicle", "option")], "options are case-sensitive");
    }

    #[test]
    fn an_overlong_note_is_rejected() {
        let note = "x".repeat(MAX_TEXT_CHARS + 1);
        let e = validate_values(&travel_defs(), &json!({ "note": note })).unwrap_err();
        assert_eq!(fields(&e), vec![("custom_fields.note", "length")]);
        let note = "ü".repeat(MAX_TEXT_CHARS);
        assert!(validate_values(&travel_defs(), &json!({ "note": note })).is_ok(), "the cap counts characters");
        let e = validate_values(&travel_defs(), &json!({"note": 5})).unwrap_err();
        assert_eq!(fields(&e), vec![("custom_fields.note", "invalid_type")]);
    }

    #[test]
    fn a_night_flag_must_be_a_real_boolean() {
        for bad in [json!("true"), json!(1), json!("yes")] {
            let e = validate_values(&travel_defs(), &json!({ "night": bad })).unwrap_err();
            assert_eq!(fields(&e), vec![("custom_fields.night", "invalid_type")]);
        }
    }

    #[test]
    fn visit_dates_must_be_real_calendar_dates_in_iso_format() {
        for bad in ["2026-02-29", "2026-13-01", "2026-00-10", "2026-1-5", "05.01.2026", "2026-01-05T10:00:00Z", ""] {
            let e = validate_values(&travel_defs(), &json!({ "visit_on": bad })).unwrap_err();
            assert_eq!(fields(&e), vec![("custom_fields.visit_on", "date")], "{bad}");
        }
        assert!(validate_values(&travel_defs(), &json!({"visit_on": "2028-02-29"})).is_ok(), "leap day");
        let e = validate_values(&travel_defs(), &json!({"visit_on": 20260105})).unwrap_err();
        assert_eq!(fields(&e), vec![("custom_fields.visit_on", "date")]);
    }

    #[test]
    fn all_errors_are_reported_at_once_sorted_by_path() {
        let defs =
            vec![CustomFieldDefinition { required: true, ..vehicle() }, km(), def(4, "night", FieldType::Boolean)];
        let e = validate_values(&defs, &json!({"night": "no", "km": 5000, "zzz": 1})).unwrap_err();
        assert_eq!(
            fields(&e),
            vec![
                ("custom_fields.km", "range"),
                ("custom_fields.night", "invalid_type"),
                ("custom_fields.vehicle", "required"),
                ("custom_fields.zzz", "unknown_field"),
            ]
        );
    }

    #[test]
    fn values_that_are_not_an_object_are_rejected_as_a_whole() {
        for bad in [json!([]), json!("km=5"), json!(5)] {
            let e = validate_values(&travel_defs(), &bad).unwrap_err();
            assert_eq!(fields(&e), vec![("custom_fields", "invalid_type")]);
        }
    }

    #[test]
    fn only_mapped_number_fields_of_bookings_are_billed() {
        let mut ticket_km = km();
        ticket_km.id = 9;
        ticket_km.entity = CustomFieldEntity::Ticket;
        let defs = vec![km(), vehicle(), def(6, "hours_waiting", FieldType::Number), ticket_km];
        assert_eq!(billing_mapped_fields(&defs).iter().map(|d| d.id).collect::<Vec<_>>(), vec![1]);
        assert_eq!(billing_mappings(&defs), vec![CustomFieldMapping { field_id: 1, service_id: 7 }]);
        let stored = validate_values(&defs[..3], &json!({"km": "42.5", "vehicle": "car", "hours_waiting": 2})).unwrap();
        assert_eq!(billed_values(&defs, &stored), vec![CustomFieldValue { field_id: 1, value: Decimal::new(425, 1) }]);
        assert!(billed_values(&defs, &Map::new()).is_empty());
    }

    #[test]
    fn field_keys_are_lower_case_slugs() {
        for ok in ["km", "vehicle_type", "a1", "x"] {
            assert!(valid_key(ok), "{ok}");
        }
        for bad in ["", "Km", "1km", "_km", "km-driven", "km driven", "kilómetros", &"k".repeat(41)] {
            assert!(!valid_key(bad), "{bad}");
        }
        assert!(valid_key(&"k".repeat(40)));
    }

    #[test]
    fn a_select_field_needs_unique_options_and_others_none() {
        let no_options = CustomFieldDefinition { options: vec![], ..vehicle() };
        assert_eq!(fields(&check_definition(&no_options)), vec![("options", "required")]);
        let twice = CustomFieldDefinition { options: vec!["car".into(), "van".into(), "car".into()], ..vehicle() };
        assert_eq!(fields(&check_definition(&twice)), vec![("options[2]", "duplicate")]);
        let blank = CustomFieldDefinition { options: vec![" ".into()], ..vehicle() };
        assert_eq!(fields(&check_definition(&blank)), vec![("options[0]", "length")]);
        let text_with_options = CustomFieldDefinition { options: vec!["a".into()], ..def(3, "note", FieldType::Text) };
        assert_eq!(fields(&check_definition(&text_with_options)), vec![("options", "not_allowed")]);
        assert!(check_definition(&vehicle()).is_empty());
    }

    #[test]
    fn only_number_fields_have_limits_and_the_minimum_may_not_exceed_the_maximum() {
        let upside_down = CustomFieldDefinition { min: Some(Decimal::from(10)), max: Some(Decimal::from(5)), ..km() };
        assert_eq!(fields(&check_definition(&upside_down)), vec![("min", "range")]);
        let equal = CustomFieldDefinition { min: Some(Decimal::from(5)), max: Some(Decimal::from(5)), ..km() };
        assert!(check_definition(&equal).is_empty());
        let text =
            CustomFieldDefinition { min: Some(Decimal::ONE), max: Some(Decimal::TEN), ..def(3, "n", FieldType::Text) };
        assert_eq!(fields(&check_definition(&text)), vec![("min", "not_allowed"), ("max", "not_allowed")]);
    }

    #[test]
    fn only_number_fields_of_bookings_can_be_billed_as_a_service() {
        assert!(check_definition(&km()).is_empty());
        let ticket_km = CustomFieldDefinition { entity: CustomFieldEntity::Ticket, ..km() };
        assert_eq!(fields(&check_definition(&ticket_km)), vec![("billing_service_id", "not_allowed")]);
        let billed_text = CustomFieldDefinition { billing_service_id: Some(7), ..def(3, "note", FieldType::Text) };
        assert_eq!(fields(&check_definition(&billed_text)), vec![("billing_service_id", "not_allowed")]);
    }

    #[test]
    fn entities_and_field_types_have_stable_names() {
        assert_eq!(CustomFieldEntity::Booking.as_str(), "booking");
        assert_eq!("ticket".parse::<CustomFieldEntity>().unwrap(), CustomFieldEntity::Ticket);
        assert_eq!(
            FieldType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            ["number", "text", "boolean", "date", "select"]
        );
        assert!("money".parse::<FieldType>().is_err());
    }
}

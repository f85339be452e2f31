//! Column adapters that give both backends the same value semantics.
//!
//! * [`ExactDecimal`] — money and quantities: `NUMERIC` in PostgreSQL, a canonical
//!   decimal string (`TEXT`) in SQLite. Never a float.
//! * [`DbTime`] — instants: `TIMESTAMPTZ` in PostgreSQL; fixed-width RFC 3339 UTC text
//!   with microseconds in SQLite, so that text order is time order.

use rust_decimal::Decimal;
use sqlx::decode::Decode;
use sqlx::encode::{Encode, IsNull};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef, Postgres};
use sqlx::sqlite::{Sqlite, SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::types::Type;
use std::str::FromStr;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// An exact decimal column value (money, hours, rates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExactDecimal(pub Decimal);

impl Type<Sqlite> for ExactDecimal {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}
impl<'q> Encode<'q, Sqlite> for ExactDecimal {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        // Keep the scale ("41.50" stays "41.50"), as PostgreSQL NUMERIC does.
        <String as Encode<'q, Sqlite>>::encode(self.0.to_string(), buf)
    }
}
impl<'r> Decode<'r, Sqlite> for ExactDecimal {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <&str as Decode<'r, Sqlite>>::decode(value)?;
        Ok(ExactDecimal(Decimal::from_str(s)?))
    }
}
impl Type<Postgres> for ExactDecimal {
    fn type_info() -> PgTypeInfo {
        <Decimal as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <Decimal as Type<Postgres>>::compatible(ty)
    }
}
impl sqlx::postgres::PgHasArrayType for ExactDecimal {
    fn array_type_info() -> PgTypeInfo {
        <Decimal as sqlx::postgres::PgHasArrayType>::array_type_info()
    }
}
impl Encode<'_, Postgres> for ExactDecimal {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        if self.0.is_zero() && self.0.scale() > 0 {
            // sqlx writes every zero as a bare `0`: write NUMERIC's binary zero with its
            // display scale, so that `0.00` stays `0.00` (as in SQLite).
            buf.extend_from_slice(&0i16.to_be_bytes()); // no digits
            buf.extend_from_slice(&0i16.to_be_bytes()); // weight
            buf.extend_from_slice(&0u16.to_be_bytes()); // positive
            buf.extend_from_slice(&(self.0.scale() as u16).to_be_bytes()); // display scale
            return Ok(IsNull::No);
        }
        <Decimal as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}
impl<'r> Decode<'r, Postgres> for ExactDecimal {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        // sqlx reads every zero as a bare `0`: keep the display scale of a stored `0.00`.
        let zero_scale = match value.format() {
            sqlx::postgres::PgValueFormat::Binary => {
                value.as_bytes().ok().filter(|b| b.len() >= 8).map(|b| u32::from(u16::from_be_bytes([b[6], b[7]])))
            }
            sqlx::postgres::PgValueFormat::Text => {
                value.as_str().ok().and_then(|s| s.split_once('.')).map(|(_, f)| f.len() as u32)
            }
        };
        let mut d = <Decimal as Decode<'r, Postgres>>::decode(value)?;
        if let Some(scale) = zero_scale.filter(|s| d.is_zero() && *s <= 28) {
            d.rescale(scale);
        }
        Ok(ExactDecimal(d))
    }
}

/// A point in time stored with microsecond precision in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DbTime(pub OffsetDateTime);

impl DbTime {
    /// Now, truncated to microseconds (what both backends can store).
    pub fn now() -> DbTime {
        DbTime::from(OffsetDateTime::now_utc())
    }

    /// A time as SQLite stores it (RFC 3339 text).
    pub(crate) fn from_sqlite_text(s: &str) -> Result<DbTime, time::error::Parse> {
        Ok(DbTime(OffsetDateTime::parse(s, &Rfc3339)?))
    }
}

impl From<OffsetDateTime> for DbTime {
    fn from(t: OffsetDateTime) -> Self {
        let t = t.to_offset(UtcOffset::UTC);
        let micros = t.microsecond();
        DbTime(t.replace_nanosecond(micros * 1_000).unwrap_or(t))
    }
}

/// The text forms SQLite stores of a date and a time of day, as read where rows are not
/// decoded by sqlx (rows packed into JSON, the direct readers).
pub(crate) mod sqlite_text {
    use time::macros::format_description;
    use time::{Date, Time};

    /// `2026-11-23`. (The form SQLite's rows carry is taken apart by hand first: a run
    /// decodes a million of them, and the format parser costs several times as much.)
    pub(crate) fn date(s: &str) -> Result<Date, time::error::Parse> {
        if let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *s.as_bytes() {
            if let (Some(y), Some(m), Some(d)) = (digits(&[y0, y1, y2, y3]), digits(&[m0, m1]), digits(&[d0, d1])) {
                let month = time::Month::try_from(m as u8).ok();
                if let Some(date) = month.and_then(|m| Date::from_calendar_date(y as i32, m, d as u8).ok()) {
                    return Ok(date);
                }
            }
        }
        Date::parse(s, format_description!("[year]-[month]-[day]"))
    }

    /// `08:30:00`, with or without fractions of a second (the plain form by hand, as
    /// [`date`]).
    pub(crate) fn time_of_day(s: &str) -> Result<Time, time::error::Parse> {
        if let [h0, h1, b':', m0, m1, b':', s0, s1] = *s.as_bytes() {
            if let (Some(h), Some(m), Some(sec)) = (digits(&[h0, h1]), digits(&[m0, m1]), digits(&[s0, s1])) {
                if let Ok(time) = Time::from_hms(h as u8, m as u8, sec as u8) {
                    return Ok(time);
                }
            }
        }
        Time::parse(s, format_description!("[hour]:[minute]:[second][optional [.[subsecond]]]"))
    }

    /// The number an all-digit ASCII field spells.
    fn digits(field: &[u8]) -> Option<u32> {
        field.iter().try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
    }
}

const SQLITE_TIME: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

impl Type<Sqlite> for DbTime {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}
impl<'q> Encode<'q, Sqlite> for DbTime {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        let s = self.0.to_offset(UtcOffset::UTC).format(SQLITE_TIME)?;
        <String as Encode<'q, Sqlite>>::encode(s, buf)
    }
}
impl<'r> Decode<'r, Sqlite> for DbTime {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(DbTime::from_sqlite_text(<&str as Decode<'r, Sqlite>>::decode(value)?)?)
    }
}
impl Type<Postgres> for DbTime {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <OffsetDateTime as Type<Postgres>>::compatible(ty)
    }
}
impl Encode<'_, Postgres> for DbTime {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <OffsetDateTime as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}
impl<'r> Decode<'r, Postgres> for DbTime {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(DbTime(<OffsetDateTime as Decode<'r, Postgres>>::decode(value)?.to_offset(UtcOffset::UTC)))
    }
}

impl serde::Serialize for DbTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.0.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
}

impl<'de> serde::Deserialize<'de> for DbTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        OffsetDateTime::parse(&text, &Rfc3339)
            .map(|t| DbTime(t.to_offset(UtcOffset::UTC)))
            .map_err(serde::de::Error::custom)
    }
}

impl<'de> serde::Deserialize<'de> for ExactDecimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map(ExactDecimal).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for ExactDecimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

/// A stored value the code cannot read back (never written that way by this crate).
pub(crate) fn decode_error(msg: String) -> crate::StoreError {
    crate::StoreError::Database(sqlx::Error::Decode(msg.into()))
}

/// A database URL with its password replaced by `***`, for logs and error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A JSON value kept in a `TEXT` column on both backends (custom-field values).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JsonText(pub serde_json::Value);

impl<DB: sqlx::Database> Type<DB> for JsonText
where
    String: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as Type<DB>>::compatible(ty)
    }
}
impl<'q, DB: sqlx::Database> Encode<'q, DB> for JsonText
where
    String: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, DB>>::encode(self.0.to_string(), buf)
    }
}
impl<'r, DB: sqlx::Database> Decode<'r, DB> for JsonText
where
    String: Decode<'r, DB>,
{
    fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <String as Decode<'r, DB>>::decode(value)?;
        Ok(JsonText(serde_json::from_str(&s)?))
    }
}

impl<'de> serde::Deserialize<'de> for JsonText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(JsonText)
    }
}

impl serde::Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_text;
    use time::macros::{date, format_description, time};

    #[test]
    fn dates_and_times_read_by_hand_equal_what_the_format_parser_reads() {
        let mut day = date!(1999 - 12 - 25);
        while day < date!(2029 - 03 - 05) {
            let text = day.to_string();
            assert_eq!(sqlite_text::date(&text).unwrap(), day, "{text}");
            day = day.next_day().unwrap();
        }
        for bad in ["2026-02-30", "2026-13-01", "2026-1a-01", "26-11-01", "2026/11/01", ""] {
            assert!(sqlite_text::date(bad).is_err(), "{bad}");
        }
        let format = format_description!("[hour]:[minute]:[second]");
        for t in [time!(0:00), time!(8:30), time!(19:45:07), time!(23:59:59)] {
            assert_eq!(sqlite_text::time_of_day(&t.format(format).unwrap()).unwrap(), t);
        }
        assert_eq!(sqlite_text::time_of_day("19:45:00.0").unwrap(), time!(19:45));
        assert_eq!(sqlite_text::time_of_day("08:30:00.250").unwrap(), time!(8:30:00.25));
        for bad in ["24:00:00", "08:60:00", "8:30:00", "08:30", "ab:cd:ef"] {
            assert!(sqlite_text::time_of_day(bad).is_err(), "{bad}");
        }
    }
}

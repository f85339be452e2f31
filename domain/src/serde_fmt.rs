//! Wire formats for dates and times inside domain values (`YYYY-MM-DD`, `HH:MM:SS`).

time::serde::format_description!(pub(crate) date, Date, "[year]-[month]-[day]");
time::serde::format_description!(pub(crate) clock, Time, "[hour]:[minute]:[second]");

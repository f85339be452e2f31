//! Billing periods and pro-rating.
//!
//! Periods are calendar-aligned: a monthly period is a calendar month, a quarterly one a
//! calendar quarter (Jan–Mar, …), a yearly one a calendar year. A contract that starts or
//! ends inside a period is active only on part of it; its fee (and quota) for that period
//! is **pro-rated by days**: `amount × active days / days of the period`, money rounded
//! half-up to the minor unit, quota minutes rounded half-up to whole minutes.
//!
//! Intervals are half-open `[start, end)` like rate validity. Date arithmetic at the
//! edges of the supported calendar returns `None` instead of panicking.

use crate::customer::str_enum;
use crate::serde_fmt;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// Length of a contract's billing period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// Calendar month.
    Monthly,
    /// Calendar quarter.
    Quarterly,
    /// Calendar year.
    Yearly,
}

str_enum!(PeriodKind { Monthly => "monthly", Quarterly => "quarterly", Yearly => "yearly" });

impl PeriodKind {
    fn months(self) -> u8 {
        match self {
            PeriodKind::Monthly => 1,
            PeriodKind::Quarterly => 3,
            PeriodKind::Yearly => 12,
        }
    }
}

/// One billing period `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Period {
    /// First day of the period.
    #[serde(with = "serde_fmt::date")]
    pub start: Date,
    /// First day after the period (exclusive).
    #[serde(with = "serde_fmt::date")]
    pub end: Date,
}

fn add_months(year: i32, month: u8, add: u8) -> Option<Date> {
    let zero_based = u32::from(month) - 1 + u32::from(add);
    let year = year.checked_add(i32::try_from(zero_based / 12).ok()?)?;
    let month = Month::try_from(u8::try_from(zero_based % 12 + 1).ok()?).ok()?;
    Date::from_calendar_date(year, month, 1).ok()
}

impl Period {
    /// The period of `kind` containing `date`; `None` at the end of the calendar.
    pub fn containing(kind: PeriodKind, date: Date) -> Option<Period> {
        let months = kind.months();
        let m0 = u8::from(date.month()) - 1;
        let first_month = m0 / months * months + 1;
        let start = Date::from_calendar_date(date.year(), Month::try_from(first_month).ok()?, 1).ok()?;
        let end = add_months(date.year(), first_month, months)?;
        Some(Period { start, end })
    }

    /// The period of `kind` following this one.
    pub fn next(&self, kind: PeriodKind) -> Option<Period> {
        Period::containing(kind, self.end)
    }

    /// Whether `date` lies in the period.
    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date < self.end
    }

    /// The last day of the period (inclusive).
    pub fn last_day(&self) -> Option<Date> {
        self.end.previous_day()
    }

    /// Number of days in the period.
    pub fn days(&self) -> i64 {
        (self.end - self.start).whole_days()
    }

    /// Days of the period on which something active from `from` to `until` (both
    /// inclusive; `None` = open end) is active.
    pub fn active_days(&self, from: Date, until: Option<Date>) -> i64 {
        let start = self.start.max(from);
        let end = match until.and_then(|u| u.next_day()) {
            Some(u) => self.end.min(u),
            None => self.end,
        };
        (end - start).whole_days().max(0)
    }

    /// Ordinal of the period on its kind's scale (consecutive periods differ by 1),
    /// used to count periods for carry-over expiry.
    pub fn ordinal(&self, kind: PeriodKind) -> i64 {
        let months = i64::from(self.start.year()) * 12 + i64::from(u8::from(self.start.month())) - 1;
        months / i64::from(kind.months())
    }
}

/// Share of a period on which something active from `from` to `until` (inclusive) is
/// active, as `(active_days, period_days)`. A full period is `(n, n)`.
pub fn pro_rata(period: &Period, from: Date, until: Option<Date>) -> (i64, i64) {
    (period.active_days(from, until), period.days())
}

/// `amount × active / total` (unrounded); `None` on overflow or an empty period.
pub fn pro_rate(amount: Decimal, active: i64, total: i64) -> Option<Decimal> {
    if total <= 0 {
        return None;
    }
    if active >= total {
        return Some(amount);
    }
    amount.checked_mul(Decimal::from(active.max(0)))?.checked_div(Decimal::from(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn february_of_a_leap_year_is_a_29_day_monthly_period() {
        let p = Period::containing(PeriodKind::Monthly, date!(2028 - 02 - 10)).unwrap();
        assert_eq!(p.start, date!(2028 - 02 - 01));
        assert_eq!(p.end, date!(2028 - 03 - 01));
        assert_eq!(p.days(), 29);
        assert_eq!(p.last_day(), Some(date!(2028 - 02 - 29)));
    }

    #[test]
    fn quarters_and_years_are_calendar_aligned() {
        let q = Period::containing(PeriodKind::Quarterly, date!(2026 - 11 - 30)).unwrap();
        assert_eq!((q.start, q.end), (date!(2026 - 10 - 01), date!(2027 - 01 - 01)));
        let y = Period::containing(PeriodKind::Yearly, date!(2026 - 06 - 15)).unwrap();
        assert_eq!((y.start, y.end), (date!(2026 - 01 - 01), date!(2027 - 01 - 01)));
        assert_eq!(q.next(PeriodKind::Quarterly).unwrap().start, date!(2027 - 01 - 01));
        assert_eq!(
            q.ordinal(PeriodKind::Quarterly) + 1,
            q.next(PeriodKind::Quarterly).unwrap().ordinal(PeriodKind::Quarterly)
        );
    }

    #[test]
    fn contract_starting_on_the_16th_of_a_30_day_month_pays_half_the_fee() {
        let p = Period::containing(PeriodKind::Monthly, date!(2026 - 04 - 01)).unwrap();
        let (active, total) = pro_rata(&p, date!(2026 - 04 - 16), None);
        assert_eq!((active, total), (15, 30));
        assert_eq!(pro_rate(Decimal::from(500), active, total), Some(Decimal::from(250)));
    }

    #[test]
    fn contract_ending_on_the_10th_is_active_ten_days() {
        let p = Period::containing(PeriodKind::Monthly, date!(2026 - 01 - 01)).unwrap();
        assert_eq!(pro_rata(&p, date!(2025 - 01 - 01), Some(date!(2026 - 01 - 10))), (10, 31));
        assert_eq!(pro_rata(&p, date!(2026 - 02 - 01), None).0, 0);
    }

    #[test]
    fn the_last_period_of_the_calendar_has_no_successor() {
        assert_eq!(Period::containing(PeriodKind::Monthly, date!(9999 - 12 - 31)), None);
    }
}

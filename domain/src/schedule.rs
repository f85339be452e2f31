//! Periodic work orders (seed 004): when a schedule's occurrences fall due and when the
//! work order of each must be created.
//!
//! A schedule recurs every N days, weeks, months or years. In `fixed` mode occurrence `n`
//! is computed from the anchor alone (never from the previous one), so a month-end date
//! does not drift: "the 31st" is the 28th/29th in February and the 31st again in March. In
//! `after_completion` mode only the first occurrence is fixed (the anchor); each next one
//! is due an interval after the previous one was completed (or skipped).
//!
//! A work order is created `lead_days` before its due date (three weeks for on-site work,
//! a few days for internal checks). Occurrences are numbered from 0; the number is the
//! key that makes creating them idempotent.

use crate::customer::str_enum;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, Weekday};

/// The unit of a schedule's interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IntervalUnit {
    /// Every N days.
    Days,
    /// Every N weeks (optionally on a weekday).
    Weeks,
    /// Every N months (optionally on a day of the month, clamped to the month's end).
    Months,
    /// Every N years (the anchor's month; the day clamped, e.g. 29 February).
    Years,
}

str_enum!(IntervalUnit { Days => "days", Weeks => "weeks", Months => "months", Years => "years" });

/// How the next occurrence follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecurrenceMode {
    /// Fixed calendar: occurrence `n` is `n` intervals after the anchor.
    Fixed,
    /// The next occurrence is due one interval after the previous one was completed.
    AfterCompletion,
}

str_enum!(RecurrenceMode { Fixed => "fixed", AfterCompletion => "after_completion" });

/// How the execution of a work order is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExecutionBilling {
    /// Covered by the contract: time booked on the order is covered work.
    Covered,
    /// A fixed price per execution, billed with the period's fee.
    FixedPrice,
}

str_enum!(ExecutionBilling { Covered => "covered", FixedPrice => "fixed_price" });

/// How extra work done on a work order (beyond its execution) is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExtraWorkBilling {
    /// Time and material at the resolved rates, on the invoice with the period's fee.
    TimeAndMaterial,
    /// By the contract's rules like any other work under it (coverage, quota).
    Contract,
}

str_enum!(ExtraWorkBilling { TimeAndMaterial => "time_and_material", Contract => "contract" });

/// The stable wire name of a weekday (`monday` … `sunday`).
pub fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "monday",
        Weekday::Tuesday => "tuesday",
        Weekday::Wednesday => "wednesday",
        Weekday::Thursday => "thursday",
        Weekday::Friday => "friday",
        Weekday::Saturday => "saturday",
        Weekday::Sunday => "sunday",
    }
}

/// The weekday named `name` (`monday` … `sunday`).
pub fn parse_weekday(name: &str) -> Option<Weekday> {
    (0..7).map(|n| Weekday::Monday.nth_next(n)).find(|d| weekday_name(*d) == name)
}

/// Most units in one interval (999 days … 999 years).
pub const MAX_EVERY: u32 = 999;
/// Longest lead time in days.
pub const MAX_LEAD_DAYS: u32 = 366;

/// When a schedule recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recurrence {
    /// Fixed calendar or after completion.
    pub mode: RecurrenceMode,
    /// Unit of the interval.
    pub unit: IntervalUnit,
    /// Units per interval (1 to [`MAX_EVERY`]).
    pub every: u32,
    /// The first possible due date; the start of the window.
    pub anchor: Date,
    /// Day of the month (1–31, clamped to the month's last day); months and years only.
    /// Without it, the anchor's day.
    pub day_of_month: Option<u8>,
    /// The weekday of each occurrence; weeks only. Without it, the anchor's weekday.
    pub weekday: Option<Weekday>,
}

/// Where a schedule's occurrences end: after a due date and/or a number of occurrences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// The last possible due date (inclusive).
    pub end: Option<Date>,
    /// How many occurrences there are at most (numbers `0..count`).
    pub count: Option<u32>,
}

impl Window {
    fn admits(&self, number: u32, due: Date) -> bool {
        self.end.is_none_or(|end| due <= end) && self.count.is_none_or(|count| number < count)
    }
}

/// One occurrence of a schedule: its number, due date and the day its work order is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// 0 for the first occurrence.
    pub number: u32,
    /// When the work is due.
    pub due: Date,
    /// When the work order is created (due date minus lead time).
    pub create_on: Date,
}

/// The last occurrence of a schedule that has a work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastOccurrence {
    /// Its number.
    pub number: u32,
    /// When it was completed or skipped (`None` while open).
    pub ended_on: Option<Date>,
}

/// A schedule's timing as the generator needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The recurrence rule.
    pub recurrence: Recurrence,
    /// The window.
    pub window: Window,
    /// Days between creating a work order and its due date.
    pub lead_days: u32,
    /// Occurrences due before this day are passed over (a paused schedule resumed without
    /// back-fill).
    pub not_before: Option<Date>,
}

/// `date` moved by `n` × `unit`, a month-based date clamped to the month's last day, on
/// `day` (1–31) when given instead of `date`'s day. `None` beyond the calendar.
pub fn add_interval(date: Date, unit: IntervalUnit, n: u32, day: Option<u8>) -> Option<Date> {
    match unit {
        IntervalUnit::Days => date.checked_add(Duration::days(i64::from(n))),
        IntervalUnit::Weeks => date.checked_add(Duration::weeks(i64::from(n))),
        IntervalUnit::Months | IntervalUnit::Years => {
            let months = if unit == IntervalUnit::Months { i64::from(n) } else { i64::from(n) * 12 };
            let index = i64::from(date.year()) * 12 + i64::from(u8::from(date.month()) - 1) + months;
            let year = i32::try_from(index.div_euclid(12)).ok()?;
            let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
            let day = day.unwrap_or(date.day()).clamp(1, month.length(year));
            Date::from_calendar_date(year, month, day).ok()
        }
    }
}

impl Recurrence {
    /// Checks the rule; the field (as the API names it) and what is wrong.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.every == 0 || self.every > MAX_EVERY {
            return Err(("recurrence.every", format!("must be 1 to {MAX_EVERY}")));
        }
        if let Some(day) = self.day_of_month {
            if !matches!(self.unit, IntervalUnit::Months | IntervalUnit::Years) {
                return Err(("recurrence.day_of_month", "only for intervals in months or years".into()));
            }
            if !(1..=31).contains(&day) {
                return Err(("recurrence.day_of_month", "must be 1 to 31".into()));
            }
            if self.mode == RecurrenceMode::AfterCompletion {
                return Err(("recurrence.day_of_month", "only for fixed schedules".into()));
            }
        }
        if self.weekday.is_some() {
            if self.unit != IntervalUnit::Weeks {
                return Err(("recurrence.weekday", "only for intervals in weeks".into()));
            }
            if self.mode == RecurrenceMode::AfterCompletion {
                return Err(("recurrence.weekday", "only for fixed schedules".into()));
            }
        }
        if self.first().is_none() || add_interval(self.anchor, self.unit, self.every, self.day_of_month).is_none() {
            return Err(("recurrence.anchor", "lies beyond the calendar".into()));
        }
        Ok(())
    }

    /// The first due date: the anchor, moved forward to the weekday or the day of the month
    /// when the rule names one.
    pub fn first(&self) -> Option<Date> {
        if let Some(weekday) = self.weekday {
            let ahead = (i64::from(weekday.number_days_from_monday())
                - i64::from(self.anchor.weekday().number_days_from_monday()))
            .rem_euclid(7);
            return self.anchor.checked_add(Duration::days(ahead));
        }
        let due = add_interval(self.anchor, self.unit, 0, self.day_of_month)?;
        if due >= self.anchor {
            Some(due)
        } else {
            // "The 5th" from an anchor on the 20th: the next month's (or year's) 5th; the
            // interval counts from there.
            add_interval(self.anchor, self.unit, 1, self.day_of_month)
                .and_then(|d| add_interval(d, self.unit, 0, self.day_of_month))
        }
    }

    /// The due date of occurrence `n` of a fixed schedule, computed from the first one so
    /// that clamped month ends do not drift.
    pub fn nth(&self, n: u32) -> Option<Date> {
        let first = self.first()?;
        let day = match self.unit {
            IntervalUnit::Months | IntervalUnit::Years => Some(self.day_of_month.unwrap_or(self.anchor.day())),
            _ => None,
        };
        add_interval(first, self.unit, n.checked_mul(self.every)?, day)
    }

    /// The due date one interval after `ended_on` (an `after_completion` schedule).
    pub fn after(&self, ended_on: Date) -> Option<Date> {
        add_interval(ended_on, self.unit, self.every, None)
    }
}

impl Timing {
    fn occurrence(&self, number: u32, due: Date) -> Option<Occurrence> {
        let create_on = due.checked_sub(Duration::days(i64::from(self.lead_days)))?;
        Some(Occurrence { number, due, create_on })
    }

    /// The occurrences whose work orders must exist by `until` (created on or before it),
    /// after `last`, in order, at most `max`. Occurrences due before [`Timing::not_before`]
    /// are passed over; an `after_completion` schedule has a next occurrence only once the
    /// last one ended.
    pub fn to_create(&self, last: Option<LastOccurrence>, until: Date, max: usize) -> Vec<Occurrence> {
        let r = &self.recurrence;
        let mut out = Vec::new();
        match r.mode {
            RecurrenceMode::Fixed => {
                let mut number = match last {
                    Some(l) => match l.number.checked_add(1) {
                        Some(n) => n,
                        None => return out,
                    },
                    None => 0,
                };
                while out.len() < max {
                    let Some(o) = r.nth(number).and_then(|due| self.occurrence(number, due)) else { break };
                    if !self.window.admits(o.number, o.due) || o.create_on > until {
                        break;
                    }
                    if self.not_before.is_none_or(|d| o.due >= d) {
                        out.push(o);
                    }
                    let Some(next) = number.checked_add(1) else { break };
                    number = next;
                }
            }
            RecurrenceMode::AfterCompletion => {
                let next = match last {
                    None => r.first().map(|due| (0, due)),
                    Some(LastOccurrence { number, ended_on: Some(ended) }) => number.checked_add(1).zip(r.after(ended)),
                    Some(LastOccurrence { ended_on: None, .. }) => None,
                };
                if let Some((number, due)) = next {
                    // Resumed after a pause: the next one is due on resuming at the earliest.
                    let due = self.not_before.map_or(due, |d| due.max(d));
                    if let Some(o) = self.occurrence(number, due) {
                        if max > 0 && self.window.admits(number, due) && o.create_on <= until {
                            out.push(o);
                        }
                    }
                }
            }
        }
        out
    }
}

/// Checks a lead time in days; the message says why it is refused.
pub fn validate_lead_days(days: i64) -> Result<u32, String> {
    u32::try_from(days).ok().filter(|d| *d <= MAX_LEAD_DAYS).ok_or_else(|| format!("must be 0 to {MAX_LEAD_DAYS} days"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn fixed(unit: IntervalUnit, every: u32, anchor: Date) -> Recurrence {
        Recurrence { mode: RecurrenceMode::Fixed, unit, every, anchor, day_of_month: None, weekday: None }
    }

    fn timing(recurrence: Recurrence, lead_days: u32) -> Timing {
        Timing { recurrence, window: Window::default(), lead_days, not_before: None }
    }

    fn dues(r: &Recurrence, n: u32) -> Vec<Date> {
        (0..n).map(|i| r.nth(i).unwrap()).collect()
    }

    #[test]
    fn a_monthly_check_on_the_31st_falls_on_each_months_last_day_without_drifting() {
        let r = fixed(IntervalUnit::Months, 1, date!(2026 - 01 - 31));
        assert_eq!(
            dues(&r, 5),
            [
                date!(2026 - 01 - 31),
                date!(2026 - 02 - 28),
                date!(2026 - 03 - 31),
                date!(2026 - 04 - 30),
                date!(2026 - 05 - 31)
            ]
        );
    }

    #[test]
    fn the_31st_is_the_29th_of_february_in_a_leap_year() {
        let mut r = fixed(IntervalUnit::Months, 1, date!(2028 - 01 - 10));
        r.day_of_month = Some(31);
        assert_eq!(dues(&r, 3), [date!(2028 - 01 - 31), date!(2028 - 02 - 29), date!(2028 - 03 - 31)]);
    }

    #[test]
    fn a_yearly_test_anchored_on_29_february_is_on_the_28th_in_other_years() {
        let r = fixed(IntervalUnit::Years, 1, date!(2028 - 02 - 29));
        assert_eq!(
            dues(&r, 5),
            [
                date!(2028 - 02 - 29),
                date!(2029 - 02 - 28),
                date!(2030 - 02 - 28),
                date!(2031 - 02 - 28),
                date!(2032 - 02 - 29)
            ]
        );
    }

    #[test]
    fn a_day_of_month_before_the_anchors_day_starts_with_the_next_such_day() {
        let mut r = fixed(IntervalUnit::Months, 3, date!(2026 - 01 - 20));
        r.day_of_month = Some(5);
        assert_eq!(dues(&r, 3), [date!(2026 - 02 - 05), date!(2026 - 05 - 05), date!(2026 - 08 - 05)]);
    }

    #[test]
    fn every_two_weeks_on_a_weekday_runs_across_the_year_end() {
        let mut r = fixed(IntervalUnit::Weeks, 2, date!(2026 - 12 - 10)); // a Thursday
        r.weekday = Some(Weekday::Monday);
        assert_eq!(dues(&r, 3), [date!(2026 - 12 - 14), date!(2026 - 12 - 28), date!(2027 - 01 - 11)]);
    }

    #[test]
    fn an_on_site_order_due_early_next_month_is_created_three_weeks_ahead_in_this_month() {
        let t = timing(fixed(IntervalUnit::Months, 3, date!(2027 - 01 - 05)), 21);
        let created = t.to_create(None, date!(2026 - 12 - 15), 10);
        assert_eq!(created, [Occurrence { number: 0, due: date!(2027 - 01 - 05), create_on: date!(2026 - 12 - 15) }]);
        assert!(t.to_create(None, date!(2026 - 12 - 14), 10).is_empty(), "a day earlier is too early");
    }

    #[test]
    fn generating_again_creates_only_what_came_due_since() {
        let t = timing(fixed(IntervalUnit::Months, 1, date!(2026 - 01 - 15)), 7);
        let first = t.to_create(None, date!(2026 - 03 - 31), 100);
        assert_eq!(first.iter().map(|o| o.number).collect::<Vec<_>>(), [0, 1, 2]);
        let last = Some(LastOccurrence { number: 2, ended_on: None });
        assert!(t.to_create(last, date!(2026 - 03 - 31), 100).is_empty());
        assert_eq!(t.to_create(last, date!(2026 - 04 - 08), 100)[0].due, date!(2026 - 04 - 15));
    }

    #[test]
    fn a_window_ends_by_date_or_by_number_of_occurrences() {
        let mut t = timing(fixed(IntervalUnit::Months, 1, date!(2026 - 01 - 01)), 0);
        t.window.end = Some(date!(2026 - 06 - 01));
        assert_eq!(t.to_create(None, date!(2027 - 01 - 01), 100).len(), 6);
        t.window = Window { end: None, count: Some(4) };
        let created = t.to_create(None, date!(2027 - 01 - 01), 100);
        assert_eq!(created.last().map(|o| (o.number, o.due)), Some((3, date!(2026 - 04 - 01))));
    }

    #[test]
    fn after_completion_the_next_check_is_due_an_interval_after_the_work_was_done() {
        let mut r = fixed(IntervalUnit::Months, 1, date!(2026 - 01 - 31));
        r.mode = RecurrenceMode::AfterCompletion;
        let t = timing(r, 3);
        assert_eq!(t.to_create(None, date!(2026 - 01 - 28), 5)[0].due, date!(2026 - 01 - 31));
        let open = Some(LastOccurrence { number: 0, ended_on: None });
        assert!(t.to_create(open, date!(2026 - 12 - 31), 5).is_empty(), "nothing while the last one is open");
        let done = Some(LastOccurrence { number: 0, ended_on: Some(date!(2026 - 02 - 10)) });
        assert_eq!(
            t.to_create(done, date!(2026 - 12 - 31), 5),
            [Occurrence { number: 1, due: date!(2026 - 03 - 10), create_on: date!(2026 - 03 - 07) }]
        );
        // Completed on 31 January: due on the last day of February.
        let done = Some(LastOccurrence { number: 0, ended_on: Some(date!(2026 - 01 - 31)) });
        assert_eq!(t.to_create(done, date!(2026 - 12 - 31), 5)[0].due, date!(2026 - 02 - 28));
    }

    #[test]
    fn a_resumed_schedule_passes_over_what_fell_due_while_paused() {
        let mut t = timing(fixed(IntervalUnit::Months, 1, date!(2026 - 01 - 10)), 0);
        t.not_before = Some(date!(2026 - 05 - 01));
        let created = t.to_create(Some(LastOccurrence { number: 0, ended_on: None }), date!(2026 - 06 - 30), 100);
        assert_eq!(
            created.iter().map(|o| (o.number, o.due)).collect::<Vec<_>>(),
            [(4, date!(2026 - 05 - 10)), (5, date!(2026 - 06 - 10))]
        );
    }

    #[test]
    fn rules_the_calendar_cannot_follow_are_refused_with_the_field() {
        let mut r = fixed(IntervalUnit::Days, 0, date!(2026 - 01 - 01));
        assert_eq!(r.validate().unwrap_err().0, "recurrence.every");
        r.every = 1;
        r.day_of_month = Some(3);
        assert_eq!(r.validate().unwrap_err().0, "recurrence.day_of_month");
        r.unit = IntervalUnit::Months;
        r.day_of_month = Some(32);
        assert_eq!(r.validate().unwrap_err().0, "recurrence.day_of_month");
        r.day_of_month = None;
        r.weekday = Some(Weekday::Friday);
        assert_eq!(r.validate().unwrap_err().0, "recurrence.weekday");
        r.weekday = None;
        r.anchor = Date::MAX;
        assert_eq!(r.validate().unwrap_err().0, "recurrence.anchor");
        assert!(validate_lead_days(-1).is_err() && validate_lead_days(367).is_err());
        assert_eq!(validate_lead_days(21), Ok(21));
    }

    #[test]
    fn weekdays_go_by_their_english_names() {
        for n in 0..7 {
            let d = Weekday::Monday.nth_next(n);
            assert_eq!(parse_weekday(weekday_name(d)), Some(d));
        }
        assert_eq!(parse_weekday("Montag"), None);
    }

    fn any_recurrence() -> impl Strategy<Value = Recurrence> {
        (0..4usize, 1u32..=24, 0i64..3000, proptest::option::of(1u8..=31), proptest::option::of(0u8..7)).prop_map(
            |(unit, every, offset, day, weekday)| {
                let unit = IntervalUnit::ALL[unit];
                let anchor = date!(2024 - 01 - 01) + Duration::days(offset);
                Recurrence {
                    mode: RecurrenceMode::Fixed,
                    unit,
                    every,
                    anchor,
                    day_of_month: day.filter(|_| matches!(unit, IntervalUnit::Months | IntervalUnit::Years)),
                    weekday: weekday.filter(|_| unit == IntervalUnit::Weeks).map(|w| Weekday::Monday.nth_next(w)),
                }
            },
        )
    }

    proptest! {
        #[test]
        fn generating_in_steps_creates_every_occurrence_once_and_in_order(
            r in any_recurrence(),
            lead in 0u32..60,
            steps in proptest::collection::vec(1i64..400, 1..8),
            count in proptest::option::of(1u32..40),
        ) {
            let t = Timing { recurrence: r, window: Window { end: None, count }, lead_days: lead, not_before: None };
            let horizon = r.anchor + Duration::days(steps.iter().sum::<i64>());
            // Generated at once …
            let at_once = t.to_create(None, horizon, 10_000);
            // … equals generated step by step, each step after what the last created.
            let mut stepwise: Vec<Occurrence> = Vec::new();
            let mut day = r.anchor;
            for s in &steps {
                day += Duration::days(*s);
                let last = stepwise.last().map(|o| LastOccurrence { number: o.number, ended_on: None });
                let again = t.to_create(last, day, 10_000);
                // Generating twice on the same day adds nothing.
                let last_after = again.last().map(|o| LastOccurrence { number: o.number, ended_on: None }).or(last);
                prop_assert!(t.to_create(last_after, day, 10_000).is_empty());
                stepwise.extend(again);
            }
            prop_assert_eq!(&at_once, &stepwise);
            // Complete: numbers 0, 1, 2, … without a gap, due dates rising, each created on
            // or before the horizon and exactly the lead time before its due date.
            for (i, o) in at_once.iter().enumerate() {
                prop_assert_eq!(o.number as usize, i);
                prop_assert!(o.create_on <= horizon && o.due >= r.anchor);
                prop_assert_eq!((o.due - o.create_on).whole_days(), i64::from(lead));
                if i > 0 { prop_assert!(o.due > at_once[i - 1].due); }
            }
            if let Some(count) = count { prop_assert!(at_once.len() <= count as usize); }
            // Nothing that should exist is missing: the next one is not yet due.
            let next = u32::try_from(at_once.len()).unwrap();
            if count.is_none_or(|c| next < c) {
                prop_assert!(r.nth(next).unwrap() - Duration::days(i64::from(lead)) > horizon);
            }
        }

        #[test]
        fn a_month_based_due_date_is_the_rules_day_or_its_months_last_day(r in any_recurrence(), n in 0u32..50) {
            prop_assume!(matches!(r.unit, IntervalUnit::Months | IntervalUnit::Years));
            let due = r.nth(n).unwrap();
            let wanted = r.day_of_month.unwrap_or(r.anchor.day());
            prop_assert_eq!(due.day(), wanted.min(due.month().length(due.year())));
        }
    }
}

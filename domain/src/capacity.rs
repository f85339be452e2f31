//! Capacity planning (seed 004): per person and ISO week, the hours one can work (the weekly
//! capacity spread over Monday to Friday, less public holidays and absences), against the
//! hours planned (estimates of open work orders and tickets due that week) and booked.
//!
//! A week at the edge of the asked range counts only its days inside the range.

use rust_decimal::Decimal;
use std::collections::BTreeSet;
use time::{Date, Duration, Weekday};

/// Working days of a full week.
pub const WORKING_DAYS: u32 = 5;

/// One ISO week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Week {
    /// Its Monday.
    pub monday: Date,
}

impl Week {
    /// The ISO week of `date`.
    pub fn of(date: Date) -> Week {
        let back = i64::from(date.weekday().number_days_from_monday());
        Week { monday: date - Duration::days(back) }
    }

    /// `2026-W49`.
    pub fn label(&self) -> String {
        let (year, week, _) = self.monday.to_iso_week_date();
        format!("{year}-W{week:02}")
    }

    /// Whether `date` lies in this week.
    pub fn contains(&self, date: Date) -> bool {
        date >= self.monday && (date - self.monday).whole_days() < 7
    }
}

/// The ISO weeks that overlap `from ..= to` (none when `to` is before `from`).
pub fn weeks(from: Date, to: Date) -> Vec<Week> {
    let mut out = Vec::new();
    let mut week = Week::of(from);
    while week.monday <= to {
        out.push(week);
        match week.monday.checked_add(Duration::days(7)) {
            Some(next) => week = Week { monday: next },
            None => break,
        }
    }
    out
}

/// The working days (Monday to Friday) of `week` inside `from ..= to` that are neither a
/// public holiday nor a day `absent`.
pub fn working_days(week: Week, from: Date, to: Date, holidays: &BTreeSet<Date>, absent: &BTreeSet<Date>) -> u32 {
    (0..7)
        .filter_map(|d| week.monday.checked_add(Duration::days(d)))
        .filter(|d| *d >= from && *d <= to)
        .filter(|d| !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday))
        .filter(|d| !holidays.contains(d) && !absent.contains(d))
        .count() as u32
}

/// The hours of `days` working days for someone with `weekly_hours` a week (a fifth a day),
/// to the hundredth.
pub fn capacity_hours(weekly_hours: Decimal, days: u32) -> Decimal {
    hundredths(weekly_hours * Decimal::from(days) / Decimal::from(WORKING_DAYS))
}

/// Minutes as hours to the hundredth.
pub fn hours(minutes: i64) -> Decimal {
    hundredths(Decimal::from(minutes) / Decimal::from(60))
}

/// `d` rounded to and written with two decimals (`32.00`).
fn hundredths(d: Decimal) -> Decimal {
    let mut d = d.round_dp(2);
    d.rescale(2);
    d
}

/// The days of `from ..= to` (both inclusive) within `range_from ..= range_to`.
pub fn days_within(from: Date, to: Date, range_from: Date, range_to: Date) -> Vec<Date> {
    let (start, end) = (from.max(range_from), to.min(range_to));
    let mut out = Vec::new();
    let mut d = start;
    while d <= end {
        out.push(d);
        match d.next_day() {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

/// A person whose capacity is planned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Person {
    pub id: i64,
    /// Hours a full week (Monday to Friday).
    pub weekly_hours: Decimal,
}

/// Days a person is away, `from ..= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Away {
    pub user_id: i64,
    pub from: Date,
    pub to: Date,
}

/// Minutes of work on a day: planned (an estimate due that day; `user_id` `None` when the
/// work is assigned to a team only) or booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    pub user_id: Option<i64>,
    pub date: Date,
    pub minutes: i64,
}

/// What a capacity view is computed from.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub holidays: BTreeSet<Date>,
    pub away: Vec<Away>,
    pub planned: Vec<Work>,
    pub booked: Vec<Work>,
}

/// One person's (or a team's) week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekLoad {
    pub week: Week,
    /// Working days counted (a team: summed over its people).
    pub working_days: u32,
    /// Hours one can work.
    pub capacity: Decimal,
    pub planned_minutes: i64,
    pub booked_minutes: i64,
}

impl WeekLoad {
    /// Capacity minus planned hours (negative: over-booked).
    pub fn free(&self) -> Decimal {
        self.capacity - hours(self.planned_minutes)
    }

    /// Whether more is planned than can be worked.
    pub fn over_booked(&self) -> bool {
        self.free() < Decimal::ZERO
    }
}

impl Inputs {
    /// The weeks of `from ..= to` for `person`, or (`None`) for the work assigned to a team
    /// only (no capacity).
    pub fn weeks_of(&self, person: Option<Person>, from: Date, to: Date) -> Vec<WeekLoad> {
        let user_id = person.map(|p| p.id);
        let away: BTreeSet<Date> = self
            .away
            .iter()
            .filter(|a| Some(a.user_id) == user_id)
            .flat_map(|a| days_within(a.from, a.to, from, to))
            .collect();
        // This person's work inside the range, once; then per week.
        let mine = |list: &[Work]| -> Vec<Work> {
            list.iter().filter(|x| x.user_id == user_id && x.date >= from && x.date <= to).copied().collect()
        };
        let (planned, booked) = (mine(&self.planned), mine(&self.booked));
        let in_week =
            |list: &[Work], w: &Week| -> i64 { list.iter().filter(|x| w.contains(x.date)).map(|x| x.minutes).sum() };
        weeks(from, to)
            .into_iter()
            .map(|week| {
                let (working_days, capacity) = match person {
                    Some(p) => {
                        let days = working_days(week, from, to, &self.holidays, &away);
                        (days, capacity_hours(p.weekly_hours, days))
                    }
                    None => (0, hundredths(Decimal::ZERO)),
                };
                let booked_minutes = if person.is_some() { in_week(&booked, &week) } else { 0 };
                WeekLoad { week, working_days, capacity, planned_minutes: in_week(&planned, &week), booked_minutes }
            })
            .collect()
    }

    /// A team's weeks: the sums over `people` plus the work assigned to the team only.
    pub fn team_weeks(&self, people: &[Person], from: Date, to: Date) -> Vec<WeekLoad> {
        let mut sums = self.weeks_of(None, from, to);
        for p in people {
            for (sum, w) in sums.iter_mut().zip(self.weeks_of(Some(*p), from, to)) {
                sum.working_days += w.working_days;
                sum.capacity += w.capacity;
                sum.planned_minutes += w.planned_minutes;
                sum.booked_minutes += w.booked_minutes;
            }
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn a_forty_hour_week_with_a_holiday_and_a_day_off_leaves_twenty_four_hours() {
        // Week of Monday 2026-12-21: Christmas (Friday) a holiday, Monday off.
        let week = Week::of(date!(2026 - 12 - 23));
        assert_eq!(week.monday, date!(2026 - 12 - 21));
        let holidays = BTreeSet::from([date!(2026 - 12 - 25)]);
        let absent = BTreeSet::from([date!(2026 - 12 - 21)]);
        let days = working_days(week, date!(2026 - 12 - 01), date!(2026 - 12 - 31), &holidays, &absent);
        assert_eq!(days, 3);
        assert_eq!(capacity_hours(d("40"), days), d("24.00"));
    }

    #[test]
    fn a_week_at_the_edge_of_the_range_counts_only_its_days_inside() {
        let week = Week::of(date!(2026 - 12 - 01));
        let days = working_days(week, date!(2026 - 12 - 02), date!(2026 - 12 - 31), &BTreeSet::new(), &BTreeSet::new());
        assert_eq!(days, 3, "Wednesday to Friday");
        assert_eq!(capacity_hours(d("38.5"), days), d("23.10"));
    }

    #[test]
    fn weeks_are_iso_weeks_across_the_year_end() {
        let w = weeks(date!(2026 - 12 - 24), date!(2027 - 01 - 12));
        let labels: Vec<String> = w.iter().map(Week::label).collect();
        assert_eq!(labels, ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]);
        assert!(weeks(date!(2027 - 01 - 12), date!(2027 - 01 - 01)).is_empty());
    }

    #[test]
    fn minutes_become_hours_to_the_hundredth() {
        assert_eq!(hours(90), d("1.50"));
        assert_eq!(hours(20), d("0.33"));
    }

    proptest! {
        #[test]
        fn a_team_plans_what_its_people_and_the_team_alone_plan_and_can_work_their_sum(
            start in 0i64..1000,
            len in 0i64..120,
            work in proptest::collection::vec((proptest::option::of(1i64..4), 0i64..140, 1i64..600), 0..40),
            away in proptest::collection::vec((1i64..4, 0i64..140, 0i64..10), 0..6),
        ) {
            let from = date!(2026 - 01 - 01) + Duration::days(start);
            let to = from + Duration::days(len);
            let at = |offset: i64| from + Duration::days(offset);
            let inputs = Inputs {
                holidays: BTreeSet::from([at(3)]),
                away: away.iter().map(|(u, o, l)| Away { user_id: *u, from: at(*o), to: at(o + l) }).collect(),
                planned: work.iter().map(|(u, o, m)| Work { user_id: *u, date: at(*o), minutes: *m }).collect(),
                booked: work.iter().filter_map(|(u, o, m)| u.map(|u| Work { user_id: Some(u), date: at(*o), minutes: *m })).collect(),
            };
            let people: Vec<Person> = (1..4).map(|id| Person { id, weekly_hours: Decimal::from(8 * id) }).collect();
            let team = inputs.team_weeks(&people, from, to);
            let each: Vec<Vec<WeekLoad>> = people.iter().map(|p| inputs.weeks_of(Some(*p), from, to)).collect();
            let alone = inputs.weeks_of(None, from, to);
            for (i, t) in team.iter().enumerate() {
                prop_assert_eq!(t.capacity, each.iter().map(|w| w[i].capacity).sum::<Decimal>());
                prop_assert_eq!(t.planned_minutes, alone[i].planned_minutes + each.iter().map(|w| w[i].planned_minutes).sum::<i64>());
            }
            // Every planned minute inside the range lands in exactly one week.
            let inside: i64 = inputs.planned.iter().filter(|w| w.date >= from && w.date <= to).map(|w| w.minutes).sum();
            prop_assert_eq!(team.iter().map(|t| t.planned_minutes).sum::<i64>(), inside);
            // Nobody can work more than a full week.
            for (p, weeks) in people.iter().zip(&each) {
                for w in weeks {
                    prop_assert!(w.capacity <= p.weekly_hours && w.working_days <= WORKING_DAYS);
                }
            }
        }

        #[test]
        fn the_weeks_of_a_range_cover_each_of_its_days_once(start in 0i64..4000, len in 0i64..400) {
            let from = date!(2024 - 01 - 01) + Duration::days(start);
            let to = from + Duration::days(len);
            let w = weeks(from, to);
            for d in days_within(from, to, from, to) {
                prop_assert_eq!(w.iter().filter(|week| week.contains(d)).count(), 1);
            }
            // Without holidays and absences the working days of all weeks are the range's.
            let total: u32 = w.iter().map(|week| working_days(*week, from, to, &BTreeSet::new(), &BTreeSet::new())).sum();
            let weekdays = days_within(from, to, from, to)
                .into_iter()
                .filter(|d| !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday))
                .count() as u32;
            prop_assert_eq!(total, weekdays);
        }
    }
}

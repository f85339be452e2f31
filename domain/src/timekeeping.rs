//! Time recording rules: how long a booking is, from a duration or from start and end,
//! and which dates business data may carry at all.

use time::{Date, Time};

/// Years a date in business data may have (work dates, contract terms, rates, holidays,
/// invoice dates, report ranges): anything else is a typo, not a date to bill.
pub const BUSINESS_YEARS: std::ops::RangeInclusive<i32> = 1900..=2999;

/// Whether `d` lies within [`BUSINESS_YEARS`].
pub fn is_business_date(d: Date) -> bool {
    BUSINESS_YEARS.contains(&d.year())
}

/// Longest single booking: one day.
pub const MAX_BOOKING_MINUTES: i64 = 24 * 60;

/// Why a booking's time is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingTimeError {
    /// Neither a duration nor start and end were given.
    #[error("give duration_minutes, or start_time and end_time")]
    Missing,
    /// Only one of start and end was given.
    #[error("start_time and end_time go together")]
    HalfInterval,
    /// The duration is zero, negative or longer than a day.
    #[error("a booking lasts from 1 to 1440 minutes")]
    OutOfRange,
    /// Start equals end.
    #[error("end_time must differ from start_time")]
    Empty,
    /// Duration and interval were both given and disagree.
    #[error("duration_minutes ({given}) does not match start_time–end_time ({interval} minutes)")]
    Mismatch { given: i64, interval: i64 },
}

/// The minutes of a booking. With start and end, an end before the start means the work
/// went past midnight (22:00–01:30 is 210 minutes); the work date is the start's date.
/// With both a duration and an interval, they must agree.
pub fn booked_minutes(duration: Option<i64>, start: Option<Time>, end: Option<Time>) -> Result<i64, BookingTimeError> {
    let interval = match (start, end) {
        (Some(s), Some(e)) => {
            let s = i64::from(s.hour()) * 60 + i64::from(s.minute());
            let e = i64::from(e.hour()) * 60 + i64::from(e.minute());
            if s == e {
                return Err(BookingTimeError::Empty);
            }
            Some(if e > s { e - s } else { MAX_BOOKING_MINUTES - s + e })
        }
        (None, None) => None,
        _ => return Err(BookingTimeError::HalfInterval),
    };
    let minutes = match (duration, interval) {
        (Some(d), Some(i)) if d != i => return Err(BookingTimeError::Mismatch { given: d, interval: i }),
        (Some(d), _) => d,
        (None, Some(i)) => i,
        (None, None) => return Err(BookingTimeError::Missing),
    };
    if (1..=MAX_BOOKING_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(BookingTimeError::OutOfRange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::time;

    #[test]
    fn business_dates_run_from_1900_to_2999() {
        use time::macros::date;
        assert!(is_business_date(date!(1900 - 01 - 01)) && is_business_date(date!(2999 - 12 - 31)));
        assert!(!is_business_date(date!(1899 - 12 - 31)) && !is_business_date(date!(3000 - 01 - 01)));
        assert!(!is_business_date(date!(-0001 - 01 - 01)));
    }

    #[test]
    fn a_duration_alone_is_taken_as_is() {
        assert_eq!(booked_minutes(Some(45), None, None), Ok(45));
    }

    #[test]
    fn start_and_end_on_the_same_day_give_the_difference() {
        assert_eq!(booked_minutes(None, Some(time!(9:15)), Some(time!(11:00))), Ok(105));
    }

    #[test]
    fn night_work_across_midnight_counts_until_the_next_morning() {
        assert_eq!(booked_minutes(None, Some(time!(22:00)), Some(time!(1:30))), Ok(210));
    }

    #[test]
    fn duration_and_interval_must_agree() {
        assert_eq!(booked_minutes(Some(60), Some(time!(9:00)), Some(time!(10:00))), Ok(60));
        assert_eq!(
            booked_minutes(Some(30), Some(time!(9:00)), Some(time!(10:00))),
            Err(BookingTimeError::Mismatch { given: 30, interval: 60 })
        );
    }

    #[test]
    fn negative_zero_or_multi_day_durations_are_refused() {
        assert_eq!(booked_minutes(Some(-15), None, None), Err(BookingTimeError::OutOfRange));
        assert_eq!(booked_minutes(Some(0), None, None), Err(BookingTimeError::OutOfRange));
        assert_eq!(booked_minutes(Some(1441), None, None), Err(BookingTimeError::OutOfRange));
        assert_eq!(booked_minutes(None, Some(time!(9:00)), Some(time!(9:00))), Err(BookingTimeError::Empty));
        assert_eq!(booked_minutes(None, Some(time!(9:00)), None), Err(BookingTimeError::HalfInterval));
        assert_eq!(booked_minutes(None, None, None), Err(BookingTimeError::Missing));
    }
}

//! Time rounding per booking: increment, minimum billable minutes and mode.
//! The actual minutes are always kept by the caller; the rounded minutes are what is
//! billed and consumed from quotas.

use crate::customer::str_enum;
use serde::{Deserialize, Serialize};

/// Direction in which booked minutes are rounded to the increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// Up to the next increment (7 min → 15 min).
    Up,
    /// To the nearest increment, half-way rounds up (7 min → 0, 8 min → 15 at 15).
    Nearest,
    /// Down to the previous increment.
    Down,
}

str_enum!(RoundingMode { Up => "up", Nearest => "nearest", Down => "down" });

/// A rounding rule (global default, overridable per customer and per contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoundingRule {
    /// Increment in minutes; 0 or 1 means minute-exact.
    pub increment_minutes: u32,
    /// Minimum billable minutes for a booking with any time on it (0: none).
    pub minimum_minutes: u32,
    /// Rounding direction.
    pub mode: RoundingMode,
}

impl RoundingRule {
    /// Minute-exact billing without minimum.
    pub const EXACT: RoundingRule = RoundingRule { increment_minutes: 1, minimum_minutes: 0, mode: RoundingMode::Up };

    /// Billed minutes for a booking of `actual` minutes: rounded to the increment in the
    /// rule's direction, then raised to the minimum. A booking of 0 minutes stays 0.
    pub fn apply(&self, actual: u32) -> u64 {
        let actual = u64::from(actual);
        if actual == 0 {
            return 0;
        }
        let inc = u64::from(self.increment_minutes.max(1));
        let rounded = match self.mode {
            RoundingMode::Up => actual.div_ceil(inc) * inc,
            RoundingMode::Down => actual / inc * inc,
            RoundingMode::Nearest => (2 * actual + inc) / (2 * inc) * inc,
        };
        rounded.max(u64::from(self.minimum_minutes))
    }
}

impl Default for RoundingRule {
    /// The usual IT-service default: 15-minute increments, rounded up, 15 minutes minimum.
    fn default() -> Self {
        RoundingRule { increment_minutes: 15, minimum_minutes: 15, mode: RoundingMode::Up }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(inc: u32, min: u32, mode: RoundingMode) -> RoundingRule {
        RoundingRule { increment_minutes: inc, minimum_minutes: min, mode }
    }

    #[test]
    fn seven_minutes_remote_support_rounds_up_to_a_quarter_hour() {
        assert_eq!(rule(15, 0, RoundingMode::Up).apply(7), 15);
        assert_eq!(rule(15, 0, RoundingMode::Up).apply(15), 15);
        assert_eq!(rule(15, 0, RoundingMode::Up).apply(16), 30);
    }

    #[test]
    fn nearest_rounds_half_way_up_and_minimum_lifts_short_calls() {
        let r = rule(15, 0, RoundingMode::Nearest);
        assert_eq!(r.apply(7), 0);
        assert_eq!(r.apply(8), 15);
        assert_eq!(r.apply(22), 15);
        assert_eq!(r.apply(23), 30);
        assert_eq!(rule(15, 15, RoundingMode::Nearest).apply(3), 15);
    }

    #[test]
    fn rounding_down_drops_partial_increments() {
        assert_eq!(rule(10, 0, RoundingMode::Down).apply(19), 10);
        assert_eq!(rule(10, 0, RoundingMode::Down).apply(5), 0);
    }

    #[test]
    fn empty_booking_is_not_lifted_to_the_minimum() {
        assert_eq!(RoundingRule::default().apply(0), 0);
    }

    #[test]
    fn zero_increment_means_minute_exact() {
        assert_eq!(rule(0, 0, RoundingMode::Up).apply(7), 7);
    }

    proptest! {
        #[test]
        fn rounded_minutes_are_multiples_within_one_increment(actual in 1u32.., inc in 1u32..=120, mode in 0u8..3) {
            let mode = [RoundingMode::Up, RoundingMode::Nearest, RoundingMode::Down][mode as usize];
            let r = rule(inc, 0, mode).apply(actual);
            prop_assert_eq!(r % u64::from(inc), 0);
            prop_assert!(r.abs_diff(u64::from(actual)) < u64::from(inc) || (mode == RoundingMode::Nearest && r.abs_diff(u64::from(actual)) <= u64::from(inc) / 2 + 1));
            if mode == RoundingMode::Up { prop_assert!(r >= u64::from(actual)); }
            if mode == RoundingMode::Down { prop_assert!(r <= u64::from(actual)); }
        }
    }
}

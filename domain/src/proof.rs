//! Proof of service (Leistungsnachweis / Tätigkeitsnachweis): how one time booking shows
//! on the report — its treatment and the minutes worked, billed and covered — and what
//! the report adds up.
//!
//! Rules:
//! - A booking an invoice settles shows the treatment the invoice gave it; a booking no
//!   invoice (draft or issued) settles yet is `open`.
//! - Billed minutes are the rounded minutes minus the minutes a contract covered; work
//!   that is covered or not billable bills nothing. Open work has no billed or covered
//!   minutes yet: rounding and contract cover are decided by the invoice run.
//! - Actual minutes are the minutes the invoice settled (as booked then), otherwise the
//!   booking's current duration.

use crate::engine::PositionStatus;
use serde::{Deserialize, Serialize};

/// How a booking or expense shows on a proof of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Treatment {
    /// Billed on an invoice line.
    Billed,
    /// Covered by the contract (flat fee, prepaid quota or budget), not billed separately.
    Covered,
    /// Partly covered by the contract, the rest billed.
    PartlyCovered,
    /// Settled without charge (not billable).
    NonBillable,
    /// Not on any invoice yet.
    Open,
}

impl From<PositionStatus> for Treatment {
    fn from(s: PositionStatus) -> Self {
        match s {
            PositionStatus::Billed => Treatment::Billed,
            PositionStatus::Covered => Treatment::Covered,
            PositionStatus::PartlyCovered => Treatment::PartlyCovered,
            PositionStatus::NonBillable => Treatment::NonBillable,
        }
    }
}

/// What an invoice recorded for a booking it settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettledMinutes {
    pub status: PositionStatus,
    pub actual_minutes: Option<i64>,
    pub rounded_minutes: Option<i64>,
    pub covered_minutes: Option<i64>,
}

/// The minutes of one booking as the report shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingMinutes {
    pub treatment: Treatment,
    /// Minutes worked.
    pub actual: i64,
    /// Minutes charged (`None` while open).
    pub billed: Option<i64>,
    /// Minutes a contract covered (`None` while open).
    pub covered: Option<i64>,
}

/// The report's minutes of a booking of `duration_minutes`, settled or not.
pub fn booking_minutes(duration_minutes: i64, settled: Option<&SettledMinutes>) -> BookingMinutes {
    let Some(s) = settled else {
        return BookingMinutes { treatment: Treatment::Open, actual: duration_minutes, billed: None, covered: None };
    };
    let actual = s.actual_minutes.unwrap_or(duration_minutes);
    let rounded = s.rounded_minutes.unwrap_or(actual).max(0);
    let covered = s.covered_minutes.unwrap_or(0).clamp(0, rounded);
    let billed = match s.status {
        PositionStatus::Billed | PositionStatus::PartlyCovered => rounded - covered,
        PositionStatus::Covered | PositionStatus::NonBillable => 0,
    };
    BookingMinutes { treatment: s.status.into(), actual, billed: Some(billed), covered: Some(covered) }
}

/// The sums of a report, or of one ticket on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MinuteTotals {
    /// Number of bookings.
    pub bookings: i64,
    /// Minutes worked.
    pub actual_minutes: i64,
    /// Minutes charged (rounded minus covered) by the invoices settling the work.
    pub billed_minutes: i64,
    /// Minutes covered by contracts.
    pub covered_minutes: i64,
    /// Minutes worked and settled without charge.
    pub non_billable_minutes: i64,
    /// Minutes worked that no invoice settles yet.
    pub open_minutes: i64,
}

impl MinuteTotals {
    /// Adds one booking.
    pub fn add(&mut self, m: &BookingMinutes) {
        self.bookings = self.bookings.saturating_add(1);
        self.actual_minutes = self.actual_minutes.saturating_add(m.actual);
        self.billed_minutes = self.billed_minutes.saturating_add(m.billed.unwrap_or(0));
        self.covered_minutes = self.covered_minutes.saturating_add(m.covered.unwrap_or(0));
        match m.treatment {
            Treatment::NonBillable => self.non_billable_minutes = self.non_billable_minutes.saturating_add(m.actual),
            Treatment::Open => self.open_minutes = self.open_minutes.saturating_add(m.actual),
            Treatment::Billed | Treatment::Covered | Treatment::PartlyCovered => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settled(status: PositionStatus, actual: i64, rounded: i64, covered: Option<i64>) -> SettledMinutes {
        SettledMinutes {
            status,
            actual_minutes: Some(actual),
            rounded_minutes: Some(rounded),
            covered_minutes: covered,
        }
    }

    #[test]
    fn seven_minutes_rounded_to_a_quarter_hour_bill_fifteen() {
        let m = booking_minutes(7, Some(&settled(PositionStatus::Billed, 7, 15, None)));
        assert_eq!(m, BookingMinutes { treatment: Treatment::Billed, actual: 7, billed: Some(15), covered: Some(0) });
    }

    #[test]
    fn covered_work_bills_nothing_and_partly_covered_work_bills_the_rest() {
        let covered = booking_minutes(180, Some(&settled(PositionStatus::Covered, 180, 180, Some(180))));
        assert_eq!((covered.treatment, covered.billed, covered.covered), (Treatment::Covered, Some(0), Some(180)));
        let partly = booking_minutes(100, Some(&settled(PositionStatus::PartlyCovered, 100, 105, Some(60))));
        assert_eq!((partly.billed, partly.covered), (Some(45), Some(60)));
    }

    #[test]
    fn non_billable_work_bills_nothing_although_it_was_rounded() {
        let m = booking_minutes(40, Some(&settled(PositionStatus::NonBillable, 40, 45, None)));
        assert_eq!((m.treatment, m.actual, m.billed, m.covered), (Treatment::NonBillable, 40, Some(0), Some(0)));
    }

    #[test]
    fn open_work_has_no_billed_or_covered_minutes_yet() {
        let m = booking_minutes(25, None);
        assert_eq!(m, BookingMinutes { treatment: Treatment::Open, actual: 25, billed: None, covered: None });
    }

    #[test]
    fn the_settled_actual_minutes_win_over_a_later_duration() {
        let m = booking_minutes(90, Some(&settled(PositionStatus::Billed, 60, 60, None)));
        assert_eq!((m.actual, m.billed), (60, Some(60)));
    }

    #[test]
    fn totals_split_worked_minutes_into_billed_covered_non_billable_and_open() {
        let mut t = MinuteTotals::default();
        for m in [
            booking_minutes(7, Some(&settled(PositionStatus::Billed, 7, 15, None))),
            booking_minutes(180, Some(&settled(PositionStatus::Covered, 180, 180, Some(180)))),
            booking_minutes(40, Some(&settled(PositionStatus::NonBillable, 40, 45, None))),
            booking_minutes(25, None),
        ] {
            t.add(&m);
        }
        assert_eq!(
            t,
            MinuteTotals {
                bookings: 4,
                actual_minutes: 252,
                billed_minutes: 15,
                covered_minutes: 180,
                non_billable_minutes: 40,
                open_minutes: 25,
            }
        );
    }
}

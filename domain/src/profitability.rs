//! A project's profitability: what its work earned on issued invoices, what its open work is
//! worth, and what the time cost at the technicians' internal cost rates.
//!
//! An invoice line may bill positions of several projects (a line per ticket or per service):
//! the project's share of the line's net is the share of its positions' weight (minutes for
//! bookings, one for anything else), so the shares of all lines add up to what was billed.

use rust_decimal::{Decimal, RoundingStrategy};

/// One position an invoice line bills: its weight and whether it is the project's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinePosition {
    /// Minutes of a booking; 1 for an expense, a custom-field charge or a fee.
    pub weight: i64,
    pub of_project: bool,
}

/// The project's share of a line's net (to the cent, half away from zero); a line without
/// the project's positions gives zero, a line of only the project's gives all of it.
pub fn project_share(net: Decimal, positions: &[LinePosition]) -> Decimal {
    let weight = |only_project: bool| -> i64 {
        positions.iter().filter(|p| p.of_project || !only_project).map(|p| p.weight.max(0)).sum()
    };
    let (mine, all) = (weight(true), weight(false));
    if mine == 0 {
        return Decimal::ZERO;
    }
    if mine == all || all == 0 {
        return net;
    }
    (net * Decimal::from(mine) / Decimal::from(all)).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Time one person booked on the project and their internal cost rate (per hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookedTime {
    pub minutes: i64,
    pub cost_rate: Option<Decimal>,
}

/// The figures of a project's profitability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profitability {
    /// Net billed on issued invoices (the project's share of their lines).
    pub billed: Decimal,
    /// Open billable work valued at today's rates.
    pub unbilled: Decimal,
    /// Booked time at the internal cost rates.
    pub cost: Decimal,
    /// Minutes of people without a cost rate (not in `cost`).
    pub uncosted_minutes: i64,
    /// `billed + unbilled − cost`; `None` when revenue and cost are in different currencies.
    pub margin: Option<Decimal>,
    /// The margin as a share of `billed + unbilled`, in percent to a tenth.
    pub margin_percent: Option<Decimal>,
}

/// Profitability from the billed shares, the open work's value and the booked time;
/// `same_currency`: revenue is in the company currency the cost rates are in.
pub fn profitability(billed: Decimal, unbilled: Decimal, time: &[BookedTime], same_currency: bool) -> Profitability {
    let cents = |d: Decimal| d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let cost = cents(
        time.iter().filter_map(|t| t.cost_rate.map(|rate| rate * Decimal::from(t.minutes) / Decimal::from(60))).sum(),
    );
    let uncosted_minutes = time.iter().filter(|t| t.cost_rate.is_none()).map(|t| t.minutes).sum();
    let revenue = billed + unbilled;
    let margin = same_currency.then(|| revenue - cost);
    let margin_percent = margin
        .filter(|_| !revenue.is_zero())
        .map(|m| (m * Decimal::from(100) / revenue).round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero));
    Profitability { billed, unbilled, cost, uncosted_minutes, margin, margin_percent }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_line_per_ticket_with_work_of_two_projects_is_shared_by_minutes() {
        let line = [LinePosition { weight: 90, of_project: true }, LinePosition { weight: 30, of_project: false }];
        assert_eq!(project_share(d("200.00"), &line), d("150.00"));
        assert_eq!(project_share(d("200.00"), &line[1..]), Decimal::ZERO);
        assert_eq!(project_share(d("200.00"), &line[..1]), d("200.00"));
    }

    #[test]
    fn cost_counts_time_at_each_persons_rate_and_names_time_without_one() {
        let time = [BookedTime { minutes: 90, cost_rate: Some(d("40")) }, BookedTime { minutes: 30, cost_rate: None }];
        let p = profitability(d("300.00"), d("100.00"), &time, true);
        assert_eq!(p.cost, d("60.00"));
        assert_eq!(p.uncosted_minutes, 30);
        assert_eq!(p.margin, Some(d("340.00")));
        assert_eq!(p.margin_percent, Some(d("85.0")));
    }

    #[test]
    fn revenue_in_another_currency_has_no_margin() {
        let p = profitability(d("300"), Decimal::ZERO, &[BookedTime { minutes: 60, cost_rate: Some(d("50")) }], false);
        assert_eq!((p.margin, p.margin_percent), (None, None));
        assert_eq!(p.cost, d("50.00"));
    }

    proptest! {
        #[test]
        fn the_shares_of_every_project_in_a_line_add_up_to_the_line_within_rounding(
            cents in 0i64..10_000_000, weights in proptest::collection::vec(1i64..600, 1..6),
        ) {
            let net = Decimal::new(cents, 2);
            let shares: Decimal = (0..weights.len())
                .map(|mine| {
                    let line: Vec<LinePosition> = weights
                        .iter()
                        .enumerate()
                        .map(|(i, w)| LinePosition { weight: *w, of_project: i == mine })
                        .collect();
                    project_share(net, &line)
                })
                .sum();
            let tolerance = Decimal::new(weights.len() as i64, 2);
            prop_assert!((shares - net).abs() <= tolerance, "{shares} vs {net}");
        }
    }
}

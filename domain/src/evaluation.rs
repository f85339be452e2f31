//! Contract evaluation (seed 004, "Auswertung von Erlös und Aufwand"): what a contract earned
//! against what its work cost — per billing period, per work-order schedule and per order
//! type — and how its periodic work orders went (due, done, open, overdue, skipped).
//!
//! Revenue is what issued invoices billed under the contract: its fees, the fixed prices of
//! work-order executions and everything else billed on top (extra work, overage, material).
//! An invoice line may bill several positions; [`line_shares`] splits its net by their
//! weight so that the shares of a line add up to exactly its net. Effort is the time booked
//! under the contract at each person's internal cost rate. Fees belong to the contract, not
//! to a schedule: a schedule's revenue is its fixed prices and the extras billed on its orders.

use crate::period::{Period, PeriodKind};
use crate::profitability::{profitability, BookedTime};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::BTreeMap;
use time::Date;

/// What a billed amount was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevenueKind {
    /// The contract's fee for a period.
    Fee,
    /// The fixed price of a work order's execution.
    FixedPrice,
    /// Anything else billed under the contract (extra work, overage, material).
    Extra,
}

/// An amount an issued invoice billed under the contract, dated by its position (a fee by
/// its period's first day) and attributed to the schedule of the work order it was done on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Billed {
    pub date: Date,
    pub schedule_id: Option<i64>,
    pub kind: RevenueKind,
    pub amount: Decimal,
}

/// Time one person booked under the contract on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effort {
    pub date: Date,
    pub schedule_id: Option<i64>,
    pub minutes: i64,
    /// The person's internal cost per hour (`None`: not known, not costed).
    pub cost_rate: Option<Decimal>,
}

/// Where a work order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionState {
    Open,
    Done,
    Skipped,
}

/// One work order of a schedule, by the day it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Execution {
    pub schedule_id: i64,
    pub due: Date,
    pub state: ExecutionState,
}

/// Counts of work orders due in a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Executions {
    /// All orders due (including skipped ones).
    pub due: u32,
    pub done: u32,
    /// Not done and not skipped (overdue ones included).
    pub open: u32,
    /// Open and due before today.
    pub overdue: u32,
    pub skipped: u32,
}

/// Revenue against effort for one slice (a period, a schedule, an order type, the whole).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Figures {
    pub fees: Decimal,
    pub fixed_prices: Decimal,
    pub extras: Decimal,
    /// `fees + fixed_prices + extras`.
    pub revenue: Decimal,
    /// Minutes booked.
    pub minutes: i64,
    /// Booked time at the internal cost rates.
    pub cost: Decimal,
    /// Minutes of people without a cost rate (not in `cost`).
    pub uncosted_minutes: i64,
    /// `revenue − cost`; `None` when revenue is in another currency than the cost rates.
    pub margin: Option<Decimal>,
    /// The margin as a share of revenue, in percent to a tenth.
    pub margin_percent: Option<Decimal>,
    pub executions: Executions,
}

/// The evaluation of a contract over a range of days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub total: Figures,
    /// Per billing period of the contract overlapping the range, in order.
    pub periods: Vec<(Period, Figures)>,
    /// Per schedule (by id).
    pub schedules: Vec<(i64, Figures)>,
    /// Per order type of the schedules (by id).
    pub order_types: Vec<(i64, Figures)>,
}

/// What [`evaluate`] works on.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The contract's billing period.
    pub period: PeriodKind,
    /// First and last day evaluated (inclusive).
    pub from: Date,
    pub to: Date,
    /// Today (what is open and due before it is overdue).
    pub today: Date,
    /// Each schedule of the contract with its order type.
    pub schedules: &'a [(i64, i64)],
    pub billed: &'a [Billed],
    pub effort: &'a [Effort],
    pub executions: &'a [Execution],
    /// Revenue is in the currency of the cost rates.
    pub same_currency: bool,
}

/// Splits a line's `net` by the `weights` of the positions it bills (minutes of bookings, one
/// for anything else): each share to the cent, the cents lost to rounding given to the
/// largest shares, so that the shares add up to `net` exactly. All weights zero (or none
/// positive) split evenly.
pub fn line_shares(net: Decimal, weights: &[i64]) -> Vec<Decimal> {
    if weights.is_empty() {
        return Vec::new();
    }
    let positive: Vec<i64> = weights.iter().map(|w| (*w).max(0)).collect();
    let total: i64 = positive.iter().sum();
    let (weights, total) = if total == 0 { (vec![1; weights.len()], weights.len() as i64) } else { (positive, total) };
    let total = Decimal::from(total);
    let mut shares: Vec<Decimal> = weights
        .iter()
        .map(|w| (net * Decimal::from(*w) / total).round_dp_with_strategy(2, RoundingStrategy::ToZero))
        .collect();
    let mut rest = net - shares.iter().copied().sum::<Decimal>();
    let cent = if net.is_sign_negative() { Decimal::new(-1, 2) } else { Decimal::new(1, 2) };
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(weights[i]));
    let mut k = 0;
    while !rest.is_zero() && (rest.is_sign_negative() == cent.is_sign_negative()) {
        shares[order[k % order.len()]] += cent;
        rest -= cent;
        k += 1;
    }
    // Division normalises the scale (0 / 1 = 0): every share is shown in cents.
    for s in &mut shares {
        s.rescale(2);
    }
    shares
}

#[derive(Default)]
struct Acc {
    fees: Decimal,
    fixed_prices: Decimal,
    extras: Decimal,
    time: Vec<BookedTime>,
    executions: Executions,
}

impl Acc {
    fn bill(&mut self, b: &Billed) {
        match b.kind {
            RevenueKind::Fee => self.fees += b.amount,
            RevenueKind::FixedPrice => self.fixed_prices += b.amount,
            RevenueKind::Extra => self.extras += b.amount,
        }
    }

    fn work(&mut self, e: &Effort) {
        self.time.push(BookedTime { minutes: e.minutes, cost_rate: e.cost_rate });
    }

    fn count(&mut self, e: &Execution, today: Date) {
        let x = &mut self.executions;
        x.due += 1;
        match e.state {
            ExecutionState::Done => x.done += 1,
            ExecutionState::Skipped => x.skipped += 1,
            ExecutionState::Open => {
                x.open += 1;
                if e.due < today {
                    x.overdue += 1;
                }
            }
        }
    }

    fn figures(&self, same_currency: bool) -> Figures {
        let cents = |d: Decimal| d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        let (fees, fixed_prices, extras) = (cents(self.fees), cents(self.fixed_prices), cents(self.extras));
        let revenue = fees + fixed_prices + extras;
        let p = profitability(revenue, Decimal::ZERO, &self.time, same_currency);
        Figures {
            fees,
            fixed_prices,
            extras,
            revenue,
            minutes: self.time.iter().map(|t| t.minutes).sum(),
            cost: p.cost,
            uncosted_minutes: p.uncosted_minutes,
            margin: p.margin,
            margin_percent: p.margin_percent,
            executions: self.executions,
        }
    }
}

/// The contract's billing periods that overlap `from..=to`, in order.
pub fn periods(kind: PeriodKind, from: Date, to: Date) -> Vec<Period> {
    let mut out = Vec::new();
    let mut p = Period::containing(kind, from);
    while let Some(period) = p {
        if period.start > to {
            break;
        }
        out.push(period);
        p = period.next(kind);
    }
    out
}

/// Revenue against effort and the state of the work orders, in total, per period, per
/// schedule and per order type. Only what is dated in `from..=to` counts.
pub fn evaluate(i: &Inputs<'_>) -> Evaluation {
    let in_range = |d: Date| d >= i.from && d <= i.to;
    let periods = periods(i.period, i.from, i.to);
    let type_of: BTreeMap<i64, i64> = i.schedules.iter().copied().collect();
    let mut total = Acc::default();
    let mut per_period: Vec<Acc> = periods.iter().map(|_| Acc::default()).collect();
    let mut per_schedule: BTreeMap<i64, Acc> = i.schedules.iter().map(|(s, _)| (*s, Acc::default())).collect();
    let mut per_type: BTreeMap<i64, Acc> = i.schedules.iter().map(|(_, t)| (*t, Acc::default())).collect();
    let period_of = |d: Date| periods.iter().position(|p| p.contains(d));
    // Each item goes to the total, its period, and its schedule and the schedule's type.
    macro_rules! add {
        ($date:expr, $schedule:expr, $acc:ident => $apply:expr) => {{
            let date: Date = $date;
            if in_range(date) {
                let $acc = &mut total;
                $apply;
                if let Some(k) = period_of(date) {
                    let $acc = &mut per_period[k];
                    $apply;
                }
                if let Some(s) = $schedule {
                    if let Some($acc) = per_schedule.get_mut(&s) {
                        $apply;
                    }
                    if let Some($acc) = type_of.get(&s).and_then(|t| per_type.get_mut(t)) {
                        $apply;
                    }
                }
            }
        }};
    }
    for b in i.billed {
        add!(b.date, b.schedule_id, acc => acc.bill(b));
    }
    for e in i.effort {
        add!(e.date, e.schedule_id, acc => acc.work(e));
    }
    for x in i.executions {
        add!(x.due, Some(x.schedule_id), acc => acc.count(x, i.today));
    }
    let fig = |a: &Acc| a.figures(i.same_currency);
    Evaluation {
        total: fig(&total),
        periods: periods.iter().copied().zip(per_period.iter().map(fig)).collect(),
        schedules: per_schedule.iter().map(|(s, a)| (*s, fig(a))).collect(),
        order_types: per_type.iter().map(|(t, a)| (*t, fig(a))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_line_over_two_bookings_is_split_by_their_minutes() {
        assert_eq!(line_shares(d("150.00"), &[60, 30]), vec![d("100.00"), d("50.00")]);
    }

    #[test]
    fn the_cent_lost_to_rounding_goes_to_the_largest_share() {
        assert_eq!(line_shares(d("100.00"), &[1, 1, 1]), vec![d("33.34"), d("33.33"), d("33.33")]);
        assert_eq!(line_shares(d("-100.00"), &[1, 2]), vec![d("-33.33"), d("-66.67")]);
    }

    #[test]
    fn a_line_of_weightless_positions_is_split_evenly() {
        assert_eq!(line_shares(d("10.00"), &[0, 0]), vec![d("5.00"), d("5.00")]);
        assert!(line_shares(d("10.00"), &[]).is_empty());
    }

    #[test]
    fn a_zero_line_shares_zero_cents() {
        let shares = line_shares(d("0.00"), &[0]);
        assert_eq!(shares, vec![d("0.00")]);
        assert_eq!(shares[0].scale(), 2);
    }

    /// The seed's contract: a monthly fee, a monthly covered remote check and a quarterly
    /// on-site maintenance at a fixed price with an extra hour.
    #[test]
    fn fees_fixed_prices_and_extras_are_revenue_and_covered_work_is_effort() {
        let schedules = [(1, 10), (2, 20)];
        let billed = [
            Billed { date: date!(2026 - 01 - 01), schedule_id: None, kind: RevenueKind::Fee, amount: d("300.00") },
            Billed { date: date!(2026 - 02 - 01), schedule_id: None, kind: RevenueKind::Fee, amount: d("300.00") },
            Billed {
                date: date!(2026 - 02 - 20),
                schedule_id: Some(2),
                kind: RevenueKind::FixedPrice,
                amount: d("450.00"),
            },
            Billed { date: date!(2026 - 02 - 20), schedule_id: Some(2), kind: RevenueKind::Extra, amount: d("120.00") },
            // Outside the range.
            Billed { date: date!(2026 - 03 - 01), schedule_id: None, kind: RevenueKind::Fee, amount: d("300.00") },
        ];
        let effort = [
            Effort { date: date!(2026 - 01 - 15), schedule_id: Some(1), minutes: 30, cost_rate: Some(d("60")) },
            Effort { date: date!(2026 - 02 - 15), schedule_id: Some(1), minutes: 30, cost_rate: Some(d("60")) },
            Effort { date: date!(2026 - 02 - 20), schedule_id: Some(2), minutes: 180, cost_rate: Some(d("60")) },
            Effort { date: date!(2026 - 02 - 21), schedule_id: None, minutes: 60, cost_rate: None },
        ];
        let executions = [
            Execution { schedule_id: 1, due: date!(2026 - 01 - 15), state: ExecutionState::Done },
            Execution { schedule_id: 1, due: date!(2026 - 02 - 15), state: ExecutionState::Open },
            Execution { schedule_id: 2, due: date!(2026 - 02 - 20), state: ExecutionState::Done },
            Execution { schedule_id: 2, due: date!(2026 - 02 - 27), state: ExecutionState::Skipped },
        ];
        let e = evaluate(&Inputs {
            period: PeriodKind::Monthly,
            from: date!(2026 - 01 - 01),
            to: date!(2026 - 02 - 28),
            today: date!(2026 - 03 - 10),
            schedules: &schedules,
            billed: &billed,
            effort: &effort,
            executions: &executions,
            same_currency: true,
        });
        assert_eq!(e.total.revenue, d("1170.00"));
        assert_eq!((e.total.fees, e.total.fixed_prices, e.total.extras), (d("600.00"), d("450.00"), d("120.00")));
        assert_eq!((e.total.minutes, e.total.cost, e.total.uncosted_minutes), (300, d("240.00"), 60));
        assert_eq!(e.total.margin, Some(d("930.00")));
        assert_eq!(e.total.executions, Executions { due: 4, done: 2, open: 1, overdue: 1, skipped: 1 });
        assert_eq!(e.periods.len(), 2);
        assert_eq!(e.periods[1].1.revenue, d("870.00"));
        let (_, remote) = &e.schedules[0];
        assert_eq!((remote.revenue, remote.cost, remote.margin), (d("0"), d("60.00"), Some(d("-60.00"))));
        let (ty, on_site) = &e.order_types[1];
        assert_eq!((*ty, on_site.revenue, on_site.minutes), (20, d("570.00"), 180));
        assert_eq!(on_site.executions.skipped, 1);
    }

    #[test]
    fn revenue_in_a_foreign_currency_has_no_margin() {
        let billed =
            [Billed { date: date!(2026 - 01 - 01), schedule_id: None, kind: RevenueKind::Fee, amount: d("10.00") }];
        let e = evaluate(&Inputs {
            period: PeriodKind::Quarterly,
            from: date!(2026 - 01 - 01),
            to: date!(2026 - 12 - 31),
            today: date!(2026 - 01 - 01),
            schedules: &[],
            billed: &billed,
            effort: &[],
            executions: &[],
            same_currency: false,
        });
        assert_eq!(e.total.margin, None);
        assert_eq!(e.periods.len(), 4);
    }

    proptest! {
        #[test]
        fn the_shares_of_a_line_add_up_to_its_net(
            cents in -10_000_000i64..10_000_000,
            weights in prop::collection::vec(0i64..10_000, 1..12),
        ) {
            let net = Decimal::new(cents, 2);
            let shares = line_shares(net, &weights);
            prop_assert_eq!(shares.len(), weights.len());
            prop_assert_eq!(shares.iter().copied().sum::<Decimal>(), net);
            for s in &shares {
                prop_assert_eq!(s.scale(), 2);
            }
        }

        #[test]
        fn the_periods_add_up_to_the_total(
            amounts in prop::collection::vec((0i64..365, 0i64..100_000, 0i64..600), 0..40),
        ) {
            let start = date!(2026 - 01 - 01);
            let billed: Vec<Billed> = amounts
                .iter()
                .map(|(day, cents, _)| Billed {
                    date: start + time::Duration::days(*day),
                    schedule_id: None,
                    kind: RevenueKind::Extra,
                    amount: Decimal::new(*cents, 2),
                })
                .collect();
            let effort: Vec<Effort> = amounts
                .iter()
                .map(|(day, _, minutes)| Effort {
                    date: start + time::Duration::days(*day),
                    schedule_id: None,
                    minutes: *minutes,
                    cost_rate: Some(d("60")),
                })
                .collect();
            let e = evaluate(&Inputs {
                period: PeriodKind::Monthly,
                from: start,
                to: date!(2026 - 12 - 31),
                today: start,
                schedules: &[],
                billed: &billed,
                effort: &effort,
                executions: &[],
                same_currency: true,
            });
            prop_assert_eq!(e.periods.iter().map(|(_, f)| f.revenue).sum::<Decimal>(), e.total.revenue);
            prop_assert_eq!(e.periods.iter().map(|(_, f)| f.minutes).sum::<i64>(), e.total.minutes);
        }
    }
}

//! Applying the contracts (rules 4–5 of the engine): contract fees due by the run's
//! period end (pro-rated by days, at most `max_fee_periods` per contract), and the
//! billing of a booking's minutes by contract kind — flat-fee coverage, prepaid hours
//! consuming the quota (overage at tiers or resolved rates), prepaid budget drawn down
//! at resolved rates (split at a whole minute), else time and material.

use super::run::{problem, BookingCtx, Piece, Qty, Run, Src, TimeResult};
use super::{LineKind, ProblemCode};
use crate::catalog::Unit;
use crate::contract::{ContractTerms, Overage};
use crate::money;
use crate::period::{pro_rata, pro_rate, Period, PeriodKind};
use crate::position::PositionRef;
use crate::rates::RateResolution;
use rust_decimal::Decimal;

/// The whole part of a non-negative decimal as `u64` (`None` if negative or too large).
fn whole_u64(d: Decimal) -> Option<u64> {
    rust_decimal::prelude::ToPrimitive::to_u64(&d.trunc())
}

impl<'a> Run<'a> {
    pub(super) fn fees(&mut self) {
        if self.input.partial {
            return;
        }
        let run_end = self.input.period_end;
        for ci in 0..self.contracts.len() {
            let cs = &self.contracts[ci];
            let c = &cs.input.contract;
            if !cs.valid || c.fee <= Decimal::ZERO {
                continue;
            }
            let mut p = Period::containing(c.period, c.start);
            let vat_rate = self.vat_rate(c.fee_vat_rate);
            let mut due = Vec::new();
            while let Some(period) = p {
                if c.end_date.is_some_and(|e| period.start > e) {
                    break;
                }
                let is_due = match c.fee_timing {
                    crate::contract::FeeTiming::InAdvance => period.start <= run_end,
                    crate::contract::FeeTiming::InArrears => period.last_day().is_some_and(|l| l <= run_end),
                };
                if !is_due {
                    break;
                }
                if !cs.input.billed_fee_periods.contains(&period.start) {
                    due.push(period);
                    if due.len() > self.ctx.max_fee_periods {
                        break;
                    }
                }
                p = period.next(c.period);
            }
            if due.len() > self.ctx.max_fee_periods {
                let first = due.first().map(|p| p.start.to_string()).unwrap_or_default();
                self.problems.push(problem(
                    ProblemCode::TooManyFeePeriods,
                    None,
                    Some(c.id),
                    format!(
                        "contract {} has more than {} unbilled fee periods due (from {first}); check its start date, \
                         or bill it in steps with an earlier period end",
                        c.number, self.ctx.max_fee_periods
                    ),
                ));
                continue;
            }
            for period in due {
                let (active, total) = pro_rata(&period, c.start, c.end_date);
                if active <= 0 {
                    continue;
                }
                let pos = PositionRef::ContractFee { contract_id: c.id, period_start: period.start };
                let Some(amount) = pro_rate(c.fee, active, total).map(|a| money::round_to_minor(a, self.currency))
                else {
                    self.problems.push(problem(
                        ProblemCode::AmountOverflow,
                        Some(pos),
                        Some(c.id),
                        "fee overflows".into(),
                    ));
                    continue;
                };
                let group = self.group_for(Some(ci));
                self.pieces.push(Piece {
                    group,
                    kind: LineKind::Fee,
                    position: pos,
                    contract_id: Some(c.id),
                    service_id: None,
                    src: Src::Fee { contract: ci, period, active, total },
                    unit: Unit::Flat,
                    unit_price: amount,
                    vat_rate,
                    qty: Qty::Amount(Decimal::ONE),
                    surcharge: None,
                });
                self.add_revenue(Some(ci), period.start, amount, Decimal::ZERO);
            }
        }
    }

    /// Bills `rounded` minutes of booking `bi` under its contract's rules.
    pub(super) fn bill_time(&mut self, bc: BookingCtx<'a>, rounded: u64) -> Result<TimeResult, ()> {
        let BookingCtx { bi, ci, .. } = bc;
        let b = &self.input.bookings[bi];
        let pos = PositionRef::Booking { id: b.id };
        let contract = ci.and_then(|ci| self.contract(ci));
        let covered = contract
            .is_some_and(|c| !b.billed_as_extra && (b.covered_by_contract || c.coverage.covers(b.service_id, true)));
        let forced = contract.is_some() && b.covered_by_contract && !b.billed_as_extra;
        let q = self.booking_query(b, b.service_id, contract.map(|c| c.id), true);
        let terms = contract.map(|c| &c.terms);
        let sur = |r: &RateResolution| r.surcharge.as_ref().map(|s| (s.kind, s.percent));
        // Flat fees cover their coverage; a work order "covered by the contract" is also
        // free under time and material.
        let free = match terms {
            Some(ContractTerms::FlatFee) => covered,
            Some(ContractTerms::TimeAndMaterial) => forced,
            _ => false,
        };
        match terms {
            _ if free => {
                // Covered: not billed; its value (if a rate exists) counts for profitability.
                let value = self
                    .input
                    .rates
                    .resolve(&self.rc, &q)
                    .ok()
                    .and_then(|r| money::minutes_value(rounded, r.unit_price));
                self.add_revenue(ci, b.work_date, Decimal::ZERO, value.unwrap_or_default());
                Ok(TimeResult {
                    covered_minutes: rounded,
                    covered_value: value.map(|v| money::round_to_minor(v, self.currency)),
                })
            }
            Some(ContractTerms::PrepaidHours { overage, .. }) if covered => {
                let ci_idx = ci.unwrap_or_default();
                let covered_min = match self.contracts.get_mut(ci_idx).and_then(|c| c.tracker.as_mut()) {
                    Some(t) => t.consume(b.work_date, Decimal::from(rounded), pos),
                    None => Decimal::ZERO,
                };
                let covered_min = whole_u64(covered_min).unwrap_or(0).min(rounded);
                let over = rounded - covered_min;
                let mut value = None;
                if over > 0 {
                    match overage {
                        Overage::Tiers(tiers) if !tiers.is_empty() => {
                            let so_far = self
                                .contracts
                                .get(ci_idx)
                                .and_then(|c| c.tracker.as_ref())
                                .map(|t| t.overage_so_far(b.work_date))
                                .unwrap_or_default();
                            let mut used = whole_u64(so_far).unwrap_or(0);
                            let mut left = over;
                            let mut bound: u64 = 0;
                            for (i, tier) in tiers.iter().enumerate() {
                                if left == 0 {
                                    break;
                                }
                                let last = i + 1 == tiers.len();
                                let take = match tier.up_to_hours {
                                    Some(h) if !last => {
                                        let h_min =
                                            h.checked_mul(Decimal::from(60)).and_then(whole_u64).unwrap_or(u64::MAX);
                                        bound = bound.max(h_min);
                                        left.min(bound.saturating_sub(used))
                                    }
                                    _ => left,
                                };
                                if take > 0 {
                                    self.time_piece(bc, LineKind::Overage, take, tier.unit_price, None);
                                    used = used.saturating_add(take);
                                    left -= take;
                                }
                            }
                        }
                        _ => {
                            let r = self.resolve(&q, pos)?;
                            self.time_piece(bc, LineKind::Overage, over, r.unit_price, sur(&r));
                        }
                    }
                    if let Some(t) = self.contracts.get_mut(ci_idx).and_then(|c| c.tracker.as_mut()) {
                        t.record_overage(b.work_date, Decimal::from(over), pos);
                    }
                }
                if covered_min > 0 {
                    value = self
                        .input
                        .rates
                        .resolve(&self.rc, &q)
                        .ok()
                        .and_then(|r| money::minutes_value(covered_min, r.unit_price));
                    self.add_revenue(ci, b.work_date, Decimal::ZERO, value.unwrap_or_default());
                }
                Ok(TimeResult {
                    covered_minutes: covered_min,
                    covered_value: value.map(|v| money::round_to_minor(v, self.currency)),
                })
            }
            Some(ContractTerms::PrepaidBudget { .. }) if covered => {
                let r = self.resolve(&q, pos)?;
                let ci_idx = ci.unwrap_or_default();
                let Some(total_value) = money::minutes_value(rounded, r.unit_price) else {
                    self.problems.push(problem(
                        ProblemCode::AmountOverflow,
                        Some(pos),
                        contract.map(|c| c.id),
                        "booking value overflows".into(),
                    ));
                    return Err(());
                };
                let tracker = self.contracts.get_mut(ci_idx).and_then(|c| c.tracker.as_mut());
                let mut drawn_min = 0u64;
                let mut drawn = Decimal::ZERO;
                if let Some(t) = tracker {
                    t.advance_to(b.work_date);
                    let remaining = Period::containing(contract.map_or(PeriodKind::Monthly, |c| c.period), b.work_date)
                        .and_then(|p| t.balance(p.start))
                        .map(|bal| bal.remaining())
                        .unwrap_or_default()
                        .max(Decimal::ZERO);
                    drawn_min = if total_value <= remaining {
                        rounded
                    } else if r.unit_price > Decimal::ZERO {
                        // Whole minutes that fit into the remaining budget.
                        remaining
                            .checked_mul(Decimal::from(60))
                            .and_then(|v| v.checked_div(r.unit_price))
                            .and_then(whole_u64)
                            .unwrap_or(0)
                            .min(rounded)
                    } else {
                        rounded
                    };
                    drawn = money::minutes_net(drawn_min, r.unit_price, self.currency).unwrap_or_default();
                    if drawn_min > 0 {
                        t.consume(b.work_date, drawn, pos);
                    }
                }
                self.time_piece(bc, LineKind::Work, rounded - drawn_min, r.unit_price, sur(&r));
                self.add_revenue(ci, b.work_date, Decimal::ZERO, drawn);
                Ok(TimeResult { covered_minutes: drawn_min, covered_value: (drawn_min > 0).then_some(drawn) })
            }
            _ => {
                let r = self.resolve(&q, pos)?;
                self.time_piece(bc, LineKind::Work, rounded, r.unit_price, sur(&r));
                Ok(TimeResult { covered_minutes: 0, covered_value: None })
            }
        }
    }
}

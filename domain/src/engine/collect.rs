//! Collecting the positions to bill (rules 1–3 of the engine): bookings up to the period
//! end in chronological order, the checks of each position (the customer's own, a
//! supported date, a known service), the contract it is billed under (the named one with
//! its checks, else [`choose_contract`]), rounding and cost of bookings, and expenses with
//! their price and VAT rate.

use super::run::{problem, BookingCtx, Piece, Qty, Run, Src};
use super::{LineKind, PositionOutcome, PositionStatus, ProblemCode};
use crate::catalog::Unit;
use crate::contract::{Contract, ContractTerms};
use crate::money;
use crate::period::{Period, PeriodKind};
use crate::position::PositionRef;
use crate::rates::RateQuery;
use rust_decimal::Decimal;
use time::Date;

/// The contract a position that names none is billed under: among the contracts active
/// on `date`, the one that lists its service, then one covering it (`is_time` for time
/// bookings), then any; the lowest contract id wins a tie. Each contract comes with a
/// caller's tag (e.g. its index), which is returned for the winner. The caller passes
/// only contracts that can be billed (the customer's own, [`Contract::validate`] ok).
pub fn choose_contract<'c, T>(
    contracts: impl IntoIterator<Item = (T, &'c Contract)>,
    date: Date,
    service_id: Option<i64>,
    is_time: bool,
) -> Option<T> {
    let mut best: Option<(u8, i64, T)> = None;
    for (tag, c) in contracts {
        if !c.active_on(date) {
            continue;
        }
        let rank = match service_id {
            Some(s) if c.coverage.lists(s) => 0,
            Some(s) if c.coverage.covers(s, is_time) => 1,
            _ => 2,
        };
        if best.as_ref().is_none_or(|(r, id, _)| (rank, c.id) < (*r, *id)) {
            best = Some((rank, c.id, tag));
        }
    }
    best.map(|b| b.2)
}

impl<'a> Run<'a> {
    /// Picks the contract of a position: the named one, else the best active one.
    fn assign(
        &mut self,
        named: Option<i64>,
        date: Date,
        service_id: Option<i64>,
        is_time: bool,
        pos: PositionRef,
    ) -> Result<Option<usize>, ()> {
        if let Some(id) = named {
            let Some(ci) = self.contracts.iter().position(|c| c.input.contract.id == id) else {
                self.problems.push(problem(
                    ProblemCode::UnknownContract,
                    Some(pos),
                    Some(id),
                    format!("contract {id} is not a contract of this customer"),
                ));
                return Err(());
            };
            let cs = &self.contracts[ci];
            let c = &cs.input.contract;
            if !cs.valid {
                self.problems.push(problem(
                    ProblemCode::InvalidContract,
                    Some(pos),
                    Some(id),
                    format!("contract {} cannot be billed", c.number),
                ));
                return Err(());
            }
            if !c.active_on(date) {
                self.problems.push(problem(
                    ProblemCode::OutsideContractPeriod,
                    Some(pos),
                    Some(id),
                    format!(
                        "work date {date} is outside contract {} ({} to {})",
                        c.number,
                        c.start,
                        c.end_date.map_or("open end".to_string(), |d| d.to_string())
                    ),
                ));
                return Err(());
            }
            return Ok(Some(ci));
        }
        let valid = self.contracts.iter().enumerate().filter(|(_, cs)| cs.valid);
        Ok(choose_contract(valid.map(|(ci, cs)| (ci, &cs.input.contract)), date, service_id, is_time))
    }

    pub(super) fn bookings(&mut self) {
        let bookings = &self.input.bookings;
        let end = self.input.period_end;
        let mut order: Vec<usize> = (0..bookings.len()).filter(|&i| bookings[i].work_date <= end).collect();
        order.sort_unstable_by(|&a, &b| {
            let (x, y) = (&bookings[a], &bookings[b]);
            (x.work_date, x.start_time, x.id).cmp(&(y.work_date, y.start_time, y.id))
        });
        for bi in order {
            self.booking(bi);
        }
    }

    fn booking(&mut self, bi: usize) {
        let input = self.input;
        let b = &input.bookings[bi];
        let pos = PositionRef::Booking { id: b.id };
        if b.customer_id != input.customer.id {
            self.problems.push(problem(
                ProblemCode::ForeignPosition,
                Some(pos),
                None,
                format!("booking {} belongs to customer {}", b.id, b.customer_id),
            ));
            return;
        }
        if Period::containing(PeriodKind::Yearly, b.work_date).and_then(|p| p.next(PeriodKind::Yearly)).is_none() {
            self.problems.push(problem(
                ProblemCode::DateOutOfRange,
                Some(pos),
                None,
                format!("work date {} is beyond the supported calendar", b.work_date),
            ));
            return;
        }
        let Some(service) = self.ctx.catalog.get(b.service_id) else {
            self.problems.push(problem(
                ProblemCode::UnknownService,
                Some(pos),
                None,
                format!("service {} is not in the catalog", b.service_id),
            ));
            return;
        };
        let Ok(ci) = self.assign(b.contract_id, b.work_date, Some(b.service_id), true, pos) else { return };
        let contract = ci.and_then(|ci| self.contract(ci));
        let rule = contract.and_then(|c| c.rounding).unwrap_or(input.customer.rounding);
        let rounded = rule.apply(b.minutes);
        let group = self.group_for(ci);
        // Cost: actual minutes × internal cost rate.
        let cost_rate = self.ctx.users.get(b.user_id).and_then(|u| u.internal_cost_rate);
        let cost = cost_rate.and_then(|r| money::minutes_value(u64::from(b.minutes), r));
        if let Some(acc) = self.profit_acc(ci, b.work_date) {
            match cost {
                Some(c) => acc.cost = acc.cost.saturating_add(c),
                None if b.minutes > 0 => acc.complete = false,
                None => {}
            }
        }
        let mut outcome = PositionOutcome {
            position: pos,
            contract_id: contract.map(|c| c.id),
            status: PositionStatus::NonBillable,
            actual_minutes: Some(b.minutes),
            rounded_minutes: Some(rounded),
            covered_minutes: None,
            covered_value: None,
        };
        if !b.billable {
            self.push_outcome(group, outcome);
            return;
        }
        let Ok(res) = self.bill_time(BookingCtx { bi, service, ci, group }, rounded) else { return };
        outcome.covered_minutes = (res.covered_minutes > 0).then_some(res.covered_minutes);
        outcome.covered_value = res.covered_value;
        outcome.status = if res.covered_minutes == 0 {
            PositionStatus::Billed
        } else if res.covered_minutes >= rounded {
            PositionStatus::Covered
        } else {
            PositionStatus::PartlyCovered
        };
        self.push_outcome(group, outcome);
        self.mapped_fields(bi, ci, group);
    }

    pub(super) fn expenses(&mut self) {
        let input = self.input;
        for (ei, e) in input.expenses.iter().enumerate() {
            if e.date > input.period_end {
                continue;
            }
            let pos = PositionRef::Expense { id: e.id };
            if e.customer_id != input.customer.id {
                self.problems.push(problem(
                    ProblemCode::ForeignPosition,
                    Some(pos),
                    None,
                    format!("expense {} belongs to customer {}", e.id, e.customer_id),
                ));
                continue;
            }
            if Period::containing(PeriodKind::Yearly, e.date).and_then(|p| p.next(PeriodKind::Yearly)).is_none() {
                self.problems.push(problem(
                    ProblemCode::DateOutOfRange,
                    Some(pos),
                    None,
                    format!("date {} is beyond the supported calendar", e.date),
                ));
                continue;
            }
            let service = match e.service_id {
                Some(s) => match self.ctx.catalog.get(s) {
                    Some(svc) => Some(svc),
                    None => {
                        self.problems.push(problem(
                            ProblemCode::UnknownService,
                            Some(pos),
                            None,
                            format!("service {s} is not in the catalog"),
                        ));
                        continue;
                    }
                },
                None => None,
            };
            let Ok(ci) = self.assign(e.contract_id, e.date, e.service_id, false, pos) else { continue };
            let group = self.group_for(ci);
            let contract = ci.and_then(|ci| self.contract(ci));
            let mut outcome = PositionOutcome {
                position: pos,
                contract_id: contract.map(|c| c.id),
                status: PositionStatus::NonBillable,
                actual_minutes: None,
                rounded_minutes: None,
                covered_minutes: None,
                covered_value: None,
            };
            if !e.billable {
                self.push_outcome(group, outcome);
                continue;
            }
            if e.quantity.is_zero() {
                self.problems.push(problem(
                    ProblemCode::InvalidQuantity,
                    Some(pos),
                    None,
                    format!("expense {} has quantity 0", e.id),
                ));
                continue;
            }
            if let (Some(svc), Some(c)) = (service, contract) {
                if !e.billed_as_extra && matches!(c.terms, ContractTerms::FlatFee) && c.coverage.covers(svc.id, false) {
                    outcome.status = PositionStatus::Covered;
                    self.push_outcome(group, outcome);
                    continue;
                }
            }
            let price = match (e.unit_price, service) {
                (Some(p), _) => {
                    if let Some(cur) = e.currency.filter(|c| *c != self.currency) {
                        self.problems.push(problem(
                            ProblemCode::CurrencyMismatch,
                            Some(pos),
                            None,
                            format!("expense {} is in {cur} but the invoice is in {}", e.id, self.currency),
                        ));
                        continue;
                    }
                    p
                }
                (None, Some(svc)) => {
                    let q = RateQuery {
                        customer_id: input.customer.id,
                        contract_id: contract.map(|c| c.id),
                        project_id: e.project_id,
                        service_id: svc.id,
                        user_id: e.user_id,
                        date: e.date,
                        start_time: None,
                        override_price: None,
                        override_currency: self.currency,
                    };
                    let Ok(r) = self.resolve(&q, pos) else { continue };
                    // Material is never surcharged; use the base price for non-hourly units.
                    if svc.unit == Unit::Hour {
                        r.unit_price
                    } else {
                        r.base_price
                    }
                }
                (None, None) => {
                    self.problems.push(problem(
                        ProblemCode::MissingRate,
                        Some(pos),
                        None,
                        format!("free-text expense {} has no unit price", e.id),
                    ));
                    continue;
                }
            };
            let vat = match (service, e.vat_rate) {
                (Some(svc), _) => svc.vat_rate,
                (None, Some(v)) => v,
                (None, None) => {
                    self.problems.push(problem(
                        ProblemCode::MissingVatRate,
                        Some(pos),
                        None,
                        format!("free-text expense {} has no VAT rate", e.id),
                    ));
                    continue;
                }
            };
            self.pieces.push(Piece {
                group,
                kind: LineKind::Expense,
                position: pos,
                contract_id: contract.map(|c| c.id),
                service_id: e.service_id,
                src: Src::Expense(ei),
                unit: service.map_or(e.unit, |s| s.unit),
                unit_price: price,
                vat_rate: self.vat_rate(vat),
                qty: Qty::Amount(e.quantity),
                surcharge: None,
            });
            let value = e.quantity.checked_mul(price).unwrap_or_default();
            self.add_revenue(ci, e.date, value, Decimal::ZERO);
            outcome.status = PositionStatus::Billed;
            self.push_outcome(group, outcome);
        }
    }
}

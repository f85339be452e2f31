//! One customer's run: the state the stages share (`Run`: contracts with their quota
//! trackers, proposal groups, priced pieces, problems, threshold crossings and
//! profitability accumulators), the order of the stages (fees, bookings, expenses, quota
//! periods closed, assembly) and the small helpers every stage uses (contract lookup,
//! proposal group, VAT treatment, revenue and outcomes).

use super::{
    BillingContext, BlockingProblem, ContractInput, CustomerBilling, CustomerInput, LineKind, PositionOutcome,
    ProblemCode,
};
use crate::catalog::{Service, Unit};
use crate::contract::Contract;
use crate::currency::Currency;
use crate::customer::VatTreatment;
use crate::period::{Period, PeriodKind};
use crate::position::PositionRef;
use crate::quota::{QuotaEntry, QuotaSummary, QuotaTracker, ThresholdCrossing};
use crate::rates::{RateContext, SurchargeKind};
use rust_decimal::Decimal;
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Qty {
    Minutes(u64),
    Amount(Decimal),
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Src {
    Booking(usize),
    Expense(usize),
    Fee { contract: usize, period: Period, active: i64, total: i64 },
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Piece {
    pub(super) group: usize,
    pub(super) kind: LineKind,
    pub(super) position: PositionRef,
    pub(super) contract_id: Option<i64>,
    pub(super) service_id: Option<i64>,
    pub(super) src: Src,
    pub(super) unit: Unit,
    pub(super) unit_price: Decimal,
    pub(super) vat_rate: Decimal,
    pub(super) qty: Qty,
    pub(super) surcharge: Option<(SurchargeKind, Decimal)>,
}

pub(super) struct ContractState<'a> {
    pub(super) input: &'a ContractInput,
    pub(super) valid: bool,
    pub(super) tracker: Option<QuotaTracker>,
}

#[derive(Default)]
pub(super) struct Group {
    pub(super) contract_id: Option<i64>,
    pub(super) outcomes: Vec<PositionOutcome>,
    pub(super) quota_entries: Vec<QuotaEntry>,
    pub(super) quota_summaries: Vec<QuotaSummary>,
}

#[derive(Default)]
pub(super) struct ProfitAcc {
    pub(super) revenue: Decimal,
    pub(super) covered: Decimal,
    pub(super) cost: Decimal,
    pub(super) complete: bool,
}

pub(super) struct Run<'a> {
    pub(super) ctx: &'a BillingContext,
    pub(super) rc: RateContext<'a>,
    pub(super) input: &'a CustomerInput,
    pub(super) currency: Currency,
    pub(super) contracts: Vec<ContractState<'a>>,
    pub(super) groups: Vec<Group>,
    pub(super) pieces: Vec<Piece>,
    pub(super) problems: Vec<BlockingProblem>,
    pub(super) crossings: Vec<ThresholdCrossing>,
    pub(super) profit: Vec<((Option<i64>, Period), ProfitAcc)>,
}

pub(super) fn problem(
    code: ProblemCode,
    position: Option<PositionRef>,
    contract_id: Option<i64>,
    message: String,
) -> BlockingProblem {
    BlockingProblem { code, position, contract_id, message }
}

/// The booking being billed with its service, contract and proposal group.
#[derive(Clone, Copy)]
pub(super) struct BookingCtx<'a> {
    pub(super) bi: usize,
    pub(super) service: &'a Service,
    pub(super) ci: Option<usize>,
    pub(super) group: usize,
}

/// Outcome of billing one time booking's minutes.
pub(super) struct TimeResult {
    pub(super) covered_minutes: u64,
    pub(super) covered_value: Option<Decimal>,
}

impl<'a> Run<'a> {
    pub(super) fn new(ctx: &'a BillingContext, input: &'a CustomerInput) -> Self {
        let currency = input.customer.currency;
        let mut problems = Vec::new();
        let contracts = input
            .contracts
            .iter()
            .map(|ci| {
                let c = &ci.contract;
                let mut valid = true;
                if c.customer_id != input.customer.id {
                    valid = false;
                    problems.push(problem(
                        ProblemCode::InvalidContract,
                        None,
                        Some(c.id),
                        format!(
                            "contract {} belongs to customer {}, not {}",
                            c.number, c.customer_id, input.customer.id
                        ),
                    ));
                } else if let Err(msg) = c.validate() {
                    valid = false;
                    problems.push(problem(ProblemCode::InvalidContract, None, Some(c.id), msg));
                }
                let tracker = if valid { QuotaTracker::new(c, &ci.ledger, currency.minor_units()) } else { None };
                ContractState { input: ci, valid, tracker }
            })
            .collect();
        Run {
            ctx,
            rc: ctx.rate_context(),
            input,
            currency,
            contracts,
            groups: Vec::new(),
            pieces: Vec::with_capacity(input.bookings.len() + input.expenses.len() + 4),
            problems,
            crossings: Vec::new(),
            profit: Vec::new(),
        }
    }

    pub(super) fn contract(&self, ci: usize) -> Option<&'a Contract> {
        self.contracts.get(ci).map(|c| &c.input.contract)
    }

    pub(super) fn group_for(&mut self, contract: Option<usize>) -> usize {
        let cid = contract.and_then(|ci| self.contract(ci)).filter(|c| c.separate_invoice).map(|c| c.id);
        if let Some(i) = self.groups.iter().position(|g| g.contract_id == cid) {
            return i;
        }
        self.groups.push(Group { contract_id: cid, ..Group::default() });
        self.groups.len() - 1
    }

    pub(super) fn vat_rate(&self, domestic: Decimal) -> Decimal {
        match self.input.customer.vat_treatment {
            VatTreatment::Domestic => domestic,
            VatTreatment::EuReverseCharge | VatTreatment::Export => Decimal::ZERO,
        }
    }

    pub(super) fn profit_acc(&mut self, contract: Option<usize>, date: Date) -> Option<&mut ProfitAcc> {
        let (cid, kind) = match contract.and_then(|ci| self.contract(ci)) {
            Some(c) => (Some(c.id), c.period),
            None => (None, PeriodKind::Monthly),
        };
        let period = Period::containing(kind, date)?;
        let key = (cid, period);
        let i = match self.profit.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.profit.push((key, ProfitAcc { complete: true, ..ProfitAcc::default() }));
                self.profit.len() - 1
            }
        };
        self.profit.get_mut(i).map(|(_, a)| a)
    }

    pub(super) fn add_revenue(&mut self, contract: Option<usize>, date: Date, revenue: Decimal, covered: Decimal) {
        if let Some(a) = self.profit_acc(contract, date) {
            a.revenue = a.revenue.saturating_add(revenue);
            a.covered = a.covered.saturating_add(covered);
        }
    }

    pub(super) fn run(mut self) -> CustomerBilling {
        self.fees();
        self.bookings();
        self.expenses();
        let period_end = self.input.period_end;
        for ci in 0..self.contracts.len() {
            let Some(mut tracker) = self.contracts[ci].tracker.take() else { continue };
            if !self.input.partial {
                tracker.finish(period_end);
            }
            let (entries, crossings, summaries) = tracker.into_output();
            if entries.is_empty() && summaries.is_empty() {
                continue;
            }
            let g = self.group_for(Some(ci));
            if let Some(group) = self.groups.get_mut(g) {
                group.quota_entries.extend(entries);
                group.quota_summaries.extend(summaries);
            }
            self.crossings.extend(crossings);
        }
        self.finish()
    }

    pub(super) fn push_outcome(&mut self, group: usize, outcome: PositionOutcome) {
        if let Some(g) = self.groups.get_mut(group) {
            g.outcomes.push(outcome);
        }
    }
}

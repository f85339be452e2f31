//! The quota ledger of prepaid contracts: grants, consumption, carry-over, expiry,
//! reversal and overage as immutable entries; balances are derived, never stored.
//!
//! Amounts are in ledger units: **minutes** for `prepaid_hours`, **money** (invoice
//! currency) for `prepaid_budget`. Every amount stems from the grant of one period, its
//! *origin*; an entry is booked in the period in which it takes effect:
//!
//! | kind          | sign | booked in | meaning                                              |
//! |---------------|------|-----------|------------------------------------------------------|
//! | `grant`       |  +   | P         | quota of P (pro-rated by days for a partial period)  |
//! | `consumption` |  −   | P         | covered work of P, oldest origin first               |
//! | `carry_out`   |  −   | P         | unused amount leaving P at its close                 |
//! | `carry_in`    |  +   | P+1       | the same amount arriving in the next period          |
//! | `expiry`      |  −   | P         | unused amount lapsing at P's close (cap, expiry, end)|
//! | `reversal`    |  +   | P         | consumption given back by a cancelled invoice        |
//! | `overage`     | ±    | P         | overage minutes billed in P (tracks tiers; not balance) |
//! | `close`       |  0   | P         | marker: P was closed (carry-over decided)            |
//!
//! Period close: amounts whose expiry has come lapse; of the rest at most the cap is
//! carried, the **newest** amounts are kept and the oldest lapse first (consumption, in
//! turn, always takes the oldest first). At the contract's end everything lapses.

use crate::contract::{CarryOver, Contract};
use crate::customer::str_enum;
use crate::period::{pro_rata, pro_rate, Period, PeriodKind};
use crate::position::PositionRef;
use crate::serde_fmt;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;

/// Kind of a ledger entry (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QuotaEntryKind {
    /// Quota of a period.
    Grant,
    /// Covered work.
    Consumption,
    /// Unused amount leaving a closed period.
    CarryOut,
    /// Carried amount arriving in the next period.
    CarryIn,
    /// Unused amount lapsing.
    Expiry,
    /// Consumption given back by a cancelled invoice.
    Reversal,
    /// Overage minutes billed (tier tracking, outside the balance).
    Overage,
    /// Period closed marker.
    Close,
}

str_enum!(QuotaEntryKind {
    Grant => "grant",
    Consumption => "consumption",
    CarryOut => "carry_out",
    CarryIn => "carry_in",
    Expiry => "expiry",
    Reversal => "reversal",
    Overage => "overage",
    Close => "close",
});

/// Unit of a contract's ledger amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QuotaUnit {
    /// Minutes (prepaid hours).
    Minutes,
    /// Invoice currency (prepaid budget).
    Money,
}

/// One immutable ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaEntry {
    /// Contract.
    pub contract_id: i64,
    /// Period the entry is booked in (its first day).
    #[serde(with = "serde_fmt::date")]
    pub period_start: Date,
    /// Period whose grant the amount stems from (its first day).
    #[serde(with = "serde_fmt::date")]
    pub origin_period_start: Date,
    /// Kind.
    pub kind: QuotaEntryKind,
    /// Signed amount in ledger units.
    pub amount: Decimal,
    /// Position that consumed or overran, if any.
    pub position: Option<PositionRef>,
}

/// Derived state of one contract period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodBalance {
    /// Sum of grants.
    pub granted: Decimal,
    /// Sum of carried-in amounts.
    pub carried_in: Decimal,
    /// Consumption minus reversals (positive).
    pub used: Decimal,
    /// Expired amounts (positive).
    pub expired: Decimal,
    /// Carried-out amounts (positive).
    pub carried_out: Decimal,
    /// Overage billed in the period (minutes).
    pub overage: Decimal,
    /// Whether a grant entry exists.
    pub has_grant: bool,
    /// Whether the period was closed.
    pub closed: bool,
    /// Remaining balance per origin period, oldest first.
    pub buckets: Vec<(Date, Decimal)>,
}

impl PeriodBalance {
    /// Quota available in the period: grant plus carried in.
    pub fn available(&self) -> Decimal {
        self.granted.saturating_add(self.carried_in)
    }

    /// Remaining balance (sum over origins).
    pub fn remaining(&self) -> Decimal {
        self.buckets.iter().fold(Decimal::ZERO, |acc, b| acc.saturating_add(b.1))
    }

    /// Applies one entry to the derived state.
    pub fn apply(&mut self, e: &QuotaEntry) {
        let a = e.amount;
        match e.kind {
            QuotaEntryKind::Grant => {
                self.granted = self.granted.saturating_add(a);
                self.has_grant = true;
            }
            QuotaEntryKind::CarryIn => self.carried_in = self.carried_in.saturating_add(a),
            QuotaEntryKind::Consumption | QuotaEntryKind::Reversal => self.used = self.used.saturating_sub(a),
            QuotaEntryKind::Expiry => self.expired = self.expired.saturating_sub(a),
            QuotaEntryKind::CarryOut => self.carried_out = self.carried_out.saturating_sub(a),
            QuotaEntryKind::Overage => {
                self.overage = self.overage.saturating_add(a);
                return;
            }
            QuotaEntryKind::Close => {
                self.closed = true;
                return;
            }
        }
        match self.buckets.binary_search_by_key(&e.origin_period_start, |b| b.0) {
            Ok(i) => {
                if let Some(b) = self.buckets.get_mut(i) {
                    b.1 = b.1.saturating_add(a);
                }
            }
            Err(i) => self.buckets.insert(i, (e.origin_period_start, a)),
        }
    }
}

/// The balance of one period of a contract, derived from its ledger entries.
pub fn period_balance(entries: &[QuotaEntry], contract_id: i64, period_start: Date) -> PeriodBalance {
    let mut b = PeriodBalance::default();
    for e in entries.iter().filter(|e| e.contract_id == contract_id && e.period_start == period_start) {
        b.apply(e);
    }
    b
}

/// Entries that undo the consumption and overage of a cancelled invoice (`entries` are
/// the ledger entries written when it was issued). Grants, carry-over, expiry and close
/// entries are facts of the period and stay.
pub fn reversal_entries(entries: &[QuotaEntry]) -> Vec<QuotaEntry> {
    entries
        .iter()
        .filter_map(|e| match e.kind {
            QuotaEntryKind::Consumption => {
                Some(QuotaEntry { kind: QuotaEntryKind::Reversal, amount: -e.amount, ..e.clone() })
            }
            QuotaEntryKind::Overage => Some(QuotaEntry { amount: -e.amount, ..e.clone() }),
            _ => None,
        })
        .collect()
}

/// A usage threshold crossed by this run (emit `contract.quota_threshold`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThresholdCrossing {
    /// Contract.
    pub contract_id: i64,
    /// Period.
    pub period: Period,
    /// Threshold in percent, e.g. 80.
    pub threshold_percent: u32,
    /// Used after the crossing position (ledger units).
    pub used: Decimal,
    /// Available in the period (grant plus carried in).
    pub available: Decimal,
    /// Position whose consumption crossed it.
    pub position: Option<PositionRef>,
}

/// Quota figures of one contract period after this run, for the invoice and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaSummary {
    /// Contract.
    pub contract_id: i64,
    /// Period.
    pub period: Period,
    /// Unit of the figures.
    pub unit: QuotaUnit,
    /// Granted for the period.
    pub granted: Decimal,
    /// Carried in from earlier periods.
    pub carried_in: Decimal,
    /// Used (consumption net of reversals; budget: drawdown).
    pub used: Decimal,
    /// Consumed by this run.
    pub used_by_this_run: Decimal,
    /// Overage minutes billed in the period.
    pub overage: Decimal,
    /// Expired at close.
    pub expired: Decimal,
    /// Carried into the next period at close.
    pub carried_out: Decimal,
    /// Remaining balance.
    pub remaining: Decimal,
    /// Whether the period is closed.
    pub closed: bool,
}

impl QuotaSummary {
    /// What is still available in the period: grant + carried in − used − expired, and
    /// once the period is closed also minus what was carried into the next one (never
    /// below zero: overage is billed, not owed to the quota).
    pub fn available(&self) -> Decimal {
        let left = self
            .granted
            .saturating_add(self.carried_in)
            .saturating_sub(self.used)
            .saturating_sub(self.expired)
            .saturating_sub(self.carried_out);
        left.max(Decimal::ZERO)
    }

    /// The figures of a prepaid-hours period in hours; `None` for a budget (money) quota.
    pub fn hours(&self) -> Option<QuotaHours> {
        (self.unit == QuotaUnit::Minutes).then(|| QuotaHours {
            granted_hours: decimal_hours(self.granted),
            carried_in_hours: decimal_hours(self.carried_in),
            used_hours: decimal_hours(self.used),
            overage_hours: decimal_hours(self.overage),
            expired_hours: decimal_hours(self.expired),
            carried_out_hours: decimal_hours(self.carried_out),
            remaining_hours: decimal_hours(self.remaining),
            available_hours: decimal_hours(self.available()),
        })
    }
}

/// Minutes as hours, rounded half-up to 4 decimal places with trailing zeros dropped
/// (`90` → `1.5`, `10` → `0.1667`).
pub fn decimal_hours(minutes: Decimal) -> Decimal {
    (minutes / Decimal::from(60))
        .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

/// A prepaid-hours period's figures in hours (minutes / 60, at most 4 decimals), next to
/// the minutes of [`QuotaSummary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaHours {
    /// `granted` in hours.
    pub granted_hours: Decimal,
    /// `carried_in` in hours.
    pub carried_in_hours: Decimal,
    /// `used` in hours.
    pub used_hours: Decimal,
    /// `overage` in hours.
    pub overage_hours: Decimal,
    /// `expired` in hours.
    pub expired_hours: Decimal,
    /// `carried_out` in hours.
    pub carried_out_hours: Decimal,
    /// `remaining` in hours.
    pub remaining_hours: Decimal,
    /// `available` in hours.
    pub available_hours: Decimal,
}

/// Consumes and maintains one prepaid contract's quota chronologically during a run,
/// producing the new ledger entries. Periods are processed in order: each period is
/// granted when first reached, and closed (carry-over/expiry) once a later period is
/// reached or the run's period end is on or after its last day. Work in an already
/// closed period draws only on what is left there (usually nothing → overage).
#[derive(Debug, Clone)]
pub struct QuotaTracker {
    contract_id: i64,
    kind: PeriodKind,
    start: Date,
    end: Option<Date>,
    per_period: Decimal,
    unit: QuotaUnit,
    scale: u32,
    carry: CarryOver,
    cap: Option<Decimal>,
    thresholds: Vec<u32>,
    periods: BTreeMap<Date, PeriodBalance>,
    used_by_run: BTreeMap<Date, Decimal>,
    cursor: Option<Period>,
    new_entries: Vec<QuotaEntry>,
    crossings: Vec<ThresholdCrossing>,
}

impl QuotaTracker {
    /// A tracker for a prepaid contract from its ledger so far (entries of other
    /// contracts are ignored); `None` for contracts without quota. `money_scale` is the
    /// invoice currency's minor unit (budget amounts are rounded to it).
    pub fn new(contract: &Contract, ledger: &[QuotaEntry], money_scale: u32) -> Option<Self> {
        let (per_period, carry) = contract.quota()?;
        let (unit, scale, factor) = match contract.kind() {
            crate::contract::ContractKind::PrepaidHours => (QuotaUnit::Minutes, 0, Decimal::from(60)),
            _ => (QuotaUnit::Money, money_scale, Decimal::ONE),
        };
        let cap = match carry {
            CarryOver::Carry { cap: Some(c), .. } => Some(c.checked_mul(factor)?),
            _ => None,
        };
        let mut periods: BTreeMap<Date, PeriodBalance> = BTreeMap::new();
        for e in ledger.iter().filter(|e| e.contract_id == contract.id) {
            periods.entry(e.period_start).or_default().apply(e);
        }
        let last_closed = periods.iter().rev().find(|(_, b)| b.closed).map(|(d, _)| *d);
        let cursor = match last_closed {
            Some(d) => Period::containing(contract.period, d).and_then(|p| p.next(contract.period)),
            None => Period::containing(contract.period, contract.start),
        };
        let mut t = QuotaTracker {
            contract_id: contract.id,
            kind: contract.period,
            start: contract.start,
            end: contract.end_date,
            per_period,
            unit,
            scale,
            carry: carry.clone(),
            cap,
            thresholds: contract.quota_thresholds.clone(),
            periods,
            used_by_run: BTreeMap::new(),
            cursor: None,
            new_entries: Vec::new(),
            crossings: Vec::new(),
        };
        t.cursor = cursor.filter(|p| t.in_contract(p));
        Some(t)
    }

    /// Unit of the ledger amounts.
    pub fn unit(&self) -> QuotaUnit {
        self.unit
    }

    fn in_contract(&self, p: &Period) -> bool {
        self.end.is_none_or(|e| p.start <= e)
    }

    fn push(
        &mut self,
        period_start: Date,
        origin: Date,
        kind: QuotaEntryKind,
        amount: Decimal,
        position: Option<PositionRef>,
    ) {
        let amount = match self.unit {
            QuotaUnit::Money => crate::money::with_decimals(amount, self.scale),
            QuotaUnit::Minutes => amount,
        };
        let e = QuotaEntry {
            contract_id: self.contract_id,
            period_start,
            origin_period_start: origin,
            kind,
            amount,
            position,
        };
        self.periods.entry(period_start).or_default().apply(&e);
        self.new_entries.push(e);
    }

    fn grant_if_needed(&mut self, p: Period) {
        if self.periods.get(&p.start).is_some_and(|b| b.has_grant) {
            return;
        }
        let (active, total) = pro_rata(&p, self.start, self.end);
        if active <= 0 {
            return;
        }
        let amount = pro_rate(self.per_period, active, total)
            .map(|a| a.round_dp_with_strategy(self.scale, RoundingStrategy::MidpointAwayFromZero))
            .unwrap_or(Decimal::ZERO);
        self.push(p.start, p.start, QuotaEntryKind::Grant, amount, None);
    }

    fn close(&mut self, p: Period) {
        let next = p.next(self.kind).filter(|n| self.in_contract(n));
        let buckets: Vec<(Date, Decimal)> = self
            .periods
            .get(&p.start)
            .map(|b| b.buckets.iter().filter(|(_, a)| *a > Decimal::ZERO).copied().collect())
            .unwrap_or_default();
        let mut cap_left = self.cap;
        // Newest first so that the cap keeps the newest amounts.
        for (origin, amount) in buckets.into_iter().rev() {
            let carry = match (&self.carry, next) {
                (CarryOver::Carry { expiry_periods, .. }, Some(n)) => {
                    let age =
                        Period::containing(self.kind, origin).map(|o| n.ordinal(self.kind) - o.ordinal(self.kind));
                    match (expiry_periods, age) {
                        (None, _) => amount,
                        (Some(max), Some(age)) if age <= i64::from(*max) => amount,
                        _ => Decimal::ZERO,
                    }
                }
                _ => Decimal::ZERO,
            };
            let carry = match cap_left {
                Some(c) => carry.min(c).max(Decimal::ZERO),
                None => carry,
            };
            if let Some(c) = cap_left.as_mut() {
                *c = c.saturating_sub(carry);
            }
            let expire = amount.saturating_sub(carry);
            if expire > Decimal::ZERO {
                self.push(p.start, origin, QuotaEntryKind::Expiry, -expire, None);
            }
            if let (true, Some(n)) = (carry > Decimal::ZERO, next) {
                self.push(p.start, origin, QuotaEntryKind::CarryOut, -carry, None);
                self.push(n.start, origin, QuotaEntryKind::CarryIn, carry, None);
            }
        }
        self.push(p.start, p.start, QuotaEntryKind::Close, Decimal::ZERO, None);
    }

    /// Grants and closes periods up to the one containing `date`, which is granted.
    /// Dates in already closed periods change nothing.
    pub fn advance_to(&mut self, date: Date) {
        let Some(target) = Period::containing(self.kind, date) else { return };
        while let Some(cur) = self.cursor {
            if cur.start >= target.start {
                break;
            }
            self.grant_if_needed(cur);
            self.close(cur);
            self.cursor = cur.next(self.kind).filter(|n| self.in_contract(n));
        }
        if self.cursor == Some(target) {
            self.grant_if_needed(target);
        }
    }

    /// Closes every period whose last day is on or before `run_end` and grants the
    /// period containing `run_end` (end of a run).
    pub fn finish(&mut self, run_end: Date) {
        self.advance_to(run_end);
        if let Some(cur) = self.cursor {
            if cur.last_day().is_some_and(|l| l <= run_end) {
                self.close(cur);
                self.cursor = cur.next(self.kind).filter(|n| self.in_contract(n));
            }
        }
    }

    /// Consumes up to `amount` on `date` (oldest origin first) for `position`; returns
    /// the amount covered, the rest is the caller's overage.
    pub fn consume(&mut self, date: Date, amount: Decimal, position: PositionRef) -> Decimal {
        let Some(p) = Period::containing(self.kind, date) else { return Decimal::ZERO };
        self.advance_to(date);
        let Some(balance) = self.periods.get(&p.start) else { return Decimal::ZERO };
        let used_before = balance.used;
        let available = balance.available();
        let mut takes: Vec<(Date, Decimal)> = Vec::new();
        let mut left = amount;
        for (origin, bal) in &balance.buckets {
            if left <= Decimal::ZERO {
                break;
            }
            if *bal > Decimal::ZERO {
                let take = left.min(*bal);
                takes.push((*origin, take));
                left = left.saturating_sub(take);
            }
        }
        let mut covered = Decimal::ZERO;
        for (origin, take) in takes {
            covered = covered.saturating_add(take);
            self.push(p.start, origin, QuotaEntryKind::Consumption, -take, Some(position));
        }
        if covered > Decimal::ZERO {
            let run = self.used_by_run.entry(p.start).or_default();
            *run = run.saturating_add(covered);
            let used_after = used_before.saturating_add(covered);
            if available > Decimal::ZERO {
                for &t in &self.thresholds {
                    let limit = available.saturating_mul(Decimal::from(t));
                    if used_before.saturating_mul(Decimal::ONE_HUNDRED) < limit
                        && used_after.saturating_mul(Decimal::ONE_HUNDRED) >= limit
                    {
                        self.crossings.push(ThresholdCrossing {
                            contract_id: self.contract_id,
                            period: p,
                            threshold_percent: t,
                            used: used_after,
                            available,
                            position: Some(position),
                        });
                    }
                }
            }
        }
        covered
    }

    /// Overage already billed in the period containing `date` (minutes).
    pub fn overage_so_far(&self, date: Date) -> Decimal {
        Period::containing(self.kind, date)
            .and_then(|p| self.periods.get(&p.start))
            .map(|b| b.overage)
            .unwrap_or_default()
    }

    /// Records `minutes` of overage billed for `position` on `date`.
    pub fn record_overage(&mut self, date: Date, minutes: Decimal, position: PositionRef) {
        if let Some(p) = Period::containing(self.kind, date) {
            self.push(p.start, p.start, QuotaEntryKind::Overage, minutes, Some(position));
        }
    }

    /// Derived state of the period starting on `period_start`.
    pub fn balance(&self, period_start: Date) -> Option<&PeriodBalance> {
        self.periods.get(&period_start)
    }

    /// New ledger entries, threshold crossings and summaries of the periods this run
    /// touched.
    pub fn into_output(self) -> (Vec<QuotaEntry>, Vec<ThresholdCrossing>, Vec<QuotaSummary>) {
        let mut touched: Vec<Date> = self.new_entries.iter().map(|e| e.period_start).collect();
        touched.sort_unstable();
        touched.dedup();
        let summaries = touched
            .into_iter()
            .filter_map(|d| {
                let b = self.periods.get(&d)?;
                Some(QuotaSummary {
                    contract_id: self.contract_id,
                    period: Period::containing(self.kind, d)?,
                    unit: self.unit,
                    granted: b.granted,
                    carried_in: b.carried_in,
                    used: b.used,
                    used_by_this_run: self.used_by_run.get(&d).copied().unwrap_or_default(),
                    overage: b.overage,
                    expired: b.expired,
                    carried_out: b.carried_out,
                    remaining: b.remaining(),
                    closed: b.closed,
                })
            })
            .collect();
        (self.new_entries, self.crossings, summaries)
    }
}

/// A contract period's quota as the ledger shows it (`/contracts/{id}/quota`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaStatus {
    /// Figures of the period (`used_by_this_run` is always 0 here).
    #[serde(flatten)]
    pub summary: QuotaSummary,
    /// True when no invoice has reached the period yet: the grant and the carry-over
    /// into it are projected from the ledger by the contract's rules, not yet written.
    pub projected: bool,
}

/// The quota of the period of a prepaid `contract` that contains `date`, derived from
/// its `ledger`: grant, carried in, used, remaining, overage, expiry and carry-out. A
/// period no invoice has reached yet is projected (grants and closes of the periods up
/// to it applied, nothing consumed). `None` for contracts without quota or when the
/// contract is not active in that period.
pub fn quota_status(contract: &Contract, ledger: &[QuotaEntry], date: Date, money_scale: u32) -> Option<QuotaStatus> {
    let period = Period::containing(contract.period, date)?;
    if !contract.active_in(&period) {
        return None;
    }
    let mut tracker = QuotaTracker::new(contract, ledger, money_scale)?;
    tracker.advance_to(date);
    let projected = tracker.new_entries.iter().any(|e| e.period_start <= period.start);
    let b = tracker.periods.get(&period.start).cloned().unwrap_or_default();
    let shown = |a: Decimal| match tracker.unit {
        QuotaUnit::Money => crate::money::with_decimals(a, tracker.scale),
        QuotaUnit::Minutes => a,
    };
    Some(QuotaStatus {
        summary: QuotaSummary {
            contract_id: contract.id,
            period,
            unit: tracker.unit,
            granted: shown(b.granted),
            carried_in: shown(b.carried_in),
            used: shown(b.used),
            used_by_this_run: shown(Decimal::ZERO),
            overage: shown(b.overage),
            expired: shown(b.expired),
            carried_out: shown(b.carried_out),
            remaining: shown(b.remaining()),
            closed: b.closed,
        },
        projected,
    })
}

#[cfg(test)]
mod figure_tests {
    use super::*;
    use crate::period::Period;
    use std::str::FromStr;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn summary(unit: QuotaUnit, granted: &str, carried_in: &str, used: &str, expired: &str) -> QuotaSummary {
        QuotaSummary {
            contract_id: 1,
            period: Period { start: date!(2026 - 11 - 01), end: date!(2026 - 11 - 30) },
            unit,
            granted: d(granted),
            carried_in: d(carried_in),
            used: d(used),
            used_by_this_run: Decimal::ZERO,
            overage: Decimal::ZERO,
            expired: d(expired),
            carried_out: Decimal::ZERO,
            remaining: Decimal::ZERO,
            closed: false,
        }
    }

    #[test]
    fn ten_hours_granted_four_carried_in_and_six_and_a_half_used_leave_seven_and_a_half_available() {
        let s = summary(QuotaUnit::Minutes, "600", "240", "390", "0");
        assert_eq!(s.available(), d("450"));
        let h = s.hours().unwrap();
        assert_eq!(
            (h.granted_hours, h.carried_in_hours, h.used_hours, h.available_hours),
            (d("10"), d("4"), d("6.5"), d("7.5"))
        );
    }

    #[test]
    fn overage_does_not_make_the_available_quota_negative_and_a_budget_has_no_hours() {
        let s = summary(QuotaUnit::Money, "1000.00", "0", "1200.00", "0");
        assert_eq!(s.available(), Decimal::ZERO);
        assert!(s.hours().is_none());
        assert_eq!(decimal_hours(d("10")), d("0.1667"));
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;
    use crate::contract::{ContractTerms, Coverage, FeeTiming, Overage};
    use std::str::FromStr;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn ten_hours_carry_five() -> Contract {
        Contract {
            id: 3,
            customer_id: 1,
            number: "V-2026-0003".into(),
            name: "Support quota".into(),
            start: date!(2026 - 01 - 01),
            end_date: None,
            period: PeriodKind::Monthly,
            fee_timing: FeeTiming::InAdvance,
            fee: d("800"),
            fee_vat_rate: d("19"),
            coverage: Coverage::AllWork,
            rounding: None,
            separate_invoice: false,
            quota_thresholds: vec![80, 100],
            terms: ContractTerms::PrepaidHours {
                hours_per_period: d("10"),
                carry_over: CarryOver::Carry { cap: Some(d("5")), expiry_periods: None },
                overage: Overage::ResolvedRates,
            },
        }
    }

    #[test]
    fn a_month_with_four_of_ten_hours_used_shows_six_remaining_from_the_ledger() {
        let c = ten_hours_carry_five();
        let mut t = QuotaTracker::new(&c, &[], 0).unwrap();
        t.consume(date!(2026 - 01 - 10), d("240"), PositionRef::Booking { id: 1 });
        let (ledger, _, _) = t.into_output();
        let s = quota_status(&c, &ledger, date!(2026 - 01 - 20), 2).unwrap();
        assert!(!s.projected);
        assert_eq!(s.summary.granted, d("600"));
        assert_eq!(s.summary.used, d("240"));
        assert_eq!(s.summary.remaining, d("360"));
        assert!(!s.summary.closed);
    }

    #[test]
    fn the_next_month_is_projected_with_the_capped_carry_over() {
        let c = ten_hours_carry_five();
        let mut t = QuotaTracker::new(&c, &[], 0).unwrap();
        t.consume(date!(2026 - 01 - 10), d("120"), PositionRef::Booking { id: 1 });
        let (ledger, _, _) = t.into_output();
        let s = quota_status(&c, &ledger, date!(2026 - 02 - 01), 2).unwrap();
        assert!(s.projected, "no invoice reached February yet");
        assert_eq!(s.summary.granted, d("600"));
        assert_eq!(s.summary.carried_in, d("300"), "8 h unused, capped at 5 h");
        assert_eq!(s.summary.remaining, d("900"));
        // January itself, seen from the ledger, is still open (not closed by any invoice).
        let jan = quota_status(&c, &ledger, date!(2026 - 01 - 31), 2).unwrap();
        assert!(!jan.summary.closed && !jan.projected);
    }

    #[test]
    fn no_quota_before_the_contract_starts_or_for_kinds_without_one() {
        let c = ten_hours_carry_five();
        assert!(quota_status(&c, &[], date!(2025 - 12 - 31), 2).is_none());
        let flat = Contract { terms: ContractTerms::FlatFee, ..c };
        assert!(quota_status(&flat, &[], date!(2026 - 03 - 01), 2).is_none());
    }
}

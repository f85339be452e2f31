//! Contracts: kinds and their terms, billing periods, fee timing, coverage.
//!
//! - `time_and_material`: no fee; billable work at resolved rates.
//! - `flat_fee`: a fee per period; covered work is not billed (its value counts against
//!   the fee for profitability), uncovered work and material is billed on top in the same
//!   document.
//! - `prepaid_hours`: the fee includes a quota of hours per period, consumed
//!   chronologically by rounded minutes, with carry-over and overage (see [`crate::quota`]).
//! - `prepaid_budget`: a prepaid amount per period drawn down by covered work at resolved
//!   rates; once exhausted, work is billed normally.
//!
//! Coverage: [`Coverage::AllWork`] covers every time booking; [`Coverage::Services`]
//! covers time bookings, expenses and custom-field quantities of the listed services.
//! Quotas and budgets are consumed by time bookings only; material and kilometres are
//! covered only by a flat fee that lists their service.

use crate::customer::str_enum;
use crate::period::{Period, PeriodKind};
use crate::rounding::RoundingRule;
use crate::serde_fmt;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::Date;

/// The four contract kinds (storage names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContractKind {
    /// Hourly billing, no fee.
    TimeAndMaterial,
    /// Pauschale / paušál.
    FlatFee,
    /// Kontingent / předplacené hodiny.
    PrepaidHours,
    /// Prepaid amount drawn down.
    PrepaidBudget,
}

str_enum!(ContractKind {
    TimeAndMaterial => "time_and_material",
    FlatFee => "flat_fee",
    PrepaidHours => "prepaid_hours",
    PrepaidBudget => "prepaid_budget",
});

/// When a period's fee is invoiced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FeeTiming {
    /// Due at period start: billed by the first run whose period end is on or after it.
    InAdvance,
    /// Due at period end: billed by the first run whose period end is on or after the
    /// period's last day.
    InArrears,
}

str_enum!(FeeTiming { InAdvance => "in_advance", InArrears => "in_arrears" });

/// Which positions a contract covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "service_ids", rename_all = "snake_case")]
pub enum Coverage {
    /// Every time booking (not material, not custom-field quantities).
    AllWork,
    /// Positions of the listed services.
    Services(Vec<i64>),
}

impl Coverage {
    /// Whether a position of `service_id` is covered; `is_time` for time bookings.
    pub fn covers(&self, service_id: i64, is_time: bool) -> bool {
        match self {
            Coverage::AllWork => is_time,
            Coverage::Services(list) => list.contains(&service_id),
        }
    }

    /// Whether the service is named explicitly (more specific than "all work").
    pub fn lists(&self, service_id: i64) -> bool {
        matches!(self, Coverage::Services(list) if list.contains(&service_id))
    }
}

/// What happens to an unused quota at period end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum CarryOver {
    /// Unused quota lapses.
    None,
    /// Unused quota is carried into the next period.
    Carry {
        /// Maximum carried into a period (hours for prepaid hours, money for budgets);
        /// when exceeded, the oldest carried amounts lapse first.
        cap: Option<Decimal>,
        /// Carried amounts lapse after this many periods after the period they were
        /// granted for (1 = usable in the following period only); `None` = never.
        expiry_periods: Option<u32>,
    },
}

/// One overage price band, in order: applies to the period's overage hours up to
/// `up_to_hours` (cumulative over the bands); the last band is open-ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverageTier {
    /// Cumulative overage hours in the period up to which this price applies;
    /// `None` = no limit. Overage beyond the last band is billed at its price.
    pub up_to_hours: Option<Decimal>,
    /// Hourly price of the band.
    pub unit_price: Decimal,
}

/// How hours beyond a prepaid quota are billed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "tiers", rename_all = "snake_case")]
pub enum Overage {
    /// At the rate resolved for each booking.
    ResolvedRates,
    /// At contract tiers (no surcharges).
    Tiers(Vec<OverageTier>),
}

/// Kind-specific terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContractTerms {
    /// Hourly billing, no fee.
    TimeAndMaterial,
    /// Covered work is included in the fee.
    FlatFee,
    /// The fee includes `hours_per_period` of covered work per period.
    PrepaidHours {
        /// Quota per full period.
        hours_per_period: Decimal,
        /// Carry-over of unused hours.
        carry_over: CarryOver,
        /// Pricing of hours beyond the quota.
        overage: Overage,
    },
    /// The customer prepays `budget_per_period` which covered work draws down.
    PrepaidBudget {
        /// Budget per full period (invoice currency).
        budget_per_period: Decimal,
        /// Carry-over of unused budget.
        carry_over: CarryOver,
    },
}

/// A customer contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    /// Contract id.
    pub id: i64,
    /// Customer the contract belongs to.
    pub customer_id: i64,
    /// Contract number, printed on lines.
    pub number: String,
    /// Contract name.
    pub name: String,
    /// First day of the contract.
    #[serde(with = "serde_fmt::date")]
    pub start: Date,
    /// Last day of the contract (inclusive); `None` = open-ended.
    #[serde(with = "serde_fmt::date::option", default)]
    pub end_date: Option<Date>,
    /// Billing period.
    pub period: PeriodKind,
    /// When fees are invoiced.
    pub fee_timing: FeeTiming,
    /// Fee per full period (invoice currency); zero for time and material.
    pub fee: Decimal,
    /// VAT rate of the fee in percent (domestic).
    pub fee_vat_rate: Decimal,
    /// Covered positions.
    pub coverage: Coverage,
    /// Rounding rule overriding the customer's.
    pub rounding: Option<RoundingRule>,
    /// Whether the contract gets an invoice of its own.
    pub separate_invoice: bool,
    /// Quota usage thresholds in percent to report, e.g. `[80, 100]`.
    pub quota_thresholds: Vec<u32>,
    /// Kind-specific terms.
    pub terms: ContractTerms,
}

impl Contract {
    /// The storage name of the kind.
    pub fn kind(&self) -> ContractKind {
        match self.terms {
            ContractTerms::TimeAndMaterial => ContractKind::TimeAndMaterial,
            ContractTerms::FlatFee => ContractKind::FlatFee,
            ContractTerms::PrepaidHours { .. } => ContractKind::PrepaidHours,
            ContractTerms::PrepaidBudget { .. } => ContractKind::PrepaidBudget,
        }
    }

    /// Whether the contract is active on `date`.
    pub fn active_on(&self, date: Date) -> bool {
        self.start <= date && self.end_date.is_none_or(|e| date <= e)
    }

    /// Whether the contract is active on any day of `period`.
    pub fn active_in(&self, period: &Period) -> bool {
        period.active_days(self.start, self.end_date) > 0
    }

    /// Quota per full period in ledger units (minutes for prepaid hours, money for
    /// budgets) with its carry-over policy; `None` for kinds without quota.
    pub fn quota(&self) -> Option<(Decimal, &CarryOver)> {
        match &self.terms {
            ContractTerms::PrepaidHours { hours_per_period, carry_over, .. } => {
                Some((hours_per_period.checked_mul(Decimal::from(60))?, carry_over))
            }
            ContractTerms::PrepaidBudget { budget_per_period, carry_over } => Some((*budget_per_period, carry_over)),
            _ => None,
        }
    }

    /// Checks the terms for values the engine cannot bill with; the message says why.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(end) = self.end_date {
            if end < self.start {
                return Err(format!("contract {} ends before it starts", self.number));
            }
        }
        if self.fee.is_sign_negative() {
            return Err(format!("contract {} has a negative fee", self.number));
        }
        match &self.terms {
            ContractTerms::PrepaidHours { hours_per_period: q, carry_over, overage } => {
                if q.is_sign_negative() {
                    return Err(format!("contract {} has a negative quota", self.number));
                }
                check_carry(self, carry_over)?;
                if let Overage::Tiers(t) = overage {
                    if t.iter()
                        .any(|t| t.unit_price.is_sign_negative() || t.up_to_hours.is_some_and(|h| h.is_sign_negative()))
                    {
                        return Err(format!("contract {} has a negative overage tier", self.number));
                    }
                }
            }
            ContractTerms::PrepaidBudget { budget_per_period: b, carry_over } => {
                if b.is_sign_negative() {
                    return Err(format!("contract {} has a negative budget", self.number));
                }
                check_carry(self, carry_over)?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn check_carry(c: &Contract, carry: &CarryOver) -> Result<(), String> {
    match carry {
        CarryOver::Carry { cap: Some(cap), .. } if cap.is_sign_negative() => {
            Err(format!("contract {} has a negative carry-over cap", c.number))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn contract(terms: ContractTerms) -> Contract {
        Contract {
            id: 1,
            customer_id: 1,
            number: "V-1".into(),
            name: "Support".into(),
            start: date!(2026 - 01 - 01),
            end_date: Some(date!(2026 - 12 - 31)),
            period: PeriodKind::Monthly,
            fee_timing: FeeTiming::InAdvance,
            fee: Decimal::from(800),
            fee_vat_rate: Decimal::from(19),
            coverage: Coverage::AllWork,
            rounding: None,
            separate_invoice: false,
            quota_thresholds: vec![80, 100],
            terms,
        }
    }

    #[test]
    fn contract_end_date_is_the_last_active_day() {
        let c = contract(ContractTerms::FlatFee);
        assert!(c.active_on(date!(2026 - 12 - 31)));
        assert!(!c.active_on(date!(2027 - 01 - 01)));
        assert!(!c.active_on(date!(2025 - 12 - 31)));
        assert_eq!(c.kind().as_str(), "flat_fee");
    }

    #[test]
    fn all_work_covers_time_but_not_material_while_a_service_list_covers_listed_material() {
        assert!(Coverage::AllWork.covers(7, true));
        assert!(!Coverage::AllWork.covers(7, false));
        let list = Coverage::Services(vec![7]);
        assert!(list.covers(7, false));
        assert!(!list.covers(8, true));
    }

    #[test]
    fn prepaid_quota_is_kept_in_minutes() {
        let c = contract(ContractTerms::PrepaidHours {
            hours_per_period: Decimal::from(10),
            carry_over: CarryOver::None,
            overage: Overage::ResolvedRates,
        });
        assert_eq!(c.quota().map(|q| q.0), Some(Decimal::from(600)));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn negative_quota_or_inverted_dates_are_rejected() {
        let mut c = contract(ContractTerms::PrepaidBudget {
            budget_per_period: Decimal::from(-1),
            carry_over: CarryOver::None,
        });
        assert!(c.validate().is_err());
        c.terms = ContractTerms::FlatFee;
        c.end_date = Some(date!(2025 - 01 - 01));
        assert!(c.validate().is_err());
    }
}

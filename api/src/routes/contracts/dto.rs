//! The wire shapes of contracts: what a client sends (`ContractCreate`, `ContractPatch`
//! and their parts: carry-over, overage tiers, rounding) and what it gets back
//! (`ContractOut`, shown from the stored contract).

use super::builder::has_quota;
use crate::dto::date_text;
use crate::dto::{double_option, timestamp, DecimalString};
use crate::pagination::list_response;
use domain::contract::{CarryOver, ContractKind, ContractTerms, Coverage, FeeTiming, Overage};
use domain::period::PeriodKind;
use domain::rounding::RoundingMode;
use persistence::contracts::StoredContract;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

fn valid_number(s: &str) -> Result<(), ValidationError> {
    if s.trim().bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)) {
        Ok(())
    } else {
        let mut err = ValidationError::new("format");
        err.message = Some("may contain only letters, digits and - _ . /".into());
        Err(err)
    }
}

/// What happens to an unused quota or budget at period end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CarryPolicy {
    /// Unused quota lapses.
    None,
    /// Unused quota is carried into the next period.
    Carry,
}

/// Carry-over of unused prepaid hours or budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarryOverDto {
    pub policy: CarryPolicy,
    /// `carry` only: most carried into a period (hours for prepaid hours, money for
    /// budgets; > 0); the oldest carried amounts lapse first. Absent: no cap.
    #[schema(value_type = Option<String>, example = "5")]
    pub cap: Option<DecimalString>,
    /// `carry` only: carried amounts lapse this many periods after the period they were
    /// granted for (1 = usable in the next period only; 1–120). Absent: never.
    #[schema(example = 3)]
    pub expiry_periods: Option<i64>,
}

/// How hours beyond the prepaid quota are billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverageType {
    /// At the rate resolved for each booking.
    ResolvedRates,
    /// At the contract's tiers.
    Tiers,
}

/// One overage price band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierDto {
    /// Overage hours in the period (cumulative over the tiers) up to which this price
    /// applies; increasing from tier to tier. `null` only for the last tier, which in
    /// any case prices all overage beyond the previous tiers.
    #[schema(value_type = Option<String>, example = "5")]
    pub up_to_hours: Option<DecimalString>,
    /// Price per hour (≥ 0) in the customer's currency.
    #[schema(value_type = String, example = "90.00")]
    pub unit_price: DecimalString,
}

/// Overage pricing of a prepaid-hours contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverageDto {
    #[serde(rename = "type")]
    pub overage_type: OverageType,
    /// `tiers` only: 1–10 price bands in order.
    pub tiers: Option<Vec<TierDto>>,
}

/// A rounding rule overriding the customer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundingDto {
    /// Increment in minutes, 0–1440 (0 or 1: minute-exact).
    #[schema(example = 15)]
    pub increment_minutes: i64,
    /// Minimum billable minutes of a booking, 0–1440.
    #[schema(example = 15)]
    pub minimum_minutes: i64,
    pub mode: RoundingMode,
}

/// A contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractOut {
    pub id: i64,
    pub customer_id: i64,
    /// Contract number; `V-<year>-<0001>` per year unless given.
    #[schema(example = "V-2026-0001")]
    pub number: String,
    #[schema(example = "Support 10 h")]
    pub name: String,
    pub kind: ContractKind,
    /// The customer's currency: fee, budget, caps of budgets and tier prices are in it.
    #[schema(example = "EUR")]
    pub currency: String,
    #[schema(value_type = String, format = Date, example = "2026-01-01")]
    pub start_date: String,
    /// Last day (inclusive); `null` = open-ended.
    #[schema(value_type = Option<String>, format = Date, example = "2026-12-31")]
    pub end_date: Option<String>,
    pub billing_period: PeriodKind,
    pub fee_timing: FeeTiming,
    /// Fee per full period (pro-rated by days in partial periods); `"0"` for time and material.
    #[schema(value_type = String, example = "800.00")]
    pub fee: DecimalString,
    /// VAT rate of the fee in percent.
    #[schema(value_type = String, example = "19")]
    pub fee_vat_rate: DecimalString,
    /// Whether every time booking is covered; otherwise `covered_service_ids` are.
    pub covers_all_work: bool,
    /// Covered services (time, expenses and custom-field quantities of these services).
    pub covered_service_ids: Vec<i64>,
    /// Whether the contract is invoiced on its own rather than with the customer's other positions.
    pub separate_invoice: bool,
    /// Quota usage in percent at which `contract.quota_threshold` events are emitted
    /// (prepaid kinds; `null` otherwise).
    pub quota_thresholds: Option<Vec<u32>>,
    /// Rounding rule overriding the customer's; `null` = the customer's rule.
    pub rounding: Option<RoundingDto>,
    /// Prepaid hours per full period (`prepaid_hours` only).
    #[schema(value_type = Option<String>, example = "10")]
    pub hours_per_period: Option<DecimalString>,
    /// Prepaid amount per full period (`prepaid_budget` only).
    #[schema(value_type = Option<String>)]
    pub budget_per_period: Option<DecimalString>,
    /// Carry-over of unused quota or budget (prepaid kinds only).
    pub carry_over: Option<CarryOverDto>,
    /// Overage pricing (`prepaid_hours` only).
    pub overage: Option<OverageDto>,
    /// The buyer's order reference (purchase order number; e-invoices carry it as BT-13) the
    /// contract's drafts take; a draft may change its own (`PATCH /invoices/{id}`).
    pub order_reference: Option<String>,
    /// Archived contracts are hidden from default lists and read-only until restored.
    pub archived: bool,
    pub archived_at: Option<String>,
    /// Increases with every change; the `ETag` carries it.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// The carry-over rule on the wire; `money` is the currency of a budget's cap (hours
/// otherwise).
fn carry_out(c: &CarryOver, money: Option<domain::Currency>) -> CarryOverDto {
    match c {
        CarryOver::None => CarryOverDto { policy: CarryPolicy::None, cap: None, expiry_periods: None },
        CarryOver::Carry { cap, expiry_periods } => CarryOverDto {
            policy: CarryPolicy::Carry,
            cap: cap.map(|cap| match money {
                Some(currency) => DecimalString::money(cap, currency),
                None => DecimalString(cap),
            }),
            expiry_periods: expiry_periods.map(i64::from),
        },
    }
}

impl From<StoredContract> for ContractOut {
    fn from(c: StoredContract) -> Self {
        let d = c.data;
        let kind = d.kind();
        let (hours, budget, carry, overage) = match &d.terms {
            ContractTerms::TimeAndMaterial | ContractTerms::FlatFee => (None, None, None, None),
            ContractTerms::PrepaidHours { hours_per_period, carry_over, overage } => (
                Some(DecimalString(*hours_per_period)),
                None,
                Some(carry_out(carry_over, None)),
                Some(match overage {
                    Overage::ResolvedRates => OverageDto { overage_type: OverageType::ResolvedRates, tiers: None },
                    Overage::Tiers(t) => OverageDto {
                        overage_type: OverageType::Tiers,
                        tiers: Some(
                            t.iter()
                                .map(|t| TierDto {
                                    up_to_hours: t.up_to_hours.map(DecimalString),
                                    unit_price: DecimalString::money(t.unit_price, c.currency),
                                })
                                .collect(),
                        ),
                    },
                }),
            ),
            ContractTerms::PrepaidBudget { budget_per_period, carry_over } => (
                None,
                Some(DecimalString::money(*budget_per_period, c.currency)),
                Some(carry_out(carry_over, Some(c.currency))),
                None,
            ),
        };
        let (covers_all_work, covered_service_ids) = match d.coverage {
            Coverage::AllWork => (true, vec![]),
            Coverage::Services(list) => (false, list),
        };
        ContractOut {
            id: c.id,
            customer_id: d.customer_id,
            number: d.number,
            name: d.name,
            kind,
            currency: c.currency.code().to_string(),
            start_date: date_text(d.start_date),
            end_date: d.end_date.map(date_text),
            billing_period: d.billing_period,
            fee_timing: d.fee_timing,
            fee: DecimalString::money(d.fee, c.currency),
            fee_vat_rate: DecimalString(d.fee_vat_rate),
            covers_all_work,
            covered_service_ids,
            separate_invoice: d.separate_invoice,
            quota_thresholds: has_quota(kind).then_some(d.quota_thresholds),
            rounding: d.rounding.map(|r| RoundingDto {
                increment_minutes: i64::from(r.increment_minutes),
                minimum_minutes: i64::from(r.minimum_minutes),
                mode: r.mode,
            }),
            hours_per_period: hours,
            budget_per_period: budget,
            carry_over: carry,
            overage,
            order_reference: d.order_reference.clone(),
            archived: c.archived_at.is_some(),
            archived_at: c.archived_at.as_ref().map(timestamp),
            version: c.version,
            created_at: timestamp(&c.created_at),
            updated_at: timestamp(&c.updated_at),
        }
    }
}

list_response!(ContractList, ContractOut, "A page of contracts, sorted by number.");

/// A new contract. Fields that do not apply to the kind are rejected (422 naming them).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractCreate {
    /// An active customer; fixed after creation.
    pub customer_id: i64,
    /// Contract number; assigned automatically (`V-2026-0001`, …) when absent.
    #[validate(length(min = 1, max = 32), custom(function = "valid_number"))]
    #[schema(min_length = 1, max_length = 32)]
    pub number: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    #[schema(example = "Support 10 h")]
    pub name: String,
    /// Fixed after creation.
    pub kind: ContractKind,
    #[schema(value_type = String, format = Date, example = "2026-01-01")]
    #[serde(deserialize_with = "crate::dto::business_date")]
    pub start_date: Date,
    /// Last day (inclusive), not before `start_date`; absent = open-ended.
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub end_date: Option<Date>,
    /// Default `monthly`.
    pub billing_period: Option<PeriodKind>,
    /// Default `in_advance`.
    pub fee_timing: Option<FeeTiming>,
    /// Fee per full period (decimal string). Required and > 0 for `flat_fee` and
    /// `prepaid_hours`; for `prepaid_budget` default the budget (≥ 0); absent or `"0"` for
    /// `time_and_material`.
    #[schema(value_type = Option<String>, example = "800.00")]
    pub fee: Option<DecimalString>,
    /// VAT rate of the fee in percent, 0–100; default 19.
    #[schema(value_type = Option<String>, example = "19")]
    pub fee_vat_rate: Option<DecimalString>,
    /// Default: true unless `covered_service_ids` are given.
    pub covers_all_work: Option<bool>,
    /// Covered services (existing, not archived), required when not covering all work.
    pub covered_service_ids: Option<Vec<i64>>,
    /// Default false.
    pub separate_invoice: Option<bool>,
    /// Prepaid kinds only: percents 1–200 (at most 10); default `[80, 100]`.
    pub quota_thresholds: Option<Vec<i64>>,
    /// Rounding rule overriding the customer's; absent = the customer's rule.
    pub rounding: Option<RoundingDto>,
    /// `prepaid_hours` only (required): hours per full period, > 0.
    #[schema(value_type = Option<String>, example = "10")]
    pub hours_per_period: Option<DecimalString>,
    /// `prepaid_budget` only (required): amount per full period, > 0.
    #[schema(value_type = Option<String>)]
    pub budget_per_period: Option<DecimalString>,
    /// Prepaid kinds only; default `{"policy": "none"}`.
    pub carry_over: Option<CarryOverDto>,
    /// `prepaid_hours` only; default `{"type": "resolved_rates"}`.
    pub overage: Option<OverageDto>,
    /// The buyer's order reference (purchase order number, BT-13) the contract's drafts
    /// take; at most 100 characters on one line.
    #[schema(max_length = 100)]
    pub order_reference: Option<String>,
}

/// Changes to a contract; absent fields stay. `customer_id` and `kind` cannot change
/// (422 `immutable` when sent with another value). `null` clears `end_date` and `rounding`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractPatch {
    /// Only the current value is accepted.
    pub customer_id: Option<i64>,
    /// Only the current value is accepted.
    pub kind: Option<ContractKind>,
    #[validate(length(min = 1, max = 32), custom(function = "valid_number"))]
    #[schema(min_length = 1, max_length = 32)]
    pub number: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub start_date: Option<Date>,
    #[serde(default, deserialize_with = "crate::dto::business_date_patch")]
    #[schema(value_type = Option<String>, format = Date)]
    pub end_date: Option<Option<Date>>,
    pub billing_period: Option<PeriodKind>,
    pub fee_timing: Option<FeeTiming>,
    /// For `prepaid_budget`, a fee that equalled the budget follows a budget change
    /// unless a fee is sent as well.
    #[schema(value_type = Option<String>)]
    pub fee: Option<DecimalString>,
    #[schema(value_type = Option<String>)]
    pub fee_vat_rate: Option<DecimalString>,
    pub covers_all_work: Option<bool>,
    /// Replaces the covered services.
    pub covered_service_ids: Option<Vec<i64>>,
    pub separate_invoice: Option<bool>,
    pub quota_thresholds: Option<Vec<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<RoundingDto>)]
    pub rounding: Option<Option<RoundingDto>>,
    #[schema(value_type = Option<String>)]
    pub hours_per_period: Option<DecimalString>,
    #[schema(value_type = Option<String>)]
    pub budget_per_period: Option<DecimalString>,
    /// Replaces the whole carry-over rule.
    pub carry_over: Option<CarryOverDto>,
    /// Replaces the whole overage rule.
    pub overage: Option<OverageDto>,
    /// `null` clears it; drafts made before keep theirs.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub order_reference: Option<Option<String>>,
}

//! Contracts: the four kinds, covered services, overage tiers, carry-over, fees.
//!
//! A contract says how a customer's work is billed: `time_and_material` (resolved rates,
//! no fee), `flat_fee` (a fee per period that includes the covered work),
//! `prepaid_hours` (the fee includes a quota of hours; carry-over and overage tiers) or
//! `prepaid_budget` (a prepaid amount drawn down at resolved rates). What is accepted here
//! is exactly what the billing engine bills with: every write is built into a
//! [`domain::contract::Contract`] and checked by its `validate()` as well.
//!
//! The billing office (admin, billing) maintains contracts; managers read them. API keys
//! have no access. Contracts are archived, never deleted; archived ones are read-only.

use crate::auth::Principal;
use crate::dto::date_text;
use crate::dto::{clean, double_option, timestamp, validate, DecimalString};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::routes::catalog::ArchiveFilter;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::contract::{CarryOver, ContractKind, ContractTerms, Coverage, FeeTiming, Overage, OverageTier};
use domain::period::PeriodKind;
use domain::rounding::{RoundingMode, RoundingRule};
use domain::Permission;
use persistence::contracts::{ContractData, ContractFilter, StoredContract};
use persistence::{PageRequest, StoreError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::Date;
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::{Validate, ValidationError};

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, archive, restore),
    tags((name = "contracts", description = "Customer contracts: time and material, flat fee, prepaid hours, prepaid budget (read: admin, billing, manager; write: admin, billing)"))
)]
pub struct Doc;

/// Money amounts (fees, budgets, tier prices) are below this and have at most 4 decimals.
const MAX_MONEY: i64 = 1_000_000_000;
const MONEY_SCALE: u32 = 4;
/// Hours (quota, caps, tier bounds) are below this and have at most 2 decimals.
const MAX_HOURS: i64 = 1_000_000;
const HOURS_SCALE: u32 = 2;
const VAT_SCALE: u32 = 2;
/// Default VAT rate of the fee in percent.
const DEFAULT_VAT_RATE: i64 = 19;
/// Default quota usage thresholds in percent.
const DEFAULT_THRESHOLDS: [u32; 2] = [80, 100];
const MAX_THRESHOLDS: usize = 10;
const MAX_THRESHOLD: i64 = 200;
const MAX_TIERS: usize = 10;
const MAX_SERVICES: usize = 200;
/// Rounding increments and minimums are at most a day.
const MAX_ROUNDING_MINUTES: i64 = 1440;
/// Carried amounts lapse after at most this many periods.
const MAX_EXPIRY_PERIODS: i64 = 120;

fn valid_number(s: &str) -> Result<(), ValidationError> {
    if s.trim().bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)) {
        Ok(())
    } else {
        let mut err = ValidationError::new("format");
        err.message = Some("may contain only letters, digits and - _ . /".into());
        Err(err)
    }
}

// ---- DTOs ----

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
}

// ---- building a contract from a request ----

/// The fields a write sends (`None` = not sent, keep or default).
#[derive(Debug, Default)]
struct Changes {
    number: Option<String>,
    name: Option<String>,
    start_date: Option<Date>,
    end_date: Option<Option<Date>>,
    billing_period: Option<PeriodKind>,
    fee_timing: Option<FeeTiming>,
    fee: Option<Decimal>,
    fee_vat_rate: Option<Decimal>,
    covers_all_work: Option<bool>,
    covered_service_ids: Option<Vec<i64>>,
    separate_invoice: Option<bool>,
    quota_thresholds: Option<Vec<i64>>,
    rounding: Option<Option<RoundingDto>>,
    hours_per_period: Option<Decimal>,
    budget_per_period: Option<Decimal>,
    carry_over: Option<CarryOverDto>,
    overage: Option<OverageDto>,
}

impl From<ContractCreate> for Changes {
    fn from(b: ContractCreate) -> Self {
        Changes {
            number: b.number,
            name: Some(b.name),
            start_date: Some(b.start_date),
            end_date: Some(b.end_date),
            billing_period: b.billing_period,
            fee_timing: b.fee_timing,
            fee: b.fee.map(|d| d.0),
            fee_vat_rate: b.fee_vat_rate.map(|d| d.0),
            covers_all_work: b.covers_all_work,
            covered_service_ids: b.covered_service_ids,
            separate_invoice: b.separate_invoice,
            quota_thresholds: b.quota_thresholds,
            rounding: b.rounding.map(Some),
            hours_per_period: b.hours_per_period.map(|d| d.0),
            budget_per_period: b.budget_per_period.map(|d| d.0),
            carry_over: b.carry_over,
            overage: b.overage,
        }
    }
}

impl From<ContractPatch> for Changes {
    fn from(b: ContractPatch) -> Self {
        Changes {
            number: b.number,
            name: b.name,
            start_date: b.start_date,
            end_date: b.end_date,
            billing_period: b.billing_period,
            fee_timing: b.fee_timing,
            fee: b.fee.map(|d| d.0),
            fee_vat_rate: b.fee_vat_rate.map(|d| d.0),
            covers_all_work: b.covers_all_work,
            covered_service_ids: b.covered_service_ids,
            separate_invoice: b.separate_invoice,
            quota_thresholds: b.quota_thresholds,
            rounding: b.rounding,
            hours_per_period: b.hours_per_period.map(|d| d.0),
            budget_per_period: b.budget_per_period.map(|d| d.0),
            carry_over: b.carry_over,
            overage: b.overage,
        }
    }
}

/// What the store knows about the services a write names: `None` unknown, `Some(archived)`.
type ServiceStates = HashMap<i64, Option<bool>>;

fn has_quota(kind: ContractKind) -> bool {
    matches!(kind, ContractKind::PrepaidHours | ContractKind::PrepaidBudget)
}

/// Limits of one kind of decimal amount.
#[derive(Clone, Copy)]
struct Amount {
    /// Whether zero is out of range.
    positive: bool,
    max: i64,
    scale: u32,
}

const MONEY: Amount = Amount { positive: false, max: MAX_MONEY, scale: MONEY_SCALE };
const POSITIVE_MONEY: Amount = Amount { positive: true, max: MAX_MONEY, scale: MONEY_SCALE };
const POSITIVE_HOURS: Amount = Amount { positive: true, max: MAX_HOURS, scale: HOURS_SCALE };

fn check_amount(field: &str, v: Decimal, rule: Amount, errors: &mut Vec<FieldError>) {
    if v.is_sign_negative() && !v.is_zero() {
        errors.push(FieldError::new(field, "range", "must not be negative"));
    } else if rule.positive && v.is_zero() {
        errors.push(FieldError::new(field, "range", "must be more than 0"));
    } else if v >= Decimal::from(rule.max) {
        errors.push(FieldError::new(field, "range", format!("must be less than {}", rule.max)));
    } else if v.normalize().scale() > rule.scale {
        errors.push(FieldError::new(field, "scale", format!("at most {} decimal places", rule.scale)));
    }
}

fn not_applicable(field: &str, kind: ContractKind) -> FieldError {
    FieldError::new(field, "not_applicable", format!("does not apply to a {kind} contract"))
}

fn required(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, "required", message)
}

/// Fields sent that do not fit the contract's kind.
fn kind_mismatches(kind: ContractKind, ch: &Changes) -> Vec<FieldError> {
    let mut e = Vec::new();
    if kind == ContractKind::TimeAndMaterial && ch.fee.is_some_and(|f| !f.is_zero()) {
        e.push(FieldError::new("fee", "not_applicable", "a time-and-material contract has no fee"));
    }
    if kind != ContractKind::PrepaidHours {
        if ch.hours_per_period.is_some() {
            e.push(not_applicable("hours_per_period", kind));
        }
        if ch.overage.is_some() {
            e.push(not_applicable("overage", kind));
        }
    }
    if kind != ContractKind::PrepaidBudget && ch.budget_per_period.is_some() {
        e.push(not_applicable("budget_per_period", kind));
    }
    if !has_quota(kind) {
        if ch.carry_over.is_some() {
            e.push(not_applicable("carry_over", kind));
        }
        if ch.quota_thresholds.as_ref().is_some_and(|t| !t.is_empty()) {
            e.push(not_applicable("quota_thresholds", kind));
        }
    }
    e
}

fn carry_over(dto: &CarryOverDto, cap_rule: Amount, errors: &mut Vec<FieldError>) -> CarryOver {
    match dto.policy {
        CarryPolicy::None => {
            if dto.cap.is_some() {
                errors.push(FieldError::new("carry_over.cap", "not_applicable", "only with policy `carry`"));
            }
            if dto.expiry_periods.is_some() {
                errors.push(FieldError::new("carry_over.expiry_periods", "not_applicable", "only with policy `carry`"));
            }
            CarryOver::None
        }
        CarryPolicy::Carry => {
            if let Some(cap) = dto.cap {
                check_amount("carry_over.cap", cap.0, cap_rule, errors);
            }
            let expiry = match dto.expiry_periods {
                None => None,
                Some(n) => match u32::try_from(n).ok().filter(|n| (1..=MAX_EXPIRY_PERIODS).contains(&i64::from(*n))) {
                    Some(n) => Some(n),
                    None => {
                        errors.push(FieldError::new(
                            "carry_over.expiry_periods",
                            "range",
                            format!("must be from 1 to {MAX_EXPIRY_PERIODS}"),
                        ));
                        None
                    }
                },
            };
            CarryOver::Carry { cap: dto.cap.map(|d| d.0), expiry_periods: expiry }
        }
    }
}

fn overage(dto: &OverageDto, errors: &mut Vec<FieldError>) -> Overage {
    match dto.overage_type {
        OverageType::ResolvedRates => {
            if dto.tiers.as_ref().is_some_and(|t| !t.is_empty()) {
                errors.push(FieldError::new("overage.tiers", "not_applicable", "only with type `tiers`"));
            }
            Overage::ResolvedRates
        }
        OverageType::Tiers => {
            let tiers = dto.tiers.as_deref().unwrap_or_default();
            if tiers.is_empty() {
                errors.push(required("overage.tiers", "name at least one price tier"));
            } else if tiers.len() > MAX_TIERS {
                errors.push(FieldError::new("overage.tiers", "length", format!("at most {MAX_TIERS} tiers")));
            }
            let mut previous: Option<Decimal> = None;
            for (i, t) in tiers.iter().enumerate() {
                let path = format!("overage.tiers[{i}]");
                check_amount(&format!("{path}.unit_price"), t.unit_price.0, MONEY, errors);
                match t.up_to_hours {
                    None if i + 1 < tiers.len() => errors.push(required(
                        &format!("{path}.up_to_hours"),
                        "only the last tier may be open-ended (`null`)",
                    )),
                    None => {}
                    Some(h) => {
                        let field = format!("{path}.up_to_hours");
                        let before = errors.len();
                        check_amount(&field, h.0, POSITIVE_HOURS, errors);
                        if errors.len() == before && previous.is_some_and(|p| h.0 <= p) {
                            errors.push(FieldError::new(
                                field,
                                "order",
                                "must be larger than the previous tier's up_to_hours (tiers are cumulative)",
                            ));
                        }
                        previous = Some(h.0);
                    }
                }
            }
            Overage::Tiers(
                tiers
                    .iter()
                    .map(|t| OverageTier { up_to_hours: t.up_to_hours.map(|d| d.0), unit_price: t.unit_price.0 })
                    .collect(),
            )
        }
    }
}

fn rounding(dto: &RoundingDto, errors: &mut Vec<FieldError>) -> Option<RoundingRule> {
    let minutes = |field: &str, v: i64, errors: &mut Vec<FieldError>| {
        let ok = u32::try_from(v).ok().filter(|v| i64::from(*v) <= MAX_ROUNDING_MINUTES);
        if ok.is_none() {
            errors.push(FieldError::new(field, "range", format!("must be from 0 to {MAX_ROUNDING_MINUTES}")));
        }
        ok
    };
    let inc = minutes("rounding.increment_minutes", dto.increment_minutes, errors);
    let min = minutes("rounding.minimum_minutes", dto.minimum_minutes, errors);
    Some(RoundingRule { increment_minutes: inc?, minimum_minutes: min?, mode: dto.mode })
}

fn thresholds(raw: &[i64], errors: &mut Vec<FieldError>) -> Vec<u32> {
    if raw.len() > MAX_THRESHOLDS {
        errors.push(FieldError::new("quota_thresholds", "length", format!("at most {MAX_THRESHOLDS} thresholds")));
    }
    let mut out = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        match u32::try_from(*t).ok().filter(|t| (1..=MAX_THRESHOLD).contains(&i64::from(*t))) {
            Some(t) => out.push(t),
            None => errors.push(FieldError::new(
                format!("quota_thresholds[{i}]"),
                "range",
                format!("must be a percentage from 1 to {MAX_THRESHOLD}"),
            )),
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn coverage(
    ch: &Changes,
    base: Option<&ContractData>,
    services: &ServiceStates,
    errors: &mut Vec<FieldError>,
) -> Coverage {
    let listed = ch.covered_service_ids.as_ref();
    let cov = match (ch.covers_all_work, listed) {
        (Some(true), Some(l)) if !l.is_empty() => {
            errors.push(FieldError::new(
                "covered_service_ids",
                "not_applicable",
                "leave empty when `covers_all_work` is true",
            ));
            Coverage::AllWork
        }
        (Some(true), _) => Coverage::AllWork,
        (Some(false), Some(l)) | (None, Some(l)) => Coverage::Services(l.clone()),
        (Some(false), None) => match base.map(|b| &b.coverage) {
            Some(Coverage::Services(l)) => Coverage::Services(l.clone()),
            _ => Coverage::Services(vec![]),
        },
        (None, None) => base.map_or(Coverage::AllWork, |b| b.coverage.clone()),
    };
    if let Coverage::Services(list) = &cov {
        if list.is_empty() {
            errors.push(required("covered_service_ids", "name the covered services, or set `covers_all_work` to true"));
        } else if list.len() > MAX_SERVICES {
            errors.push(FieldError::new("covered_service_ids", "length", format!("at most {MAX_SERVICES} services")));
        }
        let already = match base.map(|b| &b.coverage) {
            Some(Coverage::Services(l)) => l.as_slice(),
            _ => &[],
        };
        // Only a list sent with this write is checked (a kept list was checked when sent).
        let sent = if listed.is_some() { list.as_slice() } else { &[] };
        for (i, id) in sent.iter().enumerate().take(MAX_SERVICES) {
            match services.get(id).copied().flatten() {
                None => errors.push(FieldError::new(
                    format!("covered_service_ids[{i}]"),
                    "unknown_reference",
                    format!("no such service: {id}"),
                )),
                // Covering an archived service is kept, but not newly added.
                Some(true) if !already.contains(id) => errors.push(FieldError::new(
                    format!("covered_service_ids[{i}]"),
                    "archived",
                    format!("service {id} is archived"),
                )),
                Some(_) => {}
            }
        }
        let mut unique = list.clone();
        unique.sort_unstable();
        unique.dedup();
        return Coverage::Services(unique);
    }
    cov
}

/// Builds the contract a write results in: `base` is the stored contract (PATCH) or
/// `None` (POST, defaults apply). Every problem is reported per field.
fn build(
    kind: ContractKind,
    customer_id: i64,
    base: Option<&ContractData>,
    ch: Changes,
    services: &ServiceStates,
) -> Result<ContractData, Vec<FieldError>> {
    let mut errors = kind_mismatches(kind, &ch);

    // A blank number on creation asks for the automatic one; a number cannot be removed.
    let number = match &ch.number {
        Some(n) => n.trim().to_string(),
        None => base.map(|b| b.number.clone()).unwrap_or_default(),
    };
    if base.is_some() && number.is_empty() {
        errors.push(required("number", "a contract keeps a number; send another one to change it"));
    }
    let name = match &ch.name {
        Some(n) => n.trim().to_string(),
        None => base.map(|b| b.name.clone()).unwrap_or_default(),
    };
    if name.is_empty() {
        errors.push(required("name", "must not be blank"));
    }
    let Some(start_date) = ch.start_date.or(base.map(|b| b.start_date)) else {
        errors.push(required("start_date", "the first day of the contract is required"));
        return Err(errors);
    };
    let end_date = match ch.end_date {
        Some(e) => e,
        None => base.and_then(|b| b.end_date),
    };
    if end_date.is_some_and(|e| e < start_date) {
        let field = if ch.end_date.is_some() { "end_date" } else { "start_date" };
        errors.push(FieldError::new(
            field,
            "range",
            "the contract must not end before it starts (end_date ≥ start_date)",
        ));
    }
    let fee_vat_rate = ch.fee_vat_rate.or(base.map(|b| b.fee_vat_rate)).unwrap_or(Decimal::from(DEFAULT_VAT_RATE));
    if fee_vat_rate.is_sign_negative() || fee_vat_rate > Decimal::ONE_HUNDRED {
        errors.push(FieldError::new("fee_vat_rate", "range", "must be a percentage from 0 to 100"));
    } else if fee_vat_rate.normalize().scale() > VAT_SCALE {
        errors.push(FieldError::new("fee_vat_rate", "scale", format!("at most {VAT_SCALE} decimal places")));
    }

    // Kind-specific terms; kept from the stored contract unless sent.
    let (base_hours, base_budget, base_carry, base_overage) = match base.map(|b| &b.terms) {
        Some(ContractTerms::PrepaidHours { hours_per_period, carry_over, overage }) => {
            (Some(*hours_per_period), None, Some(carry_over.clone()), Some(overage.clone()))
        }
        Some(ContractTerms::PrepaidBudget { budget_per_period, carry_over }) => {
            (None, Some(*budget_per_period), Some(carry_over.clone()), None)
        }
        _ => (None, None, None, None),
    };
    let carry = |cap_rule: Amount, errors: &mut Vec<FieldError>| match &ch.carry_over {
        Some(dto) => carry_over(dto, cap_rule, errors),
        None => base_carry.clone().unwrap_or(CarryOver::None),
    };
    let terms = match kind {
        ContractKind::TimeAndMaterial => ContractTerms::TimeAndMaterial,
        ContractKind::FlatFee => ContractTerms::FlatFee,
        ContractKind::PrepaidHours => {
            let hours = ch.hours_per_period.or(base_hours);
            match hours {
                Some(h) => check_amount("hours_per_period", h, POSITIVE_HOURS, &mut errors),
                None => errors.push(required("hours_per_period", "the hours included per period are required")),
            }
            let carry_over = carry(POSITIVE_HOURS, &mut errors);
            let overage = match &ch.overage {
                Some(dto) => overage(dto, &mut errors),
                None => base_overage.unwrap_or(Overage::ResolvedRates),
            };
            ContractTerms::PrepaidHours { hours_per_period: hours.unwrap_or_default(), carry_over, overage }
        }
        ContractKind::PrepaidBudget => {
            let budget = ch.budget_per_period.or(base_budget);
            match budget {
                Some(b) => check_amount("budget_per_period", b, POSITIVE_MONEY, &mut errors),
                None => errors.push(required("budget_per_period", "the prepaid amount per period is required")),
            }
            let carry_over = carry(POSITIVE_MONEY, &mut errors);
            ContractTerms::PrepaidBudget { budget_per_period: budget.unwrap_or_default(), carry_over }
        }
    };

    let fee = match kind {
        ContractKind::TimeAndMaterial => Decimal::ZERO,
        ContractKind::FlatFee | ContractKind::PrepaidHours => match ch.fee.or(base.map(|b| b.fee)) {
            Some(f) => {
                check_amount("fee", f, POSITIVE_MONEY, &mut errors);
                f
            }
            None => {
                errors.push(required("fee", format!("a {kind} contract needs a fee per period")));
                Decimal::ZERO
            }
        },
        ContractKind::PrepaidBudget => {
            let budget = match &terms {
                ContractTerms::PrepaidBudget { budget_per_period, .. } => *budget_per_period,
                _ => Decimal::ZERO,
            };
            let f = match (ch.fee, base) {
                (Some(f), _) => f,
                // A fee that was the budget follows the budget.
                (None, Some(b)) if Some(b.fee) != base_budget => b.fee,
                _ => budget,
            };
            check_amount("fee", f, MONEY, &mut errors);
            f
        }
    };

    let coverage = coverage(&ch, base, services, &mut errors);
    let quota_thresholds = if has_quota(kind) {
        match &ch.quota_thresholds {
            Some(raw) => thresholds(raw, &mut errors),
            None => base.map_or(DEFAULT_THRESHOLDS.to_vec(), |b| b.quota_thresholds.clone()),
        }
    } else {
        vec![]
    };
    let rounding = match &ch.rounding {
        Some(Some(dto)) => rounding(dto, &mut errors),
        Some(None) => None,
        None => base.and_then(|b| b.rounding),
    };

    if !errors.is_empty() {
        return Err(errors);
    }
    let data = ContractData {
        customer_id,
        number,
        name,
        start_date,
        end_date,
        billing_period: ch.billing_period.or(base.map(|b| b.billing_period)).unwrap_or(PeriodKind::Monthly),
        fee_timing: ch.fee_timing.or(base.map(|b| b.fee_timing)).unwrap_or(FeeTiming::InAdvance),
        fee,
        fee_vat_rate,
        coverage,
        separate_invoice: ch.separate_invoice.or(base.map(|b| b.separate_invoice)).unwrap_or(false),
        quota_thresholds,
        rounding,
        terms,
    };
    // The engine's own check: whatever it would refuse to bill is refused here too.
    if let Err(msg) = data.to_domain(0).validate() {
        return Err(vec![FieldError::new("body", "invalid", msg)]);
    }
    Ok(data)
}

fn invalid(mut errors: Vec<FieldError>) -> ApiError {
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors.dedup();
    ApiError::Validation(errors)
}

/// Looks up the services a write names (ids ≤ 0 are unknown without asking).
async fn service_states(state: &AppState, ids: Option<&Vec<i64>>) -> Result<ServiceStates, ApiError> {
    let mut out = ServiceStates::new();
    // Longer lists are refused by `build` without asking the store about each id.
    for id in ids.into_iter().flatten().take(MAX_SERVICES) {
        if out.contains_key(id) {
            continue;
        }
        let known = if *id > 0 { state.store.find_service(*id).await?.map(|s| s.is_archived()) } else { None };
        out.insert(*id, known);
    }
    Ok(out)
}

// ---- handlers ----

/// Query of the contract list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContractQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
    /// Only this customer's contracts.
    pub customer_id: Option<i64>,
    #[param(inline)]
    pub kind: Option<ContractKind>,
    /// Only contracts active on this day (`YYYY-MM-DD`): started, and not ended before it.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub active_on: Option<Date>,
    /// Case-insensitive search in number and name.
    pub q: Option<String>,
    /// `active` (default), `archived` or `all`.
    #[param(inline)]
    pub status: Option<ArchiveFilter>,
}

fn contract_response(status: StatusCode, c: StoredContract) -> HttpResponse {
    versioned(status, "contract", c.id, c.version, ContractOut::from(c))
}

fn store_problem(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::NotFound("contract".into()),
        StoreError::Duplicate(_) => ApiError::Conflict("another contract already uses this `number`".into()),
        other => other.into(),
    }
}

/// List contracts, sorted by number.
///
/// Keyset-paginated: pass `next_cursor` back as `cursor` with the same filters.
/// Archived contracts are left out unless `status=archived` or `status=all`.
#[utoipa::path(operation_id = "list_contracts", get, path = "/api/v1/contracts", tag = "contracts", params(ContractQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContractList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<ContractQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let q = q.0;
    let filter = ContractFilter {
        customer_id: q.customer_id,
        kind: q.kind,
        active_on: q.active_on,
        search: clean(q.q.as_deref()),
        archived_only: q.status.unwrap_or_default().archived_only(),
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<(String, i64)>(q.cursor.as_deref())? };
    let page = state.store.list_contracts(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(ContractList {
        items: page.items.into_iter().map(ContractOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Create a contract (admin, billing).
///
/// Example: prepaid 10 h per month for 800.00, unused hours carried (at most 5 h),
/// overage at 90.00 for the first 5 h and 110.00 beyond:
/// `{"customer_id": 1, "name": "Support 10 h", "kind": "prepaid_hours", "start_date": "2026-01-01",
/// "fee": "800.00", "hours_per_period": "10", "carry_over": {"policy": "carry", "cap": "5"},
/// "overage": {"type": "tiers", "tiers": [{"up_to_hours": "5", "unit_price": "90.00"},
/// {"up_to_hours": null, "unit_price": "110.00"}]}}`.
#[utoipa::path(operation_id = "create_contract", post, path = "/api/v1/contracts", tag = "contracts", request_body = ContractCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body replay the first response; the same key with another body is 422")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ContractOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Number taken", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, fields that do not fit the kind, unknown customer or service (see `errors`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ContractCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let b = body.into_inner()?;
    let mut errors = Vec::new();
    match if b.customer_id > 0 { state.store.customer_ref(b.customer_id).await? } else { None } {
        None => errors.push(FieldError::new("customer_id", "unknown_reference", "no such customer")),
        Some(true) => errors.push(FieldError::new("customer_id", "archived", "the customer is archived")),
        Some(false) => {}
    }
    let services = service_states(&state, b.covered_service_ids.as_ref()).await?;
    if let Err(e) = b.validate() {
        errors.extend(crate::dto::validation_errors(&e));
    }
    let (kind, customer_id) = (b.kind, b.customer_id);
    let data = match build(kind, customer_id, None, Changes::from(b), &services) {
        Ok(data) if errors.is_empty() => data,
        Ok(_) => return Err(invalid(errors)),
        Err(more) => {
            errors.extend(more);
            return Err(invalid(errors));
        }
    };
    let contract = state.store.create_contract(&data, &p.actor(&req)).await.map_err(store_problem)?;
    let location = format!("/api/v1/contracts/{}", contract.id);
    Ok(created_at(contract_response(StatusCode::CREATED, contract), &location))
}

/// Read a contract with its covered services and overage tiers (archived ones included).
#[utoipa::path(operation_id = "get_contract", get, path = "/api/v1/contracts/{id}", tag = "contracts", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContractOut, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let id = path_id(&req, "id")?;
    let contract = state.store.get_contract(id).await.map_err(store_problem)?;
    Ok(contract_response(StatusCode::OK, contract))
}

/// Change a contract (admin, billing). Send `If-Match` with the ETag you read; a stale one
/// is 412. Archived contracts are read-only (409).
#[utoipa::path(operation_id = "update_contract", patch, path = "/api/v1/contracts/{id}", tag = "contracts",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = ContractPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContractOut, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or number taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ContractPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let version = IfMatch::from_request(&req, "contract", id).version()?;
    // An archived customer is read-only, and so are its contracts.
    if let Some((customer, _)) = state.store.contract_ref(id).await? {
        if state.store.customer_ref(customer).await? == Some(true) {
            return Err(ApiError::Conflict(
                "the customer is archived; restore it before changing its contracts".into(),
            ));
        }
    }
    let services = service_states(&state, b.covered_service_ids.as_ref()).await?;
    let contract = state
        .store
        .update_contract(id, version, &p.actor(&req), |cur: &StoredContract| -> Result<ContractData, ApiError> {
            let c = &cur.data;
            let kind = c.kind();
            let mut errors = Vec::new();
            if b.customer_id.is_some_and(|v| v != c.customer_id) {
                errors.push(FieldError::new(
                    "customer_id",
                    "immutable",
                    "the customer of a contract cannot change; create a contract for the other customer",
                ));
            }
            if b.kind.is_some_and(|v| v != kind) {
                errors.push(FieldError::new(
                    "kind",
                    "immutable",
                    "the kind of a contract cannot change; end it and create a contract of the other kind",
                ));
            }
            match build(kind, c.customer_id, Some(c), Changes::from(b), &services) {
                Ok(data) if errors.is_empty() => Ok(data),
                Ok(_) => Err(invalid(errors)),
                Err(more) => {
                    errors.extend(more);
                    Err(invalid(errors))
                }
            }
        })
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("contract".into()),
            ApiError::Conflict(msg) if msg.contains("already uses") => {
                ApiError::Conflict("another contract already uses this `number`".into())
            }
            other => other,
        })?;
    Ok(contract_response(StatusCode::OK, contract))
}

/// Archive a contract ("delete", admin, billing). It stays readable — invoices and the
/// quota ledger refer to it — but is hidden from default lists, no longer billed by
/// invoice runs and read-only until restored. Idempotent.
#[utoipa::path(operation_id = "archive_contract", delete, path = "/api/v1/contracts/{id}", tag = "contracts",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Archived", body = ContractOut, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
pub async fn archive(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, true).await
}

/// Restore an archived contract (admin, billing). Idempotent.
#[utoipa::path(operation_id = "restore_contract", post, path = "/api/v1/contracts/{id}/restore", tag = "contracts",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Active again", body = ContractOut, headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")))]
pub async fn restore(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, false).await
}

async fn set_archived(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    archive: bool,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "contract", id).version()?;
    let contract =
        state.store.set_contract_archived(id, version, archive, &p.actor(&req)).await.map_err(store_problem)?;
    Ok(contract_response(StatusCode::OK, contract))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/contracts").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/contracts/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(archive)),
        )
        .service(web::resource("/contracts/{id}/restore").route(web::post().to(restore)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn changes(fee: Option<i64>) -> Changes {
        Changes {
            name: Some("Support".into()),
            start_date: Some(date!(2026 - 01 - 01)),
            fee: fee.map(Decimal::from),
            ..Changes::default()
        }
    }

    fn fields(r: Result<ContractData, Vec<FieldError>>) -> Vec<String> {
        let mut f: Vec<String> = r.err().unwrap_or_default().into_iter().map(|e| e.field).collect();
        f.sort();
        f
    }

    #[test]
    fn a_flat_fee_needs_a_positive_fee_and_time_and_material_none() {
        let none = ServiceStates::new();
        assert_eq!(fields(build(ContractKind::FlatFee, 1, None, changes(None), &none)), ["fee"]);
        assert_eq!(fields(build(ContractKind::FlatFee, 1, None, changes(Some(0)), &none)), ["fee"]);
        assert!(build(ContractKind::FlatFee, 1, None, changes(Some(500)), &none).is_ok());
        assert_eq!(fields(build(ContractKind::TimeAndMaterial, 1, None, changes(Some(5)), &none)), ["fee"]);
        let tm = build(ContractKind::TimeAndMaterial, 1, None, changes(Some(0)), &none).unwrap();
        assert_eq!(tm.fee, Decimal::ZERO);
        assert!(tm.quota_thresholds.is_empty());
    }

    #[test]
    fn a_prepaid_budget_fee_defaults_to_the_budget_and_follows_it_when_it_was_equal() {
        let none = ServiceStates::new();
        let ch = Changes { budget_per_period: Some(Decimal::from(1200)), ..changes(None) };
        let mut created = build(ContractKind::PrepaidBudget, 1, None, ch, &none).unwrap();
        created.number = "V-2026-0001".into();
        assert_eq!(created.fee, Decimal::from(1200));
        let ch = Changes { budget_per_period: Some(Decimal::from(1500)), ..Changes::default() };
        let changed = build(ContractKind::PrepaidBudget, 1, Some(&created), ch, &none).unwrap();
        assert_eq!(changed.fee, Decimal::from(1500));
        let ch = Changes { fee: Some(Decimal::from(100)), ..Changes::default() };
        let own_fee = build(ContractKind::PrepaidBudget, 1, Some(&changed), ch, &none).unwrap();
        let ch = Changes { budget_per_period: Some(Decimal::from(2000)), ..Changes::default() };
        let kept = build(ContractKind::PrepaidBudget, 1, Some(&own_fee), ch, &none).unwrap();
        assert_eq!(kept.fee, Decimal::from(100), "a fee of its own stays");
    }

    #[test]
    fn overage_tiers_must_increase_and_only_the_last_may_be_open() {
        let tier = |h: Option<&str>, p: &str| TierDto {
            up_to_hours: h.map(|h| DecimalString(h.parse().unwrap())),
            unit_price: DecimalString(p.parse().unwrap()),
        };
        let mut errors = Vec::new();
        let dto = OverageDto {
            overage_type: OverageType::Tiers,
            tiers: Some(vec![tier(Some("5"), "90"), tier(Some("5"), "100"), tier(None, "110"), tier(None, "120")]),
        };
        overage(&dto, &mut errors);
        let f: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(f, ["overage.tiers[1].up_to_hours", "overage.tiers[2].up_to_hours"]);
        let mut errors = Vec::new();
        let ok = OverageDto {
            overage_type: OverageType::Tiers,
            tiers: Some(vec![tier(Some("5"), "90"), tier(None, "110")]),
        };
        assert_eq!(
            overage(&ok, &mut errors),
            Overage::Tiers(vec![
                OverageTier { up_to_hours: Some(Decimal::from(5)), unit_price: Decimal::from(90) },
                OverageTier { up_to_hours: None, unit_price: Decimal::from(110) },
            ])
        );
        assert!(errors.is_empty());
    }
}

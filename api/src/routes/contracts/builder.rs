//! Building a contract from a write: the fields sent (`Changes`), merged with the stored
//! contract or the defaults, checked per field against the kind and the limits below,
//! the services it names looked up, and the result validated by the domain's contract.

use super::dto::{CarryOverDto, CarryPolicy, ContractCreate, ContractPatch, OverageDto, OverageType, RoundingDto};
use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use domain::contract::{CarryOver, ContractKind, ContractTerms, Coverage, FeeTiming, Overage, OverageTier};
use domain::period::PeriodKind;
use domain::rounding::RoundingRule;
use persistence::contracts::ContractData;
use rust_decimal::Decimal;
use std::collections::HashMap;
use time::Date;

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

/// The fields a write sends (`None` = not sent, keep or default).
#[derive(Debug, Default)]
pub(super) struct Changes {
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
    order_reference: Option<Option<String>>,
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
            order_reference: b.order_reference.map(Some),
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
            order_reference: b.order_reference,
        }
    }
}

/// What the store knows about the services a write names: `None` unknown, `Some(archived)`.
type ServiceStates = HashMap<i64, Option<bool>>;

pub(super) fn has_quota(kind: ContractKind) -> bool {
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
pub(super) fn build(
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

    let order_reference = match &ch.order_reference {
        Some(r) => crate::dto::order_reference(r.as_deref(), &mut errors),
        None => base.and_then(|b| b.order_reference.clone()),
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
        order_reference,
    };
    // The engine's own check: whatever it would refuse to bill is refused here too.
    if let Err(msg) = data.to_domain(0).validate() {
        return Err(vec![FieldError::new("body", "invalid", msg)]);
    }
    Ok(data)
}

pub(super) fn invalid(mut errors: Vec<FieldError>) -> ApiError {
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors.dedup();
    ApiError::Validation(errors)
}

/// Looks up the services a write names (ids ≤ 0 are unknown without asking).
pub(super) async fn service_states(state: &AppState, ids: Option<&Vec<i64>>) -> Result<ServiceStates, ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::DecimalString;
    use crate::routes::contracts::TierDto;
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

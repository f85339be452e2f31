//! The invoice engine: turns one customer's open positions, contracts, rates and quota
//! ledger into invoice proposals, quota-ledger entries, threshold crossings, blocking
//! problems and profitability figures.
//!
//! Entry points: [`compute_customer`] for one customer's input and [`compute_all`] /
//! [`Engine`] to run it over many customers (the caller streams one customer at a time;
//! [`BillingContext`] is shared and immutable, so customers can also be computed on
//! several threads).
//!
//! Rules applied, in order:
//! 1. Positions dated after the run's period end are ignored; bookings are processed in
//!    chronological order `(work date, start time, id)`.
//! 2. Each position gets a contract: the one it names (it must be active on the work
//!    date, else `outside_contract_period`), or else the customer's active contract that
//!    lists its service, then one covering all work, then any active one (lowest id).
//! 3. Bookings are rounded by the contract's rule, else the customer's.
//! 4. Contract kind decides: covered flat-fee work is not billed; prepaid hours consume
//!    the quota (overage at tiers or resolved rates); prepaid budgets are drawn down at
//!    resolved rates (a booking that does not fit is split at a whole minute, the part
//!    beyond billed normally); everything else is billed at the resolved rate.
//!    Work orders ([`Booking::covered_by_contract`], [`Booking::billed_as_extra`]): time of
//!    an order's execution is covered by its contract whatever the coverage says; extra
//!    work billed as time and material is billed at the resolved rate, never covered.
//! 5. Contract fees due by the run's period end are added (pro-rated by days for partial
//!    periods, see [`crate::period`]), and quota periods ending by it are closed — not in
//!    a partial run over one ticket or project ([`CustomerInput::partial`]).
//! 6. Lines are grouped per booking / ticket / service by the customer's
//!    [`InvoiceDetail`]; one proposal per customer plus one per separate-invoice
//!    contract. Line nets are rounded half-up to the minor unit, VAT per rate on the
//!    summed nets.
//!
//! Any blocking problem means the customer's run must not be committed; the affected
//! positions are left out of the proposals so the preview still shows the rest.
//!
//! Split runs: for time and material with per-booking detail, billing positions in two
//! runs gives the same net total as one run. Per-ticket/per-service lines round once per
//! line, so a split can differ by up to one minor unit per line (and VAT per invoice).
//! With contracts, split runs differ by design: fees and quota periods are per run
//! period, and a period closed by an earlier run no longer absorbs late bookings.

use crate::catalog::{Catalog, Unit};
use crate::contract::Contract;
use crate::currency::Currency;
use crate::customer::{str_enum, InvoiceDetail, VatTreatment};
use crate::money::{Totals, VatAmount};
use crate::period::Period;
use crate::position::{Booking, CustomFieldMapping, Expense, PositionRef};
use crate::quota::{QuotaEntry, QuotaSummary, ThresholdCrossing};
use crate::rates::{RateBook, RateContext, SurchargeKind, UserDirectory, WorkCalendar};
use crate::rounding::RoundingRule;
use crate::serde_fmt;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::Date;

// The implementation, by stage: `run` (one customer's state and the order of the stages),
// `collect` (rules 1–3), `price` (rate resolution and pricing at resolved rates),
// `contracts` (rules 4–5) and `assemble` (rule 6).
mod assemble;
mod collect;
mod contracts;
mod price;
mod run;

pub use collect::choose_contract;
use run::Run;

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

/// Data shared by all customers of a run (catalog, users, calendar, mappings).
#[derive(Debug, Clone)]
pub struct BillingContext {
    /// Service catalog.
    pub catalog: Catalog,
    /// Users' cost and default sales rates.
    pub users: UserDirectory,
    /// Holidays, business hours, company-wide surcharges.
    pub calendar: WorkCalendar,
    /// Custom-field billing mappings.
    pub custom_field_mappings: Vec<CustomFieldMapping>,
    /// Currency of catalog prices, users' rates and cost rates.
    pub company_currency: Currency,
    /// Most fee periods one run proposes per contract ([`DEFAULT_MAX_FEE_PERIODS`]); a
    /// contract with more unbilled periods due gets a blocking problem instead, so that a
    /// mistyped start date cannot produce thousands of fee lines.
    pub max_fee_periods: usize,
}

/// Default of [`BillingContext::max_fee_periods`]: three years of monthly fees.
pub const DEFAULT_MAX_FEE_PERIODS: usize = 36;

impl BillingContext {
    /// The view of the context that rate resolution needs.
    pub fn rate_context(&self) -> RateContext<'_> {
        RateContext {
            catalog: &self.catalog,
            users: &self.users,
            calendar: &self.calendar,
            company_currency: self.company_currency,
        }
    }
}

/// The billing settings of the customer being billed.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSettings {
    /// Customer id.
    pub id: i64,
    /// Invoice currency.
    pub currency: Currency,
    /// VAT treatment.
    pub vat_treatment: VatTreatment,
    /// Line detail.
    pub invoice_detail: InvoiceDetail,
    /// Rounding rule (customer's, else the global default).
    pub rounding: RoundingRule,
}

/// A contract with its ledger so far and fee billing state.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractInput {
    /// The contract.
    pub contract: Contract,
    /// Its quota ledger so far (prepaid kinds).
    pub ledger: Vec<QuotaEntry>,
    /// First days of the fee periods a live invoice (draft, issued or paid; not cancelled)
    /// already bills. Every other period due by the run's end is proposed, also one before
    /// billed periods (an earlier invoice was cancelled).
    pub billed_fee_periods: BTreeSet<Date>,
}

/// Everything needed to bill one customer.
#[derive(Debug, Clone)]
pub struct CustomerInput {
    /// Customer settings.
    pub customer: CustomerSettings,
    /// First day of the service period (shown on proposals only).
    pub period_start: Option<Date>,
    /// Last day of the service period (inclusive): positions up to it are billed.
    pub period_end: Date,
    /// The customer's contracts.
    pub contracts: Vec<ContractInput>,
    /// The customer's, its projects' and contracts' rate cards and surcharges
    /// (`RateBook::new(entries, surcharges)`).
    pub rates: RateBook,
    /// Open bookings.
    pub bookings: Vec<Booking>,
    /// Open expenses.
    pub expenses: Vec<Expense>,
    /// A partial run (one ticket or project: "invoice this ticket") bills only its
    /// positions: no contract fees, and no quota period is closed at its end (carry-over
    /// and expiry wait for the periodic run that bills the rest of the period).
    pub partial: bool,
}

// ---------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------

/// Stable machine codes of blocking problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// No rate at any level.
    MissingRate,
    /// The resolved price or expense is in another currency than the invoice.
    CurrencyMismatch,
    /// The position's work date is outside its contract's term.
    OutsideContractPeriod,
    /// The position names a contract the customer does not have.
    UnknownContract,
    /// The contract's terms cannot be billed.
    InvalidContract,
    /// The service is not in the catalog.
    UnknownService,
    /// A free-text expense has no VAT rate.
    MissingVatRate,
    /// Zero quantity or a negative custom-field value.
    InvalidQuantity,
    /// The position belongs to another customer.
    ForeignPosition,
    /// An amount exceeded the decimal range.
    AmountOverflow,
    /// A date beyond the supported calendar.
    DateOutOfRange,
    /// More unbilled fee periods are due than one run may propose.
    TooManyFeePeriods,
}

str_enum!(ProblemCode {
    MissingRate => "missing_rate",
    CurrencyMismatch => "currency_mismatch",
    OutsideContractPeriod => "outside_contract_period",
    UnknownContract => "unknown_contract",
    InvalidContract => "invalid_contract",
    UnknownService => "unknown_service",
    MissingVatRate => "missing_vat_rate",
    InvalidQuantity => "invalid_quantity",
    ForeignPosition => "foreign_position",
    AmountOverflow => "amount_overflow",
    DateOutOfRange => "date_out_of_range",
    TooManyFeePeriods => "too_many_fee_periods",
});

/// Something that prevents committing the run for this customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockingProblem {
    /// Machine code.
    pub code: ProblemCode,
    /// Position concerned, if any.
    pub position: Option<PositionRef>,
    /// Contract concerned, if any.
    pub contract_id: Option<i64>,
    /// Human-readable explanation.
    pub message: String,
}

/// Legal note an invoice must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LegalNote {
    /// Intra-EU reverse charge (VAT 0 %, recipient liable).
    ReverseCharge,
    /// Export outside the EU (VAT 0 %).
    Export,
}

/// What an invoice line bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Contract fee.
    Fee,
    /// Work at resolved rates.
    Work,
    /// Work beyond a prepaid quota.
    Overage,
    /// A custom-field quantity (e.g. kilometres).
    Mapped,
    /// Expense / material.
    Expense,
    /// A line added by hand to a draft invoice (never produced by the engine).
    Manual,
}

str_enum!(LineKind { Fee => "fee", Work => "work", Overage => "overage", Mapped => "mapped", Expense => "expense", Manual => "manual" });

/// One invoice line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceLine {
    /// What the line bills.
    pub kind: LineKind,
    /// Text with ticket number and activity text where there is one.
    pub description: String,
    /// Contract the line is billed under.
    pub contract_id: Option<i64>,
    /// Catalog service.
    pub service_id: Option<i64>,
    /// Ticket (per-booking and per-ticket detail).
    pub ticket_id: Option<i64>,
    /// Quantity (hours to 4 decimals for hourly lines).
    pub quantity: Decimal,
    /// Billed minutes of hourly lines (the net is computed from them exactly).
    pub minutes: Option<u64>,
    /// Unit.
    pub unit: Unit,
    /// Price per unit.
    pub unit_price: Decimal,
    /// Net, rounded half-up to the minor unit.
    pub net: Decimal,
    /// VAT rate in percent.
    pub vat_rate: Decimal,
    /// Surcharge folded into the unit price, if any.
    pub surcharge: Option<SurchargeKind>,
    /// Positions billed by the line.
    pub positions: Vec<PositionRef>,
}

/// How a position was treated (for the proof of service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PositionStatus {
    /// Billed on a line.
    Billed,
    /// Covered by the contract, not billed.
    Covered,
    /// Partly covered, the rest billed.
    PartlyCovered,
    /// Not billable.
    NonBillable,
}

str_enum!(PositionStatus { Billed => "billed", Covered => "covered", PartlyCovered => "partly_covered", NonBillable => "non_billable" });

/// Treatment of one position in a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PositionOutcome {
    /// Position.
    pub position: PositionRef,
    /// Contract it was assigned to.
    pub contract_id: Option<i64>,
    /// Treatment.
    pub status: PositionStatus,
    /// Actual minutes (bookings).
    pub actual_minutes: Option<u32>,
    /// Rounded minutes (bookings).
    pub rounded_minutes: Option<u64>,
    /// Minutes covered by a flat fee or quota, or drawn from a budget (bookings).
    pub covered_minutes: Option<u64>,
    /// Value of the covered part at resolved rates (budget: amount drawn down).
    pub covered_value: Option<Decimal>,
}

/// One draft invoice. A proposal may have no lines when it only settles covered or
/// non-billable positions or carries ledger entries; it then bills nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceProposal {
    /// Customer.
    pub customer_id: i64,
    /// Contract with a separate invoice; `None` for the customer's combined invoice.
    pub contract_id: Option<i64>,
    /// Currency.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub currency: Currency,
    /// First day of the service period, if given.
    #[serde(with = "serde_fmt::date::option", default)]
    pub period_start: Option<Date>,
    /// Last day of the service period.
    #[serde(with = "serde_fmt::date")]
    pub period_end: Date,
    /// Lines (fees first, then in chronological order of their first position).
    pub lines: Vec<InvoiceLine>,
    /// VAT per rate.
    pub vat: Vec<VatAmount>,
    /// Net, VAT, gross.
    pub totals: Totals,
    /// Legal note (reverse charge, export).
    pub legal_note: Option<LegalNote>,
    /// Every position settled by this proposal with its treatment.
    pub positions: Vec<PositionOutcome>,
    /// Quota-ledger entries to write when the invoice is issued.
    pub quota_entries: Vec<QuotaEntry>,
    /// Quota/budget figures of the contract periods this proposal touched.
    pub quota_summaries: Vec<QuotaSummary>,
    /// Where a position was billed before by an invoice since cancelled and is billed
    /// differently now (the data changed meanwhile): what changed
    /// ([`crate::invoice::rebill_changes`]; empty from the engine itself).
    #[serde(default)]
    pub changes_since_cancelled: Vec<crate::invoice::RebillChange>,
}

/// Revenue against cost for one contract (or uncontracted work) and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Profitability {
    /// Contract; `None` for work without contract (calendar months).
    pub contract_id: Option<i64>,
    /// Billing period.
    pub period: Period,
    /// Fees plus billed extras (net).
    pub revenue: Decimal,
    /// Value of covered work at resolved rates (informative).
    pub covered_value: Decimal,
    /// Actual minutes × each user's internal cost rate (company currency).
    pub cost: Decimal,
    /// `revenue − cost`; `None` when the invoice currency is not the company currency.
    pub margin: Option<Decimal>,
    /// False when a user without cost rate booked time (counted as 0).
    pub cost_complete: bool,
}

/// Everything computed for one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerBilling {
    /// Customer.
    pub customer_id: i64,
    /// Draft invoices.
    pub proposals: Vec<InvoiceProposal>,
    /// Blocking problems; non-empty means: do not commit.
    pub problems: Vec<BlockingProblem>,
    /// Quota thresholds crossed.
    pub threshold_crossings: Vec<ThresholdCrossing>,
    /// Profitability per contract and period.
    pub profitability: Vec<Profitability>,
}

impl CustomerBilling {
    /// Whether the run may be committed for this customer.
    pub fn is_committable(&self) -> bool {
        self.problems.is_empty()
    }
}

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

/// Computes the proposals for one customer's input.
pub fn compute_customer(ctx: &BillingContext, input: &CustomerInput) -> CustomerBilling {
    Run::new(ctx, input).run()
}

/// Computes many customers one after another.
pub fn compute_all(ctx: &BillingContext, inputs: &[CustomerInput]) -> Vec<CustomerBilling> {
    Engine::new(ctx).compute_iter(inputs.iter()).collect()
}

/// A reusable engine over a shared context.
#[derive(Debug, Clone, Copy)]
pub struct Engine<'a> {
    ctx: &'a BillingContext,
}

impl<'a> Engine<'a> {
    /// An engine over `ctx`.
    pub fn new(ctx: &'a BillingContext) -> Self {
        Engine { ctx }
    }

    /// Computes one customer.
    pub fn compute(&self, input: &CustomerInput) -> CustomerBilling {
        compute_customer(self.ctx, input)
    }

    /// Lazily computes a stream of customers (e.g. read one by one from the database).
    pub fn compute_iter<I>(self, inputs: I) -> impl Iterator<Item = CustomerBilling> + 'a
    where
        I: IntoIterator + 'a,
        I::Item: std::borrow::Borrow<CustomerInput>,
    {
        inputs.into_iter().map(move |i| compute_customer(self.ctx, std::borrow::Borrow::borrow(&i)))
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;

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

use crate::catalog::Catalog;
use crate::catalog::{Service, Unit};
use crate::contract::{Contract, ContractTerms, Overage};
use crate::currency::Currency;
use crate::customer::{str_enum, InvoiceDetail, VatTreatment};
use crate::money::{self, Totals, VatAmount};
use crate::period::{pro_rata, pro_rate, Period, PeriodKind};
use crate::position::{Booking, CustomFieldMapping, Expense, PositionRef, TicketRef};
use crate::quota::{QuotaEntry, QuotaSummary, QuotaTracker, ThresholdCrossing};
use crate::rates::{
    RateBook, RateContext, RateError, RateQuery, RateResolution, SurchargeKind, UserDirectory, WorkCalendar,
};
use crate::rounding::RoundingRule;
use crate::serde_fmt;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use time::Date;

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

// ---------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------

/// Fast non-cryptographic hasher for internal grouping maps (FxHash).
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.add(u64::from(*b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

impl FxHasher {
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Qty {
    Minutes(u64),
    Amount(Decimal),
}

#[derive(Debug, Clone, Copy)]
enum Src {
    Booking(usize),
    Expense(usize),
    Fee { contract: usize, period: Period, active: i64, total: i64 },
}

#[derive(Debug, Clone, Copy)]
struct Piece {
    group: usize,
    kind: LineKind,
    position: PositionRef,
    contract_id: Option<i64>,
    service_id: Option<i64>,
    src: Src,
    unit: Unit,
    unit_price: Decimal,
    vat_rate: Decimal,
    qty: Qty,
    surcharge: Option<(SurchargeKind, Decimal)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LineKey {
    group: usize,
    kind: LineKind,
    contract_id: Option<i64>,
    service_id: Option<i64>,
    unit: Unit,
    minutes: bool,
    unit_price: Decimal,
    vat_rate: Decimal,
    ticket: Option<i64>,
    position: Option<PositionRef>,
}

struct ContractState<'a> {
    input: &'a ContractInput,
    valid: bool,
    tracker: Option<QuotaTracker>,
}

#[derive(Default)]
struct Group {
    contract_id: Option<i64>,
    outcomes: Vec<PositionOutcome>,
    quota_entries: Vec<QuotaEntry>,
    quota_summaries: Vec<QuotaSummary>,
}

#[derive(Default)]
struct ProfitAcc {
    revenue: Decimal,
    covered: Decimal,
    cost: Decimal,
    complete: bool,
}

struct Run<'a> {
    ctx: &'a BillingContext,
    rc: RateContext<'a>,
    input: &'a CustomerInput,
    currency: Currency,
    contracts: Vec<ContractState<'a>>,
    groups: Vec<Group>,
    pieces: Vec<Piece>,
    problems: Vec<BlockingProblem>,
    crossings: Vec<ThresholdCrossing>,
    profit: Vec<((Option<i64>, Period), ProfitAcc)>,
}

/// The whole part of a non-negative decimal as `u64` (`None` if negative or too large).
fn whole_u64(d: Decimal) -> Option<u64> {
    rust_decimal::prelude::ToPrimitive::to_u64(&d.trunc())
}

fn problem(
    code: ProblemCode,
    position: Option<PositionRef>,
    contract_id: Option<i64>,
    message: String,
) -> BlockingProblem {
    BlockingProblem { code, position, contract_id, message }
}

/// The booking being billed with its service, contract and proposal group.
#[derive(Clone, Copy)]
struct BookingCtx<'a> {
    bi: usize,
    service: &'a Service,
    ci: Option<usize>,
    group: usize,
}

/// Outcome of billing one time booking's minutes.
struct TimeResult {
    covered_minutes: u64,
    covered_value: Option<Decimal>,
}

impl<'a> Run<'a> {
    fn new(ctx: &'a BillingContext, input: &'a CustomerInput) -> Self {
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

    fn contract(&self, ci: usize) -> Option<&'a Contract> {
        self.contracts.get(ci).map(|c| &c.input.contract)
    }

    fn group_for(&mut self, contract: Option<usize>) -> usize {
        let cid = contract.and_then(|ci| self.contract(ci)).filter(|c| c.separate_invoice).map(|c| c.id);
        if let Some(i) = self.groups.iter().position(|g| g.contract_id == cid) {
            return i;
        }
        self.groups.push(Group { contract_id: cid, ..Group::default() });
        self.groups.len() - 1
    }

    fn vat_rate(&self, domestic: Decimal) -> Decimal {
        match self.input.customer.vat_treatment {
            VatTreatment::Domestic => domestic,
            VatTreatment::EuReverseCharge | VatTreatment::Export => Decimal::ZERO,
        }
    }

    fn profit_acc(&mut self, contract: Option<usize>, date: Date) -> Option<&mut ProfitAcc> {
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

    fn add_revenue(&mut self, contract: Option<usize>, date: Date, revenue: Decimal, covered: Decimal) {
        if let Some(a) = self.profit_acc(contract, date) {
            a.revenue = a.revenue.saturating_add(revenue);
            a.covered = a.covered.saturating_add(covered);
        }
    }

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

    fn resolve(&mut self, q: &RateQuery, pos: PositionRef) -> Result<RateResolution, ()> {
        match self.input.rates.resolve(&self.rc, q) {
            Ok(r) if r.currency != self.currency => {
                self.problems.push(problem(
                    ProblemCode::CurrencyMismatch,
                    Some(pos),
                    q.contract_id,
                    format!(
                        "rate for service {} is in {} ({} level) but the invoice is in {}",
                        q.service_id, r.currency, r.level, self.currency
                    ),
                ));
                Err(())
            }
            Ok(r) => Ok(r),
            Err(e) => {
                let code = match e {
                    RateError::Missing { .. } => ProblemCode::MissingRate,
                    RateError::UnknownService(_) => ProblemCode::UnknownService,
                    RateError::Overflow => ProblemCode::AmountOverflow,
                };
                self.problems.push(problem(code, Some(pos), q.contract_id, e.to_string()));
                Err(())
            }
        }
    }

    fn run(mut self) -> CustomerBilling {
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

    fn fees(&mut self) {
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

    fn bookings(&mut self) {
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

    fn push_outcome(&mut self, group: usize, outcome: PositionOutcome) {
        if let Some(g) = self.groups.get_mut(group) {
            g.outcomes.push(outcome);
        }
    }

    fn booking_query(&self, b: &Booking, service_id: i64, contract_id: Option<i64>, with_override: bool) -> RateQuery {
        RateQuery {
            customer_id: self.input.customer.id,
            contract_id,
            project_id: b.project_id,
            service_id,
            user_id: Some(b.user_id),
            date: b.work_date,
            start_time: b.start_time,
            override_price: if with_override { b.rate_override } else { None },
            override_currency: self.currency,
        }
    }

    fn time_piece(
        &mut self,
        bc: BookingCtx<'a>,
        kind: LineKind,
        minutes: u64,
        price: Decimal,
        surcharge: Option<(SurchargeKind, Decimal)>,
    ) {
        let BookingCtx { bi, service, ci, group } = bc;
        if minutes == 0 {
            return;
        }
        let b = &self.input.bookings[bi];
        let contract_id = ci.and_then(|ci| self.contract(ci)).map(|c| c.id);
        self.pieces.push(Piece {
            group,
            kind,
            position: PositionRef::Booking { id: b.id },
            contract_id,
            service_id: Some(service.id),
            src: Src::Booking(bi),
            unit: Unit::Hour,
            unit_price: price,
            vat_rate: self.vat_rate(service.vat_rate),
            qty: Qty::Minutes(minutes),
            surcharge,
        });
        let value = money::minutes_value(minutes, price).unwrap_or_default();
        self.add_revenue(ci, b.work_date, value, Decimal::ZERO);
    }

    /// Bills `rounded` minutes of booking `bi` under its contract's rules.
    fn bill_time(&mut self, bc: BookingCtx<'a>, rounded: u64) -> Result<TimeResult, ()> {
        let BookingCtx { bi, ci, .. } = bc;
        let b = &self.input.bookings[bi];
        let pos = PositionRef::Booking { id: b.id };
        let contract = ci.and_then(|ci| self.contract(ci));
        let covered = contract.is_some_and(|c| b.covered_by_contract || c.coverage.covers(b.service_id, true));
        let forced = contract.is_some() && b.covered_by_contract;
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

    fn mapped_fields(&mut self, bi: usize, ci: Option<usize>, group: usize) {
        let input = self.input;
        let b = &input.bookings[bi];
        for cf in &b.custom_fields {
            let Some(m) = self.ctx.custom_field_mappings.iter().find(|m| m.field_id == cf.field_id) else { continue };
            let pos = PositionRef::BookingField { booking_id: b.id, field_id: cf.field_id };
            if cf.value.is_zero() {
                continue;
            }
            if cf.value.is_sign_negative() {
                self.problems.push(problem(
                    ProblemCode::InvalidQuantity,
                    Some(pos),
                    None,
                    format!("custom field {} of booking {} is negative", cf.field_id, b.id),
                ));
                continue;
            }
            let Some(service) = self.ctx.catalog.get(m.service_id) else {
                self.problems.push(problem(
                    ProblemCode::UnknownService,
                    Some(pos),
                    None,
                    format!("mapped service {} is not in the catalog", m.service_id),
                ));
                continue;
            };
            let contract = ci.and_then(|ci| self.contract(ci));
            let mut outcome = PositionOutcome {
                position: pos,
                contract_id: contract.map(|c| c.id),
                status: PositionStatus::Billed,
                actual_minutes: None,
                rounded_minutes: None,
                covered_minutes: None,
                covered_value: None,
            };
            if contract
                .is_some_and(|c| matches!(c.terms, ContractTerms::FlatFee) && c.coverage.covers(service.id, false))
            {
                outcome.status = PositionStatus::Covered;
                self.push_outcome(group, outcome);
                continue;
            }
            let q = self.booking_query(b, service.id, contract.map(|c| c.id), false);
            let Ok(r) = self.resolve(&q, pos) else { continue };
            self.pieces.push(Piece {
                group,
                kind: LineKind::Mapped,
                position: pos,
                contract_id: contract.map(|c| c.id),
                service_id: Some(service.id),
                src: Src::Booking(bi),
                unit: service.unit,
                unit_price: r.unit_price,
                vat_rate: self.vat_rate(service.vat_rate),
                qty: Qty::Amount(cf.value),
                surcharge: None,
            });
            let value = cf.value.checked_mul(r.unit_price).unwrap_or_default();
            self.add_revenue(ci, b.work_date, value, Decimal::ZERO);
            self.push_outcome(group, outcome);
        }
    }

    fn expenses(&mut self) {
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
                if matches!(c.terms, ContractTerms::FlatFee) && c.coverage.covers(svc.id, false) {
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

    fn line_key(&self, p: &Piece) -> LineKey {
        let detail = self.input.customer.invoice_detail;
        let ticket = self.ticket_of(p.src).map(|t| t.id);
        let free_text = p.service_id.is_none();
        let (ticket, position) = match detail {
            _ if free_text || p.kind == LineKind::Fee => (ticket, Some(p.position)),
            InvoiceDetail::PerBooking => (ticket, Some(p.position)),
            InvoiceDetail::PerTicket => (ticket, None),
            InvoiceDetail::PerService => (None, None),
        };
        LineKey {
            group: p.group,
            kind: p.kind,
            contract_id: p.contract_id,
            service_id: p.service_id,
            unit: p.unit,
            minutes: matches!(p.qty, Qty::Minutes(_)),
            unit_price: p.unit_price,
            vat_rate: p.vat_rate,
            ticket,
            position,
        }
    }

    fn ticket_of(&self, src: Src) -> Option<&'a TicketRef> {
        match src {
            Src::Booking(i) => self.input.bookings.get(i).and_then(|b| b.ticket.as_ref()),
            Src::Expense(i) => self.input.expenses.get(i).and_then(|e| e.ticket.as_ref()),
            Src::Fee { .. } => None,
        }
    }

    /// Activity text of a piece's source.
    fn text_of(&self, src: Src) -> &'a str {
        match src {
            Src::Booking(i) => self.input.bookings.get(i).map_or("", |b| b.description.as_str()),
            Src::Expense(i) => self.input.expenses.get(i).map_or("", |e| e.description.as_str()),
            Src::Fee { .. } => "",
        }
    }

    fn head(&self, p: &Piece, with_ticket: bool) -> String {
        let mut s = String::new();
        if let Src::Fee { contract, period, active, total } = p.src {
            if let Some(c) = self.contract(contract) {
                let last = period.last_day().unwrap_or(period.start);
                let _ = write!(s, "{} {}: fee {} to {}", c.number, c.name, period.start, last);
                if active < total {
                    let _ = write!(s, " (pro rata {active}/{total} days)");
                }
            }
            return s;
        }
        if with_ticket {
            if let Some(t) = self.ticket_of(p.src) {
                let _ = write!(s, "{} – ", t.number);
            }
        }
        match p.service_id.and_then(|id| self.ctx.catalog.get(id)) {
            Some(svc) => s.push_str(&svc.name),
            None => s.push_str(self.text_of(p.src)),
        }
        if p.kind == LineKind::Overage {
            let number = p
                .contract_id
                .and_then(|id| self.contracts.iter().find(|c| c.input.contract.id == id))
                .map_or("", |c| c.input.contract.number.as_str());
            let _ = write!(s, " (overage {number})");
        }
        if let Some((kind, pct)) = p.surcharge {
            let _ = write!(s, " (+{pct} % {})", kind.as_str().replace('_', " "));
        }
        s
    }

    fn finish(mut self) -> CustomerBilling {
        const MAX_DESCRIPTION: usize = 1000;
        let detail = self.input.customer.invoice_detail;
        let mut index: FxMap<LineKey, usize> = FxMap::default();
        let mut lines: Vec<(usize, InvoiceLine, Qty)> = Vec::with_capacity(self.pieces.len());
        let pieces = std::mem::take(&mut self.pieces);
        for p in &pieces {
            let key = self.line_key(p);
            let text = self.text_of(p.src);
            let ticket = self.ticket_of(p.src);
            let free_text = p.service_id.is_none();
            let li = match index.get(&key) {
                Some(&li) => li,
                None => {
                    let with_ticket = detail != InvoiceDetail::PerService || free_text;
                    let mut description = self.head(p, with_ticket);
                    if !free_text && !text.is_empty() {
                        description.push_str(": ");
                        if !with_ticket {
                            if let Some(t) = ticket {
                                let _ = write!(description, "{} ", t.number);
                            }
                        }
                        description.push_str(text);
                    }
                    let line = InvoiceLine {
                        kind: p.kind,
                        description,
                        contract_id: p.contract_id,
                        service_id: p.service_id,
                        ticket_id: key.ticket,
                        quantity: Decimal::ZERO,
                        minutes: None,
                        unit: p.unit,
                        unit_price: p.unit_price,
                        net: Decimal::ZERO,
                        vat_rate: p.vat_rate,
                        surcharge: p.surcharge.map(|s| s.0),
                        positions: Vec::new(),
                    };
                    let zero = match p.qty {
                        Qty::Minutes(_) => Qty::Minutes(0),
                        Qty::Amount(_) => Qty::Amount(Decimal::ZERO),
                    };
                    lines.push((p.group, line, zero));
                    index.insert(key, lines.len() - 1);
                    lines.len() - 1
                }
            };
            let Some((_, line, qty)) = lines.get_mut(li) else { continue };
            if line.positions.last() != Some(&p.position) {
                line.positions.push(p.position);
                // Later pieces of an aggregated line add their activity text.
                if line.positions.len() > 1 && !text.is_empty() && line.description.len() < MAX_DESCRIPTION {
                    line.description.push_str("; ");
                    if detail == InvoiceDetail::PerService {
                        if let Some(t) = ticket {
                            line.description.push_str(&t.number);
                            line.description.push(' ');
                        }
                    }
                    line.description.push_str(text);
                    if line.description.len() >= MAX_DESCRIPTION {
                        line.description.push_str(" …");
                    }
                }
            }
            *qty = match (*qty, p.qty) {
                (Qty::Minutes(a), Qty::Minutes(b)) => Qty::Minutes(a.saturating_add(b)),
                (Qty::Amount(a), Qty::Amount(b)) => Qty::Amount(a.saturating_add(b)),
                (q, _) => q,
            };
        }
        // Nets.
        let currency = self.currency;
        let mut per_group: Vec<Vec<InvoiceLine>> = (0..self.groups.len()).map(|_| Vec::new()).collect();
        for (g, mut line, qty) in lines {
            let net = match qty {
                Qty::Minutes(m) => {
                    line.minutes = Some(m);
                    line.quantity = money::minutes_to_hours(m);
                    money::minutes_net(m, line.unit_price, currency)
                }
                Qty::Amount(a) => {
                    line.quantity = a;
                    money::line_net(a, line.unit_price, currency)
                }
            };
            match net {
                Some(n) => line.net = n,
                None => {
                    self.problems.push(problem(
                        ProblemCode::AmountOverflow,
                        line.positions.first().copied(),
                        line.contract_id,
                        format!("net of line '{}' overflows", line.description),
                    ));
                    continue;
                }
            }
            if let Some(v) = per_group.get_mut(g) {
                v.push(line);
            }
        }
        let legal_note = match self.input.customer.vat_treatment {
            VatTreatment::Domestic => None,
            VatTreatment::EuReverseCharge => Some(LegalNote::ReverseCharge),
            VatTreatment::Export => Some(LegalNote::Export),
        };
        let mut proposals = Vec::with_capacity(self.groups.len());
        let groups = std::mem::take(&mut self.groups);
        for (group, lines) in groups.into_iter().zip(per_group) {
            if lines.is_empty() && group.outcomes.is_empty() && group.quota_entries.is_empty() {
                continue;
            }
            let net = money::checked_sum(lines.iter().map(|l| l.net));
            let vat = money::vat_breakdown(lines.iter().map(|l| (l.vat_rate, l.net)), currency);
            let totals = match (net, &vat) {
                (Some(n), Some(v)) => money::totals(n, v),
                _ => None,
            };
            let (Some(vat), Some(totals)) = (vat, totals) else {
                self.problems.push(problem(
                    ProblemCode::AmountOverflow,
                    None,
                    group.contract_id,
                    "invoice totals overflow".into(),
                ));
                continue;
            };
            proposals.push(InvoiceProposal {
                customer_id: self.input.customer.id,
                contract_id: group.contract_id,
                currency,
                period_start: self.input.period_start,
                period_end: self.input.period_end,
                lines,
                vat,
                totals,
                legal_note,
                positions: group.outcomes,
                quota_entries: group.quota_entries,
                quota_summaries: group.quota_summaries,
                changes_since_cancelled: Vec::new(),
            });
        }
        let profitability = self
            .profit
            .into_iter()
            .map(|((contract_id, period), a)| {
                let revenue = money::round_to_minor(a.revenue, currency);
                let cost = money::round_to_minor(a.cost, currency);
                Profitability {
                    contract_id,
                    period,
                    revenue,
                    covered_value: money::round_to_minor(a.covered, currency),
                    cost,
                    margin: (currency == self.ctx.company_currency).then(|| revenue.saturating_sub(cost)),
                    cost_complete: a.complete,
                }
            })
            .collect();
        CustomerBilling {
            customer_id: self.input.customer.id,
            proposals,
            problems: self.problems,
            threshold_crossings: self.crossings,
            profitability,
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;

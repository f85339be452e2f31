//! What an invoice run reads: the customers with something to bill, their open
//! positions as the billing engine's inputs ([`domain::position::Booking`] and
//! [`domain::position::Expense`]), their contracts with the quota ledger and fee state. A
//! run reads the terms of a chunk of customers together ([`Store::customer_terms`]), then
//! their open positions together ([`BillingSetup::read_chunk`]), so memory stays flat
//! whatever the data size.
//!
//! The quota ledger the engine continues from is the written ledger plus the entries of
//! open drafts (they are issued later, but their positions and quota are already taken).
//! Fees are tracked per period: a fee period counts as billed while a live invoice (draft,
//! issued or paid; not cancelled) bills it, whatever later periods were billed.

use crate::store::id_list;
use crate::types::{ExactDecimal, JsonText};
use crate::{Customer, Result, Store};
use domain::catalog::Unit;
use domain::custom_field::{billed_values, billing_mappings, CustomFieldDefinition, CustomFieldEntity};
use domain::engine::{BillingContext, ContractInput, CustomerInput, CustomerSettings};
use domain::position::{Booking, Expense, PositionRef, TicketRef};
use domain::quota::{QuotaEntry, QuotaEntryKind};
use domain::rates::RateBook;
use domain::{BillingMode, InvoiceDetail};
use std::collections::{BTreeSet, HashMap};
use time::{Date, Time};

/// Which open positions of a customer a run takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PositionScope {
    /// Only positions of this project.
    pub project_id: Option<i64>,
    /// Only positions of this ticket.
    pub ticket_id: Option<i64>,
}

/// Every open position as it was read, to reserve exactly what was computed (a position
/// changed meanwhile makes the run compute again). Hashed with FxHash: a run keys every
/// position it reads here, by ids of its own database.
pub type PositionVersions = rustc_hash::FxHashMap<PositionRef, PositionRead>;

/// An open position as a computation read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionRead {
    /// Its version.
    pub version: i64,
    /// The customer it was open under.
    pub customer_id: i64,
    /// Its work date (a booking) or date (an expense): with the customer, where it is listed
    /// as open (on SQLite, `open_bookings`).
    pub date: Date,
}

/// How one customer's input is built.
#[derive(Debug, Clone, Copy)]
pub struct InputParams {
    /// First day of the service period (shown on the invoice).
    pub period_start: Option<Date>,
    /// Positions up to this day are billed.
    pub period_end: Date,
    /// Which positions.
    pub scope: PositionScope,
    /// Only this contract and the positions it bills (a contract-scoped run).
    pub contract_id: Option<i64>,
    /// One ticket or project: no fees, no quota period closed (see `CustomerInput::partial`).
    pub partial: bool,
    /// One line per position whatever the customer's detail level (to value positions).
    pub per_booking: bool,
}

/// One customer's engine input with what it was built from.
#[derive(Debug, Clone)]
pub struct CustomerRun {
    /// The engine input.
    pub input: CustomerInput,
    /// The customer record.
    pub customer: Customer,
    /// Versions of the open positions read.
    pub versions: PositionVersions,
    /// The customer's billing version when the input was read.
    pub billing_version: i64,
}

/// What a run reads about a customer before its open positions
/// ([`Store::customer_terms`]).
#[derive(Debug, Clone)]
pub struct CustomerTerms {
    /// The customer's billing version when the terms were read.
    pub billing_version: i64,
    /// The customer record.
    pub customer: Customer,
    /// The rounding of its bookings outside a contract with its own rule.
    pub rounding: domain::rounding::RoundingRule,
    /// Its contracts (not archived) with their quota ledger and billed fee periods.
    pub contracts: Vec<ContractInput>,
    /// Its rate entries and surcharges.
    pub rates: RateBook,
}

/// The part of a run shared by all customers: catalog, users, calendar, custom-field
/// mappings and the company currency.
#[derive(Debug, Clone)]
pub struct BillingSetup {
    /// The engine's shared context.
    pub ctx: BillingContext,
    booking_fields: Vec<CustomFieldDefinition>,
}

impl BillingSetup {
    /// Loads the shared context.
    pub async fn load(store: &Store) -> Result<BillingSetup> {
        let booking_fields: Vec<_> = store
            .billed_custom_fields()
            .await?
            .into_iter()
            .filter(|d| d.entity == CustomFieldEntity::Booking)
            .collect();
        let ctx = BillingContext {
            catalog: store.catalog().await?,
            users: store.user_directory().await?,
            calendar: store.work_calendar().await?,
            custom_field_mappings: billing_mappings(&booking_fields),
            company_currency: store.company_currency().await?,
            max_fee_periods: domain::engine::DEFAULT_MAX_FEE_PERIODS,
        };
        Ok(BillingSetup { ctx, booking_fields })
    }

    /// Reads one customer's engine input: settings, contracts with their ledger and fee
    /// state, rate cards and the open positions in scope.
    pub async fn customer_input(&self, store: &Store, customer_id: i64, p: InputParams) -> Result<CustomerRun> {
        let terms = store.customer_terms(&[customer_id]).await?.remove(&customer_id);
        self.input_under(store, terms.ok_or(crate::StoreError::NotFound)?, p).await
    }

    /// A customer's engine input under `terms` read before ([`Store::customer_terms`]):
    /// reads its open positions in scope.
    pub async fn input_under(&self, store: &Store, terms: CustomerTerms, p: InputParams) -> Result<CustomerRun> {
        self.read_chunk(store, vec![terms], p).await?.pop().ok_or(crate::StoreError::NotFound)?.build(self)
    }

    /// What [`BillingSetup::input_under`] reads for each customer of `terms` (a run's
    /// chunk), in their order: the open positions of all in one query per table, not decoded
    /// yet. A run decodes and computes off the async thread ([`CustomerRows::build`]), so that
    /// its writes, driven by that thread, do not wait for it.
    pub(crate) async fn read_chunk(
        &self,
        store: &Store,
        terms: Vec<CustomerTerms>,
        p: InputParams,
    ) -> Result<Vec<CustomerRows>> {
        // Customers billed per resolved ticket wait for the ticket (unless one ticket is billed).
        let resolved_only = |t: &CustomerTerms| t.customer.data.billing_mode == BillingMode::Immediate;
        let customers: Vec<(i64, bool)> =
            terms.iter().map(|t| (t.customer.id, resolved_only(t) && p.scope.ticket_id.is_none())).collect();
        let mut positions =
            store.read_open_positions_of(&customers, p.period_end, p.scope, &self.booking_fields).await?;
        Ok(terms
            .into_iter()
            .map(|terms| {
                let positions = positions.remove(&terms.customer.id).unwrap_or_default();
                CustomerRows { terms, params: p, positions }
            })
            .collect())
    }
}

/// A customer's terms and open positions as read ([`BillingSetup::read_chunk`]), before
/// they are decoded into the engine's input.
pub(crate) struct CustomerRows {
    terms: CustomerTerms,
    params: InputParams,
    positions: OpenPositionRows,
}

impl CustomerRows {
    /// Decodes the open positions and builds the engine input (CPU work, no IO).
    pub(crate) fn build(self, setup: &BillingSetup) -> Result<CustomerRun> {
        let CustomerRows { terms, params: p, positions } = self;
        let CustomerTerms { billing_version, customer, rounding, mut contracts, rates } = terms;
        let customer_id = customer.id;
        let (mut bookings, mut expenses, versions) = positions.decode(&setup.booking_fields)?;
        if let Some(id) = p.contract_id {
            // Only the contract and what the engine would bill under it.
            let billable: Vec<&domain::contract::Contract> = contracts
                .iter()
                .map(|c| &c.contract)
                .filter(|c| c.customer_id == customer_id && c.validate().is_ok())
                .collect();
            let mine = |named: Option<i64>, date: Date, service: Option<i64>, is_time: bool| match named {
                Some(n) => n == id,
                None => {
                    domain::engine::choose_contract(billable.iter().map(|c| (c.id, *c)), date, service, is_time)
                        == Some(id)
                }
            };
            bookings.retain(|b| mine(b.contract_id, b.work_date, Some(b.service_id), true));
            expenses.retain(|e| mine(e.contract_id, e.date, e.service_id, false));
            contracts.retain(|c| c.contract.id == id);
        }
        let input = CustomerInput {
            customer: CustomerSettings {
                id: customer_id,
                currency: customer.data.currency,
                vat_treatment: customer.data.vat_treatment,
                invoice_detail: if p.per_booking { InvoiceDetail::PerBooking } else { customer.data.invoice_detail },
                rounding,
            },
            period_start: p.period_start,
            period_end: p.period_end,
            contracts,
            rates,
            bookings,
            expenses,
            partial: p.partial,
        };
        Ok(CustomerRun { input, customer, versions, billing_version })
    }
}

#[derive(sqlx::FromRow)]
struct BookingRow {
    id: i64,
    version: i64,
    customer_id: i64,
    user_id: i64,
    work_date: Date,
    start_time: Option<Time>,
    duration_minutes: i64,
    service_id: i64,
    description: String,
    ticket_id: Option<i64>,
    ticket_number: Option<String>,
    project_id: Option<i64>,
    contract_id: Option<i64>,
    billable: bool,
    rate_override: Option<ExactDecimal>,
    custom_fields: JsonText,
    /// [`WORK_ORDER_PART`] of the booking.
    work_order_part: i64,
}

/// How a position on a periodic work order is billed, as SQL over the position `$p` (a
/// booking `b` or an expense `e`) and its ticket `t`: `1` the execution — time booked with
/// the order's service (the schedule's, else the order type's; any service when neither
/// names one) — covered by the contract; `2` extra work (other services, material) that
/// the schedule bills as time and material; `0` anything else (the contract's rules).
macro_rules! work_order_part {
    ($p:literal, $execution:literal) => {
        concat!(
            "CAST(CASE WHEN t.ticket_type = 'work_order' THEN COALESCE((SELECT CASE WHEN ",
            $execution,
            " THEN 1 WHEN s.extra_work_billing = 'time_and_material' THEN 2 ELSE 0 END \
             FROM work_orders w JOIN work_order_schedules s ON s.id = w.schedule_id \
             JOIN order_types ot ON ot.id = s.order_type_id WHERE w.ticket_id = ",
            $p,
            ".ticket_id), 0) ELSE 0 END AS BIGINT)"
        )
    };
}

/// [`work_order_part!`] of booking `b`.
const WORK_ORDER_PART: &str = work_order_part!(
    "b",
    "COALESCE(s.service_id, ot.default_service_id) IS NULL OR b.service_id = COALESCE(s.service_id, ot.default_service_id)"
);

/// A [`BookingRow`] as SQLite packs it into a JSON array (dates, times and decimals as
/// text — borrowed from the array, they never hold escapes —, flags as 0/1).
#[derive(serde::Deserialize)]
struct PackedBooking<'a>(
    i64,
    i64,
    i64,
    i64,
    &'a str,
    Option<&'a str>,
    i64,
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<&'a str>,
    serde_json::Value,
    i64,
);

impl TryFrom<PackedBooking<'_>> for BookingRow {
    type Error = crate::StoreError;
    fn try_from(p: PackedBooking<'_>) -> Result<BookingRow> {
        use crate::types::sqlite_text;
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            crate::StoreError::Database(sqlx::Error::Decode(format!("booking {}: {what}: {e}", p.0).into()))
        };
        Ok(BookingRow {
            id: p.0,
            version: p.1,
            customer_id: p.2,
            user_id: p.3,
            work_date: sqlite_text::date(p.4).map_err(|e| corrupt("work_date", &e))?,
            start_time: p.5.map(sqlite_text::time_of_day).transpose().map_err(|e| corrupt("start_time", &e))?,
            duration_minutes: p.6,
            service_id: p.7,
            description: p.8,
            ticket_id: p.9,
            ticket_number: p.10,
            project_id: p.11,
            contract_id: p.12,
            billable: p.13 != 0,
            rate_override: p
                .14
                .map(|d| d.parse().map(ExactDecimal))
                .transpose()
                .map_err(|e| corrupt("rate_override", &e))?,
            custom_fields: JsonText(p.15),
            work_order_part: p.16,
        })
    }
}

/// The open bookings of a customer as read: packed into one JSON array (SQLite) or rows.
#[derive(Default)]
enum BookingRows {
    #[default]
    None,
    Packed(String),
    Rows(Vec<BookingRow>),
}

/// A customer's open positions as read ([`Store::read_open_positions_of`]), not decoded yet.
#[derive(Default)]
pub(crate) struct OpenPositionRows {
    bookings: BookingRows,
    expenses: Vec<ExpenseRow>,
}

impl OpenPositionRows {
    /// The engine's bookings and expenses with the version of each. Custom-field values of
    /// booking fields with a billing mapping become quantities.
    fn decode(
        self,
        booking_fields: &[CustomFieldDefinition],
    ) -> Result<(Vec<Booking>, Vec<Expense>, PositionVersions)> {
        let bookings = match self.bookings {
            BookingRows::None => Vec::new(),
            BookingRows::Rows(rows) => rows,
            BookingRows::Packed(packed) => {
                let packed: Vec<PackedBooking> = serde_json::from_str(&packed)?;
                let mut rows = packed.into_iter().map(BookingRow::try_from).collect::<Result<Vec<_>>>()?;
                rows.sort_by_key(|r| (r.work_date, r.id));
                rows
            }
        };
        let expenses = self.expenses;
        let mut versions =
            PositionVersions::with_capacity_and_hasher(bookings.len() + expenses.len(), Default::default());
        let read = |version, customer_id, date| PositionRead { version, customer_id, date };
        versions.extend(
            bookings.iter().map(|r| (PositionRef::Booking { id: r.id }, read(r.version, r.customer_id, r.work_date))),
        );
        versions.extend(
            expenses
                .iter()
                .map(|r| (PositionRef::Expense { id: r.id }, read(r.version, r.customer_id, r.expense_date))),
        );
        let bookings = bookings
            .into_iter()
            .map(|r| {
                let values = r.custom_fields.0.as_object().cloned().unwrap_or_default();
                Booking {
                    id: r.id,
                    customer_id: r.customer_id,
                    user_id: r.user_id,
                    work_date: r.work_date,
                    start_time: r.start_time,
                    minutes: u32::try_from(r.duration_minutes).unwrap_or(0),
                    service_id: r.service_id,
                    description: r.description,
                    ticket: ticket(r.ticket_id, r.ticket_number),
                    project_id: r.project_id,
                    contract_id: r.contract_id,
                    billable: r.billable,
                    covered_by_contract: r.work_order_part == 1,
                    billed_as_extra: r.work_order_part == 2,
                    rate_override: r.rate_override.map(|d| d.0),
                    custom_fields: billed_values(booking_fields, &values),
                }
            })
            .collect();
        let expenses = expenses
            .into_iter()
            .map(|r| Expense {
                id: r.id,
                customer_id: r.customer_id,
                date: r.expense_date,
                service_id: r.service_id,
                description: r.description,
                quantity: r.quantity.0,
                unit: r.unit.parse().unwrap_or(Unit::Piece),
                unit_price: Some(r.unit_price.0),
                currency: None,
                vat_rate: Some(r.vat_rate.0),
                billable: r.billable,
                ticket: ticket(r.ticket_id, r.ticket_number),
                project_id: r.project_id,
                contract_id: r.contract_id,
                user_id: r.user_id,
                billed_as_extra: r.work_order_part == 2,
            })
            .collect();
        Ok((bookings, expenses, versions))
    }
}

#[derive(sqlx::FromRow)]
struct ExpenseRow {
    id: i64,
    version: i64,
    customer_id: i64,
    expense_date: Date,
    service_id: Option<i64>,
    description: String,
    quantity: ExactDecimal,
    unit: String,
    unit_price: ExactDecimal,
    vat_rate: ExactDecimal,
    billable: bool,
    ticket_id: Option<i64>,
    ticket_number: Option<String>,
    project_id: Option<i64>,
    contract_id: Option<i64>,
    user_id: Option<i64>,
    /// [`work_order_part!`] of the expense (never `1`: material is not the execution).
    work_order_part: i64,
}

/// A quota-ledger entry as stored (ledger or draft).
#[derive(sqlx::FromRow)]
pub(crate) struct LedgerRow {
    pub(crate) contract_id: i64,
    pub(crate) period_start: Date,
    pub(crate) origin_period_start: Date,
    pub(crate) kind: String,
    pub(crate) amount: ExactDecimal,
    pub(crate) position: Option<String>,
}

impl LedgerRow {
    /// The domain entry.
    pub(crate) fn into_entry(self) -> Result<QuotaEntry> {
        let kind: QuotaEntryKind = self.kind.parse().map_err(crate::types::decode_error)?;
        let position = match self.position {
            Some(p) => Some(serde_json::from_str::<PositionRef>(&p)?),
            None => None,
        };
        Ok(QuotaEntry {
            contract_id: self.contract_id,
            period_start: self.period_start,
            origin_period_start: self.origin_period_start,
            kind,
            amount: self.amount.0,
            position,
        })
    }
}

/// The customers a run over all customers bills up to `$1`: an index seek per customer and
/// kind (`open_bookings` and `expenses_open`, over open rows only), not a walk of every open
/// position.
pub(crate) const CUSTOMERS_TO_BILL: &str = "SELECT c.id FROM customers c WHERE \
    EXISTS (SELECT 1 FROM open_bookings o WHERE o.customer_id = c.id AND o.work_date <= $1) \
    OR EXISTS (SELECT 1 FROM expenses e WHERE e.customer_id = c.id AND e.invoice_id IS NULL AND e.expense_date <= $1) \
    OR EXISTS (SELECT 1 FROM contracts k WHERE k.customer_id = c.id AND k.archived_at IS NULL AND k.start_date <= $1) \
    ORDER BY c.id";

fn ticket(id: Option<i64>, number: Option<String>) -> Option<TicketRef> {
    Some(TicketRef { id: id?, number: number.unwrap_or_default() })
}

impl Store {
    /// Customers with open positions dated up to `period_end` or with a contract (whose
    /// fees may be due), in id order ([`CUSTOMERS_TO_BILL`]).
    pub async fn customers_to_bill(&self, period_end: Date) -> Result<Vec<i64>> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(CUSTOMERS_TO_BILL)
            .bind(period_end).fetch_all(pool).await?))
    }

    /// The open positions of several customers in `scope`, read in one query per table, not
    /// decoded yet. Each customer comes with whether it leaves positions on tickets that are
    /// not resolved or closed yet (billed per resolved ticket, `immediate` mode). A customer
    /// without open positions may be missing from the map.
    pub(crate) async fn read_open_positions_of(
        &self,
        customers: &[(i64, bool)],
        period_end: Date,
        scope: PositionScope,
        booking_fields: &[CustomFieldDefinition],
    ) -> Result<HashMap<i64, OpenPositionRows>> {
        let ids: Vec<i64> = customers.iter().map(|c| c.0).collect();
        let resolved: Vec<i64> = customers.iter().filter(|c| c.1).map(|c| c.0).collect();
        let ids = id_list(&ids);
        // Whether the ticket of position `p` lets it be billed (`TRUE` when no customer waits
        // for its tickets: `NOT IN` an empty list would be `NOT IN (NULL)`, never true).
        let ticket_done = |p: &str| match resolved.is_empty() {
            true => "TRUE".to_string(),
            false => format!("t.status IN ('resolved', 'closed') OR {p}.customer_id NOT IN ({})", id_list(&resolved)),
        };
        let (booking_tickets, expense_tickets) = (ticket_done("b"), ticket_done("e"));
        // Custom-field values are read (and their JSON decoded) only when a field is billed.
        let custom_fields = if billing_mappings(booking_fields).is_empty() { "'{}'" } else { "b.custom_fields" };
        // The scope's filter on open bookings `b` beyond customer and date.
        let in_scope = format!(
            "($2 IS NULL OR b.project_id = $2) AND ($3 IS NULL OR b.ticket_id = $3) \
             AND (b.ticket_id IS NULL OR {booking_tickets})"
        );
        let mut out: HashMap<i64, OpenPositionRows> = HashMap::with_capacity(customers.len());
        let expenses: Vec<ExpenseRow> = with_pool!(self, pool => {
            match &*self.db {
                crate::store::Db::Sqlite(pool) => {
                    // One row per customer that carries all its bookings: sqlx hands every
                    // SQLite row from the connection's thread to the caller's on its own,
                    // which costs more than reading it.
                    let custom_fields = if custom_fields == "'{}'" { "json_object()" } else { "json(b.custom_fields)" };
                    // From `open_bookings` alone, which carries what a run reads of a booking
                    // (migration 0025): clustered by customer, where `bookings` in entry order
                    // would be read a page per booking.
                    let packed: Vec<(i64, String)> = sqlx::query_as(&format!(
                        "SELECT b.customer_id, json_group_array(json_array(b.booking_id, b.version, b.customer_id, \
                         b.user_id, b.work_date, b.start_time, b.duration_minutes, b.service_id, b.description, \
                         b.ticket_id, t.number, b.project_id, t.contract_id, b.billable, b.rate_override, \
                         {custom_fields}, {WORK_ORDER_PART})) \
                         FROM open_bookings b LEFT JOIN tickets t ON t.id = b.ticket_id \
                         WHERE b.customer_id IN ({ids}) AND b.work_date <= $1 AND {in_scope} \
                         GROUP BY b.customer_id"))
                        .bind(period_end).bind(scope.project_id).bind(scope.ticket_id)
                        .fetch_all(pool).await?;
                    for (customer_id, packed) in packed {
                        out.entry(customer_id).or_default().bookings = BookingRows::Packed(packed);
                    }
                }
                crate::store::Db::Postgres(pool) => {
                    let rows: Vec<BookingRow> = sqlx::query_as(&format!(
                        "SELECT b.id, b.version, b.customer_id, b.user_id, b.work_date, b.start_time, \
                         b.duration_minutes, b.service_id, b.description, b.ticket_id, t.number AS ticket_number, \
                         b.project_id, t.contract_id, b.billable, b.rate_override, {custom_fields} AS custom_fields, \
                         {WORK_ORDER_PART} AS work_order_part \
                         FROM bookings b LEFT JOIN tickets t ON t.id = b.ticket_id \
                         WHERE b.customer_id IN ({ids}) AND b.invoice_id IS NULL AND b.work_date <= $1 \
                         AND {in_scope} ORDER BY b.customer_id, b.work_date, b.id"))
                        .bind(period_end).bind(scope.project_id).bind(scope.ticket_id)
                        .fetch_all(pool).await?;
                    for row in rows {
                        match &mut out.entry(row.customer_id).or_default().bookings {
                            BookingRows::Rows(rows) => rows.push(row),
                            other => *other = BookingRows::Rows(vec![row]),
                        }
                    }
                }
            }
            sqlx::query_as(&format!(
                "SELECT e.id, e.version, e.customer_id, e.expense_date, e.service_id, e.description, e.quantity, e.unit, \
                 e.unit_price, e.vat_rate, e.billable, e.ticket_id, t.number AS ticket_number, e.project_id, \
                 t.contract_id, e.user_id, {} AS work_order_part \
                 FROM expenses e LEFT JOIN tickets t ON t.id = e.ticket_id \
                 WHERE e.customer_id IN ({ids}) AND e.invoice_id IS NULL AND e.expense_date <= $1 \
                 AND ($2 IS NULL OR e.project_id = $2) AND ($3 IS NULL OR e.ticket_id = $3) \
                 AND (e.ticket_id IS NULL OR {expense_tickets}) \
                 ORDER BY e.customer_id, e.expense_date, e.id", work_order_part!("e", "FALSE")))
                .bind(period_end).bind(scope.project_id).bind(scope.ticket_id)
                .fetch_all(pool).await?
        });
        for row in expenses {
            out.entry(row.customer_id).or_default().expenses.push(row);
        }
        Ok(out)
    }

    /// The terms of each of the customers `ids`, read for all of them at once (one query
    /// per kind: a run reads a chunk's terms together instead of a dozen round trips per
    /// customer). A customer that does not exist is left out.
    pub async fn customer_terms(&self, ids: &[i64]) -> Result<HashMap<i64, CustomerTerms>> {
        // The billing version first: anything that changes the terms afterwards advances it,
        // and storing drafts computed from older terms fails as stale.
        let versions = self.billing_versions(ids).await?;
        let mut customers = self.customers_by_id(ids).await?;
        let roundings = self.effective_roundings(ids).await?;
        let mut ledgers = self.customer_ledgers(ids).await?;
        let mut fees = self.fee_periods_billed_of(ids).await?;
        let mut contracts = self.contracts_of_customers(ids).await?;
        let mut rates = self.rate_books(ids).await?;
        let mut out = HashMap::with_capacity(ids.len());
        for &id in ids {
            let Some(customer) = customers.remove(&id) else { continue };
            let (mut ledgers, mut fees) =
                (ledgers.remove(&id).unwrap_or_default(), fees.remove(&id).unwrap_or_default());
            let contracts = contracts
                .remove(&id)
                .unwrap_or_default()
                .iter()
                .map(|c| ContractInput {
                    ledger: ledgers.remove(&c.id).unwrap_or_default(),
                    billed_fee_periods: fees.remove(&c.id).unwrap_or_default(),
                    contract: c.to_domain(),
                })
                .collect();
            let terms = CustomerTerms {
                billing_version: versions.get(&id).copied().unwrap_or(0),
                customer,
                rounding: roundings.get(&id).map(|r| r.0).unwrap_or_default(),
                contracts,
                rates: rates.remove(&id).unwrap_or_else(|| RateBook::new(Vec::new(), Vec::new())),
            };
            out.insert(id, terms);
        }
        Ok(out)
    }

    /// The customer's billing version: advanced by every change of what is invoiced.
    pub async fn billing_version(&self, customer_id: i64) -> Result<i64> {
        Ok(self.billing_versions(&[customer_id]).await?.get(&customer_id).copied().unwrap_or(0))
    }

    /// [`Store::billing_version`] of each of the customers `ids` (left out: 0, never changed).
    pub async fn billing_versions(&self, ids: &[i64]) -> Result<HashMap<i64, i64>> {
        let sql =
            format!("SELECT customer_id, version FROM customer_billing_state WHERE customer_id IN ({})", id_list(ids));
        let rows: Vec<(i64, i64)> =
            with_pool!(self, pool => sqlx::query_as(&sql).persistent(false).fetch_all(pool).await?);
        Ok(rows.into_iter().collect())
    }

    /// The quota ledger of each of the customer's contracts that the next run continues
    /// from: the written ledger plus the entries of open drafts.
    pub async fn customer_ledger(&self, customer_id: i64) -> Result<HashMap<i64, Vec<QuotaEntry>>> {
        Ok(self.customer_ledgers(&[customer_id]).await?.remove(&customer_id).unwrap_or_default())
    }

    /// [`Store::customer_ledger`] of each of the customers `ids` (by customer, then contract).
    ///
    /// (`status || ''` keeps SQLite from reaching the customers' drafts through the index
    /// on status — every draft of every customer — instead of through the index on the
    /// customer.)
    pub async fn customer_ledgers(&self, ids: &[i64]) -> Result<HashMap<i64, HashMap<i64, Vec<QuotaEntry>>>> {
        let list = id_list(ids);
        let sql = format!(
            "SELECT q.contract_id, q.period_start, q.origin_period_start, q.kind, q.amount, q.position, q.id, \
             0 AS draft, c.customer_id AS for_customer \
             FROM quota_ledger q JOIN contracts c ON c.id = q.contract_id WHERE c.customer_id IN ({list}) \
             UNION ALL \
             SELECT q.contract_id, q.period_start, q.origin_period_start, q.kind, q.amount, q.position, q.id, \
             1 AS draft, i.customer_id \
             FROM invoice_quota_entries q JOIN invoices i ON i.id = q.invoice_id \
             WHERE i.customer_id IN ({list}) AND i.status || '' = 'draft' \
             ORDER BY 8, 7"
        );
        let rows: Vec<(i64, LedgerRow)> = with_pool!(self, pool =>
            crate::store::per_customer(&sqlx::query(&sql).persistent(false).fetch_all(pool).await?)?);
        let mut out: HashMap<i64, HashMap<i64, Vec<QuotaEntry>>> = HashMap::new();
        for (customer_id, r) in rows {
            let contract_id = r.contract_id;
            out.entry(customer_id).or_default().entry(contract_id).or_default().push(r.into_entry()?);
        }
        Ok(out)
    }

    /// Per contract of the customer: the first days of the fee periods that a live document
    /// (draft, issued, paid, settled; not cancelled) bills. A cancelled invoice's periods are
    /// not among them, so the next run bills them again.
    pub async fn fee_periods_billed(&self, customer_id: i64) -> Result<HashMap<i64, BTreeSet<Date>>> {
        Ok(self.fee_periods_billed_of(&[customer_id]).await?.remove(&customer_id).unwrap_or_default())
    }

    /// [`Store::fee_periods_billed`] of each of the customers `ids` (by customer, then contract).
    pub async fn fee_periods_billed_of(&self, ids: &[i64]) -> Result<HashMap<i64, HashMap<i64, BTreeSet<Date>>>> {
        let sql = format!(
            "SELECT c.customer_id, f.contract_id, f.period_start FROM contract_fee_periods f \
             JOIN contracts c ON c.id = f.contract_id WHERE c.customer_id IN ({})",
            id_list(ids)
        );
        let rows: Vec<(i64, i64, Date)> =
            with_pool!(self, pool => sqlx::query_as(&sql).persistent(false).fetch_all(pool).await?);
        let mut out: HashMap<i64, HashMap<i64, BTreeSet<Date>>> = HashMap::new();
        for (customer_id, contract_id, period_start) in rows {
            out.entry(customer_id).or_default().entry(contract_id).or_default().insert(period_start);
        }
        Ok(out)
    }

    /// Puts a booking or expense (`table`) in billing state `state` directly: `open` clears
    /// its stamp; `reserved` / `billed` make an empty settlement of its customer (draft /
    /// settled) hold it. Tests use it to lock a position without a run.
    pub(crate) async fn hold_position(&self, table: crate::bulk::PositionTable, id: i64, state: &str) -> Result<()> {
        let t = match table {
            crate::bulk::PositionTable::Bookings => "bookings",
            crate::bulk::PositionTable::Expenses => "expenses",
        };
        let status = match state {
            "open" => None,
            "reserved" => Some("draft"),
            "billed" => Some("settled"),
            other => return Err(crate::StoreError::Conflict(format!("unknown billing state `{other}`"))),
        };
        in_tx!(self, tx => {
            let customer: Option<Option<i64>> = sqlx::query_scalar(&format!("SELECT customer_id FROM {t} WHERE id = $1"))
                .bind(id).fetch_optional(&mut *tx).await?;
            let Some(customer) = customer else { return Err(crate::StoreError::NotFound) };
            let holder = match (status, customer) {
                (None, _) => None,
                (Some(status), Some(customer)) => Some(sqlx::query_scalar::<_, i64>(
                    "INSERT INTO invoices (kind, status, customer_id, currency, period_end, net, vat, gross, version, \
                     created_at, updated_at) VALUES ('settlement', $1, $2, 'EUR', $3, '0.00', '0.00', '0.00', 1, $4, $4) RETURNING id")
                    .bind(status).bind(customer).bind(time::macros::date!(2026 - 01 - 01)).bind(crate::types::DbTime::now())
                    .fetch_one(&mut *tx).await?),
                (Some(_), None) => return Err(crate::StoreError::Conflict("the position has no customer".into())),
            };
            if table == crate::bulk::PositionTable::Bookings && crate::store::backend_of(&tx) == crate::Backend::Sqlite {
                // Out of the document that holds it (the hold follows, migration 0027).
                let held: Option<i64> = sqlx::query_scalar("SELECT invoice_id FROM booking_holds WHERE booking_id = $1")
                    .bind(id).fetch_optional(&mut *tx).await?;
                if let Some(document) = held {
                    sqlx::query(crate::invoices::booking_release_sql(crate::Backend::Sqlite, true))
                        .bind(document).bind(id).execute(&mut *tx).await?;
                }
                sqlx::query("INSERT INTO booking_holds (booking_id, invoice_id) SELECT $2, $1 WHERE $1 IS NOT NULL")
                    .bind(holder).bind(id).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO booking_settlement_sets (invoice_id, settlements) SELECT $1, \
                             json_array(json_array(id, version, NULL, 'billed', NULL, NULL, NULL, NULL, NULL)) \
                             FROM bookings WHERE id = $2 AND $1 IS NOT NULL")
                    .bind(holder).bind(id).execute(&mut *tx).await?;
                // Held: no longer listed open (as a run's hold does, migration 0026).
                sqlx::query("DELETE FROM open_bookings WHERE customer_id = (SELECT customer_id FROM bookings WHERE id = $1) \
                             AND booking_id = $1 AND $2 IS NOT NULL")
                    .bind(id).bind(holder).execute(&mut *tx).await?;
            } else {
                sqlx::query(&format!("UPDATE {t} SET invoice_id = $1, treatment = $2, version = version + 1 WHERE id = $3"))
                    .bind(holder).bind(holder.map(|_| "billed")).bind(id).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_booking_packed_by_sqlite_reads_as_the_row_it_packs() {
        let packed: Vec<PackedBooking> = serde_json::from_str(
            r#"[[7, 2, 1, 3, "2026-11-07", "19:45:00.0", 90, 5, "Night shift", 11, "T-2026-000011", null, 4, 1,
                 "120.50", {"km": 57}, 2],
                [8, 1, 1, 3, "2026-11-08", null, 30, 5, "Remote", null, null, 9, null, 0, null, {}, 0]]"#,
        )
        .unwrap();
        let rows: Vec<BookingRow> = packed.into_iter().map(|p| BookingRow::try_from(p).unwrap()).collect();
        let night = &rows[0];
        assert_eq!((night.id, night.version, night.customer_id, night.user_id), (7, 2, 1, 3));
        assert_eq!(night.work_date, time::macros::date!(2026 - 11 - 07));
        assert_eq!(night.start_time, Some(time::macros::time!(19:45)));
        assert_eq!((night.duration_minutes, night.service_id, night.description.as_str()), (90, 5, "Night shift"));
        assert_eq!((night.ticket_id, night.ticket_number.as_deref()), (Some(11), Some("T-2026-000011")));
        assert_eq!((night.project_id, night.contract_id, night.billable), (None, Some(4), true));
        assert_eq!(night.rate_override.as_ref().map(|d| d.0.to_string()).as_deref(), Some("120.50"));
        assert_eq!(night.custom_fields.0, serde_json::json!({"km": 57}));
        assert_eq!(night.work_order_part, 2, "extra work on a work order");
        let remote = &rows[1];
        assert_eq!(
            (remote.start_time, remote.ticket_id, remote.project_id, remote.billable),
            (None, None, Some(9), false)
        );
        assert!(remote.rate_override.is_none());
    }

    #[test]
    fn a_corrupt_packed_date_is_a_decode_error_not_a_panic() {
        let packed: PackedBooking = serde_json::from_str(
            r#"[1, 1, 1, 1, "30.11.2026", null, 30, 1, "x", null, null, null, null, 1, null, {}, 0]"#,
        )
        .unwrap();
        let err = BookingRow::try_from(packed).err().expect("an error");
        assert!(err.to_string().contains("booking 1: work_date"), "{err}");
    }
}

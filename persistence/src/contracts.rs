//! Storage of contracts: the four kinds, covered services, overage tiers, carry-over, fees.
//!
//! A stored contract maps 1:1 onto [`domain::contract::Contract`] ([`StoredContract::to_domain`]):
//! its writable fields are held in the domain's own value types (kind-specific terms,
//! coverage, carry-over, overage, rounding), so what the API accepts is exactly what the
//! billing engine bills with. The covered services live in `contract_services`, the overage
//! tiers in `contract_overage_tiers` (in order); both are replaced on every change.
//!
//! Contracts are never hard-deleted: invoices, ledgers and rates refer to them, so "delete"
//! archives (hidden from default lists, read-only, restorable).

use crate::audit::Actor;
use crate::page::{Page, PageRequest};
use crate::types::{DbTime, ExactDecimal, JsonText};
use crate::{Result, Store, StoreError};
use domain::contract::{CarryOver, ContractKind, ContractTerms, Coverage, FeeTiming, Overage, OverageTier};
use domain::period::PeriodKind;
use domain::rounding::{RoundingMode, RoundingRule};
use domain::Currency;
use rust_decimal::Decimal;
use std::collections::HashMap;
use time::Date;

/// The writable fields of a contract, in the billing engine's value types.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ContractData {
    /// The customer billed under the contract (fixed after creation).
    pub customer_id: i64,
    /// Contract number, e.g. `V-2026-0001`; an empty number on creation is replaced by
    /// the next automatic one.
    pub number: String,
    pub name: String,
    /// First day.
    pub start_date: Date,
    /// Last day (inclusive); `None` = open-ended.
    pub end_date: Option<Date>,
    pub billing_period: PeriodKind,
    pub fee_timing: FeeTiming,
    /// Fee per full period in the customer's currency; zero for time and material.
    pub fee: Decimal,
    /// VAT rate of the fee in percent.
    pub fee_vat_rate: Decimal,
    /// All work, or the listed services.
    pub coverage: Coverage,
    pub separate_invoice: bool,
    /// Quota usage thresholds in percent (ascending, unique).
    pub quota_thresholds: Vec<u32>,
    /// Rounding rule overriding the customer's.
    pub rounding: Option<RoundingRule>,
    /// Kind and kind-specific terms (quota, budget, carry-over, overage).
    pub terms: ContractTerms,
    /// The buyer's order reference (purchase order number, BT-13) the contract's drafts
    /// carry unless changed on the draft.
    pub order_reference: Option<String>,
}

impl ContractData {
    /// The contract kind (fixed after creation).
    pub fn kind(&self) -> ContractKind {
        match self.terms {
            ContractTerms::TimeAndMaterial => ContractKind::TimeAndMaterial,
            ContractTerms::FlatFee => ContractKind::FlatFee,
            ContractTerms::PrepaidHours { .. } => ContractKind::PrepaidHours,
            ContractTerms::PrepaidBudget { .. } => ContractKind::PrepaidBudget,
        }
    }

    /// The data as the billing engine's contract with this id (also for checking unsaved
    /// data with [`domain::contract::Contract::validate`]).
    pub fn to_domain(&self, id: i64) -> domain::contract::Contract {
        domain::contract::Contract {
            id,
            customer_id: self.customer_id,
            number: self.number.clone(),
            name: self.name.clone(),
            start: self.start_date,
            end_date: self.end_date,
            period: self.billing_period,
            fee_timing: self.fee_timing,
            fee: self.fee,
            fee_vat_rate: self.fee_vat_rate,
            coverage: self.coverage.clone(),
            rounding: self.rounding,
            separate_invoice: self.separate_invoice,
            quota_thresholds: self.quota_thresholds.clone(),
            terms: self.terms.clone(),
        }
    }
}

/// A stored contract with its covered services and overage tiers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredContract {
    pub id: i64,
    #[serde(flatten)]
    pub data: ContractData,
    /// The customer's currency: fees, budgets and tier prices are amounts in it.
    pub currency: Currency,
    pub archived_at: Option<DbTime>,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

impl StoredContract {
    /// The contract as the billing engine sees it (what the invoice run bills with).
    pub fn to_domain(&self) -> domain::contract::Contract {
        self.data.to_domain(self.id)
    }

    /// Whether the contract is archived.
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

/// Which contracts to list (always sorted by number, then id).
#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    pub customer_id: Option<i64>,
    pub kind: Option<ContractKind>,
    /// Only contracts active on this day (start ≤ day ≤ end, open end included).
    pub active_on: Option<Date>,
    /// Case-insensitive substring of number or name.
    pub search: Option<String>,
    /// `None`: only active; `Some(true)`: only archived; `Some(false)`: all.
    pub archived_only: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct ContractRow {
    id: i64,
    customer_id: i64,
    number: String,
    name: String,
    kind: String,
    start_date: Date,
    end_date: Option<Date>,
    billing_period: String,
    fee_timing: String,
    fee: ExactDecimal,
    fee_vat_rate: ExactDecimal,
    covers_all_work: bool,
    separate_invoice: bool,
    quota_thresholds: JsonText,
    rounding_increment_minutes: Option<i64>,
    rounding_minimum_minutes: Option<i64>,
    rounding_mode: Option<String>,
    hours_per_period: Option<ExactDecimal>,
    budget_per_period: Option<ExactDecimal>,
    carry_over: String,
    carry_over_cap: Option<ExactDecimal>,
    carry_over_expiry_periods: Option<i64>,
    overage: String,
    order_reference: Option<String>,
    archived_at: Option<DbTime>,
    version: i64,
    created_at: DbTime,
    updated_at: DbTime,
    currency: String,
}

#[derive(sqlx::FromRow)]
struct TierRow {
    contract_id: i64,
    up_to_hours: Option<ExactDecimal>,
    unit_price: ExactDecimal,
}

/// A stored value the code cannot read back (never written by this module).
fn corrupt(what: String) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(what.into()))
}

fn parse<T: std::str::FromStr<Err = String>>(id: i64, column: &str, s: &str) -> Result<T> {
    s.parse().map_err(|e| corrupt(format!("contract {id}: {column}: {e}")))
}

fn small(id: i64, column: &str, v: Option<i64>) -> Result<Option<u32>> {
    v.map(|n| u32::try_from(n).map_err(|_| corrupt(format!("contract {id}: {column} out of range")))).transpose()
}

/// Builds a stored contract from its row and the child rows of a set of contracts.
fn assemble(r: ContractRow, services: &[(i64, i64)], tiers: &[TierRow]) -> Result<StoredContract> {
    let id = r.id;
    let required = |v: Option<ExactDecimal>, column: &str| {
        v.map(|d| d.0).ok_or_else(|| corrupt(format!("contract {id}: {column} missing")))
    };
    let carry_over = match r.carry_over.as_str() {
        "none" => CarryOver::None,
        "carry" => CarryOver::Carry {
            cap: r.carry_over_cap.map(|d| d.0),
            expiry_periods: small(id, "carry_over_expiry_periods", r.carry_over_expiry_periods)?,
        },
        other => return Err(corrupt(format!("contract {id}: carry_over `{other}`"))),
    };
    let kind: ContractKind = parse(id, "kind", &r.kind)?;
    let terms = match kind {
        ContractKind::TimeAndMaterial => ContractTerms::TimeAndMaterial,
        ContractKind::FlatFee => ContractTerms::FlatFee,
        ContractKind::PrepaidHours => ContractTerms::PrepaidHours {
            hours_per_period: required(r.hours_per_period, "hours_per_period")?,
            carry_over,
            overage: match r.overage.as_str() {
                "resolved_rates" => Overage::ResolvedRates,
                "tiers" => Overage::Tiers(
                    tiers
                        .iter()
                        .filter(|t| t.contract_id == id)
                        .map(|t| OverageTier { up_to_hours: t.up_to_hours.map(|d| d.0), unit_price: t.unit_price.0 })
                        .collect(),
                ),
                other => return Err(corrupt(format!("contract {id}: overage `{other}`"))),
            },
        },
        ContractKind::PrepaidBudget => ContractTerms::PrepaidBudget {
            budget_per_period: required(r.budget_per_period, "budget_per_period")?,
            carry_over,
        },
    };
    let coverage = if r.covers_all_work {
        Coverage::AllWork
    } else {
        Coverage::Services(services.iter().filter(|(c, _)| *c == id).map(|(_, s)| *s).collect())
    };
    let rounding = match (r.rounding_increment_minutes, r.rounding_minimum_minutes, r.rounding_mode.as_deref()) {
        (Some(inc), Some(min), Some(mode)) => Some(RoundingRule {
            increment_minutes: small(id, "rounding_increment_minutes", Some(inc))?.unwrap_or_default(),
            minimum_minutes: small(id, "rounding_minimum_minutes", Some(min))?.unwrap_or_default(),
            mode: parse::<RoundingMode>(id, "rounding_mode", mode)?,
        }),
        _ => None,
    };
    let quota_thresholds: Vec<u32> = serde_json::from_value(r.quota_thresholds.0)
        .map_err(|e| corrupt(format!("contract {id}: quota_thresholds: {e}")))?;
    Ok(StoredContract {
        id,
        data: ContractData {
            customer_id: r.customer_id,
            number: r.number,
            name: r.name,
            start_date: r.start_date,
            end_date: r.end_date,
            billing_period: parse(id, "billing_period", &r.billing_period)?,
            fee_timing: parse(id, "fee_timing", &r.fee_timing)?,
            fee: r.fee.0,
            fee_vat_rate: r.fee_vat_rate.0,
            coverage,
            separate_invoice: r.separate_invoice,
            quota_thresholds,
            rounding,
            terms,
            order_reference: r.order_reference,
        },
        currency: r.currency.parse().map_err(|e| corrupt(format!("contract {id}: currency: {e}")))?,
        archived_at: r.archived_at,
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// `$1, $2, …, $n`.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The contract columns plus the customer's currency.
const SELECT_CONTRACT: &str =
    "SELECT c.*, cu.currency AS currency FROM contracts c JOIN customers cu ON cu.id = c.customer_id";

/// Loads covered services and tiers for `$rows` (a `Vec<ContractRow>`) through executor
/// `$exec` and assembles them into `Vec<StoredContract>` in row order.
macro_rules! assemble_contracts {
    ($exec:expr, $rows:expr) => {{
        let rows: Vec<ContractRow> = $rows;
        let mut out: Vec<StoredContract> = Vec::with_capacity(rows.len());
        if !rows.is_empty() {
            let list = placeholders(rows.len());
            let sql = format!(
                "SELECT contract_id, service_id FROM contract_services WHERE contract_id IN ({list}) \
                 ORDER BY contract_id, service_id"
            );
            let mut q = sqlx::query_as::<_, (i64, i64)>(&sql);
            for r in &rows {
                q = q.bind(r.id);
            }
            let services: Vec<(i64, i64)> = q.fetch_all($exec).await.map_err(StoreError::from)?;
            let sql = format!(
                "SELECT contract_id, up_to_hours, unit_price FROM contract_overage_tiers WHERE contract_id IN ({list}) \
                 ORDER BY contract_id, position"
            );
            let mut q = sqlx::query_as::<_, TierRow>(&sql);
            for r in &rows {
                q = q.bind(r.id);
            }
            let tiers: Vec<TierRow> = q.fetch_all($exec).await.map_err(StoreError::from)?;
            for r in rows {
                out.push(assemble(r, &services, &tiers)?);
            }
        }
        out
    }};
}

/// Reads one contract (with its children) through `$exec`; missing → `NotFound`.
macro_rules! fetch_contract {
    ($exec:expr, $id:expr) => {{
        let sql = format!("{SELECT_CONTRACT} WHERE c.id = $1");
        let row: ContractRow = sqlx::query_as(&sql).bind($id).fetch_one($exec).await.map_err(StoreError::from)?;
        assemble_contracts!($exec, vec![row]).pop().ok_or(StoreError::NotFound)?
    }};
}

/// Locks the contract row until the transaction ends (a no-op update: a row lock on
/// PostgreSQL; SQLite's write transactions are serialized anyway), so that concurrent
/// changes replace services and tiers one after the other. Missing → `NotFound`.
macro_rules! lock_contract {
    ($tx:expr, $id:expr) => {{
        let locked = sqlx::query("UPDATE contracts SET version = version WHERE id = $1")
            .bind($id)
            .execute(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::NotFound.into());
        }
    }};
}

/// Storage values of the kind-specific terms:
/// `(hours, budget, carry policy, cap, expiry, overage type, tiers)`.
type TermColumns<'a> =
    (Option<Decimal>, Option<Decimal>, &'static str, Option<Decimal>, Option<i64>, &'static str, &'a [OverageTier]);

fn term_columns(terms: &ContractTerms) -> TermColumns<'_> {
    let carry = |c: &CarryOver| match c {
        CarryOver::None => ("none", None, None),
        CarryOver::Carry { cap, expiry_periods } => ("carry", *cap, expiry_periods.map(i64::from)),
    };
    match terms {
        ContractTerms::TimeAndMaterial | ContractTerms::FlatFee => {
            (None, None, "none", None, None, "resolved_rates", &[])
        }
        ContractTerms::PrepaidHours { hours_per_period, carry_over, overage } => {
            let (policy, cap, expiry) = carry(carry_over);
            let (ov, tiers): (&'static str, &[OverageTier]) = match overage {
                Overage::ResolvedRates => ("resolved_rates", &[]),
                Overage::Tiers(t) => ("tiers", t.as_slice()),
            };
            (Some(*hours_per_period), None, policy, cap, expiry, ov, tiers)
        }
        ContractTerms::PrepaidBudget { budget_per_period, carry_over } => {
            let (policy, cap, expiry) = carry(carry_over);
            (None, Some(*budget_per_period), policy, cap, expiry, "resolved_rates", &[])
        }
    }
}

const CONTRACT_COLUMNS: &str = "customer_id, number, name, kind, start_date, end_date, billing_period, fee_timing, \
    fee, fee_vat_rate, covers_all_work, separate_invoice, quota_thresholds, rounding_increment_minutes, \
    rounding_minimum_minutes, rounding_mode, hours_per_period, budget_per_period, carry_over, carry_over_cap, \
    carry_over_expiry_periods, overage, order_reference";

/// Binds the 23 [`CONTRACT_COLUMNS`] of `$d` (a `ContractData`).
macro_rules! bind_contract_data {
    ($q:expr, $d:expr) => {{
        let d: &ContractData = $d;
        let (hours, budget, carry, cap, expiry, overage, _) = term_columns(&d.terms);
        $q.bind(d.customer_id)
            .bind(&d.number)
            .bind(&d.name)
            .bind(d.kind().as_str())
            .bind(d.start_date)
            .bind(d.end_date)
            .bind(d.billing_period.as_str())
            .bind(d.fee_timing.as_str())
            .bind(ExactDecimal(d.fee))
            .bind(ExactDecimal(d.fee_vat_rate))
            .bind(matches!(d.coverage, Coverage::AllWork))
            .bind(d.separate_invoice)
            .bind(JsonText(serde_json::json!(d.quota_thresholds)))
            .bind(d.rounding.map(|r| i64::from(r.increment_minutes)))
            .bind(d.rounding.map(|r| i64::from(r.minimum_minutes)))
            .bind(d.rounding.map(|r| r.mode.as_str()))
            .bind(hours.map(ExactDecimal))
            .bind(budget.map(ExactDecimal))
            .bind(carry)
            .bind(cap.map(ExactDecimal))
            .bind(expiry)
            .bind(overage)
            .bind(d.order_reference.as_deref())
    }};
}

/// Replaces the covered services and overage tiers of contract `$id` with those of `$d`.
macro_rules! write_contract_children {
    ($tx:expr, $id:expr, $d:expr) => {{
        let id: i64 = $id;
        let d: &ContractData = $d;
        sqlx::query("DELETE FROM contract_services WHERE contract_id = $1")
            .bind(id)
            .execute(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
        sqlx::query("DELETE FROM contract_overage_tiers WHERE contract_id = $1")
            .bind(id)
            .execute(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
        if let Coverage::Services(list) = &d.coverage {
            let mut seen = std::collections::BTreeSet::new();
            for s in list.iter().filter(|s| seen.insert(**s)) {
                sqlx::query("INSERT INTO contract_services (contract_id, service_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(*s)
                    .execute(&mut *$tx)
                    .await
                    .map_err(StoreError::from)?;
            }
        }
        let (.., tiers) = term_columns(&d.terms);
        for (i, t) in tiers.iter().enumerate() {
            sqlx::query(
                "INSERT INTO contract_overage_tiers (contract_id, position, up_to_hours, unit_price) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(i64::try_from(i + 1).unwrap_or(i64::MAX))
            .bind(t.up_to_hours.map(ExactDecimal))
            .bind(ExactDecimal(t.unit_price))
            .execute(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
        }
    }};
}

/// The automatic contract number `V-<year>-<seq>` (at least four digits).
pub fn contract_number(year: i32, seq: i64) -> String {
    format!("V-{year}-{seq:04}")
}

impl Store {
    /// Creates a contract with its covered services and tiers in one transaction. An empty
    /// `number` is replaced by the next automatic number of the current year
    /// (`V-2026-0001`, …; unique under concurrency, skipping numbers given by hand); a
    /// taken number is [`StoreError::Duplicate`].
    pub async fn create_contract(&self, data: &ContractData, actor: &Actor) -> Result<StoredContract> {
        let sql = format!(
            "INSERT INTO contracts ({CONTRACT_COLUMNS}, version, created_at, updated_at) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
             $23, 1, $24, $24) RETURNING id"
        );
        let now = DbTime::now();
        let year = now.0.year();
        let contract = in_tx!(self, tx => {
            let mut data = data.clone();
            if data.number.is_empty() {
                loop {
                    let seq = next_number!(tx, format!("contract-{year}"), 1)?;
                    let candidate = contract_number(year, seq);
                    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM contracts WHERE number = $1")
                        .bind(&candidate).fetch_optional(&mut *tx).await?;
                    if taken.is_none() {
                        data.number = candidate;
                        break;
                    }
                }
            }
            let id: i64 = bind_contract_data!(sqlx::query_scalar(&sql), &data)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            write_contract_children!(tx, id, &data);
            let contract = fetch_contract!(&mut *tx, id);
            audit!(tx, actor, "contract", id, "create", None::<&StoredContract>, Some(&contract));
            contract
        });
        Ok(contract)
    }

    /// The contract with this id, with its covered services and overage tiers (archived
    /// ones included).
    pub async fn get_contract(&self, id: i64) -> Result<StoredContract> {
        let contract = with_pool!(self, pool => fetch_contract!(pool, id));
        Ok(contract)
    }

    /// The customer's contracts that are not archived, in id order, whatever their dates:
    /// the invoice run decides per period which of them apply
    /// ([`domain::contract::Contract::active_in`]).
    pub async fn contracts_of_customer(&self, customer_id: i64) -> Result<Vec<StoredContract>> {
        let mut contracts = self.contracts_of_customers(&[customer_id]).await?;
        Ok(contracts.remove(&customer_id).unwrap_or_default())
    }

    /// [`Store::contracts_of_customer`] of each of the customers `ids` (those without a
    /// contract are left out), in three queries.
    pub async fn contracts_of_customers(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<StoredContract>>> {
        let sql = format!(
            "{SELECT_CONTRACT} WHERE c.customer_id IN ({}) AND c.archived_at IS NULL ORDER BY c.id",
            crate::store::id_list(ids)
        );
        let contracts = with_pool!(self, pool => {
            let rows: Vec<ContractRow> = sqlx::query_as(&sql).persistent(false).fetch_all(pool).await?;
            assemble_contracts!(pool, rows)
        });
        let mut out: HashMap<i64, Vec<StoredContract>> = HashMap::new();
        for c in contracts {
            out.entry(c.data.customer_id).or_default().push(c);
        }
        Ok(out)
    }

    /// Lists contracts in number order after the key `(number, id)`.
    pub async fn list_contracts(
        &self,
        filter: &ContractFilter,
        page: &PageRequest<(String, i64)>,
    ) -> Result<Page<StoredContract, (String, i64)>> {
        let sql = format!(
            "{SELECT_CONTRACT} WHERE ($1 IS NULL OR c.customer_id = $1) AND ($2 IS NULL OR c.kind = $2) \
             AND ($3 IS NULL OR (c.start_date <= $3 AND (c.end_date IS NULL OR c.end_date >= $3))) \
             AND ($4 IS NULL OR LOWER(c.number) LIKE $4 ESCAPE '\\' OR LOWER(c.name) LIKE $4 ESCAPE '\\') \
             AND (($5 = 0 AND c.archived_at IS NULL) OR ($5 = 1 AND c.archived_at IS NOT NULL) OR $5 = 2) \
             AND ($6 IS NULL OR c.number > $6 OR (c.number = $6 AND c.id > $7)) \
             ORDER BY c.number, c.id LIMIT $8"
        );
        let (after_number, after_id) = match &page.after {
            Some((n, id)) => (Some(n.as_str()), *id),
            None => (None, 0),
        };
        let contracts = with_pool!(self, pool => {
            let rows: Vec<ContractRow> = sqlx::query_as(&sql)
                .bind(filter.customer_id)
                .bind(filter.kind.map(|k| k.as_str()))
                .bind(filter.active_on)
                .bind(filter.search.as_deref().map(crate::search::like_pattern))
                .bind(crate::catalog::archived_mode(filter.archived_only))
                .bind(after_number)
                .bind(after_id)
                .bind(i64::from(page.limit) + 1)
                .fetch_all(pool)
                .await?;
            assemble_contracts!(pool, rows)
        });
        Ok(Page::from_overfetch(contracts, page.limit, |c: &StoredContract| (c.data.number.clone(), c.id)))
    }

    /// Applies `change` to the contract's data and stores it with its services and tiers.
    /// With `if_version`, fails with [`StoreError::StaleVersion`] when the contract changed
    /// since. Archived contracts are read-only ([`StoreError::Conflict`]) until restored.
    pub async fn update_contract<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&StoredContract) -> std::result::Result<ContractData, E>,
    ) -> std::result::Result<StoredContract, E> {
        let sql = format!(
            "UPDATE contracts SET ({CONTRACT_COLUMNS}) = \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
             $23), version = version + 1, updated_at = $24 WHERE id = $25 AND version = $26"
        );
        let contract = in_tx!(self, tx => {
            lock_contract!(tx, id);
            let before = fetch_contract!(&mut *tx, id);
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            if before.is_archived() {
                return Err(StoreError::Conflict("the contract is archived; restore it before changing it".into()).into());
            }
            let mut data = change(&before)?;
            // Customer and kind are fixed: the ledger and invoices depend on them.
            data.customer_id = before.data.customer_id;
            if data.kind() != before.data.kind() {
                return Err(StoreError::Conflict("the kind of a contract cannot change".into()).into());
            }
            let updated = bind_contract_data!(sqlx::query(&sql), &data)
                .bind(DbTime::now())
                .bind(id)
                .bind(before.version)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            if updated.rows_affected() == 0 {
                return Err(StoreError::StaleVersion.into());
            }
            write_contract_children!(tx, id, &data);
            let after = fetch_contract!(&mut *tx, id);
            audit!(tx, actor, "contract", id, "update", Some(&before), Some(&after));
            after
        });
        Ok(contract)
    }

    /// Archives (`archive = true`) or restores a contract. Idempotent.
    pub async fn set_contract_archived(
        &self,
        id: i64,
        if_version: Option<i64>,
        archive: bool,
        actor: &Actor,
    ) -> Result<StoredContract> {
        let contract = in_tx!(self, tx => {
            lock_contract!(tx, id);
            let before = fetch_contract!(&mut *tx, id);
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion);
            }
            if before.is_archived() == archive {
                before
            } else {
                let now = DbTime::now();
                sqlx::query("UPDATE contracts SET archived_at = $1, version = version + 1, updated_at = $2 WHERE id = $3")
                    .bind(if archive { Some(now) } else { None })
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let after = fetch_contract!(&mut *tx, id);
                let action = if archive { "archive" } else { "restore" };
                audit!(tx, actor, "contract", id, action, Some(&before), Some(&after));
                after
            }
        });
        Ok(contract)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_numbers_have_the_year_and_four_digits_at_least() {
        assert_eq!(contract_number(2026, 1), "V-2026-0001");
        assert_eq!(contract_number(2026, 12345), "V-2026-12345");
    }

    #[test]
    fn placeholders_are_numbered_from_one() {
        assert_eq!(placeholders(3), "$1, $2, $3");
    }
}

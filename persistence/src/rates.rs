//! Storage of rates, surcharges, rounding rules and holidays, and the inputs of the
//! explained rate resolution.
//!
//! Every stored record maps 1:1 onto a domain type: rate entries onto
//! [`domain::rates::RateEntry`], surcharges onto [`domain::rates::Surcharge`], rounding
//! rules onto [`domain::rounding::RoundingRule`], holidays onto the
//! [`domain::rates::WorkCalendar`]. The invoice run and `/rates/resolve` build their
//! inputs here: [`Store::rate_book`] (one customer's contract, project and customer cards
//! and surcharges), [`Store::work_calendar`], [`Store::user_directory`],
//! [`Store::catalog`], [`Store::effective_rounding`]; contracts come from [`Store::contracts_of_customer`].
//!
//! Rate entries of the same owner, service and user never overlap in validity: writes
//! lock the owner row and check inside the transaction, so concurrent writers on several
//! nodes cannot both slip in.

use crate::audit::Actor;
use crate::page::{Page, PageRequest};
use crate::types::{decode_error, DbTime, ExactDecimal};
use crate::{Result, Store, StoreError};
use domain::catalog::Catalog;
use domain::rates::{
    RateBook, RateEntry, RateOwner, Surcharge, SurchargeKind, SurchargeOwner, UserDirectory, UserRates, WorkCalendar,
};
use domain::rounding::{RoundingMode, RoundingRule};
use domain::Currency;
use rust_decimal::Decimal;
use time::{Date, Time};

/// Start of the business day for the outside-business-hours surcharge.
pub const BUSINESS_START: Time = time::macros::time!(08:00);
/// End of the business day (exclusive).
pub const BUSINESS_END: Time = time::macros::time!(18:00);
/// Currency of catalog prices and users' rates unless the server setting
/// `company_currency` says otherwise.
pub const DEFAULT_COMPANY_CURRENCY: Currency = Currency::EUR;

/// Storage name and id of a rate owner.
pub fn rate_owner_parts(owner: RateOwner) -> (&'static str, i64) {
    match owner {
        RateOwner::Contract(id) => ("contract", id),
        RateOwner::Project(id) => ("project", id),
        RateOwner::Customer(id) => ("customer", id),
    }
}

/// The rate owner from its storage name and id.
pub fn rate_owner_from(kind: &str, id: i64) -> Option<RateOwner> {
    match kind {
        "contract" => Some(RateOwner::Contract(id)),
        "project" => Some(RateOwner::Project(id)),
        "customer" => Some(RateOwner::Customer(id)),
        _ => None,
    }
}

/// Storage name and id of a surcharge owner (`global` has id 0).
pub fn surcharge_owner_parts(owner: SurchargeOwner) -> (&'static str, i64) {
    match owner {
        SurchargeOwner::Contract(id) => ("contract", id),
        SurchargeOwner::Project(id) => ("project", id),
        SurchargeOwner::Customer(id) => ("customer", id),
        SurchargeOwner::Global => ("global", 0),
    }
}

/// The surcharge owner from its storage name and id.
pub fn surcharge_owner_from(kind: &str, id: i64) -> Option<SurchargeOwner> {
    match kind {
        "global" => Some(SurchargeOwner::Global),
        other => rate_owner_from(other, id).map(|o| match o {
            RateOwner::Contract(id) => SurchargeOwner::Contract(id),
            RateOwner::Project(id) => SurchargeOwner::Project(id),
            RateOwner::Customer(id) => SurchargeOwner::Customer(id),
        }),
    }
}

// ---------------------------------------------------------------------------------------
// Rate entries
// ---------------------------------------------------------------------------------------

/// The writable fields of a rate entry (the owner is fixed at creation).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RateEntryData {
    pub owner: RateOwner,
    /// `None`: any hourly service.
    pub service_id: Option<i64>,
    /// `None`: any user.
    pub user_id: Option<i64>,
    pub unit_price: Decimal,
    pub currency: Currency,
    pub valid_from: Date,
    /// Exclusive; `None` = open-ended.
    pub valid_to: Option<Date>,
}

/// A stored rate entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredRateEntry {
    pub id: i64,
    #[serde(flatten)]
    pub data: RateEntryData,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

impl StoredRateEntry {
    /// The entry as rate resolution sees it.
    pub fn to_domain(&self) -> RateEntry {
        let d = &self.data;
        RateEntry {
            id: self.id,
            owner: d.owner,
            service_id: d.service_id,
            user_id: d.user_id,
            unit_price: d.unit_price,
            currency: d.currency,
            valid_from: d.valid_from,
            valid_to: d.valid_to,
        }
    }
}

#[derive(sqlx::FromRow)]
struct RateRow {
    id: i64,
    owner_type: String,
    owner_id: i64,
    service_id: Option<i64>,
    user_id: Option<i64>,
    unit_price: ExactDecimal,
    currency: String,
    valid_from: Date,
    valid_to: Option<Date>,
    version: i64,
    created_at: DbTime,
    updated_at: DbTime,
}

impl TryFrom<RateRow> for StoredRateEntry {
    type Error = StoreError;
    fn try_from(r: RateRow) -> Result<Self> {
        let owner = rate_owner_from(&r.owner_type, r.owner_id)
            .ok_or_else(|| decode_error(format!("rate entry {}: unknown owner type `{}`", r.id, r.owner_type)))?;
        let currency = r.currency.parse::<Currency>().map_err(|e| decode_error(e.to_string()))?;
        Ok(StoredRateEntry {
            id: r.id,
            data: RateEntryData {
                owner,
                service_id: r.service_id,
                user_id: r.user_id,
                unit_price: r.unit_price.0,
                currency,
                valid_from: r.valid_from,
                valid_to: r.valid_to,
            },
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn rate_rows(rows: Vec<RateRow>) -> Result<Vec<StoredRateEntry>> {
    rows.into_iter().map(StoredRateEntry::try_from).collect()
}

/// Which rate entries to list (always in id order).
#[derive(Debug, Clone, Default)]
pub struct RateFilter {
    pub owner: Option<RateOwner>,
    /// Only entries of this owner type (when `owner` is not given).
    pub owner_type: Option<String>,
    pub service_id: Option<i64>,
    pub user_id: Option<i64>,
    /// Only entries valid on this day.
    pub valid_on: Option<Date>,
}

/// The customer a rate or surcharge owner bills, if the owner exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerCustomer {
    /// No such contract, project or customer.
    Missing,
    /// The owner exists but bills no customer (an internal project).
    Internal,
    /// The owner bills this customer in this currency.
    Customer { id: i64, currency: Currency },
}

/// Table of an owner's row, for existence checks and row locks.
fn owner_table(owner: RateOwner) -> &'static str {
    match owner {
        RateOwner::Contract(_) => "contracts",
        RateOwner::Project(_) => "projects",
        RateOwner::Customer(_) => "customers",
    }
}

/// Locks the owner row until the transaction ends (a no-op update: a row lock on
/// PostgreSQL; SQLite's write transactions are serialized anyway). Fails with
/// [`StoreError::NotFound`] when the owner does not exist.
macro_rules! lock_owner {
    ($tx:expr, $owner:expr) => {{
        let owner: RateOwner = $owner;
        let sql = format!("UPDATE {} SET version = version WHERE id = $1", owner_table(owner));
        let res =
            sqlx::query(&sql).bind(rate_owner_parts(owner).1).execute(&mut *$tx).await.map_err(StoreError::from)?;
        if res.rows_affected() == 0 {
            return Err(StoreError::MissingReference("owner_id".into()).into());
        }
    }};
}

/// Fails with [`StoreError::Conflict`] naming the entry that overlaps `d` (same owner,
/// service and user, overlapping validity), ignoring the entry `except`.
macro_rules! check_overlap {
    ($tx:expr, $d:expr, $except:expr) => {{
        let d: &RateEntryData = $d;
        let (kind, owner_id) = rate_owner_parts(d.owner);
        let clash: Option<(i64, Date, Option<Date>)> = sqlx::query_as(
            "SELECT id, valid_from, valid_to FROM rate_entries WHERE owner_type = $1 AND owner_id = $2 \
             AND (service_id = $3 OR (service_id IS NULL AND $3 IS NULL)) \
             AND (user_id = $4 OR (user_id IS NULL AND $4 IS NULL)) \
             AND ($5 IS NULL OR valid_from < $5) AND (valid_to IS NULL OR valid_to > $6) AND id <> $7 \
             ORDER BY valid_from, id LIMIT 1",
        )
        .bind(kind)
        .bind(owner_id)
        .bind(d.service_id)
        .bind(d.user_id)
        .bind(d.valid_to)
        .bind(d.valid_from)
        .bind($except)
        .fetch_optional(&mut *$tx)
        .await
        .map_err(StoreError::from)?;
        if let Some((id, from, to)) = clash {
            return Err(StoreError::Conflict(format!(
                "the validity overlaps rate entry {id} ({from} to {}) of the same owner, service and user; \
                 end that entry first (valid_to) or choose another period",
                to.map_or("open end".to_string(), |t| t.to_string())
            ))
            .into());
        }
    }};
}

macro_rules! bind_rate_data {
    ($q:expr, $d:expr) => {
        $q.bind($d.service_id)
            .bind($d.user_id)
            .bind(ExactDecimal($d.unit_price))
            .bind($d.currency.code())
            .bind($d.valid_from)
            .bind($d.valid_to)
    };
}

impl Store {
    /// The customer (and its currency) a rate or surcharge owner bills.
    pub async fn owner_customer(&self, owner: RateOwner) -> Result<OwnerCustomer> {
        let sql = match owner {
            RateOwner::Customer(_) => "SELECT id, currency FROM customers WHERE id = $1",
            RateOwner::Project(_) => {
                "SELECT c.id, c.currency FROM projects p LEFT JOIN customers c ON c.id = p.customer_id WHERE p.id = $1"
            }
            RateOwner::Contract(_) => {
                "SELECT c.id, c.currency FROM contracts k LEFT JOIN customers c ON c.id = k.customer_id WHERE k.id = $1"
            }
        };
        let row: Option<(Option<i64>, Option<String>)> =
            with_pool!(self, pool => sqlx::query_as(sql).bind(rate_owner_parts(owner).1).fetch_optional(pool).await?);
        Ok(match row {
            None => OwnerCustomer::Missing,
            Some((Some(id), Some(code))) => OwnerCustomer::Customer {
                id,
                currency: code.parse::<Currency>().map_err(|e| decode_error(e.to_string()))?,
            },
            Some(_) => OwnerCustomer::Internal,
        })
    }

    /// Stores a rate entry; an overlap with an entry of the same owner, service and user
    /// is a [`StoreError::Conflict`] naming it.
    pub async fn create_rate_entry(&self, d: &RateEntryData, actor: &Actor) -> Result<StoredRateEntry> {
        let (kind, owner_id) = rate_owner_parts(d.owner);
        let entry = in_tx!(self, tx => {
            lock_owner!(tx, d.owner);
            check_overlap!(tx, d, 0_i64);
            let row: RateRow = bind_rate_data!(sqlx::query_as(
                "INSERT INTO rate_entries (owner_type, owner_id, service_id, user_id, unit_price, currency, \
                 valid_from, valid_to, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9) RETURNING *").bind(kind).bind(owner_id), d)
                .bind(DbTime::now())
                .fetch_one(&mut *tx)
                .await?;
            let entry = StoredRateEntry::try_from(row)?;
            audit!(tx, actor, "rate_entry", entry.id, "create", None::<&StoredRateEntry>, Some(&entry));
            entry
        });
        Ok(entry)
    }

    /// The rate entry with this id.
    pub async fn get_rate_entry(&self, id: i64) -> Result<StoredRateEntry> {
        let row: RateRow = with_pool!(self, pool => sqlx::query_as("SELECT * FROM rate_entries WHERE id = $1")
            .bind(id).fetch_one(pool).await?);
        row.try_into()
    }

    /// Lists rate entries in id order after the id `page.after`.
    pub async fn list_rate_entries(
        &self,
        f: &RateFilter,
        page: &PageRequest<i64>,
    ) -> Result<Page<StoredRateEntry, i64>> {
        let (kind, owner_id) = match f.owner {
            Some(o) => {
                let (k, id) = rate_owner_parts(o);
                (Some(k.to_string()), Some(id))
            }
            None => (f.owner_type.clone(), None),
        };
        let rows: Vec<RateRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM rate_entries WHERE ($1 IS NULL OR owner_type = $1) AND ($2 IS NULL OR owner_id = $2) \
             AND ($3 IS NULL OR service_id = $3) AND ($4 IS NULL OR user_id = $4) \
             AND ($5 IS NULL OR (valid_from <= $5 AND (valid_to IS NULL OR valid_to > $5))) \
             AND id > $6 ORDER BY id LIMIT $7")
            .bind(kind).bind(owner_id).bind(f.service_id).bind(f.user_id).bind(f.valid_on)
            .bind(page.after.unwrap_or(0)).bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        Ok(Page::from_overfetch(rate_rows(rows)?, page.limit, |e| e.id))
    }

    /// Applies `change` to a rate entry and stores it (owner unchanged), re-checking overlaps.
    pub async fn update_rate_entry<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&StoredRateEntry) -> std::result::Result<RateEntryData, E>,
    ) -> std::result::Result<StoredRateEntry, E> {
        let entry = in_tx!(self, tx => {
            let row: RateRow = sqlx::query_as("SELECT * FROM rate_entries WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            let before = StoredRateEntry::try_from(row)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            let mut d = change(&before)?;
            d.owner = before.data.owner;
            lock_owner!(tx, d.owner);
            check_overlap!(tx, &d, id);
            let row: RateRow = bind_rate_data!(sqlx::query_as(
                "UPDATE rate_entries SET service_id = $1, user_id = $2, unit_price = $3, currency = $4, \
                 valid_from = $5, valid_to = $6, version = version + 1, updated_at = $7 \
                 WHERE id = $8 AND version = $9 RETURNING *"), d)
                .bind(DbTime::now()).bind(id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
                .ok_or(StoreError::StaleVersion)?;
            let after = StoredRateEntry::try_from(row)?;
            audit!(tx, actor, "rate_entry", id, "update", Some(&before), Some(&after));
            after
        });
        Ok(entry)
    }

    /// Deletes a rate entry (issued invoices keep their prices on their lines).
    pub async fn delete_rate_entry(&self, id: i64, if_version: Option<i64>, actor: &Actor) -> Result<()> {
        in_tx!(self, tx => {
            let row: RateRow = sqlx::query_as("SELECT * FROM rate_entries WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await?;
            let before = StoredRateEntry::try_from(row)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion);
            }
            sqlx::query("DELETE FROM rate_entries WHERE id = $1").bind(id).execute(&mut *tx).await?;
            audit!(tx, actor, "rate_entry", id, "delete", Some(&before), None::<&StoredRateEntry>);
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Surcharges
// ---------------------------------------------------------------------------------------

/// The writable fields of a surcharge (the owner is fixed at creation).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SurchargeData {
    pub owner: SurchargeOwner,
    pub kind: SurchargeKind,
    /// Percent added, e.g. 50 for +50 %.
    pub percent: Decimal,
    pub valid_from: Date,
    pub valid_to: Option<Date>,
}

/// A stored surcharge definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredSurcharge {
    pub id: i64,
    #[serde(flatten)]
    pub data: SurchargeData,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

impl StoredSurcharge {
    /// The definition as rate resolution sees it.
    pub fn to_domain(&self) -> Surcharge {
        let d = &self.data;
        Surcharge {
            id: self.id,
            owner: d.owner,
            kind: d.kind,
            percent: d.percent,
            valid_from: d.valid_from,
            valid_to: d.valid_to,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SurchargeRow {
    id: i64,
    owner_type: String,
    owner_id: i64,
    #[sqlx(try_from = "String")]
    kind: SurchargeKind,
    percent: ExactDecimal,
    valid_from: Date,
    valid_to: Option<Date>,
    version: i64,
    created_at: DbTime,
    updated_at: DbTime,
}

impl TryFrom<SurchargeRow> for StoredSurcharge {
    type Error = StoreError;
    fn try_from(r: SurchargeRow) -> Result<Self> {
        let owner = surcharge_owner_from(&r.owner_type, r.owner_id)
            .ok_or_else(|| decode_error(format!("surcharge {}: unknown owner type `{}`", r.id, r.owner_type)))?;
        Ok(StoredSurcharge {
            id: r.id,
            data: SurchargeData {
                owner,
                kind: r.kind,
                percent: r.percent.0,
                valid_from: r.valid_from,
                valid_to: r.valid_to,
            },
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn surcharge_rows(rows: Vec<SurchargeRow>) -> Result<Vec<StoredSurcharge>> {
    rows.into_iter().map(StoredSurcharge::try_from).collect()
}

/// Which surcharges to list (always in id order).
#[derive(Debug, Clone, Default)]
pub struct SurchargeFilter {
    pub owner: Option<SurchargeOwner>,
    pub owner_type: Option<String>,
    pub kind: Option<SurchargeKind>,
    pub valid_on: Option<Date>,
}

impl Store {
    /// Stores a surcharge definition.
    pub async fn create_surcharge(&self, d: &SurchargeData, actor: &Actor) -> Result<StoredSurcharge> {
        let (kind, owner_id) = surcharge_owner_parts(d.owner);
        let s = in_tx!(self, tx => {
            let row: SurchargeRow = sqlx::query_as(
                "INSERT INTO surcharges (owner_type, owner_id, kind, percent, valid_from, valid_to, version, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING *")
                .bind(kind).bind(owner_id).bind(d.kind.as_str()).bind(ExactDecimal(d.percent))
                .bind(d.valid_from).bind(d.valid_to).bind(DbTime::now())
                .fetch_one(&mut *tx).await?;
            let s = StoredSurcharge::try_from(row)?;
            audit!(tx, actor, "surcharge", s.id, "create", None::<&StoredSurcharge>, Some(&s));
            s
        });
        Ok(s)
    }

    /// The surcharge with this id.
    pub async fn get_surcharge(&self, id: i64) -> Result<StoredSurcharge> {
        let row: SurchargeRow = with_pool!(self, pool => sqlx::query_as("SELECT * FROM surcharges WHERE id = $1")
            .bind(id).fetch_one(pool).await?);
        row.try_into()
    }

    /// Lists surcharges in id order after the id `page.after`.
    pub async fn list_surcharges(
        &self,
        f: &SurchargeFilter,
        page: &PageRequest<i64>,
    ) -> Result<Page<StoredSurcharge, i64>> {
        let (kind, owner_id) = match f.owner {
            Some(o) => {
                let (k, id) = surcharge_owner_parts(o);
                (Some(k.to_string()), Some(id))
            }
            None => (f.owner_type.clone(), None),
        };
        let rows: Vec<SurchargeRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM surcharges WHERE ($1 IS NULL OR owner_type = $1) AND ($2 IS NULL OR owner_id = $2) \
             AND ($3 IS NULL OR kind = $3) \
             AND ($4 IS NULL OR (valid_from <= $4 AND (valid_to IS NULL OR valid_to > $4))) \
             AND id > $5 ORDER BY id LIMIT $6")
            .bind(kind).bind(owner_id).bind(f.kind.map(|k| k.as_str())).bind(f.valid_on)
            .bind(page.after.unwrap_or(0)).bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        Ok(Page::from_overfetch(surcharge_rows(rows)?, page.limit, |s| s.id))
    }

    /// Applies `change` to a surcharge and stores it (owner unchanged).
    pub async fn update_surcharge<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&StoredSurcharge) -> std::result::Result<SurchargeData, E>,
    ) -> std::result::Result<StoredSurcharge, E> {
        let s = in_tx!(self, tx => {
            let row: SurchargeRow = sqlx::query_as("SELECT * FROM surcharges WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            let before = StoredSurcharge::try_from(row)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            let d = change(&before)?;
            let row: SurchargeRow = sqlx::query_as(
                "UPDATE surcharges SET kind = $1, percent = $2, valid_from = $3, valid_to = $4, \
                 version = version + 1, updated_at = $5 WHERE id = $6 AND version = $7 RETURNING *")
                .bind(d.kind.as_str()).bind(ExactDecimal(d.percent)).bind(d.valid_from).bind(d.valid_to)
                .bind(DbTime::now()).bind(id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
                .ok_or(StoreError::StaleVersion)?;
            let after = StoredSurcharge::try_from(row)?;
            audit!(tx, actor, "surcharge", id, "update", Some(&before), Some(&after));
            after
        });
        Ok(s)
    }

    /// Deletes a surcharge definition.
    pub async fn delete_surcharge(&self, id: i64, if_version: Option<i64>, actor: &Actor) -> Result<()> {
        in_tx!(self, tx => {
            let row: SurchargeRow = sqlx::query_as("SELECT * FROM surcharges WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await?;
            let before = StoredSurcharge::try_from(row)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion);
            }
            sqlx::query("DELETE FROM surcharges WHERE id = $1").bind(id).execute(&mut *tx).await?;
            audit!(tx, actor, "surcharge", id, "delete", Some(&before), None::<&StoredSurcharge>);
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Rounding rules
// ---------------------------------------------------------------------------------------

/// Whose rounding rule: the company-wide default or a customer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum RoundingOwner {
    Global,
    Customer(i64),
}

impl RoundingOwner {
    fn parts(self) -> (&'static str, i64) {
        match self {
            RoundingOwner::Global => ("global", 0),
            RoundingOwner::Customer(id) => ("customer", id),
        }
    }
}

/// A stored rounding rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredRoundingRule {
    pub id: i64,
    pub owner: RoundingOwner,
    pub rule: RoundingRule,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

#[derive(sqlx::FromRow)]
struct RoundingRow {
    id: i64,
    owner_type: String,
    owner_id: i64,
    increment_minutes: i64,
    minimum_minutes: i64,
    #[sqlx(try_from = "String")]
    mode: RoundingMode,
    version: i64,
    created_at: DbTime,
    updated_at: DbTime,
}

impl TryFrom<RoundingRow> for StoredRoundingRule {
    type Error = StoreError;
    fn try_from(r: RoundingRow) -> Result<Self> {
        let owner = match r.owner_type.as_str() {
            "global" => RoundingOwner::Global,
            "customer" => RoundingOwner::Customer(r.owner_id),
            other => return Err(decode_error(format!("rounding rule {}: unknown owner type `{other}`", r.id))),
        };
        let minutes = |v: i64| u32::try_from(v).map_err(|e| decode_error(format!("rounding rule {}: {e}", r.id)));
        Ok(StoredRoundingRule {
            id: r.id,
            owner,
            rule: RoundingRule {
                increment_minutes: minutes(r.increment_minutes)?,
                minimum_minutes: minutes(r.minimum_minutes)?,
                mode: r.mode,
            },
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Where the rounding rule of a booking comes from, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingSource {
    /// The contract's own rule.
    Contract,
    /// The customer's rule.
    Customer,
    /// The stored company-wide rule.
    Global,
    /// No rule stored anywhere: the built-in default (15-minute increments, up, 15 minimum).
    Default,
}

impl RoundingSource {
    /// Storage/wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RoundingSource::Contract => "contract",
            RoundingSource::Customer => "customer",
            RoundingSource::Global => "global",
            RoundingSource::Default => "default",
        }
    }
}

impl Store {
    /// The stored rule of `owner`, if any.
    pub async fn get_rounding_rule(&self, owner: RoundingOwner) -> Result<Option<StoredRoundingRule>> {
        let (kind, id) = owner.parts();
        let row: Option<RoundingRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM rounding_rules WHERE owner_type = $1 AND owner_id = $2")
            .bind(kind).bind(id).fetch_optional(pool).await?);
        row.map(StoredRoundingRule::try_from).transpose()
    }

    /// Stored rounding rules (global first, then customers) in id order after `page.after`.
    pub async fn list_rounding_rules(
        &self,
        customer_id: Option<i64>,
        page: &PageRequest<i64>,
    ) -> Result<Page<StoredRoundingRule, i64>> {
        let rows: Vec<RoundingRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM rounding_rules WHERE ($1 IS NULL OR (owner_type = 'customer' AND owner_id = $1)) \
             AND id > $2 ORDER BY id LIMIT $3")
            .bind(customer_id).bind(page.after.unwrap_or(0)).bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        let rules = rows.into_iter().map(StoredRoundingRule::try_from).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(rules, page.limit, |r| r.id))
    }

    /// Sets the rule of `owner` (creating it when there is none). Returns the rule and
    /// whether it was created. With `if_version`, a changed or missing rule is stale.
    pub async fn put_rounding_rule(
        &self,
        owner: RoundingOwner,
        rule: RoundingRule,
        if_version: Option<i64>,
        actor: &Actor,
    ) -> Result<(StoredRoundingRule, bool)> {
        let (kind, owner_id) = owner.parts();
        let out = in_tx!(self, tx => {
            if let RoundingOwner::Customer(id) = owner {
                lock_owner!(tx, RateOwner::Customer(id));
            }
            let before: Option<RoundingRow> = sqlx::query_as(
                "SELECT * FROM rounding_rules WHERE owner_type = $1 AND owner_id = $2")
                .bind(kind).bind(owner_id).fetch_optional(&mut *tx).await?;
            let before = before.map(StoredRoundingRule::try_from).transpose()?;
            if let Some(v) = if_version {
                if before.as_ref().map(|b| b.version) != Some(v) {
                    return Err(StoreError::StaleVersion);
                }
            }
            let now = DbTime::now();
            let row: RoundingRow = sqlx::query_as(
                "INSERT INTO rounding_rules (owner_type, owner_id, increment_minutes, minimum_minutes, mode, \
                 version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6) \
                 ON CONFLICT (owner_type, owner_id) DO UPDATE SET increment_minutes = $3, minimum_minutes = $4, \
                 mode = $5, version = rounding_rules.version + 1, updated_at = $6 RETURNING *")
                .bind(kind).bind(owner_id).bind(i64::from(rule.increment_minutes))
                .bind(i64::from(rule.minimum_minutes)).bind(rule.mode.as_str()).bind(now)
                .fetch_one(&mut *tx).await?;
            let after = StoredRoundingRule::try_from(row)?;
            let action = if before.is_some() { "update" } else { "create" };
            audit!(tx, actor, "rounding_rule", after.id, action, before.as_ref(), Some(&after));
            (after, before.is_none())
        });
        Ok(out)
    }

    /// Removes the rule of `owner`; [`StoreError::NotFound`] when there is none.
    pub async fn delete_rounding_rule(
        &self,
        owner: RoundingOwner,
        if_version: Option<i64>,
        actor: &Actor,
    ) -> Result<()> {
        let (kind, owner_id) = owner.parts();
        in_tx!(self, tx => {
            let row: RoundingRow = sqlx::query_as("SELECT * FROM rounding_rules WHERE owner_type = $1 AND owner_id = $2")
                .bind(kind).bind(owner_id).fetch_one(&mut *tx).await?;
            let before = StoredRoundingRule::try_from(row)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion);
            }
            sqlx::query("DELETE FROM rounding_rules WHERE id = $1").bind(before.id).execute(&mut *tx).await?;
            audit!(tx, actor, "rounding_rule", before.id, "delete", Some(&before), None::<&StoredRoundingRule>);
        });
        Ok(())
    }

    /// The rounding rule of a customer's bookings outside a contract with its own rule:
    /// the customer's rule, else the stored global rule, else the built-in default.
    pub async fn effective_rounding(&self, customer_id: i64) -> Result<(RoundingRule, RoundingSource)> {
        if let Some(r) = self.get_rounding_rule(RoundingOwner::Customer(customer_id)).await? {
            return Ok((r.rule, RoundingSource::Customer));
        }
        Ok(match self.get_rounding_rule(RoundingOwner::Global).await? {
            Some(r) => (r.rule, RoundingSource::Global),
            None => (RoundingRule::default(), RoundingSource::Default),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Holidays
// ---------------------------------------------------------------------------------------

/// A public holiday.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Holiday {
    pub holiday_date: Date,
    pub name: String,
    pub created_at: DbTime,
}

/// Audit-log id of a holiday: its date as `yyyymmdd`.
fn holiday_entity_id(d: Date) -> i64 {
    i64::from(d.year()) * 10_000 + i64::from(u8::from(d.month())) * 100 + i64::from(d.day())
}

impl Store {
    /// Holidays in date order after `page.after`, optionally of one year only.
    pub async fn list_holidays(&self, year: Option<i32>, page: &PageRequest<Date>) -> Result<Page<Holiday, Date>> {
        let range = year.and_then(|y| {
            Some((
                Date::from_calendar_date(y, time::Month::January, 1).ok()?,
                Date::from_calendar_date(y, time::Month::December, 31).ok()?,
            ))
        });
        let rows: Vec<Holiday> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM holidays WHERE ($1 IS NULL OR holiday_date >= $1) AND ($2 IS NULL OR holiday_date <= $2) \
             AND ($3 IS NULL OR holiday_date > $3) ORDER BY holiday_date LIMIT $4")
            .bind(range.map(|r| r.0)).bind(range.map(|r| r.1)).bind(page.after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        Ok(Page::from_overfetch(rows, page.limit, |h| h.holiday_date))
    }

    /// Sets the holiday on `date` (creating or renaming it); returns it and whether it was created.
    pub async fn put_holiday(&self, date: Date, name: &str, actor: &Actor) -> Result<(Holiday, bool)> {
        let out = in_tx!(self, tx => {
            let before: Option<Holiday> = sqlx::query_as("SELECT * FROM holidays WHERE holiday_date = $1")
                .bind(date).fetch_optional(&mut *tx).await?;
            let after: Holiday = sqlx::query_as(
                "INSERT INTO holidays (holiday_date, name, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (holiday_date) DO UPDATE SET name = $2 RETURNING *")
                .bind(date).bind(name).bind(DbTime::now())
                .fetch_one(&mut *tx).await?;
            let action = if before.is_some() { "update" } else { "create" };
            audit!(tx, actor, "holiday", holiday_entity_id(date), action, before.as_ref(), Some(&after));
            (after, before.is_none())
        });
        Ok(out)
    }

    /// Removes the holiday on `date`; [`StoreError::NotFound`] when there is none.
    pub async fn delete_holiday(&self, date: Date, actor: &Actor) -> Result<()> {
        in_tx!(self, tx => {
            let before: Holiday = sqlx::query_as("SELECT * FROM holidays WHERE holiday_date = $1")
                .bind(date).fetch_one(&mut *tx).await?;
            sqlx::query("DELETE FROM holidays WHERE holiday_date = $1").bind(date).execute(&mut *tx).await?;
            audit!(tx, actor, "holiday", holiday_entity_id(date), "delete", Some(&before), None::<&Holiday>);
        });
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Inputs of rate resolution (for the invoice run and /rates/resolve)
// ---------------------------------------------------------------------------------------

impl Store {
    /// One customer's rate book: the rate entries and surcharges of the customer, its
    /// projects and its contracts (company-wide surcharges are in [`Store::work_calendar`]).
    pub async fn rate_book(&self, customer_id: i64) -> Result<RateBook> {
        // One select per owner level (each by the owner index), not one `OR` over all
        // three: that one is a scan of every entry of every customer, per customer.
        let owned = |table: &str| {
            format!(
                "SELECT * FROM {table} WHERE owner_type = 'customer' AND owner_id = $1 \
                 UNION ALL SELECT * FROM {table} WHERE owner_type = 'project' \
                 AND owner_id IN (SELECT id FROM projects WHERE customer_id = $1) \
                 UNION ALL SELECT * FROM {table} WHERE owner_type = 'contract' \
                 AND owner_id IN (SELECT id FROM contracts WHERE customer_id = $1) ORDER BY id"
            )
        };
        let (rates_sql, surcharges_sql) = (owned("rate_entries"), owned("surcharges"));
        let (rates, surcharges): (Vec<RateRow>, Vec<SurchargeRow>) = with_pool!(self, pool => {
            let rates = sqlx::query_as(&rates_sql).bind(customer_id).fetch_all(pool).await?;
            let surcharges = sqlx::query_as(&surcharges_sql).bind(customer_id).fetch_all(pool).await?;
            (rates, surcharges)
        });
        let entries = rate_rows(rates)?.iter().map(StoredRateEntry::to_domain).collect();
        let surcharges = surcharge_rows(surcharges)?.iter().map(StoredSurcharge::to_domain).collect();
        Ok(RateBook::new(entries, surcharges))
    }

    /// Public holidays, business hours (08:00–18:00) and the company-wide surcharges.
    pub async fn work_calendar(&self) -> Result<WorkCalendar> {
        let (days, rows): (Vec<Date>, Vec<SurchargeRow>) = with_pool!(self, pool => {
            let days = sqlx::query_scalar("SELECT holiday_date FROM holidays ORDER BY holiday_date").fetch_all(pool).await?;
            let rows = sqlx::query_as("SELECT * FROM surcharges WHERE owner_type = 'global' ORDER BY id")
                .fetch_all(pool).await?;
            (days, rows)
        });
        let global = surcharge_rows(rows)?.iter().map(StoredSurcharge::to_domain).collect();
        Ok(WorkCalendar::new(days, BUSINESS_START, BUSINESS_END, global))
    }

    /// Every user's internal cost rate and default sales rate.
    pub async fn user_directory(&self) -> Result<UserDirectory> {
        let rows: Vec<(i64, Option<ExactDecimal>, Option<ExactDecimal>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, internal_cost_rate, default_sales_rate FROM users ORDER BY id").fetch_all(pool).await?);
        Ok(UserDirectory::new(
            rows.into_iter()
                .map(|(user_id, cost, sales)| UserRates {
                    user_id,
                    internal_cost_rate: cost.map(|d| d.0),
                    default_sales_rate: sales.map(|d| d.0),
                })
                .collect(),
        ))
    }

    /// The whole service catalog (archived services included) as the engine sees it.
    pub async fn catalog(&self) -> Result<Catalog> {
        Ok(Catalog::new(self.all_services().await?.iter().map(|s| s.to_domain()).collect()))
    }

    /// Currency of catalog prices and users' rates: the server setting
    /// `company_currency`, else [`DEFAULT_COMPANY_CURRENCY`].
    pub async fn company_currency(&self) -> Result<Currency> {
        let code: Option<String> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT value FROM server_settings WHERE key = 'company_currency'").fetch_optional(pool).await?);
        Ok(code.and_then(|c| c.parse().ok()).unwrap_or(DEFAULT_COMPANY_CURRENCY))
    }

    /// The contract a ticket names, if any.
    pub async fn ticket_contract(&self, ticket_id: i64) -> Result<Option<i64>> {
        let row: Option<Option<i64>> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT contract_id FROM tickets WHERE id = $1").bind(ticket_id).fetch_optional(pool).await?);
        Ok(row.flatten())
    }
}

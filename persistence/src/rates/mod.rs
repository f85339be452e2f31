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
//!
//! This module owns the rate entries (the rate cards of contracts, projects and
//! customers), the owner helpers and the owner row lock (`lock_owner!`, defined before the
//! submodules so that they can use it); `surcharges` stores surcharge definitions,
//! `rounding` the rounding rules, `holidays` the public holidays, and `resolution` reads
//! the inputs of rate resolution. Their public items are re-exported here, so every path
//! stays `persistence::rates::…`.

use crate::audit::Actor;
use crate::page::{Page, PageRequest};
use crate::types::{decode_error, DbTime, ExactDecimal};
use crate::{Result, Store, StoreError};
use domain::rates::{RateEntry, RateOwner};
use domain::Currency;
use rust_decimal::Decimal;
use time::Date;

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

mod holidays;
mod resolution;
mod rounding;
mod surcharges;

pub use holidays::Holiday;
pub use resolution::{BUSINESS_END, BUSINESS_START, DEFAULT_COMPANY_CURRENCY};
pub use rounding::{RoundingOwner, RoundingSource, StoredRoundingRule};
pub use surcharges::{surcharge_owner_from, surcharge_owner_parts, StoredSurcharge, SurchargeData, SurchargeFilter};

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

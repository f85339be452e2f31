//! Storage of the service catalog (Leistungen / výkony): what can be booked and billed.
//!
//! Services are never hard-deleted: bookings, expenses, rates and custom-field mappings
//! refer to them, so "delete" archives (hidden from default lists, still readable and
//! restorable).

use crate::audit::Actor;
use crate::page::{Page, PageRequest};
use crate::search::like_pattern;
use crate::types::{DbTime, ExactDecimal};
use crate::{Result, Store, StoreError};
use domain::catalog::{ServiceKind, Unit};
use rust_decimal::Decimal;

/// The writable fields of a catalog service.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServiceData {
    /// Short unique code, e.g. `REMOTE`.
    pub code: String,
    /// Name printed on invoice lines.
    pub name: String,
    pub unit: Unit,
    pub kind: ServiceKind,
    /// Default unit price (last level of rate resolution).
    pub default_price: Option<Decimal>,
    /// VAT rate in percent.
    pub vat_rate: Decimal,
    pub billable_by_default: bool,
}

/// A stored catalog service.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Service {
    pub id: i64,
    #[serde(flatten)]
    pub data: ServiceData,
    pub archived_at: Option<DbTime>,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

impl Service {
    /// The service as the billing engine sees it.
    pub fn to_domain(&self) -> domain::catalog::Service {
        let d = &self.data;
        domain::catalog::Service {
            id: self.id,
            code: d.code.clone(),
            name: d.name.clone(),
            unit: d.unit,
            default_price: d.default_price,
            vat_rate: d.vat_rate,
            billable_by_default: d.billable_by_default,
            kind: d.kind,
        }
    }

    /// Whether the service is archived.
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: i64,
    code: String,
    name: String,
    #[sqlx(try_from = "String")]
    unit: Unit,
    #[sqlx(try_from = "String")]
    kind: ServiceKind,
    default_price: Option<ExactDecimal>,
    vat_rate: ExactDecimal,
    billable_by_default: bool,
    archived_at: Option<DbTime>,
    version: i64,
    created_at: DbTime,
    updated_at: DbTime,
}

impl From<ServiceRow> for Service {
    fn from(r: ServiceRow) -> Self {
        Service {
            id: r.id,
            data: ServiceData {
                code: r.code,
                name: r.name,
                unit: r.unit,
                kind: r.kind,
                default_price: r.default_price.map(|d| d.0),
                vat_rate: r.vat_rate.0,
                billable_by_default: r.billable_by_default,
            },
            archived_at: r.archived_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Which services to list (always sorted by code, then id).
#[derive(Debug, Clone, Default)]
pub struct ServiceFilter {
    /// Case-insensitive substring of code or name.
    pub search: Option<String>,
    /// Exact code.
    pub code: Option<String>,
    pub kind: Option<ServiceKind>,
    pub unit: Option<Unit>,
    /// `None`: only active; `Some(true)`: only archived; `Some(false)`: all.
    pub archived_only: Option<bool>,
}

pub(crate) fn archived_mode(archived_only: Option<bool>) -> i64 {
    match archived_only {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    }
}

macro_rules! bind_service_data {
    ($q:expr, $d:expr) => {
        $q.bind(&$d.code)
            .bind(&$d.name)
            .bind($d.unit.as_str())
            .bind($d.kind.as_str())
            .bind($d.default_price.map(ExactDecimal))
            .bind(ExactDecimal($d.vat_rate))
            .bind($d.billable_by_default)
    };
}

impl Store {
    /// Adds a service to the catalog; a taken code is [`StoreError::Duplicate`].
    pub async fn create_service(&self, data: &ServiceData, actor: &Actor) -> Result<Service> {
        let service = in_tx!(self, tx => {
            let row: ServiceRow = bind_service_data!(sqlx::query_as(
                "INSERT INTO services (code, name, unit, kind, default_price, vat_rate, billable_by_default, \
                 version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) RETURNING *"), data)
                .bind(DbTime::now())
                .fetch_one(&mut *tx)
                .await?;
            let service = Service::from(row);
            audit!(tx, actor, "service", service.id, "create", None::<&Service>, Some(&service));
            service
        });
        Ok(service)
    }

    /// The service with this id (archived ones included).
    pub async fn get_service(&self, id: i64) -> Result<Service> {
        self.find_service(id).await?.ok_or(StoreError::NotFound)
    }

    /// The service with this id (archived ones included), if there is one.
    pub async fn find_service(&self, id: i64) -> Result<Option<Service>> {
        let row: Option<ServiceRow> = with_pool!(self, pool => sqlx::query_as("SELECT * FROM services WHERE id = $1")
            .bind(id).fetch_optional(pool).await?);
        Ok(row.map(Service::from))
    }

    /// Every service, archived ones included, in id order (for the billing engine's catalog).
    pub async fn all_services(&self) -> Result<Vec<Service>> {
        let rows: Vec<ServiceRow> = with_pool!(self, pool => sqlx::query_as("SELECT * FROM services ORDER BY id")
            .fetch_all(pool).await?);
        Ok(rows.into_iter().map(Service::from).collect())
    }

    /// Lists services in code order after the key `(code, id)`.
    pub async fn list_services(
        &self,
        filter: &ServiceFilter,
        page: &PageRequest<(String, i64)>,
    ) -> Result<Page<Service, (String, i64)>> {
        let (after_code, after_id) = match &page.after {
            Some((k, id)) => (Some(k.as_str()), *id),
            None => (None, 0),
        };
        let rows: Vec<ServiceRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM services WHERE \
             ($1 IS NULL OR LOWER(code) LIKE $1 ESCAPE '\\' OR LOWER(name) LIKE $1 ESCAPE '\\') \
             AND ($2 IS NULL OR code = $2) AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR unit = $4) \
             AND (($5 = 0 AND archived_at IS NULL) OR ($5 = 1 AND archived_at IS NOT NULL) OR $5 = 2) \
             AND ($6 IS NULL OR code > $6 OR (code = $6 AND id > $7)) \
             ORDER BY code, id LIMIT $8")
            .bind(filter.search.as_deref().map(like_pattern))
            .bind(filter.code.as_deref())
            .bind(filter.kind.map(|k| k.as_str()))
            .bind(filter.unit.map(|u| u.as_str()))
            .bind(archived_mode(filter.archived_only))
            .bind(after_code)
            .bind(after_id)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?);
        let services = rows.into_iter().map(Service::from).collect();
        Ok(Page::from_overfetch(services, page.limit, |s: &Service| (s.data.code.clone(), s.id)))
    }

    /// Applies `change` to the service's data and stores it. With `if_version`, fails with
    /// [`StoreError::StaleVersion`] when the service changed since. Archived services must
    /// be restored before they can be changed.
    pub async fn update_service<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&Service) -> std::result::Result<ServiceData, E>,
    ) -> std::result::Result<Service, E> {
        let service = in_tx!(self, tx => {
            let before: Service = sqlx::query_as::<_, ServiceRow>("SELECT * FROM services WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?.into();
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            if before.is_archived() {
                return Err(StoreError::Conflict("the service is archived; restore it before changing it".into()).into());
            }
            let data = change(&before)?;
            let after: Service = bind_service_data!(sqlx::query_as::<_, ServiceRow>(
                "UPDATE services SET code = $1, name = $2, unit = $3, kind = $4, default_price = $5, vat_rate = $6, \
                 billable_by_default = $7, version = version + 1, updated_at = $8 \
                 WHERE id = $9 AND version = $10 RETURNING *"), data)
                .bind(DbTime::now()).bind(id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
                .ok_or(StoreError::StaleVersion)?
                .into();
            audit!(tx, actor, "service", id, "update", Some(&before), Some(&after));
            after
        });
        Ok(service)
    }

    /// Archives (`archive = true`) or restores a service. Idempotent.
    pub async fn set_service_archived(
        &self,
        id: i64,
        if_version: Option<i64>,
        archive: bool,
        actor: &Actor,
    ) -> Result<Service> {
        let service = in_tx!(self, tx => {
            let before: Service = sqlx::query_as::<_, ServiceRow>("SELECT * FROM services WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await?.into();
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion);
            }
            if before.is_archived() == archive {
                before
            } else {
                let now = DbTime::now();
                let after: Service = sqlx::query_as::<_, ServiceRow>(
                    "UPDATE services SET archived_at = $1, version = version + 1, updated_at = $2 WHERE id = $3 RETURNING *")
                    .bind(if archive { Some(now) } else { None }).bind(now).bind(id)
                    .fetch_one(&mut *tx).await?.into();
                let action = if archive { "archive" } else { "restore" };
                audit!(tx, actor, "service", id, action, Some(&before), Some(&after));
                after
            }
        });
        Ok(service)
    }
}

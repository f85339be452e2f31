//! Storage of surcharge definitions (global, contract, project and customer owners): their
//! stored shapes, the owner helpers and create, read, list, update and delete.

use super::*;
use domain::rates::{Surcharge, SurchargeKind, SurchargeOwner};

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
pub(super) struct SurchargeRow {
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

pub(super) fn surcharge_rows(rows: Vec<SurchargeRow>) -> Result<Vec<StoredSurcharge>> {
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

//! Storage of rounding rules (the company-wide default and customers' rules) and the
//! effective rule of a customer's bookings.

use super::*;
use domain::rounding::{RoundingMode, RoundingRule};
use std::collections::HashMap;

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
        let mut rules = self.effective_roundings(&[customer_id]).await?;
        Ok(rules.remove(&customer_id).unwrap_or((RoundingRule::default(), RoundingSource::Default)))
    }

    /// [`Store::effective_rounding`] of each of the customers `ids`, in one query.
    pub async fn effective_roundings(&self, ids: &[i64]) -> Result<HashMap<i64, (RoundingRule, RoundingSource)>> {
        let sql = format!(
            "SELECT * FROM rounding_rules WHERE owner_type = 'global' \
             OR (owner_type = 'customer' AND owner_id IN ({}))",
            crate::store::id_list(ids)
        );
        let rows: Vec<RoundingRow> =
            with_pool!(self, pool => sqlx::query_as(&sql).persistent(false).fetch_all(pool).await?);
        let mut global = (RoundingRule::default(), RoundingSource::Default);
        let mut own = HashMap::new();
        for row in rows {
            let r = StoredRoundingRule::try_from(row)?;
            match r.owner {
                RoundingOwner::Global => global = (r.rule, RoundingSource::Global),
                RoundingOwner::Customer(id) => {
                    own.insert(id, (r.rule, RoundingSource::Customer));
                }
            }
        }
        Ok(ids.iter().map(|&id| (id, own.get(&id).copied().unwrap_or(global))).collect())
    }
}

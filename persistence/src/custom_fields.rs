//! Storage of admin-defined custom fields of bookings and tickets.
//!
//! Definitions are archived rather than deleted: stored values keep their meaning and
//! the key stays reserved (unique per entity, archived definitions included). Bookings and
//! tickets validate their values on write against [`Store::active_custom_fields`] with
//! [`domain::custom_field::validate_values`].

use crate::audit::Actor;
use crate::catalog::archived_mode;
use crate::page::{Page, PageRequest};
use crate::types::{DbTime, ExactDecimal};
use crate::{Result, Store, StoreError};
use domain::custom_field::{CustomFieldDefinition, CustomFieldEntity, FieldType};

/// A stored custom-field definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CustomField {
    /// The definition (its `id` is the record id).
    #[serde(flatten)]
    pub definition: CustomFieldDefinition,
    pub archived_at: Option<DbTime>,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

impl CustomField {
    /// Whether the definition is archived (its values are no longer accepted).
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

#[derive(sqlx::FromRow)]
struct CustomFieldRow {
    id: i64,
    #[sqlx(try_from = "String")]
    entity: CustomFieldEntity,
    field_key: String,
    label: String,
    #[sqlx(try_from = "String")]
    field_type: FieldType,
    required: bool,
    options: Option<String>,
    min_value: Option<ExactDecimal>,
    max_value: Option<ExactDecimal>,
    billing_service_id: Option<i64>,
    archived_at: Option<DbTime>,
    version: i64,
    created_at: DbTime,
    updated_at: DbTime,
}

impl TryFrom<CustomFieldRow> for CustomField {
    type Error = StoreError;
    fn try_from(r: CustomFieldRow) -> Result<Self> {
        let options: Vec<String> = match r.options.as_deref() {
            Some(text) => serde_json::from_str(text)?,
            None => Vec::new(),
        };
        Ok(CustomField {
            definition: CustomFieldDefinition {
                id: r.id,
                entity: r.entity,
                key: r.field_key,
                label: r.label,
                field_type: r.field_type,
                required: r.required,
                options,
                min: r.min_value.map(|d| d.0),
                max: r.max_value.map(|d| d.0),
                billing_service_id: r.billing_service_id,
            },
            archived_at: r.archived_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn convert(rows: Vec<CustomFieldRow>) -> Result<Vec<CustomField>> {
    rows.into_iter().map(CustomField::try_from).collect()
}

fn options_text(def: &CustomFieldDefinition) -> Result<Option<String>> {
    if def.options.is_empty() {
        Ok(None)
    } else {
        Ok(Some(serde_json::to_string(&def.options)?))
    }
}

/// Which definitions to list (sorted by entity, then key).
#[derive(Debug, Clone, Default)]
pub struct CustomFieldFilter {
    pub entity: Option<CustomFieldEntity>,
    /// `None`: only active; `Some(true)`: only archived; `Some(false)`: all.
    pub archived_only: Option<bool>,
}

impl Store {
    /// Stores a new definition (its `id` is ignored). A key taken for the entity is
    /// [`StoreError::Duplicate`]; a missing billing service [`StoreError::MissingReference`].
    pub async fn create_custom_field(&self, def: &CustomFieldDefinition, actor: &Actor) -> Result<CustomField> {
        let options = options_text(def)?;
        let field = in_tx!(self, tx => {
            let row: CustomFieldRow = sqlx::query_as(
                "INSERT INTO custom_field_definitions (entity, field_key, label, field_type, required, options, \
                 min_value, max_value, billing_service_id, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10) RETURNING *")
                .bind(def.entity.as_str())
                .bind(&def.key)
                .bind(&def.label)
                .bind(def.field_type.as_str())
                .bind(def.required)
                .bind(&options)
                .bind(def.min.map(ExactDecimal))
                .bind(def.max.map(ExactDecimal))
                .bind(def.billing_service_id)
                .bind(DbTime::now())
                .fetch_one(&mut *tx)
                .await?;
            let field = CustomField::try_from(row)?;
            audit!(tx, actor, "custom_field", field.definition.id, "create", None::<&CustomField>, Some(&field));
            field
        });
        Ok(field)
    }

    /// The definition with this id (archived ones included).
    pub async fn get_custom_field(&self, id: i64) -> Result<CustomField> {
        let row: CustomFieldRow = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM custom_field_definitions WHERE id = $1").bind(id).fetch_one(pool).await?);
        row.try_into()
    }

    /// The active definitions of an entity (`booking` or `ticket`), in key order: what a
    /// booking's or ticket's `custom_fields` are validated against on write. An unknown
    /// entity name has no definitions.
    pub async fn active_custom_fields(&self, entity: &str) -> Result<Vec<CustomFieldDefinition>> {
        Ok(convert(self.active_field_rows(entity).await?)?.into_iter().map(|f| f.definition).collect())
    }

    /// The active definitions of an entity as stored, in key order.
    async fn active_field_rows(&self, entity: &str) -> Result<Vec<CustomFieldRow>> {
        Ok(with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM custom_field_definitions WHERE entity = $1 AND archived_at IS NULL ORDER BY field_key, id")
            .bind(entity).fetch_all(pool).await?))
    }

    /// The active booking definitions as of `refs` (what their bookings are validated
    /// against): kept in memory while the definitions stay as `refs` saw them, so that
    /// booking writes do not read them every time. Read again after any change, also one
    /// made on another node.
    pub async fn booking_fields(
        &self,
        refs: &crate::refs::BookingRefs,
    ) -> Result<std::sync::Arc<Vec<CustomFieldDefinition>>> {
        if let Some(fields) = self.booking_fields.get(refs.booking_fields) {
            return Ok(fields);
        }
        let rows = self.active_field_rows(CustomFieldEntity::Booking.as_str()).await?;
        // Keyed by what was read, which may be newer than what `refs` saw.
        let read = crate::refs::FieldsFingerprint {
            count: rows.len() as i64,
            id_sum: rows.iter().map(|r| r.id).sum(),
            version_sum: rows.iter().map(|r| r.version).sum(),
        };
        let fields = std::sync::Arc::new(convert(rows)?.into_iter().map(|f| f.definition).collect::<Vec<_>>());
        self.booking_fields.put(read, fields.clone());
        Ok(fields)
    }

    /// Every booking definition with a billing mapping, archived ones included (values
    /// recorded while a field was active are still billed), for the invoice run.
    pub async fn billed_custom_fields(&self) -> Result<Vec<CustomFieldDefinition>> {
        let rows: Vec<CustomFieldRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM custom_field_definitions WHERE entity = 'booking' AND field_type = 'number' \
             AND billing_service_id IS NOT NULL ORDER BY id")
            .fetch_all(pool).await?);
        Ok(convert(rows)?.into_iter().map(|f| f.definition).collect())
    }

    /// Lists definitions in `(entity, key)` order after that key.
    pub async fn list_custom_fields(
        &self,
        filter: &CustomFieldFilter,
        page: &PageRequest<(String, String)>,
    ) -> Result<Page<CustomField, (String, String)>> {
        let (after_entity, after_key) = match &page.after {
            Some((e, k)) => (Some(e.as_str()), k.as_str()),
            None => (None, ""),
        };
        let rows: Vec<CustomFieldRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM custom_field_definitions WHERE ($1 IS NULL OR entity = $1) \
             AND (($2 = 0 AND archived_at IS NULL) OR ($2 = 1 AND archived_at IS NOT NULL) OR $2 = 2) \
             AND ($3 IS NULL OR entity > $3 OR (entity = $3 AND field_key > $4)) \
             ORDER BY entity, field_key LIMIT $5")
            .bind(filter.entity.map(|e| e.as_str()))
            .bind(archived_mode(filter.archived_only))
            .bind(after_entity)
            .bind(after_key)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?);
        let fields = convert(rows)?;
        Ok(Page::from_overfetch(fields, page.limit, |f: &CustomField| {
            (f.definition.entity.as_str().to_string(), f.definition.key.clone())
        }))
    }

    /// Applies `change` to the definition and stores label, required, options, limits and
    /// billing mapping (entity, key and type are immutable). Version and archive rules as
    /// for services.
    pub async fn update_custom_field<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&CustomField) -> std::result::Result<CustomFieldDefinition, E>,
    ) -> std::result::Result<CustomField, E> {
        let field = in_tx!(self, tx => {
            let row: CustomFieldRow = sqlx::query_as("SELECT * FROM custom_field_definitions WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            let before = CustomField::try_from(row)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            if before.is_archived() {
                return Err(StoreError::Conflict("the custom field is archived; restore it before changing it".into()).into());
            }
            let def = change(&before)?;
            let options = options_text(&def)?;
            let row: CustomFieldRow = sqlx::query_as(
                "UPDATE custom_field_definitions SET label = $1, required = $2, options = $3, min_value = $4, \
                 max_value = $5, billing_service_id = $6, version = version + 1, updated_at = $7 \
                 WHERE id = $8 AND version = $9 RETURNING *")
                .bind(&def.label)
                .bind(def.required)
                .bind(&options)
                .bind(def.min.map(ExactDecimal))
                .bind(def.max.map(ExactDecimal))
                .bind(def.billing_service_id)
                .bind(DbTime::now())
                .bind(id)
                .bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
                .ok_or(StoreError::StaleVersion)?;
            let after = CustomField::try_from(row)?;
            audit!(tx, actor, "custom_field", id, "update", Some(&before), Some(&after));
            after
        });
        Ok(field)
    }

    /// Archives (`archive = true`) or restores a definition. While archived, its values are
    /// no longer accepted on writes; the key stays reserved. Idempotent.
    pub async fn set_custom_field_archived(
        &self,
        id: i64,
        if_version: Option<i64>,
        archive: bool,
        actor: &Actor,
    ) -> Result<CustomField> {
        let field = in_tx!(self, tx => {
            let row: CustomFieldRow = sqlx::query_as("SELECT * FROM custom_field_definitions WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await?;
            let before = CustomField::try_from(row)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion);
            }
            if before.is_archived() == archive {
                before
            } else {
                let now = DbTime::now();
                let row: CustomFieldRow = sqlx::query_as(
                    "UPDATE custom_field_definitions SET archived_at = $1, version = version + 1, updated_at = $2 \
                     WHERE id = $3 RETURNING *")
                    .bind(if archive { Some(now) } else { None }).bind(now).bind(id).fetch_one(&mut *tx).await?;
                let after = CustomField::try_from(row)?;
                let action = if archive { "archive" } else { "restore" };
                audit!(tx, actor, "custom_field", id, action, Some(&before), Some(&after));
                after
            }
        });
        Ok(field)
    }
}

/// The booking custom-field definitions last read, with their fingerprint.
#[derive(Default)]
pub(crate) struct FieldsCache(
    std::sync::Mutex<Option<(crate::refs::FieldsFingerprint, std::sync::Arc<Vec<CustomFieldDefinition>>)>>,
);

impl FieldsCache {
    fn get(&self, want: crate::refs::FieldsFingerprint) -> Option<std::sync::Arc<Vec<CustomFieldDefinition>>> {
        let cached = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cached.as_ref().filter(|(seen, _)| *seen == want).map(|(_, fields)| fields.clone())
    }

    fn put(&self, seen: crate::refs::FieldsFingerprint, fields: std::sync::Arc<Vec<CustomFieldDefinition>>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((seen, fields));
    }
}

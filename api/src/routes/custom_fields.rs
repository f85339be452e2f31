//! Admin-defined custom fields of bookings and tickets.
//!
//! Admins define the fields; everyone signed in (and every API key) reads the
//! definitions to know what to send. Bookings and tickets carry their values in
//! `custom_fields` and are validated on write against the active definitions
//! ([`domain::custom_field::validate_values`]). A number field of a booking may be billed
//! as a catalog service (`billing_service_id`), e.g. `km` → "Kilometres".

use crate::auth::Principal;
use crate::dto::{double_option, timestamp, validate, DecimalString};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::routes::catalog::{ArchiveFilter, StoreProblem};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::custom_field::{
    check_definition, valid_key, validate_values, CustomFieldDefinition, CustomFieldEntity, FieldType, FieldValueError,
};
use domain::Permission;
use persistence::custom_fields::{CustomField, CustomFieldFilter};
use persistence::{PageRequest, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::{Validate, ValidationError};

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, archive, restore),
    tags((name = "custom-fields", description = "Extra fields of bookings and tickets, validated on write (read: everyone; write: admin)"))
)]
pub struct Doc;

/// Custom-field values as a client sends them: field key → string, number, boolean or
/// `null` (checked against the active definitions).
pub struct CustomFieldValuesIn;

/// Custom-field values as stored and returned: field key → string (text, date, choice, and
/// numbers as decimal strings such as `"42.5"`) or boolean.
pub struct CustomFieldValues;

fn values_schema(
    description: &str,
    types: &[utoipa::openapi::schema::Type],
    example: serde_json::Value,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType};
    ObjectBuilder::new()
        .description(Some(description))
        .additional_properties(Some(ObjectBuilder::new().schema_type(SchemaType::from_iter(types.iter().cloned()))))
        .examples([example])
        .into()
}

impl utoipa::PartialSchema for CustomFieldValuesIn {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::Type;
        values_schema(
            "Custom-field values by field key: string, number, boolean or null, checked against the active definitions (`GET /custom-fields`).",
            &[Type::String, Type::Number, Type::Boolean, Type::Null],
            serde_json::json!({"km": 42, "vehicle": "B-KO 123"}),
        )
    }
}
impl ToSchema for CustomFieldValuesIn {}

impl utoipa::PartialSchema for CustomFieldValues {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::Type;
        values_schema(
            "Custom-field values by field key: strings (numbers as decimal strings such as `\"42.5\"`) or booleans.",
            &[Type::String, Type::Boolean],
            serde_json::json!({"km": "42", "vehicle": "B-KO 123"}),
        )
    }
}
impl ToSchema for CustomFieldValues {}

fn valid_field_key(key: &str) -> Result<(), ValidationError> {
    if valid_key(key) {
        Ok(())
    } else {
        let mut err = ValidationError::new("format");
        err.message =
            Some("must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 40 characters)".into());
        Err(err)
    }
}

/// A custom-field definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomFieldOut {
    pub id: i64,
    /// Which records carry the field.
    pub entity: CustomFieldEntity,
    /// Key of the value in the record's `custom_fields` object; fixed after creation.
    #[schema(example = "km")]
    pub key: String,
    #[schema(example = "Kilometres driven")]
    pub label: String,
    /// Value type; fixed after creation.
    pub field_type: FieldType,
    /// Whether every write of a record must carry a value.
    pub required: bool,
    /// Allowed values of a select field; empty for other types.
    pub options: Vec<String>,
    /// Smallest allowed value (number fields).
    #[schema(value_type = Option<String>, example = "0")]
    pub min: Option<DecimalString>,
    /// Largest allowed value (number fields).
    #[schema(value_type = Option<String>, example = "1000")]
    pub max: Option<DecimalString>,
    /// Catalog service billed per unit of the value (number fields of bookings).
    pub billing_service_id: Option<i64>,
    /// Archived fields are no longer accepted on writes; their key stays reserved.
    pub archived: bool,
    pub archived_at: Option<String>,
    /// Increases with every change; the `ETag` carries it.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<CustomField> for CustomFieldOut {
    fn from(f: CustomField) -> Self {
        let d = f.definition;
        CustomFieldOut {
            id: d.id,
            entity: d.entity,
            key: d.key,
            label: d.label,
            field_type: d.field_type,
            required: d.required,
            options: d.options,
            min: d.min.map(DecimalString),
            max: d.max.map(DecimalString),
            billing_service_id: d.billing_service_id,
            archived: f.archived_at.is_some(),
            archived_at: f.archived_at.as_ref().map(timestamp),
            version: f.version,
            created_at: timestamp(&f.created_at),
            updated_at: timestamp(&f.updated_at),
        }
    }
}

list_response!(CustomFieldList, CustomFieldOut, "A page of custom-field definitions.");

/// A new custom field.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldCreate {
    pub entity: CustomFieldEntity,
    /// Lower-case slug `^[a-z][a-z0-9_]{0,39}$`, unique per entity (archived fields
    /// included); cannot be changed later.
    #[validate(custom(function = "valid_field_key"))]
    #[schema(example = "km", pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub key: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    #[schema(example = "Kilometres driven")]
    pub label: String,
    /// Cannot be changed later.
    pub field_type: FieldType,
    /// Default false.
    pub required: Option<bool>,
    /// Select fields only: the allowed values (1–100, unique, 1–100 characters each).
    #[schema(example = json!(["car", "van"]))]
    pub options: Option<Vec<String>>,
    /// Number fields only.
    #[schema(value_type = Option<String>, example = "0")]
    pub min: Option<DecimalString>,
    /// Number fields only; at least `min`.
    #[schema(value_type = Option<String>, example = "1000")]
    pub max: Option<DecimalString>,
    /// Number fields of bookings only: an active catalog service billed per unit.
    pub billing_service_id: Option<i64>,
}

/// Changes to a custom field; absent fields stay, `null` clears. `entity`, `key` and
/// `field_type` cannot be changed (422 `immutable`).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldPatch {
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub label: Option<String>,
    pub required: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub options: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub min: Option<Option<DecimalString>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub max: Option<Option<DecimalString>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub billing_service_id: Option<Option<i64>>,
    #[serde(default)]
    #[schema(ignore)]
    pub entity: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub key: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(ignore)]
    pub field_type: Option<serde_json::Value>,
}

/// Query of the custom-field list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
    /// Only the fields of bookings or of tickets.
    #[param(inline)]
    pub entity: Option<CustomFieldEntity>,
    /// `active` (default), `archived` or `all`.
    #[param(inline)]
    pub status: Option<ArchiveFilter>,
}

fn field_response(status: StatusCode, f: CustomField) -> HttpResponse {
    versioned(status, "custom-field", f.definition.id, f.version, CustomFieldOut::from(f))
}

fn store_problem(e: StoreError) -> ApiError {
    match e {
        StoreError::Duplicate(_) => {
            ApiError::Conflict("this entity already has a custom field with this `key` (archived ones included)".into())
        }
        StoreError::MissingReference(_) => unknown_service(),
        other => StoreProblem::map(other, "custom field", "key"),
    }
}

/// Errors of the update closure.
struct FieldProblem(ApiError);

impl From<StoreError> for FieldProblem {
    fn from(e: StoreError) -> Self {
        FieldProblem(store_problem(e))
    }
}

fn unknown_service() -> ApiError {
    ApiError::invalid("billing_service_id", "unknown_reference", "no catalog service has this id")
}

/// The billing service must exist and be active.
async fn check_billing_service(state: &AppState, service_id: i64) -> Result<(), ApiError> {
    match state.store.get_service(service_id).await {
        Ok(s) if s.is_archived() => Err(ApiError::invalid(
            "billing_service_id",
            "archived",
            "the service is archived; restore it or choose an active one",
        )),
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(unknown_service()),
        Err(e) => Err(e.into()),
    }
}

/// Rules across fields of the resulting definition, as 422 field errors.
fn definition_errors(def: &CustomFieldDefinition) -> Vec<FieldError> {
    check_definition(def).into_iter().map(|e| FieldError::new(e.field, e.code, e.message)).collect()
}

fn clean_options(options: Option<Vec<String>>) -> Vec<String> {
    options.unwrap_or_default().into_iter().map(|o| o.trim().to_string()).collect()
}

/// Validates the `custom_fields` object of a booking or ticket being written against the
/// active definitions of `entity` and returns the normalised values to store; invalid
/// values are one 422 with a field error per value (`custom_fields.<key>`). For the
/// bookings and tickets handlers.
pub async fn validate_custom_fields(
    state: &AppState,
    entity: CustomFieldEntity,
    values: &serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let definitions = state.store.active_custom_fields(entity.as_str()).await?;
    validate_values(&definitions, values).map_err(value_errors)
}

/// Custom-field value errors (from [`validate_values`]) as a 422.
pub fn value_errors(errors: Vec<FieldValueError>) -> ApiError {
    ApiError::Validation(errors.into_iter().map(|e| FieldError::new(e.field, e.code, e.message)).collect())
}

/// List custom-field definitions, sorted by entity and key.
///
/// Keyset-paginated: pass `next_cursor` back as `cursor` with the same filters.
#[utoipa::path(operation_id = "list_custom_fields", get, path = "/api/v1/custom-fields", tag = "custom-fields",
    params(CustomFieldQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = CustomFieldList),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<CustomFieldQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCatalog)?;
    let q = q.0;
    let filter = CustomFieldFilter { entity: q.entity, archived_only: q.status.unwrap_or_default().archived_only() };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<(String, String)>(q.cursor.as_deref())? };
    let page = state.store.list_custom_fields(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(CustomFieldList {
        items: page.items.into_iter().map(CustomFieldOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Define a custom field (admin).
#[utoipa::path(operation_id = "create_custom_field", post, path = "/api/v1/custom-fields", tag = "custom-fields",
    request_body = CustomFieldCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body replay the first response; the same key with another body is 422")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = CustomFieldOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Key taken for this entity", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (see `errors`), or an unknown or archived billing service", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<CustomFieldCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageCustomFields)?;
    let b = body.into_inner()?;
    let def = CustomFieldDefinition {
        id: 0,
        entity: b.entity,
        key: b.key.clone(),
        label: b.label.trim().to_string(),
        field_type: b.field_type,
        required: b.required.unwrap_or(false),
        options: clean_options(b.options.clone()),
        min: b.min.map(|d| d.0),
        max: b.max.map(|d| d.0),
        billing_service_id: b.billing_service_id,
    };
    // The key format is checked by `validate`; keep only the cross-field rules here.
    let extra = definition_errors(&def).into_iter().filter(|e| e.field != "key").collect();
    validate(&b, extra)?;
    if let Some(service_id) = def.billing_service_id {
        check_billing_service(&state, service_id).await?;
    }
    let field = state.store.create_custom_field(&def, &p.actor(&req)).await.map_err(store_problem)?;
    let location = format!("/api/v1/custom-fields/{}", field.definition.id);
    Ok(created_at(field_response(StatusCode::CREATED, field), &location))
}

/// Read a custom-field definition (archived ones included).
#[utoipa::path(operation_id = "get_custom_field", get, path = "/api/v1/custom-fields/{id}", tag = "custom-fields",
    params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = CustomFieldOut, headers(("ETag" = String)))))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCatalog)?;
    let id = path_id(&req, "id")?;
    let field = state.store.get_custom_field(id).await.map_err(store_problem)?;
    Ok(field_response(StatusCode::OK, field))
}

/// Change a custom field's label, required flag, options, limits or billing mapping
/// (admin). Send `If-Match` with the ETag you read; a stale one is 412. Values already
/// stored are not re-validated.
#[utoipa::path(operation_id = "update_custom_field", patch, path = "/api/v1/custom-fields/{id}", tag = "custom-fields",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = CustomFieldPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CustomFieldOut, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, an immutable field sent, or an unknown or archived billing service", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<CustomFieldPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageCustomFields)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    let mut immutable = Vec::new();
    for (field, sent) in [("entity", &b.entity), ("field_type", &b.field_type), ("key", &b.key)] {
        if sent.is_some() {
            immutable.push(FieldError::new(
                field,
                "immutable",
                "cannot be changed after creation; archive the field and define a new one",
            ));
        }
    }
    validate(&b, immutable)?;
    let version = IfMatch::from_request(&req, "custom-field", id).version()?;
    if let Some(Some(service_id)) = b.billing_service_id {
        state.store.get_custom_field(id).await.map_err(store_problem)?;
        check_billing_service(&state, service_id).await?;
    }
    let field = state
        .store
        .update_custom_field(
            id,
            version,
            &p.actor(&req),
            |cur: &CustomField| -> Result<CustomFieldDefinition, FieldProblem> {
                let c = &cur.definition;
                let def = CustomFieldDefinition {
                    id: c.id,
                    entity: c.entity,
                    key: c.key.clone(),
                    label: b.label.as_deref().map(|l| l.trim().to_string()).unwrap_or_else(|| c.label.clone()),
                    field_type: c.field_type,
                    required: b.required.unwrap_or(c.required),
                    options: match &b.options {
                        Some(v) => clean_options(v.clone()),
                        None => c.options.clone(),
                    },
                    min: match &b.min {
                        Some(v) => v.map(|d| d.0),
                        None => c.min,
                    },
                    max: match &b.max {
                        Some(v) => v.map(|d| d.0),
                        None => c.max,
                    },
                    billing_service_id: match &b.billing_service_id {
                        Some(v) => *v,
                        None => c.billing_service_id,
                    },
                };
                let errors = definition_errors(&def);
                if errors.is_empty() {
                    Ok(def)
                } else {
                    Err(FieldProblem(ApiError::Validation(errors)))
                }
            },
        )
        .await
        .map_err(|e| e.0)?;
    Ok(field_response(StatusCode::OK, field))
}

/// Archive a custom field ("delete", admin): its values are no longer accepted on writes
/// and it disappears from default lists; stored values and the key are kept. Idempotent.
#[utoipa::path(operation_id = "archive_custom_field", delete, path = "/api/v1/custom-fields/{id}", tag = "custom-fields",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Archived", body = CustomFieldOut, headers(("ETag" = String)))))]
pub async fn archive(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, true).await
}

/// Restore an archived custom field (admin). Idempotent.
#[utoipa::path(operation_id = "restore_custom_field", post, path = "/api/v1/custom-fields/{id}/restore", tag = "custom-fields",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Active again", body = CustomFieldOut, headers(("ETag" = String)))))]
pub async fn restore(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, false).await
}

async fn set_archived(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    archive: bool,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageCustomFields)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "custom-field", id).version()?;
    let field =
        state.store.set_custom_field_archived(id, version, archive, &p.actor(&req)).await.map_err(store_problem)?;
    Ok(field_response(StatusCode::OK, field))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/custom-fields").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/custom-fields/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(archive)),
        )
        .service(web::resource("/custom-fields/{id}/restore").route(web::post().to(restore)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_custom_field_values_become_one_422_naming_each_value() {
        let km = CustomFieldDefinition {
            id: 1,
            entity: CustomFieldEntity::Booking,
            key: "km".into(),
            label: "Km".into(),
            field_type: FieldType::Number,
            required: true,
            options: vec![],
            min: None,
            max: Some(1000.into()),
            billing_service_id: None,
        };
        let errors = validate_values(&[km], &serde_json::json!({"km": 5000, "extra": 1})).unwrap_err();
        let e = value_errors(errors);
        let problem = e.problem();
        assert_eq!(problem.status, 422);
        let fields: Vec<(&str, &str)> = problem.errors.iter().map(|f| (f.field.as_str(), f.code.as_str())).collect();
        assert_eq!(fields, vec![("custom_fields.extra", "unknown_field"), ("custom_fields.km", "range")]);
    }
}

//! A customer's contact persons: listed, added, changed and removed under
//! `/customers/{id}/contacts` (and created with the customer).

use crate::auth::Principal;
use crate::dto::{clean, double_option, timestamp, validate};
use crate::error::{not_found, ApiError, Problem};
use crate::extract::{path_id, Json};
use crate::pagination::list_response;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use persistence::{Contact, ContactData, Customer, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// A contact person.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Function, e.g. "IT lead".
    pub position: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Contact> for ContactOut {
    fn from(c: Contact) -> Self {
        ContactOut {
            id: c.id,
            customer_id: c.customer_id,
            name: c.data.name,
            email: c.data.email,
            phone: c.data.phone,
            position: c.data.position,
            created_at: timestamp(&c.created_at),
            updated_at: timestamp(&c.updated_at),
        }
    }
}

/// A new contact person.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactCreate {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    #[schema(example = "Petra Schmidt")]
    pub name: String,
    #[validate(email, length(max = 254))]
    #[schema(max_length = 254)]
    #[schema(example = "petra.schmidt@example.com")]
    pub email: Option<String>,
    #[validate(length(max = 50))]
    #[schema(max_length = 50)]
    #[schema(example = "+49 30 1234567")]
    pub phone: Option<String>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub position: Option<String>,
}

impl ContactCreate {
    pub(super) fn into_data(self) -> ContactData {
        ContactData {
            name: self.name.trim().to_string(),
            email: clean(self.email.as_deref()).map(|e| e.to_lowercase()),
            phone: clean(self.phone.as_deref()),
            position: clean(self.position.as_deref()),
        }
    }
}

/// Changes to a contact; absent fields stay, `null` clears.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(email, length(max = 254))]
    #[schema(max_length = 254)]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 50))]
    #[schema(max_length = 50)]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    #[schema(value_type = Option<String>)]
    pub position: Option<Option<String>>,
}

list_response!(ContactList, ContactOut, "The contacts of a customer.");

/// List a customer's contacts.
#[utoipa::path(get, path = "/api/v1/customers/{id}/contacts", tag = "customers", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = ["customers:read"]), ("api_key" = ["customers:write"])),
    responses((status = 200, body = ContactList), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_contacts(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCustomers)?;
    let id = path_id(&req, "id")?;
    state.store.get_customer(id).await.map_err(not_found("customer"))?;
    let contacts = state.store.list_contacts(id).await?;
    Ok(HttpResponse::Ok()
        .json(ContactList { items: contacts.into_iter().map(ContactOut::from).collect(), next_cursor: None }))
}

async fn writable_customer(state: &AppState, id: i64) -> Result<Customer, ApiError> {
    let customer = state.store.get_customer(id).await.map_err(not_found("customer"))?;
    if customer.archived_at.is_some() {
        return Err(ApiError::Conflict("the customer is archived; restore it before changing it".into()));
    }
    Ok(customer)
}

/// Add a contact to a customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", tag = "customers", params(("id" = i64, Path)),
    request_body = ContactCreate,
    security(("bearer" = []), ("api_key" = ["customers:write"])),
    responses(
        (status = 201, body = ContactOut)))]
pub async fn create_contact(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ContactCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteCustomers)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    writable_customer(&state, id).await?;
    let contact = state.store.create_contact(id, &b.into_data(), &p.actor(&req)).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/customers/{id}/contacts/{}", contact.id)))
        .json(ContactOut::from(contact)))
}

/// Change a contact.
#[utoipa::path(patch, path = "/api/v1/customers/{id}/contacts/{contact_id}", tag = "customers",
    params(("id" = i64, Path), ("contact_id" = i64, Path)), request_body = ContactPatch,
    security(("bearer" = []), ("api_key" = ["customers:write"])),
    responses(
        (status = 200, body = ContactOut)))]
pub async fn update_contact(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<ContactPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteCustomers)?;
    let id = path_id(&req, "id")?;
    let contact_id = path_id(&req, "contact_id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    writable_customer(&state, id).await?;
    let contact = state
        .store
        .update_contact(id, contact_id, &p.actor(&req), |cur: &Contact| -> Result<ContactData, ApiError> {
            let keep = |patch: &Option<Option<String>>, cur: &Option<String>| match patch {
                Some(v) => clean(v.as_deref()),
                None => cur.clone(),
            };
            Ok(ContactData {
                name: b.name.as_deref().map(|n| n.trim().to_string()).unwrap_or_else(|| cur.data.name.clone()),
                email: keep(&b.email, &cur.data.email).map(|e| e.to_lowercase()),
                phone: keep(&b.phone, &cur.data.phone),
                position: keep(&b.position, &cur.data.position),
            })
        })
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("contact".into()),
            other => other,
        })?;
    Ok(HttpResponse::Ok().json(ContactOut::from(contact)))
}

/// Remove a contact. A contact that tickets name as their contact person stays until they
/// name another (409 listing the tickets).
#[utoipa::path(delete, path = "/api/v1/customers/{id}/contacts/{contact_id}", tag = "customers",
    params(("id" = i64, Path), ("contact_id" = i64, Path)),
    security(("bearer" = []), ("api_key" = ["customers:write"])),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Tickets name the contact as their contact person", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_contact(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteCustomers)?;
    let id = path_id(&req, "id")?;
    let contact_id = path_id(&req, "contact_id")?;
    writable_customer(&state, id).await?;
    state.store.delete_contact(id, contact_id, &p.actor(&req)).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("contact".into()),
        other => other.into(),
    })?;
    Ok(HttpResponse::NoContent().finish())
}

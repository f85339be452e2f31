//! Customers (the billed parties) and their contacts.
//!
//! Customers are never hard-deleted: invoices and tickets keep referring to them, so
//! "delete" archives (hidden from default lists, still readable and restorable).

use crate::audit::Actor;
use crate::page::{Page, PageRequest};
use crate::search::like_pattern;
use crate::types::DbTime;
use crate::{Result, Store, StoreError};
use domain::customer::DocumentFormat;
use domain::notification::Language;
use domain::{BillingMode, Currency, InvoiceDetail, VatTreatment};

/// Start of automatically assigned customer numbers (DATEV debtor accounts start at 10000).
pub const FIRST_CUSTOMER_NUMBER: i64 = 10001;

/// The writable fields of a customer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct CustomerData {
    pub number: String,
    pub name: String,
    pub address_street: Option<String>,
    pub address_postal_code: Option<String>,
    pub address_city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub address_country: Option<String>,
    pub vat_id: Option<String>,
    pub billing_email: Option<String>,
    #[sqlx(try_from = "String")]
    pub currency: Currency,
    pub payment_terms_days: i64,
    #[sqlx(try_from = "String")]
    pub vat_treatment: VatTreatment,
    #[sqlx(try_from = "String")]
    pub billing_mode: BillingMode,
    #[sqlx(try_from = "String")]
    pub invoice_detail: InvoiceDetail,
    /// Id of the customer in the helpdesk system.
    pub helpdesk_ref: Option<String>,
    /// Customer (debtor) number in the accounting system.
    pub accounting_ref: Option<String>,
    pub notes: Option<String>,
    /// Buyer reference of its e-invoices (BT-10; a public buyer's Leitweg-ID).
    pub buyer_reference: Option<String>,
    /// Electronic address its e-invoices go to (BT-49).
    pub e_invoice_address: Option<String>,
    /// The scheme of `e_invoice_address` (EAS code; `EM` e-mail when absent).
    pub e_invoice_address_scheme: Option<String>,
    /// The document it prefers.
    #[sqlx(try_from = "String")]
    pub document_format: DocumentFormat,
    /// The language its contacts get mail in.
    #[sqlx(try_from = "String")]
    pub language: Language,
    /// Whether its ticket contacts are mailed each status change of their tickets.
    pub keep_client_informed: bool,
    /// The user who looks after the customer (gets its contracts' quota mails).
    pub account_manager_id: Option<i64>,
}

/// A stored customer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Customer {
    pub id: i64,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub data: CustomerData,
    pub archived_at: Option<DbTime>,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

/// A contact person of a customer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Contact {
    pub id: i64,
    pub customer_id: i64,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub data: ContactData,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

/// The writable fields of a contact.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ContactData {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Job title or function ("IT lead", "accounts payable").
    pub position: Option<String>,
}

/// Sort orders of the customer list (always ties broken by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerSort {
    Name,
    Number,
}

impl CustomerSort {
    fn column(self) -> &'static str {
        match self {
            CustomerSort::Name => "name",
            CustomerSort::Number => "number",
        }
    }
    /// The sort value of a customer.
    pub fn key_of(self, c: &Customer) -> String {
        match self {
            CustomerSort::Name => c.data.name.clone(),
            CustomerSort::Number => c.data.number.clone(),
        }
    }
}

/// Which customers to list.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Case-insensitive substring of name or number.
    pub search: Option<String>,
    pub currency: Option<String>,
    pub billing_mode: Option<String>,
    pub helpdesk_ref: Option<String>,
    pub accounting_ref: Option<String>,
    /// `None`: only active; `Some(true)`: only archived; `Some(false)`: all.
    pub archived_only: Option<bool>,
}

macro_rules! bind_customer_data {
    ($q:expr, $d:expr) => {
        $q.bind(&$d.number)
            .bind(&$d.name)
            .bind(&$d.address_street)
            .bind(&$d.address_postal_code)
            .bind(&$d.address_city)
            .bind(&$d.address_country)
            .bind(&$d.vat_id)
            .bind(&$d.billing_email)
            .bind($d.currency.code())
            .bind($d.payment_terms_days)
            .bind($d.vat_treatment.as_str())
            .bind($d.billing_mode.as_str())
            .bind($d.invoice_detail.as_str())
            .bind(&$d.helpdesk_ref)
            .bind(&$d.accounting_ref)
            .bind(&$d.notes)
            .bind(&$d.buyer_reference)
            .bind(&$d.e_invoice_address)
            .bind(&$d.e_invoice_address_scheme)
            .bind($d.document_format.as_str())
            .bind($d.language.as_str())
            .bind($d.keep_client_informed)
            .bind($d.account_manager_id)
    };
}

/// Adds contact `$data` (`&ContactData`) to customer `$customer_id` inside `$tx`, with its
/// audit entry; the new [`Contact`].
macro_rules! insert_contact {
    ($tx:expr, $customer_id:expr, $data:expr, $actor:expr) => {{
        let data: &$crate::ContactData = $data;
        let contact: $crate::Contact = sqlx::query_as(
            "INSERT INTO customer_contacts (customer_id, name, email, phone, position, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING *",
        )
        .bind($customer_id)
        .bind(&data.name)
        .bind(&data.email)
        .bind(&data.phone)
        .bind(&data.position)
        .bind($crate::types::DbTime::now())
        .fetch_one(&mut *$tx)
        .await?;
        audit!($tx, $actor, "customer_contact", contact.id, "create", None::<&$crate::Contact>, Some(&contact));
        contact
    }};
}
pub(crate) use insert_contact;

const CUSTOMER_COLUMNS: &str = "number, name, address_street, address_postal_code, address_city, \
    address_country, vat_id, billing_email, currency, payment_terms_days, vat_treatment, \
    billing_mode, invoice_detail, helpdesk_ref, accounting_ref, notes, buyer_reference, e_invoice_address, \
    e_invoice_address_scheme, document_format, language, keep_client_informed, account_manager_id";

impl Store {
    /// Creates a customer with its contacts in one transaction. An empty `number` is
    /// replaced by the next free automatic number.
    pub async fn create_customer(
        &self,
        data: &CustomerData,
        contacts: &[ContactData],
        actor: &Actor,
    ) -> Result<Customer> {
        let sql = format!(
            "INSERT INTO customers ({CUSTOMER_COLUMNS}, version, created_at, updated_at) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, 1, $24, $24) \
             RETURNING *"
        );
        let customer = in_tx!(self, tx => {
            let mut data = data.clone();
            if data.number.is_empty() {
                loop {
                    let n = next_number!(tx, "customer", FIRST_CUSTOMER_NUMBER)?;
                    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE number = $1")
                        .bind(n.to_string()).fetch_optional(&mut *tx).await?;
                    if taken.is_none() {
                        data.number = n.to_string();
                        break;
                    }
                }
            }
            let customer: Customer = bind_customer_data!(sqlx::query_as(&sql), data)
                .bind(DbTime::now())
                .fetch_one(&mut *tx)
                .await?;
            audit!(tx, actor, "customer", customer.id, "create", None::<&Customer>, Some(&customer));
            for c in contacts {
                insert_contact!(tx, customer.id, c, actor);
            }
            customer
        });
        Ok(customer)
    }

    /// The customer with this id (archived ones included).
    pub async fn get_customer(&self, id: i64) -> Result<Customer> {
        with_pool!(self, pool => Ok(sqlx::query_as("SELECT * FROM customers WHERE id = $1").bind(id).fetch_one(pool).await?))
    }

    /// The customers `ids` that exist, by id, in one query.
    pub async fn customers_by_id(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, Customer>> {
        let sql = format!("SELECT * FROM customers WHERE id IN ({})", crate::store::id_list(ids));
        let rows: Vec<Customer> =
            with_pool!(self, pool => sqlx::query_as(&sql).persistent(false).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|c| (c.id, c)).collect())
    }

    /// Lists customers in `sort` order after the key `(sort value, id)`.
    pub async fn list_customers(
        &self,
        filter: &CustomerFilter,
        sort: CustomerSort,
        page: &PageRequest<(String, i64)>,
    ) -> Result<Page<Customer, (String, i64)>> {
        let col = sort.column();
        let sql = format!(
            "SELECT * FROM customers WHERE \
             ($1 IS NULL OR LOWER(name) LIKE $1 ESCAPE '\\' OR LOWER(number) LIKE $1 ESCAPE '\\') \
             AND ($2 IS NULL OR currency = $2) AND ($3 IS NULL OR billing_mode = $3) \
             AND ($4 IS NULL OR helpdesk_ref = $4) AND ($5 IS NULL OR accounting_ref = $5) \
             AND (($6 = 0 AND archived_at IS NULL) OR ($6 = 1 AND archived_at IS NOT NULL) OR $6 = 2) \
             AND ($7 IS NULL OR {col} > $7 OR ({col} = $7 AND id > $8)) \
             ORDER BY {col}, id LIMIT $9"
        );
        let archived_mode: i64 = match filter.archived_only {
            None => 0,
            Some(true) => 1,
            Some(false) => 2,
        };
        let (after_key, after_id) = match &page.after {
            Some((k, id)) => (Some(k.as_str()), *id),
            None => (None, 0),
        };
        let rows: Vec<Customer> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(filter.search.as_deref().map(like_pattern))
            .bind(filter.currency.as_deref())
            .bind(filter.billing_mode.as_deref())
            .bind(filter.helpdesk_ref.as_deref())
            .bind(filter.accounting_ref.as_deref())
            .bind(archived_mode)
            .bind(after_key)
            .bind(after_id)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(pool)
            .await?);
        Ok(Page::from_overfetch(rows, page.limit, |c| (sort.key_of(c), c.id)))
    }

    /// Applies `change` to the customer's data and stores it. With `if_version`, fails
    /// with [`StoreError::StaleVersion`] when the customer changed since. Archived
    /// customers must be restored before they can be changed.
    pub async fn update_customer<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&Customer) -> std::result::Result<CustomerData, E>,
    ) -> std::result::Result<Customer, E> {
        let sql = format!(
            "UPDATE customers SET ({CUSTOMER_COLUMNS}) = \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23), \
             version = version + 1, updated_at = $24 WHERE id = $25 AND version = $26 RETURNING *"
        );
        let customer = in_tx!(self, tx => {
            let before: Customer = sqlx::query_as("SELECT * FROM customers WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            if before.archived_at.is_some() {
                return Err(StoreError::Conflict("the customer is archived; restore it before changing it".into()).into());
            }
            let data = change(&before)?;
            let after: Customer = bind_customer_data!(sqlx::query_as(&sql), data)
                .bind(DbTime::now()).bind(id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
                .ok_or(StoreError::StaleVersion)?;
            audit!(tx, actor, "customer", id, "update", Some(&before), Some(&after));
            after
        });
        Ok(customer)
    }

    /// Archives (`archive = true`) or restores a customer. Idempotent.
    pub async fn set_customer_archived(
        &self,
        id: i64,
        if_version: Option<i64>,
        archive: bool,
        actor: &Actor,
    ) -> Result<Customer> {
        let customer = in_tx!(self, tx => {
            let before: Customer = sqlx::query_as("SELECT * FROM customers WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion);
            }
            if before.archived_at.is_some() == archive {
                before
            } else {
                let now = DbTime::now();
                let after: Customer = sqlx::query_as(
                    "UPDATE customers SET archived_at = $1, version = version + 1, updated_at = $2 WHERE id = $3 RETURNING *")
                    .bind(if archive { Some(now) } else { None }).bind(now).bind(id)
                    .fetch_one(&mut *tx).await?;
                let action = if archive { "archive" } else { "restore" };
                audit!(tx, actor, "customer", id, action, Some(&before), Some(&after));
                after
            }
        });
        Ok(customer)
    }

    /// The contacts of a customer, in id order.
    pub async fn list_contacts(&self, customer_id: i64) -> Result<Vec<Contact>> {
        with_pool!(self, pool => Ok(sqlx::query_as("SELECT * FROM customer_contacts WHERE customer_id = $1 ORDER BY id")
            .bind(customer_id).fetch_all(pool).await?))
    }

    /// Adds a contact to a customer.
    pub async fn create_contact(&self, customer_id: i64, data: &ContactData, actor: &Actor) -> Result<Contact> {
        let contact = in_tx!(self, tx => { insert_contact!(tx, customer_id, data, actor) });
        Ok(contact)
    }

    /// Changes a contact of a customer.
    pub async fn update_contact<E: From<StoreError>>(
        &self,
        customer_id: i64,
        contact_id: i64,
        actor: &Actor,
        change: impl FnOnce(&Contact) -> std::result::Result<ContactData, E>,
    ) -> std::result::Result<Contact, E> {
        let contact = in_tx!(self, tx => {
            let before: Contact = sqlx::query_as("SELECT * FROM customer_contacts WHERE id = $1 AND customer_id = $2")
                .bind(contact_id).bind(customer_id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            let d = change(&before)?;
            let after: Contact = sqlx::query_as(
                "UPDATE customer_contacts SET name = $1, email = $2, phone = $3, position = $4, updated_at = $5 \
                 WHERE id = $6 RETURNING *")
                .bind(&d.name).bind(&d.email).bind(&d.phone).bind(&d.position).bind(DbTime::now()).bind(contact_id)
                .fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            audit!(tx, actor, "customer_contact", contact_id, "update", Some(&before), Some(&after));
            after
        });
        Ok(contact)
    }

    /// Removes a contact of a customer.
    pub async fn delete_contact(&self, customer_id: i64, contact_id: i64, actor: &Actor) -> Result<()> {
        in_tx!(self, tx => {
            let before: Contact = sqlx::query_as("SELECT * FROM customer_contacts WHERE id = $1 AND customer_id = $2")
                .bind(contact_id).bind(customer_id).fetch_one(&mut *tx).await?;
            // Tickets name their contact person: such a contact stays until they name another.
            let tickets: Vec<String> = sqlx::query_scalar(
                "SELECT number FROM tickets WHERE contact_id = $1 ORDER BY id LIMIT 6")
                .bind(contact_id).fetch_all(&mut *tx).await?;
            if !tickets.is_empty() {
                let more = if tickets.len() > 5 { ", …" } else { "" };
                return Err(StoreError::Conflict(format!(
                    "the contact is the contact person of ticket(s) {}{more}; name another contact there first",
                    tickets.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            sqlx::query("DELETE FROM customer_contacts WHERE id = $1").bind(contact_id).execute(&mut *tx).await?;
            audit!(tx, actor, "customer_contact", contact_id, "delete", Some(&before), None::<&Contact>);
        });
        Ok(())
    }
}

//! Storage side of the helpdesk push integration: finding a pushed ticket's customer (by
//! `helpdesk_ref` or e-mail domain), its contact, the user and service a time entry names,
//! and the link between an external time entry and the booking created from it
//! (`external_bookings`, whose key makes the time-entry upsert idempotent).

use crate::audit::Actor;
use crate::bookings::insert::NewBooking;
use crate::bookings::{Booking, BookingData};
use crate::tickets::Ticket;
use crate::types::DbTime;
use crate::{ContactData, Result, Store};

impl Store {
    /// Ids of the active customers whose `helpdesk_ref` is `reference`.
    pub async fn customers_by_helpdesk_ref(&self, reference: &str) -> Result<Vec<i64>> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT id FROM customers WHERE archived_at IS NULL AND helpdesk_ref = $1 ORDER BY id")
            .bind(reference.trim()).fetch_all(pool).await?))
    }

    /// Ids of the active customers with an e-mail address at `domain` (lower case): their
    /// billing e-mail or one of their contacts'.
    pub async fn customers_by_mail_domain(&self, domain: &str) -> Result<Vec<i64>> {
        let suffix = format!("%@{}", crate::search::escape_like(domain));
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT c.id FROM customers c WHERE c.archived_at IS NULL AND \
             (LOWER(COALESCE(c.billing_email, '')) LIKE $1 ESCAPE '\\' OR EXISTS (SELECT 1 FROM customer_contacts k \
              WHERE k.customer_id = c.id AND LOWER(COALESCE(k.email, '')) LIKE $1 ESCAPE '\\')) ORDER BY c.id")
            .bind(suffix).fetch_all(pool).await?))
    }

    /// The contact of `customer_id` with the e-mail of `contact` (case-insensitive; the
    /// oldest when several share it), added as `contact` when there is none. Looked up and
    /// added in one transaction holding the customer's row, so that concurrent pushes of one
    /// new requester add one contact.
    pub async fn contact_for_email(&self, customer_id: i64, contact: &ContactData, actor: &Actor) -> Result<i64> {
        let email = contact.email.as_deref().unwrap_or_default().trim().to_lowercase();
        let id = in_tx!(self, tx => {
            sqlx::query("UPDATE customers SET version = version WHERE id = $1").bind(customer_id)
                .execute(&mut *tx).await?;
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM customer_contacts WHERE customer_id = $1 AND LOWER(email) = $2 ORDER BY id LIMIT 1")
                .bind(customer_id).bind(&email).fetch_optional(&mut *tx).await?;
            match found {
                Some(id) => id,
                None => {
                    let data = ContactData { email: Some(email.clone()), ..contact.clone() };
                    crate::customers::insert_contact!(tx, customer_id, &data, actor).id
                }
            }
        });
        Ok(id)
    }

    /// The ticket `system` knows as `external_id`.
    pub async fn ticket_by_external(&self, system: &str, external_id: &str) -> Result<Option<Ticket>> {
        with_pool!(self, pool => Ok(sqlx::query_as(
            "SELECT * FROM tickets WHERE external_system = $1 AND external_id = $2")
            .bind(system).bind(external_id).fetch_optional(pool).await?))
    }

    /// The booking created from `system`'s time entry `external_id`, with its billing state.
    pub async fn external_booking(&self, system: &str, external_id: &str) -> Result<Option<Booking>> {
        with_pool!(self, pool => Ok(sqlx::query_as(concat!(
            "SELECT b.*, ", crate::holdings::booking_state!("b"), " AS state FROM bookings b \
             JOIN external_bookings x ON x.booking_id = b.id WHERE x.external_system = $1 AND x.external_id = $2"))
            .bind(system).bind(external_id).fetch_optional(pool).await?))
    }

    /// Records a booking for `system`'s time entry `external_id` and links the two, in one
    /// transaction. Fails with `Duplicate` when another request linked the entry first (the
    /// booking is then not written); the caller updates that booking instead.
    pub async fn create_external_booking(
        &self,
        system: &str,
        external_id: &str,
        data: &BookingData,
        actor: &Actor,
    ) -> Result<Booking> {
        let new = [NewBooking { data, actor }];
        let booking = in_tx!(self, tx => {
            let mut created: Vec<Booking> = crate::bookings::write_new_bookings!(tx, &new, DbTime::now());
            let booking = created.pop().ok_or(crate::StoreError::NotFound)?;
            sqlx::query("INSERT INTO external_bookings (external_system, external_id, booking_id) VALUES ($1, $2, $3)")
                .bind(system).bind(external_id).bind(booking.id)
                .execute(&mut *tx).await?;
            booking
        });
        Ok(booking)
    }

    /// The id and active flag of the user with this e-mail address (case-insensitive).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<(i64, bool)>> {
        with_pool!(self, pool => Ok(sqlx::query_as("SELECT id, active FROM users WHERE email = $1")
            .bind(email.trim().to_lowercase()).fetch_optional(pool).await?))
    }

    /// The id of the catalog service with this code.
    pub async fn service_by_code(&self, code: &str) -> Result<Option<i64>> {
        with_pool!(self, pool => Ok(sqlx::query_scalar("SELECT id FROM services WHERE code = $1")
            .bind(code.trim()).fetch_optional(pool).await?))
    }
}

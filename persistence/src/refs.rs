//! Lookups of referenced records, for validating what a client points at (a ticket's
//! customer, contact, project, assignee …) before writing.

use crate::{Result, Store};

/// What a write needs to know about a referenced project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectRef {
    pub internal: bool,
    pub customer_id: Option<i64>,
    pub archived: bool,
}

/// What a booking inherits from its ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct TicketRef {
    pub customer_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
}

impl Store {
    /// What a booking on a ticket inherits from it.
    pub async fn ticket_ref(&self, id: i64) -> Result<Option<TicketRef>> {
        with_pool!(self, pool => Ok(sqlx::query_as(
            "SELECT customer_id, project_id, task_id FROM tickets WHERE id = $1").bind(id).fetch_optional(pool).await?))
    }

    /// `Some(archived?)` when the customer exists.
    pub async fn customer_ref(&self, id: i64) -> Result<Option<bool>> {
        let row: Option<Option<crate::types::DbTime>> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT archived_at FROM customers WHERE id = $1").bind(id).fetch_optional(pool).await?);
        Ok(row.map(|archived_at| archived_at.is_some()))
    }

    /// The customer a contact belongs to.
    pub async fn contact_customer(&self, id: i64) -> Result<Option<i64>> {
        with_pool!(self, pool => Ok(sqlx::query_scalar("SELECT customer_id FROM customer_contacts WHERE id = $1")
            .bind(id).fetch_optional(pool).await?))
    }

    /// Kind, customer and state of a project.
    pub async fn project_ref(&self, id: i64) -> Result<Option<ProjectRef>> {
        let row: Option<(bool, Option<i64>, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT internal, customer_id, status FROM projects WHERE id = $1").bind(id).fetch_optional(pool).await?);
        Ok(row.map(|(internal, customer_id, status)| ProjectRef {
            internal,
            customer_id,
            archived: status == "archived",
        }))
    }

    /// The project a task belongs to.
    pub async fn task_project(&self, id: i64) -> Result<Option<i64>> {
        with_pool!(self, pool => Ok(sqlx::query_scalar("SELECT project_id FROM project_tasks WHERE id = $1")
            .bind(id).fetch_optional(pool).await?))
    }

    /// `Some((customer id, archived?))` when the contract exists.
    pub async fn contract_ref(&self, id: i64) -> Result<Option<(i64, bool)>> {
        let row: Option<(i64, Option<crate::types::DbTime>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT customer_id, archived_at FROM contracts WHERE id = $1").bind(id).fetch_optional(pool).await?);
        Ok(row.map(|(customer_id, archived_at)| (customer_id, archived_at.is_some())))
    }

    /// `Some(active?)` when the user exists.
    pub async fn user_ref(&self, id: i64) -> Result<Option<bool>> {
        with_pool!(self, pool => Ok(sqlx::query_scalar("SELECT active FROM users WHERE id = $1")
            .bind(id).fetch_optional(pool).await?))
    }

    /// `Some(archived?)` when the team exists.
    pub async fn team_ref(&self, id: i64) -> Result<Option<bool>> {
        let row: Option<Option<crate::types::DbTime>> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT archived_at FROM teams WHERE id = $1").bind(id).fetch_optional(pool).await?);
        Ok(row.map(|archived_at| archived_at.is_some()))
    }
}

//! Lookups of referenced records, for validating what a client points at (a ticket's
//! customer, contact, project, assignee …) before writing. [`BookingRefs`] reads what
//! any number of booking writes point at in one query.

use crate::store::Db;
use crate::{Result, Store};
use domain::catalog::Unit;
use std::collections::HashMap;

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

/// The ids a set of booking writes points at (duplicates are fine).
#[derive(Debug, Clone, Default)]
pub struct BookingRefIds {
    pub users: Vec<i64>,
    pub services: Vec<i64>,
    pub tickets: Vec<i64>,
    pub projects: Vec<i64>,
    pub tasks: Vec<i64>,
}

/// What a booking needs to know of its service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub name: String,
    pub unit: Unit,
    pub billable_by_default: bool,
    pub archived: bool,
}

/// What booking writes need to know of the records they point at: the named ones, plus
/// the tasks and projects their tickets and tasks bring along. Absent ids do not exist.
#[derive(Debug, Clone, Default)]
pub struct BookingRefs {
    /// User id → active?
    pub users: HashMap<i64, bool>,
    pub services: HashMap<i64, ServiceRef>,
    pub tickets: HashMap<i64, TicketRef>,
    /// Task id → its project.
    pub tasks: HashMap<i64, i64>,
    pub projects: HashMap<i64, ProjectRef>,
}

/// One row of the reference lookup: which kind of record, its id and up to three ids,
/// two flags and two texts (what each means depends on the kind).
type RefRow =
    (String, i64, Option<i64>, Option<i64>, Option<i64>, Option<bool>, Option<bool>, Option<String>, Option<String>);

/// The reference lookup; `{n}` stands for "the ids in JSON array parameter $n".
const BOOKING_REFS_SQL: &str = "WITH t AS (SELECT id, customer_id, project_id, task_id FROM tickets WHERE id IN {1}), \
     k AS (SELECT id, project_id FROM project_tasks WHERE id IN {2} OR id IN (SELECT task_id FROM t)) \
     SELECT 'ticket' AS kind, id, customer_id AS a, project_id AS b, task_id AS c, CAST(NULL AS BOOLEAN) AS f1, \
            CAST(NULL AS BOOLEAN) AS f2, CAST(NULL AS TEXT) AS s1, CAST(NULL AS TEXT) AS s2 FROM t \
     UNION ALL SELECT 'task', id, project_id, NULL, NULL, NULL, NULL, NULL, NULL FROM k \
     UNION ALL SELECT 'project', id, customer_id, NULL, NULL, internal, status = 'archived', NULL, NULL FROM projects \
            WHERE id IN {3} OR id IN (SELECT project_id FROM t) OR id IN (SELECT project_id FROM k) \
     UNION ALL SELECT 'user', id, NULL, NULL, NULL, active, NULL, NULL, NULL FROM users WHERE id IN {4} \
     UNION ALL SELECT 'service', id, NULL, NULL, NULL, archived_at IS NOT NULL, billable_by_default, unit, name \
            FROM services WHERE id IN {5}";

/// `ids` as a JSON array (the one list parameter both backends can unpack).
fn id_list(ids: &[i64]) -> String {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    serde_json::Value::from(ids).to_string()
}

impl BookingRefs {
    fn add(&mut self, row: RefRow) {
        let (kind, id, a, b, c, f1, f2, s1, s2) = row;
        match kind.as_str() {
            "ticket" => {
                self.tickets.insert(id, TicketRef { customer_id: a, project_id: b, task_id: c });
            }
            "task" => {
                if let Some(project) = a {
                    self.tasks.insert(id, project);
                }
            }
            "project" => {
                let (internal, archived) = (f1.unwrap_or(false), f2.unwrap_or(false));
                self.projects.insert(id, ProjectRef { internal, customer_id: a, archived });
            }
            "user" => {
                self.users.insert(id, f1.unwrap_or(false));
            }
            _ => {
                if let Some(unit) = s1.and_then(|u| u.parse::<Unit>().ok()) {
                    let (archived, billable_by_default) = (f1.unwrap_or(false), f2.unwrap_or(false));
                    let name = s2.unwrap_or_default();
                    self.services.insert(id, ServiceRef { name, unit, billable_by_default, archived });
                }
            }
        }
    }
}

impl Store {
    /// Everything the booking writes naming `ids` need to know of their references, in
    /// one query (a day's batch of bookings reads its references once, not per booking).
    pub async fn booking_refs(&self, ids: &BookingRefIds) -> Result<BookingRefs> {
        let list = match &*self.db {
            Db::Sqlite(_) => "(SELECT value FROM json_each($n))",
            Db::Postgres(_) => "(SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($n AS JSON)))",
        };
        let mut sql = BOOKING_REFS_SQL.to_string();
        for n in 1..=5 {
            sql = sql.replace(&format!("{{{n}}}"), &list.replace("$n", &format!("${n}")));
        }
        let lists = [&ids.tickets, &ids.tasks, &ids.projects, &ids.users, &ids.services].map(|l| id_list(l));
        let rows: Vec<RefRow> = with_pool!(self, pool => {
            let mut q = sqlx::query_as(&sql);
            for l in &lists {
                q = q.bind(l.as_str());
            }
            q.fetch_all(pool).await?
        });
        let mut refs = BookingRefs::default();
        for row in rows {
            refs.add(row);
        }
        Ok(refs)
    }

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

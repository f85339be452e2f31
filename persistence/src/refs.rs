//! Lookups of referenced records, for validating what a client points at (a ticket's
//! customer, contact, project, assignee …) before writing. [`BookingRefs`] reads what
//! any number of booking writes point at in one query, with a fingerprint of the booking
//! custom-field definitions they are validated against.

use crate::shared_reads::{self, Shared};
use crate::store::Db;
use crate::{Result, Store};
use domain::catalog::Unit;
use std::collections::HashMap;
use std::sync::OnceLock;

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
    /// Which active booking custom-field definitions there were when these were read
    /// (for [`Store::booking_fields`]).
    pub(crate) booking_fields: FieldsFingerprint,
}

/// Identifies a set of custom-field definitions in their versions: how many, the sum of
/// their ids and the sum of their versions (every change of a definition raises its version).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FieldsFingerprint {
    pub count: i64,
    pub id_sum: i64,
    pub version_sum: i64,
}

/// One row of the reference lookup: which kind of record, its id and up to three ids,
/// two flags and two texts (what each means depends on the kind).
type RefRow =
    (String, i64, Option<i64>, Option<i64>, Option<i64>, Option<bool>, Option<bool>, Option<String>, Option<String>);

/// The reference lookup. `{Ln}` stands for "the ids in JSON array parameter $n" as a row
/// source `ln` and `{Vn}` for its id column: every record is found by joining that list to
/// the primary key (SQLite would otherwise build a temporary table for each `IN (…)` list, which
/// cost a quarter of a single booking's write). Tasks and projects the tickets and tasks bring
/// along are found the same way; duplicates are harmless.
const BOOKING_REFS_SQL: &str = "\
     SELECT 'ticket' AS kind, t.id, t.customer_id AS a, t.project_id AS b, t.task_id AS c, \
            CAST(NULL AS BOOLEAN) AS f1, CAST(NULL AS BOOLEAN) AS f2, CAST(NULL AS TEXT) AS s1, \
            CAST(NULL AS TEXT) AS s2 FROM {L1} JOIN tickets t ON t.id = {V1} \
     UNION ALL SELECT 'task', k.id, k.project_id, NULL, NULL, NULL, NULL, NULL, NULL \
            FROM {L2} JOIN project_tasks k ON k.id = {V2} \
     UNION ALL SELECT 'task', k.id, k.project_id, NULL, NULL, NULL, NULL, NULL, NULL \
            FROM {L1} JOIN tickets t ON t.id = {V1} JOIN project_tasks k ON k.id = t.task_id \
     UNION ALL SELECT 'project', p.id, p.customer_id, NULL, NULL, p.internal, p.status = 'archived', NULL, NULL \
            FROM {L3} JOIN projects p ON p.id = {V3} \
     UNION ALL SELECT 'project', p.id, p.customer_id, NULL, NULL, p.internal, p.status = 'archived', NULL, NULL \
            FROM {L1} JOIN tickets t ON t.id = {V1} JOIN projects p ON p.id = t.project_id \
     UNION ALL SELECT 'project', p.id, p.customer_id, NULL, NULL, p.internal, p.status = 'archived', NULL, NULL \
            FROM {L2} JOIN project_tasks k ON k.id = {V2} JOIN projects p ON p.id = k.project_id \
     UNION ALL SELECT 'project', p.id, p.customer_id, NULL, NULL, p.internal, p.status = 'archived', NULL, NULL \
            FROM {L1} JOIN tickets t ON t.id = {V1} JOIN project_tasks k ON k.id = t.task_id \
            JOIN projects p ON p.id = k.project_id \
     UNION ALL SELECT 'user', u.id, NULL, NULL, NULL, u.active, NULL, NULL, NULL FROM {L4} JOIN users u ON u.id = {V4} \
     UNION ALL SELECT 'service', s.id, NULL, NULL, NULL, s.archived_at IS NOT NULL, s.billable_by_default, s.unit, \
            s.name FROM {L5} JOIN services s ON s.id = {V5} \
     UNION ALL SELECT 'fields', COUNT(*), CAST(SUM(id) AS BIGINT), CAST(SUM(version) AS BIGINT), NULL, NULL, NULL, \
            NULL, NULL FROM custom_field_definitions WHERE entity = 'booking' AND archived_at IS NULL";

/// [`BOOKING_REFS_SQL`] with each list `n` as the row source `source` and its id `id`
/// (`#` standing for `n`).
fn refs_sql(source: &str, id: &str) -> String {
    let mut sql = BOOKING_REFS_SQL.to_string();
    for n in 1..=5 {
        let (l, v) = (source.replace('#', &n.to_string()), id.replace('#', &n.to_string()));
        sql = sql.replace(&format!("{{L{n}}}"), &l).replace(&format!("{{V{n}}}"), &v);
    }
    sql
}

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
            "fields" => {
                self.booking_fields =
                    FieldsFingerprint { count: id, id_sum: a.unwrap_or(0), version_sum: b.unwrap_or(0) };
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

/// Reads of this many ids or fewer (a single booking's) share a statement with the reads
/// of concurrent callers ([`crate::shared_reads`]); bigger ones (a batch) read alone.
const SHARED_UP_TO: usize = 16;

impl BookingRefIds {
    /// How many ids, duplicates counted.
    fn len(&self) -> usize {
        self.users.len() + self.services.len() + self.tickets.len() + self.projects.len() + self.tasks.len()
    }

    /// Adds the ids of `other`.
    fn extend(&mut self, other: &BookingRefIds) {
        self.users.extend(&other.users);
        self.services.extend(&other.services);
        self.tickets.extend(&other.tickets);
        self.projects.extend(&other.projects);
        self.tasks.extend(&other.tasks);
    }
}

impl Store {
    /// Everything the booking writes naming `ids` need to know of their references, in
    /// one query (a day's batch of bookings reads its references once, not per booking).
    /// Small reads share their query with concurrent callers' (see [`SHARED_UP_TO`]); the
    /// answer then also knows the records the others named, read in the same statement.
    pub async fn booking_refs(&self, ids: &BookingRefIds) -> Result<BookingRefs> {
        if ids.len() <= SHARED_UP_TO {
            let start_reader = || {
                let store = self.clone();
                tokio::spawn(async move { store.read_shared_refs().await });
            };
            if let Shared::Found(refs) = self.ref_reads.ask(ids.clone(), start_reader).await {
                return Ok(refs);
            }
        }
        self.read_booking_refs(ids).await
    }

    /// A reader task of the shared reference reads: reads batches until nobody waits.
    async fn read_shared_refs(&self) {
        self.ref_reads
            .serve(|batch| async move {
                let mut all = BookingRefIds::default();
                for (ids, _) in &batch {
                    all.extend(ids);
                }
                shared_reads::answer_all(batch, self.read_booking_refs(&all).await);
            })
            .await
    }

    /// [`Store::booking_refs`], read for this caller alone.
    async fn read_booking_refs(&self, ids: &BookingRefIds) -> Result<BookingRefs> {
        static SQLITE: OnceLock<String> = OnceLock::new();
        static POSTGRES: OnceLock<String> = OnceLock::new();
        let sql = match &*self.db {
            Db::Sqlite(_) => SQLITE.get_or_init(|| refs_sql("json_each($#) AS l#", "l#.value")),
            Db::Postgres(_) => POSTGRES.get_or_init(|| {
                refs_sql("json_array_elements_text(CAST($# AS JSON)) AS l#(value)", "CAST(l#.value AS BIGINT)")
            }),
        };
        let lists = [&ids.tickets, &ids.tasks, &ids.projects, &ids.users, &ids.services].map(|l| id_list(l));
        let rows: Vec<RefRow> = with_reader!(self, conn => {
            let mut q = sqlx::query_as(sql.as_str());
            for l in &lists {
                q = q.bind(l.as_str());
            }
            Ok(q.fetch_all(conn).await?)
        })?;
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

//! Storage of tickets and work orders: numbers, status, assignment, appointments and the
//! registers (an append-only timeline of notes, correspondence, documents and status
//! changes).

use crate::audit::Actor;
use crate::page::{Page, PageRequest};
use crate::search::like_pattern;
use crate::shared_reads::{self, Shared};
use crate::types::{DbTime, JsonText};
use crate::{Result, Store, StoreError};
use domain::ticket::{ticket_number, Priority, TicketSource, TicketStatus, TicketType};
use time::Date;

/// The writable fields of a ticket (status has its own operation).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct TicketData {
    #[sqlx(try_from = "String")]
    pub ticket_type: TicketType,
    pub title: String,
    pub description: Option<String>,
    pub customer_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub priority: Priority,
    pub due_date: Option<Date>,
    pub estimate_minutes: Option<i64>,
    #[sqlx(try_from = "String")]
    pub source: TicketSource,
    pub external_system: Option<String>,
    pub external_id: Option<String>,
    pub external_url: Option<String>,
    pub custom_fields: JsonText,
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct Ticket {
    pub id: i64,
    /// `T-2026-000123`.
    pub number: String,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub data: TicketData,
    #[sqlx(try_from = "String")]
    pub status: TicketStatus,
    pub resolved_at: Option<DbTime>,
    pub closed_at: Option<DbTime>,
    pub created_by: String,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

/// Which tickets to list (all filters combine).
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub statuses: Vec<TicketStatus>,
    pub ticket_type: Option<TicketType>,
    pub customer_id: Option<i64>,
    pub project_id: Option<i64>,
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
    pub priority: Option<Priority>,
    /// Case-insensitive text in number, title or description.
    pub search: Option<String>,
    pub external_system: Option<String>,
    pub external_id: Option<String>,
}

impl TicketFilter {
    /// Whether no filter is set (every ticket matches).
    pub fn is_empty(&self) -> bool {
        let TicketFilter {
            statuses,
            ticket_type,
            customer_id,
            project_id,
            assignee_user_id,
            assignee_team_id,
            priority,
            search,
            external_system,
            external_id,
        } = self;
        statuses.is_empty()
            && ticket_type.is_none()
            && customer_id.is_none()
            && project_id.is_none()
            && assignee_user_id.is_none()
            && assignee_team_id.is_none()
            && priority.is_none()
            && search.is_none()
            && external_system.is_none()
            && external_id.is_none()
    }
}

/// One entry of a ticket's registers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct TimelineEntry {
    pub id: i64,
    pub ticket_id: i64,
    /// `note`, `correspondence`, `document`, `status_change`.
    pub entry_type: String,
    /// `internal` or `customer`.
    pub visibility: String,
    pub in_report: bool,
    pub body: Option<String>,
    /// `phone`, `email_in`, `email_out` (correspondence).
    pub channel: Option<String>,
    pub from_addr: Option<String>,
    pub to_addr: Option<String>,
    pub subject: Option<String>,
    pub document_id: Option<i64>,
    pub old_status: Option<String>,
    pub new_status: Option<String>,
    /// The earlier entry this one corrects.
    pub corrects_id: Option<i64>,
    pub author_type: String,
    pub author_id: Option<i64>,
    pub author_name: String,
    pub created_at: DbTime,
}

/// A new note or correspondence entry.
#[derive(Debug, Clone, Default)]
pub struct NewTimelineEntry {
    pub entry_type: String,
    pub visibility: String,
    pub in_report: bool,
    pub body: Option<String>,
    pub channel: Option<String>,
    pub from_addr: Option<String>,
    pub to_addr: Option<String>,
    pub subject: Option<String>,
    pub corrects_id: Option<i64>,
}

/// A stored file's metadata (the bytes live under the data directory by hash).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Document {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub project_id: Option<i64>,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at: DbTime,
}

/// A scheduled visit or call.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Appointment {
    pub id: i64,
    pub ticket_id: i64,
    pub starts_at: DbTime,
    pub ends_at: DbTime,
    pub user_id: Option<i64>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub created_at: DbTime,
}

/// A new appointment.
#[derive(Debug, Clone)]
pub struct NewAppointment {
    pub starts_at: DbTime,
    pub ends_at: DbTime,
    pub user_id: Option<i64>,
    pub location: Option<String>,
    pub notes: Option<String>,
}

const TICKET_COLUMNS: &str = "ticket_type, title, description, customer_id, contact_id, project_id, task_id, \
    contract_id, assignee_user_id, assignee_team_id, priority, due_date, estimate_minutes, source, \
    external_system, external_id, external_url, custom_fields";

macro_rules! bind_ticket_data {
    ($q:expr, $d:expr) => {
        $q.bind($d.ticket_type.as_str())
            .bind(&$d.title)
            .bind(&$d.description)
            .bind($d.customer_id)
            .bind($d.contact_id)
            .bind($d.project_id)
            .bind($d.task_id)
            .bind($d.contract_id)
            .bind($d.assignee_user_id)
            .bind($d.assignee_team_id)
            .bind($d.priority.as_str())
            .bind($d.due_date)
            .bind($d.estimate_minutes)
            .bind($d.source.as_str())
            .bind(&$d.external_system)
            .bind(&$d.external_id)
            .bind(&$d.external_url)
            .bind(&$d.custom_fields)
    };
}

/// Locks a ticket's row inside `$tx` before it is read for a change (PostgreSQL; SQLite holds
/// the database already): concurrent writers of one ticket take turns instead of failing
/// each other's version check.
macro_rules! lock_ticket {
    ($tx:expr, $id:expr) => {
        sqlx::query("UPDATE tickets SET version = version WHERE id = $1")
            .bind($id)
            .execute(&mut *$tx)
            .await
            .map_err($crate::StoreError::from)?
    };
}
pub(crate) use lock_ticket;

/// Appends a timeline entry inside `$tx` and evaluates to it.
macro_rules! insert_timeline {
    ($tx:expr, $ticket_id:expr, $e:expr, $document_id:expr, $old:expr, $new:expr, $actor:expr) => {{
        let actor: &$crate::audit::Actor = $actor;
        let entry: $crate::tickets::TimelineEntry = sqlx::query_as(
            "INSERT INTO ticket_timeline (ticket_id, entry_type, visibility, in_report, body, channel, from_addr, \
             to_addr, subject, document_id, old_status, new_status, corrects_id, author_type, author_id, author_name, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING *",
        )
        .bind($ticket_id)
        .bind(&$e.entry_type)
        .bind(&$e.visibility)
        .bind($e.in_report)
        .bind(&$e.body)
        .bind(&$e.channel)
        .bind(&$e.from_addr)
        .bind(&$e.to_addr)
        .bind(&$e.subject)
        .bind($document_id)
        .bind($old)
        .bind($new)
        .bind($e.corrects_id)
        .bind(actor.kind.as_str())
        .bind(actor.id)
        .bind(&actor.name)
        .bind($crate::types::DbTime::now())
        .fetch_one(&mut *$tx)
        .await
        .map_err($crate::StoreError::from)?;
        entry
    }};
}
pub(crate) use insert_timeline;

/// The payload of `ticket.status_changed`: the change and the ticket after it (with the
/// helpdesk's external ids for status push-back).
pub(crate) fn status_changed_payload(from: TicketStatus, after: &Ticket) -> serde_json::Value {
    serde_json::json!({"id": after.id, "number": after.number, "from": from, "to": after.status,
        "external_system": after.data.external_system, "external_id": after.data.external_id,
        "ticket": after})
}

impl Store {
    /// Creates a ticket with the next number of the current year (unique and increasing
    /// under concurrency: the counter is advanced inside the creating transaction).
    pub async fn create_ticket(&self, data: &TicketData, actor: &Actor) -> Result<Ticket> {
        let sql = format!(
            "INSERT INTO tickets (number, status, created_by, version, created_at, updated_at, {TICKET_COLUMNS}) \
             VALUES ($1, 'new', $2, 1, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
             $20, $21) RETURNING *"
        );
        let now = DbTime::now();
        let year = now.0.year();
        let ticket = in_tx!(self, tx => {
            let seq = next_number!(tx, format!("ticket-{year}"), 1)?;
            let q = sqlx::query_as(&sql).bind(ticket_number(year, seq)).bind(&actor.name).bind(now);
            let ticket: Ticket = bind_ticket_data!(q, data).fetch_one(&mut *tx).await?;
            let created = NewTimelineEntry {
                entry_type: "status_change".into(),
                visibility: "internal".into(),
                ..Default::default()
            };
            insert_timeline!(tx, ticket.id, created, None::<i64>, None::<&str>, Some("new"), actor);
            audit!(tx, actor, "ticket", ticket.id, "create", None::<&Ticket>, Some(&ticket));
            emit_event!(tx, "ticket.created", "ticket", ticket.id, &ticket);
            ticket
        });
        Ok(ticket)
    }

    /// The ticket with this id (on SQLite read on the caller's thread,
    /// [`crate::direct_reads`]).
    pub async fn get_ticket(&self, id: i64) -> Result<Ticket> {
        if let Some(read) = self.direct.as_ref().and_then(|d| d.ticket(id)) {
            return read.ok_or(StoreError::NotFound);
        }
        if let crate::readers::ReaderSet::Postgres(_) = &*self.readers {
            let start_reader = || {
                let store = self.clone();
                tokio::spawn(async move { store.read_ticket_batches().await });
            };
            match self.ticket_reads.ask(id, start_reader).await {
                Shared::Found(ticket) => return Ok(ticket),
                Shared::Missing => return Err(StoreError::NotFound),
                Shared::Failed => {} // read alone below
            }
        }
        with_reader!(self, conn => Ok(sqlx::query_as("SELECT * FROM tickets WHERE id = $1").bind(id).fetch_one(conn).await?))
    }

    /// A reader task of the shared ticket reads (PostgreSQL, [`crate::shared_reads`]):
    /// reads batches until nobody waits.
    async fn read_ticket_batches(&self) {
        self.ticket_reads
            .serve(|batch| async move {
                let rows: Result<Vec<Ticket>> = match &*self.readers {
                    crate::readers::ReaderSet::Postgres(readers) => async {
                        with_reader!(@on readers, conn => Ok(sqlx::query_as("SELECT * FROM tickets WHERE id = ANY($1)")
                            .bind(shared_reads::ids(&batch)).fetch_all(conn).await?))
                    }
                    .await,
                    // Never: only PostgreSQL shares ticket reads (a failure sends callers to read alone).
                    crate::readers::ReaderSet::Sqlite(_) => Err(StoreError::NotFound),
                };
                shared_reads::answer(batch, rows, |t| t.id);
            })
            .await
    }

    /// Tickets, newest first; `after` is the id of the last ticket already seen.
    pub async fn list_tickets(&self, f: &TicketFilter, page: &PageRequest<i64>) -> Result<Page<Ticket, i64>> {
        let limit = i64::from(page.limit) + 1;
        let newest = f.is_empty().then(|| self.direct.as_ref().and_then(|d| d.newest_tickets(page.after, limit)));
        if let Some(rows) = newest.flatten() {
            return Ok(Page::from_overfetch(rows, page.limit, |t| t.id));
        }
        let statuses: Option<String> = if f.statuses.is_empty() {
            None
        } else {
            Some(format!(",{},", f.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")))
        };
        let rows: Vec<Ticket> = with_reader!(self, conn => Ok(sqlx::query_as(
            "SELECT * FROM tickets WHERE ($1 IS NULL OR $1 LIKE '%,' || status || ',%') \
             AND ($2 IS NULL OR ticket_type = $2) AND ($3 IS NULL OR customer_id = $3) \
             AND ($4 IS NULL OR project_id = $4) AND ($5 IS NULL OR assignee_user_id = $5) \
             AND ($6 IS NULL OR assignee_team_id = $6) AND ($7 IS NULL OR priority = $7) \
             AND ($8 IS NULL OR LOWER(number) LIKE $8 ESCAPE '\\' OR LOWER(title) LIKE $8 ESCAPE '\\' \
                  OR LOWER(COALESCE(description, '')) LIKE $8 ESCAPE '\\') \
             AND ($9 IS NULL OR external_system = $9) AND ($10 IS NULL OR external_id = $10) \
             AND ($11 IS NULL OR id < $11) ORDER BY id DESC LIMIT $12")
            .bind(statuses)
            .bind(f.ticket_type.map(|t| t.as_str()))
            .bind(f.customer_id)
            .bind(f.project_id)
            .bind(f.assignee_user_id)
            .bind(f.assignee_team_id)
            .bind(f.priority.map(|p| p.as_str()))
            .bind(f.search.as_deref().map(like_pattern))
            .bind(f.external_system.as_deref())
            .bind(f.external_id.as_deref())
            .bind(page.after)
            .bind(limit)
            .fetch_all(conn).await?))?;
        Ok(Page::from_overfetch(rows, page.limit, |t| t.id))
    }

    /// Applies `change` to the ticket's fields (not its status) and stores them.
    pub async fn update_ticket<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&Ticket) -> std::result::Result<TicketData, E>,
    ) -> std::result::Result<Ticket, E> {
        let sql = format!(
            "UPDATE tickets SET ({TICKET_COLUMNS}) = ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18), version = version + 1, updated_at = $19 WHERE id = $20 AND version = $21 RETURNING *"
        );
        let ticket = in_tx!(self, tx => {
            lock_ticket!(tx, id);
            let before: Ticket = sqlx::query_as("SELECT * FROM tickets WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            let data = change(&before)?;
            let after: Ticket = bind_ticket_data!(sqlx::query_as(&sql), data)
                .bind(DbTime::now()).bind(id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
                .ok_or(StoreError::StaleVersion)?;
            audit!(tx, actor, "ticket", id, "update", Some(&before), Some(&after));
            emit_event!(tx, "ticket.updated", "ticket", id, &after);
            after
        });
        Ok(ticket)
    }

    /// Moves a ticket to the status `decide` returns for its current state, and records the
    /// change on the timeline (with an optional note), in the audit log and as an event.
    pub async fn change_ticket_status<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        note: Option<String>,
        actor: &Actor,
        decide: impl FnOnce(&Ticket) -> std::result::Result<TicketStatus, E>,
    ) -> std::result::Result<(Ticket, TimelineEntry), E> {
        let out = in_tx!(self, tx => {
            lock_ticket!(tx, id);
            let before: Ticket = sqlx::query_as("SELECT * FROM tickets WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            let to = decide(&before)?;
            let now = DbTime::now();
            let resolved_at = match to {
                TicketStatus::Resolved => Some(now),
                TicketStatus::Closed => before.resolved_at.or(Some(now)),
                _ => None,
            };
            let closed_at = (to == TicketStatus::Closed).then_some(now);
            let after: Ticket = sqlx::query_as(
                "UPDATE tickets SET status = $1, resolved_at = $2, closed_at = $3, version = version + 1, updated_at = $4 \
                 WHERE id = $5 AND version = $6 RETURNING *")
                .bind(to.as_str()).bind(resolved_at).bind(closed_at).bind(now).bind(id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
                .ok_or(StoreError::StaleVersion)?;
            let entry = NewTimelineEntry {
                entry_type: "status_change".into(),
                visibility: "internal".into(),
                body: note,
                ..Default::default()
            };
            let entry = insert_timeline!(tx, id, entry, None::<i64>, Some(before.status.as_str()), Some(to.as_str()), actor);
            audit!(tx, actor, "ticket", id, "status", Some(&before), Some(&after));
            emit_event!(tx, "ticket.status_changed", "ticket", id, &status_changed_payload(before.status, &after));
            if after.data.ticket_type == TicketType::WorkOrder && to.is_done() && !before.status.is_done() {
                // A periodic work order done (a skipped one is closed by `skip_work_order`).
                emit_event!(tx, "workorder.completed", "ticket", id, &serde_json::json!({"ticket": after}));
                crate::work_orders::orders::record_execution!(tx, id, actor);
            }
            (after, entry)
        });
        Ok(out)
    }

    /// Appends a note or correspondence entry to a ticket's registers.
    pub async fn add_timeline_entry(
        &self,
        ticket_id: i64,
        e: &NewTimelineEntry,
        actor: &Actor,
    ) -> Result<TimelineEntry> {
        let entry = in_tx!(self, tx => {
            if let Some(corrects) = e.corrects_id {
                let owner: Option<i64> = sqlx::query_scalar("SELECT ticket_id FROM ticket_timeline WHERE id = $1")
                    .bind(corrects).fetch_optional(&mut *tx).await?;
                if owner != Some(ticket_id) {
                    return Err(StoreError::MissingReference("corrects_id".into()));
                }
            }
            insert_timeline!(tx, ticket_id, e, None::<i64>, None::<&str>, None::<&str>, actor)
        });
        Ok(entry)
    }

    /// A ticket's registers in chronological order.
    pub async fn list_timeline(&self, ticket_id: i64, page: &PageRequest<i64>) -> Result<Page<TimelineEntry, i64>> {
        let rows: Vec<TimelineEntry> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM ticket_timeline WHERE ticket_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3")
            .bind(ticket_id).bind(page.after).bind(i64::from(page.limit) + 1).fetch_all(pool).await?);
        Ok(Page::from_overfetch(rows, page.limit, |e| e.id))
    }

    /// Records an uploaded document of a ticket and its timeline entry, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_ticket_document(
        &self,
        ticket_id: i64,
        file_name: &str,
        content_type: &str,
        size_bytes: i64,
        sha256: &str,
        note: Option<String>,
        in_report: bool,
        actor: &Actor,
    ) -> Result<(Document, TimelineEntry)> {
        let out = in_tx!(self, tx => {
            let doc: Document = sqlx::query_as(
                "INSERT INTO documents (ticket_id, file_name, content_type, size_bytes, sha256, uploaded_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *")
                .bind(ticket_id).bind(file_name).bind(content_type).bind(size_bytes).bind(sha256)
                .bind(&actor.name).bind(DbTime::now())
                .fetch_one(&mut *tx).await?;
            let e = NewTimelineEntry {
                entry_type: "document".into(),
                visibility: "internal".into(),
                in_report,
                body: note,
                ..Default::default()
            };
            let entry = insert_timeline!(tx, ticket_id, e, Some(doc.id), None::<&str>, None::<&str>, actor);
            (doc, entry)
        });
        Ok(out)
    }

    /// A document's metadata.
    pub async fn get_document(&self, id: i64) -> Result<Document> {
        with_pool!(self, pool => Ok(sqlx::query_as("SELECT * FROM documents WHERE id = $1").bind(id).fetch_one(pool).await?))
    }

    /// Schedules an appointment on a ticket.
    pub async fn add_appointment(&self, ticket_id: i64, a: &NewAppointment, actor: &Actor) -> Result<Appointment> {
        let appointment = in_tx!(self, tx => {
            let appointment: Appointment = sqlx::query_as(
                "INSERT INTO ticket_appointments (ticket_id, starts_at, ends_at, user_id, location, notes, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *")
                .bind(ticket_id).bind(a.starts_at).bind(a.ends_at).bind(a.user_id).bind(&a.location).bind(&a.notes)
                .bind(DbTime::now())
                .fetch_one(&mut *tx).await?;
            audit!(tx, actor, "ticket_appointment", appointment.id, "create", None::<&Appointment>, Some(&appointment));
            appointment
        });
        Ok(appointment)
    }

    /// A ticket's appointments by start time.
    pub async fn list_appointments(&self, ticket_id: i64) -> Result<Vec<Appointment>> {
        with_pool!(self, pool => Ok(sqlx::query_as(
            "SELECT * FROM ticket_appointments WHERE ticket_id = $1 ORDER BY starts_at, id")
            .bind(ticket_id).fetch_all(pool).await?))
    }

    /// Cancels (removes) an appointment of a ticket.
    pub async fn delete_appointment(&self, ticket_id: i64, id: i64, actor: &Actor) -> Result<()> {
        in_tx!(self, tx => {
            let before: Appointment = sqlx::query_as("SELECT * FROM ticket_appointments WHERE id = $1 AND ticket_id = $2")
                .bind(id).bind(ticket_id).fetch_one(&mut *tx).await?;
            sqlx::query("DELETE FROM ticket_appointments WHERE id = $1").bind(id).execute(&mut *tx).await?;
            audit!(tx, actor, "ticket_appointment", id, "delete", Some(&before), None::<&Appointment>);
        });
        Ok(())
    }
}

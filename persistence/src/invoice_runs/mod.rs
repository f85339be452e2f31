//! Committed invoice runs: the run record (parameters, who started it, its job status,
//! progress and what it produced), how a run is recorded — queued for the job worker, or
//! held by the request that runs it — and its reads. Billing the customers is in
//! [`execute`]; issuing a run's drafts as a job in [`issue`].
//!
//! A run is a job ([`crate::jobs`]): whoever bills it holds its lease and records after
//! each customer how far it got (customers in id order, `last_customer_id`), so that a
//! run whose node died is resumed after the last customer done. A customer re-billed
//! anyway (the node died between its drafts and the progress record) finds its positions
//! in the drafts already: positions in a draft are no longer open, so they are never
//! taken twice.

mod execute;
mod issue;

pub use issue::{IssueProblem, IssueProblems, RunIssue};

use crate::audit::{Actor, ActorKind};
use crate::billing::{InputParams, PositionScope};
use crate::jobs::{JobLease, JobStatus, JobTable};
use crate::page::{Page, PageRequest};
use crate::types::DbTime;
use crate::{Result, Store, StoreError};
use domain::position::PositionRef;
use time::Date;

/// What a run bills: its scope as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunScope {
    All,
    Customer(i64),
    Contract(i64),
    Project(i64),
    Ticket(i64),
}

impl RunScope {
    /// The scope of a stored name and id.
    fn of_stored(scope: &str, id: Option<i64>) -> Result<RunScope> {
        Ok(match (scope, id) {
            ("all", _) => RunScope::All,
            ("customer", Some(id)) => RunScope::Customer(id),
            ("contract", Some(id)) => RunScope::Contract(id),
            ("project", Some(id)) => RunScope::Project(id),
            ("ticket", Some(id)) => RunScope::Ticket(id),
            _ => return Err(crate::types::decode_error(format!("unknown run scope {scope}"))),
        })
    }

    /// Storage name and id.
    pub fn parts(self) -> (&'static str, Option<i64>) {
        match self {
            RunScope::All => ("all", None),
            RunScope::Customer(id) => ("customer", Some(id)),
            RunScope::Contract(id) => ("contract", Some(id)),
            RunScope::Project(id) => ("project", Some(id)),
            RunScope::Ticket(id) => ("ticket", Some(id)),
        }
    }

    /// The ticket, project and contract a draft of this scope records as its scope.
    fn draft_scope(self) -> (Option<i64>, Option<i64>, Option<i64>) {
        match self {
            RunScope::Ticket(id) => (Some(id), None, None),
            RunScope::Project(id) => (None, Some(id), None),
            RunScope::Contract(id) => (None, None, Some(id)),
            RunScope::All | RunScope::Customer(_) => (None, None, None),
        }
    }
}

/// A resolved run: which customers and how each is computed.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub scope: RunScope,
    /// Customers to bill, in order.
    pub customers: Vec<i64>,
    /// How each customer's input is built.
    pub params: InputParams,
}

/// Why a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartedVia {
    /// `POST /invoice-runs`.
    Api,
    /// A ticket of a customer in `immediate` billing mode was resolved.
    TicketResolved,
}

impl StartedVia {
    fn as_str(self) -> &'static str {
        match self {
            StartedVia::Api => "api",
            StartedVia::TicketResolved => "ticket_resolved",
        }
    }
}

/// Something that kept a customer out of a committed run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunProblem {
    pub customer_id: i64,
    /// The engine's problem code (`missing_rate`, …) or `concurrent_change`.
    pub code: String,
    pub message: String,
    pub position: Option<PositionRef>,
    pub contract_id: Option<i64>,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct InvoiceRun {
    pub id: i64,
    /// `api` or `ticket_resolved`.
    pub started_via: String,
    /// `all`, `customer`, `contract`, `project` or `ticket`.
    pub scope: String,
    pub scope_id: Option<i64>,
    pub period_start: Option<Date>,
    pub period_end: Date,
    /// `queued`, `running` (also: its node died; it is resumed when the lease expires),
    /// `succeeded`, `failed` or `cancelled` (see [`JobStatus`]).
    pub status: String,
    pub started_by_type: String,
    pub started_by_id: Option<i64>,
    pub started_by_name: String,
    pub request_id: Option<String>,
    pub customers_billed: i64,
    pub customers_blocked: i64,
    pub invoices_created: i64,
    pub positions_reserved: i64,
    #[sqlx(try_from = "crate::types::JsonText")]
    pub problems: RunProblems,
    /// When a worker (or the request) started billing; `None` while queued.
    pub started_at: Option<DbTime>,
    pub finished_at: Option<DbTime>,
    /// When the run was recorded (`None` for runs from before jobs: see `started_at`).
    pub queued_at: Option<DbTime>,
    /// Customers in scope, known once billing started.
    pub customers_total: Option<i64>,
    /// Customers billed, left out with problems, or with nothing to bill.
    pub customers_done: i64,
    /// Customers up to this id are done (a resumed run continues after it).
    pub last_customer_id: Option<i64>,
    /// The worker holding the run while it runs.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DbTime>,
    /// A cancel was requested: the worker stops before the next customer.
    pub cancel_requested: bool,
    /// Why a failed run failed.
    pub failure: Option<String>,
    /// Claims by a worker.
    pub attempts: i64,
    /// Projects the run moved from `manager_done` to `billed`.
    #[sqlx(try_from = "crate::types::JsonText")]
    pub projects_billed: RunProjects,
}

/// Project ids of a run (stored as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct RunProjects(pub Vec<i64>);

impl TryFrom<crate::types::JsonText> for RunProjects {
    type Error = serde_json::Error;
    fn try_from(v: crate::types::JsonText) -> std::result::Result<Self, Self::Error> {
        Ok(RunProjects(serde_json::from_value(v.0)?))
    }
}

impl InvoiceRun {
    /// The run's job status.
    pub fn job_status(&self) -> JobStatus {
        JobStatus::parse(&self.status)
    }

    /// How long billing took (or takes so far): from start to finish (or now).
    pub fn duration(&self) -> Option<std::time::Duration> {
        let started = self.started_at.as_ref()?.0;
        let until = self.finished_at.as_ref().map(|f| f.0).unwrap_or_else(time::OffsetDateTime::now_utc);
        std::time::Duration::try_from(until - started).ok()
    }

    /// Who started the run, as the actor of what its job writes.
    fn actor(&self) -> Actor {
        stored_actor(&self.started_by_type, self.started_by_id, &self.started_by_name, self.request_id.clone())
    }
}

/// The actor of a stored `started_by` (jobs write in the name of who started them).
fn stored_actor(kind: &str, id: Option<i64>, name: &str, request_id: Option<String>) -> Actor {
    let kind = match kind {
        "user" => ActorKind::User,
        "api_client" => ActorKind::ApiClient,
        _ => ActorKind::System,
    };
    Actor { kind, id, name: name.to_string(), request_id }
}

/// One document a run created, summarised: whom it bills and for how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDocument {
    pub id: i64,
    /// `invoice` or `settlement`.
    pub kind: String,
    /// `draft`, `issued`, `paid`, `cancelled` or `settled`.
    pub status: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub currency: domain::Currency,
    pub net: rust_decimal::Decimal,
    pub gross: rust_decimal::Decimal,
    /// Invoice lines.
    pub lines: i64,
    /// Positions it settles (billed, covered and non-billable work, expenses, fees).
    pub positions: i64,
}

#[derive(sqlx::FromRow)]
struct RunDocumentRow {
    id: i64,
    kind: String,
    status: String,
    customer_id: i64,
    customer_name: String,
    currency: String,
    net: crate::types::ExactDecimal,
    gross: crate::types::ExactDecimal,
    lines: i64,
    positions: i64,
}

/// The problems of a run (stored as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct RunProblems(pub Vec<RunProblem>);

impl TryFrom<crate::types::JsonText> for RunProblems {
    type Error = serde_json::Error;
    fn try_from(v: crate::types::JsonText) -> std::result::Result<Self, Self::Error> {
        Ok(RunProblems(serde_json::from_value(v.0)?))
    }
}

/// Who asked for a run and with which idempotency key.
#[derive(Debug, Clone)]
pub struct RunStart<'a> {
    pub via: StartedVia,
    pub actor: &'a Actor,
    /// `(principal, Idempotency-Key)` when the client sent one.
    pub idempotency: Option<(String, String)>,
}

/// What committing a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub run: InvoiceRun,
    /// Drafts created by this call (a continued run lists only the new ones).
    pub invoice_ids: Vec<i64>,
    /// Projects moved from `manager_done` to `billed`.
    pub projects_billed: Vec<i64>,
    /// True when the run already existed (same idempotency key): finished, or running on
    /// another node.
    pub replayed: bool,
}

impl Store {
    /// Records a run — `queued` for the job worker, or `running` held by `lease` — or
    /// finds the run of the same idempotency key; true when it was recorded now.
    async fn record_run(
        &self,
        plan: &RunPlan,
        start: &RunStart<'_>,
        lease: Option<&JobLease>,
    ) -> Result<(InvoiceRun, bool)> {
        let (scope, scope_id) = plan.scope.parts();
        let (principal, key) = match &start.idempotency {
            Some((p, k)) => (Some(p.as_str()), Some(k.as_str())),
            None => (None, None),
        };
        if let (Some(p), Some(k)) = (principal, key) {
            if let Some(run) = self.run_by_idempotency_key(p, k).await? {
                return Ok((run, false));
            }
        }
        let actor = start.actor;
        let now = DbTime::now();
        let (status, owner, expiry, started_at, total) = match lease {
            Some(l) => (
                JobStatus::Running,
                Some(l.owner.as_str()),
                Some(l.expiry()),
                Some(now),
                Some(plan.customers.len() as i64),
            ),
            None => (JobStatus::Queued, None, None, None, None),
        };
        let inserted = with_pool!(self, pool => sqlx::query_scalar::<_, i64>(
            "INSERT INTO invoice_runs (started_via, scope, scope_id, period_start, period_end, status, started_by_type, \
             started_by_id, started_by_name, request_id, idempotency_principal, idempotency_key, queued_at, started_at, \
             lease_owner, lease_expires_at, customers_total) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id")
            .bind(start.via.as_str()).bind(scope).bind(scope_id).bind(plan.params.period_start)
            .bind(plan.params.period_end).bind(status.as_str()).bind(actor.kind.as_str()).bind(actor.id).bind(&actor.name)
            .bind(actor.request_id.as_deref()).bind(principal).bind(key).bind(now).bind(started_at)
            .bind(owner).bind(expiry).bind(total)
            .fetch_one(pool).await);
        match inserted.map_err(StoreError::from) {
            Ok(id) => Ok((self.get_run(id).await?, true)),
            // The same key raced in from another node: that run it is.
            Err(StoreError::Duplicate(_)) => match (principal, key) {
                (Some(p), Some(k)) => {
                    Ok((self.run_by_idempotency_key(p, k).await?.ok_or(StoreError::NotFound)?, false))
                }
                _ => Err(StoreError::Conflict("the run could not be recorded".into())),
            },
            Err(e) => Err(e),
        }
    }

    /// Queues a committed run for the job worker (runs over many customers); returns the
    /// run and whether it was queued now (false: the run of the same idempotency key).
    pub async fn queue_run(&self, plan: &RunPlan, start: &RunStart<'_>) -> Result<(InvoiceRun, bool)> {
        self.record_run(plan, start, None).await
    }

    /// Asks a run to stop: a queued run is cancelled at once, a running one before its
    /// next customer (what was committed stays). 404 unknown, 409 finished.
    pub async fn cancel_run(&self, id: i64) -> Result<crate::jobs::CancelOutcome> {
        self.cancel_job(JobTable::Runs, id).await
    }

    async fn run_by_idempotency_key(&self, principal: &str, key: &str) -> Result<Option<InvoiceRun>> {
        with_pool!(self, pool => Ok(sqlx::query_as(
            "SELECT * FROM invoice_runs WHERE idempotency_principal = $1 AND idempotency_key = $2")
            .bind(principal).bind(key).fetch_optional(pool).await?))
    }

    /// A run by id.
    pub async fn get_run(&self, id: i64) -> Result<InvoiceRun> {
        with_pool!(self, pool => Ok(sqlx::query_as("SELECT * FROM invoice_runs WHERE id = $1")
            .bind(id).fetch_one(pool).await?))
    }

    /// Resolves a scope into the customers to bill (in id order) and how each customer's
    /// input is built. Unknown references: [`StoreError::Conflict`] naming them.
    pub async fn run_plan(&self, scope: RunScope, period_start: Option<Date>, period_end: Date) -> Result<RunPlan> {
        let mut params = InputParams {
            period_start,
            period_end,
            scope: PositionScope::default(),
            contract_id: None,
            partial: false,
            per_booking: false,
        };
        let gone = |what: &str| StoreError::Conflict(format!("the run's {what} no longer exists"));
        let customers = match scope {
            RunScope::All => self.customers_to_bill(period_end).await?,
            RunScope::Customer(c) => vec![c],
            RunScope::Contract(c) => {
                let (customer, _) = self.contract_ref(c).await?.ok_or_else(|| gone("contract"))?;
                params.contract_id = Some(c);
                vec![customer]
            }
            RunScope::Project(p) => {
                let project = self.project_ref(p).await?.ok_or_else(|| gone("project"))?;
                params.scope.project_id = Some(p);
                params.partial = true;
                project.customer_id.into_iter().collect()
            }
            RunScope::Ticket(t) => {
                let ticket = self.ticket_ref(t).await?.ok_or_else(|| gone("ticket"))?;
                params.scope.ticket_id = Some(t);
                params.partial = true;
                ticket.customer_id.into_iter().collect()
            }
        };
        let mut customers = customers;
        customers.sort_unstable();
        customers.dedup();
        Ok(RunPlan { scope, customers, params })
    }

    /// The plan of a stored run (a worker resuming it).
    async fn plan_of(&self, run: &InvoiceRun) -> Result<RunPlan> {
        let scope = RunScope::of_stored(&run.scope, run.scope_id)?;
        self.run_plan(scope, run.period_start, run.period_end).await
    }

    /// Runs, newest first, after the id `page.after`.
    pub async fn list_runs(&self, page: &PageRequest<i64>) -> Result<Page<InvoiceRun, i64>> {
        let rows: Vec<InvoiceRun> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM invoice_runs WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2")
            .bind(page.after).bind(i64::from(page.limit) + 1).fetch_all(pool).await?);
        Ok(Page::from_overfetch(rows, page.limit, |r| r.id))
    }

    /// What a run created, per document (drafts and settlements, and what became of them),
    /// in id order.
    pub async fn run_documents(&self, run_id: i64) -> Result<Vec<RunDocument>> {
        let rows: Vec<RunDocumentRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT i.id, i.kind, i.status, i.customer_id, c.name AS customer_name, i.currency, i.net, i.gross, \
             COALESCE((SELECT l.line_count FROM invoice_line_counts l WHERE l.invoice_id = i.id), 0) AS lines, \
             (SELECT COUNT(*) FROM booking_settlements s WHERE s.invoice_id = i.id AND s.treatment IS NOT NULL) \
             + (SELECT COUNT(*) FROM expenses e WHERE e.invoice_id = i.id) \
             + (SELECT COUNT(*) FROM contract_fee_periods f WHERE f.invoice_id = i.id) \
             + (SELECT COUNT(*) FROM invoice_positions p WHERE p.invoice_id = i.id) AS positions \
             FROM invoices i JOIN customers c ON c.id = i.customer_id \
             WHERE i.run_id = $1 AND i.kind <> 'credit_note' ORDER BY i.id")
            .bind(run_id).fetch_all(pool).await?);
        // The custom-field quantities held documents settle (one position each).
        let fields: Vec<(i64, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT s.invoice_id, s.settled_fields FROM invoices i JOIN booking_settlements s ON s.invoice_id = i.id \
             WHERE i.run_id = $1 AND s.settled_fields IS NOT NULL")
            .bind(run_id).fetch_all(pool).await?);
        let mut field_positions: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
        for (invoice_id, json) in fields {
            let n = serde_json::from_str::<Vec<serde_json::Value>>(&json)?.len() as i64;
            *field_positions.entry(invoice_id).or_default() += n;
        }
        rows.into_iter()
            .map(|r| {
                Ok(RunDocument {
                    id: r.id,
                    kind: r.kind,
                    status: r.status,
                    customer_id: r.customer_id,
                    customer_name: r.customer_name,
                    currency: r
                        .currency
                        .parse()
                        .map_err(|e: domain::currency::UnknownCurrency| crate::types::decode_error(e.to_string()))?,
                    net: r.net.0,
                    gross: r.gross.0,
                    lines: r.lines,
                    positions: r.positions + field_positions.get(&r.id).copied().unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The ids of a run's invoices (drafts and what became of them).
    pub async fn run_invoice_ids(&self, run_id: i64) -> Result<Vec<i64>> {
        with_pool!(self, pool => Ok(sqlx::query_scalar("SELECT id FROM invoices WHERE run_id = $1 ORDER BY id")
            .bind(run_id).fetch_all(pool).await?))
    }
}

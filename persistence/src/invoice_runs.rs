//! Committed invoice runs: the run record (parameters, who started it, what it produced)
//! and the commit itself — customer by customer, read the engine input, compute, and
//! store the drafts in one transaction per customer ([`Store::create_drafts`]).
//!
//! A customer with a blocking problem gets no draft and is listed in the run's problems;
//! the others are committed. When what a computation read changes before its drafts are
//! stored (another node's run, a draft deleted, a position edited), the customer is
//! computed again. A run started again with the same idempotency key continues the same
//! run record and creates nothing that already exists: positions in a draft are no longer
//! open, so they are never taken twice.

use crate::audit::Actor;
use crate::billing::{BillingSetup, InputParams};
use crate::invoices::{DraftBatch, DraftOutcome};
use crate::page::{Page, PageRequest};
use crate::types::DbTime;
use crate::{Result, Store, StoreError};
use domain::position::PositionRef;
use futures_util::StreamExt;
use std::collections::HashMap;
use time::Date;

/// What billing one customer of a run did.
enum CustomerOutcome {
    /// Drafts stored.
    Billed { invoice_ids: Vec<i64>, positions: usize },
    /// Nothing to bill.
    Nothing,
    /// Kept out of the run: the engine's blocking problems, or positions that kept changing.
    Blocked { customer_id: i64, problems: Vec<RunProblem> },
}

/// After how many customers a run refreshes the statistics of the invoice tables
/// ([`Store::refresh_invoice_statistics`]): early, then as the tables grow.
const REFRESH_STATISTICS_AFTER: [usize; 4] = [32, 256, 1024, 4096];

/// How often a customer is computed again when its data changed meanwhile.
const MAX_ATTEMPTS: usize = 5;

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
    /// `running` (also: interrupted; starting it again continues it) or `completed`.
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
    pub started_at: DbTime,
    pub finished_at: Option<DbTime>,
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
    /// True when the run already existed (same idempotency key) and was completed.
    pub replayed: bool,
}

impl Store {
    /// Records a new run, or finds the run of the same idempotency key.
    async fn start_run(&self, plan: &RunPlan, start: &RunStart<'_>) -> Result<InvoiceRun> {
        let (scope, scope_id) = plan.scope.parts();
        let (principal, key) = match &start.idempotency {
            Some((p, k)) => (Some(p.as_str()), Some(k.as_str())),
            None => (None, None),
        };
        if let (Some(p), Some(k)) = (principal, key) {
            if let Some(run) = self.run_by_idempotency_key(p, k).await? {
                return Ok(run);
            }
        }
        let actor = start.actor;
        let inserted = with_pool!(self, pool => sqlx::query_scalar::<_, i64>(
            "INSERT INTO invoice_runs (started_via, scope, scope_id, period_start, period_end, status, started_by_type, \
             started_by_id, started_by_name, request_id, idempotency_principal, idempotency_key, started_at) \
             VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $9, $10, $11, $12) RETURNING id")
            .bind(start.via.as_str()).bind(scope).bind(scope_id).bind(plan.params.period_start)
            .bind(plan.params.period_end).bind(actor.kind.as_str()).bind(actor.id).bind(&actor.name)
            .bind(actor.request_id.as_deref()).bind(principal).bind(key).bind(DbTime::now())
            .fetch_one(pool).await);
        match inserted.map_err(StoreError::from) {
            Ok(id) => self.get_run(id).await,
            // The same key raced in from another node: continue that run.
            Err(StoreError::Duplicate(_)) => match (principal, key) {
                (Some(p), Some(k)) => self.run_by_idempotency_key(p, k).await?.ok_or(StoreError::NotFound),
                _ => Err(StoreError::Conflict("the run could not be recorded".into())),
            },
            Err(e) => Err(e),
        }
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
             (SELECT COUNT(*) FROM invoice_lines l WHERE l.invoice_id = i.id) AS lines, \
             (SELECT COUNT(*) FROM bookings b WHERE b.invoice_id = i.id AND b.treatment IS NOT NULL) \
             + (SELECT COUNT(*) FROM expenses e WHERE e.invoice_id = i.id) \
             + (SELECT COUNT(*) FROM contract_fee_periods f WHERE f.invoice_id = i.id) \
             + (SELECT COUNT(*) FROM invoice_positions p WHERE p.invoice_id = i.id) AS positions \
             FROM invoices i JOIN customers c ON c.id = i.customer_id \
             WHERE i.run_id = $1 AND i.kind <> 'credit_note' ORDER BY i.id")
            .bind(run_id).fetch_all(pool).await?);
        // The custom-field quantities held documents settle (one position each).
        let fields: Vec<(i64, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT b.invoice_id, b.settled_fields FROM invoices i JOIN bookings b ON b.invoice_id = i.id \
             WHERE i.run_id = $1 AND b.settled_fields IS NOT NULL")
            .bind(run_id).fetch_all(pool).await?);
        let mut field_positions: HashMap<i64, i64> = HashMap::new();
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

    /// Commits a run: records it (or continues the run of the same idempotency key),
    /// bills each customer of the plan in its own transaction, moves `manager_done`
    /// projects whose last open positions it billed to `billed`, and completes the record.
    pub async fn commit_run(&self, setup: &BillingSetup, plan: &RunPlan, start: &RunStart<'_>) -> Result<RunResult> {
        let run = self.start_run(plan, start).await?;
        if run.status == "completed" {
            let invoice_ids = self.run_invoice_ids(run.id).await?;
            return Ok(RunResult { run, invoice_ids, projects_billed: Vec::new(), replayed: true });
        }
        let mut problems = run.problems.0.clone();
        let (mut billed, mut blocked, mut positions) = (0i64, 0i64, 0i64);
        let mut invoice_ids = Vec::new();
        // Customers are independent (one transaction each, optimistic checks): a few are
        // billed at a time so that reading, computing and writing overlap. Outcomes are
        // taken in plan order.
        let mut outcomes = futures_util::stream::iter(plan.customers.iter().copied())
            .map(|customer_id| self.bill_customer(setup, plan, run.id, start.actor, customer_id))
            .buffered(self.run_concurrency());
        let mut done = 0usize;
        while let Some(outcome) = outcomes.next().await {
            done += 1;
            if REFRESH_STATISTICS_AFTER.contains(&done) {
                self.refresh_invoice_statistics().await?;
            }
            match outcome? {
                CustomerOutcome::Billed { invoice_ids: ids, positions: n } => {
                    billed += 1;
                    positions += n as i64;
                    invoice_ids.extend(ids);
                }
                CustomerOutcome::Nothing => {}
                CustomerOutcome::Blocked { customer_id, problems: found } => {
                    blocked += 1;
                    problems.retain(|p| p.customer_id != customer_id);
                    problems.extend(found);
                }
            }
        }
        // Over all drafts of the run, also those of an interrupted earlier attempt: a run
        // started again with its idempotency key finishes what the crash left undone.
        let projects_billed = self.bill_finished_projects(run.id, start.actor).await?;
        with_pool!(self, pool => sqlx::query(
            "UPDATE invoice_runs SET status = 'completed', customers_billed = customers_billed + $1, \
             customers_blocked = $2, invoices_created = invoices_created + $3, \
             positions_reserved = positions_reserved + $4, problems = $5, finished_at = $6 WHERE id = $7")
            .bind(billed).bind(blocked).bind(invoice_ids.len() as i64).bind(positions)
            .bind(serde_json::to_string(&problems)?).bind(DbTime::now()).bind(run.id)
            .execute(pool).await.map(|_| ())?);
        let run = self.get_run(run.id).await?;
        Ok(RunResult { run, invoice_ids, projects_billed, replayed: false })
    }

    /// Refreshes the planner statistics of the tables a run fills (PostgreSQL). A big first
    /// run fills them from empty faster than autovacuum (if it runs at all) analyzes them,
    /// and plans made for an empty `invoices` table — the foreign-key check of every
    /// position inserted among them — scan the whole table per row.
    async fn refresh_invoice_statistics(&self) -> Result<()> {
        if let crate::store::Db::Postgres(pool) = &*self.db {
            sqlx::query(
                "ANALYZE invoices, invoice_lines, invoice_quota_entries, contract_fee_periods, customer_billing_state",
            )
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    /// Customers billed at the same time by one run: PostgreSQL works on several
    /// transactions at once; SQLite writes one at a time (billing two at once measured no
    /// faster).
    fn run_concurrency(&self) -> usize {
        match self.backend() {
            crate::Backend::Postgres => 3,
            crate::Backend::Sqlite => 1,
        }
    }

    /// Bills one customer of a run: reads its input, computes, and stores the drafts in
    /// one transaction; computes again (up to [`MAX_ATTEMPTS`] times) when what it read
    /// changed before the drafts were stored.
    async fn bill_customer(
        &self,
        setup: &BillingSetup,
        plan: &RunPlan,
        run_id: i64,
        actor: &Actor,
        customer_id: i64,
    ) -> Result<CustomerOutcome> {
        let (scope_ticket_id, scope_project_id, scope_contract_id) = plan.scope.draft_scope();
        for _ in 0..MAX_ATTEMPTS {
            let cr = setup.customer_input(self, customer_id, plan.params).await?;
            let billing = domain::engine::compute_customer(&setup.ctx, &cr.input);
            if !billing.is_committable() {
                let problems = billing
                    .problems
                    .iter()
                    .map(|p| RunProblem {
                        customer_id,
                        code: p.code.as_str().to_string(),
                        message: p.message.clone(),
                        position: p.position,
                        contract_id: p.contract_id,
                    })
                    .collect();
                return Ok(CustomerOutcome::Blocked { customer_id, problems });
            }
            if billing.proposals.is_empty() {
                return Ok(CustomerOutcome::Nothing);
            }
            let batch = DraftBatch {
                run_id,
                customer_id,
                billing_version: cr.billing_version,
                billing: &billing,
                versions: &cr.versions,
                scope_ticket_id,
                scope_project_id,
                scope_contract_id,
                actor,
            };
            match self.create_drafts(&batch).await? {
                DraftOutcome::Created { invoice_ids, positions } => {
                    return Ok(CustomerOutcome::Billed { invoice_ids, positions })
                }
                DraftOutcome::Stale => continue,
            }
        }
        Ok(CustomerOutcome::Blocked {
            customer_id,
            problems: vec![RunProblem {
                customer_id,
                code: "concurrent_change".into(),
                message: format!(
                    "the customer's positions kept changing during the run ({MAX_ATTEMPTS} attempts); run it again"
                ),
                position: None,
                contract_id: None,
            }],
        })
    }

    /// Moves each `manager_done` project whose positions the run's drafts settle and which
    /// has no open position left to `billed` ("PO abgerechnet"); returns the projects moved.
    async fn bill_finished_projects(&self, run_id: i64, actor: &Actor) -> Result<Vec<i64>> {
        let mut moved = Vec::new();
        for project_id in self.projects_of_run(run_id).await? {
            if self.project_open_positions(project_id).await? == 0
                && self.mark_project_billed(project_id, actor).await?.is_some()
            {
                moved.push(project_id);
            }
        }
        Ok(moved)
    }
}

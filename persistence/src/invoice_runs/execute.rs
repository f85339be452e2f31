//! Billing a run's customers in chunks of [`CHUNK`] ([`SQLITE_CHUNK`] on SQLite), in id
//! order: the customers of a chunk are read and computed ([`Store::prepare_chunk`]), then
//! the drafts of the whole chunk are stored in one transaction
//! ([`Store::create_drafts_together`]). PostgreSQL bills a few chunks at a time; SQLite
//! (one writer) pipelines them: the next [`PREPARED_AHEAD`] chunks are read and computed
//! (down to what each draft will hold, [`DraftHolding`]) while this one is written, the
//! first chunks smaller so that the writer starts early ([`chunks_of`]). Whoever
//! bills — the request of a small run, or the job worker — holds the run's lease: a
//! heartbeat renews it, and after each chunk the progress is recorded (counters, problems,
//! `last_customer_id`) with the lease renewed and the cancel flag read. A cancel stops the
//! run before the next chunk is stored; a lost lease (a slow node whose run another worker
//! took over) stops this holder without finishing.
//!
//! A customer with a blocking problem gets no draft and is listed in the run's problems;
//! the others are committed. When what a computation read changes before its drafts are
//! stored (another node's run, a draft deleted, a position edited), that customer's
//! savepoint is rolled back and it is computed again on its own.

use super::{InvoiceRun, RunPlan, RunProblem, RunResult, RunStart};
use crate::audit::Actor;
use crate::billing::{BillingSetup, CustomerRun, InputParams, PositionVersions};
use crate::invoices::{DraftBatch, DraftHolding, DraftOutcome};
use crate::jobs::{JobLease, JobSignal, JobStatus, JobTable, WorkEnd, WorkerOptions, DEFAULT_LEASE};
use crate::{Result, Store};
use domain::engine::CustomerBilling;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// What billing one customer of a run did.
enum CustomerOutcome {
    /// Drafts stored.
    Billed { invoice_ids: Vec<i64>, positions: usize },
    /// Nothing to bill.
    Nothing,
    /// Kept out of the run: the engine's blocking problems, or positions that kept changing.
    Blocked { problems: Vec<RunProblem> },
}

/// After how many customers a run refreshes the statistics of the invoice tables
/// ([`Store::refresh_invoice_statistics`]): early, then as the tables grow.
const REFRESH_STATISTICS_AFTER: [usize; 4] = [32, 256, 1024, 4096];

/// How often a customer is computed again when its data changed meanwhile.
const MAX_ATTEMPTS: usize = 5;

/// Most customers billed together on PostgreSQL (a run of fewer than 8 × as many takes an
/// eighth of its customers at a time): read and computed one after the other, their drafts
/// stored in one transaction ([`Store::create_drafts_together`]), the progress recorded once.
/// PostgreSQL stores a few chunks side by side ([`Store::write_concurrency`]).
const CHUNK: usize = 32;

/// [`CHUNK`] on SQLite, whose one writer stores chunk after chunk: a larger chunk costs the
/// writer fewer statements and commits per customer and keeps fewer threads competing for
/// the cores with it (measured at full size, 5 k customers on 2 cores: 32 customers with two
/// chunks prepared ahead 6.0–6.4 s, 128 with one ahead 5.2–5.6 s, peak memory 140 → 190 MB).
const SQLITE_CHUNK: usize = 128;

/// A chunk of customers read and computed ([`Store::prepare_chunk`]), nothing stored yet.
struct PreparedChunk {
    /// Per customer in chunk order: what billing it did when it has nothing to store.
    outcomes: Vec<Option<CustomerOutcome>>,
    /// The customers with drafts to store, in chunk order.
    computed: Vec<ComputedCustomer>,
}

/// A customer of a prepared chunk with drafts to store: what storing checks of what was read
/// and the computation. The input itself (positions, contracts, rates) is dropped where it
/// was computed: a chunk waiting for the writer holds only what the writer needs.
struct ComputedCustomer {
    customer_id: i64,
    /// The customer's billing version when its terms were read.
    billing_version: i64,
    /// The versions of the positions computed from.
    versions: PositionVersions,
    billing: CustomerBilling,
    holding: DraftHolding,
}

/// How many chunks a SQLite run reads and computes ahead of the one it stores.
const PREPARED_AHEAD: usize = 1;

/// The error of a run whose tasks the runtime dropped.
fn shutting_down() -> crate::StoreError {
    crate::StoreError::Conflict("the run was stopped: the server is shutting down".into())
}

/// The progress recorded after one chunk of customers.
struct Step {
    customers: usize,
    last_customer_id: i64,
    billed: usize,
    invoices: usize,
    positions: usize,
}

impl Store {
    /// Commits a run in the calling request (small scopes): records it held by this
    /// request's lease, bills each customer of the plan, moves `manager_done` projects
    /// whose last open positions it billed to `billed`, and marks it `succeeded`.
    ///
    /// With the idempotency key of an earlier run: a finished run is returned as it is
    /// (`replayed`); an interrupted one whose lease expired is taken over and continued
    /// after its last customer; one still held elsewhere is returned as it is.
    pub async fn commit_run(&self, setup: &BillingSetup, plan: &RunPlan, start: &RunStart<'_>) -> Result<RunResult> {
        let lease = JobLease::new(DEFAULT_LEASE);
        let (mut run, new) = self.record_run(plan, start, Some(&lease)).await?;
        if !new {
            let claimed = match run.job_status().is_finished() {
                true => None,
                false => self.claim_job(JobTable::Runs, &lease, Some(run.id)).await?,
            };
            match claimed {
                Some(id) => run = self.get_run(id).await?,
                None => {
                    let invoice_ids = self.run_invoice_ids(run.id).await?;
                    return Ok(RunResult { run, invoice_ids, projects_billed: Vec::new(), replayed: true });
                }
            }
        }
        let (invoice_ids, projects_billed, _) = self.execute_run(setup, plan, &run, &lease, Duration::ZERO).await?;
        let run = self.get_run(run.id).await?;
        Ok(RunResult { run, invoice_ids, projects_billed, replayed: false })
    }

    /// Runs a claimed run for the job worker: plans it from its record and bills the
    /// customers after its last one done.
    pub(crate) async fn run_job(&self, run: &InvoiceRun, lease: &JobLease, options: &WorkerOptions) -> Result<()> {
        let plan = self.plan_of(run).await?;
        let mut setup = BillingSetup::load(self).await?;
        setup.ctx.max_fee_periods = options.max_fee_periods;
        let (_, _, end) = self.execute_run(&setup, &plan, run, lease, options.chunk_pause).await?;
        tracing::info!(run = run.id, end = ?end, "invoice run job ended");
        Ok(())
    }

    /// Bills the customers of a held run after its last one done, with the heartbeat
    /// running, and finishes the run (`succeeded` or `cancelled`) unless the lease was
    /// lost. Returns the drafts created and the projects billed by this holder.
    async fn execute_run(
        &self,
        setup: &BillingSetup,
        plan: &RunPlan,
        run: &InvoiceRun,
        lease: &JobLease,
        pause: Duration,
    ) -> Result<(Vec<i64>, Vec<i64>, WorkEnd)> {
        let signal = JobSignal::default();
        if run.cancel_requested {
            signal.cancel();
        }
        // Shared with the blocking threads that decode and compute ([`Store::prepare_chunk`]).
        let setup = Arc::new(setup.clone());
        let work = self.bill_customers(&setup, plan, run, lease, &signal, pause);
        let heartbeat = self.keep_lease(JobTable::Runs, run.id, lease, &signal);
        let invoice_ids = tokio::select! {
            out = work => out?,
            never = heartbeat => match never {},
        };
        let end = WorkEnd::of(&signal);
        let status = match end {
            WorkEnd::LeaseLost => return Ok((invoice_ids, Vec::new(), end)),
            WorkEnd::Cancelled => JobStatus::Cancelled,
            WorkEnd::Done => JobStatus::Succeeded,
        };
        // Over all drafts of the run, also those of an interrupted earlier holder.
        let projects_billed = self.bill_finished_projects(run.id, &run.actor()).await?;
        if !projects_billed.is_empty() {
            let mut all = self.get_run(run.id).await?.projects_billed.0;
            all.extend(projects_billed.iter().filter(|p| !all.contains(p)).copied().collect::<Vec<_>>());
            with_pool!(self, pool => sqlx::query("UPDATE invoice_runs SET projects_billed = $1 WHERE id = $2")
                .bind(serde_json::to_string(&all)?).bind(run.id).execute(pool).await.map(|_| ())?);
        }
        self.finish_job(JobTable::Runs, run.id, lease, status, None).await?;
        Ok((invoice_ids, projects_billed, end))
    }

    /// Bills the plan's customers after the run's last one done, in id order and in
    /// chunks of at most [`CHUNK`] ([`SQLITE_CHUNK`]), until done or `signal` says stop;
    /// records the progress after each chunk, then waits `pause` (the stream stores nothing
    /// while it waits). Returns the drafts created.
    async fn bill_customers(
        &self,
        setup: &Arc<BillingSetup>,
        plan: &RunPlan,
        run: &InvoiceRun,
        lease: &JobLease,
        signal: &JobSignal,
        pause: Duration,
    ) -> Result<Vec<i64>> {
        let remaining: Vec<i64> =
            plan.customers.iter().copied().filter(|&c| run.last_customer_id.is_none_or(|last| c > last)).collect();
        self.set_customers_total(run.id, run.customers_done + remaining.len() as i64).await?;
        let actor = run.actor();
        let mut problems = run.problems.0.clone();
        let mut invoice_ids = Vec::new();
        // Chunks are independent (one transaction each, optimistic checks). Outcomes are
        // taken in plan order; no chunk is stored once the run is stopping.
        // A small run in smaller chunks: its progress (and a cancel) still moves in steps.
        let chunks = match self.backend() {
            crate::Backend::Postgres => chunks_of(&remaining, CHUNK, false),
            crate::Backend::Sqlite => chunks_of(&remaining, SQLITE_CHUNK, true),
        };
        let actor = &actor;
        let outcomes = match self.backend() {
            // PostgreSQL: a few chunks at once, each read, computed and stored in turn (row
            // locks: their transactions run side by side).
            crate::Backend::Postgres => futures_util::stream::iter(chunks)
                .take_while(|_| std::future::ready(!signal.stopping()))
                .map(|chunk| async move {
                    let outcome = self.bill_chunk(setup, plan, run.id, actor, &chunk).await;
                    (chunk, outcome)
                })
                .buffered(self.write_concurrency())
                .left_stream(),
            // SQLite (one writer at a time): a pipeline — the next chunks are read and computed
            // (each in a task of its own, so they go on while this one is stored) while this
            // one is written, so the writer seldom waits for a chunk slower to read than to store.
            crate::Backend::Sqlite => futures_util::stream::iter(chunks)
                .map(move |chunk| {
                    let (store, setup, params) = (self.clone(), Arc::clone(setup), plan.params);
                    let task = tokio::spawn(async move {
                        let prepared = store.prepare_chunk(&setup, params, &chunk).await;
                        (chunk, prepared)
                    });
                    async move {
                        match task.await {
                            Ok(prepared) => prepared,
                            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                            Err(_) => (Vec::new(), Err(shutting_down())),
                        }
                    }
                })
                .buffered(PREPARED_AHEAD + 1)
                .take_while(|_| std::future::ready(!signal.stopping()))
                .then(move |(chunk, prepared)| async move {
                    let outcome = match prepared {
                        Ok(prepared) => self.store_chunk(setup, plan, run.id, actor, &chunk, prepared).await,
                        Err(e) => Err(e),
                    };
                    (chunk, outcome)
                })
                .right_stream(),
        };
        let mut outcomes = std::pin::pin!(outcomes);
        let mut done = 0usize;
        while let Some((chunk, outcome)) = outcomes.next().await {
            let mut step = Step { customers: chunk.len(), last_customer_id: 0, billed: 0, invoices: 0, positions: 0 };
            let mut changed = false;
            for (&customer_id, outcome) in chunk.iter().zip(outcome?) {
                done += 1;
                if REFRESH_STATISTICS_AFTER.contains(&done) {
                    self.refresh_invoice_statistics().await?;
                }
                step.last_customer_id = customer_id;
                let had_problems = problems.iter().any(|p| p.customer_id == customer_id);
                problems.retain(|p| p.customer_id != customer_id);
                match outcome {
                    CustomerOutcome::Billed { invoice_ids: ids, positions } => {
                        step.billed += 1;
                        step.invoices += ids.len();
                        step.positions += positions;
                        invoice_ids.extend(ids);
                    }
                    CustomerOutcome::Nothing => {}
                    CustomerOutcome::Blocked { problems: found } => problems.extend(found),
                }
                changed |= had_problems || problems.last().is_some_and(|p| p.customer_id == customer_id);
            }
            if signal.lost() {
                continue;
            }
            match self.record_progress(run.id, lease, &step, changed.then_some(&problems)).await? {
                Some(true) => signal.cancel(),
                Some(false) => {}
                None => signal.lose(),
            }
            if !pause.is_zero() && !signal.stopping() {
                tokio::time::sleep(pause).await;
            }
        }
        Ok(invoice_ids)
    }

    async fn set_customers_total(&self, run_id: i64, total: i64) -> Result<()> {
        with_pool!(self, pool => sqlx::query("UPDATE invoice_runs SET customers_total = $1 WHERE id = $2")
            .bind(total).bind(run_id).execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// Records a chunk of customers done and renews the lease; `None` when the lease is lost,
    /// else whether a cancel was requested. `problems` are the run's problems when they
    /// changed.
    async fn record_progress(
        &self,
        run_id: i64,
        lease: &JobLease,
        step: &Step,
        problems: Option<&Vec<RunProblem>>,
    ) -> Result<Option<bool>> {
        let problems_json = problems.map(serde_json::to_string).transpose()?;
        let blocked =
            problems.map(|p| p.iter().map(|p| p.customer_id).collect::<std::collections::BTreeSet<_>>().len() as i64);
        // On SQLite's writer connection (a transaction): a write through another connection
        // would make the writer drop its page cache before the next chunk.
        Ok(in_tx!(self, tx => sqlx::query_scalar::<_, bool>(
            "UPDATE invoice_runs SET customers_done = customers_done + $10, last_customer_id = $1, \
             customers_billed = customers_billed + $2, invoices_created = invoices_created + $3, \
             positions_reserved = positions_reserved + $4, problems = COALESCE($5, problems), \
             customers_blocked = COALESCE($6, customers_blocked), lease_expires_at = $7 \
             WHERE id = $8 AND lease_owner = $9 AND status = 'running' RETURNING cancel_requested")
            .bind(step.last_customer_id).bind(step.billed as i64).bind(step.invoices as i64).bind(step.positions as i64)
            .bind(problems_json).bind(blocked).bind(lease.expiry()).bind(run_id).bind(&lease.owner)
            .bind(step.customers as i64)
            .fetch_optional(&mut *tx).await?))
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

    /// Bills a chunk of a run's customers: prepares it ([`Store::prepare_chunk`]) and stores
    /// it ([`Store::store_chunk`]). The outcomes in chunk order.
    async fn bill_chunk(
        &self,
        setup: &Arc<BillingSetup>,
        plan: &RunPlan,
        run_id: i64,
        actor: &Actor,
        customers: &[i64],
    ) -> Result<Vec<CustomerOutcome>> {
        let prepared = self.prepare_chunk(setup, plan.params, customers).await?;
        self.store_chunk(setup, plan, run_id, actor, customers, prepared).await
    }

    /// Reads and computes a chunk of a run's customers, writing nothing: their terms and
    /// their open positions, each in one query per kind for the whole chunk, then decoded
    /// and computed on a blocking thread — off the async thread, which meanwhile drives the
    /// previous chunk's writes (SQLite).
    async fn prepare_chunk(
        &self,
        setup: &Arc<BillingSetup>,
        params: InputParams,
        customers: &[i64],
    ) -> Result<PreparedChunk> {
        let mut terms = self.customer_terms(customers).await?;
        let terms = customers
            .iter()
            .map(|id| terms.remove(id).ok_or(crate::StoreError::NotFound))
            .collect::<Result<Vec<_>>>()?;
        let rows = setup.read_chunk(self, terms, params).await?;
        let setup = Arc::clone(setup);
        let pack_lines = self.backend() == crate::Backend::Sqlite;
        let computed = tokio::task::spawn_blocking(move || {
            rows.into_iter()
                .map(|rows| {
                    let cr = rows.build(&setup)?;
                    let billing = domain::engine::compute_customer(&setup.ctx, &cr.input);
                    let holding = DraftHolding::of(&billing, &cr.versions, pack_lines)?;
                    let CustomerRun { billing_version, versions, .. } = cr;
                    Ok((billing_version, versions, billing, holding))
                })
                .collect::<Result<Vec<_>>>()
        })
        .await;
        let computed = match computed {
            Ok(computed) => computed?,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => return Err(shutting_down()),
        };
        let mut prepared = PreparedChunk { outcomes: Vec::with_capacity(customers.len()), computed: Vec::new() };
        for (&customer_id, (billing_version, versions, billing, holding)) in customers.iter().zip(computed) {
            match nothing_to_store(customer_id, &billing) {
                Some(outcome) => prepared.outcomes.push(Some(outcome)),
                None => {
                    prepared.outcomes.push(None);
                    let customer = ComputedCustomer { customer_id, billing_version, versions, billing, holding };
                    prepared.computed.push(customer);
                }
            }
        }
        Ok(prepared)
    }

    /// Stores the drafts of a prepared chunk in one transaction
    /// ([`Store::create_drafts_together`]). A customer whose computation turned stale
    /// meanwhile is billed again on its own ([`Store::bill_customer`]). The outcomes in chunk
    /// order.
    async fn store_chunk(
        &self,
        setup: &BillingSetup,
        plan: &RunPlan,
        run_id: i64,
        actor: &Actor,
        customers: &[i64],
        prepared: PreparedChunk,
    ) -> Result<Vec<CustomerOutcome>> {
        let PreparedChunk { outcomes, computed } = prepared;
        let batches: Vec<DraftBatch<'_>> = computed
            .iter()
            .map(|c| DraftBatch {
                holding: Some(&c.holding),
                ..draft_batch(plan, run_id, actor, c.customer_id, (c.billing_version, &c.versions), &c.billing)
            })
            .collect();
        let mut stored = self.create_drafts_together(&batches).await?.into_iter();
        let mut out = Vec::with_capacity(customers.len());
        for (&customer_id, outcome) in customers.iter().zip(outcomes) {
            out.push(match outcome {
                Some(outcome) => outcome,
                // Stored in the order computed.
                None => match stored.next() {
                    Some(DraftOutcome::Created { invoice_ids, positions }) => {
                        CustomerOutcome::Billed { invoice_ids, positions }
                    }
                    _ => self.bill_customer(setup, plan, run_id, actor, customer_id).await?,
                },
            });
        }
        Ok(out)
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
        for _ in 0..MAX_ATTEMPTS {
            let cr = setup.customer_input(self, customer_id, plan.params).await?;
            let billing = domain::engine::compute_customer(&setup.ctx, &cr.input);
            if let Some(outcome) = nothing_to_store(customer_id, &billing) {
                return Ok(outcome);
            }
            let read = (cr.billing_version, &cr.versions);
            match self.create_drafts(&draft_batch(plan, run_id, actor, customer_id, read, &billing)).await? {
                DraftOutcome::Created { invoice_ids, positions } => {
                    return Ok(CustomerOutcome::Billed { invoice_ids, positions })
                }
                DraftOutcome::Stale => continue,
            }
        }
        Ok(CustomerOutcome::Blocked {
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
        for project_id in self.finished_projects_of_run(run_id).await? {
            if self.mark_project_billed(project_id, actor).await?.is_some() {
                moved.push(project_id);
            }
        }
        Ok(moved)
    }
}

/// What a computation that stores nothing means for the run: kept out with the engine's
/// blocking problems, or nothing to bill. `None` when it has drafts to store.
fn nothing_to_store(customer_id: i64, billing: &domain::engine::CustomerBilling) -> Option<CustomerOutcome> {
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
        return Some(CustomerOutcome::Blocked { problems });
    }
    billing.proposals.is_empty().then_some(CustomerOutcome::Nothing)
}

/// The chunks a run bills `customers` in, in order: at most `most` customers each (a run of
/// fewer than 8 × as many takes an eighth of its customers at a time). With `ramp` the first
/// chunks are smaller — an eighth of that size, then doubling — so that SQLite's one writer
/// starts storing after a small chunk is read and computed, not a full one, while the
/// larger ones are prepared.
fn chunks_of(customers: &[i64], most: usize, ramp: bool) -> Vec<Vec<i64>> {
    let full = (customers.len() / 8).clamp(1, most);
    let mut size = if ramp { (full / 8).max(1) } else { full };
    let mut chunks = Vec::with_capacity(customers.len() / full + 4);
    let mut rest = customers;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        chunks.push(chunk.to_vec());
        rest = tail;
        size = (size * 2).min(full);
    }
    chunks
}

/// The drafts of one customer's computation, as a run of `plan` stores them; `read`: the
/// customer's billing version and the versions of the positions computed from.
fn draft_batch<'a>(
    plan: &RunPlan,
    run_id: i64,
    actor: &'a Actor,
    customer_id: i64,
    read: (i64, &'a PositionVersions),
    billing: &'a domain::engine::CustomerBilling,
) -> DraftBatch<'a> {
    let (billing_version, versions) = read;
    let (scope_ticket_id, scope_project_id, scope_contract_id) = plan.scope.draft_scope();
    DraftBatch {
        run_id,
        customer_id,
        billing_version,
        billing,
        versions,
        scope_ticket_id,
        scope_project_id,
        scope_contract_id,
        actor,
        holding: None,
    }
}

#[cfg(test)]
mod tests {
    use super::chunks_of;

    #[test]
    fn a_large_sqlite_run_starts_with_small_chunks_then_bills_full_ones() {
        let customers: Vec<i64> = (1..=5000).collect();
        let chunks = chunks_of(&customers, 128, true);
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes[..5], [16, 32, 64, 128, 128]);
        assert_eq!(chunks.concat(), customers, "every customer once, in order");
    }

    #[test]
    fn without_ramp_every_chunk_is_full_and_small_runs_go_in_eighths() {
        let customers: Vec<i64> = (1..=5000).collect();
        let sizes: Vec<usize> = chunks_of(&customers, 32, false).iter().map(Vec::len).collect();
        assert!(sizes[..sizes.len() - 1].iter().all(|&n| n == 32), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 5000);
        let small: Vec<i64> = (1..=80).collect();
        assert_eq!(chunks_of(&small, 128, false).len(), 8);
        assert_eq!(
            chunks_of(&small, 128, true).iter().map(Vec::len).collect::<Vec<_>>(),
            [1, 2, 4, 8, 10, 10, 10, 10, 10, 10, 5]
        );
        assert_eq!(chunks_of(&[7], 128, true), [vec![7]]);
        assert!(chunks_of(&[], 128, true).is_empty());
    }
}

//! The one job mechanism of background work (committed invoice runs, issuing a run's
//! drafts): a job row carries its status and a lease — the worker holding it and until
//! when. The holder renews the lease with heartbeats while it works; a job whose lease
//! expired (its node died) is claimed by the next worker and resumed from the progress
//! it recorded. [`JobWorker`] is the loop every server runs: it claims queued jobs and
//! jobs with an expired lease — on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so that
//! several nodes never take the same job; SQLite writes one statement at a time.

use crate::invoice_runs::RunIssue;
use crate::types::DbTime;
use crate::{Result, Store, StoreError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How often a job is claimed before it is given up as `failed` (each claim after a
/// crash or a database error is a retry; the lease expiry is the back-off).
pub const MAX_ATTEMPTS: i64 = 5;

/// Lease of a job run in a request (a synchronous run): long enough for one customer;
/// the heartbeat renews it anyway.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// Held by a worker (or by a dead one until its lease expires).
    Running,
    /// Done.
    Succeeded,
    /// Given up: see the job's `failure`.
    Failed,
    /// Stopped on request; what was done stays.
    Cancelled,
}

impl JobStatus {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// The status of a stored name (`completed`, before jobs, is `succeeded`).
    pub fn parse(s: &str) -> JobStatus {
        match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            _ => JobStatus::Succeeded,
        }
    }

    /// Whether the job will not change any more.
    pub fn is_finished(self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

/// The tables holding jobs (same lease columns in each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobTable {
    /// Committed invoice runs.
    Runs,
    /// Issuing the drafts of a run.
    Issues,
}

impl JobTable {
    fn name(self) -> &'static str {
        match self {
            JobTable::Runs => "invoice_runs",
            JobTable::Issues => "invoice_run_issues",
        }
    }
}

/// A worker's hold on jobs: who it is and how long a claim lasts without a heartbeat.
#[derive(Debug, Clone)]
pub struct JobLease {
    /// Unique per worker (process id, start time and a counter).
    pub owner: String,
    /// Lease length; heartbeats renew it every third of it.
    pub duration: Duration,
}

impl JobLease {
    /// A lease for a new holder.
    pub fn new(duration: Duration) -> JobLease {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let started = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "node".into());
        let owner = format!("{host}:{}:{started:x}:{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        JobLease { owner, duration }
    }

    pub(crate) fn expiry(&self) -> DbTime {
        DbTime::from(time::OffsetDateTime::now_utc() + self.duration)
    }
}

/// What the heartbeat and the progress records tell the work loop.
#[derive(Debug, Default)]
pub(crate) struct JobSignal {
    cancel: AtomicBool,
    lost: AtomicBool,
}

impl JobSignal {
    pub(crate) fn cancel(&self) {
        self.cancel.store(true, Ordering::Release);
    }
    pub(crate) fn lose(&self) {
        self.lost.store(true, Ordering::Release);
    }
    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Acquire)
    }
    pub(crate) fn lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }
    /// Whether the work should stop before its next step.
    pub(crate) fn stopping(&self) -> bool {
        self.cancelled() || self.lost()
    }
}

/// How a job's work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkEnd {
    /// Every step done.
    Done,
    /// Stopped on request between steps.
    Cancelled,
    /// Another worker took the job over (this one was too slow to renew): it continues.
    LeaseLost,
}

impl WorkEnd {
    pub(crate) fn of(signal: &JobSignal) -> WorkEnd {
        if signal.lost() {
            WorkEnd::LeaseLost
        } else if signal.cancelled() {
            WorkEnd::Cancelled
        } else {
            WorkEnd::Done
        }
    }
}

/// What a cancel request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The job was queued: it is cancelled now.
    Cancelled,
    /// The job is running: its worker stops before the next customer or invoice.
    Requested,
}

impl Store {
    /// Claims the oldest claimable job of `table` (or job `only`): queued, or running with
    /// an expired lease. Sets the lease, `started_at` on the first claim, counts the
    /// attempt, and returns the job's id.
    pub(crate) async fn claim_job(&self, table: JobTable, lease: &JobLease, only: Option<i64>) -> Result<Option<i64>> {
        let t = table.name();
        let claimable =
            "(status = 'queued' OR (status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < $3))) \
                         AND ($4 IS NULL OR id = $4)";
        let sql = match self.backend() {
            crate::Backend::Postgres => format!(
                "UPDATE {t} SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
                 started_at = COALESCE(started_at, $3), attempts = attempts + 1 \
                 WHERE id = (SELECT id FROM {t} WHERE {claimable} ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING id"
            ),
            crate::Backend::Sqlite => format!(
                "UPDATE {t} SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
                 started_at = COALESCE(started_at, $3), attempts = attempts + 1 \
                 WHERE id = (SELECT id FROM {t} WHERE {claimable} ORDER BY id LIMIT 1) RETURNING id"
            ),
        };
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, i64>(&sql)
            .bind(&lease.owner).bind(lease.expiry()).bind(DbTime::now()).bind(only)
            .fetch_optional(pool).await?))
    }

    /// Renews the lease of a held job; `None` when another worker holds it now (or it
    /// finished), else whether a cancel was requested.
    pub(crate) async fn renew_lease(&self, table: JobTable, id: i64, lease: &JobLease) -> Result<Option<bool>> {
        let sql = format!(
            "UPDATE {} SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = 'running' \
             RETURNING cancel_requested",
            table.name()
        );
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, bool>(&sql)
            .bind(lease.expiry()).bind(id).bind(&lease.owner).fetch_optional(pool).await?))
    }

    /// Ends a held job with `status` (and why, for `failed`); false when it was not held
    /// by `lease` any more.
    pub(crate) async fn finish_job(
        &self,
        table: JobTable,
        id: i64,
        lease: &JobLease,
        status: JobStatus,
        failure: Option<&str>,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE {} SET status = $1, failure = $2, finished_at = $3, lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $4 AND lease_owner = $5 AND status = 'running'",
            table.name()
        );
        let done = with_pool!(self, pool => sqlx::query(&sql)
            .bind(status.as_str()).bind(failure).bind(DbTime::now()).bind(id).bind(&lease.owner)
            .execute(pool).await?.rows_affected());
        Ok(done == 1)
    }

    /// Lets any worker claim a held job again after `backoff` (this one stops, e.g. on a
    /// database error: the next claim retries it).
    pub(crate) async fn release_job(
        &self,
        table: JobTable,
        id: i64,
        lease: &JobLease,
        backoff: Duration,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
            table.name()
        );
        let retry_at = DbTime::from(time::OffsetDateTime::now_utc() + backoff);
        with_pool!(self, pool => sqlx::query(&sql).bind(retry_at).bind(id).bind(&lease.owner)
            .execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// Cancels a queued job, or asks the worker of a running one to stop. Not found:
    /// [`StoreError::NotFound`]; finished: [`StoreError::Conflict`].
    pub(crate) async fn cancel_job(&self, table: JobTable, id: i64) -> Result<CancelOutcome> {
        let t = table.name();
        let queued = format!(
            "UPDATE {t} SET status = 'cancelled', cancel_requested = TRUE, finished_at = $1 WHERE id = $2 AND status = 'queued'"
        );
        let running = format!("UPDATE {t} SET cancel_requested = TRUE WHERE id = $1 AND status = 'running'");
        let status = format!("SELECT status FROM {t} WHERE id = $1");
        with_pool!(self, pool => {
            if sqlx::query(&queued).bind(DbTime::now()).bind(id).execute(pool).await?.rows_affected() == 1 {
                return Ok(CancelOutcome::Cancelled);
            }
            if sqlx::query(&running).bind(id).execute(pool).await?.rows_affected() == 1 {
                return Ok(CancelOutcome::Requested);
            }
            let status: String = sqlx::query_scalar(&status).bind(id).fetch_one(pool).await?;
            Err(StoreError::Conflict(format!("the job is {status} already: only a queued or running job can be cancelled")))
        })
    }

    /// Keeps a held job's lease until the job's work ends: renews it every third of its
    /// length and tells the work when a cancel was requested or the lease was lost.
    /// Never returns (the caller races it against the work).
    pub(crate) async fn keep_lease(
        &self,
        table: JobTable,
        id: i64,
        lease: &JobLease,
        signal: &JobSignal,
    ) -> std::convert::Infallible {
        let every = (lease.duration / 3).max(Duration::from_millis(50));
        loop {
            tokio::time::sleep(every).await;
            match self.renew_lease(table, id, lease).await {
                Ok(Some(true)) => signal.cancel(),
                Ok(Some(false)) => {}
                Ok(None) => {
                    signal.lose();
                    return std::future::pending().await;
                }
                // A missed heartbeat is retried; the lease outlives two of them.
                Err(e) => tracing::warn!(job = id, error = %e, "could not renew a job lease"),
            }
        }
    }

    /// Lets other workers take over at once every job `owner` holds (a server shutting
    /// down: the job it was working on is resumed by the next worker, not after its lease).
    pub async fn release_leases(&self, owner: &str) -> Result<()> {
        for table in [JobTable::Runs, JobTable::Issues] {
            let sql = format!(
                "UPDATE {} SET lease_expires_at = $1 WHERE lease_owner = $2 AND status = 'running'",
                table.name()
            );
            with_pool!(self, pool => sqlx::query(&sql).bind(DbTime::now()).bind(owner)
                .execute(pool).await.map(|_| ())?);
        }
        Ok(())
    }

    /// Jobs waiting or running: committed runs and issue jobs (`queued` + `running`).
    pub async fn job_queue_depth(&self) -> Result<i64> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT (SELECT COUNT(*) FROM invoice_runs WHERE status IN ('queued', 'running')) \
             + (SELECT COUNT(*) FROM invoice_run_issues WHERE status IN ('queued', 'running'))")
            .fetch_one(pool).await?))
    }
}

/// Told about a run job that ended (see [`WorkerOptions::on_run_ended`]).
pub type RunObserver = std::sync::Arc<dyn Fn(&crate::invoice_runs::InvoiceRun) + Send + Sync>;

/// How a server's job worker runs.
#[derive(Clone)]
pub struct WorkerOptions {
    /// Pause between looks for work when there was none.
    pub poll_interval: Duration,
    /// Lease length (a dead node's job is resumed after at most this long).
    pub lease: Duration,
    /// Most fee periods a run proposes per contract (the installation's bound).
    pub max_fee_periods: usize,
    /// Pause after each chunk of customers a run job stored (zero: none).
    pub chunk_pause: Duration,
    /// Told about every run job that ended (succeeded, cancelled or failed), e.g. for metrics.
    pub on_run_ended: Option<RunObserver>,
}

impl std::fmt::Debug for WorkerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerOptions")
            .field("poll_interval", &self.poll_interval)
            .field("lease", &self.lease)
            .field("max_fee_periods", &self.max_fee_periods)
            .field("chunk_pause", &self.chunk_pause)
            .field("on_run_ended", &self.on_run_ended.is_some())
            .finish()
    }
}

/// The background worker of one server: claims jobs and runs them one at a time.
pub struct JobWorker {
    store: Store,
    lease: JobLease,
    options: WorkerOptions,
}

impl JobWorker {
    /// A worker with its own lease owner id.
    pub fn new(store: Store, options: WorkerOptions) -> JobWorker {
        JobWorker { store, lease: JobLease::new(options.lease), options }
    }

    /// The owner id of this worker's leases.
    pub fn owner(&self) -> &str {
        &self.lease.owner
    }

    /// Works until the task is dropped: claims a job, runs it, and looks again at once;
    /// waits `poll_interval` when there was nothing to do or the database failed.
    pub async fn run(self) {
        tracing::info!(owner = %self.lease.owner, "job worker started");
        loop {
            match self.work_once().await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(self.options.poll_interval).await,
                Err(e) => {
                    tracing::error!(error = %e, "job worker: could not claim or run a job");
                    tokio::time::sleep(self.options.poll_interval).await;
                }
            }
        }
    }

    /// Claims one job and runs it; false when there was none.
    pub async fn work_once(&self) -> Result<bool> {
        if let Some(id) = self.store.claim_job(JobTable::Runs, &self.lease, None).await? {
            let run = self.store.get_run(id).await?;
            let result = if run.attempts > MAX_ATTEMPTS {
                Err(StoreError::Conflict(format!("gave up after {MAX_ATTEMPTS} attempts")))
            } else {
                self.store.run_job(&run, &self.lease, &self.options).await
            };
            self.settle(JobTable::Runs, id, run.attempts, result).await?;
            if let Some(observe) = &self.options.on_run_ended {
                let run = self.store.get_run(id).await?;
                if run.job_status().is_finished() {
                    observe(&run);
                }
            }
            return Ok(true);
        }
        if let Some(id) = self.store.claim_job(JobTable::Issues, &self.lease, None).await? {
            let job: RunIssue = self.store.get_run_issue(id).await?;
            let result = if job.attempts > MAX_ATTEMPTS {
                Err(StoreError::Conflict(format!("gave up after {MAX_ATTEMPTS} attempts")))
            } else {
                self.store.issue_job(&job, &self.lease).await
            };
            self.settle(JobTable::Issues, id, job.attempts, result).await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// After a job's work: a database error releases the job for a retry after a back-off
    /// that doubles per attempt (the next claim counts it); any other error fails it.
    async fn settle(&self, table: JobTable, id: i64, attempts: i64, result: Result<()>) -> Result<()> {
        match result {
            Ok(()) => Ok(()),
            Err(StoreError::Database(e)) => {
                tracing::warn!(job = id, attempts, error = %e, "job interrupted by a database error; it is retried");
                let backoff = Duration::from_secs(1 << attempts.clamp(0, 6)).min(self.options.lease);
                self.store.release_job(table, id, &self.lease, backoff).await
            }
            Err(e) => {
                tracing::warn!(job = id, error = %e, "job failed");
                self.store.finish_job(table, id, &self.lease, JobStatus::Failed, Some(&e.to_string())).await.map(|_| ())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fresh_store;

    /// Records a queued all-customer run directly.
    async fn queued_run(store: &Store) -> i64 {
        with_pool!(store, pool => sqlx::query_scalar::<_, i64>(
            "INSERT INTO invoice_runs (started_via, scope, period_end, status, started_by_type, started_by_name, queued_at) \
             VALUES ('api', 'all', '2026-11-30', 'queued', 'system', 'system', $1) RETURNING id")
            .bind(DbTime::now()).fetch_one(pool).await.unwrap())
    }

    #[tokio::test]
    async fn two_workers_claiming_at_once_never_take_the_same_job_and_a_live_lease_is_kept() {
        let t = fresh_store().await;
        let store = &t.store;
        let (a, b) = (queued_run(store).await, queued_run(store).await);
        let (one, two) = (JobLease::new(Duration::from_secs(30)), JobLease::new(Duration::from_secs(30)));
        let (x, y) =
            tokio::join!(store.claim_job(JobTable::Runs, &one, None), store.claim_job(JobTable::Runs, &two, None));
        let mut claimed = vec![x.unwrap().unwrap(), y.unwrap().unwrap()];
        claimed.sort_unstable();
        assert_eq!(claimed, vec![a, b], "each job once");
        assert_eq!(store.job_queue_depth().await.unwrap(), 2, "running jobs count");
        // Both are held: nothing to claim, and a renewal by another holder is refused.
        assert_eq!(store.claim_job(JobTable::Runs, &JobLease::new(DEFAULT_LEASE), None).await.unwrap(), None);
        let holder_of_a = if store.get_run(a).await.unwrap().lease_owner.as_deref() == Some(one.owner.as_str()) {
            &one
        } else {
            &two
        };
        let stranger = JobLease::new(DEFAULT_LEASE);
        assert_eq!(store.renew_lease(JobTable::Runs, a, &stranger).await.unwrap(), None);
        assert_eq!(store.renew_lease(JobTable::Runs, a, holder_of_a).await.unwrap(), Some(false));
        // A cancel request reaches the holder with its next renewal.
        assert_eq!(store.cancel_job(JobTable::Runs, a).await.unwrap(), CancelOutcome::Requested);
        assert_eq!(store.renew_lease(JobTable::Runs, a, holder_of_a).await.unwrap(), Some(true));
        assert!(store.finish_job(JobTable::Runs, a, holder_of_a, JobStatus::Cancelled, None).await.unwrap());
        assert!(matches!(store.cancel_job(JobTable::Runs, a).await, Err(StoreError::Conflict(_))));
        t.remove().await;
    }

    #[tokio::test]
    async fn a_job_whose_lease_expired_is_taken_over_and_the_old_holder_can_no_longer_record() {
        let t = fresh_store().await;
        let store = &t.store;
        let id = queued_run(store).await;
        let dead = JobLease::new(Duration::from_millis(1));
        assert_eq!(store.claim_job(JobTable::Runs, &dead, None).await.unwrap(), Some(id));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let next = JobLease::new(DEFAULT_LEASE);
        assert_eq!(store.claim_job(JobTable::Runs, &next, Some(id)).await.unwrap(), Some(id));
        let run = store.get_run(id).await.unwrap();
        assert_eq!((run.lease_owner.as_deref(), run.attempts), (Some(next.owner.as_str()), 2));
        assert_eq!(store.renew_lease(JobTable::Runs, id, &dead).await.unwrap(), None, "the old holder lost it");
        assert!(!store.finish_job(JobTable::Runs, id, &dead, JobStatus::Succeeded, None).await.unwrap());
        assert!(store.finish_job(JobTable::Runs, id, &next, JobStatus::Succeeded, None).await.unwrap());
        assert_eq!(store.job_queue_depth().await.unwrap(), 0);
        t.remove().await;
    }
}

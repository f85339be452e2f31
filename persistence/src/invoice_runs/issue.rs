//! Issuing the drafts of a run as a job: one job per request (at most one queued or
//! running per run), numbers given in customer-number order, [`ISSUE_BATCH`] drafts per
//! transaction ([`Store::issue_drafts_together`]; numbers stay gapless: a batch takes its
//! block of numbers inside its transaction). A draft that cannot be issued
//! (e.g. one without lines, or one waiting for an earlier quota draft) is listed in the
//! job's problems and skipped. A resumed job continues with the drafts still drafts;
//! those listed as problems are not tried again.

use super::{stored_actor, RunStart};
use crate::invoices::IssueOptions;
use crate::jobs::{JobLease, JobSignal, JobStatus, JobTable, WorkEnd};
use crate::types::DbTime;
use crate::{Result, Store, StoreError};
use time::Date;

/// Drafts an issue job issues in one transaction: a step of its progress (and of a cancel).
pub const ISSUE_BATCH: usize = 200;

/// What one step of an issue job did.
struct IssueStep {
    issued: i64,
    skipped: i64,
    /// All problems so far as JSON, when the step added one.
    problems: Option<String>,
}

/// A draft an issue job did not issue, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IssueProblem {
    pub invoice_id: i64,
    pub customer_id: i64,
    /// `conflict` (the draft cannot be issued as it is: see `message`) or `not_found`
    /// (deleted meanwhile).
    pub code: String,
    pub message: String,
}

/// The problems of an issue job (stored as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct IssueProblems(pub Vec<IssueProblem>);

impl TryFrom<crate::types::JsonText> for IssueProblems {
    type Error = serde_json::Error;
    fn try_from(v: crate::types::JsonText) -> std::result::Result<Self, Self::Error> {
        Ok(IssueProblems(serde_json::from_value(v.0)?))
    }
}

/// A job issuing the drafts of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct RunIssue {
    pub id: i64,
    pub run_id: i64,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    pub series: String,
    pub issue_date: Date,
    pub started_by_type: String,
    pub started_by_id: Option<i64>,
    pub started_by_name: String,
    pub request_id: Option<String>,
    /// Drafts to issue, known once the job started.
    pub invoices_total: Option<i64>,
    pub invoices_issued: i64,
    pub invoices_skipped: i64,
    #[sqlx(try_from = "crate::types::JsonText")]
    pub problems: IssueProblems,
    pub queued_at: DbTime,
    pub started_at: Option<DbTime>,
    pub finished_at: Option<DbTime>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DbTime>,
    pub cancel_requested: bool,
    pub failure: Option<String>,
    pub attempts: i64,
}

impl RunIssue {
    /// The job's status.
    pub fn job_status(&self) -> JobStatus {
        JobStatus::parse(&self.status)
    }
}

impl Store {
    /// Queues issuing the drafts of run `run_id` (or finds the job of the same
    /// idempotency key); true when queued now. 404 unknown run; 409 when the run has not
    /// finished or an issue job of the run is queued or running.
    pub async fn queue_run_issue(
        &self,
        run_id: i64,
        opts: &IssueOptions,
        start: &RunStart<'_>,
    ) -> Result<(RunIssue, bool)> {
        let (principal, key) = match &start.idempotency {
            Some((p, k)) => (Some(p.as_str()), Some(k.as_str())),
            None => (None, None),
        };
        if let (Some(p), Some(k)) = (principal, key) {
            if let Some(job) = self.run_issue_by_idempotency_key(p, k).await? {
                return Ok((job, false));
            }
        }
        let run = self.get_run(run_id).await?;
        self.check_issuable().await?;
        if !run.job_status().is_finished() {
            return Err(StoreError::Conflict(format!(
                "the run is {}: its drafts can be issued once it has finished",
                run.status
            )));
        }
        let actor = start.actor;
        let inserted = with_pool!(self, pool => sqlx::query_scalar::<_, i64>(
            "INSERT INTO invoice_run_issues (run_id, status, series, issue_date, started_by_type, started_by_id, \
             started_by_name, request_id, idempotency_principal, idempotency_key, queued_at) \
             VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
            .bind(run_id).bind(&opts.series).bind(opts.issue_date).bind(actor.kind.as_str()).bind(actor.id)
            .bind(&actor.name).bind(actor.request_id.as_deref()).bind(principal).bind(key).bind(DbTime::now())
            .fetch_one(pool).await);
        match inserted.map_err(StoreError::from) {
            Ok(id) => Ok((self.get_run_issue(id).await?, true)),
            Err(StoreError::Duplicate(_)) => {
                if let (Some(p), Some(k)) = (principal, key) {
                    if let Some(job) = self.run_issue_by_idempotency_key(p, k).await? {
                        return Ok((job, false));
                    }
                }
                Err(StoreError::Conflict(
                    "the run's drafts are being issued already: follow that job, or cancel it first".into(),
                ))
            }
            Err(e) => Err(e),
        }
    }

    async fn run_issue_by_idempotency_key(&self, principal: &str, key: &str) -> Result<Option<RunIssue>> {
        with_pool!(self, pool => Ok(sqlx::query_as(
            "SELECT * FROM invoice_run_issues WHERE idempotency_principal = $1 AND idempotency_key = $2")
            .bind(principal).bind(key).fetch_optional(pool).await?))
    }

    /// An issue job by id.
    pub async fn get_run_issue(&self, id: i64) -> Result<RunIssue> {
        with_pool!(self, pool => Ok(sqlx::query_as("SELECT * FROM invoice_run_issues WHERE id = $1")
            .bind(id).fetch_one(pool).await?))
    }

    /// The latest issue job of a run, if any.
    pub async fn latest_run_issue(&self, run_id: i64) -> Result<Option<RunIssue>> {
        with_pool!(self, pool => Ok(sqlx::query_as(
            "SELECT * FROM invoice_run_issues WHERE run_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(run_id).fetch_optional(pool).await?))
    }

    /// Asks the latest issue job of a run to stop (see [`Store::cancel_run`]). 404 when
    /// the run has none, 409 when it has finished.
    pub async fn cancel_run_issue(&self, run_id: i64) -> Result<crate::jobs::CancelOutcome> {
        let job = self.latest_run_issue(run_id).await?.ok_or(StoreError::NotFound)?;
        self.cancel_job(JobTable::Issues, job.id).await
    }

    /// Runs a claimed issue job with its heartbeat, and finishes it (`succeeded` or
    /// `cancelled`) unless the lease was lost.
    pub(crate) async fn issue_job(&self, job: &RunIssue, lease: &JobLease) -> Result<()> {
        let signal = JobSignal::default();
        if job.cancel_requested {
            signal.cancel();
        }
        let work = self.issue_drafts(job, lease, &signal);
        let heartbeat = self.keep_lease(JobTable::Issues, job.id, lease, &signal);
        tokio::select! {
            out = work => out?,
            never = heartbeat => match never {},
        };
        let status = match WorkEnd::of(&signal) {
            WorkEnd::LeaseLost => return Ok(()),
            WorkEnd::Cancelled => JobStatus::Cancelled,
            WorkEnd::Done => JobStatus::Succeeded,
        };
        self.finish_job(JobTable::Issues, job.id, lease, status, None).await?;
        tracing::info!(job = job.id, run = job.run_id, status = status.as_str(), "issue job ended");
        Ok(())
    }

    /// Issues the run's drafts in customer-number order, [`ISSUE_BATCH`] at a time in one
    /// transaction ([`Store::issue_drafts_together`]; a draft that cannot join a batch is
    /// issued alone or listed as a problem), recording the progress after each step, until
    /// done or `signal` says stop.
    async fn issue_drafts(&self, job: &RunIssue, lease: &JobLease, signal: &JobSignal) -> Result<()> {
        let drafts: Vec<(i64, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT i.id, i.customer_id FROM invoices i JOIN customers c ON c.id = i.customer_id \
             WHERE i.run_id = $1 AND i.status = 'draft' ORDER BY c.number, i.id")
            .bind(job.run_id).fetch_all(pool).await?);
        let mut problems = job.problems.0.clone();
        let drafts: Vec<(i64, i64)> =
            drafts.into_iter().filter(|(id, _)| !problems.iter().any(|p| p.invoice_id == *id)).collect();
        let done = job.invoices_issued + job.invoices_skipped;
        with_pool!(self, pool => sqlx::query("UPDATE invoice_run_issues SET invoices_total = $1 WHERE id = $2")
            .bind(done + drafts.len() as i64).bind(job.id).execute(pool).await.map(|_| ())?);
        let opts = IssueOptions { series: job.series.clone(), issue_date: job.issue_date };
        let actor = stored_actor(&job.started_by_type, job.started_by_id, &job.started_by_name, job.request_id.clone());
        let mut rest = &drafts[..];
        while !rest.is_empty() && !signal.stopping() {
            let ids: Vec<i64> = rest.iter().take(ISSUE_BATCH).map(|(id, _)| *id).collect();
            let together = self.issue_drafts_together(&ids, &opts, &actor).await?;
            let mut step = IssueStep { issued: together as i64, skipped: 0, problems: None };
            rest = &rest[together..];
            if together < ids.len() {
                // The draft that could not join the batch: alone, with its reason if it fails.
                let (invoice_id, customer_id) = rest[0];
                rest = &rest[1..];
                let problem = match self.issue_invoice(invoice_id, None, &opts, &actor).await {
                    Ok(_) => None,
                    Err(StoreError::Conflict(message)) => Some(("conflict", message)),
                    Err(StoreError::StaleVersion) => Some(("conflict", "the draft changed meanwhile".to_string())),
                    Err(StoreError::NotFound) => Some(("not_found", "the draft was deleted meanwhile".to_string())),
                    Err(e) => return Err(e),
                };
                match problem {
                    None => step.issued += 1,
                    Some((code, message)) => {
                        problems.push(IssueProblem { invoice_id, customer_id, code: code.into(), message });
                        step.skipped = 1;
                        step.problems = Some(serde_json::to_string(&problems)?);
                    }
                }
            }
            match self.record_issue_progress(job.id, lease, &step).await? {
                Some(true) => signal.cancel(),
                Some(false) => {}
                None => signal.lose(),
            }
        }
        Ok(())
    }

    /// Records a step of an issue job and renews its lease; `None` when the lease is lost,
    /// else whether a cancel was requested.
    async fn record_issue_progress(&self, job_id: i64, lease: &JobLease, step: &IssueStep) -> Result<Option<bool>> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "UPDATE invoice_run_issues SET invoices_issued = invoices_issued + $1, \
             invoices_skipped = invoices_skipped + $2, problems = COALESCE($3, problems), lease_expires_at = $4 \
             WHERE id = $5 AND lease_owner = $6 AND status = 'running' RETURNING cancel_requested")
            .bind(step.issued).bind(step.skipped).bind(step.problems.as_deref()).bind(lease.expiry())
            .bind(job_id).bind(&lease.owner).fetch_optional(pool).await?))
    }
}

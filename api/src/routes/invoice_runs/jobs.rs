//! Runs as jobs over HTTP: the 202/polling answers of job resources, cancelling a run (or
//! the job issuing its drafts), and issuing all drafts of a run as a job
//! (`POST /invoice-runs/{id}/issue`, polled at `GET /invoice-runs/{id}/issue`). The jobs
//! themselves run in the server's worker ([`persistence::jobs`]).

use super::{run_out, RunStatus};
use crate::auth::Principal;
use crate::dto::{date_text, timestamp};
use crate::error::{not_found, ApiError};
use crate::extract::{path_id, OptionalJson};
use crate::routes::invoices::{issue_options, IssueIn};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::{invoice, Permission};
use persistence::invoice_runs::{RunIssue, RunStart, StartedVia};
use persistence::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Seconds a client waits before polling a queued or running job again.
const RETRY_AFTER_SECONDS: &str = "1";

/// The answer that starts (or replays) a job: `accepted` (202) with `Location` and
/// `Retry-After` while the job is unfinished, 200 with `Location` once it has finished.
pub(super) fn job_response(
    finished: bool,
    accepted: StatusCode,
    location: &str,
    body: &impl Serialize,
) -> HttpResponse {
    let mut res = HttpResponse::build(if finished { StatusCode::OK } else { accepted });
    res.insert_header(("Location", location));
    if !finished {
        res.insert_header(("Retry-After", RETRY_AFTER_SECONDS));
    }
    res.json(body)
}

/// A polled job resource: 200, with `Retry-After` while the job is unfinished.
pub(super) fn polled(finished: bool, body: &impl Serialize) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    if !finished {
        res.insert_header(("Retry-After", RETRY_AFTER_SECONDS));
    }
    res.json(body)
}

/// A draft an issue job did not issue, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssueProblemOut {
    pub invoice_id: i64,
    pub customer_id: i64,
    /// `conflict` (e.g. a draft without lines, or one waiting for an earlier quota draft
    /// of its contract: see `message`) or `not_found` (deleted meanwhile).
    pub code: String,
    pub message: String,
}

/// A job issuing all drafts of a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssueJobOut {
    pub id: i64,
    pub run_id: i64,
    pub status: RunStatus,
    /// A cancel was requested: the job stops before its next invoice.
    pub cancel_requested: bool,
    /// Why a `failed` job failed.
    pub failure: Option<String>,
    /// Number series of the invoices.
    pub series: String,
    #[schema(value_type = String, format = Date)]
    pub issue_date: String,
    /// Drafts to issue (`null` while queued).
    pub invoices_total: Option<i64>,
    pub invoices_issued: i64,
    /// Drafts not issued: see `problems`.
    pub invoices_skipped: i64,
    pub problems: Vec<IssueProblemOut>,
    #[schema(value_type = String, format = DateTime)]
    pub queued_at: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<String>,
}

impl IssueJobOut {
    /// The job for the wire.
    pub fn of(j: RunIssue) -> IssueJobOut {
        IssueJobOut {
            id: j.id,
            run_id: j.run_id,
            status: RunStatus::of(j.job_status()),
            cancel_requested: j.cancel_requested,
            failure: j.failure,
            series: j.series,
            issue_date: date_text(j.issue_date),
            invoices_total: j.invoices_total,
            invoices_issued: j.invoices_issued,
            invoices_skipped: j.invoices_skipped,
            problems: j
                .problems
                .0
                .into_iter()
                .map(|p| IssueProblemOut {
                    invoice_id: p.invoice_id,
                    customer_id: p.customer_id,
                    code: p.code,
                    message: p.message,
                })
                .collect(),
            queued_at: timestamp(&j.queued_at),
            started_at: j.started_at.as_ref().map(timestamp),
            finished_at: j.finished_at.as_ref().map(timestamp),
        }
    }
}

/// Cancel a run, or the job issuing its drafts. A queued run is cancelled at once; a
/// running one stops before its next chunk of (at most 32) customers (`cancel_requested` is true until its
/// worker has stopped: poll the run until `status` is `cancelled`). What was committed
/// stays: the drafts of the customers billed so far are kept (delete them to open their
/// positions again). A finished run with a queued or running issue job: that job is
/// cancelled the same way, before its next invoice. Billing role only.
#[utoipa::path(post, path = "/api/v1/invoice-runs/{id}/cancel", operation_id = "cancel_invoice_run", tag = "invoice-runs",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The run (or its issue job) is cancelled, or will stop before its next step", body = super::InvoiceRunOut),
        (status = 409, description = "The run has finished and no issue job of it is queued or running", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn cancel_run(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageInvoices)?;
    let id = path_id(&req, "id")?;
    let run = state.store.get_run(id).await.map_err(not_found("invoice run"))?;
    let issuing = state.store.latest_run_issue(id).await?.is_some_and(|j| !j.job_status().is_finished());
    let cancelled = match (run.job_status().is_finished(), issuing) {
        (false, _) => state.store.cancel_run(id).await,
        (true, true) => state.store.cancel_run_issue(id).await,
        (true, false) => Err(StoreError::Conflict(format!(
            "the run is {} and none of its drafts is being issued: there is nothing to cancel",
            run.status
        ))),
    };
    cancelled?;
    let run = state.store.get_run(id).await?;
    let finished = run.job_status().is_finished() && !issuing;
    Ok(polled(finished, &run_out(&state, run, None).await?))
}

/// Issue all drafts of a finished run, as a job: each draft gets the next number of the
/// series (gapless), in customer-number order, up to 200 drafts per transaction, each
/// exactly as `POST /invoices/{id}/issue` would issue it (number, snapshot, due date,
/// ledger entries, events, audit record). Drafts that cannot be issued (e.g. one without
/// lines: 409 there) are listed in the job's `problems` and skipped; settlements waiting
/// for an earlier draft are settled. Answers `202 Accepted` with the job,
/// `Location: /api/v1/invoice-runs/{id}/issue` and `Retry-After`: poll it until `status`
/// is `succeeded`, `failed` or `cancelled`. `POST /invoice-runs/{id}/cancel` stops it
/// before the next batch. The body is optional (series default `RE`, issue date default
/// today). With `Idempotency-Key` a retry starts no second job. Billing role only.
#[utoipa::path(post, path = "/api/v1/invoice-runs/{id}/issue", operation_id = "issue_invoice_run", tag = "invoice-runs",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe: the same key starts no second job and answers with the job's current state")),
    request_body(content = Option<IssueIn>),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Replay of a finished issue job", body = IssueJobOut, headers(("Location" = String))),
        (status = 202, description = "Issue job queued: poll the Location", body = IssueJobOut,
            headers(("Location" = String, description = "The run's issue job: poll it until its status is succeeded, failed or cancelled"),
                    ("Retry-After" = i64, description = "Seconds to wait before polling"))),
        (status = 409, description = "The run is still queued or running, or its drafts are being issued already", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn issue_run(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: OptionalJson<IssueIn>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageInvoices)?;
    let id = path_id(&req, "id")?;
    let opts = issue_options(body.into_inner()?, invoice::INVOICE_SERIES)?;
    let idempotency = super::idempotency(&req, &p);
    let actor = p.actor(&req);
    let start = RunStart { via: StartedVia::Api, actor: &actor, idempotency };
    let (job, _) = state.store.queue_run_issue(id, &opts, &start).await.map_err(not_found("invoice run"))?;
    let finished = job.job_status().is_finished();
    let location = format!("/api/v1/invoice-runs/{}/issue", job.run_id);
    Ok(job_response(finished, StatusCode::ACCEPTED, &location, &IssueJobOut::of(job)))
}

/// Read the latest job issuing the drafts of a run: status, progress and the drafts it
/// skipped with why. Poll it while `queued` or `running` (`Retry-After`).
#[utoipa::path(get, path = "/api/v1/invoice-runs/{id}/issue", operation_id = "get_invoice_run_issue", tag = "invoice-runs",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = IssueJobOut, headers(("Retry-After" = i64, description = "While the job is queued or running: seconds to wait before polling again"))),
        (status = 404, description = "No such run, or its drafts were never issued as a job", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_run_issue(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadInvoices)?;
    let id = path_id(&req, "id")?;
    let job =
        state.store.latest_run_issue(id).await?.ok_or_else(|| ApiError::NotFound("issue job of the run".into()))?;
    Ok(polled(job.job_status().is_finished(), &IssueJobOut::of(job)))
}

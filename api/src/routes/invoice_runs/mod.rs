//! Invoice runs. `POST /invoice-runs` runs the billing engine over the open positions in
//! scope, customer by customer: `mode=preview` returns the invoices it would create with
//! every line plus the blocking problems — writing nothing; `mode=commit` stores them as
//! draft invoices that reserve their positions (a savepoint per customer, one transaction
//! per chunk of customers), and records
//! the run (the work is in [`persistence::invoice_runs`]). A commit over all customers is
//! a job (202, polled at its Location; [`jobs`] has cancelling and issuing the drafts);
//! [`ready`] values the open billable work with the same engine.

mod jobs;
mod ready;

pub use jobs::{IssueJobOut, IssueProblemOut};
pub(crate) use ready::customer_ready;
pub use ready::{ReadyItem, ReadyQuery, ReadyToInvoice};

use crate::auth::Principal;
use crate::dto::{date_text, timestamp, DecimalString};
use crate::error::ApiError;
use crate::extract::{created_at, path_id, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::engine::{compute_customer, CustomerBilling};
use domain::position::PositionRef;
use domain::{BillingMode, Permission};
use persistence::billing::{BillingSetup, InputParams, PositionScope};
use persistence::invoice_runs::{InvoiceRun, RunPlan, RunResult, RunScope as PlanScope, RunStart, StartedVia};
use persistence::jobs::JobStatus;
use persistence::PageRequest;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{OpenApi, ToSchema};

/// The shared part of a run, with this installation's bound on fee periods per contract.
async fn billing_setup(state: &AppState) -> Result<BillingSetup, ApiError> {
    let mut setup = BillingSetup::load(&state.store).await?;
    setup.ctx.max_fee_periods = state.config.max_fee_periods_per_run;
    Ok(setup)
}

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(paths(run, list_runs, get_run, jobs::cancel_run, jobs::issue_run, jobs::get_run_issue, ready::ready), tags((name = "invoice-runs", description = "Invoice runs: what is ready to invoice, previews, and committed runs that create draft invoices (runs over all customers, and issuing a run's drafts, are jobs: 202 Accepted, then poll the Location)")))]
pub struct Doc;

/// What a run bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunScope {
    /// Every customer with open positions or contracts.
    All,
    /// One customer (with its contract fees).
    Customer,
    /// One contract: its fees and the positions billed under it.
    Contract,
    /// The open positions of one project (no contract fees).
    Project,
    /// The open positions of one ticket (no contract fees): "create an invoice from the ticket".
    Ticket,
}

/// Preview (write nothing) or commit (create drafts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Return what the run would create; nothing is written.
    #[default]
    Preview,
    /// Create draft invoices that reserve their positions, and record the run.
    Commit,
}

/// Parameters of a run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// `preview` (default) or `commit`.
    #[serde(default)]
    pub mode: RunMode,
    pub scope: RunScope,
    /// Id of the customer, contract, project or ticket (not for `all`).
    pub scope_id: Option<i64>,
    /// First day of the service period (informational; older open positions are included).
    #[schema(value_type = Option<String>, format = Date, example = "2026-11-01")]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub period_start: Option<Date>,
    /// Last day of the service period: positions up to this day are billed.
    #[schema(value_type = String, format = Date, example = "2026-11-30")]
    #[serde(deserialize_with = "crate::dto::business_date")]
    pub period_end: Date,
    /// Preview only: customers per page (1–200, default 50). A preview lists customers in
    /// id order and pages them like a list, so that a run over thousands of customers is
    /// read in bounded answers; a commit always covers the whole scope (422 if given).
    #[schema(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Preview only: `next_cursor` of the previous page, with the same scope and period
    /// (a cursor of another request is 422 `invalid_cursor`).
    pub cursor: Option<String>,
}

impl RunRequest {
    /// What a preview cursor is bound to: scope and period.
    fn fingerprint(&self) -> String {
        format!("{:?}/{:?}/{:?}/{}", self.scope, self.scope_id, self.period_start, self.period_end)
    }
}

/// Totals of a preview.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunSummary {
    pub customers: usize,
    pub proposals: usize,
    pub problems: usize,
}

/// What a run would create.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunPreview {
    /// Always `preview`.
    pub mode: RunMode,
    pub scope: RunScope,
    pub scope_id: Option<i64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_start: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub period_end: String,
    /// True when no customer on this page has a blocking problem (the run is committable
    /// when this holds on every page).
    pub committable: bool,
    /// Totals of this page.
    pub summary: RunSummary,
    /// Per customer: invoice proposals with every line, the quota-ledger entries issuing
    /// would write, blocking problems (each naming its position), quota threshold
    /// crossings and profitability. At most `limit` customers: only customers with a
    /// proposal or a problem are listed.
    pub customers: Vec<CustomerBilling>,
    /// Pass as `cursor` (with the same scope and period) for the next customers; `null`
    /// on the last page.
    pub next_cursor: Option<String>,
}

/// Who started a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct StartedBy {
    /// `user`, `api_client` or `system`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<i64>,
    /// E-mail or client name as of the run.
    pub name: String,
}

/// Something that kept a customer out of a committed run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunProblemOut {
    pub customer_id: i64,
    /// The engine's problem code (`missing_rate`, `currency_mismatch`, …) or
    /// `concurrent_change` (positions kept changing; run again).
    pub code: String,
    pub message: String,
    pub position: Option<PositionRef>,
    pub contract_id: Option<i64>,
}

/// A committed run: its parameters, who started it and what it produced.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceRunOut {
    pub id: i64,
    /// Always `commit` (previews are not recorded).
    pub mode: RunMode,
    /// `api`, or `ticket_resolved` (a ticket of a customer billed per resolved ticket).
    pub started_via: String,
    pub scope: RunScope,
    pub scope_id: Option<i64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub period_start: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub period_end: String,
    pub status: RunStatus,
    /// A cancel was requested: the run stops before its next chunk of customers (`status` becomes
    /// `cancelled`).
    pub cancel_requested: bool,
    /// Why a `failed` run failed.
    pub failure: Option<String>,
    pub started_by: StartedBy,
    /// Customers in scope (`null` while queued).
    pub customers_total: Option<i64>,
    /// Customers done so far: billed, left out with problems, or with nothing to bill.
    pub customers_done: i64,
    /// Customers that got drafts.
    pub customers_billed: i64,
    /// Customers left out because of blocking problems (see `problems`).
    pub customers_blocked: i64,
    /// Documents created: draft invoices and settlements.
    pub invoices_created: i64,
    /// Positions (bookings, expenses, fees, custom-field quantities) the documents take.
    pub positions_reserved: i64,
    pub problems: Vec<RunProblemOut>,
    /// The run's documents (see `GET /invoices?run_id=`): draft invoices, and settlements
    /// for proposals without lines (`kind: settlement`, no number, never in the accounting
    /// feed: they settle covered and non-billable work and close quota periods).
    pub invoice_ids: Vec<i64>,
    /// Projects the run moved from `manager_done` to `billed` (their last open work is in
    /// a draft now).
    pub projects_billed: Vec<i64>,
    /// What the run created, per document: whom it bills, net and gross, lines and
    /// positions, and its status now.
    pub documents: Vec<RunDocumentOut>,
    /// Why the run created nothing (`null` when it created documents, and while it runs).
    pub empty_reason: Option<EmptyRunReason>,
    /// When the run was recorded.
    #[schema(value_type = String, format = DateTime)]
    pub queued_at: String,
    /// When billing started (`null` while queued).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<String>,
    /// Milliseconds from start to finish (so far, while running).
    pub duration_ms: Option<u64>,
    /// The latest job issuing the run's drafts (`POST /invoice-runs/{id}/issue`), if any.
    pub issue: Option<IssueJobOut>,
}

/// Where a committed run (or an issue job) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a worker (poll the run's Location).
    Queued,
    /// Being worked on. A run whose node died stays `running` until its lease expires
    /// (30 s by default); then another worker resumes it after the last customer done.
    Running,
    /// Every customer in scope was billed or left out with its problems (an issue job:
    /// every draft was issued or listed as a problem).
    Succeeded,
    /// Given up (see `failure`): what was committed stays; run again to continue.
    Failed,
    /// Stopped on request between customers (invoices); what was committed stays.
    Cancelled,
}

impl RunStatus {
    fn of(status: JobStatus) -> RunStatus {
        match status {
            JobStatus::Queued => RunStatus::Queued,
            JobStatus::Running => RunStatus::Running,
            JobStatus::Succeeded => RunStatus::Succeeded,
            JobStatus::Failed => RunStatus::Failed,
            JobStatus::Cancelled => RunStatus::Cancelled,
        }
    }
}

/// One document of a run, summarised.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDocumentOut {
    pub id: i64,
    /// `invoice` (a draft to check and issue) or `settlement` (no lines: covered or
    /// non-billable work, quota periods closed).
    pub kind: String,
    /// `draft`, `issued`, `paid`, `cancelled` or `settled` — now, not when created.
    pub status: String,
    pub customer_id: i64,
    pub customer_name: String,
    /// ISO 4217.
    pub currency: String,
    #[schema(value_type = String, example = "1250.00")]
    pub net: DecimalString,
    #[schema(value_type = String, example = "1487.50")]
    pub gross: DecimalString,
    /// Invoice lines.
    pub lines: i64,
    /// Positions it settles: billed, covered and non-billable bookings, expenses, fees.
    pub positions: i64,
}

/// Why a committed run created no document.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmptyRunReason {
    /// `all_blocked` (every customer with something to bill has a blocking problem: see
    /// `problems`) or `nothing_open` (no open positions, fees or quota periods due in scope
    /// up to `period_end`: work already in a draft or an invoice is not taken twice).
    pub code: String,
    pub message: String,
}

impl EmptyRunReason {
    /// The reason of a run that created nothing; `None` when it created documents.
    fn of(run: &InvoiceRun, documents: usize) -> Option<Self> {
        if documents > 0 || run.invoices_created > 0 || !run.job_status().is_finished() {
            return None;
        }
        Some(if run.customers_blocked > 0 {
            EmptyRunReason {
                code: "all_blocked".into(),
                message: format!(
                    "{} customer(s) with something to bill have blocking problems (see problems); fix them and run again",
                    run.customers_blocked
                ),
            }
        } else {
            EmptyRunReason {
                code: "nothing_open".into(),
                message: "no open positions, fees or quota periods due in scope up to period_end; work already in a \
                          draft or an invoice is not taken twice"
                    .into(),
            }
        })
    }
}

list_response!(InvoiceRunList, InvoiceRunOut, "A page of committed invoice runs, newest first.");

/// A run for the wire, with its documents read from the store. `created_now` are the
/// documents a commit call created (a continued run lists only the new ones); a read
/// lists all of the run's documents.
async fn run_out(state: &AppState, run: InvoiceRun, created_now: Option<Vec<i64>>) -> Result<InvoiceRunOut, ApiError> {
    let documents = state.store.run_documents(run.id).await?;
    let invoice_ids = created_now.unwrap_or_else(|| documents.iter().map(|d| d.id).collect());
    let empty_reason = EmptyRunReason::of(&run, documents.len());
    let scope = serde_json::from_value(serde_json::Value::String(run.scope.clone())).unwrap_or(RunScope::All);
    let status = RunStatus::of(run.job_status());
    let duration_ms = run.duration().map(|d| d.as_millis() as u64);
    let issue = state.store.latest_run_issue(run.id).await?.map(IssueJobOut::of);
    let queued_at = run.queued_at.as_ref().or(run.started_at.as_ref()).map(timestamp).unwrap_or_default();
    Ok(InvoiceRunOut {
        id: run.id,
        mode: RunMode::Commit,
        started_via: run.started_via,
        scope,
        scope_id: run.scope_id,
        period_start: run.period_start.map(date_text),
        period_end: date_text(run.period_end),
        status,
        cancel_requested: run.cancel_requested,
        failure: run.failure,
        started_by: StartedBy { kind: run.started_by_type, id: run.started_by_id, name: run.started_by_name },
        customers_total: run.customers_total,
        customers_done: run.customers_done,
        customers_billed: run.customers_billed,
        customers_blocked: run.customers_blocked,
        invoices_created: run.invoices_created,
        positions_reserved: run.positions_reserved,
        problems: run
            .problems
            .0
            .into_iter()
            .map(|p| RunProblemOut {
                customer_id: p.customer_id,
                code: p.code,
                message: p.message,
                position: p.position,
                contract_id: p.contract_id,
            })
            .collect(),
        invoice_ids,
        projects_billed: run.projects_billed.0,
        documents: documents
            .into_iter()
            .map(|d| RunDocumentOut {
                id: d.id,
                kind: d.kind,
                status: d.status,
                customer_id: d.customer_id,
                customer_name: d.customer_name,
                currency: d.currency.code().to_string(),
                net: DecimalString::money(d.net, d.currency),
                gross: DecimalString::money(d.gross, d.currency),
                lines: d.lines,
                positions: d.positions,
            })
            .collect(),
        empty_reason,
        queued_at,
        started_at: run.started_at.as_ref().map(timestamp),
        finished_at: run.finished_at.as_ref().map(timestamp),
        duration_ms,
        issue,
    })
}

/// Resolves the scope of a request into the customers to bill and how.
async fn plan(state: &AppState, r: &RunRequest) -> Result<RunPlan, ApiError> {
    if r.period_start.is_some_and(|s| s > r.period_end) {
        return Err(ApiError::invalid("period_start", "range", "must not be after period_end"));
    }
    let store = &state.store;
    let id = || {
        r.scope_id
            .ok_or_else(|| ApiError::invalid("scope_id", "required", "name the customer, contract, project or ticket"))
    };
    let unknown = |what: &str| ApiError::invalid("scope_id", "unknown_reference", format!("no such {what}"));
    let scope = match r.scope {
        RunScope::All => {
            if r.scope_id.is_some() {
                return Err(ApiError::invalid(
                    "scope_id",
                    "not_applicable",
                    "a run over all customers takes no scope_id",
                ));
            }
            PlanScope::All
        }
        RunScope::Customer => {
            let c = id()?;
            store.customer_ref(c).await?.ok_or_else(|| unknown("customer"))?;
            PlanScope::Customer(c)
        }
        RunScope::Contract => {
            let c = id()?;
            let (_, archived) = store.contract_ref(c).await?.ok_or_else(|| unknown("contract"))?;
            if archived {
                return Err(ApiError::invalid("scope_id", "archived", "the contract is archived"));
            }
            PlanScope::Contract(c)
        }
        RunScope::Project => {
            let p = id()?;
            let project = store.project_ref(p).await?.ok_or_else(|| unknown("project"))?;
            if project.internal || project.customer_id.is_none() {
                return Err(ApiError::invalid("scope_id", "internal_project", "internal projects are never invoiced"));
            }
            PlanScope::Project(p)
        }
        RunScope::Ticket => {
            let t = id()?;
            let ticket = store.ticket_ref(t).await?.ok_or_else(|| unknown("ticket"))?;
            if ticket.customer_id.is_none() {
                return Err(ApiError::invalid("scope_id", "internal_project", "the ticket has no customer to invoice"));
            }
            PlanScope::Ticket(t)
        }
    };
    Ok(store.run_plan(scope, r.period_start, r.period_end).await?)
}

/// Run an invoice run: preview or commit.
///
/// Takes every open position dated up to `period_end` (older unbilled ones included) in
/// scope, applies contracts, rates, rounding, quotas, fees and surcharges, and groups the
/// result into invoices per customer (and per contract marked "separate invoice").
/// `all`, `customer` and `contract` runs bill the contract fees due by `period_end` and
/// close the quota periods that end by it; `ticket` and `project` runs bill only that
/// ticket's or project's positions. Customers in `immediate` billing mode wait with
/// positions on tickets that are not resolved yet.
///
/// - `mode=preview` (default): the invoices the run would create, every line with the
///   positions it bills, quota entries, blocking problems (e.g. `missing_rate`) and
///   profitability. Writes nothing; the same request gives the same answer.
/// - `mode=commit`: stores draft invoices (customers in chunks of 32, one transaction per
///   chunk and a savepoint per customer: stale data rolls back that customer only) that reserve
///   their positions — a second run does not take them, and a position is in at most one
///   invoice that is not cancelled (enforced by the database, also across nodes). Customers
///   with blocking problems get no draft and are listed in `problems`. The run is recorded
///   (`GET /invoice-runs/{id}`): it lists each document created (`documents`: customer,
///   net, gross, lines, positions) and, when none was, why (`empty_reason`: `nothing_open`
///   or `all_blocked`). A committed run that puts the last open positions of a
///   `manager_done` project into a draft moves the project to `billed`. Billing role only.
///
/// A commit over **all customers is a job**: the answer is `202 Accepted` with the run
/// record (`status: queued`), `Location: /api/v1/invoice-runs/{id}` and `Retry-After`
/// (seconds). Poll the Location until `status` is `succeeded`, `failed` or `cancelled`;
/// `customers_done` / `customers_total` show the progress. A worker bills the customers
/// in id order; when its node dies another worker resumes the run after the last customer
/// done (no position is billed twice). `POST /invoice-runs/{id}/cancel` stops it between
/// customers. A commit of one customer, contract, project or ticket answers `201` with the
/// finished run.
///
/// With `Idempotency-Key` a retry creates no second run: it answers with the run's
/// current record (`202` while it runs, `200` once finished).
#[utoipa::path(post, path = "/api/v1/invoice-runs", operation_id = "run_invoice_run", tag = "invoice-runs",
    request_body = RunRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe commit: the same key and body create no second run and answer with its current record; a run interrupted by a crash is continued; the same key with another body is 422")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Preview, or the replay of a finished committed run", body = RunPreview),
        (status = 201, description = "Committed run (one customer, contract, project or ticket), finished", body = InvoiceRunOut, headers(("Location" = String))),
        (status = 202, description = "Committed run over all customers, queued as a job (or a replay while it runs): poll the Location", body = InvoiceRunOut,
            headers(("Location" = String, description = "The run: poll it until its status is succeeded, failed or cancelled"),
                    ("Retry-After" = i64, description = "Seconds to wait before polling")))))]
pub async fn run(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<RunRequest>,
) -> Result<HttpResponse, ApiError> {
    // Previewing needs the least permission of both modes: check it before the body.
    p.require(Permission::ReadBilling)?;
    let r = body.into_inner()?;
    if r.mode == RunMode::Commit {
        p.require(Permission::ManageInvoices)?;
        for (field, given) in [("limit", r.limit.is_some()), ("cursor", r.cursor.is_some())] {
            if given {
                return Err(ApiError::invalid(
                    field,
                    "not_applicable",
                    "a commit covers the whole scope; pages are for previews",
                ));
            }
        }
    }
    let plan = plan(&state, &r).await?;
    if r.mode == RunMode::Preview {
        let setup = billing_setup(&state).await?;
        return Ok(HttpResponse::Ok().json(preview(&state, &setup, &r, &plan).await?));
    }
    commit(&req, &p, &state, &plan).await
}

/// The caller's `Idempotency-Key` with the principal it belongs to, for a run or job record.
pub(super) fn idempotency(req: &HttpRequest, p: &Principal) -> Option<(String, String)> {
    req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(|k| (p.key(), k.to_string()))
}

/// Commits a planned run: over all customers queued as a job (202), else in this request
/// (201); a replay of the same idempotency key answers with the run as it is now.
async fn commit(req: &HttpRequest, p: &Principal, state: &AppState, plan: &RunPlan) -> Result<HttpResponse, ApiError> {
    let idempotency = idempotency(req, p);
    let actor = p.actor(req);
    let start = RunStart { via: StartedVia::Api, actor: &actor, idempotency };
    if plan.scope == PlanScope::All {
        let (run, _) = state.store.queue_run(plan, &start).await?;
        let finished = run.job_status().is_finished();
        let out = run_out(state, run, None).await?;
        return Ok(jobs::job_response(
            finished,
            StatusCode::ACCEPTED,
            &format!("/api/v1/invoice-runs/{}", out.id),
            &out,
        ));
    }
    let setup = billing_setup(state).await?;
    let RunResult { run, invoice_ids, replayed, .. } = state.store.commit_run(&setup, plan, &start).await?;
    if !replayed {
        crate::metrics::observe_finished_run(&state.metrics, &run);
    }
    let location = format!("/api/v1/invoice-runs/{}", run.id);
    let finished = run.job_status().is_finished();
    let out = run_out(state, run, Some(invoice_ids)).await?;
    if replayed {
        return Ok(jobs::job_response(finished, StatusCode::ACCEPTED, &location, &out));
    }
    Ok(created_at(HttpResponse::Created().json(out), &location))
}

async fn preview(
    state: &AppState,
    setup: &BillingSetup,
    r: &RunRequest,
    plan: &RunPlan,
) -> Result<RunPreview, ApiError> {
    let page_size = limit(r.limit)? as usize;
    let fingerprint = r.fingerprint();
    let after = match decode_cursor::<(i64, String)>(r.cursor.as_deref())? {
        Some((_, made_for)) if made_for != fingerprint => {
            return Err(ApiError::invalid(
                "cursor",
                "invalid_cursor",
                "the cursor belongs to a preview of another scope or period: repeat that request, or start again without one",
            ))
        }
        Some((after, _)) => Some(after),
        None => None,
    };
    let mut results = Vec::with_capacity(page_size.min(plan.customers.len()));
    let mut next_cursor = None;
    for &customer_id in plan.customers.iter().filter(|&&c| after.is_none_or(|a| c > a)) {
        if results.len() == page_size {
            next_cursor =
                results.last().map(|c: &CustomerBilling| encode_cursor(&(c.customer_id, fingerprint.clone())));
            break;
        }
        let cr = setup.customer_input(&state.store, customer_id, plan.params).await?;
        let mut billing = compute_customer(&setup.ctx, &cr.input);
        if !billing.proposals.is_empty() {
            // Positions a cancelled invoice billed before: say what is billed differently now.
            let prior = state.store.cancelled_settlements(customer_id).await?;
            for p in &mut billing.proposals {
                p.changes_since_cancelled = domain::invoice::rebill_changes(&prior, p);
            }
        }
        if !billing.proposals.is_empty() || !billing.problems.is_empty() {
            results.push(billing);
        }
    }
    let summary = RunSummary {
        customers: results.len(),
        proposals: results.iter().map(|c| c.proposals.len()).sum(),
        problems: results.iter().map(|c| c.problems.len()).sum(),
    };
    Ok(RunPreview {
        mode: RunMode::Preview,
        scope: r.scope,
        scope_id: r.scope_id,
        period_start: r.period_start.map(date_text),
        period_end: date_text(r.period_end),
        committable: summary.problems == 0,
        summary,
        customers: results,
        next_cursor,
    })
}

/// Commits a ticket-scoped run for a just resolved ticket of a customer in `immediate`
/// billing mode ("bill each resolved ticket"), up to today. Returns the run, or `None`
/// when the customer is billed periodically. Blocking problems (e.g. a missing rate)
/// leave the work open for the next run and are recorded in the run.
pub async fn bill_resolved_ticket(
    state: &AppState,
    ticket_id: i64,
    customer_id: i64,
    actor: &persistence::Actor,
) -> Result<Option<RunResult>, ApiError> {
    let customer = state.store.get_customer(customer_id).await?;
    if customer.data.billing_mode != BillingMode::Immediate {
        return Ok(None);
    }
    let today = time::OffsetDateTime::now_utc().date();
    let plan = RunPlan {
        scope: PlanScope::Ticket(ticket_id),
        customers: vec![customer_id],
        params: InputParams {
            period_start: None,
            period_end: today,
            scope: PositionScope { ticket_id: Some(ticket_id), ..PositionScope::default() },
            contract_id: None,
            partial: true,
            per_booking: false,
        },
    };
    let setup = billing_setup(state).await?;
    let start = RunStart { via: StartedVia::TicketResolved, actor, idempotency: None };
    Ok(Some(state.store.commit_run(&setup, &plan, &start).await?))
}

/// Parameters of the run list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RunListQuery {
    /// Page size (1–200, default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List committed invoice runs, newest first.
#[utoipa::path(get, path = "/api/v1/invoice-runs", operation_id = "list_invoice_runs", tag = "invoice-runs",
    params(RunListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = InvoiceRunList)))]
pub async fn list_runs(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<RunListQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadInvoices)?;
    let page = PageRequest { limit: limit(q.0.limit)?, after: decode_cursor::<i64>(q.0.cursor.as_deref())? };
    let page = state.store.list_runs(&page).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for run in page.items {
        items.push(run_out(&state, run, None).await?);
    }
    Ok(HttpResponse::Ok().json(InvoiceRunList { items, next_cursor: page.next.map(|k| encode_cursor(&k)) }))
}

/// Read a committed run: its parameters, who started it, its status and progress (poll
/// this while a run is `queued` or `running`; `Retry-After` says when to look again),
/// what it produced and which customers it left out with which problems.
#[utoipa::path(get, path = "/api/v1/invoice-runs/{id}", operation_id = "get_invoice_run", tag = "invoice-runs",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = InvoiceRunOut, headers(("Retry-After" = i64, description = "While the run is queued or running: seconds to wait before polling again")))))]
pub async fn get_run(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadInvoices)?;
    let id = path_id(&req, "id")?;
    let run = state.store.get_run(id).await.map_err(crate::error::not_found("invoice run"))?;
    let finished = run.job_status().is_finished();
    Ok(jobs::polled(finished, &run_out(&state, run, None).await?))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/invoice-runs").route(web::post().to(run)).route(web::get().to(list_runs)))
        .service(web::resource("/invoice-runs/{id}").route(web::get().to(get_run)))
        .service(web::resource("/invoice-runs/{id}/cancel").route(web::post().to(jobs::cancel_run)))
        .service(
            web::resource("/invoice-runs/{id}/issue")
                .route(web::post().to(jobs::issue_run))
                .route(web::get().to(jobs::get_run_issue)),
        )
        .service(web::resource("/billing/ready").route(web::get().to(ready::ready)));
}

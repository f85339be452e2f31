//! The quota of prepaid contracts (`/contracts/{id}/quota`): grant, carried in, used,
//! remaining, overage, expiry and carry-out of one period, derived from the quota ledger
//! by [`domain::quota::quota_status`] — never a stored counter.

use crate::auth::Principal;
use crate::dto::date_text;
use crate::error::{ApiError, Problem};
use crate::extract::{path_id, Query};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::quota::{quota_status, QuotaEntry, QuotaStatus};
use domain::Permission;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, OpenApi, ToSchema};

/// OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(paths(contract_quota))]
pub struct Doc;

/// Which period.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QuotaQuery {
    /// Any day of the period (default today), e.g. `2026-11-01` for November of a monthly
    /// contract or the third quarter of a quarterly one.
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub period: Option<Date>,
}

/// A prepaid contract's quota in one period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractQuota {
    pub contract_id: i64,
    pub contract_number: String,
    /// `prepaid_hours` (figures in minutes) or `prepaid_budget` (figures in `currency`).
    pub kind: String,
    /// ISO 4217 of money figures.
    pub currency: String,
    /// From the written ledger (issued invoices and their credit notes): `granted`,
    /// `carried_in`, `used`, `remaining`, `overage` (minutes billed beyond the quota),
    /// `expired`, `carried_out`, `closed`; `projected` when no invoice reached the period
    /// yet (grant and carry-over computed by the contract's rules, not yet written).
    pub ledger: QuotaStatus,
    /// The same including the open drafts (what the next run continues from).
    pub including_drafts: QuotaStatus,
    /// The written ledger entries booked in the period, oldest first.
    pub entries: Vec<QuotaEntry>,
}

/// Quota of a prepaid contract for one period, from the ledger: grant, carried in, used,
/// remaining, overage, expired, carried out — in minutes for `prepaid_hours`, in money
/// for `prepaid_budget`. `ledger` counts issued invoices only; `including_drafts` adds the
/// drafts not issued yet. A contract without quota (time and material, flat fee) is 404; a
/// period the contract is not active in is 422.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/quota", operation_id = "contract_quota", tag = "contracts",
    params(("id" = i64, Path), QuotaQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContractQuota),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract, or it has no quota", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The contract is not active in that period", body = Problem, content_type = "application/problem+json")))]
pub async fn contract_quota(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    q: Query<QuotaQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let id = path_id(&req, "id")?;
    let stored = state.store.get_contract(id).await.map_err(crate::error::not_found("contract"))?;
    let contract = stored.to_domain();
    if contract.quota().is_none() {
        return Err(ApiError::NotFound(format!("a quota of contract {} (kind {})", contract.number, contract.kind())));
    }
    let date = q.0.period.unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
    let ledger = state.store.contract_ledger(id).await?;
    let mut with_drafts = ledger.clone();
    with_drafts.extend(state.store.contract_draft_quota(id).await?);
    let scale = stored.currency.minor_units();
    let inactive = || {
        ApiError::invalid(
            "period",
            "outside_contract",
            format!("the contract is not active in the period of {}", date_text(date)),
        )
    };
    let written = quota_status(&contract, &ledger, date, scale).ok_or_else(inactive)?;
    let pending = quota_status(&contract, &with_drafts, date, scale).ok_or_else(inactive)?;
    let period_start = written.summary.period.start;
    Ok(HttpResponse::Ok().json(ContractQuota {
        contract_id: id,
        contract_number: contract.number.clone(),
        kind: contract.kind().as_str().to_string(),
        currency: stored.currency.code().to_string(),
        entries: ledger.into_iter().filter(|e| e.period_start == period_start).collect(),
        ledger: written,
        including_drafts: pending,
    }))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/contracts/{id}/quota").route(web::get().to(contract_quota)));
}

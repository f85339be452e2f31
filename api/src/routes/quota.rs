//! The quota of prepaid contracts (`/contracts/{id}/quota`): grant, carried in, used,
//! remaining, overage, expiry and carry-out of one period, derived from the quota ledger
//! by [`domain::quota::quota_status`] — never a stored counter.

use crate::auth::Principal;
use crate::dto::date_text;
use crate::error::{ApiError, Problem};
use crate::extract::{path_id, Query};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::quota::{quota_status, QuotaEntry, QuotaHours, QuotaStatus};
use domain::Permission;
use rust_decimal::Decimal;
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
    /// `expired`, `carried_out`, `available`, `closed`; `projected` when no invoice reached
    /// the period yet (grant and carry-over computed by the contract's rules, not yet
    /// written).
    pub ledger: QuotaFigures,
    /// The same including the open drafts (what the next run continues from).
    pub including_drafts: QuotaFigures,
    /// The written ledger entries booked in the period, oldest first.
    pub entries: Vec<QuotaEntry>,
}

/// One period's quota figures with what a client would otherwise compute: `available`
/// and, for `prepaid_hours`, every figure in hours as well.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaFigures {
    #[serde(flatten)]
    pub status: QuotaStatus,
    /// granted + carried in − used − expired (− carried out, once the period is closed),
    /// never below 0: in minutes for `prepaid_hours`, in `currency` for `prepaid_budget`.
    #[schema(value_type = String, example = "450")]
    pub available: Decimal,
    // `prepaid_hours` only: every figure in decimal hours as well (at most 4 decimals).
    /// `prepaid_hours` only: `granted` in hours (at most 4 decimals, e.g. `"7.5"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub granted_hours: Option<Decimal>,
    /// `prepaid_hours` only: `carried_in` in hours (at most 4 decimals, e.g. `"7.5"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub carried_in_hours: Option<Decimal>,
    /// `prepaid_hours` only: `used` in hours (at most 4 decimals, e.g. `"7.5"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub used_hours: Option<Decimal>,
    /// `prepaid_hours` only: `overage` in hours (at most 4 decimals, e.g. `"7.5"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub overage_hours: Option<Decimal>,
    /// `prepaid_hours` only: `expired` in hours (at most 4 decimals, e.g. `"7.5"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub expired_hours: Option<Decimal>,
    /// `prepaid_hours` only: `carried_out` in hours (at most 4 decimals, e.g. `"7.5"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub carried_out_hours: Option<Decimal>,
    /// `prepaid_hours` only: `remaining` in hours (at most 4 decimals, e.g. `"7.5"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub remaining_hours: Option<Decimal>,
    /// `prepaid_hours` only: `available` in hours (at most 4 decimals, e.g. `"7.5"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub available_hours: Option<Decimal>,
}

impl From<QuotaStatus> for QuotaFigures {
    fn from(status: QuotaStatus) -> Self {
        let hours = status.summary.hours();
        let h = |f: fn(&QuotaHours) -> Decimal| hours.as_ref().map(f);
        QuotaFigures {
            available: status.summary.available(),
            granted_hours: h(|x| x.granted_hours),
            carried_in_hours: h(|x| x.carried_in_hours),
            used_hours: h(|x| x.used_hours),
            overage_hours: h(|x| x.overage_hours),
            expired_hours: h(|x| x.expired_hours),
            carried_out_hours: h(|x| x.carried_out_hours),
            remaining_hours: h(|x| x.remaining_hours),
            available_hours: h(|x| x.available_hours),
            status,
        }
    }
}

/// Quota of a prepaid contract for one period, from the ledger: grant, carried in, used,
/// remaining, overage, expired, carried out and available — in minutes (and hours) for
/// `prepaid_hours`, in money for `prepaid_budget`. `ledger` counts issued invoices only; `including_drafts` adds the
/// drafts not issued yet. A contract without quota (time and material, flat fee) is 404; a
/// period the contract is not active in is 422.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/quota", operation_id = "contract_quota", tag = "contracts",
    params(("id" = i64, Path), QuotaQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ContractQuota),
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
    contract_quota_at(&state, &stored, date).await?.map(|q| HttpResponse::Ok().json(q)).ok_or_else(|| {
        ApiError::invalid(
            "period",
            "outside_contract",
            format!("the contract is not active in the period of {}", date_text(date)),
        )
    })
}

/// The quota of `stored` in the period that holds `date`; `None` for a contract without
/// quota or one not active in that period.
pub(crate) async fn contract_quota_at(
    state: &AppState,
    stored: &persistence::contracts::StoredContract,
    date: Date,
) -> Result<Option<ContractQuota>, ApiError> {
    let contract = stored.to_domain();
    if contract.quota().is_none() {
        return Ok(None);
    }
    let ledger = state.store.contract_ledger(stored.id).await?;
    let mut with_drafts = ledger.clone();
    with_drafts.extend(state.store.contract_draft_quota(stored.id).await?);
    let scale = stored.currency.minor_units();
    let (Some(written), Some(pending)) =
        (quota_status(&contract, &ledger, date, scale), quota_status(&contract, &with_drafts, date, scale))
    else {
        return Ok(None);
    };
    let period_start = written.summary.period.start;
    Ok(Some(ContractQuota {
        contract_id: stored.id,
        contract_number: contract.number.clone(),
        kind: contract.kind().as_str().to_string(),
        currency: stored.currency.code().to_string(),
        entries: ledger.into_iter().filter(|e| e.period_start == period_start).collect(),
        ledger: written.into(),
        including_drafts: pending.into(),
    }))
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/contracts/{id}/quota").route(web::get().to(contract_quota)));
}

//! The explained rate resolution (`GET /rates/resolve`): which price a booking (or
//! hypothetical work) gets and why — level, entry, surcharge, rounding rule and every price
//! considered — or the blocking problem the invoice run would report for it.

use super::map_store;
use crate::auth::Principal;
use crate::dto::date_text;
use crate::dto::DecimalString;
use crate::error::{problem_type, ApiError, FieldError, Problem, PROBLEM_JSON};
use crate::extract::Query;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use domain::engine::choose_contract;
use domain::rates::{RateContext, RateError, RateLevel, RateQuery, RateScope, SurchargeKind};
use domain::rounding::RoundingMode;
use domain::Permission;
use persistence::rates::RoundingSource;
use persistence::StoreError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, Time};
use utoipa::{IntoParams, ToSchema};

fn errors_or(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}
/// Which booking to explain, or the facts of a hypothetical one.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResolveQuery {
    /// Explain this booking's rate. Alternatively give customer_id, service_id, date (and
    /// optionally user_id, project_id, contract_id, start_time, minutes) for "what would this cost".
    pub booking_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub service_id: Option<i64>,
    pub user_id: Option<i64>,
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "crate::dto::business_date_opt")]
    pub date: Option<Date>,
    pub project_id: Option<i64>,
    pub contract_id: Option<i64>,
    /// `HH:MM`, for the outside-business-hours surcharge.
    pub start_time: Option<String>,
    /// Actual minutes, to show the rounding (default 60).
    pub minutes: Option<u32>,
}

/// The surcharge applied to the rate.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedSurchargeOut {
    pub surcharge_id: i64,
    pub kind: SurchargeKind,
    #[schema(value_type = String, example = "50")]
    pub percent: DecimalString,
}

/// The rounding rule applied and where it came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoundingOut {
    pub increment_minutes: u32,
    pub minimum_minutes: u32,
    pub mode: RoundingMode,
    /// `contract`, `customer`, `global`, or `default` (nothing stored: 15/15/up).
    #[schema(example = "customer")]
    pub source: String,
    pub actual_minutes: u32,
    pub billed_minutes: u64,
}

/// A price that applied, most specific first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateOut {
    pub level: RateLevel,
    pub scope: Option<RateScope>,
    pub entry_id: Option<i64>,
    /// `booking`, `contract`, `project`, `customer`, `user` or `service`.
    pub owner_type: String,
    pub owner_id: Option<i64>,
    #[schema(value_type = String)]
    pub unit_price: DecimalString,
    pub currency: String,
    /// Whether this price won.
    pub won: bool,
}

/// Which rate a booking gets and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolutionOut {
    pub booking_id: Option<i64>,
    #[schema(value_type = String, format = Date)]
    pub work_date: String,
    pub service_id: i64,
    pub user_id: Option<i64>,
    pub customer_id: i64,
    pub project_id: Option<i64>,
    /// Contract the booking is billed under (named by its ticket, or chosen among the
    /// customer's active contracts), if any.
    pub contract_id: Option<i64>,
    /// Level that won.
    pub level: RateLevel,
    /// Scope of the winning card entry (card levels only).
    pub scope: Option<RateScope>,
    /// Winning rate card entry (card levels only).
    pub entry_id: Option<i64>,
    /// `booking`, `contract`, `project`, `customer`, `user` or `service`.
    pub owner_type: String,
    pub owner_id: Option<i64>,
    #[schema(value_type = String, example = "95.00")]
    pub base_unit_price: DecimalString,
    pub surcharge: Option<AppliedSurchargeOut>,
    /// Price per unit including the surcharge (unrounded).
    #[schema(value_type = String, example = "142.50")]
    pub unit_price: DecimalString,
    pub currency: String,
    pub rounding: RoundingOut,
    /// Every price valid on the work date, in precedence order; the first won.
    pub candidates_considered: Vec<CandidateOut>,
}

/// What to resolve.
struct Facts {
    booking_id: Option<i64>,
    customer_id: i64,
    project_id: Option<i64>,
    named_contract: Option<i64>,
    service_id: i64,
    user_id: Option<i64>,
    date: Date,
    start_time: Option<Time>,
    minutes: u32,
    override_price: Option<Decimal>,
}

/// Why a rate cannot be explained: a request error, or a blocking problem of the kind the
/// invoice run reports (answered as a 422 problem of its own type).
enum Unresolved {
    Api(ApiError),
    Billing(Problem),
}

impl From<ApiError> for Unresolved {
    fn from(e: ApiError) -> Self {
        Unresolved::Api(e)
    }
}

impl From<StoreError> for Unresolved {
    fn from(e: StoreError) -> Self {
        Unresolved::Api(e.into())
    }
}

/// A 422 problem of the billing run's kind (`missing-rate`, `currency-mismatch`, …).
fn billing_problem(slug: &str, field: &str, code: &str, detail: String) -> Unresolved {
    Unresolved::Billing(Problem {
        problem_type: problem_type(slug),
        title: "Cannot be billed".into(),
        status: StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
        detail: Some(detail.clone()),
        instance: None,
        request_id: None,
        errors: vec![FieldError::new(field, code, detail)],
        allowed: Vec::new(),
    })
}

fn owner_type_of(level: RateLevel) -> &'static str {
    match level {
        RateLevel::Override => "booking",
        RateLevel::Contract => "contract",
        RateLevel::Project => "project",
        RateLevel::Customer => "customer",
        RateLevel::UserDefault => "user",
        RateLevel::CatalogDefault => "service",
    }
}

async fn explain(state: &AppState, f: Facts) -> Result<ResolutionOut, Unresolved> {
    let store = &state.store;
    let customer = store.get_customer(f.customer_id).await.map_err(map_store("customer"))?;
    let currency = customer.data.currency;
    let contracts: Vec<_> = store
        .contracts_of_customer(f.customer_id)
        .await?
        .iter()
        .map(|c| c.to_domain())
        .filter(|c| c.validate().is_ok())
        .collect();
    let contract = match f.named_contract {
        Some(id) => {
            let c = contracts.iter().find(|c| c.id == id).ok_or_else(|| {
                billing_problem(
                    "unknown-contract",
                    "contract_id",
                    "unknown_contract",
                    format!("contract {id} is not a billable contract of this customer"),
                )
            })?;
            if !c.active_on(f.date) {
                return Err(billing_problem(
                    "outside-contract-period",
                    "contract_id",
                    "outside_contract_period",
                    format!("work date {} is outside contract {}", date_text(f.date), c.number),
                ));
            }
            Some(c)
        }
        None => choose_contract(contracts.iter().map(|c| (c, c)), f.date, Some(f.service_id), true),
    };
    let (rule, source) = match contract.and_then(|c| c.rounding) {
        Some(r) => (r, RoundingSource::Contract),
        None => store.effective_rounding(f.customer_id).await?,
    };
    let (catalog, users, calendar, company_currency, book) = (
        store.catalog().await?,
        store.user_directory().await?,
        store.work_calendar().await?,
        store.company_currency().await?,
        store.rate_book(f.customer_id).await?,
    );
    let ctx = RateContext { catalog: &catalog, users: &users, calendar: &calendar, company_currency };
    let q = RateQuery {
        customer_id: f.customer_id,
        contract_id: contract.map(|c| c.id),
        project_id: f.project_id,
        service_id: f.service_id,
        user_id: f.user_id,
        date: f.date,
        start_time: f.start_time,
        override_price: f.override_price,
        override_currency: currency,
    };
    let r = book.resolve(&ctx, &q).map_err(|e| match e {
        RateError::Missing { .. } => billing_problem("missing-rate", "service_id", "missing_rate", e.to_string()),
        RateError::UnknownService(_) => {
            billing_problem("unknown-service", "service_id", "unknown_service", e.to_string())
        }
        RateError::Overflow => billing_problem("amount-overflow", "service_id", "amount_overflow", e.to_string()),
    })?;
    if r.currency != currency {
        return Err(billing_problem(
            "currency-mismatch",
            "currency",
            "currency_mismatch",
            format!("the {} rate is in {} but the customer is invoiced in {}", r.level, r.currency, currency),
        ));
    }
    let candidates = book
        .candidates(&ctx, &q)
        .into_iter()
        .enumerate()
        .map(|(i, c)| CandidateOut {
            level: c.level,
            scope: c.scope,
            entry_id: c.entry_id,
            owner_type: owner_type_of(c.level).into(),
            owner_id: if c.level == RateLevel::Override { f.booking_id } else { c.owner_id },
            unit_price: DecimalString(c.unit_price),
            currency: c.currency.code().into(),
            won: i == 0,
        })
        .collect();
    Ok(ResolutionOut {
        booking_id: f.booking_id,
        work_date: date_text(f.date),
        service_id: f.service_id,
        user_id: f.user_id,
        customer_id: f.customer_id,
        project_id: f.project_id,
        contract_id: contract.map(|c| c.id),
        level: r.level,
        scope: r.scope,
        entry_id: r.entry_id,
        owner_type: owner_type_of(r.level).into(),
        owner_id: if r.level == RateLevel::Override { f.booking_id } else { r.owner_id },
        base_unit_price: DecimalString(r.base_price),
        surcharge: r.surcharge.map(|s| AppliedSurchargeOut {
            surcharge_id: s.surcharge_id,
            kind: s.kind,
            percent: DecimalString(s.percent),
        }),
        unit_price: DecimalString(r.unit_price),
        currency: r.currency.code().into(),
        rounding: RoundingOut {
            increment_minutes: rule.increment_minutes,
            minimum_minutes: rule.minimum_minutes,
            mode: rule.mode,
            source: source.as_str().into(),
            actual_minutes: f.minutes,
            billed_minutes: rule.apply(f.minutes),
        },
        candidates_considered: candidates,
    })
}

async fn booking_facts(state: &AppState, id: i64) -> Result<Facts, Unresolved> {
    let b = state.store.get_booking(id).await.map_err(map_store("booking"))?;
    let d = b.data;
    let customer_id = d.customer_id.ok_or_else(|| {
        billing_problem(
            "not-billable",
            "booking_id",
            "internal",
            "the booking is on an internal project and never billed".into(),
        )
    })?;
    let named_contract = match d.ticket_id {
        Some(t) => state.store.ticket_contract(t).await?,
        None => None,
    };
    Ok(Facts {
        booking_id: Some(b.id),
        customer_id,
        project_id: d.project_id,
        named_contract,
        service_id: d.service_id,
        user_id: Some(d.user_id),
        date: d.work_date,
        start_time: d.start_time,
        minutes: u32::try_from(d.duration_minutes).unwrap_or(0),
        override_price: d.rate_override.map(|r| r.0),
    })
}

fn query_facts(q: ResolveQuery) -> Result<Facts, ApiError> {
    let mut errors = Vec::new();
    for (field, missing) in
        [("customer_id", q.customer_id.is_none()), ("service_id", q.service_id.is_none()), ("date", q.date.is_none())]
    {
        if missing {
            errors.push(FieldError::new(field, "required", "give booking_id, or customer_id, service_id and date"));
        }
    }
    let fmt = time::macros::format_description!("[hour]:[minute]");
    let start_time = match q.start_time.as_deref() {
        Some(s) => match Time::parse(s, &fmt) {
            Ok(t) => Some(t),
            Err(_) => {
                errors.push(FieldError::new("start_time", "invalid_time", "must be a time of day like 09:30"));
                None
            }
        },
        None => None,
    };
    errors_or(errors)?;
    let (Some(customer_id), Some(service_id), Some(date)) = (q.customer_id, q.service_id, q.date) else {
        return Err(ApiError::invalid(
            "customer_id",
            "required",
            "give booking_id, or customer_id, service_id and date",
        ));
    };
    Ok(Facts {
        booking_id: None,
        customer_id,
        project_id: q.project_id,
        named_contract: q.contract_id,
        service_id,
        user_id: q.user_id,
        date,
        start_time,
        minutes: q.minutes.unwrap_or(60),
        override_price: None,
    })
}

/// Explain the rate of a booking (or of hypothetical work): which level and entry won and
/// why, the surcharge, the rounding rule and its source, and every price considered.
/// No rate at any level is a 422 problem of type `urn:kontor:problem:missing-rate`.
#[utoipa::path(operation_id = "resolve_rate", get, path = "/api/v1/rates/resolve", tag = "rates", params(ResolveQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ResolutionOut),
        (status = 404, description = "No such booking or customer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing rate, currency mismatch, contract outside its term, or invalid query", body = Problem, content_type = "application/problem+json")))]
pub async fn resolve(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<ResolveQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let facts = match q.0.booking_id {
        Some(id) => booking_facts(&state, id).await,
        None => query_facts(q.0).map_err(Unresolved::Api),
    };
    let out = match facts {
        Ok(f) => explain(&state, f).await,
        Err(e) => Err(e),
    };
    match out {
        Ok(out) => Ok(HttpResponse::Ok().json(out)),
        Err(e) => unresolved(e),
    }
}

fn unresolved(e: Unresolved) -> Result<HttpResponse, ApiError> {
    match e {
        Unresolved::Api(e) => Err(e),
        Unresolved::Billing(p) => {
            Ok(HttpResponse::UnprocessableEntity().insert_header((header::CONTENT_TYPE, PROBLEM_JSON)).json(p))
        }
    }
}

//! Public holidays (`/holidays`, `/holidays/{date}`): the calendar that decides which work
//! gets holiday surcharges.

use super::map_store;
use crate::auth::Principal;
use crate::dto::date_text;
use crate::dto::{timestamp, validate};
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use persistence::rates::Holiday;
use persistence::PageRequest;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// A public holiday (work starting on it gets holiday surcharges).
#[derive(Debug, Serialize, ToSchema)]
pub struct HolidayOut {
    #[schema(value_type = String, format = Date, example = "2026-12-25")]
    pub date: String,
    #[schema(example = "Christmas Day")]
    pub name: String,
    pub created_at: String,
}

impl From<Holiday> for HolidayOut {
    fn from(h: Holiday) -> Self {
        HolidayOut { date: date_text(h.holiday_date), name: h.name, created_at: timestamp(&h.created_at) }
    }
}

list_response!(HolidayList, HolidayOut, "A page of holidays in date order.");

/// A holiday's name.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayIn {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    #[schema(example = "Christmas Day")]
    pub name: String,
}

/// Query of the holiday list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HolidayQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// Only holidays of this year.
    pub year: Option<i32>,
}

fn path_date(req: &HttpRequest) -> Result<Date, ApiError> {
    let raw = req.match_info().get("date").unwrap_or_default();
    crate::dto::parse_business_date(raw)
        .ok_or_else(|| ApiError::invalid("date", "invalid_date", format!("`{raw}` {}", crate::dto::BUSINESS_DATE_RULE)))
}

/// List holidays in date order.
#[utoipa::path(operation_id = "list_holidays", get, path = "/api/v1/holidays", tag = "rates", params(HolidayQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = HolidayList)))]
pub async fn list_holidays(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<HolidayQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadBilling)?;
    let q = q.0;
    if q.year.is_some_and(|y| !(1900..=9999).contains(&y)) {
        return Err(ApiError::invalid("year", "range", "must be from 1900 to 9999"));
    }
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<Date>(q.cursor.as_deref())? };
    let page = state.store.list_holidays(q.year, &page).await?;
    Ok(HttpResponse::Ok().json(HolidayList {
        items: page.items.into_iter().map(HolidayOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Set the holiday on a date (admin, billing): 201 when new, 200 when renamed.
#[utoipa::path(operation_id = "put_holiday", put, path = "/api/v1/holidays/{date}", tag = "rates",
    params(("date" = String, Path, format = Date)), request_body = HolidayIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = HolidayOut),
        (status = 201, body = HolidayOut)))]
pub async fn put_holiday(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<HolidayIn>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let date = path_date(&req)?;
    let body = body.into_inner()?;
    validate(&body, vec![])?;
    let (h, created) = state.store.put_holiday(date, body.name.trim(), &p.actor(&req)).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(HttpResponse::build(status).json(HolidayOut::from(h)))
}

/// Remove the holiday on a date (admin, billing).
#[utoipa::path(operation_id = "delete_holiday", delete, path = "/api/v1/holidays/{date}", tag = "rates",
    params(("date" = String, Path, format = Date)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 422, description = "`date` is not a `YYYY-MM-DD` date", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_holiday(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageBilling)?;
    let date = path_date(&req)?;
    state.store.delete_holiday(date, &p.actor(&req)).await.map_err(map_store("holiday"))?;
    Ok(HttpResponse::NoContent().finish())
}

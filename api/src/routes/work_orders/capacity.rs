//! Capacity planning: employees' absences and `GET /capacity` — per person (and team) and
//! ISO week the hours one can work against the hours planned (estimates of open work orders
//! and tickets due that week) and booked. Read and maintained by admins, the billing office
//! and managers (who plan the work).

use crate::auth::Principal;
use crate::dto::{business_date, business_date_opt, date_text, timestamp, DecimalString};
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::{created_at, path_id, Json, Query};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::capacity::{hours, weeks, Away, Inputs, Person, WeekLoad, Work};
use domain::Permission;
use persistence::work_orders::capacity::{Absence, CapacityInputs, NewAbsence};
use persistence::StoreError;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};

/// Most weeks one capacity view covers.
const MAX_WEEKS: usize = 26;

/// The kind of an absence.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AbsenceKind {
    Vacation,
    Sick,
    Other,
}

impl AbsenceKind {
    fn as_str(self) -> &'static str {
        match self {
            AbsenceKind::Vacation => "vacation",
            AbsenceKind::Sick => "sick",
            AbsenceKind::Other => "other",
        }
    }
}

/// An absence: whole days from `start_date` to `end_date`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AbsenceOut {
    pub id: i64,
    pub user_id: i64,
    #[schema(value_type = String, format = Date)]
    pub start_date: String,
    #[schema(value_type = String, format = Date)]
    pub end_date: String,
    /// `vacation`, `sick` or `other`.
    pub kind: String,
    pub note: Option<String>,
    pub created_at: String,
}

impl From<Absence> for AbsenceOut {
    fn from(a: Absence) -> Self {
        AbsenceOut {
            id: a.id,
            user_id: a.user_id,
            start_date: date_text(a.start_date),
            end_date: date_text(a.end_date),
            kind: a.kind,
            note: a.note,
            created_at: timestamp(&a.created_at),
        }
    }
}

/// The absences overlapping a range (one page).
#[derive(Debug, Serialize, ToSchema)]
pub struct AbsenceList {
    pub items: Vec<AbsenceOut>,
    pub next_cursor: Option<String>,
}

/// A new absence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceCreate {
    pub user_id: i64,
    #[schema(value_type = String, format = Date, example = "2026-12-21")]
    #[serde(deserialize_with = "business_date")]
    pub start_date: Date,
    /// The last day (inclusive), at most a year after the first.
    #[schema(value_type = String, format = Date, example = "2026-12-24")]
    #[serde(deserialize_with = "business_date")]
    pub end_date: Date,
    pub kind: AbsenceKind,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// A date range (both days inclusive) and whose absences or capacity.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// First day (default: today).
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "business_date_opt")]
    pub from: Option<Date>,
    /// Last day (default: four weeks after `from`).
    #[param(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "business_date_opt")]
    pub to: Option<Date>,
    /// One person.
    pub user_id: Option<i64>,
    /// The active members of one team (capacity only).
    pub team_id: Option<i64>,
}

/// One person's (or the team's) week.
#[derive(Debug, Serialize, ToSchema)]
pub struct CapacityWeek {
    /// ISO week, `2026-W49`.
    #[schema(example = "2026-W49")]
    pub week: String,
    #[schema(value_type = String, format = Date)]
    pub monday: String,
    /// Working days counted (Monday–Friday in the range, less holidays and absences).
    pub working_days: u32,
    /// Hours one can work: weekly capacity ÷ 5 × working days.
    #[schema(value_type = String, example = "32.00")]
    pub capacity_hours: DecimalString,
    /// Estimates of open work orders and tickets due this week.
    #[schema(value_type = String, example = "6.00")]
    pub planned_hours: DecimalString,
    /// Time booked this week.
    #[schema(value_type = String, example = "4.50")]
    pub booked_hours: DecimalString,
    /// Capacity minus planned; negative when over-booked.
    #[schema(value_type = String, example = "26.00")]
    pub free_hours: DecimalString,
    pub over_booked: bool,
}

/// One person's weeks.
#[derive(Debug, Serialize, ToSchema)]
pub struct CapacityPerson {
    pub user_id: i64,
    pub name: String,
    #[schema(value_type = String, example = "40")]
    pub weekly_capacity_hours: DecimalString,
    pub weeks: Vec<CapacityWeek>,
}

/// The team's sum per week, with estimates of work assigned to the team but to nobody in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CapacityTeam {
    pub team_id: i64,
    pub weeks: Vec<CapacityWeek>,
    /// Per week (same order): planned hours assigned to the team only (in `planned_hours`).
    #[schema(value_type = Vec<String>)]
    pub unassigned_planned_hours: Vec<DecimalString>,
}

/// The capacity view.
#[derive(Debug, Serialize, ToSchema)]
pub struct CapacityOut {
    #[schema(value_type = String, format = Date)]
    pub from: String,
    #[schema(value_type = String, format = Date)]
    pub to: String,
    /// By name.
    pub people: Vec<CapacityPerson>,
    /// With `team_id`: the team's sums.
    pub team: Option<CapacityTeam>,
}

/// The range asked, checked: `from` ≤ `to`, at most [`MAX_WEEKS`] weeks.
fn range(q: &RangeQuery) -> Result<(Date, Date), ApiError> {
    let from = q.from.unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
    let to = match q.to {
        Some(to) => to,
        None => from + time::Duration::days(27),
    };
    if to < from {
        return Err(ApiError::invalid("to", "range", "must not be before `from`"));
    }
    if weeks(from, to).len() > MAX_WEEKS {
        return Err(ApiError::invalid("to", "range", format!("at most {MAX_WEEKS} weeks at once")));
    }
    Ok((from, to))
}

/// The store's rows as the domain plans with them.
fn domain_inputs(inputs: &CapacityInputs) -> Inputs {
    Inputs {
        holidays: inputs.holidays.iter().copied().collect(),
        away: inputs.absences.iter().map(|a| Away { user_id: a.user_id, from: a.start_date, to: a.end_date }).collect(),
        planned: inputs
            .planned
            .iter()
            .map(|p| Work { user_id: p.user_id, date: p.due_date, minutes: p.minutes })
            .collect(),
        booked: inputs
            .booked
            .iter()
            .map(|b| Work { user_id: Some(b.user_id), date: b.work_date, minutes: b.minutes })
            .collect(),
    }
}

fn week_out(w: WeekLoad) -> CapacityWeek {
    CapacityWeek {
        week: w.week.label(),
        monday: date_text(w.week.monday),
        working_days: w.working_days,
        capacity_hours: DecimalString(w.capacity),
        planned_hours: DecimalString(hours(w.planned_minutes)),
        booked_hours: DecimalString(hours(w.booked_minutes)),
        free_hours: DecimalString(w.free()),
        over_booked: w.over_booked(),
    }
}

/// Capacity per person and ISO week (admin, billing, manager): what each one can work
/// (weekly capacity over Monday–Friday, less public holidays and absences), what is planned
/// (estimates of open work orders and tickets due that week, by assignee) and booked, and
/// what is left (`free_hours`, negative when over-booked). `team_id` limits it to the
/// team's active members and adds the team's sums, including work assigned to the team but
/// to nobody in it. At most 26 weeks.
#[utoipa::path(operation_id = "get_capacity", get, path = "/api/v1/capacity", tag = "work-orders",
    params(RangeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CapacityOut),
        (status = 404, description = "No such team or user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid range", body = Problem, content_type = "application/problem+json")))]
pub async fn capacity(
    p: Principal,
    state: web::Data<AppState>,
    q: Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::PlanWorkOrders)?;
    let q = q.0;
    let (from, to) = range(&q)?;
    if let Some(team) = q.team_id {
        state.store.get_team(team).await.map_err(|_| ApiError::NotFound("team".into()))?;
    }
    if let Some(user) = q.user_id {
        state.store.get_user(user).await.map_err(|_| ApiError::NotFound("user".into()))?;
    }
    let stored = state.store.capacity_inputs(q.team_id, q.user_id, from, to).await?;
    let inputs = domain_inputs(&stored);
    let persons: Vec<Person> =
        stored.people.iter().map(|p| Person { id: p.id, weekly_hours: p.weekly_capacity_hours.0 }).collect();
    let people: Vec<CapacityPerson> = stored
        .people
        .iter()
        .zip(&persons)
        .map(|(stored, person)| CapacityPerson {
            user_id: stored.id,
            name: stored.name.clone(),
            weekly_capacity_hours: DecimalString(person.weekly_hours),
            weeks: inputs.weeks_of(Some(*person), from, to).into_iter().map(week_out).collect(),
        })
        .collect();
    let team = q.team_id.map(|team_id| CapacityTeam {
        team_id,
        weeks: inputs.team_weeks(&persons, from, to).into_iter().map(week_out).collect(),
        unassigned_planned_hours: inputs
            .weeks_of(None, from, to)
            .into_iter()
            .map(|w| DecimalString(hours(w.planned_minutes)))
            .collect(),
    });
    Ok(HttpResponse::Ok().json(CapacityOut { from: date_text(from), to: date_text(to), people, team }))
}

/// Absences overlapping a range (default: the next four weeks), of one user if asked
/// (admin, billing, manager).
#[utoipa::path(operation_id = "list_absences", get, path = "/api/v1/absences", tag = "work-orders",
    params(RangeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AbsenceList),
        (status = 422, description = "Invalid range", body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<RangeQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::PlanWorkOrders)?;
    let (from, to) = range(&q.0)?;
    let items = state.store.list_absences(q.0.user_id, from, to).await?;
    Ok(HttpResponse::Ok()
        .json(AbsenceList { items: items.into_iter().map(AbsenceOut::from).collect(), next_cursor: None }))
}

/// Record an absence (admin, billing, manager): vacation, sick leave or other, whole days.
#[utoipa::path(operation_id = "create_absence", post, path = "/api/v1/absences", tag = "work-orders",
    request_body = AbsenceCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body replay the first response; the same key with another body is 422")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = AbsenceOut, headers(("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or an unknown user", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<AbsenceCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::PlanWorkOrders)?;
    let b = body.into_inner()?;
    let mut errors = Vec::new();
    if b.end_date < b.start_date {
        errors.push(FieldError::new("end_date", "range", "must not be before `start_date`"));
    } else if (b.end_date - b.start_date).whole_days() > 366 {
        errors.push(FieldError::new("end_date", "range", "at most a year after `start_date`"));
    }
    if b.note.as_deref().is_some_and(|n| n.chars().count() > 500) {
        errors.push(FieldError::new("note", "length", "at most 500 characters"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let new = NewAbsence {
        user_id: b.user_id,
        start_date: b.start_date,
        end_date: b.end_date,
        kind: b.kind.as_str().into(),
        note: crate::dto::clean(b.note.as_deref()),
    };
    let a = state.store.create_absence(&new, &p.actor(&req)).await.map_err(|e| match e {
        StoreError::MissingReference(_) => ApiError::invalid("user_id", "unknown_reference", "no user has this id"),
        other => other.into(),
    })?;
    let location = format!("/api/v1/absences/{}", a.id);
    Ok(created_at(HttpResponse::build(StatusCode::CREATED).json(AbsenceOut::from(a)), &location))
}

/// Delete an absence (admin, billing, manager).
#[utoipa::path(operation_id = "delete_absence", delete, path = "/api/v1/absences/{id}", tag = "work-orders",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such absence", body = Problem, content_type = "application/problem+json")))]
pub async fn delete(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::PlanWorkOrders)?;
    let id = path_id(&req, "id")?;
    state.store.delete_absence(id, &p.actor(&req)).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::NotFound("absence".into()),
        other => other.into(),
    })?;
    Ok(HttpResponse::NoContent().finish())
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/capacity").route(web::get().to(capacity)))
        .service(web::resource("/absences").route(web::get().to(list)).route(web::post().to(create)))
        .service(web::resource("/absences/{id}").route(web::delete().to(delete)));
}

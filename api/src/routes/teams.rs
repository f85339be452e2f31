//! Teams of employees and their members.
//!
//! Everyone signed in (and every API key) reads teams — tickets and work orders are
//! assigned to them; admins and managers maintain them. Teams are archived, never deleted.
//! User capacity and cost rates live on the users themselves.

use crate::auth::Principal;
use crate::dto::{clean, double_option, timestamp, validate};
use crate::error::{ApiError, Problem};
use crate::extract::{created_at, path_id, versioned, IfMatch, Json, Query};
use crate::pagination::{decode_cursor, encode_cursor, limit, list_response};
use crate::routes::catalog::{ArchiveFilter, StoreProblem};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use persistence::teams::{MembershipChange, Team, TeamData, TeamFilter, TeamMember};
use persistence::{PageRequest, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use validator::Validate;

/// OpenAPI paths of this module (merged into the API document).
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, archive, restore, list_members, add_member, remove_member),
    tags((name = "teams", description = "Teams of employees and their members (read: everyone; write: admin, manager)"))
)]
pub struct Doc;

/// A member of a team.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMemberOut {
    pub user_id: i64,
    #[schema(example = "Jana Novák")]
    pub name: String,
    #[schema(example = "jana.novak@example.com")]
    pub email: String,
    /// Whether the user account is active.
    pub active: bool,
    /// When the user joined the team.
    pub added_at: String,
}

impl From<TeamMember> for TeamMemberOut {
    fn from(m: TeamMember) -> Self {
        TeamMemberOut {
            user_id: m.user_id,
            name: m.name,
            email: m.email,
            active: m.active,
            added_at: timestamp(&m.added_at),
        }
    }
}

/// A team with its members.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    pub id: i64,
    #[schema(example = "Field service North")]
    pub name: String,
    pub description: Option<String>,
    /// Members, by name.
    pub members: Vec<TeamMemberOut>,
    /// Archived teams are hidden from default lists and read-only until restored.
    pub archived: bool,
    pub archived_at: Option<String>,
    /// Increases with every change, member changes included; the `ETag` carries it.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Team> for TeamOut {
    fn from(t: Team) -> Self {
        TeamOut {
            id: t.id,
            name: t.data.name,
            description: t.data.description,
            members: t.members.into_iter().map(TeamMemberOut::from).collect(),
            archived: t.archived_at.is_some(),
            archived_at: t.archived_at.as_ref().map(timestamp),
            version: t.version,
            created_at: timestamp(&t.created_at),
            updated_at: timestamp(&t.updated_at),
        }
    }
}

list_response!(TeamList, TeamOut, "A page of teams.");
list_response!(TeamMemberList, TeamMemberOut, "The members of a team (one page: `next_cursor` is always null).");

/// A new team. Add members with `PUT /teams/{id}/members/{user_id}`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamCreate {
    /// Unique name.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    #[schema(example = "Field service North")]
    pub name: String,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

/// Changes to a team; absent fields stay, `null` clears the description.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

/// Query of the team list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TeamQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (same filters).
    pub cursor: Option<String>,
    /// Case-insensitive search in the name.
    pub q: Option<String>,
    /// Only teams this user is a member of (a user's teams).
    pub member: Option<i64>,
    /// `active` (default), `archived` or `all`.
    #[param(inline)]
    pub status: Option<ArchiveFilter>,
}

fn team_response(status: StatusCode, t: Team) -> HttpResponse {
    versioned(status, "team", t.id, t.version, TeamOut::from(t))
}

fn store_problem(e: StoreError) -> ApiError {
    StoreProblem::map(e, "team", "name")
}

/// Errors of the team update closure.
struct TeamProblem(ApiError);

impl From<StoreError> for TeamProblem {
    fn from(e: StoreError) -> Self {
        TeamProblem(store_problem(e))
    }
}

/// List teams with their members, sorted by name.
///
/// Keyset-paginated: pass `next_cursor` back as `cursor` with the same filters.
/// `member={user_id}` lists the teams of one user.
#[utoipa::path(operation_id = "list_teams", get, path = "/api/v1/teams", tag = "teams", params(TeamQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = TeamList),
        (status = 422, description = "Invalid query parameter", body = Problem, content_type = "application/problem+json")))]
pub async fn list(p: Principal, state: web::Data<AppState>, q: Query<TeamQuery>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCatalog)?;
    let q = q.0;
    let filter = TeamFilter {
        search: clean(q.q.as_deref()),
        member: q.member,
        archived_only: q.status.unwrap_or_default().archived_only(),
    };
    let page = PageRequest { limit: limit(q.limit)?, after: decode_cursor::<(String, i64)>(q.cursor.as_deref())? };
    let page = state.store.list_teams(&filter, &page).await?;
    Ok(HttpResponse::Ok().json(TeamList {
        items: page.items.into_iter().map(TeamOut::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
    }))
}

/// Create a team (admin, manager).
#[utoipa::path(operation_id = "create_team", post, path = "/api/v1/teams", tag = "teams", request_body = TeamCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body replay the first response; the same key with another body is 422")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = TeamOut, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (see `errors`)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<TeamCreate>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageTeams)?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let data = TeamData { name: b.name.trim().to_string(), description: clean(b.description.as_deref()) };
    let team = state.store.create_team(&data, &p.actor(&req)).await.map_err(store_problem)?;
    let location = format!("/api/v1/teams/{}", team.id);
    Ok(created_at(team_response(StatusCode::CREATED, team), &location))
}

/// Read a team with its members.
#[utoipa::path(operation_id = "get_team", get, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = TeamOut, headers(("ETag" = String)))))]
pub async fn get(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCatalog)?;
    let id = path_id(&req, "id")?;
    let team = state.store.get_team(id).await.map_err(store_problem)?;
    Ok(team_response(StatusCode::OK, team))
}

/// Rename a team or change its description (admin, manager). Send `If-Match` with the
/// ETag you read; a stale one is 412.
#[utoipa::path(operation_id = "update_team", patch, path = "/api/v1/teams/{id}", tag = "teams",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you changed")),
    request_body = TeamPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = TeamOut, headers(("ETag" = String))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or name taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<TeamPatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageTeams)?;
    let id = path_id(&req, "id")?;
    let b = body.into_inner()?;
    validate(&b, vec![])?;
    let version = IfMatch::from_request(&req, "team", id).version()?;
    let team = state
        .store
        .update_team(id, version, &p.actor(&req), |cur: &Team| -> Result<TeamData, TeamProblem> {
            Ok(TeamData {
                name: b.name.as_deref().map(|n| n.trim().to_string()).unwrap_or_else(|| cur.data.name.clone()),
                description: match &b.description {
                    Some(v) => clean(v.as_deref()),
                    None => cur.data.description.clone(),
                },
            })
        })
        .await
        .map_err(|e| e.0)?;
    Ok(team_response(StatusCode::OK, team))
}

/// Archive a team ("delete", admin, manager). It stays readable with its members —
/// tickets refer to it — but is hidden from default lists and read-only until restored.
/// Idempotent.
#[utoipa::path(operation_id = "archive_team", delete, path = "/api/v1/teams/{id}", tag = "teams",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Archived", body = TeamOut, headers(("ETag" = String)))))]
pub async fn archive(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, true).await
}

/// Restore an archived team (admin, manager). Idempotent.
#[utoipa::path(operation_id = "restore_team", post, path = "/api/v1/teams/{id}/restore", tag = "teams",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Active again", body = TeamOut, headers(("ETag" = String)))))]
pub async fn restore(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    set_archived(req, p, state, false).await
}

async fn set_archived(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    archive: bool,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageTeams)?;
    let id = path_id(&req, "id")?;
    let version = IfMatch::from_request(&req, "team", id).version()?;
    let team = state.store.set_team_archived(id, version, archive, &p.actor(&req)).await.map_err(store_problem)?;
    Ok(team_response(StatusCode::OK, team))
}

/// List the members of a team, by name.
#[utoipa::path(operation_id = "list_team_members", get, path = "/api/v1/teams/{id}/members", tag = "teams",
    params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, body = TeamMemberList)))]
pub async fn list_members(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ReadCatalog)?;
    let id = path_id(&req, "id")?;
    let team = state.store.get_team(id).await.map_err(store_problem)?;
    Ok(HttpResponse::Ok()
        .json(TeamMemberList { items: team.members.into_iter().map(TeamMemberOut::from).collect(), next_cursor: None }))
}

/// Add a user to a team (admin, manager). Idempotent: 201 when the user joined, 200 when
/// they already were a member. Answers with the team and its members.
#[utoipa::path(operation_id = "add_team_member", put, path = "/api/v1/teams/{id}/members/{user_id}", tag = "teams",
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = TeamOut, headers(("ETag" = String))),
        (status = 200, description = "Already a member; nothing changed", body = TeamOut, headers(("ETag" = String))),
        (status = 404, description = "No such team", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The team is archived", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such user, or the user is deactivated (field `user_id`)", body = Problem, content_type = "application/problem+json")))]
pub async fn add_member(req: HttpRequest, p: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageTeams)?;
    let id = path_id(&req, "id")?;
    state.store.get_team(id).await.map_err(store_problem)?;
    let user_id = member_id(&req)?;
    match state.store.get_user(user_id).await {
        Ok(user) if !user.active => {
            return Err(ApiError::invalid(
                "user_id",
                "inactive",
                "the user is deactivated; reactivate the account first",
            ))
        }
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(unknown_user()),
        Err(e) => return Err(e.into()),
    }
    let (team, change) = state.store.add_team_member(id, user_id, &p.actor(&req)).await.map_err(|e| match e {
        StoreError::MissingReference(_) => unknown_user(),
        other => store_problem(other),
    })?;
    let status = if change == MembershipChange::Added { StatusCode::CREATED } else { StatusCode::OK };
    Ok(team_response(status, team))
}

/// Remove a user from a team (admin, manager).
#[utoipa::path(operation_id = "remove_team_member", delete, path = "/api/v1/teams/{id}/members/{user_id}", tag = "teams",
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Removed; the team and its remaining members", body = TeamOut, headers(("ETag" = String))),
        (status = 404, description = "No such team, or the user is not a member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The team is archived", body = Problem, content_type = "application/problem+json")))]
pub async fn remove_member(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::ManageTeams)?;
    let id = path_id(&req, "id")?;
    state.store.get_team(id).await.map_err(store_problem)?;
    let user_id = path_id(&req, "user_id").map_err(|_| not_a_member())?;
    let team = state.store.remove_team_member(id, user_id, &p.actor(&req)).await.map_err(|e| match e {
        StoreError::NotFound => not_a_member(),
        other => store_problem(other),
    })?;
    Ok(team_response(StatusCode::OK, team))
}

fn member_id(req: &HttpRequest) -> Result<i64, ApiError> {
    path_id(req, "user_id").map_err(|_| unknown_user())
}

fn unknown_user() -> ApiError {
    ApiError::invalid("user_id", "unknown_reference", "no user has this id")
}

fn not_a_member() -> ApiError {
    ApiError::NotFound("team member".into())
}

/// Routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/teams").route(web::get().to(list)).route(web::post().to(create)))
        .service(
            web::resource("/teams/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(archive)),
        )
        .service(web::resource("/teams/{id}/restore").route(web::post().to(restore)))
        .service(web::resource("/teams/{id}/members").route(web::get().to(list_members)))
        .service(
            web::resource("/teams/{id}/members/{user_id}")
                .route(web::put().to(add_member))
                .route(web::delete().to(remove_member)),
        );
}

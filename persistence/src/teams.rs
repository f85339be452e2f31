//! Storage of teams of employees and their members.
//!
//! Teams are archived rather than deleted because tickets and work orders are assigned
//! to them. Membership changes bump the team's version (its `ETag` covers the member list)
//! and are audited on the team.

use crate::audit::Actor;
use crate::catalog::archived_mode;
use crate::page::{Page, PageRequest};
use crate::search::like_pattern;
use crate::types::DbTime;
use crate::{Result, Store, StoreError};

/// The writable fields of a team.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct TeamData {
    /// Unique name, e.g. "Field service North".
    pub name: String,
    pub description: Option<String>,
}

/// A member of a team.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct TeamMember {
    pub user_id: i64,
    /// The user's name.
    pub name: String,
    /// The user's e-mail.
    pub email: String,
    /// Whether the user account is active.
    pub active: bool,
    /// When the user joined the team.
    pub added_at: DbTime,
}

/// A stored team with its members (ordered by name, then user id).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct Team {
    pub id: i64,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub data: TeamData,
    pub archived_at: Option<DbTime>,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    #[sqlx(skip)]
    pub members: Vec<TeamMember>,
}

/// Which teams to list (sorted by name, then id).
#[derive(Debug, Clone, Default)]
pub struct TeamFilter {
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
    /// Only teams this user is a member of.
    pub member: Option<i64>,
    /// `None`: only active; `Some(true)`: only archived; `Some(false)`: all.
    pub archived_only: Option<bool>,
}

/// Whether a membership change added or removed someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipChange {
    /// The user was not a member before.
    Added,
    /// The user already was a member; nothing changed.
    Unchanged,
}

const MEMBER_SELECT: &str = "SELECT m.team_id, m.user_id, u.name, u.email, u.active, m.created_at AS added_at \
     FROM team_members m JOIN users u ON u.id = m.user_id";

#[derive(sqlx::FromRow)]
struct MemberRow {
    team_id: i64,
    #[sqlx(flatten)]
    member: TeamMember,
}

macro_rules! load_members {
    ($conn:expr, $teams:expr) => {{
        let teams: &mut Vec<Team> = $teams;
        if !teams.is_empty() {
            let placeholders: Vec<String> = (1..=teams.len()).map(|i| format!("${i}")).collect();
            let sql = format!("{MEMBER_SELECT} WHERE m.team_id IN ({}) ORDER BY u.name, u.id", placeholders.join(", "));
            let mut q = sqlx::query_as::<_, MemberRow>(&sql);
            for t in teams.iter() {
                q = q.bind(t.id);
            }
            let rows = q.fetch_all($conn).await.map_err(StoreError::from)?;
            for row in rows {
                if let Some(t) = teams.iter_mut().find(|t| t.id == row.team_id) {
                    t.members.push(row.member);
                }
            }
        }
    }};
}

impl Store {
    /// Creates a team (without members); a taken name is [`StoreError::Duplicate`].
    pub async fn create_team(&self, data: &TeamData, actor: &Actor) -> Result<Team> {
        let team = in_tx!(self, tx => {
            let team: Team = sqlx::query_as(
                "INSERT INTO teams (name, description, version, created_at, updated_at) \
                 VALUES ($1, $2, 1, $3, $3) RETURNING *")
                .bind(&data.name).bind(&data.description).bind(DbTime::now())
                .fetch_one(&mut *tx).await?;
            audit!(tx, actor, "team", team.id, "create", None::<&Team>, Some(&team));
            team
        });
        Ok(team)
    }

    /// The team with this id and its members (archived teams included).
    pub async fn get_team(&self, id: i64) -> Result<Team> {
        with_pool!(self, pool => {
            let team: Team = sqlx::query_as("SELECT * FROM teams WHERE id = $1").bind(id).fetch_one(pool).await?;
            let mut teams = vec![team];
            load_members!(pool, &mut teams);
            Ok(teams.remove(0))
        })
    }

    /// Lists teams with their members in name order after the key `(name, id)`.
    pub async fn list_teams(
        &self,
        filter: &TeamFilter,
        page: &PageRequest<(String, i64)>,
    ) -> Result<Page<Team, (String, i64)>> {
        let (after_name, after_id) = match &page.after {
            Some((k, id)) => (Some(k.as_str()), *id),
            None => (None, 0),
        };
        with_pool!(self, pool => {
            let rows: Vec<Team> = sqlx::query_as(
                "SELECT * FROM teams WHERE ($1 IS NULL OR LOWER(name) LIKE $1 ESCAPE '\\') \
                 AND ($2 IS NULL OR id IN (SELECT team_id FROM team_members WHERE user_id = $2)) \
                 AND (($3 = 0 AND archived_at IS NULL) OR ($3 = 1 AND archived_at IS NOT NULL) OR $3 = 2) \
                 AND ($4 IS NULL OR name > $4 OR (name = $4 AND id > $5)) \
                 ORDER BY name, id LIMIT $6")
                .bind(filter.search.as_deref().map(like_pattern))
                .bind(filter.member)
                .bind(archived_mode(filter.archived_only))
                .bind(after_name)
                .bind(after_id)
                .bind(i64::from(page.limit) + 1)
                .fetch_all(pool)
                .await?;
            let mut page = Page::from_overfetch(rows, page.limit, |t: &Team| (t.data.name.clone(), t.id));
            load_members!(pool, &mut page.items);
            Ok(page)
        })
    }

    /// Applies `change` to the team's data and stores it (see [`Store::update_service`]
    /// for the version and archive rules).
    pub async fn update_team<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(&Team) -> std::result::Result<TeamData, E>,
    ) -> std::result::Result<Team, E> {
        let team = in_tx!(self, tx => {
            let mut before = vec![sqlx::query_as::<_, Team>("SELECT * FROM teams WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?];
            load_members!(&mut *tx, &mut before);
            let before = before.remove(0);
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            if before.archived_at.is_some() {
                return Err(StoreError::Conflict("the team is archived; restore it before changing it".into()).into());
            }
            let data = change(&before)?;
            let mut after: Team = sqlx::query_as(
                "UPDATE teams SET name = $1, description = $2, version = version + 1, updated_at = $3 \
                 WHERE id = $4 AND version = $5 RETURNING *")
                .bind(&data.name).bind(&data.description).bind(DbTime::now()).bind(id).bind(before.version)
                .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
                .ok_or(StoreError::StaleVersion)?;
            after.members = before.members.clone();
            audit!(tx, actor, "team", id, "update", Some(&before), Some(&after));
            after
        });
        Ok(team)
    }

    /// Archives (`archive = true`) or restores a team. Idempotent. Members are kept.
    pub async fn set_team_archived(
        &self,
        id: i64,
        if_version: Option<i64>,
        archive: bool,
        actor: &Actor,
    ) -> Result<Team> {
        let team = in_tx!(self, tx => {
            let mut before = vec![sqlx::query_as::<_, Team>("SELECT * FROM teams WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await?];
            load_members!(&mut *tx, &mut before);
            let before = before.remove(0);
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion);
            }
            if before.archived_at.is_some() == archive {
                before
            } else {
                let now = DbTime::now();
                let mut after: Team = sqlx::query_as(
                    "UPDATE teams SET archived_at = $1, version = version + 1, updated_at = $2 WHERE id = $3 RETURNING *")
                    .bind(if archive { Some(now) } else { None }).bind(now).bind(id)
                    .fetch_one(&mut *tx).await?;
                after.members = before.members.clone();
                let action = if archive { "archive" } else { "restore" };
                audit!(tx, actor, "team", id, action, Some(&before), Some(&after));
                after
            }
        });
        Ok(team)
    }

    /// Adds a user to a team (idempotent). A missing user is
    /// [`StoreError::MissingReference`]`("user_id")`; an archived team a conflict.
    pub async fn add_team_member(&self, team_id: i64, user_id: i64, actor: &Actor) -> Result<(Team, MembershipChange)> {
        self.change_membership(team_id, user_id, true, actor).await
    }

    /// Removes a user from a team. [`StoreError::NotFound`] when the team does not exist
    /// or the user is not a member.
    pub async fn remove_team_member(&self, team_id: i64, user_id: i64, actor: &Actor) -> Result<Team> {
        Ok(self.change_membership(team_id, user_id, false, actor).await?.0)
    }

    async fn change_membership(
        &self,
        team_id: i64,
        user_id: i64,
        add: bool,
        actor: &Actor,
    ) -> Result<(Team, MembershipChange)> {
        let out = in_tx!(self, tx => {
            let mut before = vec![sqlx::query_as::<_, Team>("SELECT * FROM teams WHERE id = $1")
                .bind(team_id).fetch_one(&mut *tx).await?];
            load_members!(&mut *tx, &mut before);
            let before = before.remove(0);
            if before.archived_at.is_some() {
                return Err(StoreError::Conflict("the team is archived; restore it before changing its members".into()));
            }
            let is_member = before.members.iter().any(|m| m.user_id == user_id);
            if add && is_member {
                (before, MembershipChange::Unchanged)
            } else {
                if add {
                    let user: Option<bool> = sqlx::query_scalar("SELECT active FROM users WHERE id = $1")
                        .bind(user_id).fetch_optional(&mut *tx).await?;
                    match user {
                        None => return Err(StoreError::MissingReference("user_id".into())),
                        Some(false) => return Err(StoreError::Conflict(
                            "the user is deactivated; reactivate the account before adding it to a team".into())),
                        Some(true) => {}
                    }
                    // A concurrent add of the same user may have won meanwhile: then nothing changes.
                    let added = sqlx::query(
                        "INSERT INTO team_members (team_id, user_id, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (team_id, user_id) DO NOTHING")
                        .bind(team_id).bind(user_id).bind(DbTime::now()).execute(&mut *tx).await?
                        .rows_affected();
                    if added == 0 {
                        // Nothing written: the transaction is rolled back on return.
                        let mut current = vec![sqlx::query_as::<_, Team>("SELECT * FROM teams WHERE id = $1")
                            .bind(team_id).fetch_one(&mut *tx).await?];
                        load_members!(&mut *tx, &mut current);
                        return Ok((current.remove(0), MembershipChange::Unchanged));
                    }
                } else {
                    if !is_member {
                        return Err(StoreError::NotFound);
                    }
                    sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                        .bind(team_id).bind(user_id).execute(&mut *tx).await?;
                }
                let mut after = vec![sqlx::query_as::<_, Team>(
                    "UPDATE teams SET version = version + 1, updated_at = $1 WHERE id = $2 RETURNING *")
                    .bind(DbTime::now()).bind(team_id).fetch_one(&mut *tx).await?];
                load_members!(&mut *tx, &mut after);
                let after = after.remove(0);
                let action = if add { "add_member" } else { "remove_member" };
                audit!(tx, actor, "team", team_id, action, Some(&before), Some(&after));
                (after, MembershipChange::Added)
            }
        });
        Ok(out)
    }
}

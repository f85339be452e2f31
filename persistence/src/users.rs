//! Employees: accounts, roles, capacity and cost rates.

use crate::audit::Actor;
use crate::page::{Page, PageRequest};
use crate::types::{DbTime, ExactDecimal};
use crate::{Result, Store, StoreError};
use domain::notification::Language;
use domain::Role;
use rust_decimal::Decimal;

/// An employee account (without its password hash).
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub weekly_capacity_hours: Decimal,
    pub internal_cost_rate: Option<Decimal>,
    pub default_sales_rate: Option<Decimal>,
    pub active: bool,
    /// The language the user gets mail in.
    pub language: Language,
    pub version: i64,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

/// The writable fields of a user.
#[derive(Debug, Clone)]
pub struct UserData {
    /// Lower-cased e-mail (login name).
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub weekly_capacity_hours: Decimal,
    pub internal_cost_rate: Option<Decimal>,
    pub default_sales_rate: Option<Decimal>,
    pub active: bool,
    /// The language the user gets mail in.
    pub language: Language,
}

/// A user to create, with an already computed password hash.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub data: UserData,
    pub password_hash: String,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    password_hash: String,
    roles: String,
    weekly_capacity_hours: ExactDecimal,
    internal_cost_rate: Option<ExactDecimal>,
    default_sales_rate: Option<ExactDecimal>,
    active: bool,
    language: String,
    version: i64,
    created_at: DbTime,
    updated_at: DbTime,
}

fn roles_to_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

impl UserRow {
    fn into_user(self) -> (User, String) {
        let roles = self.roles.split(',').filter_map(|r| r.parse().ok()).collect();
        (
            User {
                id: self.id,
                email: self.email,
                name: self.name,
                roles,
                weekly_capacity_hours: self.weekly_capacity_hours.0,
                internal_cost_rate: self.internal_cost_rate.map(|d| d.0),
                default_sales_rate: self.default_sales_rate.map(|d| d.0),
                active: self.active,
                language: self.language.parse().unwrap_or_default(),
                version: self.version,
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
            self.password_hash,
        )
    }
}

impl Store {
    /// Number of user accounts (0 on a fresh database).
    pub async fn count_users(&self) -> Result<i64> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await?))
    }

    /// Creates a user; a taken e-mail is [`StoreError::Duplicate`].
    pub async fn create_user(&self, new: &NewUser, actor: &Actor) -> Result<User> {
        let out = in_tx!(self, tx => {
            let now = DbTime::now();
            let d = &new.data;
            let row: UserRow = sqlx::query_as(
                "INSERT INTO users (email, name, password_hash, roles, weekly_capacity_hours, \
                 internal_cost_rate, default_sales_rate, active, language, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, 1, $9, $9) RETURNING *",
            )
            .bind(&d.email)
            .bind(&d.name)
            .bind(&new.password_hash)
            .bind(roles_to_text(&d.roles))
            .bind(ExactDecimal(d.weekly_capacity_hours))
            .bind(d.internal_cost_rate.map(ExactDecimal))
            .bind(d.default_sales_rate.map(ExactDecimal))
            .bind(d.active)
            .bind(now)
            .bind(d.language.as_str())
            .fetch_one(&mut *tx)
            .await?;
            let (user, _) = row.into_user();
            audit!(tx, actor, "user", user.id, "create", None::<&User>, Some(&user));
            user
        });
        Ok(out)
    }

    /// The user with this id.
    pub async fn get_user(&self, id: i64) -> Result<User> {
        let row: UserRow = with_pool!(self, pool => sqlx::query_as("SELECT * FROM users WHERE id = $1").bind(id).fetch_one(pool).await?);
        Ok(row.into_user().0)
    }

    /// The user of an access token and whether its session (the refresh-token family of
    /// its login) is still live — not logged out, not ended by a password change,
    /// deactivation or a reused refresh token. One query.
    pub async fn session_user(&self, id: i64, session: &str) -> Result<Option<(User, bool)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            live: bool,
        }
        let row: Option<Row> = with_pool!(self, pool => sqlx::query_as(
            "SELECT u.*, EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = $2 AND r.user_id = u.id \
             AND r.revoked_at IS NULL) AS live FROM users u WHERE u.id = $1")
            .bind(id).bind(session).fetch_optional(pool).await?);
        Ok(row.map(|r| (r.user.into_user().0, r.live)))
    }

    /// The user with this (lower-cased) e-mail and their password hash, if any.
    pub async fn user_credentials(&self, email: &str) -> Result<Option<(User, String)>> {
        let row: Option<UserRow> = with_pool!(self, pool => sqlx::query_as("SELECT * FROM users WHERE email = $1").bind(email).fetch_optional(pool).await?);
        Ok(row.map(UserRow::into_user))
    }

    /// Users in id order.
    pub async fn list_users(&self, page: &PageRequest<i64>) -> Result<Page<User, i64>> {
        let rows: Vec<UserRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM users WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2")
            .bind(page.after).bind(i64::from(page.limit) + 1).fetch_all(pool).await?);
        let users = rows.into_iter().map(|r| r.into_user().0).collect();
        Ok(Page::from_overfetch(users, page.limit, |u: &User| u.id))
    }

    /// Applies `change` to the current user data and stores the result. With
    /// `if_version`, fails with [`StoreError::StaleVersion`] if the user changed since.
    /// A new password hash, when given, replaces the old one and revokes refresh tokens;
    /// so does deactivation.
    pub async fn update_user<E: From<StoreError>>(
        &self,
        id: i64,
        if_version: Option<i64>,
        new_password_hash: Option<String>,
        actor: &Actor,
        change: impl FnOnce(&User) -> std::result::Result<UserData, E>,
    ) -> std::result::Result<User, E> {
        let out = in_tx!(self, tx => {
            let current: UserRow = sqlx::query_as("SELECT * FROM users WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
            let (before, old_hash) = current.into_user();
            if if_version.is_some_and(|v| v != before.version) {
                return Err(StoreError::StaleVersion.into());
            }
            let d = change(&before)?;
            let is_admin = |roles: &[Role], active: bool| active && roles.contains(&Role::Admin);
            if is_admin(&before.roles, before.active) && !is_admin(&d.roles, d.active) {
                // The installation keeps an active admin. Changes that take admin powers away
                // queue on one guard row, so two admins demoting each other at once cannot
                // both succeed: the second counts after the first committed.
                sqlx::query(
                    "INSERT INTO number_sequences (name, next_value) VALUES ('admin_guard', 0) \
                     ON CONFLICT (name) DO UPDATE SET next_value = number_sequences.next_value + 1")
                    .execute(&mut *tx).await.map_err(StoreError::from)?;
                let others: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM users WHERE active AND id <> $1 AND (',' || roles || ',') LIKE '%,admin,%'")
                    .bind(id).fetch_one(&mut *tx).await.map_err(StoreError::from)?;
                if others == 0 {
                    return Err(StoreError::Conflict(
                        "this is the last active admin: it keeps the admin role and stays active until another \
                         active admin exists"
                            .into(),
                    )
                    .into());
                }
            }
            let now = DbTime::now();
            let row: UserRow = sqlx::query_as(
                "UPDATE users SET email = $1, name = $2, password_hash = $3, roles = $4, \
                 weekly_capacity_hours = $5, internal_cost_rate = $6, default_sales_rate = $7, \
                 active = $8, language = $12, version = version + 1, updated_at = $9 \
                 WHERE id = $10 AND version = $11 RETURNING *",
            )
            .bind(&d.email).bind(&d.name)
            .bind(new_password_hash.as_deref().unwrap_or(&old_hash))
            .bind(roles_to_text(&d.roles))
            .bind(ExactDecimal(d.weekly_capacity_hours))
            .bind(d.internal_cost_rate.map(ExactDecimal))
            .bind(d.default_sales_rate.map(ExactDecimal))
            .bind(d.active).bind(now).bind(id).bind(before.version).bind(d.language.as_str())
            .fetch_optional(&mut *tx).await.map_err(StoreError::from)?
            .ok_or(StoreError::StaleVersion)?;
            let (after, _) = row.into_user();
            if new_password_hash.is_some() || (before.active && !after.active) {
                sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                    .bind(now).bind(id).execute(&mut *tx).await.map_err(StoreError::from)?;
            }
            audit!(tx, actor, "user", id, "update", Some(&before), Some(&after));
            after
        });
        // Roles, activity, name or password changed: cached principals of this user are stale.
        self.credentials_changed();
        Ok(out)
    }
}

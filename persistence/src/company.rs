//! The seller profile (one row of `seller_profile`): read, replaced under `If-Match`,
//! required complete to issue, and frozen into each document at issue
//! (`invoices.seller_snapshot`).

use crate::audit::Actor;
use crate::types::DbTime;
use crate::{Result, Store, StoreError};
use domain::company::SellerProfile;

/// The stored seller profile; version 0 (and no time) while none was ever stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredSellerProfile {
    #[serde(flatten)]
    pub profile: SellerProfile,
    pub version: i64,
    pub updated_at: Option<DbTime>,
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    profile: String,
    version: i64,
    updated_at: DbTime,
}

impl TryFrom<ProfileRow> for StoredSellerProfile {
    type Error = StoreError;
    fn try_from(r: ProfileRow) -> Result<Self> {
        Ok(StoredSellerProfile {
            profile: serde_json::from_str(&r.profile)?,
            version: r.version,
            updated_at: Some(r.updated_at),
        })
    }
}

/// The profile as JSON inside a transaction (`None` while none is stored): what an issue
/// freezes into the document.
macro_rules! seller_snapshot {
    ($tx:expr) => {{
        let json: Option<String> = sqlx::query_scalar("SELECT profile FROM seller_profile WHERE id = 1")
            .fetch_optional(&mut *$tx)
            .await
            .map_err($crate::StoreError::from)?;
        json
    }};
}
pub(crate) use seller_snapshot;

/// The profile an issue freezes into its documents (JSON), inside a transaction; fails with
/// [`StoreError::Conflict`] naming what is missing while the profile lacks what the
/// documents' formats require ([`SellerProfile::missing_for_e_invoice`]).
macro_rules! issuing_seller {
    ($tx:expr) => {{
        let json = $crate::company::seller_snapshot!($tx);
        $crate::company::check_issuable(json.as_deref())?;
        json
    }};
}
pub(crate) use issuing_seller;

/// `Ok` when the stored profile (JSON, `None` when none) lets documents be issued.
pub(crate) fn check_issuable(json: Option<&str>) -> Result<()> {
    match json {
        Some(j) => issuable(&serde_json::from_str(j)?),
        None => issuable(&SellerProfile::default()),
    }
}

/// `Ok` when `profile` has what documents' formats require, else [`StoreError::Conflict`]
/// naming what is missing.
fn issuable(profile: &SellerProfile) -> Result<()> {
    let missing = profile.missing_for_e_invoice();
    if missing.is_empty() {
        return Ok(());
    }
    Err(StoreError::Conflict(format!(
        "the seller profile lacks {}: complete it (PUT /api/v1/settings/company) before issuing",
        missing.join(", ")
    )))
}

/// A logo image to store: its bytes, media type and SHA-256 (hex).
#[derive(Debug)]
pub struct NewLogo<'a> {
    pub sha256: String,
    /// `image/png` or `image/jpeg`.
    pub media_type: &'a str,
    pub data: &'a [u8],
}

/// A stored logo image.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredLogo {
    pub media_type: String,
    pub data: Vec<u8>,
}

impl Store {
    /// `Ok` when documents can be issued now: the seller profile has what their formats
    /// require, else [`StoreError::Conflict`] naming what is missing.
    pub async fn check_issuable(&self) -> Result<()> {
        issuable(&self.seller_profile().await?.profile)
    }

    /// The seller profile (an empty one in version 0 while none is stored).
    pub async fn seller_profile(&self) -> Result<StoredSellerProfile> {
        let row: Option<ProfileRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT profile, version, updated_at FROM seller_profile WHERE id = 1").fetch_optional(pool).await?);
        match row {
            Some(r) => r.try_into(),
            None => Ok(StoredSellerProfile { profile: SellerProfile::default(), version: 0, updated_at: None }),
        }
    }

    /// Replaces the seller profile; with `if_version`, only while it still has that version
    /// (0: none stored yet), else [`StoreError::StaleVersion`]. Audited.
    /// The logo stays as it is (see [`Store::set_seller_logo`]).
    pub async fn put_seller_profile(
        &self,
        profile: &SellerProfile,
        if_version: Option<i64>,
        actor: &Actor,
    ) -> Result<StoredSellerProfile> {
        self.change_seller_profile(if_version, actor, |before| SellerProfile {
            logo_sha256: before.and_then(|b| b.logo_sha256.clone()),
            ..profile.clone()
        })
        .await
    }

    /// Sets the letterhead logo (`None` removes it from the profile): stores the image once
    /// under its SHA-256 and names it in the profile (a new version, audited). Images are never
    /// deleted: issued documents keep naming theirs.
    pub async fn set_seller_logo(&self, logo: Option<&NewLogo<'_>>, actor: &Actor) -> Result<StoredSellerProfile> {
        if let Some(l) = logo {
            with_pool!(self, pool => sqlx::query(
                "INSERT INTO seller_logos (sha256, media_type, data, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (sha256) DO NOTHING")
                .bind(&l.sha256).bind(l.media_type).bind(l.data).bind(DbTime::now()).execute(pool).await.map(|_| ())?);
        }
        let sha = logo.map(|l| l.sha256.clone());
        self.change_seller_profile(None, actor, move |before| SellerProfile {
            logo_sha256: sha,
            ..before.cloned().unwrap_or_default()
        })
        .await
    }

    /// A stored logo by its SHA-256.
    pub async fn seller_logo(&self, sha256: &str) -> Result<Option<StoredLogo>> {
        Ok(with_pool!(self, pool => sqlx::query_as("SELECT media_type, data FROM seller_logos WHERE sha256 = $1")
            .bind(sha256).fetch_optional(pool).await?))
    }

    /// Writes the profile `change` makes of the stored one (`None` while none is stored) as
    /// the next version, audited; with `if_version`, only while it still has that version.
    async fn change_seller_profile(
        &self,
        if_version: Option<i64>,
        actor: &Actor,
        change: impl FnOnce(Option<&SellerProfile>) -> SellerProfile,
    ) -> Result<StoredSellerProfile> {
        let out = in_tx!(self, tx => {
            let before: Option<ProfileRow> = sqlx::query_as(
                "SELECT profile, version, updated_at FROM seller_profile WHERE id = 1").fetch_optional(&mut *tx).await?;
            let before = before.map(StoredSellerProfile::try_from).transpose()?;
            if let Some(v) = if_version {
                if before.as_ref().map_or(0, |b| b.version) != v {
                    return Err(StoreError::StaleVersion);
                }
            }
            let json = serde_json::to_string(&change(before.as_ref().map(|b| &b.profile)))?;
            let now = DbTime::now();
            let row: ProfileRow = sqlx::query_as(
                "INSERT INTO seller_profile (id, profile, version, updated_at) VALUES (1, $1, 1, $2) \
                 ON CONFLICT (id) DO UPDATE SET profile = $1, version = seller_profile.version + 1, updated_at = $2 \
                 RETURNING profile, version, updated_at")
                .bind(&json).bind(now).fetch_one(&mut *tx).await?;
            let after = StoredSellerProfile::try_from(row)?;
            let action = if before.is_some() { "update" } else { "create" };
            audit!(tx, actor, "seller_profile", 1i64, action, before.as_ref().map(|b| &b.profile), Some(&after.profile));
            after
        });
        Ok(out)
    }
}

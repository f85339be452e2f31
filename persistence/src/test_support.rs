//! A fresh store per persistence test: a temporary SQLite file, or a new PostgreSQL
//! database when `TEST_DATABASE_URL` is set (created here and dropped afterwards).

use crate::{Store, StoreOptions};
use sqlx::Connection;

/// A test store and what to remove when the test ends.
pub(crate) struct TestStore {
    pub store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Database { admin_url: String, name: String },
}

/// Opens a store on a fresh, migrated database of the backend under test, with a complete
/// seller profile ([`domain::company::SellerProfile::example`]) so that documents can be
/// issued.
pub(crate) async fn fresh_store() -> TestStore {
    let name = format!("kontor_ptest_{}", uuid::Uuid::new_v4().simple());
    let (url, cleanup) = match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(admin_url) => {
            let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
            let _ = conn.close().await;
            let base = admin_url.split('?').next().unwrap_or(&admin_url);
            let server = &base[..base.rfind('/').unwrap_or(base.len())];
            (format!("{server}/{name}"), Cleanup::Database { admin_url, name })
        }
        None => {
            let dir = std::env::temp_dir().join(&name);
            std::fs::create_dir_all(&dir).expect("temp dir");
            (format!("sqlite://{}/kontor.db?mode=rwc", dir.display()), Cleanup::Dir(dir))
        }
    };
    let store = Store::open(&StoreOptions { url, max_connections: Some(2) }).await.expect("open test store");
    store
        .put_seller_profile(&domain::company::SellerProfile::example(), None, &crate::Actor::system())
        .await
        .expect("store the seller profile");
    TestStore { store, cleanup }
}

impl TestStore {
    /// Closes the store and removes its database.
    pub async fn remove(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
                }
            }
        }
    }
}

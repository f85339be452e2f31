//! The storage error type: what the API needs to tell a client, nothing more.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated; carries the constraint or column name.
    #[error("already exists: {0}")]
    Duplicate(String),
    /// A referenced row does not exist (foreign key).
    #[error("reference to a missing row: {0}")]
    MissingReference(String),
    /// The row changed since the client read it (`If-Match` mismatch).
    #[error("the resource was changed by someone else")]
    StaleVersion,
    /// The operation is not allowed in the row's current state.
    #[error("{0}")]
    Conflict(String),
    /// Configuration of the store is invalid (bad URL, etc.).
    #[error("invalid database configuration: {0}")]
    Config(String),
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database failure (connection lost, bug, …).
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(ref db) => {
                let what = db.constraint().map(str::to_string).unwrap_or_else(|| db.message().to_string());
                match db.kind() {
                    sqlx::error::ErrorKind::UniqueViolation => StoreError::Duplicate(what),
                    sqlx::error::ErrorKind::ForeignKeyViolation => StoreError::MissingReference(what),
                    _ => StoreError::Database(e),
                }
            }
            other => StoreError::Database(other),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Database(sqlx::Error::Decode(Box::new(e)))
    }
}

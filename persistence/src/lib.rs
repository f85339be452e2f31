//! Kontor storage: one [`Store`] over SQLite (embedded default) and PostgreSQL.
//!
//! The API layer talks to [`Store`] only, in billing words (`create_customer`,
//! `rotate_refresh_token`, …). Both backends run the same SQL text: sqlx accepts
//! `$1`-style parameters on SQLite too, and the column adapters in [`types`] give
//! exact decimals and timestamps the same semantics on both (NUMERIC/TIMESTAMPTZ in
//! PostgreSQL, canonical TEXT in SQLite). What really differs per backend —
//! connection options, migrations, how write transactions start — lives in
//! [`sqlite`] and [`postgres`].

#[macro_use]
mod store;
#[macro_use]
mod readers;
#[macro_use]
mod audit;
#[macro_use]
pub mod events;
mod auth;
pub mod billing;
#[cfg(test)]
mod billing_model;
pub mod bookings;
mod bulk;
#[cfg(test)]
mod cancellation_tests;
pub mod catalog;
mod checkpoints;
pub mod company;
pub mod contract_evaluation;
pub mod contracts;
pub mod custom_fields;
mod customers;
mod direct_reads;
mod error;
pub mod expenses;
pub mod holdings;
mod idempotency;
pub mod integrations;
pub mod invoice_runs;
pub mod invoices;
pub mod jobs;
pub mod mail;
pub mod page;
pub mod postgres;
pub mod project_revenue;
pub mod projects;
pub mod proof;
pub mod rates;
pub mod refs;
mod search;
mod shared_reads;
pub mod sqlite;
pub mod teams;
#[cfg(test)]
mod test_support;
pub mod tickets;
pub mod types;
mod users;
pub mod webhooks;
pub mod work_orders;

pub use audit::{Actor, ActorKind, AuditEntry, AuditFilter};
pub use auth::{ApiClient, LoginFailures, NewApiClient, RefreshOutcome};
pub use customers::{Contact, ContactData, Customer, CustomerData, CustomerFilter, CustomerSort};
pub use error::StoreError;
pub use idempotency::{IdempotencyBegin, StoredResponse};
pub use page::{Page, PageRequest};
pub use store::{Backend, PoolStatus, Store, StoreOptions};
pub use users::{NewUser, User, UserData};

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

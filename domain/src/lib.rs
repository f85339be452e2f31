//! Kontor's billing domain: value types and the rules over them.
//!
//! Pure Rust: no IO, no async, no database. Everything here is a plain value or a
//! pure function so that the billing rules can be unit- and property-tested in
//! isolation and reused by the persistence and API layers.
//!
//! The billing engine is split into:
//! - [`money`]: rounding to a currency's minor unit, VAT breakdowns, totals;
//! - [`rounding`]: per-booking time rounding rules;
//! - [`period`]: billing periods (monthly/quarterly/yearly) and pro-rating;
//! - [`catalog`]: the service catalog (units, default prices, VAT rates);
//! - [`company`]: the seller profile and what an e-invoice needs of it;
//! - [`rates`]: rate cards, surcharges and the explained rate resolution;
//! - [`contract`]: contract kinds, terms and coverage;
//! - [`quota`]: the prepaid quota ledger (grants, consumption, carry-over, expiry, reversal);
//! - [`position`]: the billable inputs (time bookings, expenses, custom-field values);
//! - [`engine`]: invoice proposals, blocking problems and profitability per customer;
//! - [`invoice`]: the invoice life cycle, numbering, draft totals and credit notes;
//! - [`proof`]: the proof of service (billed vs. covered vs. open minutes per booking).
//! - [`schedule`]: periodic work orders: recurrence, lead time, which occurrences to create;
//! - [`capacity`]: hours per person and ISO week against what is planned and booked.

pub mod access;
pub mod capacity;
pub mod catalog;
pub mod company;
pub mod contract;
pub mod currency;
pub mod custom_field;
pub mod customer;
pub mod engine;
pub mod evaluation;
pub mod helpdesk;
pub mod invoice;
pub mod money;
pub mod notification;
pub mod period;
pub mod position;
pub mod profitability;
pub mod project;
pub mod proof;
pub mod quota;
pub mod rates;
pub mod rounding;
pub mod schedule;
mod serde_fmt;
pub mod ticket;
pub mod timekeeping;
pub mod user;
pub mod webhook;

pub use access::{Permission, Role, Scope};
pub use currency::Currency;
pub use customer::{BillingMode, InvoiceDetail, VatTreatment};

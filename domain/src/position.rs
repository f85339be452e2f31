//! Billable inputs: time bookings (with custom-field values) and expenses, plus the
//! references by which invoice lines, ledger entries and problems point back to them.

use crate::catalog::Unit;
use crate::currency::Currency;
use crate::serde_fmt;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, Time};

/// What an invoice line, ledger entry or problem refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PositionRef {
    /// A time booking.
    Booking {
        /// Booking id.
        id: i64,
    },
    /// A custom-field quantity of a booking billed through a mapping (e.g. `km`).
    BookingField {
        /// Booking id.
        booking_id: i64,
        /// Custom-field id.
        field_id: i64,
    },
    /// An expense / material line.
    Expense {
        /// Expense id.
        id: i64,
    },
    /// A contract's fee for one period.
    ContractFee {
        /// Contract id.
        contract_id: i64,
        /// First day of the fee period.
        #[serde(with = "serde_fmt::date")]
        period_start: Date,
    },
}

/// The ticket a position was booked on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketRef {
    /// Ticket id.
    pub id: i64,
    /// Human-readable number, e.g. `T-2026-000123`.
    pub number: String,
}

/// A value of a number custom field on a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomFieldValue {
    /// Custom-field id.
    pub field_id: i64,
    /// The number entered.
    pub value: Decimal,
}

/// A custom-field billing mapping: a number field billed as a quantity of a service
/// (e.g. field `km` → service `Kilometres`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomFieldMapping {
    /// Custom-field id.
    pub field_id: i64,
    /// Catalog service billed per unit of the field's value.
    pub service_id: i64,
}

/// An open time booking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booking {
    /// Booking id.
    pub id: i64,
    /// Customer the work was done for.
    pub customer_id: i64,
    /// Employee.
    pub user_id: i64,
    /// Work date.
    #[serde(with = "serde_fmt::date")]
    pub work_date: Date,
    /// Start time, if recorded (for business-hours surcharges and ordering).
    #[serde(with = "serde_fmt::clock::option", default)]
    pub start_time: Option<Time>,
    /// Actual minutes worked.
    pub minutes: u32,
    /// Catalog service.
    pub service_id: i64,
    /// Activity text printed on the invoice.
    pub description: String,
    /// Ticket, if booked on one.
    pub ticket: Option<TicketRef>,
    /// Project, if any.
    pub project_id: Option<i64>,
    /// Contract, if the ticket or project names one; otherwise the engine picks an
    /// active contract of the customer.
    pub contract_id: Option<i64>,
    /// Whether the booking is billable.
    pub billable: bool,
    /// The booking is on a periodic work order whose schedule says "covered by the
    /// contract" (or "fixed price per execution", the price then being passed as an
    /// [`Expense`] created when the order is done): its time is covered by its contract whatever the coverage list says
    /// (flat fee and time and material: not billed; prepaid: consumes the quota).
    #[serde(default)]
    pub covered_by_contract: bool,
    /// The booking is extra work on a periodic work order whose schedule bills extras as
    /// time and material: billed at the resolved rates on the invoice with the contract's
    /// fee, whatever the contract covers (no flat-fee coverage, no quota, no budget).
    #[serde(default)]
    pub billed_as_extra: bool,
    /// Override price per hour (billing role only).
    pub rate_override: Option<Decimal>,
    /// Number custom-field values.
    pub custom_fields: Vec<CustomFieldValue>,
}

/// An open expense or material line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expense {
    /// Expense id.
    pub id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Date of the expense.
    #[serde(with = "serde_fmt::date")]
    pub date: Date,
    /// Catalog item; `None` for free text.
    pub service_id: Option<i64>,
    /// Text printed on the invoice.
    pub description: String,
    /// Quantity.
    pub quantity: Decimal,
    /// Unit (for free-text lines; catalog items use the service's unit).
    pub unit: Unit,
    /// Unit price override; otherwise the rate is resolved for the catalog item.
    pub unit_price: Option<Decimal>,
    /// Currency of `unit_price`; `None` = the invoice currency.
    pub currency: Option<Currency>,
    /// VAT rate for free-text lines (catalog items use the service's rate).
    pub vat_rate: Option<Decimal>,
    /// Whether the expense is billable.
    pub billable: bool,
    /// Ticket, if any.
    pub ticket: Option<TicketRef>,
    /// Project, if any.
    pub project_id: Option<i64>,
    /// Contract, if any.
    pub contract_id: Option<i64>,
    /// Employee who incurred it, if any.
    pub user_id: Option<i64>,
    /// Material used on a periodic work order whose schedule bills extras as time and
    /// material: billed even where a flat fee's coverage lists its service.
    #[serde(default)]
    pub billed_as_extra: bool,
}

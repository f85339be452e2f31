//! What an invoice run reads: the customers with something to bill and their open
//! positions as the billing engine's inputs ([`domain::position::Booking`] and
//! [`domain::position::Expense`]), streamed one customer at a time.

use crate::types::{ExactDecimal, JsonText};
use crate::{Result, Store};
use domain::catalog::Unit;
use domain::custom_field::{billed_values, CustomFieldDefinition};
use domain::position::{Booking, Expense, TicketRef};
use time::{Date, Time};

/// Which open positions of a customer a run takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PositionScope {
    /// Only positions of this project.
    pub project_id: Option<i64>,
    /// Only positions of this ticket.
    pub ticket_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct BookingRow {
    id: i64,
    customer_id: i64,
    user_id: i64,
    work_date: Date,
    start_time: Option<Time>,
    duration_minutes: i64,
    service_id: i64,
    description: String,
    ticket_id: Option<i64>,
    ticket_number: Option<String>,
    project_id: Option<i64>,
    contract_id: Option<i64>,
    billable: bool,
    rate_override: Option<ExactDecimal>,
    custom_fields: JsonText,
}

#[derive(sqlx::FromRow)]
struct ExpenseRow {
    id: i64,
    customer_id: i64,
    expense_date: Date,
    service_id: Option<i64>,
    description: String,
    quantity: ExactDecimal,
    unit: String,
    unit_price: ExactDecimal,
    vat_rate: ExactDecimal,
    billable: bool,
    ticket_id: Option<i64>,
    ticket_number: Option<String>,
    project_id: Option<i64>,
    contract_id: Option<i64>,
    user_id: Option<i64>,
}

fn ticket(id: Option<i64>, number: Option<String>) -> Option<TicketRef> {
    Some(TicketRef { id: id?, number: number.unwrap_or_default() })
}

impl Store {
    /// Customers with open positions dated up to `period_end` or with a contract (whose
    /// fees may be due), in id order.
    pub async fn customers_to_bill(&self, period_end: Date) -> Result<Vec<i64>> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT id FROM customers WHERE id IN ( \
               SELECT customer_id FROM bookings WHERE state = 'open' AND customer_id IS NOT NULL AND work_date <= $1 \
               UNION SELECT customer_id FROM expenses WHERE state = 'open' AND customer_id IS NOT NULL AND expense_date <= $1 \
               UNION SELECT customer_id FROM contracts WHERE archived_at IS NULL AND start_date <= $1) \
             ORDER BY id")
            .bind(period_end).fetch_all(pool).await?))
    }

    /// A customer's open bookings and expenses dated up to `period_end`, as engine inputs.
    /// Custom-field values of booking fields with a billing mapping become quantities.
    pub async fn open_positions(
        &self,
        customer_id: i64,
        period_end: Date,
        scope: PositionScope,
        booking_fields: &[CustomFieldDefinition],
    ) -> Result<(Vec<Booking>, Vec<Expense>)> {
        let (bookings, expenses): (Vec<BookingRow>, Vec<ExpenseRow>) = with_pool!(self, pool => {
            let bookings = sqlx::query_as(
                "SELECT b.id, b.customer_id, b.user_id, b.work_date, b.start_time, b.duration_minutes, b.service_id, \
                 b.description, b.ticket_id, t.number AS ticket_number, b.project_id, t.contract_id, b.billable, \
                 b.rate_override, b.custom_fields \
                 FROM bookings b LEFT JOIN tickets t ON t.id = b.ticket_id \
                 WHERE b.customer_id = $1 AND b.state = 'open' AND b.work_date <= $2 \
                 AND ($3 IS NULL OR b.project_id = $3) AND ($4 IS NULL OR b.ticket_id = $4) \
                 ORDER BY b.work_date, b.id")
                .bind(customer_id).bind(period_end).bind(scope.project_id).bind(scope.ticket_id)
                .fetch_all(pool).await?;
            let expenses = sqlx::query_as(
                "SELECT e.id, e.customer_id, e.expense_date, e.service_id, e.description, e.quantity, e.unit, \
                 e.unit_price, e.vat_rate, e.billable, e.ticket_id, t.number AS ticket_number, e.project_id, \
                 t.contract_id, e.user_id \
                 FROM expenses e LEFT JOIN tickets t ON t.id = e.ticket_id \
                 WHERE e.customer_id = $1 AND e.state = 'open' AND e.expense_date <= $2 \
                 AND ($3 IS NULL OR e.project_id = $3) AND ($4 IS NULL OR e.ticket_id = $4) \
                 ORDER BY e.expense_date, e.id")
                .bind(customer_id).bind(period_end).bind(scope.project_id).bind(scope.ticket_id)
                .fetch_all(pool).await?;
            (bookings, expenses)
        });
        let bookings = bookings
            .into_iter()
            .map(|r| {
                let values = r.custom_fields.0.as_object().cloned().unwrap_or_default();
                Booking {
                    id: r.id,
                    customer_id: r.customer_id,
                    user_id: r.user_id,
                    work_date: r.work_date,
                    start_time: r.start_time,
                    minutes: u32::try_from(r.duration_minutes).unwrap_or(0),
                    service_id: r.service_id,
                    description: r.description,
                    ticket: ticket(r.ticket_id, r.ticket_number),
                    project_id: r.project_id,
                    contract_id: r.contract_id,
                    billable: r.billable,
                    covered_by_contract: false,
                    rate_override: r.rate_override.map(|d| d.0),
                    custom_fields: billed_values(booking_fields, &values),
                }
            })
            .collect();
        let expenses = expenses
            .into_iter()
            .map(|r| Expense {
                id: r.id,
                customer_id: r.customer_id,
                date: r.expense_date,
                service_id: r.service_id,
                description: r.description,
                quantity: r.quantity.0,
                unit: r.unit.parse().unwrap_or(Unit::Piece),
                unit_price: Some(r.unit_price.0),
                currency: None,
                vat_rate: Some(r.vat_rate.0),
                billable: r.billable,
                ticket: ticket(r.ticket_id, r.ticket_number),
                project_id: r.project_id,
                contract_id: r.contract_id,
                user_id: r.user_id,
            })
            .collect();
        Ok((bookings, expenses))
    }
}

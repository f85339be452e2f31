//! What a project's work earned: the lines of issued (or paid) invoices that bill its bookings
//! or expenses, each with every position it bills weighted and marked as the project's or not
//! (the shares are computed by [`domain::profitability::project_share`]).

use crate::store::id_list;
use crate::types::ExactDecimal;
use crate::{Result, Store};
use domain::position::PositionRef;
use domain::profitability::LinePosition;
use rust_decimal::Decimal;
use std::collections::HashMap;

impl Store {
    /// The issued lines holding the project's positions: each line's net and its positions.
    pub async fn project_invoice_lines(&self, project_id: i64) -> Result<Vec<(Decimal, Vec<LinePosition>)>> {
        let lines: Vec<(ExactDecimal, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT l.net, l.positions FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
             WHERE i.kind = 'invoice' AND i.status IN ('issued', 'paid') AND l.invoice_id IN \
             (SELECT s.invoice_id FROM bookings b JOIN booking_holds s ON s.booking_id = b.id \
              WHERE b.project_id = $1 \
              UNION SELECT invoice_id FROM expenses WHERE project_id = $1 AND invoice_id IS NOT NULL) \
             ORDER BY l.id")
            .bind(project_id).fetch_all(pool).await?);
        let lines: Vec<(Decimal, Vec<PositionRef>)> = lines
            .into_iter()
            .map(|(net, positions)| Ok((net.0, serde_json::from_str::<Vec<PositionRef>>(&positions)?)))
            .collect::<Result<_>>()?;
        // The bookings and expenses the lines name: their minutes and project.
        let (booking_ids, expense_ids) = position_ids(lines.iter().flat_map(|(_, positions)| positions));
        let mut bookings: HashMap<i64, (i64, bool)> = HashMap::new();
        if !booking_ids.is_empty() {
            let ids = id_list(&booking_ids);
            let rows: Vec<(i64, i64, Option<i64>)> = with_pool!(self, pool => sqlx::query_as(&format!(
                "SELECT id, duration_minutes, project_id FROM bookings WHERE id IN ({ids})")).fetch_all(pool).await?);
            bookings.extend(rows.into_iter().map(|(id, minutes, p)| (id, (minutes, p == Some(project_id)))));
        }
        let mut expenses: HashMap<i64, bool> = HashMap::new();
        if !expense_ids.is_empty() {
            let ids = id_list(&expense_ids);
            let rows: Vec<(i64, Option<i64>)> = with_pool!(self, pool => sqlx::query_as(&format!(
                "SELECT id, project_id FROM expenses WHERE id IN ({ids})")).fetch_all(pool).await?);
            expenses.extend(rows.into_iter().map(|(id, p)| (id, p == Some(project_id))));
        }
        let weigh = |p: &PositionRef| match p {
            PositionRef::Booking { id } => {
                bookings.get(id).map_or(LinePosition { weight: 1, of_project: false }, |(minutes, mine)| LinePosition {
                    weight: *minutes,
                    of_project: *mine,
                })
            }
            PositionRef::BookingField { booking_id, .. } => {
                LinePosition { weight: 1, of_project: bookings.get(booking_id).is_some_and(|b| b.1) }
            }
            PositionRef::Expense { id } => {
                LinePosition { weight: 1, of_project: expenses.get(id).copied().unwrap_or(false) }
            }
            PositionRef::ContractFee { .. } => LinePosition { weight: 1, of_project: false },
        };
        Ok(lines.into_iter().map(|(net, positions)| (net, positions.iter().map(weigh).collect())).collect())
    }
}

/// The ids of the bookings (their custom-field quantities included) and of the expenses that
/// invoice lines' positions name (fees name neither).
pub(crate) fn position_ids<'a>(positions: impl Iterator<Item = &'a PositionRef>) -> (Vec<i64>, Vec<i64>) {
    let (mut bookings, mut expenses) = (Vec::new(), Vec::new());
    for p in positions {
        match p {
            PositionRef::Booking { id } | PositionRef::BookingField { booking_id: id, .. } => bookings.push(*id),
            PositionRef::Expense { id } => expenses.push(*id),
            PositionRef::ContractFee { .. } => {}
        }
    }
    (bookings, expenses)
}

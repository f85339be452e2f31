//! What the evaluation of contracts reads ([`domain::evaluation`]): the amounts issued invoices
//! billed under them (each line's net split over its positions), the time booked under them
//! with the people's internal cost rates, and their work orders by due date.

use crate::project_revenue::position_ids;
use crate::store::id_list;
use crate::types::ExactDecimal;
use crate::{Result, Store};
use domain::evaluation::{line_shares, Billed, Effort, Execution, ExecutionState, RevenueKind};
use domain::position::PositionRef;
use rust_decimal::Decimal;
use std::collections::HashMap;
use time::Date;

/// A schedule as the evaluation names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluatedSchedule {
    pub id: i64,
    pub title: String,
    pub order_type_id: i64,
}

/// One contract's evaluation inputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluationInputs {
    /// Its schedules (archived ones included), by id.
    pub schedules: Vec<EvaluatedSchedule>,
    pub billed: Vec<Billed>,
    pub effort: Vec<Effort>,
    pub executions: Vec<Execution>,
}

/// A booking as the effort counts it.
#[derive(sqlx::FromRow)]
struct EffortRow {
    contract_id: i64,
    work_date: Date,
    duration_minutes: i64,
    internal_cost_rate: Option<ExactDecimal>,
    schedule_id: Option<i64>,
}

impl Store {
    /// The evaluation inputs of each of `contract_ids` for the days `from..=to`.
    ///
    /// Billed: the lines of issued or paid invoices under the contract (cancelled ones have
    /// been reversed by a credit note and count for nothing). Effort: bookings billed under
    /// the contract, or not yet billed and on one of its tickets (work orders included).
    pub async fn contract_evaluation_inputs(
        &self,
        contract_ids: &[i64],
        from: Date,
        to: Date,
    ) -> Result<HashMap<i64, EvaluationInputs>> {
        let mut out: HashMap<i64, EvaluationInputs> =
            contract_ids.iter().map(|id| (*id, EvaluationInputs::default())).collect();
        if contract_ids.is_empty() {
            return Ok(out);
        }
        let ids = id_list(contract_ids);
        let schedules: Vec<(i64, i64, String, i64)> = with_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT id, contract_id, title, order_type_id FROM work_order_schedules WHERE contract_id IN ({ids}) \
             ORDER BY id"))
            .fetch_all(pool).await?);
        for (id, contract, title, order_type_id) in schedules {
            out.entry(contract).or_default().schedules.push(EvaluatedSchedule { id, title, order_type_id });
        }

        // Billed: lines of invoices that can hold positions of the range (an invoice bills
        // positions up to its period's end, so one ending before `from` holds none).
        let lines: Vec<(i64, String, ExactDecimal, String, Date)> = with_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT l.contract_id, l.kind, l.net, l.positions, i.period_end FROM invoice_lines l \
             JOIN invoices i ON i.id = l.invoice_id WHERE i.kind = 'invoice' AND i.status IN ('issued', 'paid') \
             AND l.contract_id IN ({ids}) AND i.period_end >= $1 ORDER BY l.id"))
            .bind(from).fetch_all(pool).await?);
        let lines: Vec<(i64, String, Decimal, Vec<PositionRef>, Date)> = lines
            .into_iter()
            .map(|(c, kind, net, positions, end)| Ok((c, kind, net.0, serde_json::from_str(&positions)?, end)))
            .collect::<Result<_>>()?;
        let (booking_ids, expense_ids) = position_ids(lines.iter().flat_map(|l| &l.3));
        // Booking id → (work date, minutes, schedule of its work order).
        let mut bookings: HashMap<i64, (Date, i64, Option<i64>)> = HashMap::new();
        if !booking_ids.is_empty() {
            let rows: Vec<(i64, Date, i64, Option<i64>)> = with_pool!(self, pool => sqlx::query_as(&format!(
                "SELECT b.id, b.work_date, b.duration_minutes, w.schedule_id FROM bookings b \
                 LEFT JOIN work_orders w ON w.ticket_id = b.ticket_id WHERE b.id IN ({})", id_list(&booking_ids)))
                .fetch_all(pool).await?);
            bookings.extend(rows.into_iter().map(|(id, date, minutes, s)| (id, (date, minutes, s))));
        }
        // Expense id → (date, schedule of its work order, is that order's execution price).
        let mut expenses: HashMap<i64, (Date, Option<i64>, bool)> = HashMap::new();
        if !expense_ids.is_empty() {
            let rows: Vec<(i64, Date, Option<i64>, bool)> = with_pool!(self, pool => sqlx::query_as(&format!(
                "SELECT e.id, e.expense_date, w.schedule_id, COALESCE(w.execution_expense_id = e.id, FALSE) \
                 FROM expenses e LEFT JOIN work_orders w ON w.ticket_id = e.ticket_id WHERE e.id IN ({})",
                id_list(&expense_ids)))
                .fetch_all(pool).await?);
            expenses.extend(rows.into_iter().map(|(id, date, s, execution)| (id, (date, s, execution))));
        }
        for (contract, kind, net, positions, period_end) in lines {
            let Some(target) = out.get_mut(&contract) else { continue };
            let fee = kind == "fee";
            if positions.is_empty() {
                // A line added by hand: dated by its invoice's period.
                let kind = if fee { RevenueKind::Fee } else { RevenueKind::Extra };
                target.billed.push(Billed { date: period_end, schedule_id: None, kind, amount: net });
                continue;
            }
            let weights: Vec<i64> = positions
                .iter()
                .map(|p| match p {
                    PositionRef::Booking { id } => bookings.get(id).map_or(1, |b| b.1),
                    _ => 1,
                })
                .collect();
            for (p, amount) in positions.iter().zip(line_shares(net, &weights)) {
                let (date, schedule_id, kind) = match p {
                    PositionRef::ContractFee { period_start, .. } => (*period_start, None, RevenueKind::Fee),
                    PositionRef::Booking { id } | PositionRef::BookingField { booking_id: id, .. } => {
                        let Some((date, _, s)) = bookings.get(id) else { continue };
                        (*date, *s, if fee { RevenueKind::Fee } else { RevenueKind::Extra })
                    }
                    PositionRef::Expense { id } => {
                        let Some((date, s, execution)) = expenses.get(id) else { continue };
                        (*date, *s, if *execution { RevenueKind::FixedPrice } else { RevenueKind::Extra })
                    }
                };
                target.billed.push(Billed { date, schedule_id, kind, amount });
            }
        }

        // Effort: the time booked under the contracts in the range.
        let effort: Vec<EffortRow> = with_pool!(self, pool => sqlx::query_as(
            &format!(
            "SELECT COALESCE(bs.settled_contract_id, t.contract_id) AS contract_id, b.work_date, b.duration_minutes, \
             u.internal_cost_rate, w.schedule_id FROM bookings b JOIN users u ON u.id = b.user_id \
             LEFT JOIN booking_holds h ON h.booking_id = b.id \
             LEFT JOIN booking_settlements bs ON bs.invoice_id = h.invoice_id AND bs.booking_id = b.id \
             LEFT JOIN tickets t ON t.id = b.ticket_id LEFT JOIN work_orders w ON w.ticket_id = b.ticket_id \
             WHERE b.work_date >= $1 AND b.work_date <= $2 \
             AND COALESCE(bs.settled_contract_id, t.contract_id) IN ({ids})"))
            .bind(from).bind(to).fetch_all(pool).await?);
        for EffortRow {
            contract_id: contract,
            work_date: date,
            duration_minutes: minutes,
            internal_cost_rate: rate,
            schedule_id,
        } in effort
        {
            if let Some(target) = out.get_mut(&contract) {
                target.effort.push(Effort { date, schedule_id, minutes, cost_rate: rate.map(|r| r.0) });
            }
        }

        // Work orders due in the range.
        let orders: Vec<(i64, i64, Date, String, bool)> = with_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT s.contract_id, w.schedule_id, COALESCE(k.due_date, w.planned_due) AS due, k.status, \
             w.skipped_at IS NOT NULL AS skipped FROM work_orders w \
             JOIN work_order_schedules s ON s.id = w.schedule_id JOIN tickets k ON k.id = w.ticket_id \
             WHERE s.contract_id IN ({ids}) AND COALESCE(k.due_date, w.planned_due) >= $1 \
             AND COALESCE(k.due_date, w.planned_due) <= $2"))
            .bind(from).bind(to).fetch_all(pool).await?);
        for (contract, schedule_id, due, status, skipped) in orders {
            let state = if skipped {
                ExecutionState::Skipped
            } else if matches!(status.as_str(), "resolved" | "closed") {
                ExecutionState::Done
            } else {
                ExecutionState::Open
            };
            if let Some(target) = out.get_mut(&contract) {
                target.executions.push(Execution { schedule_id, due, state });
            }
        }
        Ok(out)
    }
}

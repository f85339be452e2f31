//! How cancelled invoices settled their positions, to say what a re-run bills differently
//! ([`domain::invoice::rebill_changes`]).

use super::*;

/// A position of a cancelled invoice with that invoice's number.
#[derive(sqlx::FromRow)]
struct CancelledPositionRow {
    #[sqlx(flatten)]
    position: PositionRow,
    number: Option<String>,
}

impl Store {
    /// How the customer's cancelled invoices settled their positions, oldest first (the
    /// latest per position is what billing it again is compared with,
    /// [`domain::invoice::rebill_changes`]).
    pub async fn cancelled_settlements(&self, customer_id: i64) -> Result<Vec<PriorSettlement>> {
        let rows: Vec<CancelledPositionRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT p.*, i.number FROM invoices i JOIN invoice_positions p ON p.invoice_id = i.id \
             WHERE i.customer_id = $1 AND i.status || '' = 'cancelled' ORDER BY i.id, p.id")
            .bind(customer_id).fetch_all(pool).await?);
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let fee_lines: Vec<(i64, ExactDecimal, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT l.invoice_id, l.net, l.positions FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id \
             WHERE i.customer_id = $1 AND i.status || '' = 'cancelled' AND l.kind = 'fee'")
            .bind(customer_id).fetch_all(pool).await?);
        let mut fee_nets: BTreeMap<(i64, PositionRef), Decimal> = BTreeMap::new();
        for (invoice_id, net, positions) in fee_lines {
            for p in serde_json::from_str::<Vec<PositionRef>>(&positions)? {
                fee_nets.insert((invoice_id, p), net.0);
            }
        }
        let minutes = |v: Option<i64>| v.and_then(|m| u64::try_from(m).ok());
        rows.into_iter()
            .map(|CancelledPositionRow { position: row, number }| {
                let invoice_id = row.invoice_id;
                let settled = row.into_settled()?;
                let billed = match settled.treatment {
                    PositionStatus::NonBillable => Some(0),
                    _ => minutes(settled.rounded_minutes)
                        .map(|r| r.saturating_sub(minutes(settled.covered_minutes).unwrap_or(0))),
                };
                Ok(PriorSettlement {
                    position: settled.position,
                    invoice_id,
                    number,
                    treatment: settled.treatment,
                    billed_minutes: billed,
                    covered_minutes: minutes(settled.covered_minutes),
                    fee_net: fee_nets.get(&(invoice_id, settled.position)).copied(),
                })
            })
            .collect()
    }
}

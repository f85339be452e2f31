//! `ticket.billed`: when issuing documents leaves a ticket with no billable booking open or
//! on a draft, the ticket is billed, and helpdesks want to know — with the numbers of the
//! invoices that hold its time. Derived from each `invoice.issued` event exactly once, by
//! the dispatcher's fan-out in the transaction that hands that event out
//! ([`crate::Store::fan_out_events`]): issuing itself does not read a ticket's bookings. A
//! ticket billed again later (new time, a later invoice) is announced again with all its
//! numbers.

use crate::holdings::{booking_holder, join_holding_document};
use crate::store::Db;
use crate::Result;

/// The tickets touched by the documents whose ids are the JSON array `$1` that have no
/// billable booking open or on a draft any more, one row per ticket and invoice number
/// (`None` for a settlement, which has none).
fn sql(postgres: bool) -> String {
    // The bookings of the documents, found through their invoice index (on SQLite the
    // settlements clustered by document, the join order forced: its planner would otherwise
    // walk every booking).
    let (touched, backend) = if postgres {
        (
            "SELECT b.ticket_id AS id FROM json_array_elements_text(CAST($1 AS JSON)) AS l(value) \
             JOIN bookings b ON b.invoice_id = CAST(l.value AS BIGINT)",
            crate::Backend::Postgres,
        )
    } else {
        (
            "SELECT b.ticket_id AS id FROM json_each($1) AS l \
             CROSS JOIN booking_settlements s ON s.invoice_id = l.value \
             CROSS JOIN bookings b ON b.id = s.booking_id",
            crate::Backend::Sqlite,
        )
    };
    let (held_o, held_b) = (booking_holder(backend, "o"), join_holding_document(backend, "b", "i"));
    format!(
        "WITH touched AS MATERIALIZED ({touched}), \
         billed AS MATERIALIZED (SELECT DISTINCT id FROM touched WHERE id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM bookings o WHERE o.ticket_id = touched.id AND o.billable AND ({held_o} IS NULL \
              OR EXISTS (SELECT 1 FROM invoices d WHERE d.id = {held_o} AND d.status = 'draft')))) \
         SELECT t.id, t.number, t.external_system, t.external_id, i.number AS invoice_number \
         FROM billed JOIN tickets t ON t.id = billed.id \
         JOIN bookings b ON b.ticket_id = t.id AND b.billable {held_b} \
         GROUP BY t.id, t.number, t.external_system, t.external_id, i.number ORDER BY t.id, i.number"
    )
}

/// The query of [`record_tickets_billed`] for a store's backend.
pub(crate) fn sql_for(db: &Db) -> &'static str {
    static SQLITE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static POSTGRES: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match db {
        Db::Sqlite(_) => SQLITE.get_or_init(|| sql(false)),
        Db::Postgres(_) => POSTGRES.get_or_init(|| sql(true)),
    }
}

/// A ticket and one invoice number holding its time.
pub(crate) type Row = (i64, String, Option<String>, Option<String>, Option<String>);

/// The `ticket.billed` payloads of the query's rows: one per ticket, with its invoice numbers.
pub(crate) fn payloads(rows: Vec<Row>) -> Result<Vec<(i64, String)>> {
    let mut out: Vec<(i64, serde_json::Value)> = Vec::new();
    for (id, number, system, external_id, invoice_number) in rows {
        if out.last().map(|(last, _)| *last) != Some(id) {
            out.push((
                id,
                serde_json::json!({"id": id, "number": number, "external_system": system,
                                   "external_id": external_id, "invoice_numbers": []}),
            ));
        }
        if let (Some(n), Some((_, payload))) = (invoice_number, out.last_mut()) {
            if let Some(list) = payload["invoice_numbers"].as_array_mut() {
                list.push(n.into());
            }
        }
    }
    out.into_iter().map(|(id, p)| Ok((id, serde_json::to_string(&p)?))).collect()
}

/// Records `ticket.billed` inside transaction `$tx` for the tickets the issued documents
/// `$ids` (`&[i64]`) left with no billable booking open or on a draft; `$sql` from [`sql_for`].
macro_rules! record_tickets_billed {
    ($tx:expr, $sql:expr, $ids:expr, $at:expr) => {{
        let ids: &[i64] = $ids;
        let rows: Vec<crate::invoices::tickets_billed::Row> =
            sqlx::query_as($sql).bind(serde_json::to_string(ids)?).fetch_all(&mut *$tx).await?;
        let payloads = crate::invoices::tickets_billed::payloads(rows)?;
        let events: Vec<crate::bulk::EventInsert<'_>> =
            payloads.into_iter().map(|(id, p)| ("ticket.billed", "ticket", id, p)).collect();
        crate::bulk::BulkWrite::insert_events(&mut *$tx, &events, $at).await?;
    }};
}
pub(crate) use record_tickets_billed;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_billed_ticket_is_announced_once_with_all_its_invoice_numbers() {
        let rows = vec![
            (4, "T-1".into(), Some("zammad".into()), Some("81".into()), Some("RE-2026-0001".into())),
            (4, "T-1".into(), Some("zammad".into()), Some("81".into()), Some("RE-2026-0002".into())),
            (9, "T-2".into(), None, None, None),
        ];
        let out = payloads(rows).unwrap();
        assert_eq!(out.len(), 2);
        let first: serde_json::Value = serde_json::from_str(&out[0].1).unwrap();
        assert_eq!(first["invoice_numbers"], serde_json::json!(["RE-2026-0001", "RE-2026-0002"]));
        assert_eq!(first["external_id"], "81");
        let settled: serde_json::Value = serde_json::from_str(&out[1].1).unwrap();
        assert_eq!(settled["invoice_numbers"], serde_json::json!([]), "a settlement has no number");
    }
}

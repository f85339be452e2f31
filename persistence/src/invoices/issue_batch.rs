//! Issuing many drafts in one transaction ([`Store::issue_drafts_together`]), for the issue
//! job of a run: the drafts are locked and read once (their rows and line counts, not their
//! lines), numbers and feed positions are taken as one block of each counter, and the
//! invoice updates, ledger entries, events and audit records are written in bulk. What a
//! draft gets is exactly what [`Store::issue_invoice`] gives it, in the same order: the
//! next number, the customer snapshot, the due date, its quota entries in the ledger, its
//! threshold events, `invoice.issued` and the audit record.
//!
//! Only plain drafts are issued together. The first draft that is not one (a settlement,
//! a draft without lines or already issued, one waiting for an earlier quota draft, a due
//! date beyond the calendar) ends the batch: the caller issues it alone, through the path
//! that explains why it cannot be issued, and goes on after it. Numbers therefore follow
//! the order given.

use super::*;
use crate::bulk::{AuditInsert, EventInsert, IssueBatchHead, IssuedNumber};

/// A draft as issuing it together with others reads it: its row, not its lines.
#[derive(sqlx::FromRow)]
struct DraftHead {
    id: i64,
    kind: String,
    status: String,
    customer_id: i64,
    currency: String,
    net: ExactDecimal,
    vat: ExactDecimal,
    gross: ExactDecimal,
    threshold_crossings: String,
    line_count: i64,
}

/// Whether draft `id` continues the quota periods of an earlier draft still open: one of
/// `drafts` (contract, draft) of its `contracts` with a lower id that `issued` does not hold.
fn waits_for_earlier(id: i64, contracts: &[i64], drafts: &BTreeSet<(i64, i64)>, issued: &BTreeSet<i64>) -> bool {
    contracts.iter().any(|&c| drafts.range((c, i64::MIN)..(c, id)).any(|(_, d)| !issued.contains(d)))
}

impl Store {
    /// Issues the drafts `ids`, in this order, in one transaction with `opts`, as far as
    /// they can be issued together (see the module): returns how many were issued from
    /// the first. Fewer than `ids.len()`: `ids[returned]` must be issued alone
    /// ([`Store::issue_invoice`]).
    pub async fn issue_drafts_together(&self, ids: &[i64], opts: &IssueOptions, actor: &Actor) -> Result<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        let issued = in_tx!(self, tx => {
            let list = numbered_params(1, ids.len());
            // Lock the drafts (PostgreSQL: their rows; SQLite: the database, held already).
            let sql = format!("UPDATE invoices SET version = version WHERE id IN ({list})");
            ids.iter().fold(sqlx::query(&sql), |q, id| q.bind(id)).execute(&mut *tx).await?;
            let sql = format!(
                "SELECT i.id, i.kind, i.status, i.customer_id, i.currency, i.net, i.vat, i.gross, i.threshold_crossings, \
                 COALESCE((SELECT c.line_count FROM invoice_line_counts c WHERE c.invoice_id = i.id), 0) AS line_count \
                 FROM invoices i WHERE i.id IN ({list})");
            let heads: Vec<DraftHead> = ids.iter().fold(sqlx::query_as(&sql), |q, id| q.bind(id)).fetch_all(&mut *tx).await?;
            let heads: BTreeMap<i64, DraftHead> = heads.into_iter().map(|h| (h.id, h)).collect();
            // Quota order: the contracts each draft carries entries of, and every open draft
            // of those contracts.
            let sql = format!("SELECT DISTINCT invoice_id, contract_id FROM invoice_quota_entries WHERE invoice_id IN ({list})");
            let carried: Vec<(i64, i64)> = ids.iter().fold(sqlx::query_as(&sql), |q, id| q.bind(id)).fetch_all(&mut *tx).await?;
            let mut contracts_of: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
            for (invoice_id, contract_id) in &carried {
                contracts_of.entry(*invoice_id).or_default().push(*contract_id);
            }
            let contracts: BTreeSet<i64> = carried.iter().map(|(_, c)| *c).collect();
            let open_quota_drafts: BTreeSet<(i64, i64)> = if contracts.is_empty() {
                BTreeSet::new()
            } else {
                let sql = format!(
                    "SELECT DISTINCT q.contract_id, q.invoice_id FROM invoice_quota_entries q \
                     JOIN invoices i ON i.id = q.invoice_id WHERE i.status = 'draft' AND q.contract_id IN ({})",
                    numbered_params(1, contracts.len()));
                let rows: Vec<(i64, i64)> =
                    contracts.iter().fold(sqlx::query_as(&sql), |q, c| q.bind(c)).fetch_all(&mut *tx).await?;
                rows.into_iter().collect()
            };
            let customer_ids: BTreeSet<i64> = heads.values().map(|h| h.customer_id).collect();
            let sql = format!("SELECT * FROM customers WHERE id IN ({})", numbered_params(1, customer_ids.len()));
            let customers: Vec<crate::Customer> =
                customer_ids.iter().fold(sqlx::query_as(&sql), |q, c| q.bind(c)).fetch_all(&mut *tx).await?;
            let customers: BTreeMap<i64, crate::Customer> = customers.into_iter().map(|c| (c.id, c)).collect();

            // The drafts issued together: the plain ones from the first.
            let mut batch: Vec<(&DraftHead, &crate::Customer, Date)> = Vec::with_capacity(ids.len());
            let mut in_batch: BTreeSet<i64> = BTreeSet::new();
            for id in ids {
                let Some(head) = heads.get(id) else { break };
                let plain = head.kind == InvoiceKind::Invoice.as_str()
                    && head.status == InvoiceStatus::Draft.as_str()
                    && head.line_count > 0
                    && !waits_for_earlier(*id, contracts_of.get(id).map_or(&[][..], |c| c), &open_quota_drafts, &in_batch);
                let customer = customers.get(&head.customer_id);
                let due = customer.and_then(|c| invoice::due_date(opts.issue_date, c.data.payment_terms_days));
                match (plain, customer, due) {
                    (true, Some(customer), Some(due)) => {
                        batch.push((head, customer, due));
                        in_batch.insert(*id);
                    }
                    _ => break,
                }
            }
            if batch.is_empty() {
                return Ok(0);
            }
            let n = batch.len();
            let now = DbTime::now();
            let order: Vec<i64> = batch.iter().map(|(h, _, _)| h.id).collect();
            BulkWrite::write_ledger(&mut *tx, &order, now).await?;
            // Counters last (see issue_invoice): the series lock first, then the date check.
            let year = opts.issue_date.year();
            let first_seq = next_number!(tx, invoice::sequence_name(&opts.series, year), 1, count = n as i64)?;
            check_issue_date!(tx, &opts.series, year, opts.issue_date);
            let first_feed = next_number!(tx, "accounting_feed", 1, count = n as i64)?;
            let mut numbered = Vec::with_capacity(n);
            let mut crossings: Vec<Vec<ThresholdCrossing>> = Vec::with_capacity(n);
            let mut audit_rows: Vec<AuditInsert> = Vec::with_capacity(n);
            for (i, (head, customer, due)) in batch.iter().enumerate() {
                let seq = first_seq + i as i64;
                let number = invoice::format_number(&opts.series, year, seq);
                crossings.push(serde_json::from_str(&head.threshold_crossings)?);
                let view = |status: InvoiceStatus, number: Option<&str>| {
                    serde_json::to_string(&AuditView {
                        kind: InvoiceKind::Invoice.as_str(),
                        status: status.as_str(),
                        number,
                        customer_id: head.customer_id,
                        net: head.net.0,
                        vat: head.vat.0,
                        gross: head.gross.0,
                        lines: head.line_count as usize,
                    })
                };
                audit_rows.push((
                    head.id,
                    Some(view(InvoiceStatus::Draft, None)?),
                    Some(view(InvoiceStatus::Issued, Some(&number))?),
                ));
                numbered.push(IssuedNumber {
                    id: head.id,
                    seq,
                    number,
                    due_date: *due,
                    snapshot: serde_json::to_string(&CustomerSnapshot::of(customer))?,
                    feed_seq: first_feed + i as i64,
                });
            }
            let seller = crate::company::issuing_seller!(tx);
            let head = IssueBatchHead {
                series: &opts.series,
                year: i64::from(year),
                issue_date: opts.issue_date,
                at: now,
                seller: seller.as_deref(),
            };
            let updated = BulkWrite::issue_drafts(&mut *tx, head, &numbered).await?;
            if updated != n as u64 {
                return Err(StoreError::Conflict("a draft of the batch changed while it was issued".into()));
            }
            // The issued rows, for the events (one read of the batch).
            let sql = format!("SELECT * FROM invoices WHERE id IN ({})", numbered_params(1, n));
            let rows: Vec<InvoiceRow> = order.iter().fold(sqlx::query_as(&sql), |q, id| q.bind(id)).fetch_all(&mut *tx).await?;
            let mut after: BTreeMap<i64, Invoice> =
                rows.into_iter().map(|r| Ok((r.id, r.into_invoice(Vec::new())?))).collect::<Result<_>>()?;
            // Per draft as issue_invoice records them: its threshold crossings, then `invoice.issued`.
            let mut events: Vec<EventInsert<'_>> = Vec::with_capacity(n * 2);
            for (((head, _, _), issued), crossed) in batch.iter().zip(&numbered).zip(&crossings) {
                for c in crossed {
                    events.push(("contract.quota_threshold", "contract", c.contract_id, serde_json::to_string(c)?));
                }
                let currency: Currency =
                    head.currency.parse().map_err(|e: domain::currency::UnknownCurrency| bad(e.to_string()))?;
                let issued_invoice = after.remove(&head.id).ok_or(StoreError::NotFound)?;
                let payload = issued_invoice.event_payload(head.line_count as usize, serde_json::json!({
                    "invoice_id": head.id, "number": issued.number, "customer_id": head.customer_id,
                    "gross": head.gross.0.to_string(), "currency": currency.code(),
                }))?;
                events.push(("invoice.issued", "invoice", head.id, serde_json::to_string(&payload)?));
            }
            BulkWrite::insert_events(&mut *tx, &events, now).await?;
            BulkWrite::insert_audit(&mut *tx, actor, "invoice", "issue", &audit_rows).await?;
            n
        });
        Ok(issued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_waits_only_for_earlier_open_drafts_of_its_contracts_not_issued_with_it() {
        let drafts: BTreeSet<(i64, i64)> = [(7, 10), (7, 12), (8, 11)].into_iter().collect();
        let none = BTreeSet::new();
        assert!(!waits_for_earlier(10, &[7], &drafts, &none), "the first draft of a contract waits for none");
        assert!(waits_for_earlier(12, &[7], &drafts, &none), "draft 10 of contract 7 is still open");
        let ten_issued: BTreeSet<i64> = [10].into_iter().collect();
        assert!(!waits_for_earlier(12, &[7], &drafts, &ten_issued), "issued in the same batch; 11 is contract 8's");
        assert!(waits_for_earlier(12, &[7, 8], &drafts, &ten_issued), "draft 11 of contract 8 is still open");
        assert!(!waits_for_earlier(12, &[], &drafts, &none), "no quota, no wait");
    }

    #[test]
    fn numbered_parameters_continue_from_the_first() {
        assert_eq!(numbered_params(1, 3), "$1, $2, $3");
        assert_eq!(numbered_params(4, 1), "$4");
    }
}

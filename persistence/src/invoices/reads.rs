//! Reading documents: an invoice with its lines, the positions it settles, lists, the
//! quota ledger and open drafts' quota of a contract, and what a run leaves open or settles.

use super::*;

impl Store {
    /// The invoice with its lines.
    pub async fn get_invoice(&self, id: i64) -> Result<Invoice> {
        Ok(with_pool!(self, pool => fetch_invoice!(pool, id)))
    }

    /// The positions a document settles (a cancelled one: settled), bookings first.
    pub async fn invoice_positions(&self, id: i64) -> Result<Vec<SettledPosition>> {
        let rows: Vec<PositionRow> = with_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT * FROM settled_positions WHERE invoice_id = $1 {SETTLED_ORDER}"))
            .bind(id).fetch_all(pool).await?);
        rows.into_iter().map(PositionRow::into_settled).collect()
    }

    /// Lists invoices, newest first, after the id `page.after`.
    pub async fn list_invoices(&self, f: &InvoiceFilter, page: &PageRequest<i64>) -> Result<Page<Invoice, i64>> {
        let rows: Vec<InvoiceRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM invoices i WHERE ($1 IS NULL OR i.customer_id = $1) AND ($2 IS NULL OR i.contract_id = $2) \
             AND ($3 IS NULL OR i.run_id = $3) AND ($4 IS NULL OR i.status = $4) AND ($5 IS NULL OR i.kind = $5) \
             AND ($6 IS NULL OR i.issue_date >= $6) AND ($7 IS NULL OR i.issue_date <= $7) \
             AND ($8 IS NULL OR EXISTS (SELECT 1 FROM booking_settlements bs JOIN bookings b ON b.id = bs.booking_id \
                  WHERE bs.invoice_id = i.id AND b.ticket_id = $8) \
                  OR EXISTS (SELECT 1 FROM expenses e WHERE e.invoice_id = i.id AND e.ticket_id = $8) \
                  OR EXISTS (SELECT 1 FROM invoice_positions p JOIN bookings b ON b.id = p.booking_id \
                  WHERE p.invoice_id = i.id AND b.ticket_id = $8) \
                  OR EXISTS (SELECT 1 FROM invoice_positions p JOIN expenses e ON e.id = p.expense_id \
                  WHERE p.invoice_id = i.id AND e.ticket_id = $8)) \
             AND ($9 IS NULL OR EXISTS (SELECT 1 FROM booking_settlements bs JOIN bookings b ON b.id = bs.booking_id \
                  WHERE bs.invoice_id = i.id AND b.project_id = $9) \
                  OR EXISTS (SELECT 1 FROM expenses e WHERE e.invoice_id = i.id AND e.project_id = $9) \
                  OR EXISTS (SELECT 1 FROM invoice_positions p JOIN bookings b ON b.id = p.booking_id \
                  WHERE p.invoice_id = i.id AND b.project_id = $9) \
                  OR EXISTS (SELECT 1 FROM invoice_positions p JOIN expenses e ON e.id = p.expense_id \
                  WHERE p.invoice_id = i.id AND e.project_id = $9)) \
             AND ($10 IS NULL OR i.id < $10) ORDER BY i.id DESC LIMIT $11")
            .bind(f.customer_id).bind(f.contract_id).bind(f.run_id).bind(f.status.map(|s| s.as_str()))
            .bind(f.kind.map(|k| k.as_str())).bind(f.issued_from).bind(f.issued_to).bind(f.ticket_id)
            .bind(f.project_id).bind(page.after).bind(i64::from(page.limit) + 1)
            .fetch_all(pool).await?);
        let page = Page::from_overfetch(rows, page.limit, |r| r.id);
        Ok(Page { items: self.with_lines(page.items).await?, next: page.next })
    }

    /// The invoices of `rows` with their lines, read in one query for the whole page.
    pub(super) async fn with_lines(&self, rows: Vec<InvoiceRow>) -> Result<Vec<Invoice>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let params = numbered_params(1, rows.len());
        let sql = format!("SELECT * FROM invoice_lines WHERE invoice_id IN ({params}) ORDER BY invoice_id, line_no");
        let lines: Vec<LineRow> = with_pool!(self, pool => {
            let mut q = sqlx::query_as(&sql);
            for r in &rows {
                q = q.bind(r.id);
            }
            q.fetch_all(pool).await?
        });
        let mut by_invoice: BTreeMap<i64, Vec<StoredLine>> = BTreeMap::new();
        for l in lines {
            by_invoice.entry(l.invoice_id).or_default().push(l.into_line()?);
        }
        rows.into_iter()
            .map(|r| {
                let lines = by_invoice.remove(&r.id).unwrap_or_default();
                r.into_invoice(lines)
            })
            .collect()
    }

    /// The written quota ledger of a contract (issued invoices and their credit notes).
    pub async fn contract_ledger(&self, contract_id: i64) -> Result<Vec<QuotaEntry>> {
        let rows: Vec<crate::billing::LedgerRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT contract_id, period_start, origin_period_start, kind, amount, position FROM quota_ledger \
             WHERE contract_id = $1 ORDER BY id").bind(contract_id).fetch_all(pool).await?);
        rows.into_iter().map(crate::billing::LedgerRow::into_entry).collect()
    }

    /// The quota entries of a contract's open drafts (written when they are issued).
    pub async fn contract_draft_quota(&self, contract_id: i64) -> Result<Vec<QuotaEntry>> {
        let rows: Vec<crate::billing::LedgerRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT q.contract_id, q.period_start, q.origin_period_start, q.kind, q.amount, q.position \
             FROM invoice_quota_entries q JOIN invoices i ON i.id = q.invoice_id \
             WHERE q.contract_id = $1 AND i.status = 'draft' ORDER BY q.id").bind(contract_id).fetch_all(pool).await?);
        rows.into_iter().map(crate::billing::LedgerRow::into_entry).collect()
    }

    /// The `manager_done` projects whose positions the invoices of run `run_id` settle and
    /// which have no open position left (held by no document, dated any time) — those a run
    /// moves to `billed`. (Looked up from the few finished projects, each stopping at its
    /// first position the run holds and at its first open one, through the indexes on the
    /// project: not by reading every position of the run.)
    pub async fn finished_projects_of_run(&self, run_id: i64) -> Result<Vec<i64>> {
        let holder = crate::holdings::booking_holder(self.backend(), "b");
        let held_by = crate::holdings::join_holding_document(self.backend(), "b", "i");
        let rows: Vec<i64> = with_pool!(self, pool => sqlx::query_scalar(&format!(
            "SELECT p.id FROM projects p WHERE p.status = 'manager_done' \
             AND (EXISTS (SELECT 1 FROM bookings b {held_by} \
                          WHERE b.project_id = p.id AND i.run_id = $1) \
                  OR EXISTS (SELECT 1 FROM expenses e JOIN invoices i ON i.id = e.invoice_id \
                          WHERE e.project_id = p.id AND i.run_id = $1)) \
             AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.project_id = p.id AND {holder} IS NULL) \
             AND NOT EXISTS (SELECT 1 FROM expenses e WHERE e.project_id = p.id AND e.invoice_id IS NULL) \
             ORDER BY p.id"))
            .bind(run_id).fetch_all(pool).await?);
        Ok(rows)
    }
}

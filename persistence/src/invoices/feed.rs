//! The accounting pull: issued invoices and credit notes in feed order, and the export
//! acknowledgement.

use super::*;

impl Store {
    /// The newest accounting-feed position allocated so far (0 before the first issue): a
    /// cursor beyond it was not handed out by the feed.
    pub async fn accounting_feed_head(&self) -> Result<i64> {
        let head: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT next_value FROM number_sequences WHERE name = 'accounting_feed'")
            .fetch_optional(pool).await?);
        Ok(head.unwrap_or(0))
    }

    /// Issued invoices and credit notes in feed order after `after` (exclusive).
    pub async fn accounting_feed(&self, after: Option<i64>, limit: u32) -> Result<Page<Invoice, i64>> {
        let rows: Vec<InvoiceRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM invoices WHERE feed_seq IS NOT NULL AND ($1 IS NULL OR feed_seq > $1) ORDER BY feed_seq LIMIT $2")
            .bind(after).bind(i64::from(limit) + 1).fetch_all(pool).await?);
        let page = Page::from_overfetch(rows, limit, |r| r.feed_seq.unwrap_or_default());
        Ok(Page { items: self.with_lines(page.items).await?, next: page.next })
    }

    /// Issued invoices and credit notes (also those cancelled since) with an issue date in
    /// `from..=to`, in issue order, without their lines: what the DATEV export books.
    pub async fn issued_between(&self, from: Date, to: Date) -> Result<Vec<Invoice>> {
        let rows: Vec<InvoiceRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT * FROM invoices WHERE feed_seq IS NOT NULL AND issue_date >= $1 AND issue_date <= $2 \
             ORDER BY feed_seq")
            .bind(from).bind(to).fetch_all(pool).await?);
        rows.into_iter().map(|r| r.into_invoice(Vec::new())).collect()
    }

    /// Records that an accounting system exported the invoice (`exported_at`, and in which
    /// document format when it says so, both kept from the first acknowledgement; repeating
    /// it changes nothing). Drafts are not exportable.
    pub async fn acknowledge_export(&self, id: i64, format: Option<&str>, actor: &Actor) -> Result<Invoice> {
        let after = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            if before.feed_seq.is_none() {
                return Err(StoreError::Conflict("a draft is not exported; issue it first".into()));
            }
            if before.exported_at.is_none() {
                sqlx::query("UPDATE invoices SET exported_at = $1, exported_format = $3 WHERE id = $2")
                    .bind(DbTime::now()).bind(id).bind(format).execute(&mut *tx).await?;
                let after = fetch_invoice!(&mut *tx, id);
                audit!(tx, actor, "invoice", id, "export", Some(&audit_view(&before)), Some(&audit_view(&after)));
                after
            } else {
                before
            }
        });
        Ok(after)
    }
}

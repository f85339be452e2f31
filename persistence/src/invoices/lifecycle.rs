//! Issuing (numbered, positions billed, ledger written — or settled without a number),
//! payment, and cancelling by credit note, each in one transaction.

use super::*;

/// Inserts the credit note cancelling `$before` (numbered in `$opts`' series, every amount
/// negated, its lines mirrored) inside `$tx`; evaluates to its id.
macro_rules! insert_credit_note {
    ($tx:expr, $before:expr, $opts:expr, $reason:expr, $now:expr) => {{
        let before: &Invoice = $before;
        let opts: &IssueOptions = $opts;
        let reason: Option<&str> = $reason;
        let now: DbTime = $now;
        let year = opts.issue_date.year();
        if before.issue_date.is_some_and(|d| opts.issue_date < d) {
            return Err(StoreError::Conflict("the credit note cannot be dated before the invoice".into()));
        }
        let customer: crate::Customer = sqlx::query_as("SELECT * FROM customers WHERE id = $1")
            .bind(before.customer_id)
            .fetch_one(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
        let snapshot = CustomerSnapshot::of(&customer);
        let neg = |v: Decimal| invoice::credit_amount(v);
        let vat: Vec<VatAmount> =
            before.vat.iter().map(|v| VatAmount { rate: v.rate, net: neg(v.net), vat: neg(v.vat) }).collect();
        let notes = match reason {
            Some(r) => format!("Cancels invoice {}: {r}", before.number.as_deref().unwrap_or_default()),
            None => format!("Cancels invoice {}", before.number.as_deref().unwrap_or_default()),
        };
        // The series lock first, then the date check under it (see issue_invoice).
        let seq = next_number!($tx, invoice::sequence_name(&opts.series, year), 1)?;
        check_issue_date!($tx, &opts.series, year, opts.issue_date);
        let number = invoice::format_number(&opts.series, year, seq);
        let feed_seq = next_number!($tx, "accounting_feed", 1)?;
        let seller = $crate::company::seller_snapshot!($tx);
        let credit_id: i64 = sqlx::query_scalar(
            "INSERT INTO invoices (kind, status, run_id, customer_id, contract_id, scope_ticket_id, scope_project_id, \
             currency, period_start, period_end, legal_note, net, vat, gross, vat_breakdown, quota_summaries, \
             threshold_crossings, notes, cancels_id, version, created_at, updated_at, \
             series, number_year, number_seq, number, issue_date, due_date, customer_snapshot, feed_seq, issued_at, \
             seller_snapshot, order_reference) \
             VALUES ('credit_note', 'issued', NULL, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '[]', '[]', $13, \
             $14, 1, $15, $15, $16, $17, $18, $19, $20, $20, $21, $22, $15, $23, $24) RETURNING id",
        )
        .bind(before.customer_id)
        .bind(before.contract_id)
        .bind(before.scope_ticket_id)
        .bind(before.scope_project_id)
        .bind(before.currency.code())
        .bind(before.period_start)
        .bind(before.period_end)
        .bind(before.legal_note.map(legal_note_text))
        .bind(ExactDecimal(neg(before.totals.net)))
        .bind(ExactDecimal(neg(before.totals.vat)))
        .bind(ExactDecimal(neg(before.totals.gross)))
        .bind(serde_json::to_string(&vat).map_err(StoreError::from)?)
        .bind(notes)
        .bind(before.id)
        .bind(now)
        .bind(&opts.series)
        .bind(i64::from(year))
        .bind(seq)
        .bind(&number)
        .bind(opts.issue_date)
        .bind(serde_json::to_string(&snapshot).map_err(StoreError::from)?)
        .bind(feed_seq)
        .bind(seller)
        .bind(&before.order_reference)
        .fetch_one(&mut *$tx)
        .await
        .map_err(StoreError::from)?;
        let credit_lines: Vec<(i64, InvoiceLine)> = before
            .lines
            .iter()
            .map(|l| {
                let line = InvoiceLine {
                    quantity: neg(l.line.quantity),
                    net: neg(l.line.net),
                    minutes: None,
                    positions: Vec::new(),
                    ..l.line.clone()
                };
                (l.line_no, line)
            })
            .collect();
        let rows: Vec<LineInsert<'_>> = credit_lines.iter().map(|(no, l)| (credit_id, *no, l)).collect();
        BulkWrite::insert_lines(&mut *$tx, &rows).await?;
        credit_id
    }};
}

impl Store {
    /// Issues a draft in one transaction: the next number of the series and year, the
    /// customer snapshot, due date, positions locked (`billed`), quota-ledger entries
    /// written, `invoice.issued` and quota-threshold events, the accounting-feed position.
    ///
    /// A draft continuing the quota periods of an earlier open draft of the same contract
    /// waits for it (conflict). A draft without lines is refused (it bills nothing). A
    /// settlement that waited for an earlier draft is settled instead: positions billed,
    /// ledger written, no number and no feed position.
    pub async fn issue_invoice(
        &self,
        id: i64,
        expected_version: Option<i64>,
        opts: &IssueOptions,
        actor: &Actor,
    ) -> Result<Invoice> {
        let after = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Issue)?;
            // The ledger is written in order: a draft continuing the quota periods of an
            // earlier open draft of the same contract waits for it.
            for c in contracts_with_quota!(tx, id) {
                if let Some(earlier) = earlier_quota_draft!(tx, id, c) {
                    return Err(StoreError::Conflict(format!(
                        "draft {earlier} of contract {c} comes first: this document continues its quota periods; \
                         issue that draft first (or delete this one)"
                    )));
                }
            }
            if before.kind == InvoiceKind::Settlement {
                let now = DbTime::now();
                settle!(tx, id, &before.threshold_crossings, now);
                let after = fetch_invoice!(&mut *tx, id);
                audit!(tx, actor, "invoice", id, "settle", Some(&audit_view(&before)), Some(&audit_view(&after)));
                after
            } else {
                if before.lines.is_empty() {
                    return Err(StoreError::Conflict(
                        "the draft has no lines and bills nothing; delete it (its positions open again) and run again \
                         to settle them without an invoice number"
                            .into(),
                    ));
                }
                let year = opts.issue_date.year();
                let customer: crate::Customer = sqlx::query_as("SELECT * FROM customers WHERE id = $1")
                    .bind(before.customer_id).fetch_one(&mut *tx).await?;
                let snapshot = CustomerSnapshot::of(&customer);
                let due = invoice::due_date(opts.issue_date, customer.data.payment_terms_days)
                    .ok_or_else(|| StoreError::Conflict("the due date is beyond the supported calendar".into()))?;
                let now = DbTime::now();
                bill_positions_and_write_ledger!(tx, id, &before.threshold_crossings, now);
                // Counters last: their row locks are held until commit. The date check runs under
                // the series lock, so a later number never gets an earlier date.
                let seq = next_number!(tx, invoice::sequence_name(&opts.series, year), 1)?;
                check_issue_date!(tx, &opts.series, year, opts.issue_date);
                let number = invoice::format_number(&opts.series, year, seq);
                let feed_seq = next_number!(tx, "accounting_feed", 1)?;
                let seller = crate::company::issuing_seller!(tx);
                sqlx::query(
                    "UPDATE invoices SET status = 'issued', series = $1, number_year = $2, number_seq = $3, number = $4, \
                     issue_date = $5, due_date = $6, customer_snapshot = $7, feed_seq = $8, issued_at = $9, \
                     seller_snapshot = $11, version = version + 1, updated_at = $9 WHERE id = $10")
                    .bind(&opts.series).bind(i64::from(year)).bind(seq).bind(&number).bind(opts.issue_date).bind(due)
                    .bind(serde_json::to_string(&snapshot)?).bind(feed_seq).bind(now).bind(id).bind(seller)
                    .execute(&mut *tx).await?;
                // Issuing changes the invoice row only: its lines are those read above.
                let row: InvoiceRow = sqlx::query_as("SELECT * FROM invoices WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
                let after = row.into_invoice(before.lines.clone())?;
                emit_event!(tx, "invoice.issued", "invoice", id, &after.event_payload(after.lines.len(), serde_json::json!({
                    "invoice_id": id, "number": number, "customer_id": before.customer_id,
                    "gross": before.totals.gross.to_string(), "currency": before.currency.code(),
                }))?);
                audit!(tx, actor, "invoice", id, "issue", Some(&audit_view(&before)), Some(&audit_view(&after)));
                after
            }
        });
        Ok(after)
    }

    /// Records the payment of an issued invoice.
    pub async fn mark_invoice_paid(
        &self,
        id: i64,
        expected_version: Option<i64>,
        paid_on: Date,
        actor: &Actor,
    ) -> Result<Invoice> {
        let after = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::MarkPaid)?;
            if before.issue_date.is_some_and(|d| paid_on < d) {
                return Err(StoreError::Conflict("the payment date is before the issue date".into()));
            }
            sqlx::query("UPDATE invoices SET status = 'paid', paid_on = $1, version = version + 1, updated_at = $2 WHERE id = $3")
                .bind(paid_on).bind(DbTime::now()).bind(id).execute(&mut *tx).await?;
            let after = fetch_invoice!(&mut *tx, id);
            emit_event!(tx, "invoice.paid", "invoice", id, &after.event_payload(after.lines.len(), serde_json::json!({
                "invoice_id": id, "number": before.number, "paid_on": paid_on.to_string(),
            }))?);
            audit!(tx, actor, "invoice", id, "mark_paid", Some(&audit_view(&before)), Some(&audit_view(&after)));
            after
        });
        Ok(after)
    }

    /// Cancels an issued (or paid) invoice by a credit note, in one transaction: the credit
    /// note with its own number referencing the original and every amount negated, the
    /// original `cancelled`, its positions open again, its quota consumption reversed in
    /// the ledger. Returns the cancelled original and the credit note.
    ///
    /// A settlement is cancelled the same way but without a credit note (it billed
    /// nothing): its positions are open again and its quota consumption reversed.
    pub async fn cancel_invoice(
        &self,
        id: i64,
        expected_version: Option<i64>,
        opts: &IssueOptions,
        reason: Option<&str>,
        actor: &Actor,
    ) -> Result<(Invoice, Option<Invoice>)> {
        let out = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Cancel)?;
            let now = DbTime::now();
            let credit = if before.kind == InvoiceKind::Settlement {
                None
            } else {
                Some(insert_credit_note!(tx, &before, opts, reason, now))
            };
            // The reversal entries are the credit note's; a settlement's are its own.
            let reversed_by = credit.unwrap_or(id);
            // What it settled stays readable (proof of service, re-billing) as history; the
            // positions are open again.
            let settled: Vec<PositionRow> = sqlx::query_as(&format!(
                "SELECT * FROM settled_positions WHERE invoice_id = $1 {SETTLED_ORDER}"))
                .bind(id).fetch_all(&mut *tx).await?;
            let history: Vec<(i64, PositionInsert)> =
                settled.into_iter().map(|r| Ok((id, r.into_history()?))).collect::<Result<_>>()?;
            BulkWrite::insert_history(&mut *tx, &history).await?;
            release_positions!(tx, id);
            let written: Vec<crate::billing::LedgerRow> = sqlx::query_as(
                "SELECT contract_id, period_start, origin_period_start, kind, amount, position FROM quota_ledger \
                 WHERE invoice_id = $1 ORDER BY id").bind(id).fetch_all(&mut *tx).await?;
            let written: Vec<QuotaEntry> =
                written.into_iter().map(crate::billing::LedgerRow::into_entry).collect::<Result<_>>()?;
            for e in domain::quota::reversal_entries(&written) {
                sqlx::query(
                    "INSERT INTO quota_ledger (contract_id, period_start, origin_period_start, kind, amount, position, \
                     invoice_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(e.contract_id).bind(e.period_start).bind(e.origin_period_start).bind(e.kind.as_str())
                    .bind(ExactDecimal(e.amount)).bind(e.position.map(|p| serde_json::to_string(&p)).transpose()?)
                    .bind(reversed_by).bind(now).execute(&mut *tx).await?;
            }
            sqlx::query(
                "UPDATE invoices SET status = 'cancelled', cancelled_by_id = $1, cancelled_at = $2, version = version + 1, \
                 updated_at = $2 WHERE id = $3")
                .bind(credit).bind(now).bind(id).execute(&mut *tx).await?;
            advance_billing_version!(tx, before.customer_id, None);
            let original = fetch_invoice!(&mut *tx, id);
            emit_event!(tx, "invoice.cancelled", "invoice", id, &original.event_payload(original.lines.len(), serde_json::json!({
                "invoice_id": id, "kind": before.kind.as_str(), "number": before.number, "credit_note_id": credit,
            }))?);
            audit!(tx, actor, "invoice", id, "cancel", Some(&audit_view(&before)), Some(&audit_view(&original)));
            let credit = match credit {
                Some(credit_id) => {
                    let credit = fetch_invoice!(&mut *tx, credit_id);
                    audit!(tx, actor, "invoice", credit_id, "create", None::<&AuditView>, Some(&audit_view(&credit)));
                    Some(credit)
                }
                None => None,
            };
            (original, credit)
        });
        Ok(out)
    }
}

//! Changing a draft before it is issued: manual lines, removing lines (their positions
//! open again), moving covered or non-billable positions out, notes and the order reference,
//! and deleting the draft.

use super::*;

/// Writes the totals of the invoice's remaining lines inside `$tx` (after an edit).
macro_rules! retotal {
    ($tx:expr, $invoice:expr, $lines:expr) => {{
        let inv: &Invoice = $invoice;
        let lines: &[&InvoiceLine] = $lines;
        let (vat, totals) = invoice::document_totals(lines.iter().map(|l| (l.vat_rate, l.net)), inv.currency)
            .ok_or_else(|| StoreError::Conflict("the invoice totals would overflow".into()))?;
        sqlx::query(
            "UPDATE invoices SET net = $1, vat = $2, gross = $3, vat_breakdown = $4, version = version + 1, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(ExactDecimal(totals.net))
        .bind(ExactDecimal(totals.vat))
        .bind(ExactDecimal(totals.gross))
        .bind(serde_json::to_string(&vat).map_err(StoreError::from)?)
        .bind(DbTime::now())
        .bind(inv.id)
        .execute(&mut *$tx)
        .await
        .map_err(StoreError::from)?;
    }};
}

/// Fails with a conflict when a later document (not cancelled) of one of `$contracts`
/// continues this draft's quota entries (its periods, carry-over and consumption).
macro_rules! check_no_later_contract_invoice {
    ($tx:expr, $invoice_id:expr, $contracts:expr) => {{
        for contract_id in $contracts {
            let later: Option<(i64, Option<String>)> = sqlx::query_as(
                "SELECT i.id, i.number FROM invoices i WHERE i.id > $1 AND i.status <> 'cancelled' AND i.kind <> 'credit_note' \
                 AND EXISTS (SELECT 1 FROM invoice_quota_entries q WHERE q.invoice_id = i.id AND q.contract_id = $2) \
                 ORDER BY i.id LIMIT 1",
            )
            .bind($invoice_id)
            .bind(contract_id)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
            if let Some((id, number)) = later {
                return Err(StoreError::Conflict(format!(
                    "invoice {} of contract {contract_id} was created later and continues this draft's quota; \
                     delete or cancel it first",
                    number.unwrap_or_else(|| format!("{id} (a draft or settlement)"))
                )));
            }
        }
    }};
}

/// Refuses (409) to take `$positions` out of draft `$id` when one of them used prepaid
/// quota: its ledger entries depend on it, only deleting the draft undoes them.
/// `$what` starts the message ("the line bills work that", "the position").
macro_rules! refuse_quota_positions {
    ($tx:expr, $id:expr, $positions:expr, $what:expr) => {{
        let quota_rows: Vec<crate::billing::LedgerRow> = sqlx::query_as(
            "SELECT contract_id, period_start, origin_period_start, kind, amount, position FROM invoice_quota_entries \
             WHERE invoice_id = $1",
        )
        .bind($id)
        .fetch_all(&mut *$tx)
        .await
        .map_err(StoreError::from)?;
        for e in quota_rows {
            let e = e.into_entry()?;
            if e.position.is_some_and(|p| $positions.contains(&p)) {
                return Err(StoreError::Conflict(format!(
                    "{} used the prepaid quota of contract {}; delete the draft and run again instead \
                     (e.g. after marking the work not billable)",
                    $what, e.contract_id
                )));
            }
        }
    }};
}

/// Opens booking `$booking_id` held by document `$id` again inside `$tx` (with its fields).
macro_rules! clear_booking_stamp {
    ($tx:expr, $id:expr, $booking_id:expr) => {{
        sqlx::query(crate::invoices::booking_release_sql(crate::store::backend_of(&$tx), true))
            .bind($id)
            .bind($booking_id)
            .execute(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
    }};
}

/// Takes position `$position` out of draft `$id` inside `$tx`: a booking's or expense's stamp
/// is cleared (it is open again), a custom-field quantity leaves the booking's settled
/// fields, a fee period is no longer billed.
macro_rules! release_position {
    ($tx:expr, $id:expr, $position:expr) => {{
        let id: i64 = $id;
        match *$position {
            PositionRef::Booking { id: booking_id } => clear_booking_stamp!($tx, id, booking_id),
            PositionRef::BookingField { booking_id, field_id } => {
                let held: Option<(Option<String>, Option<String>)> =
                    sqlx::query_as(
                        "SELECT treatment, settled_fields FROM booking_settlements WHERE booking_id = $1 AND invoice_id = $2",
                    )
                        .bind(booking_id)
                        .bind(id)
                        .fetch_optional(&mut *$tx)
                        .await
                        .map_err(StoreError::from)?;
                if let Some((treatment, fields)) = held {
                    let mut fields: Vec<SettledField> = match fields {
                        Some(f) => serde_json::from_str(&f).map_err(StoreError::from)?,
                        None => Vec::new(),
                    };
                    fields.retain(|f| f.field_id != field_id);
                    if fields.is_empty() && treatment.is_none() {
                        clear_booking_stamp!($tx, id, booking_id);
                    } else {
                        let json = if fields.is_empty() {
                            None
                        } else {
                            Some(serde_json::to_string(&fields).map_err(StoreError::from)?)
                        };
                        sqlx::query(match crate::store::backend_of(&$tx) {
                            crate::Backend::Postgres => {
                                "UPDATE booking_settlements SET settled_fields = $1 WHERE booking_id = $2 \
                                 AND invoice_id = $3"
                            }
                            // The booking's entry in the document's array (migrations/sqlite/0027).
                            crate::Backend::Sqlite => {
                                "UPDATE booking_settlement_sets SET settlements = json_set(settlements, \
                                 (SELECT '$[' || e.key || '][8]' FROM json_each(settlements) e \
                                  WHERE e.value ->> 0 = $2), json($1)) WHERE invoice_id = $3"
                            }
                        })
                            .bind(json)
                            .bind(booking_id)
                            .bind(id)
                            .execute(&mut *$tx)
                            .await
                            .map_err(StoreError::from)?;
                    }
                }
            }
            PositionRef::Expense { id: expense_id } => {
                sqlx::query(concat!(
                    "UPDATE expenses SET ",
                    expense_unstamped!(),
                    " WHERE id = $1 AND invoice_id = $2"
                ))
                .bind(expense_id)
                .bind(id)
                .execute(&mut *$tx)
                .await
                .map_err(StoreError::from)?;
            }
            PositionRef::ContractFee { contract_id, period_start } => {
                sqlx::query(
                    "DELETE FROM contract_fee_periods WHERE contract_id = $1 AND period_start = $2 AND invoice_id = $3",
                )
                .bind(contract_id)
                .bind(period_start)
                .bind(id)
                .execute(&mut *$tx)
                .await
                .map_err(StoreError::from)?;
            }
        }
    }};
}

impl Store {
    /// Adds a manual line to a draft and recomputes its totals.
    pub async fn add_manual_line(
        &self,
        id: i64,
        expected_version: Option<i64>,
        line: &ManualLine,
        actor: &Actor,
    ) -> Result<Invoice> {
        let after = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Edit)?;
            let net = invoice::manual_line_net(line.quantity, line.unit_price, before.currency)
                .ok_or_else(|| StoreError::Conflict("the line's net would overflow".into()))?;
            let new = InvoiceLine {
                kind: LineKind::Manual,
                description: line.description.clone(),
                contract_id: None,
                service_id: None,
                ticket_id: None,
                quantity: line.quantity,
                minutes: None,
                unit: line.unit,
                unit_price: domain::money::with_minor_units(line.unit_price, before.currency),
                net,
                vat_rate: line.vat_rate,
                surcharge: None,
                positions: Vec::new(),
            };
            let next_no = before.lines.iter().map(|l| l.line_no).max().unwrap_or(0) + 1;
            BulkWrite::insert_lines(&mut *tx, &[(id, next_no, &new)]).await?;
            let mut all: Vec<&InvoiceLine> = before.lines.iter().map(|l| &l.line).collect();
            all.push(&new);
            retotal!(tx, &before, &all);
            let after = fetch_invoice!(&mut *tx, id);
            audit!(tx, actor, "invoice", id, "add_line", Some(&audit_view(&before)), Some(&audit_view(&after)));
            after
        });
        Ok(after)
    }

    /// Removes a line from a draft, together with every line billing a part of the same
    /// bookings and expenses; their positions are open again. A line whose positions used
    /// prepaid quota, or a fee a later invoice continues from, cannot be removed (delete
    /// the draft instead). Returns the draft and the ids of the lines removed.
    pub async fn remove_invoice_line(
        &self,
        id: i64,
        line_id: i64,
        expected_version: Option<i64>,
        actor: &Actor,
    ) -> Result<(Invoice, Vec<i64>)> {
        let out = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Edit)?;
            let idx = before.lines.iter().position(|l| l.id == line_id).ok_or(StoreError::NotFound)?;
            // The customer's billing row first (see delete_draft).
            advance_billing_version!(tx, before.customer_id, None);
            let line_positions: Vec<Vec<PositionRef>> = before.lines.iter().map(|l| l.line.positions.clone()).collect();
            let leaving = invoice::lines_leaving_with(&line_positions, idx);
            let settled: Vec<PositionRow> = sqlx::query_as(&format!(
                "SELECT * FROM settled_positions WHERE invoice_id = $1 {SETTLED_ORDER}"))
                .bind(id).fetch_all(&mut *tx).await?;
            let all: Vec<PositionRef> = settled.iter().map(PositionRow::position).collect::<Result<_>>()?;
            let released = invoice::released_positions(&line_positions, &leaving, &all);
            refuse_quota_positions!(tx, id, released, "the line bills work that");
            let fee_contracts: BTreeSet<i64> = released
                .iter()
                .filter_map(|p| match p {
                    PositionRef::ContractFee { contract_id, .. } => Some(*contract_id),
                    _ => None,
                })
                .collect();
            check_no_later_contract_invoice!(tx, id, fee_contracts);
            let removed: Vec<i64> = leaving.iter().filter_map(|&i| before.lines.get(i)).map(|l| l.id).collect();
            for p in &released {
                release_position!(tx, id, p);
            }
            for lid in &removed {
                // By document too: on SQLite a line is found within its document's array.
                sqlx::query("DELETE FROM invoice_lines WHERE invoice_id = $1 AND id = $2")
                    .bind(id)
                    .bind(lid)
                    .execute(&mut *tx)
                    .await?;
            }
            let remaining: Vec<&InvoiceLine> =
                before.lines.iter().filter(|l| !removed.contains(&l.id)).map(|l| &l.line).collect();
            retotal!(tx, &before, &remaining);
            let after = fetch_invoice!(&mut *tx, id);
            audit!(tx, actor, "invoice", id, "remove_line", Some(&audit_view(&before)), Some(&audit_view(&after)));
            (after, removed)
        });
        Ok(out)
    }

    /// Moves a booking or expense that a draft settles without billing it (`covered` or
    /// `non_billable`) out of the draft: it is open again (the next run decides anew) and
    /// the draft keeps everything else. A position billed on a line is removed with its
    /// line; one that used prepaid quota only by deleting the draft.
    pub async fn release_settled_position(
        &self,
        id: i64,
        position: PositionRef,
        expected_version: Option<i64>,
        actor: &Actor,
    ) -> Result<Invoice> {
        let owner_keys = |key: &str| match position {
            PositionRef::Booking { id } => {
                key == format!("booking:{id}") || key.starts_with(&format!("booking_field:{id}:"))
            }
            PositionRef::Expense { id } => key == format!("expense:{id}"),
            _ => false,
        };
        let after = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Edit)?;
            advance_billing_version!(tx, before.customer_id, None);
            let settled: Vec<PositionRow> = sqlx::query_as(&format!(
                "SELECT * FROM settled_positions WHERE invoice_id = $1 {SETTLED_ORDER}"))
                .bind(id).fetch_all(&mut *tx).await?;
            let rows: Vec<&PositionRow> = settled.iter().filter(|r| owner_keys(&r.position_key)).collect();
            if rows.is_empty() {
                return Err(StoreError::NotFound);
            }
            let refs: Vec<PositionRef> = rows.iter().map(|r| r.position()).collect::<Result<_>>()?;
            if let Some(line) = before.lines.iter().find(|l| l.line.positions.iter().any(|p| refs.contains(p))) {
                return Err(StoreError::Conflict(format!(
                    "the position is billed on line {}: remove the line instead (DELETE /invoices/{id}/lines/{})",
                    line.line_no, line.id
                )));
            }
            refuse_quota_positions!(tx, id, refs, "the position");
            // The booking or expense itself: its stamp goes with its fields.
            release_position!(tx, id, &position);
            let lines: Vec<&InvoiceLine> = before.lines.iter().map(|l| &l.line).collect();
            retotal!(tx, &before, &lines);
            let after = fetch_invoice!(&mut *tx, id);
            audit!(tx, actor, "invoice", id, "release_position", Some(&audit_view(&before)), Some(&audit_view(&after)));
            after
        });
        Ok(after)
    }

    /// Changes a draft's texts: its notes (printed on the invoice) and the buyer's order
    /// reference (its purchase order number, BT-13 of the e-invoice).
    pub async fn set_invoice_texts(
        &self,
        id: i64,
        expected_version: Option<i64>,
        notes: Option<&str>,
        order_reference: Option<&str>,
        actor: &Actor,
    ) -> Result<Invoice> {
        let after = in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Edit)?;
            sqlx::query(
                "UPDATE invoices SET notes = $1, order_reference = $4, version = version + 1, updated_at = $2 \
                 WHERE id = $3")
                .bind(notes).bind(DbTime::now()).bind(id).bind(order_reference).execute(&mut *tx).await?;
            let after = fetch_invoice!(&mut *tx, id);
            audit!(tx, actor, "invoice", id, "update", Some(&audit_view(&before)), Some(&audit_view(&after)));
            after
        });
        Ok(after)
    }

    /// Deletes a draft; its positions are open again and its quota entries vanish. A draft
    /// a later invoice continues from (quota or fees of the same contract) is a conflict.
    pub async fn delete_draft(&self, id: i64, expected_version: Option<i64>, actor: &Actor) -> Result<()> {
        in_tx!(self, tx => {
            let before = lock_invoice!(tx, id);
            check_version(&before, expected_version)?;
            before.check(InvoiceAction::Delete)?;
            // Take the customer's billing row first: a run storing drafts meanwhile either
            // committed before (and is seen below) or waits and computes again.
            advance_billing_version!(tx, before.customer_id, None);
            let contracts = contracts_with_quota!(tx, id);
            check_no_later_contract_invoice!(tx, id, contracts);
            release_positions!(tx, id);
            sqlx::query("DELETE FROM invoice_quota_entries WHERE invoice_id = $1").bind(id).execute(&mut *tx).await?;
            // Its lines go with it (`ON DELETE CASCADE`; on SQLite one row, not line by line).
            sqlx::query("DELETE FROM invoices WHERE id = $1").bind(id).execute(&mut *tx).await?;
            audit!(tx, actor, "invoice", id, "delete", Some(&audit_view(&before)), None::<&AuditView>);
        });
        Ok(())
    }
}

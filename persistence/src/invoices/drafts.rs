//! Storing a run's proposals: draft invoices and settlements holding exactly the positions
//! computed ([`Store::create_drafts`]; a chunk of customers in one transaction,
//! [`Store::create_drafts_together`]): each booking and expense is stamped with its document
//! (one row write per position), each fee period recorded once. Every table is written for
//! the whole chunk at once: the billing versions and invoice rows first ([`write_documents!`],
//! [`super::draft_rows`]), then audit records, events, lines, quota entries, fee periods and
//! stamps ([`write_positions!`]).

use super::draft_rows::{DocumentInsert, DraftWrite};
use super::*;
use std::collections::HashSet;

/// Every position a proposal settles, each once: its outcomes, plus the line positions
/// without an outcome of their own (fees, custom-field quantities), those billed under
/// their line's contract.
fn settled_positions<'a>(
    outcomes: &'a [PositionOutcome],
    lines: &'a [InvoiceLine],
) -> Vec<(PositionRef, Option<i64>, Option<&'a PositionOutcome>)> {
    let mut seen: HashSet<PositionRef> = HashSet::with_capacity(outcomes.len() + 4);
    let mut out = Vec::with_capacity(outcomes.len() + 4);
    for o in outcomes {
        if seen.insert(o.position) {
            out.push((o.position, o.contract_id, Some(o)));
        }
    }
    for l in lines {
        for &p in &l.positions {
            if seen.insert(p) {
                out.push((p, l.contract_id, None));
            }
        }
    }
    out
}

/// What drafts hold: the stamps of their bookings and expenses and their fee periods.
#[derive(Debug, Default)]
pub(crate) struct Held {
    bookings: Vec<PositionStamp>,
    /// SQLite: the bookings' settlements as their documents' arrays, built while the invoice
    /// rows are written (empty: built when held).
    booking_arrays: Vec<(i64, String)>,
    expenses: Vec<PositionStamp>,
    fees: Vec<(i64, i64, Date)>,
}

/// What the drafts of one customer's computation will hold, worked out before they are
/// stored (CPU only: a run does it while the chunk before is written): the stamps and fee
/// periods of their positions, each naming its draft by the proposal's index until the
/// drafts have ids, and how many positions each proposal settles.
#[derive(Debug)]
pub struct DraftHolding {
    held: Held,
    counts: Vec<usize>,
    /// Each proposal's lines serialized ahead (SQLite; empty: serialized when stored).
    packed: Vec<PackedLines>,
}

impl DraftHolding {
    /// What the proposals of `billing` hold, read at `versions`; with `pack_lines` their
    /// lines serialized as SQLite stores them, too.
    pub fn of(billing: &CustomerBilling, versions: &PositionVersions, pack_lines: bool) -> Result<DraftHolding> {
        let mut held = Held::default();
        let mut counts = Vec::with_capacity(billing.proposals.len());
        // One stamp per booking — its minutes (`Booking`) and its custom-field quantities
        // (`BookingField`) together — naming the first proposal that settles any of them.
        let mut bookings: Vec<(PositionStamp, Vec<SettledField>)> = Vec::new();
        let mut booking_at: rustc_hash::FxHashMap<i64, usize> = Default::default();
        for (index, p) in billing.proposals.iter().enumerate() {
            let settled = settled_positions(&p.positions, &p.lines);
            counts.push(settled.len());
            let index = index as i64;
            for (position, contract_id, o) in settled {
                let treatment = o.map_or(PositionStatus::Billed, |o| o.status);
                let covered_value = o.and_then(|o| o.covered_value);
                let open = |id: i64, read: PositionRef| {
                    // A position not read (never the case) is not open in version 0.
                    let read = versions.get(&read).copied();
                    PositionStamp {
                        id,
                        version: read.map_or(0, |r| r.version),
                        customer_id: read.map_or(billing.customer_id, |r| r.customer_id),
                        date: read.map_or(Date::MIN, |r| r.date),
                        invoice_id: index,
                        contract_id: None,
                        treatment: None,
                        actual: None,
                        rounded: None,
                        covered: None,
                        covered_value: None,
                        fields: None,
                    }
                };
                match position {
                    PositionRef::ContractFee { contract_id, period_start } => {
                        held.fees.push((index, contract_id, period_start))
                    }
                    PositionRef::Expense { id } => held.expenses.push(PositionStamp {
                        contract_id,
                        treatment: Some(treatment),
                        covered_value,
                        ..open(id, position)
                    }),
                    PositionRef::Booking { id } | PositionRef::BookingField { booking_id: id, .. } => {
                        let at = *booking_at.entry(id).or_insert_with(|| {
                            bookings.push((open(id, PositionRef::Booking { id }), Vec::new()));
                            bookings.len() - 1
                        });
                        let (stamp, fields) = &mut bookings[at];
                        match position {
                            PositionRef::BookingField { field_id, .. } => fields.push(SettledField {
                                field_id,
                                contract_id,
                                treatment: treatment.as_str().to_string(),
                                covered_value: covered_value.map(|v| v.to_string()),
                            }),
                            _ => {
                                stamp.contract_id = contract_id;
                                stamp.treatment = Some(treatment);
                                stamp.actual = o.and_then(|o| o.actual_minutes).map(i64::from);
                                stamp.rounded = to_i64(o.and_then(|o| o.rounded_minutes));
                                stamp.covered = to_i64(o.and_then(|o| o.covered_minutes));
                                stamp.covered_value = covered_value;
                            }
                        }
                    }
                }
            }
        }
        bookings.sort_unstable_by_key(|b| b.0.id);
        held.bookings.reserve(bookings.len());
        for (mut stamp, fields) in bookings {
            if !fields.is_empty() {
                stamp.fields = Some(serde_json::to_string(&fields)?);
            }
            held.bookings.push(stamp);
        }
        let packed = match pack_lines {
            true => billing.proposals.iter().map(|p| PackedLines::of(&p.lines)).collect::<Result<_>>()?,
            false => Vec::new(),
        };
        Ok(DraftHolding { held, counts, packed })
    }

    /// Adds what the drafts `ids` (one per proposal, in order) hold to `held`, and each
    /// one's number of positions to `counts`.
    fn add_to(&self, held: &mut Held, counts: &mut Vec<usize>, ids: &[i64]) {
        let id = |index: i64| ids[index as usize];
        let stamp = |s: &PositionStamp| PositionStamp { invoice_id: id(s.invoice_id), ..s.clone() };
        held.bookings.extend(self.held.bookings.iter().map(stamp));
        held.expenses.extend(self.held.expenses.iter().map(stamp));
        held.fees.extend(self.held.fees.iter().map(|&(index, contract_id, start)| (id(index), contract_id, start)));
        counts.extend_from_slice(&self.counts);
    }
}

/// What stored documents still need written after their invoice rows: their events, lines,
/// quota entries, settled positions (stamps and fee periods) and the settlements to close —
/// of one customer, or of a whole chunk written at once.
#[derive(Default)]
struct Pending<'a> {
    drafted: Vec<crate::bulk::EventInsert<'a>>,
    lines: Vec<DocumentLines<'a>>,
    quota: Vec<(i64, &'a QuotaEntry)>,
    /// The stamps and fee periods of the positions the documents settle.
    held: Held,
    settlements: Vec<(i64, Vec<&'a ThresholdCrossing>)>,
    /// The audit records of the documents created, each with who created it.
    created: Vec<(&'a Actor, crate::bulk::AuditInsert)>,
}

/// Writes the invoice rows of the drafts of customers (`$batches`, [`DraftBatch`]es) inside
/// `$tx` — their billing versions advanced in one statement, the rows in another — and adds
/// the rest (their audit records among it) to `$pending` ([`Pending`]): evaluates to each
/// customer's [`DraftOutcome::Created`], or `None` when a customer's billing version moved
/// on (stale; the caller rolls back).
macro_rules! write_documents {
    ($tx:expr, $batches:expr, $pending:expr) => {
        async {
            let tx = &mut *$tx;
            let backend = crate::store::backend_of(&*tx);
            let batches: &[DraftBatch<'_>] = $batches;
            let pending: &mut Pending<'_> = $pending;
            let read: Vec<(i64, i64)> = batches.iter().map(|b| (b.customer_id, b.billing_version)).collect();
            // A customer twice: the second computation is stale once the first is stored.
            let customers: BTreeSet<i64> = read.iter().map(|r| r.0).collect();
            if customers.len() != read.len()
                || DraftWrite::advance_billing_versions(&mut *tx, &read).await? != read.len() as u64
            {
                return Ok(None);
            }
            // What each proposal becomes: (batch, proposal index and proposal, contract, kind,
            // status, crossings).
            let mut planned = Vec::new();
            for (i, b) in batches.iter().enumerate() {
                for (k, p) in b.billing.proposals.iter().enumerate() {
                    let contract_id = p.contract_id.or(b.scope_contract_id);
                    // A proposal without lines bills nothing: it becomes a settlement, final at
                    // once. (It waits as a draft while it continues the quota of an earlier open
                    // draft: the ledger is written in order.)
                    let kind = InvoiceKind::of_proposal(p.lines.len());
                    let mut status = InvoiceStatus::Draft;
                    if kind == InvoiceKind::Settlement {
                        status = InvoiceStatus::Settled;
                        let contracts: BTreeSet<i64> = p.quota_entries.iter().map(|e| e.contract_id).collect();
                        for c in contracts {
                            if earlier_quota_draft!(tx, i64::MAX, c).is_some() {
                                status = InvoiceStatus::Draft;
                            }
                        }
                    }
                    let crossings: Vec<&ThresholdCrossing> = b
                        .billing
                        .threshold_crossings
                        .iter()
                        .filter(|c| p.quota_entries.iter().any(|e| e.contract_id == c.contract_id))
                        .collect();
                    planned.push((i, k, p, contract_id, kind, status, crossings));
                }
            }
            let now = DbTime::now();
            let document_ids = DraftWrite::reserve_document_ids(&mut *tx, planned.len()).await?;
            let mut rows = Vec::with_capacity(planned.len());
            for ((i, _, p, contract_id, kind, status, crossings), &id) in planned.iter().zip(&document_ids) {
                let b = &batches[*i];
                rows.push(DocumentInsert {
                    id,
                    kind: kind.as_str(),
                    status: status.as_str(),
                    run_id: b.run_id,
                    customer_id: b.customer_id,
                    contract_id: *contract_id,
                    scope_ticket_id: b.scope_ticket_id,
                    scope_project_id: b.scope_project_id,
                    currency: p.currency.code(),
                    period_start: p.period_start,
                    period_end: p.period_end,
                    legal_note: p.legal_note.map(legal_note_text),
                    net: p.totals.net,
                    vat: p.totals.vat,
                    gross: p.totals.gross,
                    vat_breakdown: serde_json::to_string(&p.vat)?,
                    quota_summaries: serde_json::to_string(&p.quota_summaries)?,
                    threshold_crossings: serde_json::to_string(crossings)?,
                });
            }
            // The positions each document settles and their stamps (worked out ahead by a run,
            // [`DraftHolding`]) are given the documents' ids while the invoice rows are written.
            let settle = async {
                let sqlite = backend == crate::Backend::Sqlite;
                let mut held = Held::default();
                let mut counts = Vec::with_capacity(planned.len());
                let mut ids = document_ids.as_slice();
                for b in batches {
                    let (mine, rest) = ids.split_at(b.billing.proposals.len());
                    ids = rest;
                    let worked_out;
                    let holding = match b.holding {
                        // Worked out from this computation (one count per proposal).
                        Some(holding) if holding.counts.len() == b.billing.proposals.len() => holding,
                        _ => {
                            worked_out = DraftHolding::of(b.billing, b.versions, false)?;
                            &worked_out
                        }
                    };
                    holding.add_to(&mut held, &mut counts, mine);
                }
                held.bookings.sort_unstable_by_key(|s| s.id);
                if sqlite {
                    held.booking_arrays = crate::bulk::settlement_arrays(&held.bookings)?;
                }
                Ok::<_, StoreError>((held, counts))
            };
            let (stored, settled) =
                futures_util::future::join(DraftWrite::insert_documents(&mut *tx, &rows, now), settle).await;
            let mut stored: BTreeMap<i64, InvoiceRow> = stored?.into_iter().map(|row| (row.id, row)).collect();
            let (held, counts) = settled?;
            pending.held = held;
            let mut ids: Vec<Vec<i64>> = batches.iter().map(|b| Vec::with_capacity(b.billing.proposals.len())).collect();
            let mut positions = vec![0; batches.len()];
            for (((i, k, p, contract_id, _, status, crossings), id), count) in planned.into_iter().zip(document_ids).zip(counts) {
                let b = &batches[i];
                let created = stored
                    .remove(&id)
                    .ok_or_else(|| StoreError::Conflict(format!("document {id} was not stored")))?
                    .into_invoice(Vec::new())?;
                if status == InvoiceStatus::Settled {
                    pending.settlements.push((id, crossings));
                }
                let packed = b.holding.and_then(|h| h.packed.get(k)).filter(|packed| packed.fits(&p.lines));
                pending.lines.push(DocumentLines { invoice_id: id, lines: &p.lines, packed });
                positions[i] += count;
                pending.quota.extend(p.quota_entries.iter().map(|e| (id, e)));
                // The stored draft as `audit_view` shows it: the invoice row as written and
                // its lines.
                let view = AuditView {
                    kind: created.kind.as_str(),
                    status: created.status.as_str(),
                    number: created.number.as_deref(),
                    customer_id: created.customer_id,
                    net: created.totals.net,
                    vat: created.totals.vat,
                    gross: created.totals.gross,
                    lines: p.lines.len(),
                };
                pending.created.push((b.actor, (id, None, Some(serde_json::to_string(&view)?))));
                if status == InvoiceStatus::Draft {
                    let payload = created.event_payload(p.lines.len(), serde_json::json!({
                        "id": id, "run_id": b.run_id, "customer_id": b.customer_id, "contract_id": contract_id,
                        "kind": created.kind, "net": created.totals.net, "vat": created.totals.vat,
                        "gross": created.totals.gross, "currency": p.currency.code(), "lines": p.lines.len(),
                    }))?;
                    pending.drafted.push(("invoice.drafted", "invoice", id, payload.to_string()));
                }
                ids[i].push(id);
            }
            let outcomes: Vec<DraftOutcome> = ids
                .into_iter()
                .zip(positions)
                .map(|(invoice_ids, positions)| DraftOutcome::Created { invoice_ids, positions })
                .collect();
            Ok::<Option<Vec<DraftOutcome>>, StoreError>(Some(outcomes))
        }
        .await
    };
}

/// Writes what `$pending` ([`Pending`]) holds inside `$tx`: audit records, events, lines, quota entries, fee
/// periods and the stamps of the positions, then closes the settlements. Evaluates to `false`
/// when a position was changed or taken meanwhile, or a fee period billed by another document
/// (stale: the caller rolls back).
macro_rules! write_positions {
    ($tx:expr, $pending:expr) => {
        async {
            let tx = &mut *$tx;
            let pending: &Pending<'_> = $pending;
            let now = DbTime::now();
            // The documents' audit records, a statement per run of the same actor (one for a
            // run's chunk).
            for created in pending.created.chunk_by(|a, b| std::ptr::eq(a.0, b.0)) {
                let rows: Vec<crate::bulk::AuditInsert> = created.iter().map(|c| c.1.clone()).collect();
                BulkWrite::insert_audit(&mut *tx, created[0].0, "invoice", "create", &rows).await?;
            }
            BulkWrite::insert_events(&mut *tx, &pending.drafted, now).await?;
            BulkWrite::insert_document_lines(&mut *tx, &pending.lines).await?;
            BulkWrite::insert_quota_entries(&mut *tx, &pending.quota).await?;
            let held = &pending.held;
            // A fee period another document took first: compute again.
            match BulkWrite::insert_fee_periods(&mut *tx, &held.fees).await {
                Ok(_) => {}
                Err(StoreError::Duplicate(_)) => return Ok(false),
                Err(e) => return Err(e),
            }
            // Hold exactly the versions computed: a position changed or taken meanwhile makes
            // the count differ and the customer is computed again.
            let booked = BulkWrite::hold_bookings(&mut *tx, &held.bookings, &held.booking_arrays).await?;
            let spent = BulkWrite::stamp(&mut *tx, PositionTable::Expenses, &held.expenses).await?;
            if booked != held.bookings.len() as u64 || spent != held.expenses.len() as u64 {
                return Ok(false);
            }
            // Settlements are final: their positions are settled and their quota entries
            // enter the ledger now, as an issue would do, but without number or feed position.
            for (id, crossings) in &pending.settlements {
                settle!(tx, *id, crossings, now);
            }
            Ok::<bool, StoreError>(true)
        }
        .await
    };
}

/// Stores the drafts of one customer (`$b`, a [`DraftBatch`]) inside `$tx`: evaluates to
/// its [`DraftOutcome`] (on `Stale` the caller rolls back what was written).
macro_rules! write_drafts {
    ($tx:expr, $b:expr) => {
        async {
            let mut pending = Pending::default();
            let Some(mut outcomes) = write_documents!($tx, std::slice::from_ref($b), &mut pending)? else {
                return Ok(DraftOutcome::Stale);
            };
            if !write_positions!($tx, &pending)? {
                return Ok(DraftOutcome::Stale);
            }
            Ok::<DraftOutcome, StoreError>(outcomes.pop().unwrap_or(DraftOutcome::Stale))
        }
        .await
    };
}

impl Store {
    /// Stores the drafts of one customer's committable computation in one transaction,
    /// reserving their positions — only if the customer's billing version is still the
    /// one read and every position is still open in the version read; otherwise nothing
    /// is written and [`DraftOutcome::Stale`] asks for a new computation.
    pub async fn create_drafts(&self, b: &DraftBatch<'_>) -> Result<DraftOutcome> {
        let mut outcomes = self.create_drafts_together(std::slice::from_ref(b)).await?;
        Ok(outcomes.pop().unwrap_or(DraftOutcome::Stale))
    }

    /// Stores the drafts of several customers in one transaction, each as
    /// [`Store::create_drafts`] would (a customer whose computation is stale writes nothing
    /// and gets [`DraftOutcome::Stale`], the others are stored). One commit for many
    /// customers: their positions share pages, which are then written once instead of once
    /// per customer.
    ///
    /// Usually nothing changed since the customers were read: all are written without a
    /// savepoint each (a savepoint costs two round trips and a copy of every page it
    /// touches first). When one turns out stale, that transaction is rolled back and the
    /// customers are stored again, each in its own savepoint.
    pub async fn create_drafts_together(&self, batches: &[DraftBatch<'_>]) -> Result<Vec<DraftOutcome>> {
        match self.create_drafts_at_once(batches).await? {
            Some(outcomes) => Ok(outcomes),
            None if batches.len() == 1 => Ok(vec![DraftOutcome::Stale]),
            None => self.create_drafts_apart(batches).await,
        }
    }

    /// The drafts of all `batches` in one transaction; `None` (and nothing written) when
    /// one customer's computation is stale.
    async fn create_drafts_at_once(&self, batches: &[DraftBatch<'_>]) -> Result<Option<Vec<DraftOutcome>>> {
        let outcomes = in_tx!(self, tx => {
            // The invoice rows, then the rest, each table in a few statements for the whole
            // chunk (the stamps in booking-id order).
            let mut pending = Pending::default();
            let Some(outcomes) = write_documents!(tx, batches, &mut pending)? else {
                tx.rollback().await?;
                return Ok(None);
            };
            if !write_positions!(tx, &pending)? {
                tx.rollback().await?;
                return Ok(None);
            }
            outcomes
        });
        Ok(Some(outcomes))
    }

    /// The drafts of `batches` in one transaction, each customer in a savepoint: a stale
    /// one is rolled back alone.
    async fn create_drafts_apart(&self, batches: &[DraftBatch<'_>]) -> Result<Vec<DraftOutcome>> {
        let outcomes = in_tx!(self, tx => {
            let mut outcomes = Vec::with_capacity(batches.len());
            for b in batches {
                let mut customer = sqlx::Acquire::begin(&mut *tx).await?;
                let outcome = write_drafts!(customer, b)?;
                match outcome {
                    DraftOutcome::Created { .. } => customer.commit().await?,
                    DraftOutcome::Stale => customer.rollback().await?,
                }
                outcomes.push(outcome);
            }
            outcomes
        });
        Ok(outcomes)
    }
}

//! Invoices after the run: the document's life cycle (`draft` → `issued` → `paid`;
//! `issued`/`paid` → `cancelled` by a credit note; a lineless proposal is a `settlement`,
//! `settled` when committed — or a `draft` settlement until the earlier draft whose quota
//! it continues is issued — and `cancelled` without a credit note), invoice numbers per
//! series and year,
//! due dates, the totals of an edited draft, credit-note amounts, and which lines leave a
//! draft together when one is removed.
//!
//! Rules:
//! - Only drafts change: lines are added (manual lines) or removed, the draft is deleted
//!   or issued. Issued, paid and cancelled documents are immutable.
//! - Issuing assigns the next number of a gapless sequence per series and year:
//!   `RE-2026-00017`. A credit note has its own series (default `GS`).
//! - A draft's totals are recomputed from its lines exactly as the engine computes them:
//!   line nets are already rounded; VAT once per rate on the summed nets.
//! - Removing a line releases the positions it bills; every other line that bills a part
//!   of the same booking or expense (a custom-field quantity, an overage split) leaves with
//!   it, so no booking is half in a draft and half open.
//! - A credit note mirrors the original: every amount negated, same VAT rates.
//! - Empty proposals are not invoices: a proposal without lines (only covered or
//!   non-billable work, or quota periods to close) is committed as a settlement — its
//!   positions settled, its quota entries written — but takes no number, is never in the
//!   accounting feed and never sent. A draft left without lines cannot be issued.

use crate::currency::Currency;
use crate::customer::str_enum;
use crate::engine::{InvoiceProposal, LineKind, PositionStatus};
use crate::money::{self, Totals, VatAmount};
use crate::position::PositionRef;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use time::{Date, Duration};

/// Where a document is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Created by a run; positions reserved; editable; no number yet.
    Draft,
    /// Numbered, positions billed, quota ledger written; immutable.
    Issued,
    /// Issued and paid.
    Paid,
    /// Cancelled (an invoice by a credit note); its positions are open again.
    Cancelled,
    /// A settlement as committed: positions settled, quota written, no number.
    Settled,
}

str_enum!(InvoiceStatus { Draft => "draft", Issued => "issued", Paid => "paid", Cancelled => "cancelled", Settled => "settled" });

/// Invoice or credit note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// An invoice.
    Invoice,
    /// A credit note cancelling an invoice (amounts negated).
    CreditNote,
    /// What a proposal without lines becomes: it settles covered and non-billable
    /// positions and closes quota periods but bills nothing, so it has no number, is not
    /// in the accounting feed and is never sent (proof of service only).
    Settlement,
}

str_enum!(InvoiceKind { Invoice => "invoice", CreditNote => "credit_note", Settlement => "settlement" });

impl InvoiceKind {
    /// What a committed proposal becomes: an invoice draft, or a settlement when it has no
    /// lines.
    pub fn of_proposal(lines: usize) -> InvoiceKind {
        if lines == 0 {
            InvoiceKind::Settlement
        } else {
            InvoiceKind::Invoice
        }
    }
}

/// Something done to a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvoiceAction {
    /// Add or remove lines, change notes.
    Edit,
    /// Delete the draft (its positions are released).
    Delete,
    /// Assign the number and lock the positions.
    Issue,
    /// Record the payment.
    MarkPaid,
    /// Cancel by a credit note.
    Cancel,
}

str_enum!(InvoiceAction { Edit => "edit", Delete => "delete", Issue => "issue", MarkPaid => "mark_paid", Cancel => "cancel" });

impl InvoiceStatus {
    /// The actions a document of `kind` in this status allows.
    pub fn allowed_actions(self, kind: InvoiceKind) -> &'static [InvoiceAction] {
        use InvoiceAction::*;
        match (kind, self) {
            (InvoiceKind::Invoice, InvoiceStatus::Draft) => &[Edit, Delete, Issue],
            (InvoiceKind::Invoice, InvoiceStatus::Issued) => &[MarkPaid, Cancel],
            (InvoiceKind::Invoice, InvoiceStatus::Paid) => &[Cancel],
            // A settlement waiting for an earlier draft: settled by "issue" (no number).
            (InvoiceKind::Settlement, InvoiceStatus::Draft) => &[Delete, Issue],
            // Cancelling a settlement opens its positions again; nothing to credit.
            (InvoiceKind::Settlement, InvoiceStatus::Settled) => &[Cancel],
            // A credit note is final: it is itself the correction.
            (InvoiceKind::CreditNote, _)
            | (_, InvoiceStatus::Cancelled)
            | (InvoiceKind::Settlement, _)
            | (InvoiceKind::Invoice, InvoiceStatus::Settled) => &[],
        }
    }

    /// Whether `action` is allowed; otherwise a sentence saying why not.
    pub fn check(self, kind: InvoiceKind, action: InvoiceAction) -> Result<(), String> {
        if self.allowed_actions(kind).contains(&action) {
            return Ok(());
        }
        Err(match (kind, self) {
            (InvoiceKind::CreditNote, _) => "a credit note is final and cannot be changed".to_string(),
            (InvoiceKind::Settlement, InvoiceStatus::Settled) => {
                "a settlement bills nothing: it has no number, no payment and no lines; it can only be cancelled"
                    .to_string()
            }
            (InvoiceKind::Settlement, InvoiceStatus::Draft) => {
                "a settlement has no lines to change: settle it (issue) or delete it".to_string()
            }
            (_, InvoiceStatus::Draft) => format!("a draft cannot be {}; issue it first", past(action)),
            (_, InvoiceStatus::Cancelled) => "the invoice is cancelled and immutable".to_string(),
            (_, s) => format!("the invoice is {s} and immutable; cancel it by a credit note to correct it"),
        })
    }

    /// The status a document of `kind` has after `action` (for actions that change it).
    pub fn after(self, kind: InvoiceKind, action: InvoiceAction) -> InvoiceStatus {
        match action {
            InvoiceAction::Issue if kind == InvoiceKind::Settlement => InvoiceStatus::Settled,
            InvoiceAction::Issue => InvoiceStatus::Issued,
            InvoiceAction::MarkPaid => InvoiceStatus::Paid,
            InvoiceAction::Cancel => InvoiceStatus::Cancelled,
            InvoiceAction::Edit | InvoiceAction::Delete => self,
        }
    }
}

/// How a cancelled invoice settled one position: what billing it again is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorSettlement {
    /// The position.
    pub position: PositionRef,
    /// The cancelled invoice and its number.
    pub invoice_id: i64,
    pub number: Option<String>,
    /// Its treatment then.
    pub treatment: PositionStatus,
    /// Minutes billed then (rounded minus covered; bookings).
    pub billed_minutes: Option<u64>,
    /// Minutes covered then (bookings).
    pub covered_minutes: Option<u64>,
    /// The fee's net then (fee positions).
    pub fee_net: Option<Decimal>,
}

/// One difference between a proposal and how a cancelled invoice billed the same position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RebillChange {
    /// The position billed again.
    pub position: PositionRef,
    /// The cancelled invoice that billed it before.
    pub cancelled_invoice_id: i64,
    pub cancelled_number: Option<String>,
    /// `treatment`, `billed_minutes`, `covered_minutes` or `fee_net`.
    pub field: String,
    /// Value on the cancelled invoice.
    pub before: String,
    /// Value in this proposal.
    pub after: String,
}

/// What differs between `proposal` and the cancelled invoices that billed its positions
/// before (`prior`, the latest settlement per position): a re-run of a cancelled period
/// reproduces it exactly unless the underlying data changed — then this says what.
pub fn rebill_changes(prior: &[PriorSettlement], proposal: &InvoiceProposal) -> Vec<RebillChange> {
    let mut out = Vec::new();
    let mut push = |p: &PriorSettlement, field: &str, before: String, after: String| {
        if before != after {
            out.push(RebillChange {
                position: p.position,
                cancelled_invoice_id: p.invoice_id,
                cancelled_number: p.number.clone(),
                field: field.to_string(),
                before,
                after,
            });
        }
    };
    let show = |v: Option<u64>| v.unwrap_or(0).to_string();
    // The latest settlement per position (later entries replace earlier ones).
    let latest: BTreeMap<PositionRef, &PriorSettlement> = prior.iter().map(|p| (p.position, p)).collect();
    for o in &proposal.positions {
        let Some(p) = latest.get(&o.position) else { continue };
        let billed = o.rounded_minutes.map(|r| r.saturating_sub(o.covered_minutes.unwrap_or(0)));
        let billed = if o.status == PositionStatus::NonBillable { Some(0) } else { billed };
        push(p, "treatment", p.treatment.as_str().to_string(), o.status.as_str().to_string());
        push(p, "billed_minutes", show(p.billed_minutes), show(billed));
        push(p, "covered_minutes", show(p.covered_minutes), show(o.covered_minutes));
    }
    for l in proposal.lines.iter().filter(|l| l.kind == LineKind::Fee) {
        for pos in &l.positions {
            if let Some(p) = latest.get(pos).filter(|p| p.fee_net != Some(l.net)) {
                let before = p.fee_net.map(|n| n.to_string()).unwrap_or_default();
                push(p, "fee_net", before, l.net.to_string());
            }
        }
    }
    out
}

fn past(action: InvoiceAction) -> &'static str {
    match action {
        InvoiceAction::Edit => "edited",
        InvoiceAction::Delete => "deleted",
        InvoiceAction::Issue => "issued",
        InvoiceAction::MarkPaid => "marked paid",
        InvoiceAction::Cancel => "cancelled",
    }
}

/// Default series of invoice numbers.
pub const INVOICE_SERIES: &str = "RE";
/// Default series of credit-note numbers.
pub const CREDIT_NOTE_SERIES: &str = "GS";

/// Whether `s` can name a number series: 1–10 upper-case ASCII letters or digits,
/// starting with a letter.
pub fn valid_series(s: &str) -> bool {
    (1..=10).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The number of the `seq`-th document of `series` in `year`: `RE-2026-00017`.
pub fn format_number(series: &str, year: i32, seq: i64) -> String {
    format!("{series}-{year}-{seq:05}")
}

/// Name of the gapless counter of a series and year.
pub fn sequence_name(series: &str, year: i32) -> String {
    format!("invoice:{series}:{year}")
}

/// Payment due date: issue date plus the customer's payment terms.
pub fn due_date(issue: Date, terms_days: i64) -> Option<Date> {
    issue.checked_add(Duration::days(terms_days.max(0)))
}

/// VAT breakdown and totals of a document from its lines' `(vat rate, rounded net)`.
/// `None` on overflow.
pub fn document_totals<I>(lines: I, currency: Currency) -> Option<(Vec<VatAmount>, Totals)>
where
    I: IntoIterator<Item = (Decimal, Decimal)> + Clone,
{
    let net = money::checked_sum(lines.clone().into_iter().map(|(_, n)| n))?;
    let vat = money::vat_breakdown(lines, currency)?;
    let totals = money::totals(net, &vat, currency)?;
    Some((vat, totals))
}

/// Net of a manual line: quantity × unit price, rounded half-up to the minor unit.
pub fn manual_line_net(quantity: Decimal, unit_price: Decimal, currency: Currency) -> Option<Decimal> {
    money::line_net(quantity, unit_price, currency)
}

/// The credit note's figure for an original amount (negated, same scale).
pub fn credit_amount(original: Decimal) -> Decimal {
    -original
}

/// The booking or expense a position belongs to (a fee stands for itself).
fn owner(p: &PositionRef) -> PositionRef {
    match *p {
        PositionRef::BookingField { booking_id, .. } => PositionRef::Booking { id: booking_id },
        other => other,
    }
}

/// The lines (indexes into `lines`, each given by the positions it bills) that leave the
/// draft when line `removed` is removed: it and every line billing a part of the same
/// bookings and expenses, transitively. Sorted ascending; empty if `removed` is out of
/// range.
pub fn lines_leaving_with(lines: &[Vec<PositionRef>], removed: usize) -> Vec<usize> {
    if removed >= lines.len() {
        return Vec::new();
    }
    let mut leaving: BTreeSet<usize> = BTreeSet::from([removed]);
    let mut owners: BTreeSet<PositionRef> = lines[removed].iter().map(owner).collect();
    loop {
        let before = leaving.len();
        for (i, positions) in lines.iter().enumerate() {
            if !leaving.contains(&i) && positions.iter().any(|p| owners.contains(&owner(p))) {
                leaving.insert(i);
                owners.extend(positions.iter().map(owner));
            }
        }
        if leaving.len() == before {
            return leaving.into_iter().collect();
        }
    }
}

/// The positions released when `leaving` lines go: every position they bill plus every
/// other position of the same bookings and expenses.
pub fn released_positions(lines: &[Vec<PositionRef>], leaving: &[usize], all: &[PositionRef]) -> Vec<PositionRef> {
    let owners: BTreeSet<PositionRef> = leaving.iter().filter_map(|&i| lines.get(i)).flatten().map(owner).collect();
    let mut out: Vec<PositionRef> = all.iter().filter(|p| owners.contains(&owner(p))).copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;
    use time::macros::date;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn b(id: i64) -> PositionRef {
        PositionRef::Booking { id }
    }

    #[test]
    fn a_draft_is_edited_deleted_or_issued_and_an_issued_invoice_only_paid_or_cancelled() {
        let inv = InvoiceKind::Invoice;
        assert!(InvoiceStatus::Draft.check(inv, InvoiceAction::Edit).is_ok());
        assert!(InvoiceStatus::Draft.check(inv, InvoiceAction::Issue).is_ok());
        assert!(InvoiceStatus::Draft.check(inv, InvoiceAction::Cancel).is_err());
        assert!(InvoiceStatus::Draft.check(inv, InvoiceAction::MarkPaid).is_err());
        let e = InvoiceStatus::Issued.check(inv, InvoiceAction::Edit).unwrap_err();
        assert!(e.contains("immutable") && e.contains("credit note"), "{e}");
        assert!(InvoiceStatus::Issued.check(inv, InvoiceAction::Delete).is_err());
        assert!(InvoiceStatus::Issued.check(inv, InvoiceAction::Issue).is_err());
        assert!(InvoiceStatus::Issued.check(inv, InvoiceAction::MarkPaid).is_ok());
        assert!(InvoiceStatus::Paid.check(inv, InvoiceAction::Cancel).is_ok());
        assert!(InvoiceStatus::Paid.check(inv, InvoiceAction::MarkPaid).is_err());
        assert!(InvoiceStatus::Cancelled.check(inv, InvoiceAction::Cancel).is_err());
        assert_eq!(InvoiceStatus::Issued.after(inv, InvoiceAction::Cancel), InvoiceStatus::Cancelled);
    }

    #[test]
    fn a_credit_note_is_final() {
        for s in InvoiceStatus::ALL {
            assert!(s.allowed_actions(InvoiceKind::CreditNote).is_empty());
        }
        assert!(InvoiceStatus::Issued.check(InvoiceKind::CreditNote, InvoiceAction::Cancel).is_err());
    }

    #[test]
    fn a_settlement_bills_nothing_and_can_only_be_cancelled() {
        assert_eq!(InvoiceKind::of_proposal(0), InvoiceKind::Settlement);
        assert_eq!(InvoiceKind::of_proposal(3), InvoiceKind::Invoice);
        let s = InvoiceKind::Settlement;
        assert_eq!(InvoiceStatus::Settled.allowed_actions(s), &[InvoiceAction::Cancel]);
        for a in [InvoiceAction::Edit, InvoiceAction::Delete, InvoiceAction::Issue, InvoiceAction::MarkPaid] {
            let e = InvoiceStatus::Settled.check(s, a).unwrap_err();
            assert!(e.contains("bills nothing"), "{e}");
        }
        assert!(InvoiceStatus::Cancelled.allowed_actions(s).is_empty());
        // One that waits for the earlier draft whose quota it continues is settled by issuing.
        assert!(InvoiceStatus::Draft.check(s, InvoiceAction::Issue).is_ok());
        assert!(InvoiceStatus::Draft.check(s, InvoiceAction::Edit).is_err());
        assert_eq!(InvoiceStatus::Draft.after(s, InvoiceAction::Issue), InvoiceStatus::Settled);
    }

    #[test]
    fn rebilling_a_cancelled_period_names_what_changed_and_nothing_when_nothing_did() {
        use crate::engine::{InvoiceLine, PositionOutcome};
        let fee = PositionRef::ContractFee { contract_id: 3, period_start: time::macros::date!(2026 - 01 - 01) };
        let prior = |position, treatment, billed, covered, fee_net| PriorSettlement {
            position,
            invoice_id: 9,
            number: Some("RE-2026-00001".into()),
            treatment,
            billed_minutes: billed,
            covered_minutes: covered,
            fee_net,
        };
        let proposal = |minutes: u64, fee_net: &str| InvoiceProposal {
            customer_id: 1,
            contract_id: None,
            currency: Currency::EUR,
            period_start: None,
            period_end: time::macros::date!(2026 - 01 - 31),
            lines: vec![InvoiceLine {
                kind: LineKind::Fee,
                description: "fee".into(),
                contract_id: Some(3),
                service_id: None,
                ticket_id: None,
                quantity: Decimal::ONE,
                minutes: None,
                unit: crate::catalog::Unit::Flat,
                unit_price: d(fee_net),
                net: d(fee_net),
                vat_rate: d("19"),
                surcharge: None,
                positions: vec![fee],
            }],
            vat: vec![],
            totals: Totals { net: Decimal::ZERO, vat: Decimal::ZERO, gross: Decimal::ZERO },
            legal_note: None,
            positions: vec![PositionOutcome {
                position: b(7),
                contract_id: Some(3),
                status: PositionStatus::Covered,
                actual_minutes: Some(minutes as u32),
                rounded_minutes: Some(minutes),
                covered_minutes: Some(minutes),
                covered_value: None,
            }],
            quota_entries: vec![],
            quota_summaries: vec![],
            changes_since_cancelled: vec![],
        };
        let before = vec![
            prior(b(7), PositionStatus::Covered, Some(0), Some(360), None),
            prior(fee, PositionStatus::Billed, None, None, Some(d("800.00"))),
        ];
        assert!(rebill_changes(&before, &proposal(360, "800.00")).is_empty(), "re-billed as first billed");
        let changes = rebill_changes(&before, &proposal(420, "900.00"));
        let what: Vec<(&str, &str, &str)> =
            changes.iter().map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str())).collect();
        assert_eq!(what, vec![("covered_minutes", "360", "420"), ("fee_net", "800.00", "900.00")]);
        assert_eq!(changes[0].cancelled_number.as_deref(), Some("RE-2026-00001"));
    }

    #[test]
    fn the_seventeenth_invoice_of_2026_is_re_2026_00017() {
        assert_eq!(format_number("RE", 2026, 17), "RE-2026-00017");
        assert_eq!(format_number("GS", 2027, 123456), "GS-2027-123456");
        assert_eq!(sequence_name("RE", 2026), "invoice:RE:2026");
        assert!(valid_series("RE") && valid_series("AR2") && !valid_series("re") && !valid_series("2A"));
        assert!(!valid_series("") && !valid_series("ABCDEFGHIJK") && !valid_series("R-E"));
    }

    #[test]
    fn due_date_is_issue_date_plus_payment_terms() {
        assert_eq!(due_date(date!(2026 - 11 - 30), 14), Some(date!(2026 - 12 - 14)));
        assert_eq!(due_date(date!(2026 - 11 - 30), 0), Some(date!(2026 - 11 - 30)));
        assert_eq!(due_date(Date::MAX, 1), None);
    }

    #[test]
    fn totals_of_an_edited_draft_apply_vat_once_per_rate() {
        let lines = vec![(d("19"), d("0.03")), (d("19"), d("0.03")), (d("7"), d("10.00"))];
        let (vat, totals) = document_totals(lines, Currency::EUR).unwrap();
        assert_eq!(vat.len(), 2);
        assert_eq!(totals.net, d("10.06"));
        assert_eq!(totals.vat, d("0.71"));
        assert_eq!(totals.gross, d("10.77"));
        let (vat, totals) = document_totals(Vec::<(Decimal, Decimal)>::new(), Currency::EUR).unwrap();
        assert!(vat.is_empty());
        assert_eq!(totals.gross, Decimal::ZERO);
    }

    #[test]
    fn a_manual_line_of_three_cables_at_4_995_nets_14_99() {
        assert_eq!(manual_line_net(d("3"), d("4.995"), Currency::EUR), Some(d("14.99")));
        assert_eq!(manual_line_net(Decimal::MAX, d("2"), Currency::EUR), None);
    }

    #[test]
    fn removing_a_work_line_takes_the_kilometre_line_of_the_same_booking_with_it() {
        let km = PositionRef::BookingField { booking_id: 1, field_id: 9 };
        let lines = vec![vec![b(1)], vec![km], vec![b(2)], vec![PositionRef::Expense { id: 1 }]];
        assert_eq!(lines_leaving_with(&lines, 0), vec![0, 1]);
        assert_eq!(lines_leaving_with(&lines, 1), vec![0, 1]);
        assert_eq!(lines_leaving_with(&lines, 2), vec![2]);
        assert_eq!(lines_leaving_with(&lines, 3), vec![3]);
        assert!(lines_leaving_with(&lines, 4).is_empty());
        let all = [b(1), km, b(2), b(3), PositionRef::Expense { id: 1 }];
        assert_eq!(released_positions(&lines, &[0, 1], &all), vec![b(1), km]);
    }

    #[test]
    fn removing_a_per_ticket_line_takes_lines_sharing_its_bookings_transitively() {
        // Line 0 bills bookings 1 and 2; line 1 the overage of booking 2 and booking 3;
        // line 2 booking 3's kilometres; line 3 an unrelated booking.
        let lines = vec![
            vec![b(1), b(2)],
            vec![b(2), b(3)],
            vec![PositionRef::BookingField { booking_id: 3, field_id: 1 }],
            vec![b(4)],
        ];
        assert_eq!(lines_leaving_with(&lines, 0), vec![0, 1, 2]);
        assert_eq!(lines_leaving_with(&lines, 3), vec![3]);
    }

    proptest! {
        /// Whatever line is removed, no booking keeps a line in the draft while another
        /// of its parts is released (no position is half billed).
        #[test]
        fn no_booking_is_left_half_in_a_draft(
            raw in proptest::collection::vec(proptest::collection::vec((0i64..6, proptest::bool::ANY), 1..4), 1..8),
            pick in 0usize..8,
        ) {
            let lines: Vec<Vec<PositionRef>> = raw.iter().map(|l| l.iter().map(|&(id, field)| if field {
                PositionRef::BookingField { booking_id: id, field_id: 1 }
            } else {
                b(id)
            }).collect()).collect();
            let removed = pick % lines.len();
            let leaving = lines_leaving_with(&lines, removed);
            prop_assert!(leaving.contains(&removed));
            let gone: BTreeSet<PositionRef> = leaving.iter().flat_map(|&i| lines[i].iter().map(owner)).collect();
            for (i, l) in lines.iter().enumerate() {
                if !leaving.contains(&i) {
                    prop_assert!(l.iter().all(|p| !gone.contains(&owner(p))));
                }
            }
        }

        /// A credit note's totals are exactly the negated totals of the original.
        #[test]
        fn a_credit_note_negates_every_total(nets in proptest::collection::vec((0u8..3, -100_000i64..100_000), 0..20)) {
            let rates = [d("0"), d("7"), d("19")];
            let lines: Vec<(Decimal, Decimal)> =
                nets.iter().map(|&(r, n)| (rates[r as usize], Decimal::new(n, 2))).collect();
            let credit: Vec<(Decimal, Decimal)> = lines.iter().map(|&(r, n)| (r, credit_amount(n))).collect();
            let (_, t) = document_totals(lines, Currency::EUR).unwrap();
            let (_, c) = document_totals(credit, Currency::EUR).unwrap();
            prop_assert_eq!(c.net, -t.net);
            prop_assert_eq!(c.vat, -t.vat);
            prop_assert_eq!(c.gross, -t.gross);
        }
    }
}

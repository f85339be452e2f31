//! Invoices after the run: the document's life cycle (`draft` → `issued` → `paid`;
//! `issued`/`paid` → `cancelled` by a credit note), invoice numbers per series and year,
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

use crate::currency::Currency;
use crate::customer::str_enum;
use crate::money::{self, Totals, VatAmount};
use crate::position::PositionRef;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
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
    /// Cancelled by a credit note; its positions are open again.
    Cancelled,
}

str_enum!(InvoiceStatus { Draft => "draft", Issued => "issued", Paid => "paid", Cancelled => "cancelled" });

/// Invoice or credit note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// An invoice.
    Invoice,
    /// A credit note cancelling an invoice (amounts negated).
    CreditNote,
}

str_enum!(InvoiceKind { Invoice => "invoice", CreditNote => "credit_note" });

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
            // A credit note is final: it is itself the correction.
            (InvoiceKind::CreditNote, _) | (InvoiceKind::Invoice, InvoiceStatus::Cancelled) => &[],
        }
    }

    /// Whether `action` is allowed; otherwise a sentence saying why not.
    pub fn check(self, kind: InvoiceKind, action: InvoiceAction) -> Result<(), String> {
        if self.allowed_actions(kind).contains(&action) {
            return Ok(());
        }
        Err(match (kind, self) {
            (InvoiceKind::CreditNote, _) => "a credit note is final and cannot be changed".to_string(),
            (_, InvoiceStatus::Draft) => format!("a draft cannot be {}; issue it first", past(action)),
            (_, InvoiceStatus::Cancelled) => "the invoice is cancelled and immutable".to_string(),
            (_, s) => format!("the invoice is {s} and immutable; cancel it by a credit note to correct it"),
        })
    }

    /// The status after `action` (for actions that change it).
    pub fn after(self, action: InvoiceAction) -> InvoiceStatus {
        match action {
            InvoiceAction::Issue => InvoiceStatus::Issued,
            InvoiceAction::MarkPaid => InvoiceStatus::Paid,
            InvoiceAction::Cancel => InvoiceStatus::Cancelled,
            InvoiceAction::Edit | InvoiceAction::Delete => self,
        }
    }
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
    let totals = money::totals(net, &vat)?;
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
        assert_eq!(InvoiceStatus::Issued.after(InvoiceAction::Cancel), InvoiceStatus::Cancelled);
    }

    #[test]
    fn a_credit_note_is_final() {
        for s in InvoiceStatus::ALL {
            assert!(s.allowed_actions(InvoiceKind::CreditNote).is_empty());
        }
        assert!(InvoiceStatus::Issued.check(InvoiceKind::CreditNote, InvoiceAction::Cancel).is_err());
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

//! The proof of service as the customer signs it (Leistungsnachweis / Tätigkeitsnachweis):
//! the seller's letterhead, what the report is about (an invoice, a ticket or a project), the
//! customer and the period, every booking (date, time, who, ticket and activity, minutes
//! worked and billed, how it was settled when not billed), the expenses, the notes flagged for
//! reports per ticket, the sums, and lines for place, date and the customer's signature.

use rust_decimal::Decimal;
use time::Date;

use super::german;
use super::invoice::{footer, letterhead, unit, BODY_BOTTOM, CONTINUED_TOP, LEFT, RIGHT};
use super::layout::{wrap, Align, Sheet, Weight, MM};
use crate::{LineUnit, Logo, Party};

/// How a booking or expense was settled, as the report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Charged on an invoice line.
    Billed,
    /// Covered by the contract (flat fee, prepaid hours, budget).
    Covered,
    /// Partly covered by the contract, the rest charged.
    PartlyCovered,
    /// Settled without charge.
    NonBillable,
    /// Not on any invoice yet.
    Open,
}

impl Settled {
    fn label(self) -> &'static str {
        match self {
            Settled::Billed => "berechnet",
            Settled::Covered => "im Vertrag enthalten",
            Settled::PartlyCovered => "teilweise im Vertrag enthalten",
            Settled::NonBillable => "ohne Berechnung",
            Settled::Open => "noch nicht abgerechnet",
        }
    }
}

/// One time booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportBooking {
    pub date: Date,
    /// `08:00–09:30` where start and end are known.
    pub time: Option<String>,
    pub person: String,
    /// `T-2026-000123` of the ticket worked on.
    pub ticket: Option<String>,
    /// The service, e.g. `Fernwartung`.
    pub service: String,
    /// The activity text.
    pub description: String,
    pub worked_minutes: i64,
    /// Minutes charged; `None` while no invoice settles the booking.
    pub billed_minutes: Option<i64>,
    pub settled: Settled,
}

/// One expense or material line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportExpense {
    pub date: Date,
    pub description: String,
    pub quantity: Decimal,
    pub unit: LineUnit,
    pub settled: Settled,
}

/// A ticket note flagged for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportNote {
    /// `T-2026-000123 Drucker im Empfang`.
    pub ticket: String,
    pub date: Date,
    pub author: String,
    pub text: String,
}

/// Sums of the bookings, in minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportTotals {
    pub worked: i64,
    pub billed: i64,
    pub covered: i64,
    pub open: i64,
}

/// A proof of service as the PDF prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceReport {
    /// The seller (letterhead and footer).
    pub seller: Party,
    /// Lines the seller prints at the foot of every page.
    pub footer_lines: Vec<String>,
    /// The seller's logo, printed in the letterhead.
    pub logo: Option<Logo>,
    /// What the report is about: `zur Rechnung RE-2026-00042`, `Ticket T-… Drucker`, `Projekt …`.
    pub subject: String,
    /// `K-10042 Müller GmbH`.
    pub customer: Option<String>,
    /// The work dates covered, where known.
    pub period: (Option<Date>, Option<Date>),
    pub bookings: Vec<ReportBooking>,
    pub expenses: Vec<ReportExpense>,
    pub notes: Vec<ReportNote>,
    pub totals: ReportTotals,
    /// The day the report is printed (beside the signature).
    pub printed_on: Date,
}

/// `90` → `1:30`.
fn hours(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let m = minutes.abs();
    format!("{sign}{}:{:02}", m / 60, m % 60)
}

const SIZE: f32 = 8.0;
const LEADING: f32 = 10.0;

/// Lays the report out on pages.
pub(crate) fn typeset(r: &ServiceReport) -> Sheet {
    let mut sheet = Sheet::default();
    letterhead(&mut sheet, &r.seller, r.logo.as_ref());
    let title = "Leistungsnachweis";
    let mut y = 45.0 * MM;
    sheet.text(LEFT, y, 14.0, Weight::Bold, Align::Left, title);
    y += 7.0 * MM;
    let period = match r.period {
        (Some(from), Some(to)) => Some(format!("{} – {}", german::date(from), german::date(to))),
        (Some(from), None) => Some(format!("ab {}", german::date(from))),
        (None, Some(to)) => Some(format!("bis {}", german::date(to))),
        (None, None) => None,
    };
    let header = [
        Some(("Betreff", r.subject.clone())),
        r.customer.clone().map(|c| ("Kunde", c)),
        period.map(|p| ("Zeitraum", p)),
        Some(("Stand", german::date(r.printed_on))),
    ];
    for (label, value) in header.into_iter().flatten() {
        sheet.text(LEFT, y, 9.0, Weight::Regular, Align::Left, label);
        for line in wrap(&value, Weight::Regular, 9.0, RIGHT - LEFT - 25.0 * MM) {
            sheet.text(LEFT + 25.0 * MM, y, 9.0, Weight::Regular, Align::Left, line);
            y += 4.5 * MM;
        }
    }
    y += 4.0 * MM;

    // Bookings.
    let columns = [LEFT, LEFT + 18.0 * MM, LEFT + 38.0 * MM, LEFT + 66.0 * MM];
    let (worked_right, billed_right) = (RIGHT - 20.0 * MM, RIGHT);
    let activity_width = worked_right - 10.0 * MM - columns[3];
    let booking_header = |sheet: &mut Sheet, y: f32| {
        for (x, label) in columns.iter().zip(["Datum", "Zeit", "Mitarbeiter", "Ticket / Tätigkeit"]) {
            sheet.text(*x, y, SIZE, Weight::Bold, Align::Left, label);
        }
        sheet.text(worked_right, y, SIZE, Weight::Bold, Align::Right, "Ist");
        sheet.text(billed_right, y, SIZE, Weight::Bold, Align::Right, "Berechnet");
        sheet.rule(LEFT, RIGHT, y + 3.0, 0.5);
        y + LEADING + 4.0
    };
    let new_page = |sheet: &mut Sheet| {
        sheet.new_page();
        sheet.text(LEFT, 18.0 * MM, 9.0, Weight::Bold, Align::Left, &r.seller.name);
        sheet.text(RIGHT, 18.0 * MM, 9.0, Weight::Regular, Align::Right, format!("{title} {}", r.subject));
        sheet.rule(LEFT, RIGHT, 21.0 * MM, 0.3);
        CONTINUED_TOP
    };
    if !r.bookings.is_empty() {
        y = booking_header(&mut sheet, y);
    }
    for b in &r.bookings {
        let mut activity =
            [b.ticket.clone(), Some(b.service.clone())].into_iter().flatten().collect::<Vec<_>>().join(" · ");
        if !b.description.trim().is_empty() {
            activity.push_str(": ");
            activity.push_str(b.description.trim());
        }
        if b.settled != Settled::Billed {
            activity.push_str(&format!(" ({})", b.settled.label()));
        }
        let activity = wrap(&activity, Weight::Regular, SIZE, activity_width);
        let person = wrap(&b.person, Weight::Regular, SIZE, 27.0 * MM);
        let height = activity.len().max(person.len()).max(1) as f32 * LEADING + 2.0;
        if y + height > BODY_BOTTOM {
            y = new_page(&mut sheet);
            y = booking_header(&mut sheet, y);
        }
        sheet.text(columns[0], y, SIZE, Weight::Regular, Align::Left, german::date(b.date));
        sheet.text(columns[1], y, SIZE, Weight::Regular, Align::Left, b.time.clone().unwrap_or_default());
        for (i, line) in person.iter().enumerate() {
            sheet.text(columns[2], y + i as f32 * LEADING, SIZE, Weight::Regular, Align::Left, line);
        }
        for (i, line) in activity.iter().enumerate() {
            sheet.text(columns[3], y + i as f32 * LEADING, SIZE, Weight::Regular, Align::Left, line);
        }
        sheet.text(worked_right, y, SIZE, Weight::Regular, Align::Right, hours(b.worked_minutes));
        let billed = b.billed_minutes.map(hours).unwrap_or_else(|| "–".into());
        sheet.text(billed_right, y, SIZE, Weight::Regular, Align::Right, billed);
        y += height;
    }
    if !r.bookings.is_empty() {
        if y + 3.0 * LEADING > BODY_BOTTOM {
            y = new_page(&mut sheet);
        }
        sheet.rule(LEFT, RIGHT, y - LEADING + 3.0, 0.5);
        y += 2.0;
        sheet.text(columns[3], y, SIZE, Weight::Bold, Align::Left, "Summe");
        sheet.text(worked_right, y, SIZE, Weight::Bold, Align::Right, hours(r.totals.worked));
        sheet.text(billed_right, y, SIZE, Weight::Bold, Align::Right, hours(r.totals.billed));
        y += LEADING;
        let mut parts = Vec::new();
        if r.totals.covered > 0 {
            parts.push(format!("im Vertrag enthalten {} h", hours(r.totals.covered)));
        }
        if r.totals.open > 0 {
            parts.push(format!("noch nicht abgerechnet {} h", hours(r.totals.open)));
        }
        if !parts.is_empty() {
            sheet.text(columns[3], y, SIZE, Weight::Regular, Align::Left, parts.join(" · "));
            y += LEADING;
        }
        y += 4.0 * MM;
    }

    // A section's title, on a new page when not even two lines fit below it.
    let heading = |sheet: &mut Sheet, y: f32, title: &str| {
        let y = if y + 3.0 * LEADING > BODY_BOTTOM { new_page(sheet) } else { y };
        sheet.text(LEFT, y, 9.0, Weight::Bold, Align::Left, title);
        y + LEADING + 2.0
    };

    // Expenses.
    if !r.expenses.is_empty() {
        y = heading(&mut sheet, y, "Material und Auslagen");
        for e in &r.expenses {
            let text = format!("{} ({})", e.description.trim(), e.settled.label());
            let lines = wrap(&text, Weight::Regular, SIZE, worked_right - 12.0 * MM - columns[1]);
            if y + lines.len() as f32 * LEADING > BODY_BOTTOM {
                y = new_page(&mut sheet);
            }
            sheet.text(columns[0], y, SIZE, Weight::Regular, Align::Left, german::date(e.date));
            for (i, line) in lines.iter().enumerate() {
                sheet.text(columns[1], y + i as f32 * LEADING, SIZE, Weight::Regular, Align::Left, line);
            }
            let quantity = format!("{} {}", german::number(e.quantity, 0), unit(e.unit));
            sheet.text(billed_right, y, SIZE, Weight::Regular, Align::Right, quantity);
            y += lines.len().max(1) as f32 * LEADING + 2.0;
        }
        y += 4.0 * MM;
    }

    // Notes.
    if !r.notes.is_empty() {
        y = heading(&mut sheet, y, "Vermerke");
        for n in &r.notes {
            let text = format!("{} · {} · {}: {}", german::date(n.date), n.ticket, n.author, n.text.trim());
            for line in wrap(&text, Weight::Regular, SIZE, RIGHT - LEFT) {
                if y > BODY_BOTTOM {
                    y = new_page(&mut sheet);
                }
                sheet.text(LEFT, y, SIZE, Weight::Regular, Align::Left, line);
                y += LEADING;
            }
            y += 2.0;
        }
        y += 4.0 * MM;
    }

    // The signature block stays together.
    if y + 30.0 * MM > BODY_BOTTOM {
        y = new_page(&mut sheet);
    }
    sheet.text(
        LEFT,
        y,
        9.0,
        Weight::Regular,
        Align::Left,
        "Die aufgeführten Leistungen wurden erbracht und abgenommen.",
    );
    y += 20.0 * MM;
    let middle = LEFT + 75.0 * MM;
    sheet.rule(LEFT, LEFT + 65.0 * MM, y, 0.4);
    sheet.rule(middle, RIGHT, y, 0.4);
    y += 4.0 * MM;
    sheet.text(LEFT, y, SIZE, Weight::Regular, Align::Left, "Ort, Datum");
    sheet.text(middle, y, SIZE, Weight::Regular, Align::Left, "Unterschrift Kunde");

    for page in 0..sheet.pages.len() {
        footer(&mut sheet, &r.seller, None, &r.footer_lines, page);
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_print_as_hours_and_minutes() {
        assert_eq!(hours(0), "0:00");
        assert_eq!(hours(7), "0:07");
        assert_eq!(hours(90), "1:30");
        assert_eq!(hours(6000), "100:00");
        assert_eq!(hours(-15), "-0:15");
    }
}

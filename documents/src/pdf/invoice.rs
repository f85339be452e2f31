//! The printed invoice and credit note: where each part of a [`Document`] goes on A4 pages,
//! after DIN 5008 form B — letterhead, the address window (45 mm from the top, 20 mm from the
//! left, return line above the recipient), the information block to its right, fold and hole
//! marks, the subject line, the table of lines (repeated header on every page), VAT per rate
//! and totals, the notes, payment terms with due date and bank details, and on every page the
//! seller's footer and "Seite n von m". Labels are German.

use rust_decimal::Decimal;

use super::german;
use super::layout::{text_width, wrap, Align, Op, Sheet, Weight, MM};
use crate::{Document, DocumentKind, LineUnit, Logo, Party, PaymentAccount, VatCategory};

/// Left and right edges of the text body.
pub(super) const LEFT: f32 = 25.0 * MM;
pub(super) const RIGHT: f32 = 190.0 * MM;
/// The body ends here; the footer follows.
pub(super) const BODY_BOTTOM: f32 = 262.0 * MM;
/// Where the body starts on the second and later pages.
pub(super) const CONTINUED_TOP: f32 = 32.0 * MM;

/// Table text size and line height.
const TABLE_SIZE: f32 = 8.5;
const TABLE_LEADING: f32 = 10.5;
const BODY_SIZE: f32 = 9.0;
const BODY_LEADING: f32 = 12.0;

/// Columns of the table of lines (right edges for the numbers).
struct Columns {
    position: f32,
    description: f32,
    description_width: f32,
    quantity_right: f32,
    unit: f32,
    price_right: f32,
    /// Shown when the document has more than one VAT rate.
    rate_right: Option<f32>,
    net_right: f32,
}

impl Columns {
    fn for_document(doc: &Document) -> Columns {
        let several_rates = doc.vat.len() > 1;
        let description_width = if several_rates { 62.0 * MM } else { 74.0 * MM };
        let shift = if several_rates { 0.0 } else { 12.0 * MM };
        Columns {
            position: LEFT,
            description: LEFT + 9.0 * MM,
            description_width,
            quantity_right: 118.0 * MM + shift,
            unit: 120.0 * MM + shift,
            price_right: 153.0 * MM + shift,
            rate_right: several_rates.then_some(166.0 * MM),
            net_right: RIGHT,
        }
    }
}

/// Lays `doc` out on pages. A `draft` has no number: it says "Entwurf" where the number goes
/// and carries a watermark.
pub(crate) fn typeset(doc: &Document, draft: bool) -> Sheet {
    let mut sheet = Sheet::default();
    let title = title(doc, draft);
    letterhead(&mut sheet, &doc.seller, doc.logo.as_ref());
    address_window(&mut sheet, &doc.seller, &doc.buyer);
    information_block(&mut sheet, doc, draft);
    fold_marks(&mut sheet);

    let mut y = 103.0 * MM;
    sheet.text(LEFT, y, 12.0, Weight::Bold, Align::Left, &title);
    y += 6.5 * MM;
    if let Some(p) = &doc.preceding {
        let text = format!("zur Rechnung {} vom {}", p.number, german::date(p.issue_date));
        sheet.text(LEFT, y, BODY_SIZE, Weight::Regular, Align::Left, text);
        y += BODY_LEADING;
    }
    let intro = match doc.kind {
        DocumentKind::Invoice => "Für unsere Leistungen berechnen wir Ihnen:",
        DocumentKind::CreditNote => "Die folgenden Positionen schreiben wir Ihnen gut:",
    };
    sheet.text(LEFT, y, BODY_SIZE, Weight::Regular, Align::Left, intro);
    y += 7.0 * MM;

    let columns = Columns::for_document(doc);
    y = table_header(&mut sheet, &columns, y);
    for line in &doc.lines {
        let description = wrap(&line.description, Weight::Regular, TABLE_SIZE, columns.description_width);
        let height = description.len().max(1) as f32 * TABLE_LEADING + 3.0;
        if y + height > BODY_BOTTOM {
            y = continue_on_new_page(&mut sheet, doc, &title);
            y = table_header(&mut sheet, &columns, y);
        }
        let size = TABLE_SIZE;
        sheet.text(columns.position, y, size, Weight::Regular, Align::Left, line.line_no.to_string());
        for (i, text) in description.iter().enumerate() {
            sheet.text(columns.description, y + i as f32 * TABLE_LEADING, size, Weight::Regular, Align::Left, text);
        }
        sheet.text(columns.quantity_right, y, size, Weight::Regular, Align::Right, german::number(line.quantity, 0));
        sheet.text(columns.unit, y, size, Weight::Regular, Align::Left, unit(line.unit));
        sheet.text(columns.price_right, y, size, Weight::Regular, Align::Right, german::number(line.unit_price, 2));
        if let Some(x) = columns.rate_right {
            sheet.text(x, y, size, Weight::Regular, Align::Right, german::percent(line.vat_rate));
        }
        sheet.text(columns.net_right, y, size, Weight::Regular, Align::Right, german::amount(line.net));
        y += height;
    }
    sheet.rule(LEFT, RIGHT, y - TABLE_LEADING + 4.0, 0.5);
    y += 3.0;

    // The totals stay together on one page.
    let totals_height = (doc.vat.len() as f32 + 3.0) * BODY_LEADING;
    if y + totals_height > BODY_BOTTOM {
        y = continue_on_new_page(&mut sheet, doc, &title);
    }
    y = totals(&mut sheet, doc, y);

    y += 4.0 * MM;
    for paragraph in closing_text(doc, draft) {
        for text in wrap(&paragraph, Weight::Regular, BODY_SIZE, RIGHT - LEFT) {
            if y > BODY_BOTTOM {
                y = continue_on_new_page(&mut sheet, doc, &title);
            }
            sheet.text(LEFT, y, BODY_SIZE, Weight::Regular, Align::Left, text);
            y += BODY_LEADING;
        }
        y += 3.0;
    }

    for page in 0..sheet.pages.len() {
        footer(&mut sheet, &doc.seller, doc.payee_account.as_ref(), &doc.footer_lines, page);
        if draft {
            sheet.pages[page].insert(0, Op::Watermark("ENTWURF".into()));
        }
    }
    sheet
}

/// The subject line (also the PDF's title): "Rechnung 2026-0001", "Rechnungskorrektur …",
/// "Rechnungsentwurf".
pub(super) fn title(doc: &Document, draft: bool) -> String {
    match (doc.kind, draft) {
        (DocumentKind::Invoice, true) => "Rechnungsentwurf".into(),
        (DocumentKind::CreditNote, true) => "Entwurf einer Rechnungskorrektur".into(),
        (DocumentKind::Invoice, false) => format!("Rechnung {}", doc.number),
        (DocumentKind::CreditNote, false) => format!("Rechnungskorrektur {}", doc.number),
    }
}

pub(super) fn unit(unit: LineUnit) -> &'static str {
    match unit {
        LineUnit::Hour => "Std.",
        LineUnit::Km => "km",
        LineUnit::Piece => "Stk.",
        LineUnit::Flat => "pauschal",
    }
}

/// "Street, 80331 München, DE" parts of an address that are present.
fn address_parts(p: &Party) -> Vec<String> {
    let city = [p.address.postal_code.as_deref(), p.address.city.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    [p.address.street.clone(), (!city.is_empty()).then_some(city)].into_iter().flatten().collect()
}

/// The seller's name, address and contact at the top left; its logo, if any, at the top right
/// (at most 55 × 22 mm, proportions kept).
pub(super) fn letterhead(sheet: &mut Sheet, seller: &Party, logo: Option<&Logo>) {
    if let Some((w, h)) = logo.and_then(super::logo_size) {
        let scale = (55.0 * MM / w).min(22.0 * MM / h);
        let (width, height) = (w * scale, h * scale);
        sheet.page().push(Op::Logo { x: RIGHT - width, y: 10.0 * MM, width, height });
    }
    sheet.text(LEFT, 20.0 * MM, 14.0, Weight::Bold, Align::Left, &seller.name);
    sheet.text(LEFT, 26.0 * MM, 8.0, Weight::Regular, Align::Left, address_parts(seller).join(" · "));
    if let Some(c) = &seller.contact {
        let parts: Vec<String> = [
            (!c.phone.trim().is_empty()).then(|| format!("Tel. {}", c.phone)),
            (!c.email.trim().is_empty()).then(|| c.email.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        sheet.text(LEFT, 30.0 * MM, 8.0, Weight::Regular, Align::Left, parts.join(" · "));
    }
}

/// The recipient in the window of a DIN envelope, the return line above it; a foreign
/// country is the last line, in capitals.
fn address_window(sheet: &mut Sheet, seller: &Party, buyer: &Party) {
    let mut ret = vec![seller.name.clone()];
    ret.extend(address_parts(seller));
    let ret = ret.join(" · ");
    sheet.text(LEFT, 50.0 * MM, 6.5, Weight::Regular, Align::Left, &ret);
    sheet.rule(LEFT, LEFT + text_width(&ret, Weight::Regular, 6.5), 50.0 * MM + 1.2, 0.3);
    let mut lines = vec![buyer.name.clone()];
    lines.extend(address_parts(buyer));
    let country = buyer.address.country.trim();
    if !country.is_empty() && !country.eq_ignore_ascii_case(seller.address.country.trim()) {
        lines.push(country_name(country).to_uppercase());
    }
    let mut y = 66.0 * MM;
    for line in lines.iter().flat_map(|l| wrap(l, Weight::Regular, 10.0, 80.0 * MM)).take(6) {
        sheet.text(LEFT, y, 10.0, Weight::Regular, Align::Left, line);
        y += 4.23 * MM;
    }
}

/// German name of the countries customers are most often in; else the ISO code.
fn country_name(code: &str) -> String {
    let name = match code.to_ascii_uppercase().as_str() {
        "DE" => "Deutschland",
        "AT" => "Österreich",
        "CH" => "Schweiz",
        "CZ" => "Tschechien",
        "PL" => "Polen",
        "FR" => "Frankreich",
        "NL" => "Niederlande",
        "BE" => "Belgien",
        "LU" => "Luxemburg",
        "DK" => "Dänemark",
        "IT" => "Italien",
        "ES" => "Spanien",
        "SK" => "Slowakei",
        "HU" => "Ungarn",
        "GB" => "Vereinigtes Königreich",
        "US" => "Vereinigte Staaten",
        other => return other.to_string(),
    };
    name.to_string()
}

/// Number, dates, customer number, references — right of the address window.
fn information_block(sheet: &mut Sheet, doc: &Document, draft: bool) {
    let number_label = match doc.kind {
        DocumentKind::Invoice => "Rechnungsnr.",
        DocumentKind::CreditNote => "Korrektur-Nr.",
    };
    let mut rows: Vec<(&str, String)> = vec![(number_label, if draft { "Entwurf".into() } else { doc.number.clone() })];
    rows.push((if draft { "Stand" } else { "Datum" }, german::date(doc.issue_date)));
    if let Some(id) = &doc.buyer.id {
        rows.push(("Kundennr.", id.clone()));
    }
    if let Some((from, to)) = doc.period {
        rows.push(("Leistungszeitraum", format!("{} – {}", german::date(from), german::date(to))));
    }
    if let (DocumentKind::Invoice, Some(due)) = (doc.kind, doc.due_date) {
        rows.push(("Fällig am", german::date(due)));
    }
    if let Some(r) = &doc.order_reference {
        rows.push(("Ihre Bestellung", r.clone()));
    }
    if let Some(r) = &doc.buyer_reference {
        rows.push(("Ihre Referenz", r.clone()));
    }
    if let (VatCategory::ReverseCharge, Some(vat_id)) = (doc.vat_category, &doc.buyer.vat_id) {
        rows.push(("Ihre USt-IdNr.", vat_id.clone()));
    }
    if let Some(c) = doc.seller.contact.as_ref().filter(|c| !c.name.trim().is_empty()) {
        rows.push(("Ansprechpartner", c.name.clone()));
    }
    let (label_x, value_x) = (122.0 * MM, 151.0 * MM);
    let mut y = 50.0 * MM;
    for (label, value) in rows {
        sheet.text(label_x, y, 8.0, Weight::Regular, Align::Left, label);
        for line in wrap(&value, Weight::Regular, 8.0, RIGHT - value_x).into_iter().take(3) {
            sheet.text(value_x, y, 8.0, Weight::Regular, Align::Left, line);
            y += 4.0 * MM;
        }
    }
}

/// Fold marks (105 mm, 210 mm) and the hole mark (148.5 mm) at the left edge.
fn fold_marks(sheet: &mut Sheet) {
    for (y, length) in [(105.0, 5.0), (148.5, 7.0), (210.0, 5.0)] {
        sheet.page().push(Op::Rule { x1: 4.0 * MM, y1: y * MM, x2: (4.0 + length) * MM, y2: y * MM, width: 0.3 });
    }
}

/// Starts the next page with a short header; the `y` where the body goes on.
fn continue_on_new_page(sheet: &mut Sheet, doc: &Document, title: &str) -> f32 {
    sheet.new_page();
    sheet.text(LEFT, 18.0 * MM, 9.0, Weight::Bold, Align::Left, &doc.seller.name);
    sheet.text(RIGHT, 18.0 * MM, 9.0, Weight::Regular, Align::Right, title);
    sheet.rule(LEFT, RIGHT, 21.0 * MM, 0.3);
    CONTINUED_TOP
}

/// The table's column titles and the rule under them; the `y` of the first row.
fn table_header(sheet: &mut Sheet, c: &Columns, y: f32) -> f32 {
    let b = Weight::Bold;
    sheet.text(c.position, y, TABLE_SIZE, b, Align::Left, "Pos.");
    sheet.text(c.description, y, TABLE_SIZE, b, Align::Left, "Beschreibung");
    sheet.text(c.quantity_right, y, TABLE_SIZE, b, Align::Right, "Menge");
    sheet.text(c.unit, y, TABLE_SIZE, b, Align::Left, "Einheit");
    sheet.text(c.price_right, y, TABLE_SIZE, b, Align::Right, "Einzelpreis");
    if let Some(x) = c.rate_right {
        sheet.text(x, y, TABLE_SIZE, b, Align::Right, "USt.");
    }
    sheet.text(c.net_right, y, TABLE_SIZE, b, Align::Right, "Netto");
    sheet.rule(LEFT, RIGHT, y + 3.0, 0.5);
    y + TABLE_LEADING + 4.0
}

/// Net, VAT per rate and the total; the `y` below them.
fn totals(sheet: &mut Sheet, doc: &Document, mut y: f32) -> f32 {
    let label_x = 100.0 * MM;
    let currency = &doc.currency;
    let row = |sheet: &mut Sheet, y: f32, label: String, value: Decimal, weight: Weight| {
        sheet.text(label_x, y, BODY_SIZE, weight, Align::Left, label);
        sheet.text(RIGHT, y, BODY_SIZE, weight, Align::Right, format!("{} {currency}", german::amount(value)));
    };
    row(sheet, y, "Summe netto".into(), doc.net, Weight::Regular);
    y += BODY_LEADING;
    for v in &doc.vat {
        let label = match doc.vat_category {
            VatCategory::Standard => {
                format!("USt. {} auf {} {currency}", german::percent(v.rate), german::amount(v.net))
            }
            VatCategory::ReverseCharge => "USt. 0 % (Steuerschuldnerschaft des Leistungsempfängers)".into(),
            VatCategory::Export => "USt. 0 % (Ausfuhr, nicht steuerbar)".into(),
        };
        row(sheet, y, label, v.vat, Weight::Regular);
        y += BODY_LEADING;
    }
    sheet.rule(label_x, RIGHT, y - BODY_LEADING + 4.0, 0.5);
    y += 2.0;
    let label = match doc.kind {
        DocumentKind::Invoice => "Rechnungsbetrag",
        DocumentKind::CreditNote => "Gutschriftsbetrag",
    };
    row(sheet, y, label.into(), doc.gross, Weight::Bold);
    y + BODY_LEADING
}

/// The notes (legal note, reason of a credit note) and how the amount is settled.
fn closing_text(doc: &Document, draft: bool) -> Vec<String> {
    let mut out: Vec<String> = doc.notes.iter().filter(|n| !n.trim().is_empty()).cloned().collect();
    let gross = format!("{} {}", german::amount(doc.gross), doc.currency);
    match doc.kind {
        DocumentKind::Invoice if doc.gross > Decimal::ZERO => {
            let due = doc.due_date.map(|d| format!(" bis zum {}", german::date(d))).unwrap_or_default();
            let mut pay = format!("Bitte überweisen Sie {gross}{due} ohne Abzug");
            if let Some(a) = &doc.payee_account {
                pay.push_str(&format!(" auf das Konto IBAN {}", a.iban));
                if let Some(bic) = &a.bic {
                    pay.push_str(&format!(", BIC {bic}"));
                }
                if let Some(bank) = &a.bank_name {
                    pay.push_str(&format!(" ({bank})"));
                }
            }
            if !draft {
                pay.push_str(&format!(", Verwendungszweck {}", doc.number));
            }
            pay.push('.');
            out.push(pay);
        }
        DocumentKind::CreditNote => out.push(format!("Den Betrag von {gross} schreiben wir Ihnen gut.")),
        DocumentKind::Invoice => {}
    }
    out.extend(doc.payment_terms.iter().filter(|t| !t.trim().is_empty()).cloned());
    out
}

/// The seller's details in four columns (the bank account where given), the profile's footer
/// lines and the page number.
pub(super) fn footer(
    sheet: &mut Sheet,
    s: &Party,
    account: Option<&PaymentAccount>,
    footer_lines: &[String],
    page: usize,
) {
    let mut columns: Vec<Vec<String>> = vec![vec![s.name.clone()], Vec::new(), Vec::new(), Vec::new()];
    columns[0].extend(address_parts(s));
    if let Some(c) = &s.contact {
        columns[1].extend(
            [
                (!c.phone.trim().is_empty()).then(|| format!("Tel. {}", c.phone)),
                (!c.email.trim().is_empty()).then(|| c.email.clone()),
            ]
            .into_iter()
            .flatten(),
        );
    }
    columns[1].extend(s.commercial_register.clone());
    columns[2].extend(s.vat_id.as_ref().map(|v| format!("USt-IdNr. {v}")));
    columns[2].extend(s.tax_number.as_ref().map(|v| format!("St.-Nr. {v}")));
    if let Some(a) = account {
        columns[3].extend(a.bank_name.clone());
        columns[3].push(format!("IBAN {}", a.iban));
        columns[3].extend(a.bic.as_ref().map(|b| format!("BIC {b}")));
    }
    let ops = &mut sheet.pages[page];
    ops.push(Op::Rule { x1: LEFT, y1: 268.0 * MM, x2: RIGHT, y2: 268.0 * MM, width: 0.3 });
    let width = (RIGHT - LEFT) / 4.0;
    for (i, column) in columns.iter().enumerate() {
        let x = LEFT + i as f32 * width;
        let lines = column.iter().flat_map(|t| wrap(t, Weight::Regular, 6.5, width - 2.0 * MM));
        for (j, text) in lines.take(4).enumerate() {
            ops.push(Op::Text {
                x,
                y: 272.0 * MM + j as f32 * 3.0 * MM,
                size: 6.5,
                weight: Weight::Regular,
                align: Align::Left,
                text,
            });
        }
    }
    let extra = footer_lines.iter().flat_map(|t| wrap(t, Weight::Regular, 6.5, RIGHT - LEFT));
    for (j, text) in extra.take(2).enumerate() {
        ops.push(Op::Text {
            x: LEFT,
            y: 285.0 * MM + j as f32 * 3.0 * MM,
            size: 6.5,
            weight: Weight::Regular,
            align: Align::Left,
            text,
        });
    }
    ops.push(Op::PageNumber { x: RIGHT, y: 291.0 * MM, size: 7.0, words: ("Seite", "von") });
}

//! The printable status and project reports: each one self-contained HTML page (inline styles, no scripts,
//! images, fonts or links to load), in German or English, with the same figures as the
//! JSON report.

use super::project::ProjectReport;
use super::StatusReport;
use crate::dto::DecimalString;
use domain::notification::Language;
use std::fmt::Write;

/// German unless the caller's first language is English (`Accept-Language`).
pub fn from_accept_language(header: Option<&str>) -> Language {
    let first = header.unwrap_or("").split(',').next().unwrap_or("").trim().to_ascii_lowercase();
    if first.starts_with("en") {
        Language::En
    } else {
        Language::De
    }
}

/// `s` escaped for HTML text and attribute values.
fn esc(s: &str) -> String {
    documents::escape_markup(s)
}

/// A decimal as printed: German decimal comma, English point.
fn num(lang: Language, d: &DecimalString) -> String {
    let s = d.0.to_string();
    match lang {
        Language::De => s.replace('.', ","),
        Language::En => s,
    }
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:10pt;color:#222;margin:2em}\
h1{font-size:16pt;margin:0 0 .2em}h2{font-size:12pt;margin:1.4em 0 .4em;border-bottom:1px solid #999}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.2em .5em;border-bottom:1px solid #ddd}\
td.n,th.n{text-align:right}.muted{color:#666}@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}";

/// The report as one printable page.
pub fn status_page(r: &StatusReport, lang: Language) -> String {
    let t = |de, en| lang.pick(de, en);
    let mut h = String::with_capacity(8 * 1024);
    let title = format!("{}: {}", t("Statusbericht", "Status report"), r.subject.label);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        t("de", "en"),
        esc(&title)
    );
    let _ = write!(h, "<h1>{}</h1><p class=\"muted\">", esc(&title));
    if let Some(c) = &r.customer {
        let _ = write!(h, "{} {} · {} · ", t("Kunde", "Customer"), esc(&c.number), esc(&c.name));
    }
    let _ = write!(h, "{} {} – {}</p>", t("Zeitraum", "Period"), esc(&r.from), esc(&r.to));

    let _ = write!(h, "<h2>{} ({})</h2>", t("Offene Tickets", "Open tickets"), r.open_tickets.len());
    if r.open_tickets.is_empty() {
        let _ = write!(h, "<p class=\"muted\">{}</p>", t("Keine offenen Tickets.", "No open tickets."));
    } else {
        let columns = [
            (t("Nummer", "Number"), false),
            (t("Titel", "Title"), false),
            ("Status", false),
            (t("Priorität", "Priority"), false),
        ];
        let rows = r.open_tickets.iter().map(|tk| {
            vec![tk.number.clone(), tk.title.clone(), tk.status.as_str().into(), tk.priority.as_str().into()]
        });
        table(&mut h, &columns, rows, None);
        if r.open_tickets_truncated {
            let _ = write!(h, "<p class=\"muted\">{}</p>", t("… und weitere.", "… and more."));
        }
    }

    let _ = write!(h, "<h2>{}</h2>", t("Stunden nach Leistung", "Hours by service"));
    let columns =
        [(t("Leistung", "Service"), false), (t("Buchungen", "Bookings"), true), (t("Stunden", "Hours"), true)];
    let rows = r.hours_by_service.iter().map(|s| vec![s.service.clone(), s.bookings.to_string(), num(lang, &s.hours)]);
    let total = vec![t("Summe", "Total").to_string(), String::new(), num(lang, &r.total_hours)];
    table(&mut h, &columns, rows, Some(total));

    if !r.quota.is_empty() {
        let _ = write!(h, "<h2>{}</h2>", t("Kontingente", "Quotas"));
        let columns = [
            (t("Vertrag", "Contract"), false),
            (t("Verbraucht", "Used"), true),
            (t("Verfügbar", "Available"), true),
            (t("Einheit", "Unit"), true),
        ];
        let rows = r.quota.iter().map(|q| {
            let figures = &q.including_drafts;
            let (used, available, unit) = match (&figures.used_hours, &figures.available_hours) {
                (Some(u), Some(a)) => (DecimalString(*u), DecimalString(*a), t("Stunden", "hours").to_string()),
                _ => (DecimalString(figures.status.summary.used), DecimalString(figures.available), q.currency.clone()),
            };
            vec![q.contract_number.clone(), num(lang, &used), num(lang, &available), unit]
        });
        table(&mut h, &columns, rows, None);
    }

    if !r.projects.is_empty() {
        let _ = write!(h, "<h2>{}</h2>", t("Projekte: Schätzung und Ist", "Projects: estimate and actual"));
        let columns = [
            (t("Projekt", "Project"), false),
            (t("Schätzung (h)", "Estimate (h)"), true),
            (t("Ist (h)", "Actual (h)"), true),
            (t("Verbraucht", "Used"), true),
        ];
        let rows = r.projects.iter().map(|p| {
            vec![
                p.name.clone(),
                p.estimate_hours.as_ref().map(|e| num(lang, e)).unwrap_or_else(|| "–".into()),
                num(lang, &p.actual_hours),
                p.percent_used.as_ref().map(|e| format!("{} %", num(lang, e))).unwrap_or_else(|| "–".into()),
            ]
        });
        table(&mut h, &columns, rows, None);
    }

    if let Some(u) = &r.unbilled {
        let _ = write!(
            h,
            "<h2>{}</h2><p>{}: {} · {}: {} {}</p>",
            t("Noch nicht abgerechnet", "Not invoiced yet"),
            t("Offene Positionen", "Open positions"),
            u.open_positions,
            t("Wert zu heutigen Preisen", "Value at today's rates"),
            num(lang, &u.unbilled_value),
            esc(&u.currency)
        );
    }
    h.push_str("</body></html>");
    h
}

/// The project report as one printable page.
pub fn project_page(r: &ProjectReport, lang: Language) -> String {
    let t = |de, en| lang.pick(de, en);
    let mut h = String::with_capacity(16 * 1024);
    let title = format!("{}: {}", t("Projektbericht", "Project report"), r.name);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        t("de", "en"),
        esc(&title)
    );
    let _ = write!(h, "<h1>{}</h1><p class=\"muted\">", esc(&title));
    match &r.customer {
        Some(c) => {
            let _ = write!(h, "{} {} · {} · ", t("Kunde", "Customer"), esc(&c.number), esc(&c.name));
        }
        None => h.push_str(t("Internes Projekt · ", "Internal project · ")),
    }
    let _ = write!(h, "Status: {}", esc(domain::notification::project_status(r.status, lang)));
    for (role, who) in [
        (t("Projektmanager:in", "Project manager"), &r.project_manager),
        (t("Accountmanager:in", "Account manager"), &r.account_manager),
        (t("Projektleiter:in", "Project lead"), &r.project_lead),
    ] {
        if let Some(p) = who {
            let _ = write!(h, " · {role}: {}", esc(&p.name));
        }
    }
    h.push_str("</p>");
    if let Some(d) = &r.description {
        let _ = write!(h, "<p>{}</p>", esc(d));
    }

    let p = &r.profitability;
    let _ = write!(h, "<h2>{}</h2>", t("Wirtschaftlichkeit", "Profitability"));
    let currency = p.currency.clone().unwrap_or_default();
    let mut rows = vec![
        vec![t("Abgerechnet (netto)", "Billed (net)").to_string(), num(lang, &p.billed), currency.clone()],
        vec![
            t("Offen zu heutigen Preisen", "Open at today's rates").to_string(),
            num(lang, &p.unbilled),
            currency.clone(),
        ],
        vec![
            t("Kosten (interne Sätze)", "Cost (internal rates)").to_string(),
            num(lang, &p.cost),
            p.cost_currency.clone(),
        ],
    ];
    if let Some(m) = &p.margin {
        let percent = p.margin_percent.as_ref().map(|x| format!(" ({} %)", num(lang, x))).unwrap_or_default();
        rows.push(vec![t("Deckungsbeitrag", "Margin").to_string(), format!("{}{percent}", num(lang, m)), currency]);
    }
    let columns = [("", false), (t("Betrag", "Amount"), true), (t("Währung", "Currency"), false)];
    table(&mut h, &columns, rows.into_iter(), None);

    let e = &r.effort;
    let _ = write!(h, "<h2>{}</h2>", t("Aufgaben: Schätzung und Ist", "Tasks: estimate and actual"));
    let columns = [
        (t("Aufgabe", "Task"), false),
        (t("Schätzung (h)", "Estimate (h)"), true),
        (t("Ist (h)", "Actual (h)"), true),
        (t("Rest (h)", "Remaining (h)"), true),
    ];
    let dash = |d: &Option<DecimalString>| d.as_ref().map(|d| num(lang, d)).unwrap_or_else(|| "–".into());
    let rows = e
        .tasks
        .iter()
        .map(|k| vec![k.name.clone(), dash(&k.estimate_hours), num(lang, &k.actual_hours), dash(&k.remaining_hours)]);
    let total = vec![
        t("Projekt", "Project").into(),
        dash(&e.estimate_hours),
        num(lang, &e.actual_hours),
        dash(&e.remaining_hours),
    ];
    table(&mut h, &columns, rows, Some(total));

    let w = &r.work;
    let _ = write!(h, "<h2>{} ({})</h2>", t("Buchungen", "Bookings"), w.bookings.len());
    let columns = [
        (t("Datum", "Date"), false),
        (t("Wer", "Who"), false),
        ("Ticket", false),
        (t("Tätigkeit", "Activity"), false),
        (t("Stunden", "Hours"), true),
    ];
    let hours = |minutes: i64| num(lang, &DecimalString(domain::project::minutes_to_hours(minutes)));
    let rows = w.bookings.iter().map(|b| {
        vec![
            b.work_date.clone(),
            b.user.name.clone(),
            b.ticket.as_ref().map(|t| t.number.clone()).unwrap_or_default(),
            format!("{}: {}", b.service.name, b.description),
            hours(b.actual_minutes),
        ]
    });
    let total =
        vec![t("Summe", "Total").into(), String::new(), String::new(), String::new(), hours(w.totals.actual_minutes)];
    table(&mut h, &columns, rows, Some(total));
    if !w.expenses.is_empty() {
        let _ = write!(h, "<h2>{}</h2>", t("Material und Auslagen", "Material and expenses"));
        let columns =
            [(t("Datum", "Date"), false), (t("Beschreibung", "Description"), false), (t("Menge", "Quantity"), true)];
        let rows = w
            .expenses
            .iter()
            .map(|x| vec![x.date.clone(), x.description.clone(), format!("{} {}", num(lang, &x.quantity), x.unit)]);
        table(&mut h, &columns, rows, None);
    }
    let notes: Vec<(&str, &str, &str)> = w
        .tickets
        .iter()
        .flat_map(|tk| tk.notes.iter().map(move |n| (tk.number.as_str(), n.date.as_str(), n.text.as_str())))
        .collect();
    if !notes.is_empty() {
        let _ = write!(h, "<h2>{}</h2>", t("Berichtsnotizen", "Report notes"));
        let columns = [("Ticket", false), (t("Datum", "Date"), false), (t("Notiz", "Note"), false)];
        let rows =
            notes.iter().map(|(ticket, date, text)| vec![ticket.to_string(), date.to_string(), text.to_string()]);
        table(&mut h, &columns, rows, None);
    }
    h.push_str("</body></html>");
    h
}

/// Appends a table: its columns (heading, right-aligned number column?), its rows and an
/// optional total row; every cell is escaped here.
fn table(
    h: &mut String,
    columns: &[(&str, bool)],
    rows: impl Iterator<Item = Vec<String>>,
    total: Option<Vec<String>>,
) {
    let class = |numeric: bool| if numeric { " class=\"n\"" } else { "" };
    let row = |h: &mut String, cells: &[String], tag: &str| {
        h.push_str("<tr>");
        for (cell, (_, numeric)) in cells.iter().zip(columns) {
            let _ = write!(h, "<{tag}{}>{}</{tag}>", class(*numeric), esc(cell));
        }
        h.push_str("</tr>");
    };
    h.push_str("<table>");
    row(h, &columns.iter().map(|(c, _)| c.to_string()).collect::<Vec<_>>(), "th");
    for cells in rows {
        row(h, &cells, "td");
    }
    if let Some(cells) = total {
        row(h, &cells, "th");
    }
    h.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_is_printed_not_executed() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn english_is_chosen_only_when_it_comes_first() {
        assert_eq!(from_accept_language(Some("en-GB,en;q=0.9,de;q=0.8")), Language::En);
        assert_eq!(from_accept_language(Some("de-DE,en;q=0.5")), Language::De);
        assert_eq!(from_accept_language(None), Language::De);
    }
}

//! The printed status and project reports: the same figures as the JSON report, in German
//! or English, as a [`PrintedReport`] that prints as one self-contained HTML page
//! (`Accept: text/html`: inline styles, no scripts, images, fonts or links to load) or as a
//! PDF/A (`Accept: application/pdf`).

use super::project::ProjectReport;
use super::StatusReport;
use crate::dto::DecimalString;
use crate::error::ApiError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use documents::report::{Block, Column, PrintedReport, Table};
use domain::notification::Language;
use time::Date;

/// German unless the caller's first language is English (`Accept-Language`).
pub fn from_accept_language(header: Option<&str>) -> Language {
    let first = header.unwrap_or("").split(',').next().unwrap_or("").trim().to_ascii_lowercase();
    if first.starts_with("en") {
        Language::En
    } else {
        Language::De
    }
}

/// A decimal as printed: German decimal comma, English point.
fn num(lang: Language, d: &DecimalString) -> String {
    let s = d.0.to_string();
    match lang {
        Language::De => s.replace('.', ","),
        Language::En => s,
    }
}

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrintFormat {
    /// One self-contained HTML page.
    Html,
    /// PDF/A-3b.
    Pdf,
}

impl PrintFormat {
    /// The printed format the caller asked for: `Accept: text/html` or `application/pdf`
    /// before any JSON type; `None` for JSON.
    pub fn accepted(req: &HttpRequest) -> Option<PrintFormat> {
        let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        let accept = accept.to_ascii_lowercase();
        let json = accept.find("json").unwrap_or(usize::MAX);
        [(accept.find("text/html"), PrintFormat::Html), (accept.find("application/pdf"), PrintFormat::Pdf)]
            .into_iter()
            .filter_map(|(at, format)| at.filter(|at| *at < json).map(|at| (at, format)))
            .min_by_key(|(at, _)| *at)
            .map(|(_, format)| format)
    }

    /// The media type of a file in this format.
    pub fn media_type(self) -> &'static str {
        match self {
            PrintFormat::Html => "text/html; charset=utf-8",
            PrintFormat::Pdf => "application/pdf",
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            PrintFormat::Html => "html",
            PrintFormat::Pdf => "pdf",
        }
    }

    /// The report's bytes in this format.
    pub fn render(self, doc: &PrintedReport) -> Result<Vec<u8>, ApiError> {
        match self {
            PrintFormat::Html => Ok(doc.html().into_bytes()),
            PrintFormat::Pdf => documents::pdf::render_report(doc)
                .map_err(|e| ApiError::Internal(format!("the report cannot be printed: {e}"))),
        }
    }

    /// The report as an answer: an HTML page that may load and run nothing, or the PDF.
    pub fn respond(self, doc: &PrintedReport) -> Result<HttpResponse, ApiError> {
        let body = self.render(doc)?;
        let mut res = HttpResponse::Ok();
        res.content_type(self.media_type());
        if self == PrintFormat::Html {
            res.insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"));
        }
        Ok(res.body(body))
    }
}

/// What every printed report shares: its language, title and who prints it when.
pub struct Imprint {
    pub lang: Language,
    /// The company (the seller profile's name), the PDF's author.
    pub issuer: String,
    pub today: Date,
}

impl Imprint {
    fn report(&self, title: String, lead: String, blocks: Vec<Block>) -> PrintedReport {
        PrintedReport {
            language: self.lang.pick("de", "en").to_string(),
            title,
            lead: Some(lead),
            blocks,
            issuer: self.issuer.clone(),
            printed_on: self.today,
        }
    }
}

/// A table block.
fn table(columns: Vec<Column>, rows: impl Iterator<Item = Vec<String>>, total: Option<Vec<String>>) -> Block {
    Block::Table(Table { columns, rows: rows.collect(), total })
}

/// The status report, printed.
pub fn status_document(r: &StatusReport, imprint: &Imprint) -> PrintedReport {
    let lang = imprint.lang;
    let t = |de, en| lang.pick(de, en);
    let title = format!("{}: {}", t("Statusbericht", "Status report"), r.subject.label);
    let mut lead = String::new();
    if let Some(c) = &r.customer {
        lead.push_str(&format!("{} {} · {} · ", t("Kunde", "Customer"), c.number, c.name));
    }
    lead.push_str(&format!("{} {} – {}", t("Zeitraum", "Period"), r.from, r.to));
    let mut blocks =
        vec![Block::Heading(format!("{} ({})", t("Offene Tickets", "Open tickets"), r.open_tickets.len()))];
    if r.open_tickets.is_empty() {
        blocks.push(Block::Remark(t("Keine offenen Tickets.", "No open tickets.").into()));
    } else {
        let columns = vec![
            Column::text(t("Nummer", "Number")),
            Column::text(t("Titel", "Title")),
            Column::text("Status"),
            Column::text(t("Priorität", "Priority")),
        ];
        let rows = r.open_tickets.iter().map(|tk| {
            vec![tk.number.clone(), tk.title.clone(), tk.status.as_str().into(), tk.priority.as_str().into()]
        });
        blocks.push(table(columns, rows, None));
        if r.open_tickets_truncated {
            blocks.push(Block::Remark(t("… und weitere.", "… and more.").into()));
        }
    }

    blocks.push(Block::Heading(t("Stunden nach Leistung", "Hours by service").into()));
    let columns = vec![
        Column::text(t("Leistung", "Service")),
        Column::figures(t("Buchungen", "Bookings")),
        Column::figures(t("Stunden", "Hours")),
    ];
    let rows = r.hours_by_service.iter().map(|s| vec![s.service.clone(), s.bookings.to_string(), num(lang, &s.hours)]);
    let total = vec![t("Summe", "Total").to_string(), String::new(), num(lang, &r.total_hours)];
    blocks.push(table(columns, rows, Some(total)));

    if !r.quota.is_empty() {
        blocks.push(Block::Heading(t("Kontingente", "Quotas").into()));
        let columns = vec![
            Column::text(t("Vertrag", "Contract")),
            Column::figures(t("Verbraucht", "Used")),
            Column::figures(t("Verfügbar", "Available")),
            Column::figures(t("Einheit", "Unit")),
        ];
        let rows = r.quota.iter().map(|q| {
            let figures = &q.including_drafts;
            let (used, available, unit) = match (&figures.used_hours, &figures.available_hours) {
                (Some(u), Some(a)) => (DecimalString(*u), DecimalString(*a), t("Stunden", "hours").to_string()),
                _ => (DecimalString(figures.status.summary.used), DecimalString(figures.available), q.currency.clone()),
            };
            vec![q.contract_number.clone(), num(lang, &used), num(lang, &available), unit]
        });
        blocks.push(table(columns, rows, None));
    }

    if !r.projects.is_empty() {
        blocks.push(Block::Heading(t("Projekte: Schätzung und Ist", "Projects: estimate and actual").into()));
        let columns = vec![
            Column::text(t("Projekt", "Project")),
            Column::figures(t("Schätzung (h)", "Estimate (h)")),
            Column::figures(t("Ist (h)", "Actual (h)")),
            Column::figures(t("Verbraucht", "Used")),
        ];
        let rows = r.projects.iter().map(|p| {
            vec![
                p.name.clone(),
                p.estimate_hours.as_ref().map(|e| num(lang, e)).unwrap_or_else(|| "–".into()),
                num(lang, &p.actual_hours),
                p.percent_used.as_ref().map(|e| format!("{} %", num(lang, e))).unwrap_or_else(|| "–".into()),
            ]
        });
        blocks.push(table(columns, rows, None));
    }

    if let Some(u) = &r.unbilled {
        blocks.push(Block::Heading(t("Noch nicht abgerechnet", "Not invoiced yet").into()));
        blocks.push(Block::Paragraph(format!(
            "{}: {} · {}: {} {}",
            t("Offene Positionen", "Open positions"),
            u.open_positions,
            t("Wert zu heutigen Preisen", "Value at today's rates"),
            num(lang, &u.unbilled_value),
            u.currency
        )));
    }
    imprint.report(title, lead, blocks)
}

/// The project report, printed.
pub fn project_document(r: &ProjectReport, imprint: &Imprint) -> PrintedReport {
    let lang = imprint.lang;
    let t = |de, en| lang.pick(de, en);
    let title = format!("{}: {}", t("Projektbericht", "Project report"), r.name);
    let mut lead = match &r.customer {
        Some(c) => format!("{} {} · {} · ", t("Kunde", "Customer"), c.number, c.name),
        None => t("Internes Projekt · ", "Internal project · ").to_string(),
    };
    lead.push_str(&format!("Status: {}", domain::notification::project_status(r.status, lang)));
    for (role, who) in [
        (t("Projektmanager:in", "Project manager"), &r.project_manager),
        (t("Accountmanager:in", "Account manager"), &r.account_manager),
        (t("Projektleiter:in", "Project lead"), &r.project_lead),
    ] {
        if let Some(p) = who {
            lead.push_str(&format!(" · {role}: {}", p.name));
        }
    }
    let mut blocks = Vec::new();
    if let Some(d) = &r.description {
        blocks.push(Block::Paragraph(d.clone()));
    }

    let p = &r.profitability;
    blocks.push(Block::Heading(t("Wirtschaftlichkeit", "Profitability").into()));
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
    let columns =
        vec![Column::text(""), Column::figures(t("Betrag", "Amount")), Column::text(t("Währung", "Currency"))];
    blocks.push(table(columns, rows.into_iter(), None));

    let e = &r.effort;
    blocks.push(Block::Heading(t("Aufgaben: Schätzung und Ist", "Tasks: estimate and actual").into()));
    let columns = vec![
        Column::text(t("Aufgabe", "Task")),
        Column::figures(t("Schätzung (h)", "Estimate (h)")),
        Column::figures(t("Ist (h)", "Actual (h)")),
        Column::figures(t("Rest (h)", "Remaining (h)")),
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
    blocks.push(table(columns, rows, Some(total)));

    let w = &r.work;
    blocks.push(Block::Heading(format!("{} ({})", t("Buchungen", "Bookings"), w.bookings.len())));
    let columns = vec![
        Column::text(t("Datum", "Date")),
        Column::text(t("Wer", "Who")),
        Column::text("Ticket"),
        Column::text(t("Tätigkeit", "Activity")),
        Column::figures(t("Stunden", "Hours")),
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
    blocks.push(table(columns, rows, Some(total)));
    if !w.expenses.is_empty() {
        blocks.push(Block::Heading(t("Material und Auslagen", "Material and expenses").into()));
        let columns = vec![
            Column::text(t("Datum", "Date")),
            Column::text(t("Beschreibung", "Description")),
            Column::figures(t("Menge", "Quantity")),
        ];
        let rows = w
            .expenses
            .iter()
            .map(|x| vec![x.date.clone(), x.description.clone(), format!("{} {}", num(lang, &x.quantity), x.unit)]);
        blocks.push(table(columns, rows, None));
    }
    let notes: Vec<Vec<String>> = w
        .tickets
        .iter()
        .flat_map(|tk| tk.notes.iter().map(move |n| vec![tk.number.clone(), n.date.clone(), n.text.clone()]))
        .collect();
    if !notes.is_empty() {
        blocks.push(Block::Heading(t("Berichtsnotizen", "Report notes").into()));
        let columns = vec![Column::text("Ticket"), Column::text(t("Datum", "Date")), Column::text(t("Notiz", "Note"))];
        blocks.push(table(columns, notes.into_iter(), None));
    }
    imprint.report(title, lead, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_chosen_only_when_it_comes_first() {
        assert_eq!(from_accept_language(Some("en-GB,en;q=0.9,de;q=0.8")), Language::En);
        assert_eq!(from_accept_language(Some("de-DE,en;q=0.5")), Language::De);
        assert_eq!(from_accept_language(None), Language::De);
    }

    #[test]
    fn a_printed_format_is_chosen_only_before_json() {
        let req = |accept: &str| {
            actix_web::test::TestRequest::default().insert_header((header::ACCEPT, accept)).to_http_request()
        };
        assert_eq!(PrintFormat::accepted(&req("text/html")), Some(PrintFormat::Html));
        assert_eq!(PrintFormat::accepted(&req("application/pdf, application/json")), Some(PrintFormat::Pdf));
        assert_eq!(PrintFormat::accepted(&req("application/json, application/pdf")), None);
        assert_eq!(PrintFormat::accepted(&req("text/html, application/pdf")), Some(PrintFormat::Html));
        assert_eq!(PrintFormat::accepted(&req("*/*")), None);
    }
}

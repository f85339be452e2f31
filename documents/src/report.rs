//! A printable report (status report, project report) as plain values: a title, a lead line,
//! and blocks of headings, paragraphs and tables of already formatted text. The caller
//! decides the figures and words; this module and [`crate::pdf::render_report`] print it the
//! same way as one self-contained HTML page ([`PrintedReport::html`]: inline styles, no
//! scripts, images, fonts or links to load) or as a PDF/A.

use std::fmt::Write;
use time::Date;

/// A report ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedReport {
    /// `de` or `en`: the page's language (and the PDF's page numbers).
    pub language: String,
    pub title: String,
    /// The line under the title (customer, period, status …), printed muted.
    pub lead: Option<String>,
    pub blocks: Vec<Block>,
    /// Who issues it (the company), the PDF's author.
    pub issuer: String,
    /// The date the PDF carries (the same report gives the same bytes on the same day).
    pub printed_on: Date,
}

/// One part of a report, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    Paragraph(String),
    /// A remark printed muted ("No open tickets.", "… and more.").
    Remark(String),
    Table(Table),
}

/// A table of formatted cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
    /// A closing row printed bold (sums).
    pub total: Option<Vec<String>>,
}

/// A column: its heading and whether it holds figures (right-aligned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub heading: String,
    pub numeric: bool,
}

impl Column {
    /// A text column.
    pub fn text(heading: &str) -> Column {
        Column { heading: heading.to_string(), numeric: false }
    }

    /// A figures column.
    pub fn figures(heading: &str) -> Column {
        Column { heading: heading.to_string(), numeric: true }
    }
}

impl PrintedReport {
    /// English page words when the report is English, else German.
    pub fn english(&self) -> bool {
        self.language == "en"
    }

    /// The report as one self-contained HTML page; every text is escaped here.
    pub fn html(&self) -> String {
        let esc = crate::escape_markup;
        let mut h = String::with_capacity(8 * 1024);
        let _ = write!(
            h,
            "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body><h1>{}</h1>",
            esc(&self.language),
            esc(&self.title),
            esc(&self.title)
        );
        if let Some(lead) = &self.lead {
            let _ = write!(h, "<p class=\"muted\">{}</p>", esc(lead));
        }
        for block in &self.blocks {
            match block {
                Block::Heading(text) => {
                    let _ = write!(h, "<h2>{}</h2>", esc(text));
                }
                Block::Paragraph(text) => {
                    let _ = write!(h, "<p>{}</p>", esc(text));
                }
                Block::Remark(text) => {
                    let _ = write!(h, "<p class=\"muted\">{}</p>", esc(text));
                }
                Block::Table(t) => html_table(&mut h, t),
            }
        }
        h.push_str("</body></html>");
        h
    }
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:10pt;color:#222;margin:2em}\
h1{font-size:16pt;margin:0 0 .2em}h2{font-size:12pt;margin:1.4em 0 .4em;border-bottom:1px solid #999}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.2em .5em;border-bottom:1px solid #ddd}\
td.n,th.n{text-align:right}.muted{color:#666}@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}";

fn html_table(h: &mut String, t: &Table) {
    let class = |numeric: bool| if numeric { " class=\"n\"" } else { "" };
    let row = |h: &mut String, cells: &[String], tag: &str| {
        h.push_str("<tr>");
        for (cell, column) in cells.iter().zip(&t.columns) {
            let _ = write!(h, "<{tag}{}>{}</{tag}>", class(column.numeric), crate::escape_markup(cell));
        }
        h.push_str("</tr>");
    };
    h.push_str("<table>");
    row(h, &t.columns.iter().map(|c| c.heading.clone()).collect::<Vec<_>>(), "th");
    for cells in &t.rows {
        row(h, cells, "td");
    }
    if let Some(cells) = &t.total {
        row(h, cells, "th");
    }
    h.push_str("</table>");
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small German report.
    pub(crate) fn sample() -> PrintedReport {
        PrintedReport {
            language: "de".into(),
            title: "Statusbericht: <Müller & Söhne>".into(),
            lead: Some("Zeitraum 2026-11-01 – 2026-11-30".into()),
            blocks: vec![
                Block::Heading("Stunden nach Leistung".into()),
                Block::Table(Table {
                    columns: vec![Column::text("Leistung"), Column::figures("Stunden")],
                    rows: vec![vec!["Fernwartung".into(), "1,50".into()]],
                    total: Some(vec!["Summe".into(), "1,50".into()]),
                }),
                Block::Remark("Keine offenen Tickets.".into()),
            ],
            issuer: "Kontor GmbH".into(),
            printed_on: time::macros::date!(2026 - 12 - 01),
        }
    }

    #[test]
    fn the_page_escapes_every_text_and_right_aligns_figures() {
        let html = sample().html();
        assert!(html.contains("<h1>Statusbericht: &lt;Müller &amp; Söhne&gt;</h1>"), "{html}");
        assert!(html.contains("<td class=\"n\">1,50</td>") && html.contains("<th class=\"n\">1,50</th>"), "{html}");
        assert!(html.contains("<p class=\"muted\">Keine offenen Tickets.</p>"));
        assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
    }
}

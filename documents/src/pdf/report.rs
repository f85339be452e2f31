//! A [`PrintedReport`] on A4 pages: the title and lead line, headings with a rule,
//! wrapped paragraphs, and tables whose figure columns take the width their widest cell
//! needs and whose text columns share the rest (long cells wrap; a table continues on the
//! next page under its repeated heading row). Every page names the report and is numbered.

use super::invoice::{LEFT, RIGHT};
use super::layout::{text_width, wrap, Align, Op, Sheet, Weight, MM};
use crate::report::{Block, PrintedReport, Table};

const SIZE: f32 = 8.5;
const LEADING: f32 = 11.0;
const TOP: f32 = 25.0 * MM;
const CONTINUED_TOP: f32 = 30.0 * MM;
const BOTTOM: f32 = 275.0 * MM;
/// Space between two columns.
const GAP: f32 = 3.0 * MM;

/// Lays the report out on pages.
pub(crate) fn typeset(r: &PrintedReport) -> Sheet {
    let mut t = Typesetter { sheet: Sheet::default(), y: TOP, report: r };
    t.sheet.new_page();
    for line in wrap(&r.title, Weight::Bold, 15.0, RIGHT - LEFT) {
        t.sheet.text(LEFT, t.y, 15.0, Weight::Bold, Align::Left, line);
        t.y += 7.0 * MM;
    }
    if let Some(lead) = &r.lead {
        t.paragraph(lead, 9.0);
    }
    for block in &r.blocks {
        match block {
            Block::Heading(text) => t.heading(text),
            Block::Paragraph(text) | Block::Remark(text) => t.paragraph(text, SIZE),
            Block::Table(table) => t.table(table),
        }
    }
    let words = if r.english() { ("Page", "of") } else { ("Seite", "von") };
    for page in &mut t.sheet.pages {
        page.push(Op::PageNumber { x: RIGHT, y: 287.0 * MM, size: 7.0, words });
    }
    t.sheet
}

struct Typesetter<'a> {
    sheet: Sheet,
    y: f32,
    report: &'a PrintedReport,
}

impl Typesetter<'_> {
    /// Makes room for `height`: a new page when the current one is full.
    fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.sheet.new_page();
            self.sheet.text(LEFT, 15.0 * MM, 7.5, Weight::Regular, Align::Left, &self.report.title);
            self.sheet.rule(LEFT, RIGHT, 17.0 * MM, 0.3);
            self.y = CONTINUED_TOP;
        }
    }

    fn heading(&mut self, text: &str) {
        // A heading never ends a page: it keeps two lines of what follows with it.
        self.y += 3.0 * MM;
        self.room(6.0 * MM + 3.0 * LEADING);
        self.sheet.text(LEFT, self.y, 11.0, Weight::Bold, Align::Left, text);
        self.sheet.rule(LEFT, RIGHT, self.y + 2.0, 0.5);
        self.y += 6.0 * MM;
    }

    fn paragraph(&mut self, text: &str, size: f32) {
        for line in wrap(text, Weight::Regular, size, RIGHT - LEFT) {
            self.room(LEADING);
            self.sheet.text(LEFT, self.y, size, Weight::Regular, Align::Left, line);
            self.y += LEADING;
        }
        self.y += 2.0 * MM;
    }

    fn table(&mut self, table: &Table) {
        let widths = column_widths(table);
        let header: Vec<String> = table.columns.iter().map(|c| c.heading.clone()).collect();
        self.room(3.0 * LEADING);
        self.row(table, &widths, &header, Weight::Bold, true);
        for cells in &table.rows {
            self.row(table, &widths, cells, Weight::Regular, false);
        }
        if let Some(total) = &table.total {
            self.row(table, &widths, total, Weight::Bold, true);
        }
        self.y += 2.0 * MM;
    }

    /// One row: its cells wrapped in their columns, a rule under it when `ruled`. A row that
    /// does not fit starts a new page with the table's heading row again.
    fn row(&mut self, table: &Table, widths: &[f32], cells: &[String], weight: Weight, ruled: bool) {
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| {
                let lines = wrap(cell, weight, SIZE, *width);
                if lines.is_empty() {
                    vec![String::new()]
                } else {
                    lines
                }
            })
            .collect();
        let height = wrapped.iter().map(Vec::len).max().unwrap_or(1) as f32 * LEADING;
        if self.y + height > BOTTOM {
            self.room(height);
            let header: Vec<String> = table.columns.iter().map(|c| c.heading.clone()).collect();
            if cells != header.as_slice() {
                self.row(table, widths, &header, Weight::Bold, true);
            }
        }
        let mut x = LEFT;
        for ((lines, column), width) in wrapped.iter().zip(&table.columns).zip(widths) {
            for (i, line) in lines.iter().enumerate() {
                let y = self.y + i as f32 * LEADING;
                if column.numeric {
                    self.sheet.text(x + width, y, SIZE, weight, Align::Right, line);
                } else {
                    self.sheet.text(x, y, SIZE, weight, Align::Left, line);
                }
            }
            x += width + GAP;
        }
        if ruled {
            self.sheet.rule(LEFT, RIGHT, self.y + 3.0, 0.3);
        }
        self.y += height + 1.0;
    }
}

/// Figure columns as wide as their widest cell; text columns share what is left, in
/// proportion to their widest cell (each at least 15 mm).
fn column_widths(table: &Table) -> Vec<f32> {
    let n = table.columns.len().max(1);
    let widest = |i: usize| {
        let heading = text_width(&table.columns[i].heading, Weight::Bold, SIZE);
        let cells = table.rows.iter().chain(&table.total).filter_map(|r| r.get(i));
        cells.map(|c| text_width(c, Weight::Bold, SIZE)).fold(heading, f32::max)
    };
    let available = RIGHT - LEFT - GAP * (n - 1) as f32;
    let mut widths: Vec<f32> = (0..table.columns.len()).map(widest).collect();
    let figures: f32 = table.columns.iter().zip(&widths).filter(|(c, _)| c.numeric).map(|(_, w)| *w).sum();
    let text: f32 = table.columns.iter().zip(&widths).filter(|(c, _)| !c.numeric).map(|(_, w)| w.max(1.0)).sum();
    let left = (available - figures).max(0.0);
    for (column, width) in table.columns.iter().zip(widths.iter_mut()) {
        if !column.numeric {
            *width = if text <= left { width.max(1.0) } else { (left * width.max(1.0) / text).max(15.0 * MM) };
        }
    }
    // Whatever is still too wide (many figures) is scaled down as a whole.
    let total: f32 = widths.iter().sum();
    if total > available {
        widths.iter_mut().for_each(|w| *w *= available / total);
    }
    widths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Column;

    fn texts(sheet: &Sheet) -> Vec<String> {
        sheet
            .pages
            .iter()
            .flatten()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_long_table_continues_on_the_next_page_under_its_heading_row() {
        let rows = (1..=120).map(|i| vec![format!("Buchung {i}"), format!("{i},00")]).collect();
        let table = Table { columns: vec![Column::text("Tätigkeit"), Column::figures("Stunden")], rows, total: None };
        let mut r = crate::report::tests::sample();
        r.blocks = vec![Block::Table(table)];
        let sheet = typeset(&r);
        assert!(sheet.pages.len() >= 2, "{} pages", sheet.pages.len());
        let headings = texts(&sheet).iter().filter(|t| *t == "Tätigkeit").count();
        assert_eq!(headings, sheet.pages.len(), "the heading row on every page");
        assert!(texts(&sheet).contains(&"Buchung 120".to_string()));
        for page in &sheet.pages {
            assert!(page.iter().any(|op| matches!(op, Op::PageNumber { words: ("Seite", "von"), .. })));
            for op in page {
                if let Op::Text { y, .. } = op {
                    assert!(*y <= BOTTOM + 12.0 * MM, "{y}");
                }
            }
        }
    }

    #[test]
    fn figure_columns_fit_their_figures_and_text_columns_take_the_rest() {
        let table = Table {
            columns: vec![Column::text("Beschreibung"), Column::figures("Betrag")],
            rows: vec![vec!["x".repeat(400), "1.234.567,89".into()]],
            total: None,
        };
        let widths = column_widths(&table);
        assert!((widths[1] - text_width("1.234.567,89", Weight::Bold, SIZE)).abs() < 0.01);
        assert!((widths.iter().sum::<f32>() + GAP - (RIGHT - LEFT)).abs() < 0.5, "{widths:?}");
    }

    #[test]
    fn an_english_report_numbers_its_pages_in_english() {
        let mut r = crate::report::tests::sample();
        r.language = "en".into();
        let sheet = typeset(&r);
        assert!(matches!(sheet.pages[0].last(), Some(Op::PageNumber { words: ("Page", "of"), .. })));
    }
}

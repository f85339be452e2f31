//! Typesetting for the PDF documents: the two embedded fonts (DejaVu Sans regular and bold,
//! vendored in `documents/fonts` under the Bitstream Vera licence: nothing is loaded at run
//! time), text measurement and line wrapping, and the display list of a document's pages
//! ([`Sheet`]) that `pdf::draw` turns into PDF. Lengths are PDF points, `y` grows downwards
//! from the top edge of the page.

use std::sync::OnceLock;

use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

/// DejaVu Sans.
pub(crate) static REGULAR_TTF: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold.
pub(crate) static BOLD_TTF: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");

/// One millimetre in points.
pub const MM: f32 = 72.0 / 25.4;
/// A4 portrait.
pub const PAGE_WIDTH: f32 = 210.0 * MM;
pub const PAGE_HEIGHT: f32 = 297.0 * MM;

/// The font weight of a text run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// Where `x` of a text run is: its left edge or its right edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One thing drawn on a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// A single line of text with its baseline at `y`.
    Text { x: f32, y: f32, size: f32, weight: Weight, align: Align, text: String },
    /// A straight rule.
    Rule { x1: f32, y1: f32, x2: f32, y2: f32, width: f32 },
    /// "Seite n von m" (`words` = ("Seite", "von")), right-aligned at `x`, filled in once the
    /// number of pages is known.
    PageNumber { x: f32, y: f32, size: f32, words: (&'static str, &'static str) },
    /// A large grey diagonal word across the page (a draft's "ENTWURF").
    Watermark(String),
    /// The document's logo, its top left corner at `x`, `y`.
    Logo { x: f32, y: f32, width: f32, height: f32 },
}

/// A document's pages as display lists.
#[derive(Debug, Default)]
pub struct Sheet {
    pub pages: Vec<Vec<Op>>,
}

impl Sheet {
    /// The page being written.
    pub fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        self.pages.last_mut().expect("a page")
    }

    /// Starts a new page.
    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
    }

    /// A text run on the current page.
    pub fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, align: Align, text: impl Into<String>) {
        let text = text.into();
        if !text.is_empty() {
            self.page().push(Op::Text { x, y, size, weight, align, text });
        }
    }

    /// A horizontal rule on the current page.
    pub fn rule(&mut self, x1: f32, x2: f32, y: f32, width: f32) {
        self.page().push(Op::Rule { x1, y1: y, x2, y2: y, width });
    }
}

/// Advance widths of a font, per character.
struct Metrics {
    font: FontRef<'static>,
}

fn metrics(weight: Weight) -> &'static Metrics {
    static REGULAR: OnceLock<Metrics> = OnceLock::new();
    static BOLD: OnceLock<Metrics> = OnceLock::new();
    let (cell, data) = match weight {
        Weight::Regular => (&REGULAR, REGULAR_TTF),
        Weight::Bold => (&BOLD, BOLD_TTF),
    };
    cell.get_or_init(|| Metrics { font: FontRef::new(data).expect("the vendored font parses") })
}

/// The width of `text` set in `weight` at `size` points (advance widths, no kerning).
pub fn text_width(text: &str, weight: Weight, size: f32) -> f32 {
    let m = metrics(weight);
    let charmap = m.font.charmap();
    let glyphs = m.font.glyph_metrics(Size::new(size), LocationRef::default());
    text.chars()
        .map(|c| charmap.map(c).unwrap_or_default())
        .map(|g| glyphs.advance_width(g).unwrap_or(size * 0.5))
        .sum()
}

/// `text` with every character the font has no glyph for (and every control character)
/// replaced by `?`: PDF/A forbids drawing the font's "missing glyph".
pub fn printable(text: &str, weight: Weight) -> String {
    let charmap = metrics(weight).font.charmap();
    text.chars().map(|c| if !c.is_control() && charmap.map(c).is_some() { c } else { '?' }).collect()
}

/// Breaks `text` into lines no wider than `width`: at spaces, and inside a word only when the
/// word alone is wider. Line breaks in `text` are kept; an empty text gives no line.
pub fn wrap(text: &str, weight: Weight, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if text_width(&candidate, weight, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone: break it where it overflows.
            for c in word.chars() {
                line.push(c);
                if text_width(&line, weight, size) > width && line.chars().count() > 1 {
                    line.pop();
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                }
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wider_text_measures_wider_and_bold_is_wider_than_regular() {
        let narrow = text_width("Rechnung", Weight::Regular, 10.0);
        assert!(narrow > 30.0 && narrow < 60.0, "{narrow}");
        assert!(text_width("Rechnung 2026-0001", Weight::Regular, 10.0) > narrow);
        assert!(text_width("Rechnung", Weight::Bold, 10.0) > narrow);
        assert_eq!(text_width("", Weight::Regular, 10.0), 0.0);
    }

    #[test]
    fn a_long_description_wraps_at_spaces_within_the_column() {
        let text = "Ticket #4711 Drucker im Büro Łódź eingerichtet, Treiber aktualisiert und getestet";
        let lines = wrap(text, Weight::Regular, 8.5, 60.0 * MM);
        assert!(lines.len() > 1, "{lines:?}");
        for l in &lines {
            assert!(text_width(l, Weight::Regular, 8.5) <= 60.0 * MM, "{l}");
        }
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn a_word_wider_than_the_column_is_broken_inside() {
        let word = "Dvořák".repeat(20);
        let lines = wrap(&word, Weight::Regular, 8.5, 30.0 * MM);
        assert!(lines.len() > 2);
        assert_eq!(lines.concat(), word);
    }

    #[test]
    fn characters_the_font_lacks_print_as_question_marks() {
        assert_eq!(printable("Müller Dvořák Łódź €", Weight::Regular), "Müller Dvořák Łódź €");
        assert_eq!(printable("a\u{1}b\u{4E2D}", Weight::Bold), "a?b?");
    }

    #[test]
    fn line_breaks_in_the_text_are_kept_and_blank_text_gives_no_line() {
        assert_eq!(wrap("a\nb", Weight::Regular, 9.0, 100.0), vec!["a", "b"]);
        assert!(wrap("  ", Weight::Regular, 9.0, 100.0).is_empty());
    }
}

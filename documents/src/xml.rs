//! A minimal, indenting XML writer for the document renderers (CII, ISDOC), plus the value
//! formats they and the DATEV batch use: escaping of text and attribute values, amounts (2
//! decimals), prices and quantities (up to 4 decimals), percentages and dates (UN/CEFACT
//! format `102`, `YYYYMMDD`).

use rust_decimal::{Decimal, RoundingStrategy};
use time::Date;

/// Writes elements into a string, two spaces of indentation per level.
pub(crate) struct XmlWriter {
    out: String,
    depth: usize,
}

impl XmlWriter {
    /// A writer that has already written the XML declaration.
    pub(crate) fn new() -> Self {
        Self { out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), depth: 0 }
    }

    /// Opens `tag` with the given attributes (names are trusted, values are escaped).
    pub(crate) fn open_with(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        self.attrs(attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    /// Opens `tag` without attributes.
    pub(crate) fn open(&mut self, tag: &str) {
        self.open_with(tag, &[]);
    }

    /// Closes `tag` (the caller keeps the nesting right).
    pub(crate) fn close(&mut self, tag: &str) {
        self.depth -= 1;
        self.indent();
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
    }

    /// `<tag attrs…>text</tag>` with `text` escaped. Callers pass non-blank text only (CII
    /// forbids empty elements); see [`XmlWriter::opt_leaf`] for optional values.
    pub(crate) fn leaf_with(&mut self, tag: &str, attrs: &[(&str, &str)], text: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        self.attrs(attrs);
        self.out.push('>');
        escape_into(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
    }

    /// `<tag>text</tag>` with `text` escaped.
    pub(crate) fn leaf(&mut self, tag: &str, text: &str) {
        self.leaf_with(tag, &[], text);
    }

    /// `<tag>text</tag>` when `text` is present and not blank (trimmed); nothing otherwise.
    pub(crate) fn opt_leaf(&mut self, tag: &str, text: Option<&str>) {
        if let Some(text) = text.and_then(non_blank) {
            self.leaf(tag, text);
        }
    }

    /// `<tag><{prefix}:DateTimeString format="102">YYYYMMDD</…></tag>`; `prefix` is `udt` or `qdt`.
    pub(crate) fn date(&mut self, tag: &str, prefix: &str, date: Date) {
        self.open(tag);
        self.leaf_with(&format!("{prefix}:DateTimeString"), &[("format", "102")], &date_102(date));
        self.close(tag);
    }

    /// The document written so far.
    pub(crate) fn finish(self) -> String {
        debug_assert_eq!(self.depth, 0, "unbalanced XML elements");
        self.out
    }

    fn attrs(&mut self, attrs: &[(&str, &str)]) {
        for (name, value) in attrs {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            escape_into(&mut self.out, value, true);
            self.out.push('"');
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }
}

/// `s` trimmed, or `None` when that leaves nothing.
pub(crate) fn non_blank(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// Appends `s` escaped for XML text (or, with `attr`, for a double-quoted attribute value).
/// Characters XML 1.0 does not allow (most C0 controls) are dropped; in attributes tabs and
/// line breaks become character references so that they survive attribute normalisation.
fn escape_into(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// Whether `c` may appear in an XML 1.0 document (the `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Escapes `s` for XML or HTML text content (markup characters as references, characters
/// XML does not allow dropped).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, false);
    out
}

/// `d` rounded half away from zero to the minor unit.
pub(crate) fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// An amount with exactly 2 decimals, e.g. `1234.50` (BR-DEC-*: no more than 2).
pub(crate) fn amount(d: Decimal) -> String {
    let mut d = round2(d);
    d.rescale(2);
    d.to_string()
}

/// A unit price: rounded to 4 decimals, trailing zeros dropped but at least 2 decimals.
pub(crate) fn price(d: Decimal) -> String {
    let mut d = d.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero).normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

/// A quantity: rounded to 4 decimals, trailing zeros dropped (`2`, `1.5`, `0.25`).
pub(crate) fn quantity(d: Decimal) -> String {
    d.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero).normalize().to_string()
}

/// A percentage without trailing zeros (`19`, `7`, `0`, `5.5`).
pub(crate) fn percent(d: Decimal) -> String {
    d.normalize().to_string()
}

/// A date in UN/CEFACT format 102 (`YYYYMMDD`).
pub(crate) fn date_102(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(escape(r#"<a & "b" 'c'>"#), "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;");
        assert_eq!(escape("Müller\u{1}\tŁódź\n"), "Müller\tŁódź\n");
        let mut w = XmlWriter::new();
        w.leaf_with("x", &[("k", "a\"b\nc")], "t");
        assert!(w.finish().ends_with("<x k=\"a&quot;b&#10;c\">t</x>\n"));
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(amount(dec("1")), "1.00");
        assert_eq!(amount(dec("2.345")), "2.35");
        assert_eq!(amount(dec("-2.345")), "-2.35");
        assert_eq!(amount(dec("10.100000")), "10.10");
        assert_eq!(price(dec("95")), "95.00");
        assert_eq!(price(dec("12.345600")), "12.3456");
        assert_eq!(price(dec("1.23456")), "1.2346");
        assert_eq!(quantity(dec("2.000")), "2");
        assert_eq!(quantity(dec("0.25")), "0.25");
        assert_eq!(percent(dec("19.00")), "19");
        assert_eq!(percent(dec("0.0")), "0");
        assert_eq!(percent(dec("5.50")), "5.5");
        assert_eq!(date_102(time::macros::date!(2026 - 01 - 05)), "20260105");
    }
}

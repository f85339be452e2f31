//! The YAML form of the OpenAPI document (`openapi.yaml`), written so that every YAML
//! parser reads the same document as `/openapi.json`: YAML 1.2 parsers and YAML 1.1 ones
//! alike (PyYAML, SnakeYAML — used by Java code generators — read an unquoted `11:00` as
//! the number 660, `2026-12-25` as a date and `on` as `true`). A string is written plain
//! only when it is plainly a string in both versions; every other string is double-quoted
//! (JSON string syntax, which is YAML's double-quoted style), and multi-line texts are
//! literal blocks.

use serde_json::Value;
use std::fmt::Write;

/// `value` (a JSON document) as block-style YAML.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

/// Whether `s` may be written as a plain scalar: it reads as this string under the YAML
/// 1.1 and 1.2 resolvers (no number, boolean, null, date, time or sexagesimal look-alike)
/// and holds no character that has a meaning in YAML syntax.
pub fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    if !(first.is_ascii_alphabetic() || first == '/' || first == '_' || first == '$') {
        return false;
    }
    if s.ends_with(' ') || s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " _-./$(){}+,;'*=".contains(c) || (!c.is_ascii() && !c.is_control()))
    {
        return false;
    }
    // YAML 1.1 booleans and nulls (and 1.2's): y, yes, on, true, n, no, off, false, null …
    const WORDS: [&str; 11] = ["y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf"];
    let lower = s.to_ascii_lowercase();
    // (`.inf`, `.nan` and numbers never get here: they do not start with a letter.)
    !WORDS.contains(&lower.as_str())
}

fn scalar(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// A text that can be a literal block (`|-`, or `|` when it ends with one newline):
/// several lines, no trailing blank line or whitespace, no leading space on the first
/// line, no tabs or control characters.
fn literal_block(s: &str) -> bool {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.contains('\n')
        && !s.ends_with('\n')
        && !s.starts_with(' ')
        && !s.chars().any(|c| c.is_control() && c != '\n')
        && s.lines().all(|l| !l.ends_with(' '))
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(o) if o.is_empty() => "{}".into(),
        // Not reached: non-empty collections are written as blocks.
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn write_block(out: &mut String, s: &str, indent: usize) {
    let (s, chomp) = match s.strip_suffix('\n') {
        Some(body) => (body, "|\n"),
        None => (s, "|-\n"),
    };
    out.push_str(chomp);
    for line in s.split('\n') {
        if !line.is_empty() {
            let _ = write!(out, "{:indent$}{line}", "");
        }
        out.push('\n');
    }
}

/// Writes `v` after a `key:` or `-` that is already on the line (`indent` is the
/// indentation of that key or dash).
fn write_value(out: &mut String, v: &Value, indent: usize, in_seq: bool) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, if in_seq { indent + 2 } else { indent });
        }
        Value::String(s) if literal_block(s) => {
            out.push(' ');
            write_block(out, s, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in map {
        let _ = write!(out, "{:indent$}{}:", "", scalar(k));
        write_value(out, v, indent, false);
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        let _ = write!(out, "{:indent$}-", "");
        match item {
            Value::Object(map) if !map.is_empty() => {
                // The first key on the dash's line, the others below it.
                let mut first = true;
                for (k, v) in map {
                    if first {
                        let _ = write!(out, " {}:", scalar(k));
                        first = false;
                    } else {
                        let _ = write!(out, "{:w$}{}:", "", scalar(k), w = indent + 2);
                    }
                    write_value(out, v, indent + 2, false);
                }
            }
            other => write_value(out, other, indent, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_that_yaml_1_1_reads_as_numbers_dates_or_booleans_are_quoted() {
        for s in [
            "11:00",
            "2026-12-25",
            "on",
            "Off",
            "yes",
            "N",
            "null",
            "~",
            "1e3",
            "0x1F",
            "012",
            "1_000",
            "190:20:30",
            ".inf",
            "-.5",
            "",
            " lead",
            "trail ",
            "a: b",
            "x #c",
            "@tag",
            "*ref",
            "&anchor",
            "!t",
            "%d",
            "`x`",
            "[1]",
            "{a}",
            "-",
            "?",
            "|",
            ">",
            "'q'",
            "\"q\"",
            "2026-11-01T10:00:00Z",
            "19",
            "96.00",
        ] {
            assert!(!plain_is_safe(s), "{s:?} must be quoted");
        }
        for s in ["customers", "application/json", "/api/v1/customers/{id}", "Bearer", "snake_case", "Kontor API"] {
            assert!(plain_is_safe(s), "{s:?} may be plain");
        }
    }

    #[test]
    fn the_yaml_reads_back_as_the_same_document() {
        let doc = json!({
            "openapi": "3.1.0",
            "paths": {"/a/{id}": {"get": {"responses": {"200": {"description": "OK\nsecond line"}}}}},
            "examples": ["11:00", "2026-12-25", "on", 12, 1.5, true, null, [], {}, [[1, 2], {"a": "b", "c": [1]}]],
            "empty": "",
            "text": "ends with newline\n",
            "block": "two\nlines\n",
            "blank": "a\n\nb",
        });
        let yaml = to_yaml(&doc);
        let back: Value = serde_norway::from_str(&yaml).expect("valid YAML");
        assert_eq!(back, doc, "{yaml}");
        assert!(yaml.contains("\"11:00\"") && yaml.contains("\"2026-12-25\"") && yaml.contains("\"200\":"), "{yaml}");
    }
}

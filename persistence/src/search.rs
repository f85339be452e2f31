//! Text search helpers shared by the list queries.

/// A case-insensitive `LIKE` pattern for a substring search: lower-cased, with `%`, `_`
/// and `\\` escaped (queries use `ESCAPE '\\'`), wrapped in `%…%`.
pub(crate) fn like_pattern(s: &str) -> String {
    format!("%{}%", escape_like(s))
}

/// `s` lower-cased with `%`, `_` and `\\` escaped, to be matched literally by `LIKE … ESCAPE '\\'`.
pub(crate) fn escape_like(s: &str) -> String {
    let mut p = String::with_capacity(s.len());
    for ch in s.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn wildcards_typed_by_a_user_are_searched_literally() {
        assert_eq!(like_pattern("100%_X"), "%100\\%\\_x%");
    }
}

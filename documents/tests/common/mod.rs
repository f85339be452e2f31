//! What the format tests share: the offline e-invoice validator (found via
//! `EINVOICE_VALIDATE`, else `<workspace>/../shared/tools/einvoice/validate`; where it is
//! missing or not set up only well-formedness is checked, unless `KONTOR_REQUIRE_EINVOICE=1`
//! makes that a failure), copies for CI in `KONTOR_EINVOICE_OUT`, and a well-formedness check
//! that needs no XML parser.
//!
//! Not every test file uses every helper.
#![allow(dead_code)]

pub mod fixtures;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The validator to run: `$EINVOICE_VALIDATE`, else `<workspace>/../shared/tools/einvoice/validate`.
pub fn validator_path() -> PathBuf {
    match std::env::var_os("EINVOICE_VALIDATE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/tools/einvoice/validate"),
    }
}

/// Checks that tags nest properly and text is escaped, and that no element but those in
/// `may_be_empty` is empty.
pub fn assert_well_formed(xml: &str, may_be_empty: &[&str]) {
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), "XML declaration missing");
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = &xml[xml.find("?>").unwrap() + 2..];
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(!text.contains('>'), "unescaped '>' in {text:?}");
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"].iter().any(|e| entity.starts_with(e)),
                "unescaped '&' in {text:?}"
            );
        }
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "mismatched closing tag </{name}>");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().unwrap());
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    for (i, _) in xml.match_indices("></") {
        let name = &xml[i + 3..i + 3 + xml[i + 3..].find('>').unwrap()];
        if xml[..=i].ends_with(&format!("<{name}>")) {
            assert!(may_be_empty.contains(&name), "empty element <{name}>");
        }
    }
}

/// Keeps a copy of `file` (XML or a PDF) as `$KONTOR_EINVOICE_OUT/<file_name>` and asserts
/// that the validator accepts it. The validator's JSON report, or `None` when it is not set up.
pub fn validate_file(case: &str, file_name: &str, file: impl AsRef<[u8]>) -> Option<String> {
    let bytes = file.as_ref();
    let xml = String::from_utf8_lossy(if bytes.starts_with(b"%PDF") { b"(PDF)" } else { bytes });
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    if let Some(dir) = std::env::var_os("KONTOR_EINVOICE_OUT") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file_name), bytes).unwrap();
    }
    let validate = validator_path();
    // The wrapper exits 2 while its environment is not set up.
    let usable =
        validate.exists() && Command::new(&validate).arg("--help").output().is_ok_and(|o| o.status.code() != Some(2));
    if !usable {
        assert!(
            std::env::var("KONTOR_REQUIRE_EINVOICE").as_deref() != Ok("1"),
            "e-invoice validator {} missing or not set up (run its setup.sh), and KONTOR_REQUIRE_EINVOICE=1",
            validate.display()
        );
        eprintln!("{case}: e-invoice validator not set up: checked well-formedness only");
        return None;
    }
    let file = std::env::temp_dir().join(format!(
        "kontor-{}-{}-{file_name}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new(&validate).arg("--json").arg(&file).output().expect("run the validator");
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{case}: validator exit {:?}\n{report}\n{}\n--- XML ({}) ---\n{xml}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        file.display()
    );
    if report.contains("\"severity\": \"warning\"") || report.contains("\"severity\":\"warning\"") {
        eprintln!("{case}: validator warnings:\n{report}");
    }
    std::fs::remove_file(&file).ok();
    Some(report)
}

/// The text of a PDF as `pdftotext -raw` (content order) (Debian's `poppler-utils`) extracts it, or `None`
/// where it is not installed — a failure under `KONTOR_REQUIRE_EINVOICE=1`, as in CI.
pub fn pdf_text(pdf: &[u8]) -> Option<String> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let file = std::env::temp_dir().join(format!(
        "kontor-{}-{}.pdf",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext").arg("-raw").arg(&file).arg("-").output();
    std::fs::remove_file(&file).ok();
    match out {
        Ok(out) => {
            assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
            Some(String::from_utf8(out.stdout).expect("pdftotext writes UTF-8"))
        }
        Err(_) => {
            assert!(
                std::env::var("KONTOR_REQUIRE_EINVOICE").as_deref() != Ok("1"),
                "pdftotext (poppler-utils) missing, and KONTOR_REQUIRE_EINVOICE=1"
            );
            eprintln!("pdftotext not installed: PDF text not checked");
            None
        }
    }
}

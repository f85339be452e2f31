//! Document files: multipart uploads with a size limit, content-addressed storage under
//! `KONTOR_DATA_DIR/documents/<first two hex digits>/<sha256>`, and downloads.
//! The same content uploaded twice is stored once.

use crate::error::ApiError;
use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// What a client uploaded.
pub struct Upload {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub note: Option<String>,
    pub in_report: bool,
}

/// A stored file.
pub struct Stored {
    pub sha256: String,
    pub size: i64,
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::invalid("file", "invalid_upload", msg)
}

/// Reads a `multipart/form-data` upload with a `file` part and optional `note` and
/// `in_report` parts, refusing more than `max_bytes` in total.
pub async fn read_upload(req: &HttpRequest, payload: web::Payload, max_bytes: usize) -> Result<Upload, ApiError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::UnsupportedMediaType(
            "upload documents as multipart/form-data with a `file` part".into(),
        ));
    }
    let mut multipart = Multipart::new(req.headers(), payload.into_inner());
    let mut file: Option<(String, String, Vec<u8>)> = None;
    let mut note = None;
    let mut in_report = false;
    let mut total = 0usize;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| bad(format!("malformed multipart body: {e}")))?;
        let disposition = field.content_disposition().cloned();
        let name = disposition.as_ref().and_then(|d| d.get_name()).unwrap_or_default().to_string();
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| bad(format!("malformed multipart body: {e}")))?;
            total += chunk.len();
            if total > max_bytes {
                return Err(ApiError::PayloadTooLarge(max_bytes));
            }
            data.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "file" => {
                let file_name = disposition
                    .as_ref()
                    .and_then(|d| d.get_filename())
                    .map(sanitize_file_name)
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "document".to_string());
                let content_type = field
                    .content_type()
                    .map(|m| m.essence_str().to_string())
                    .unwrap_or("application/octet-stream".into());
                file = Some((file_name, content_type, data));
            }
            "note" => {
                let text = String::from_utf8(data)
                    .map_err(|_| ApiError::invalid("note", "invalid_type", "must be UTF-8 text"))?;
                note = Some(text.trim().to_string()).filter(|t| !t.is_empty());
            }
            "in_report" => {
                in_report = match std::str::from_utf8(&data).map(str::trim) {
                    Ok("true") => true,
                    Ok("false") | Ok("") => false,
                    _ => return Err(ApiError::invalid("in_report", "invalid_type", "must be true or false")),
                }
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    "unknown_field",
                    "expected only the parts file, note and in_report",
                ))
            }
        }
    }
    let (file_name, content_type, bytes) =
        file.ok_or_else(|| ApiError::invalid("file", "required", "a `file` part is required"))?;
    if bytes.is_empty() {
        return Err(ApiError::invalid("file", "empty", "the file is empty"));
    }
    Ok(Upload { file_name, content_type, bytes, note, in_report })
}

/// Keeps the last path segment of a client-given file name, without control characters.
fn sanitize_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars().filter(|c| !c.is_control() && *c != '"').take(255).collect::<String>().trim().to_string()
}

fn path_of(data_dir: &str, sha256: &str) -> PathBuf {
    PathBuf::from(data_dir).join("documents").join(&sha256[..2]).join(sha256)
}

/// Stores the bytes under their SHA-256 (atomically: write a temp file, then rename).
pub async fn store(data_dir: &str, bytes: Vec<u8>) -> Result<Stored, ApiError> {
    let data_dir = data_dir.to_string();
    web::block(move || -> std::io::Result<Stored> {
        let sha256: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let path = path_of(&data_dir, &sha256);
        if !path.exists() {
            let dir = path.parent().map(PathBuf::from).unwrap_or_default();
            std::fs::create_dir_all(&dir)?;
            let tmp = dir.join(format!(".{sha256}.{}.tmp", uuid::Uuid::new_v4().simple()));
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, &path)?;
        }
        Ok(Stored { sha256, size: bytes.len() as i64 })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("storage task failed: {e}")))?
    .map_err(|e| ApiError::Internal(format!("cannot store the document: {e}")))
}

/// Reads a stored file.
pub async fn load(data_dir: &str, sha256: &str) -> Result<Vec<u8>, ApiError> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound("document".into()));
    }
    let path = path_of(data_dir, sha256);
    web::block(move || std::fs::read(path))
        .await
        .map_err(|e| ApiError::Internal(format!("read task failed: {e}")))?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                ApiError::Internal("the document's file is missing from the data directory".into())
            }
            _ => ApiError::Internal(format!("cannot read the document: {e}")),
        })
}

/// `Content-Disposition: attachment` with an ASCII fallback and the UTF-8 name (RFC 6266).
pub fn attachment(file_name: &str) -> String {
    let ascii: String = file_name.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_file_names_lose_their_directories() {
        assert_eq!(sanitize_file_name("C:\\scans\\invoice.pdf"), "invoice.pdf");
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("a\"b\n.txt"), "ab.txt");
    }

    #[test]
    fn download_names_are_quoted_and_utf8_encoded() {
        assert_eq!(
            attachment("Prüfbericht.pdf"),
            "attachment; filename=\"Pr_fbericht.pdf\"; filename*=UTF-8''Pr%C3%BCfbericht.pdf"
        );
    }
}

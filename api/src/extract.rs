//! Request extractors with problem+json errors: JSON bodies with field paths, query
//! strings, path ids and `If-Match` preconditions.

use crate::error::{ApiError, FieldError};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use std::future::{ready, Ready};

mod objects_only;
pub use objects_only::ObjectsOnly;

/// A JSON request body. Wrong content type → 415, too large → 413, syntax error →
/// 400 with line and column, wrong shape → 422 naming the field.
///
/// The body is read when the request is extracted, but its problems are reported only by
/// [`Json::into_inner`], which handlers call after authorizing: a caller without the
/// permission gets 403 and learns nothing about what the body should look like.
pub struct Json<T>(Result<T, ApiError>);

impl<T> Json<T> {
    /// The parsed body, or the problem with it (415, 413, 400, 422).
    pub fn into_inner(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        let limit =
            req.app_data::<web::Data<crate::state::AppState>>().map(|s| s.config.max_body_bytes).unwrap_or(1 << 20);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let parsed = async {
                if !content_type_ok {
                    return Err(ApiError::UnsupportedMediaType(
                        "send the request body as JSON with `Content-Type: application/json`".into(),
                    ));
                }
                let bytes = body.await.map_err(|e| payload_error(e, limit))?;
                parse_json(&bytes)
            };
            Ok(Json(parsed.await))
        })
    }
}

/// A JSON request body that may be left out (an action like "issue" with its defaults):
/// an empty body is `T::default()`; anything else is read like [`Json`] (its problems too
/// are reported by [`OptionalJson::into_inner`], after authorizing).
pub struct OptionalJson<T>(Result<T, ApiError>);

impl<T> OptionalJson<T> {
    /// The parsed body (or the default), or the problem with it.
    pub fn into_inner(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let has_body = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_none_or(|n| n > 0)
            && (req.headers().contains_key(header::CONTENT_TYPE) || req.headers().contains_key(header::CONTENT_LENGTH));
        if !has_body {
            return Box::pin(async { Ok(OptionalJson(Ok(T::default()))) });
        }
        let json = Json::<T>::from_request(req, payload);
        Box::pin(async move { json.await.map(|j| OptionalJson(j.0)) })
    }
}

/// Parses JSON bytes into `T`, mapping errors to 400 (syntax) or 422 (shape). Structs are
/// read from JSON objects only ([`ObjectsOnly`]): an array in place of an object is a 422.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(ObjectsOnly(de)) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            use serde_json::error::Category;
            match inner.classify() {
                Category::Data => {
                    let field = if path == "." { "body".to_string() } else { path };
                    let message = strip_position(&inner.to_string());
                    let code = if message.starts_with("missing field") {
                        "required"
                    } else if message.starts_with("unknown field") {
                        "unknown_field"
                    } else {
                        "invalid_type"
                    };
                    // For a missing field the path names its parent object; for an
                    // unknown field it already ends with the field itself.
                    let field = match (code, message.split('`').nth(1)) {
                        ("required", Some(name)) if field == "body" => name.to_string(),
                        ("required", Some(name)) => format!("{field}.{name}"),
                        _ => field,
                    };
                    Err(ApiError::Validation(vec![FieldError::new(field, code, message)]))
                }
                Category::Syntax | Category::Eof | Category::Io => Err(ApiError::MalformedJson(format!(
                    "{} (line {}, column {})",
                    strip_position(&inner.to_string()),
                    inner.line(),
                    inner.column()
                ))),
            }
        }
    }
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn payload_error(e: actix_web::Error, limit: usize) -> ApiError {
    use actix_web::error::PayloadError;
    match e.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => ApiError::PayloadTooLarge(limit),
        _ if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge(limit)
        }
        _ => ApiError::BadRequest(format!("could not read the request body: {e}")),
    }
}

/// Query-string parameters with 400 problems naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let qs = req.query_string();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(qs.as_bytes()));
        ready(match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(v) => Ok(Query(v)),
            Err(e) => {
                let path = e.path().to_string();
                let msg = e.into_inner().to_string();
                let field = match msg.split('`').nth(1) {
                    Some(name) if path == "." => name.to_string(),
                    _ => path,
                };
                Err(ApiError::Validation(vec![FieldError::new(field, "invalid_query", msg)]))
            }
        })
    }
}

/// A numeric id from the path segment `{id}`-style parameters.
pub fn path_id(req: &HttpRequest, name: &str) -> Result<i64, ApiError> {
    let raw = req.match_info().get(name).unwrap_or_default();
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::NotFound(format!("`{raw}`: no such id; the resource")))
}

/// The `If-Match` precondition of an update: the version the client last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// No `If-Match` (or `*`): last write wins.
    Any,
    /// Only if the resource still has this version.
    Version(i64),
    /// Entity-tags none of which is this resource's (another resource's or an unknown one).
    Never,
    /// Not a list of entity-tags at all (`If-Match: null`): a malformed request.
    Malformed,
}

impl IfMatch {
    /// The version to check against, for the store.
    pub fn version(self) -> Result<Option<i64>, ApiError> {
        match self {
            IfMatch::Any => Ok(None),
            IfMatch::Version(v) => Ok(Some(v)),
            IfMatch::Never => Err(ApiError::PreconditionFailed),
            IfMatch::Malformed => Err(ApiError::BadRequest(
                "If-Match must be `*` or entity-tags as the ETag header gives them, like \"customer-7-v3\"".into(),
            )),
        }
    }

    /// Reads `If-Match` for a resource of `kind` with `id`; tags look like `"customer-7-v3"`.
    pub fn from_request(req: &HttpRequest, kind: &str, id: i64) -> IfMatch {
        let Some(raw) = req.headers().get(header::IF_MATCH) else {
            return IfMatch::Any;
        };
        let Ok(raw) = raw.to_str() else { return IfMatch::Malformed };
        if raw.trim() == "*" {
            return IfMatch::Any;
        }
        let prefix = format!("{kind}-{id}-v");
        let Some(tags) = entity_tags(raw) else { return IfMatch::Malformed };
        let mut result = IfMatch::Never;
        for tag in tags {
            if let Some(v) = tag.strip_prefix(&prefix).and_then(|v| v.parse::<i64>().ok()) {
                result = IfMatch::Version(v);
            }
        }
        result
    }
}

/// The opaque parts of a comma-separated list of entity-tags (`"a", W/"b,c"`), or `None`
/// when the value is not such a list (RFC 9110: a tag is quoted, may contain commas, no
/// spaces or quotes; tags are separated by commas and optional white space).
fn entity_tags(raw: &str) -> Option<Vec<&str>> {
    let mut tags = Vec::new();
    let mut rest = raw.trim_matches([' ', '\t']);
    loop {
        rest = rest.strip_prefix("W/").unwrap_or(rest);
        let inner = rest.strip_prefix('"')?;
        let end = inner.find('"')?;
        let tag = &inner[..end];
        if !tag.bytes().all(|b| b == 0x21 || (0x23..=0x7e).contains(&b)) {
            return None;
        }
        tags.push(tag);
        rest = inner[end + 1..].trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return Some(tags);
        }
        rest = rest.strip_prefix(',')?.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return None;
        }
    }
}

/// The strong ETag of a resource version.
pub fn etag(kind: &str, id: i64, version: i64) -> String {
    format!("\"{kind}-{id}-v{version}\"")
}

/// A resource in its current version: the JSON body with its `ETag` (which `If-Match`
/// on a later write must repeat).
pub fn versioned(status: StatusCode, kind: &str, id: i64, version: i64, body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::ETAG, etag(kind, id, version))).json(body)
}

/// Marks a response as the creation of the resource at `location` (`Location` header).
pub fn created_at(mut res: HttpResponse, location: &str) -> HttpResponse {
    if let Ok(v) = header::HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

#[cfg(test)]
mod entity_tag_tests {
    use super::entity_tags;

    #[test]
    fn entity_tag_lists_are_read_as_rfc_9110_writes_them() {
        assert_eq!(entity_tags(r#""customer-7-v3""#), Some(vec!["customer-7-v3"]));
        assert_eq!(entity_tags(" W/\"a,b\" ,\t\"c\" "), Some(vec!["a,b", "c"]));
        for bad in ["null", "", "\"a", "\"a\",", "\"a\",,\"b\"", "\"a b\"", "customer-7-v3"] {
            assert_eq!(entity_tags(bad), None, "{bad:?}");
        }
    }
}

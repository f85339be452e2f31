//! The API's one error type and its mapping to RFC 9457 `application/problem+json`.
//!
//! Every failure a client can see goes through [`ApiError`]; each variant has a stable
//! problem `type` (`urn:kontor:problem:<slug>`) and an HTTP status. Unexpected errors are
//! logged with their cause and shown to the client only as a generic 500.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use persistence::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Media type of problem responses.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:kontor:problem:validation",
    "title": "Validation failed",
    "status": 422,
    "detail": "2 fields are invalid",
    "instance": "/api/v1/customers",
    "request_id": "4f1c…",
    "errors": [{"field": "currency", "code": "currency", "message": "unknown or unsupported ISO 4217 currency code `EURO`"}]
}))]
pub struct Problem {
    /// Stable identifier of the kind of problem; branch on this, not on `title`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short human-readable summary of the kind of problem.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Explanation of this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path this occurrence is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Request id (also in the `X-Request-Id` header) to quote in support requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Per-field validation errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For invalid state transitions: what is allowed instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `address.country` or `contacts[0].email`.
    pub field: String,
    /// Machine-readable reason, e.g. `required`, `length`, `email`, `invalid_type`.
    pub code: String,
    /// Human-readable reason.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// Everything that can go wrong in a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{detail}")]
    InvalidTransition { detail: String, allowed: Vec<String> },
    #[error("the resource was changed since you read it; fetch it again and retry with its current ETag")]
    PreconditionFailed,
    #[error("{0}")]
    IdempotencyMismatch(String),
    #[error("a request with this Idempotency-Key is still being processed; retry later")]
    IdempotencyInProgress,
    #[error("the request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("too many failed attempts; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// Stable slug of the problem type.
    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::MalformedJson(_) => "malformed-json",
            ApiError::Validation(_) => "validation",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::InvalidTransition { .. } => "invalid-transition",
            ApiError::PreconditionFailed => "precondition-failed",
            ApiError::IdempotencyMismatch(_) => "idempotency-key-reused",
            ApiError::IdempotencyInProgress => "idempotency-key-in-progress",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::NotAcceptable(_) => "not-acceptable",
            ApiError::TooManyRequests { .. } => "rate-limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// A single-field validation error.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let (errors, allowed) = match self {
            ApiError::Validation(errors) => (errors.clone(), vec![]),
            ApiError::InvalidTransition { allowed, .. } => (vec![], allowed.clone()),
            _ => (vec![], vec![]),
        };
        let detail = match self {
            ApiError::Internal(_) => Some("an unexpected error occurred; it has been logged".to_string()),
            ApiError::Validation(e) if e.len() == 1 => Some(format!("{}: {}", e[0].field, e[0].message)),
            other => Some(other.to_string()),
        };
        Problem {
            problem_type: problem_type(self.slug()),
            title: title_for(status),
            status: status.as_u16(),
            detail,
            instance: None,
            request_id: None,
            errors,
            allowed,
        }
    }
}

/// The `type` URI of a problem slug.
pub fn problem_type(slug: &str) -> String {
    format!("urn:kontor:problem:{slug}")
}

/// Title for a status: the canonical reason phrase, with a few friendlier ones.
pub fn title_for(status: StatusCode) -> String {
    match status.as_u16() {
        422 => "Validation failed".into(),
        412 => "Precondition failed".into(),
        _ => status.canonical_reason().unwrap_or("Error").to_string(),
    }
}

/// Slug for a bare status (used when the framework answered without an [`ApiError`]).
pub fn slug_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad-request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        406 => "not-acceptable",
        409 => "conflict",
        412 => "precondition-failed",
        413 => "payload-too-large",
        414 => "uri-too-long",
        415 => "unsupported-media-type",
        422 => "validation",
        429 => "rate-limited",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "http-error",
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) | ApiError::IdempotencyMismatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::InvalidTransition { .. } | ApiError::IdempotencyInProgress => {
                StatusCode::CONFLICT
            }
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = %cause, "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            ApiError::TooManyRequests { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unauthenticated(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("the resource".into()),
            StoreError::Duplicate(what) => ApiError::Conflict(duplicate_message(&what)),
            StoreError::MissingReference(what) => ApiError::Validation(vec![FieldError::new(
                reference_field(&what),
                "unknown_reference",
                "refers to a record that does not exist",
            )]),
            StoreError::StaleVersion => ApiError::PreconditionFailed,
            StoreError::Conflict(msg) => ApiError::Conflict(msg),
            StoreError::Database(sqlx_err) if is_unavailable(&sqlx_err) => {
                tracing::error!(error = %sqlx_err, "database unavailable");
                ApiError::Unavailable("the database is not reachable; retry later".into())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Maps a store error, naming the missing record: `.map_err(not_found("customer"))`.
pub fn not_found(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::NotFound(what.into()),
        other => other.into(),
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_))
}

/// Turns a unique-constraint name or message into a client-facing sentence.
fn duplicate_message(what: &str) -> String {
    // PostgreSQL names constraints `<table>_<column>_key`; SQLite reports `table.column`.
    let column = ["number", "email", "helpdesk_ref", "accounting_ref", "key_prefix", "name"]
        .into_iter()
        .find(|c| what.contains(c));
    match column {
        Some(c) => format!("another record already uses this `{c}`"),
        None => "a record with these values already exists".into(),
    }
}

/// The field a failed foreign key names: PostgreSQL's `<table>_<column>_id_fkey` gives
/// `<column>_id`; SQLite does not say which key failed (`reference`).
fn reference_field(what: &str) -> String {
    let tokens: Vec<&str> = what.split('_').collect();
    match tokens.as_slice() {
        [.., column, "id", "fkey"] if !column.is_empty() => format!("{column}_id"),
        _ => "reference".to_string(),
    }
}

#[cfg(test)]
mod reference_tests {
    use super::reference_field;

    #[test]
    fn a_failed_foreign_key_names_its_column_or_says_reference() {
        assert_eq!(reference_field("bookings_service_id_fkey"), "service_id");
        assert_eq!(reference_field("tickets_contact_id_fkey"), "contact_id");
        assert_eq!(reference_field("FOREIGN KEY constraint failed"), "reference");
    }
}

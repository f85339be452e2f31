//! Cross-cutting request handling: request ids and access logs, problem+json for every
//! error response (also the framework's own 404/405/413), authentication and
//! `Idempotency-Key` replay for POST requests.

use crate::auth::{authenticate, Principal};
use crate::error::{problem_type, slug_for_status, title_for, ApiError, Problem, PROBLEM_JSON};
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse};
use futures_util::StreamExt;
use persistence::{IdempotencyBegin, StoredResponse};
use sha2::{Digest, Sha256};
use std::time::Instant;

/// The id of the current request (from `X-Request-Id` or generated).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Header carrying the request id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

fn acceptable_request_id(v: &str) -> bool {
    (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Assigns a request id and logs the request's outcome in one line (request id, method,
/// path, status, latency; for a server error also its cause). No span is opened per
/// request: entering one on every poll, and on the database's connection thread for every
/// query, cost a fifth of a `GET`'s throughput.
pub async fn request_id_and_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let started = Instant::now();
    let mut res = next.call(req).await?;
    let status = res.status().as_u16();
    let latency_ms = started.elapsed().as_millis() as u64;
    let (method, path) = (res.request().method(), res.request().path());
    if status >= 500 {
        // The error as the handler raised it (an internal error's cause, not its public text).
        let error = res.response().error().map(|e| format!("{e:?}")).unwrap_or_default();
        tracing::error!(request_id = %id, %method, path, status, latency_ms, error, "request failed");
    } else {
        tracing::info!(request_id = %id, %method, path, status, latency_ms, "request completed");
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static(REQUEST_ID), v);
    }
    Ok(res)
}

/// Makes every error response a problem document carrying `instance` and `request_id`.
pub async fn problem_responses(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => return Err(e),
    };
    let status = res.status();
    if status.as_u16() < 400 {
        return Ok(res);
    }
    let (req, response) = res.into_parts();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    let framework_detail = response.error().map(|e| e.to_string());
    let (mut response, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let mut problem: Problem = if is_problem {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| bare_problem(status, None))
    } else {
        let detail = match status {
            StatusCode::NOT_FOUND => Some(format!("no resource at {} {}", req.method(), req.path())),
            StatusCode::METHOD_NOT_ALLOWED => Some(format!("{} is not allowed on {}", req.method(), req.path())),
            s if s.is_server_error() => None,
            _ => framework_detail,
        };
        bare_problem(status, detail)
    };
    problem.instance.get_or_insert_with(|| req.path().to_string());
    if problem.request_id.is_none() {
        problem.request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    }
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    let response = response.set_body(BoxBody::new(serde_json::to_string(&problem).unwrap_or_default()));
    Ok(ServiceResponse::new(req, response))
}

fn bare_problem(status: StatusCode, detail: Option<String>) -> Problem {
    Problem {
        problem_type: problem_type(slug_for_status(status)),
        title: title_for(status),
        status: status.as_u16(),
        detail,
        instance: None,
        request_id: None,
        errors: vec![],
        allowed: vec![],
    }
}

/// Paths that authenticate by their body, not by a bearer credential.
fn is_credential_exchange(path: &str) -> bool {
    path.ends_with("/auth/login") || path.ends_with("/auth/refresh") || path.ends_with("/auth/logout")
}

/// Resolves the bearer credential (if any) into a [`Principal`] request extension.
/// A presented but invalid credential is answered with 401 at once.
pub async fn authentication(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if !is_credential_exchange(req.path()) {
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return Ok(req.error_response(ApiError::Internal("application state missing".into())));
        };
        match authenticate(req.request(), &state).await {
            Ok(Some(principal)) => {
                req.extensions_mut().insert(principal);
            }
            Ok(None) => {}
            Err(e) => return Ok(req.error_response(e)),
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Binds list cursors to the list they were made for: the request is handled within its
/// list fingerprint ([`crate::pagination::in_list_scope`]).
pub async fn list_scope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let (path, query) = (req.path().to_string(), req.query_string().to_string());
    crate::pagination::in_list_scope(path, query, async move { Ok(next.call(req).await?.map_into_boxed_body()) }).await
}

/// Header names replayed with an idempotent response.
const REPLAYED_HEADERS: [header::HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// `Idempotency-Key` on POST: the first response is stored and replayed for the same
/// key and body (a `202 Accepted` job by its handler, with the job's current state); the
/// same key with another body is answered with 422.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.method() != Method::POST || !req.headers().contains_key("idempotency-key") {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let key = req.headers().get("idempotency-key").map(|v| v.to_str().map(str::to_string));
    let principal = req.extensions().get::<Principal>().map(Principal::key);
    let (Some(key), Some(principal)) = (key, principal) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = match key {
        Ok(k) if (1..=255).contains(&k.len()) => k,
        _ => {
            let e = ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into());
            return Ok(req.error_response(e));
        }
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req.error_response(ApiError::Internal("application state missing".into())));
    };
    // Uploads may be larger than JSON bodies: buffer each up to its own limit.
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/"));
    let limit = if is_multipart { state.config.max_upload_bytes } else { state.config.max_body_bytes };
    let mut payload = req.take_payload();
    let mut buffer = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return Ok(req.error_response(ApiError::BadRequest("could not read the request body".into())));
        };
        if buffer.len() + chunk.len() > limit {
            return Ok(req.error_response(ApiError::PayloadTooLarge(limit)));
        }
        buffer.extend_from_slice(&chunk);
    }
    let body = buffer.freeze();
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b"\n");
    hasher.update(req.uri().to_string());
    hasher.update(b"\n");
    hasher.update(&body);
    let fingerprint: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    req.set_payload(Payload::from(body));

    match state.store.idempotency_begin(&principal, &key, &fingerprint).await {
        Err(e) => Ok(req.error_response(ApiError::from(e))),
        Ok(IdempotencyBegin::Mismatch) => Ok(req.error_response(ApiError::IdempotencyMismatch(
            "this Idempotency-Key was already used with a different request; use a new key".into(),
        ))),
        Ok(IdempotencyBegin::InProgress) => Ok(req.error_response(ApiError::IdempotencyInProgress)),
        // An accepted job (202) is answered as it is now, not as it was: its handler finds
        // the job by the key and creates nothing new.
        Ok(IdempotencyBegin::Replay(stored)) if stored.status == StatusCode::ACCEPTED.as_u16() => {
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Ok(IdempotencyBegin::Replay(stored)) => {
            let mut res = HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
            for (name, value) in &stored.headers {
                res.insert_header((name.as_str(), value.as_str()));
            }
            res.insert_header(("idempotent-replayed", "true"));
            Ok(req.into_response(res.body(stored.body)))
        }
        Ok(IdempotencyBegin::Proceed) => {
            let res = next.call(req).await;
            let res = match res {
                Ok(res) => res.map_into_boxed_body(),
                Err(e) => {
                    let _ = state.store.idempotency_abandon(&principal, &key).await;
                    return Err(e);
                }
            };
            let (req, response) = res.into_parts();
            let status = response.status();
            let (response, body) = response.into_parts();
            let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
            match (status.is_server_error(), String::from_utf8(bytes.to_vec())) {
                (false, Ok(text)) => {
                    let headers = REPLAYED_HEADERS
                        .iter()
                        .filter_map(|h| {
                            let v = response.headers().get(h)?.to_str().ok()?;
                            Some((h.as_str().to_string(), v.to_string()))
                        })
                        .collect();
                    let stored = StoredResponse { status: status.as_u16(), headers, body: text };
                    if let Err(e) = state.store.idempotency_complete(&principal, &key, &stored).await {
                        tracing::error!(error = %e, "could not store idempotent response");
                    }
                }
                _ => {
                    let _ = state.store.idempotency_abandon(&principal, &key).await;
                }
            }
            let response = response.set_body(BoxBody::new(bytes));
            Ok(ServiceResponse::new(req, response))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{test, App};
    use std::sync::{Arc, Mutex};

    /// Log output captured in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    async fn fails() -> Result<HttpResponse, ApiError> {
        Err(ApiError::Internal("the ledger table is locked".into()))
    }

    #[actix_web::test]
    async fn a_failed_request_is_logged_once_with_its_request_id_and_cause() {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let app =
            test::init_service(App::new().wrap(from_fn(request_id_and_log)).route("/fails", web::get().to(fails)))
                .await;
        let req = test::TestRequest::get().uri("/fails").insert_header((REQUEST_ID, "req-42")).to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(res.headers().get(REQUEST_ID).unwrap(), "req-42");
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        let line = text.lines().find(|l| l.contains("request failed")).unwrap_or_else(|| panic!("{text}"));
        assert!(line.contains("request_id=req-42"), "{line}");
        assert!(line.contains("status=500"), "{line}");
        assert!(line.contains(r#"path="/fails""#), "{line}");
        assert!(line.contains("the ledger table is locked"), "the cause, not only \"internal error\": {line}");
    }
}

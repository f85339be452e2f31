//! `POST /bookings/batch`: a day's time pushed at once (helpdesks, imports). All or
//! nothing: every item is validated like a single booking, any invalid item refuses the
//! whole batch with every failing item named by index and field, and the valid batch is
//! written in one transaction. References are read once per batch.

use super::{draft, ref_ids, BookingCreate};
use crate::auth::Principal;
use crate::dto::validate;
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::Json;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use domain::Permission;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most bookings in one batch.
pub const MAX_BATCH: usize = 1000;

/// Bookings to record at once, each exactly like the body of `POST /api/v1/bookings`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"bookings": [
    {"user_id": 7, "work_date": "2026-11-23", "duration_minutes": 45, "service_id": 3, "ticket_id": 812,
     "description": "Replaced the toner and tested printing"},
    {"user_id": 7, "work_date": "2026-11-23", "start_time": "13:00", "end_time": "14:30", "service_id": 3,
     "project_id": 21, "description": "Rollout of the new file server", "custom_fields": {"km": 42}}
]}))]
pub struct BookingBatch {
    /// 1 to 1000 bookings.
    #[schema(min_items = 1, max_items = 1000)]
    pub bookings: Vec<BookingCreate>,
}

/// One recorded booking of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItemCreated {
    /// Position of the booking in the request's `bookings` (from 0).
    pub index: usize,
    pub id: i64,
    /// Version of the new booking (for `If-Match`).
    pub version: i64,
    /// Where to read the booking.
    #[schema(example = "/api/v1/bookings/17")]
    pub location: String,
}

/// The bookings a batch recorded, in request order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"results": [
    {"index": 0, "id": 17, "version": 1, "location": "/api/v1/bookings/17"},
    {"index": 1, "id": 18, "version": 1, "location": "/api/v1/bookings/18"}
], "created": 2}))]
pub struct BatchCreated {
    pub results: Vec<BatchItemCreated>,
    /// How many bookings were recorded (all of the batch).
    pub created: usize,
}

/// Book a batch of time entries at once (all or nothing).
///
/// Each item is exactly the body of `POST /api/v1/bookings` and is checked by the same
/// rules: customer, project and task derived from the ticket or project, the service's
/// billable default, custom-field definitions, and who may book for whom (agents only
/// for themselves; API clients name the user). If any item is invalid, the answer is 422
/// and its `errors` name every failing item as `bookings[<index>].<field>`; nothing is
/// recorded. A valid batch is recorded in one transaction and answered with the new ids
/// in request order. An item the caller may not write (booking for someone else, a rate
/// override without the billing role) refuses the batch with 403. Retry safely with
/// `Idempotency-Key`: the same key and body replay the first answer.
#[utoipa::path(post, path = "/api/v1/bookings/batch", operation_id = "create_bookings_batch", tag = "bookings",
    request_body = BookingBatch,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe creation: the same key and body replay the first response (the same ids); the same key with another body is 422")),
    security(("bearer" = []), ("api_key" = ["bookings:write"])),
    responses(
        (status = 201, description = "Every booking recorded", body = BatchCreated),
        (status = 403, description = "An item books for someone else, or sets a rate override without the billing role", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty batch, more than 1000 items, or invalid items: `errors` names each as `bookings[<index>].<field>`; nothing was recorded", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:kontor:problem:validation", "title": "Validation failed", "status": 422,
                "detail": "2 invalid field(s)", "errors": [
                    {"field": "bookings[3].service_id", "code": "unknown_reference", "message": "no such service"},
                    {"field": "bookings[7].duration_minutes", "code": "invalid_duration", "message": "a booking lasts from 1 to 1440 minutes"}]}))))]
pub async fn create(
    req: HttpRequest,
    p: Principal,
    state: web::Data<AppState>,
    body: Json<BookingBatch>,
) -> Result<HttpResponse, ApiError> {
    p.require(Permission::WriteBookings)?;
    let items = body.into_inner()?.bookings;
    if items.is_empty() || items.len() > MAX_BATCH {
        let message = format!("a batch holds 1 to {MAX_BATCH} bookings; this one has {}", items.len());
        return Err(ApiError::invalid("bookings", "length", message));
    }
    let refs = state.store.booking_refs(&ref_ids(&items, &p)).await?;
    let fields = state.store.booking_fields(&refs).await?;
    let mut rows = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let checked = validate(&item, vec![])
            .and_then(|()| draft(&refs, &p, item))
            .and_then(|d| super::booking_data(&refs, &fields, &p, d));
        match checked {
            Ok(data) => rows.push(data),
            Err(ApiError::Validation(item_errors)) => errors.extend(item_errors.into_iter().map(|e| at(index, e))),
            Err(ApiError::Forbidden(why)) => return Err(ApiError::Forbidden(format!("bookings[{index}]: {why}"))),
            Err(other) => return Err(other),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let created = state.store.create_bookings(&rows, &p.actor(&req)).await?;
    let results: Vec<BatchItemCreated> = created
        .into_iter()
        .enumerate()
        .map(|(index, b)| BatchItemCreated {
            index,
            id: b.id,
            version: b.version,
            location: format!("/api/v1/bookings/{}", b.id),
        })
        .collect();
    Ok(HttpResponse::Created().json(BatchCreated { created: results.len(), results }))
}

/// An item's field error, named by the item's index.
fn at(index: usize, e: FieldError) -> FieldError {
    FieldError { field: format!("bookings[{index}].{}", e.field), ..e }
}

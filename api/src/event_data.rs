//! Event data in the shape the API returns the resource. The outbox keeps the record as the
//! change left it (a ticket's, booking's, project's or invoice's row as of that moment);
//! `GET /events` and the webhook envelope show it as `GET /tickets/{id}`, `/bookings/{id}`,
//! `/projects/{id}` and `/invoices/{id}` (its summary, without lines) would have shown it
//! then. An event that means more than the new state adds one object beside the resource's
//! fields: `status_change` (`from`, `to`, …) for `*.status_changed`, `estimate` for
//! `project.estimate_exceeded`. Other events, and events written before their payload
//! carried the record, pass as written.

use crate::routes::bookings::BookingOut;
use crate::routes::invoices::{invoice_out, InvoiceDetail};
use crate::routes::projects::ProjectOut;
use crate::routes::tickets::TicketOut;
use persistence::bookings::Booking;
use persistence::invoices::Invoice;
use persistence::projects::Project;
use persistence::tickets::Ticket;
use persistence::Store;
use serde_json::{Map, Value};

/// The `data` of an event of `event_type` whose stored payload is `payload`.
pub async fn api_data(store: &Store, event_type: &str, payload: &str) -> Value {
    let stored: Value = match serde_json::from_str(payload) {
        Ok(v) => v,
        Err(_) => return Value::String(payload.to_string()),
    };
    shaped(store, event_type, &stored).await.unwrap_or(stored)
}

/// The API shape of a stored payload, when it carries the record.
async fn shaped(store: &Store, event_type: &str, stored: &Value) -> Option<Value> {
    let record = |key: &str| stored.get(key).cloned();
    match event_type {
        "ticket.created" | "ticket.updated" => to_value(TicketOut::from(from_value::<Ticket>(stored.clone())?)),
        "booking.created" | "booking.updated" | "booking.deleted" => {
            to_value(BookingOut::from(from_value::<Booking>(stored.clone())?))
        }
        "ticket.status_changed" => {
            let ticket = to_value(TicketOut::from(from_value::<Ticket>(record("ticket")?)?))?;
            with(ticket, "status_change", pick(stored, &["from", "to"]))
        }
        "project.status_changed" => {
            let project = to_value(ProjectOut::in_event(from_value::<Project>(record("project")?)?))?;
            let change = pick(stored, &["from", "to", "notify", "notify_user_id", "changed_by", "changed_by_id"]);
            with(project, "status_change", change)
        }
        "project.estimate_exceeded" => {
            let project = to_value(ProjectOut::in_event(from_value::<Project>(record("project")?)?))?;
            with(project, "estimate", pick(stored, &["estimate_hours", "actual_hours", "notify_user_id"]))
        }
        t if t.starts_with("invoice.") => {
            let invoice = from_value::<Invoice>(record("invoice")?)?;
            let mut out = invoice_out(store, invoice, InvoiceDetail::Summary).await.ok()?;
            out.line_count = stored.get("line_count").and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok())?;
            to_value(out)
        }
        _ => None,
    }
}

fn from_value<T: serde::de::DeserializeOwned>(v: Value) -> Option<T> {
    serde_json::from_value(v).ok()
}

fn to_value<T: serde::Serialize>(v: T) -> Option<Value> {
    serde_json::to_value(v).ok()
}

/// The fields `keys` of the stored payload, as one object.
fn pick(stored: &Value, keys: &[&str]) -> Value {
    Value::Object(keys.iter().filter_map(|k| Some((k.to_string(), stored.get(*k)?.clone()))).collect::<Map<_, _>>())
}

/// `resource` with `extra` added under `key`.
fn with(mut resource: Value, key: &str, extra: Value) -> Option<Value> {
    resource.as_object_mut()?.insert(key.to_string(), extra);
    Some(resource)
}

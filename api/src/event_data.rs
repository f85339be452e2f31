//! Event data in the shape the API returns the resource. The outbox keeps the record as it was
//! stored by the change (a ticket's or booking's row as of that moment); `GET /events` and the
//! webhook envelope show it as `GET /tickets/{id}` and `GET /bookings/{id}` would have shown it
//! then. Other events carry their own payloads, passed on as written.

use crate::routes::bookings::BookingOut;
use crate::routes::tickets::TicketOut;
use persistence::bookings::Booking;
use persistence::tickets::Ticket;
use serde_json::Value;

/// The `data` of an event of `event_type` whose stored payload is `payload`.
pub fn api_data(event_type: &str, payload: &str) -> Value {
    let shaped = match event_type {
        "ticket.created" | "ticket.updated" => {
            serde_json::from_str::<Ticket>(payload).ok().and_then(|t| serde_json::to_value(TicketOut::from(t)).ok())
        }
        "booking.created" | "booking.updated" | "booking.deleted" => {
            serde_json::from_str::<Booking>(payload).ok().and_then(|b| serde_json::to_value(BookingOut::from(b)).ok())
        }
        _ => None,
    };
    // Events written before a payload carried the whole record pass as they are.
    shaped.unwrap_or_else(|| serde_json::from_str(payload).unwrap_or_else(|_| Value::String(payload.to_string())))
}

//! Storage of time bookings: who worked how long on what, billable or not.

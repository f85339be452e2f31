//! End-to-end tests: time bookings: who worked how long on what, billable or not.

//! End-to-end tests: admin-defined custom fields of bookings and tickets.

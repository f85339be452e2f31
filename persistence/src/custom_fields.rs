//! Storage of admin-defined custom fields of bookings and tickets.

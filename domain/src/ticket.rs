//! Tickets: status machine, priorities, sources.

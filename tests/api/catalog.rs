//! End-to-end tests: the service catalog (Leistungen / výkony): what can be booked and billed.

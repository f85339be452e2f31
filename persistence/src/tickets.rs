//! Storage of tickets and work orders: numbers, status machine, assignment, appointments, registers (timeline, correspondence, documents).

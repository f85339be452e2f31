//! End-to-end tests: expenses and material lines on tickets and projects.

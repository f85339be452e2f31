//! End-to-end tests: teams of employees, their members, and user capacity.

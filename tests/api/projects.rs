//! End-to-end tests: projects, their tasks, status workflow and effort (estimate vs. actual).

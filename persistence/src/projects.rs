//! Storage of projects, their tasks, status workflow and effort (estimate vs. actual).

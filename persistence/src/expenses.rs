//! Storage of expenses and material lines on tickets and projects.

//! Projects: kinds, roles and the status workflow with its role rules.

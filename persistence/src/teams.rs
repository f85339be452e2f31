//! Storage of teams of employees, their members, and user capacity.

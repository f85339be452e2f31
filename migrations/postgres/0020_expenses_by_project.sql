-- Expenses by project (postgres; keep in step with migrations/sqlite/0020_expenses_by_project.sql):
-- a run that finishes a `manager_done` project looks for the project's open expenses, and a
-- project's proof of service and revenue read its expenses; without this index each of them
-- read every expense. Partial: most expenses belong to no project, and an index whose rows
-- are mostly NULL would look useless to the planner (every row one value).
CREATE INDEX expenses_project ON expenses(project_id) WHERE project_id IS NOT NULL;

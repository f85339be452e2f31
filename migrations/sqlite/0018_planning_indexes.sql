-- Planning reads (sqlite; keep in step with migrations/postgres/0018_planning_indexes.sql): the
-- capacity view and the planning board look up the open work of a person or a team by due
-- date. Partial: unassigned tickets cost nothing to index.
CREATE INDEX tickets_assignee_due ON tickets(assignee_user_id, due_date) WHERE assignee_user_id IS NOT NULL;
CREATE INDEX tickets_team_due ON tickets(assignee_team_id, due_date) WHERE assignee_team_id IS NOT NULL;

-- Case work (issue 10): what a programme expects next, who did what, and coach tasks that
-- people can list and close.

ALTER TABLE trajectories ADD COLUMN next_steps text[] NOT NULL DEFAULT '{}';

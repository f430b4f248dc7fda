-- A trajectory the engine cannot take further by itself waits for a case manager with status
-- 'needs_attention' and says why (DESIGN §8.1); the reason is the engine's, never personal data.
-- The worker's sweep marks a workflow stopped from outside (terminated, failed) the same way.
--
-- `step_at` is the workflow time of the step a snapshot belongs to. After a reset the workflow
-- counts its revisions again from an earlier point, but its steps are later in time: the read
-- model follows them, while a late retry of an older step still changes nothing.

ALTER TABLE trajectories
    DROP CONSTRAINT trajectories_status_check,
    ADD CONSTRAINT trajectories_status_check
        CHECK (status IN ('active', 'paused', 'dormant', 'closed', 'needs_attention')),
    ADD COLUMN attention text,
    ADD COLUMN step_at   timestamptz;

ALTER TABLE phase_transitions
    DROP CONSTRAINT phase_transitions_status_check,
    ADD CONSTRAINT phase_transitions_status_check
        CHECK (status IN ('active', 'paused', 'dormant', 'closed', 'needs_attention'));

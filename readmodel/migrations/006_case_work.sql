-- Case work (issue 10): what a programme expects next, who did what, and coach tasks that
-- people can list and close.

ALTER TABLE trajectories ADD COLUMN next_steps text[] NOT NULL DEFAULT '{}';
ALTER TABLE trajectories ADD COLUMN open_tasks jsonb NOT NULL DEFAULT '[]';

-- Who did what: the caller's role, partner and key id (a user id once people sign in through
-- OIDC); all null for the engine itself.
ALTER TABLE milestones
    ADD COLUMN actor_role       text CHECK (actor_role IN ('backend', 'case_manager', 'partner')),
    ADD COLUMN actor_partner_id text,
    ADD COLUMN actor_key_id     text,
    ADD COLUMN actor_user_id    text;

ALTER TABLE personal_data_reads
    ADD COLUMN actor_role       text CHECK (actor_role IN ('backend', 'case_manager', 'partner')),
    ADD COLUMN actor_partner_id text,
    ADD COLUMN actor_key_id     text,
    ADD COLUMN actor_user_id    text;

-- A case manager's pause, resume, reassignment or closure; `seq` is the phase transition it
-- caused, so the timeline shows one entry for both. `reason` is the case manager's free text.
CREATE TABLE steering_actions (
    participant_id   text NOT NULL REFERENCES participants ON DELETE CASCADE,
    seq              integer NOT NULL,
    action           text NOT NULL CHECK (action IN ('pause', 'resume', 'reassign', 'close')),
    reason           text,
    at               timestamptz NOT NULL,
    actor_role       text CHECK (actor_role IN ('backend', 'case_manager', 'partner')),
    actor_partner_id text,
    actor_key_id     text,
    actor_user_id    text,
    PRIMARY KEY (participant_id, seq)
);

-- Coach tasks people list and close. `task_id` is `participant_id.nudge_seq`; `opened_at` and
-- `done_at` are the workflow's time; `due_at` is null for tasks opened before this release.
ALTER TABLE tasks
    ADD COLUMN task_id          text,
    ADD COLUMN opened_at        timestamptz,
    ADD COLUMN due_at           timestamptz,
    ADD COLUMN reached          boolean,
    ADD COLUMN note             text,
    ADD COLUMN actor_role       text CHECK (actor_role IN ('backend', 'case_manager', 'partner')),
    ADD COLUMN actor_partner_id text,
    ADD COLUMN actor_key_id     text,
    ADD COLUMN actor_user_id    text;

UPDATE tasks SET
    task_id = participant_id || '.' || substr(task_key, length('nudge-') + 1),
    opened_at = created_at;

ALTER TABLE tasks
    ALTER COLUMN task_id SET NOT NULL,
    ALTER COLUMN opened_at SET NOT NULL,
    ADD CONSTRAINT tasks_task_id_key UNIQUE (task_id),
    ADD CONSTRAINT tasks_done_says_whether_reached CHECK ((done_at IS NULL) = (reached IS NULL));

DROP INDEX tasks_open_idx;
CREATE INDEX tasks_partner_idx ON tasks (partner_id, (done_at IS NULL), task_id);

-- The read model of participant trajectories (DESIGN §6).
-- Personal data lives only in `persons`: erasing a person deletes that row and leaves the
-- programme's counts intact. Every other table is keyed by the opaque participant id.

CREATE TABLE participants (
    participant_id text PRIMARY KEY,
    external_ref   text NOT NULL UNIQUE,
    partner_id     text NOT NULL,
    postcode       text NOT NULL,
    language       text NOT NULL,
    enrolled_at    timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX participants_partner_idx ON participants (partner_id);

CREATE TABLE persons (
    participant_id       text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    given_name           text NOT NULL,
    family_name          text NOT NULL,
    birth_date           date NOT NULL,
    national_number      text NOT NULL,
    phone                text,
    email                text,
    status_employed      boolean NOT NULL,
    status_in_education  boolean NOT NULL,
    status_in_training   boolean NOT NULL,
    status_other_measure boolean NOT NULL
);

CREATE INDEX persons_national_number_idx ON persons (national_number);

-- The PES registry of other support measures, queried at intake.
CREATE TABLE other_measures (
    national_number text NOT NULL,
    measure         text NOT NULL,
    started_on      date NOT NULL,
    ended_on        date,
    PRIMARY KEY (national_number, measure),
    CHECK (ended_on IS NULL OR ended_on >= started_on)
);

CREATE TABLE eligibility_checks (
    participant_id text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    eligible       boolean NOT NULL,
    reasons        jsonb NOT NULL DEFAULT '[]',
    checked_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per trajectory: the latest snapshot the workflow reported (highest revision wins).
CREATE TABLE trajectories (
    participant_id      text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    workflow_id         text NOT NULL UNIQUE,
    partner_id          text NOT NULL,
    phase               text NOT NULL CHECK (phase IN (
        'intake', 'assessment', 'coaching', 'training', 'placement', 'follow_up', 'closed'
    )),
    status              text NOT NULL CHECK (status IN ('active', 'paused', 'dormant', 'closed')),
    nudge_level         integer NOT NULL CHECK (nudge_level >= 0),
    milestone_count     integer NOT NULL CHECK (milestone_count >= 0),
    last_milestone_type text,
    last_milestone_at   timestamptz,
    last_contact_at     timestamptz NOT NULL,
    outcome             text CHECK (outcome IN (
        'employed', 'self_employed', 'traineeship', 'apprenticeship', 'education',
        'ineligible', 'withdrawn', 'moved_away', 'lost_contact', 'other_support_measure',
        'max_duration_reached'
    )),
    next_deadline       timestamptz,
    enrolled_at         timestamptz NOT NULL,
    closed_at           timestamptz,
    revision            bigint NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX trajectories_partner_idx ON trajectories (partner_id, phase, status, participant_id);
CREATE INDEX trajectories_phase_idx ON trajectories (phase, status, participant_id);
CREATE INDEX trajectories_status_idx ON trajectories (status, participant_id);

-- Append-only: a milestone id is recorded once per participant, whatever the retries.
CREATE TABLE milestones (
    participant_id text NOT NULL REFERENCES participants ON DELETE CASCADE,
    milestone_id   text NOT NULL,
    type           text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_by    text NOT NULL CHECK (recorded_by IN ('partner', 'case_manager', 'system')),
    payload        jsonb NOT NULL DEFAULT '{}',
    phase          text NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (participant_id, milestone_id)
);

CREATE INDEX milestones_type_idx ON milestones (type, occurred_at);

CREATE TABLE phase_transitions (
    participant_id text NOT NULL REFERENCES participants ON DELETE CASCADE,
    seq            integer NOT NULL,
    from_phase     text NOT NULL,
    to_phase       text NOT NULL,
    status         text NOT NULL CHECK (status IN ('active', 'paused', 'dormant', 'closed')),
    cause          text NOT NULL,
    at             timestamptz NOT NULL,
    PRIMARY KEY (participant_id, seq)
);

-- Each rung of the nudge ladder carried out, and when contact followed (the nudge's effect).
CREATE TABLE nudges (
    participant_id text NOT NULL REFERENCES participants ON DELETE CASCADE,
    seq            integer NOT NULL,
    level          integer NOT NULL CHECK (level >= 1),
    action         text NOT NULL CHECK (action IN ('message', 'coach_call', 'outreach')),
    channel        text NOT NULL CHECK (channel IN ('sms', 'email', 'whatsapp', 'phone', 'street_worker')),
    language       text NOT NULL,
    phase          text NOT NULL,
    partner_id     text NOT NULL,
    silent_since   timestamptz NOT NULL,
    sent_at        timestamptz NOT NULL DEFAULT now(),
    contact_at     timestamptz,
    PRIMARY KEY (participant_id, seq)
);

CREATE INDEX nudges_partner_idx ON nudges (partner_id, sent_at);

-- Messages waiting for a channel adapter (the development notifier stops here).
CREATE TABLE outbox (
    participant_id text NOT NULL,
    nudge_seq      integer NOT NULL,
    channel        text NOT NULL,
    language       text NOT NULL,
    body           text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (participant_id, nudge_seq),
    FOREIGN KEY (participant_id, nudge_seq) REFERENCES nudges ON DELETE CASCADE
);

-- Work for people: a coach's call or a street worker's outreach.
CREATE TABLE tasks (
    participant_id text NOT NULL REFERENCES participants ON DELETE CASCADE,
    task_key       text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('coach_call', 'outreach')),
    partner_id     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    done_at        timestamptz,
    PRIMARY KEY (participant_id, task_key)
);

CREATE INDEX tasks_open_idx ON tasks (partner_id, created_at) WHERE done_at IS NULL;

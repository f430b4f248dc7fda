-- Training seats, recommendations, follow-up results and entry profiles (DESIGN §1, §9).

CREATE TABLE courses (
    course_id             text PRIMARY KEY,
    catalogue_version     integer NOT NULL,
    provider              text NOT NULL,
    title                 text NOT NULL,
    domain                text NOT NULL,
    sector                text NOT NULL,
    occupation            text NOT NULL,
    bottleneck_occupation boolean NOT NULL,
    language              text NOT NULL,
    min_language_level    text NOT NULL CHECK (min_language_level IN ('A1', 'A2', 'B1', 'B2', 'C1', 'C2')),
    min_digital_level     integer NOT NULL CHECK (min_digital_level BETWEEN 1 AND 8),
    seats                 integer NOT NULL CHECK (seats > 0),
    starts_on             date NOT NULL,
    ends_on               date NOT NULL,
    location              text NOT NULL,
    CHECK (ends_on >= starts_on)
);

-- One row per participant asking for a course. `queued_at` orders the waiting list; a seat is
-- held while `status` is 'seated' or 'offered', so held seats never exceed `courses.seats`.
-- `freed_by` names whose release led to this offer, so a retried release offers nothing twice.
CREATE TABLE seat_requests (
    course_id      text NOT NULL REFERENCES courses,
    participant_id text NOT NULL REFERENCES participants ON DELETE CASCADE,
    status         text NOT NULL CHECK (status IN (
        'seated', 'offered', 'waiting', 'expired', 'completed', 'dropped'
    )),
    queue_no       bigint GENERATED ALWAYS AS IDENTITY,
    requested_at   timestamptz NOT NULL,
    offered_until  timestamptz,
    seated_at      timestamptz,
    ended_at       timestamptz,
    qualification  text,
    freed_by       text,
    PRIMARY KEY (course_id, participant_id)
);

CREATE INDEX seat_requests_queue_idx ON seat_requests (course_id, queue_no) WHERE status = 'waiting';

CREATE TABLE recommendations (
    participant_id text NOT NULL REFERENCES participants ON DELETE CASCADE,
    rank           integer NOT NULL,
    course_id      text NOT NULL REFERENCES courses,
    reasons        jsonb NOT NULL,
    recommended_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (participant_id, rank)
);

-- Follow-up check-ins after leaving: the ESF+ results on leaving and at six months, and the
-- Youth Guarantee statuses at 12 and 18 months. Unanswered checks are kept, not guessed.
CREATE TABLE follow_up_checks (
    participant_id           text NOT NULL REFERENCES participants ON DELETE CASCADE,
    name                     text NOT NULL CHECK (name IN ('on_leaving', '6_months', '12_months', '18_months')),
    due_at                   timestamptz NOT NULL,
    answered_at              timestamptz,
    unanswered               boolean NOT NULL DEFAULT false,
    in_employment            boolean,
    in_education_or_training boolean,
    job_searching            boolean,
    qualification_gained     boolean,
    PRIMARY KEY (participant_id, name)
);

-- The situation at entry for the ESF+ common indicators. Sensitive answers may be declined;
-- the refusal is stored as 'declined', never guessed.
CREATE TABLE entry_profiles (
    participant_id        text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    age_at_entry          integer NOT NULL,
    labour_status         text NOT NULL CHECK (labour_status IN ('unemployed', 'long_term_unemployed', 'inactive', 'employed')),
    education_level       text NOT NULL CHECK (education_level IN ('isced_0_2', 'isced_3_4', 'isced_5_8')),
    gender                text NOT NULL CHECK (gender IN ('woman', 'man', 'non_binary')),
    disability            text NOT NULL CHECK (disability IN ('yes', 'no', 'declined')),
    third_country_national text NOT NULL CHECK (third_country_national IN ('yes', 'no', 'declined')),
    foreign_background    text NOT NULL CHECK (foreign_background IN ('yes', 'no', 'declined')),
    minority              text NOT NULL CHECK (minority IN ('yes', 'no', 'declined')),
    homeless              text NOT NULL CHECK (homeless IN ('yes', 'no', 'declined'))
);

ALTER TABLE trajectories
    ADD COLUMN first_offer_at timestamptz,
    ADD COLUMN left_at timestamptz,
    ADD COLUMN placement_kind text,
    ADD COLUMN course_id text;

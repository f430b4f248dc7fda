-- The read model of participant trajectories (DESIGN §6), release 1's baseline.
--
-- Workflows own the truth; these tables hold what lists, tasks and reports read. Personal data
-- lives only in `persons`, sealed with a data key per participant (`person_keys`): erasing a
-- person destroys that key and leaves every count of the programme intact. Every other table is
-- keyed by the opaque participant id. Until the first production deployment, schema changes
-- fold into this file (docs/operations.md, "Schema and workflow changes").

-- -- Who is enrolled ---------------------------------------------------------------------------

-- `pes_registered_on` is the day the person registered with the PES, when the backend gives it:
-- the Youth Guarantee's four months to a first offer count from it (else from enrolment), and
-- long-term unemployment is derived from it. `age_at_entry` is the age on the enrolment day (in
-- Brussels). One person is one participant (ESF+): a person enrolled again after a close gets a
-- new trajectory linked to the earlier one (`previous_participant_id`), and every later
-- participation of theirs holds the first one's id in `person_id` (null on the first: its own
-- id). `pes_assessment` is the PES's own
-- competence assessment, imported at enrolment (CEFR levels and DigComp level, no free text).
CREATE TABLE participants (
    participant_id          text PRIMARY KEY,
    external_ref            text NOT NULL UNIQUE,
    partner_id              text NOT NULL,
    postcode                text NOT NULL,
    language                text NOT NULL,
    enrolled_at             timestamptz NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    pes_registered_on       date,
    age_at_entry            integer,
    person_id               text REFERENCES participants,
    previous_participant_id text REFERENCES participants,
    pes_assessment          jsonb
);

CREATE INDEX participants_partner_idx ON participants (partner_id);
CREATE INDEX participants_person_idx ON participants (person_id) WHERE person_id IS NOT NULL;

-- `sealed` holds given and family name, birth date, national number, phone and email, encrypted
-- with the participant's data key (null once erased). Birth year and sex (from the national
-- number) stay in clear for the ESF+ counts: they identify nobody and survive erasure, like the
-- declared status. `restricted_at` is set when the person asked to be erased within the ESF+
-- retention period: their processing is restricted (see `erasure_requests`).
CREATE TABLE persons (
    participant_id       text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    status_employed      boolean NOT NULL,
    status_in_education  boolean NOT NULL,
    status_in_training   boolean NOT NULL,
    status_other_measure boolean NOT NULL,
    sealed               bytea,
    birth_year           smallint,
    sex                  text CHECK (sex IN ('female', 'male')),
    restricted_at        timestamptz
);

-- One data key per participant, stored wrapped (AES-256-GCM) under a person key of
-- PARCOURS_PERSON_KEYS (`infra/person_keys.py`), named by its key id so person keys can rotate
-- (`python -m starter persons rewrap`). `keyring` 'codec_keys' names keys derived from
-- PARCOURS_CODEC_KEYS instead.
CREATE TABLE person_keys (
    participant_id text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    master_key_id  text,
    wrapped_key    bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    erased_at      timestamptz,
    keyring        text NOT NULL DEFAULT 'codec_keys' CHECK (keyring IN ('person_keys', 'codec_keys')),
    CHECK ((erased_at IS NULL) = (wrapped_key IS NOT NULL AND master_key_id IS NOT NULL))
);

CREATE INDEX person_keys_keyring_idx ON person_keys (keyring, master_key_id)
    WHERE erased_at IS NULL;

-- One person, one open trajectory (DESIGN §8.1): a keyed hash (HMAC-SHA256) of each enrolled
-- person's national number, never the number itself. The partial unique index lets only one
-- open trajectory hold a fingerprint, so two enrolments racing under two references cannot both
-- win; closing a trajectory releases it, and erasing the person deletes it.
CREATE TABLE person_fingerprints (
    participant_id text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    fingerprint    bytea NOT NULL,
    open           boolean NOT NULL DEFAULT true,
    keyring        text NOT NULL DEFAULT 'codec_keys' CHECK (keyring IN ('person_keys', 'codec_keys')),
    key_id         text
);

CREATE UNIQUE INDEX person_fingerprints_open_idx ON person_fingerprints (fingerprint) WHERE open;

-- Who read a participant's personal data, when and why. Kept without a foreign key so that the
-- trail outlives the participant's rows; it holds only the opaque participant id.
CREATE TABLE personal_data_reads (
    read_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    participant_id   text NOT NULL,
    reader           text NOT NULL,
    purpose          text NOT NULL,
    read_at          timestamptz NOT NULL DEFAULT now(),
    actor_role       text CHECK (actor_role IN ('backend', 'case_manager', 'partner')),
    actor_partner_id text,
    actor_key_id     text,
    actor_user_id    text
);

CREATE INDEX personal_data_reads_participant_idx ON personal_data_reads (participant_id, read_at);

-- The situation at entry for the ESF+ common indicators: what makes someone an ESF+ participant.
-- A participant without a row is counted apart (`excluded_incomplete`) until a case manager
-- completes it (`completed_at`). Nobody employed enters (NEET). Long-term unemployment is derived
-- from the PES registration day, never declared. Sensitive answers may be declined; the refusal
-- is stored as 'declined', never guessed.
CREATE TABLE entry_profiles (
    participant_id        text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    labour_status         text NOT NULL CHECK (labour_status IN ('unemployed', 'inactive')),
    long_term_unemployed  boolean NOT NULL,
    completed_at          timestamptz,
    education_level       text NOT NULL CHECK (education_level IN ('isced_0_2', 'isced_3_4', 'isced_5_8')),
    gender                text NOT NULL CHECK (gender IN ('woman', 'man', 'non_binary')),
    disability            text NOT NULL CHECK (disability IN ('yes', 'no', 'declined')),
    third_country_national text NOT NULL CHECK (third_country_national IN ('yes', 'no', 'declined')),
    foreign_background    text NOT NULL CHECK (foreign_background IN ('yes', 'no', 'declined')),
    minority              text NOT NULL CHECK (minority IN ('yes', 'no', 'declined')),
    homeless              text NOT NULL CHECK (homeless IN ('yes', 'no', 'declined'))
);

-- Which partner held a participant, from when: the figures of a stretch (entry, first offer,
-- leaving, closing) count with the partner that held the participant then, so a reassignment
-- moves no partner's past results to the next one.
CREATE TABLE partner_stints (
    participant_id text NOT NULL REFERENCES participants ON DELETE CASCADE,
    partner_id     text NOT NULL,
    since          timestamptz NOT NULL,
    PRIMARY KEY (participant_id, since)
);

-- The partner holding `participant` at `moment`: the stint begun last by then, else the first
-- one; null for a participant without stints.
CREATE FUNCTION partner_at(participant text, moment timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT s.partner_id FROM partner_stints s
         WHERE s.participant_id = participant AND s.since <= moment
         ORDER BY s.since DESC LIMIT 1),
        (SELECT s.partner_id FROM partner_stints s
         WHERE s.participant_id = participant AND moment IS NOT NULL
         ORDER BY s.since LIMIT 1)
    )
$$;

-- -- Intake ------------------------------------------------------------------------------------

-- The PES registry of other support measures, queried at intake by fingerprint (DESIGN §8.1:
-- matching uses a keyed hash), under every person key; `key_id` names the key that made it.
CREATE TABLE other_measures (
    fingerprint bytea NOT NULL,
    measure     text NOT NULL,
    key_id      text NOT NULL,
    started_on  date NOT NULL,
    ended_on    date,
    PRIMARY KEY (fingerprint, measure),
    CHECK (ended_on IS NULL OR ended_on >= started_on)
);

CREATE TABLE eligibility_checks (
    participant_id text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    eligible       boolean NOT NULL,
    reasons        jsonb NOT NULL DEFAULT '[]',
    checked_at     timestamptz NOT NULL DEFAULT now()
);

-- -- Trajectories ------------------------------------------------------------------------------

-- One row per trajectory: the latest snapshot the workflow reported (highest revision wins).
-- A trajectory the engine cannot take further by itself waits for a case manager with status
-- 'needs_attention' and says why in `attention` (the engine's words, never personal data); the
-- worker's sweep marks a workflow stopped from outside the same way. `step_at` is the workflow
-- time of the step a snapshot belongs to: after a reset the workflow counts its revisions again
-- from an earlier point, but its steps are later in time, so the read model follows them while a
-- late retry of an older step still changes nothing.
CREATE TABLE trajectories (
    participant_id      text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    workflow_id         text NOT NULL UNIQUE,
    partner_id          text NOT NULL,
    phase               text NOT NULL CHECK (phase IN (
        'intake', 'assessment', 'coaching', 'training', 'placement', 'follow_up', 'closed'
    )),
    status              text NOT NULL CHECK (
        status IN ('active', 'paused', 'dormant', 'closed', 'needs_attention')
    ),
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
    updated_at          timestamptz NOT NULL DEFAULT now(),
    first_offer_at      timestamptz,
    first_offer_kind    text CHECK (first_offer_kind IN (
        'employment', 'education', 'apprenticeship', 'traineeship'
    )),
    first_offer_contract_type   text,
    first_offer_contract_months integer,
    left_at             timestamptz,
    exit_outcome        text CHECK (exit_outcome IN (
        'employed', 'self_employed', 'traineeship', 'apprenticeship', 'education',
        'ineligible', 'withdrawn', 'moved_away', 'lost_contact', 'other_support_measure',
        'max_duration_reached'
    )),
    placement_kind      text,
    course_id           text,
    waiting_position    integer CHECK (waiting_position >= 1),
    seat_offered_until  timestamptz,
    next_steps          text[] NOT NULL DEFAULT '{}',
    open_tasks          jsonb NOT NULL DEFAULT '[]',
    attention           text,
    step_at             timestamptz
);

CREATE INDEX trajectories_partner_idx ON trajectories (partner_id, phase, status, participant_id);
CREATE INDEX trajectories_phase_idx ON trajectories (phase, status, participant_id);
CREATE INDEX trajectories_status_idx ON trajectories (status, participant_id);

-- The order in which timeline entries were recorded (milestones, phase changes, nudges, tasks
-- opened and done): a timeline pages by it, so an entry reported late is never behind a cursor.
CREATE SEQUENCE timeline_order;

-- Append-only: a milestone id is recorded once per participant, whatever the retries. The texts
-- of a payload (employer, contract, qualification, coach reference, reasons) are sealed with the
-- participant's data key in `sealed_payload`, so erasing the person shreds them too
-- (readmodel/free_text.py); `sealed_fields` names them, and what the programme counts stays in
-- clear. `actor_*` is who reported it: role, partner and key id (a user id once people sign in
-- through OIDC); all null for the engine itself. `fingerprint` is what the milestone said, hashed
-- (readmodel/milestones.py compares a late repeat with it once the workflow has ended).
CREATE TABLE milestones (
    participant_id   text NOT NULL REFERENCES participants ON DELETE CASCADE,
    milestone_id     text NOT NULL,
    type             text NOT NULL,
    occurred_at      timestamptz NOT NULL,
    recorded_by      text NOT NULL CHECK (recorded_by IN ('partner', 'case_manager', 'system')),
    payload          jsonb NOT NULL DEFAULT '{}',
    phase            text NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    actor_role       text CHECK (actor_role IN ('backend', 'case_manager', 'partner')),
    actor_partner_id text,
    actor_key_id     text,
    actor_user_id    text,
    sealed_payload   bytea,
    sealed_fields    text[] NOT NULL DEFAULT '{}',
    fingerprint      text NOT NULL,
    recorded         bigint NOT NULL DEFAULT nextval('timeline_order'),
    PRIMARY KEY (participant_id, milestone_id)
);

CREATE INDEX milestones_type_idx ON milestones (type, occurred_at);

-- `code` says why (trajectory.phases.Cause), `detail` adds the engine's own words (what needs
-- attention, between which partners); a case manager's reason is kept with their steering action.
CREATE TABLE phase_transitions (
    participant_id text NOT NULL REFERENCES participants ON DELETE CASCADE,
    seq            integer NOT NULL,
    from_phase     text NOT NULL,
    to_phase       text NOT NULL,
    status         text NOT NULL CHECK (
        status IN ('active', 'paused', 'dormant', 'closed', 'needs_attention')
    ),
    code           text NOT NULL,
    detail         text,
    at             timestamptz NOT NULL,
    recorded       bigint NOT NULL DEFAULT nextval('timeline_order'),
    PRIMARY KEY (participant_id, seq)
);

-- A case manager's pause, resume, reassignment or closure; `seq` is the phase transition it
-- caused, so the timeline shows one entry for both. The case manager's reason is sealed in
-- `reason_sealed`.
CREATE TABLE steering_actions (
    participant_id   text NOT NULL REFERENCES participants ON DELETE CASCADE,
    seq              integer NOT NULL,
    action           text NOT NULL CHECK (action IN ('pause', 'resume', 'reassign', 'close')),
    at               timestamptz NOT NULL,
    actor_role       text CHECK (actor_role IN ('backend', 'case_manager', 'partner')),
    actor_partner_id text,
    actor_key_id     text,
    actor_user_id    text,
    reason_sealed    bytea,
    PRIMARY KEY (participant_id, seq)
);

-- -- The nudge ladder and coach tasks ----------------------------------------------------------

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
    recorded       bigint NOT NULL DEFAULT nextval('timeline_order'),
    PRIMARY KEY (participant_id, seq)
);

CREATE INDEX nudges_partner_idx ON nudges (partner_id, sent_at);

-- Nudge messages leave through the outbox only: the ladder's activity queues a row in its
-- transaction, and a sender delivers it afterwards, claiming rows for a while so that several
-- workers can drain together, and marking each one sent once its channel took it. `message_id`
-- is the idempotency key the channel receives (the gateway's, the e-mail's Message-ID): a
-- message delivered again after a sender died is the same message. A failed try waits until
-- `due_at`; after the last, or at once for a person no channel reaches (no address, consent
-- withdrawn, a number that sent STOP, erased), `failed_at` and `failure` (a code, never an address)
-- say so, the timeline shows it (`failed_recorded`) and the trajectory is told
-- (`failure_told_at`). `to_fingerprint` is a keyed hash of the number an SMS went to, so a STOP
-- from that number finds whom it concerns; the address itself is read from the vault when the
-- message leaves and kept nowhere.
CREATE TABLE outbox (
    participant_id  text NOT NULL,
    nudge_seq       integer NOT NULL,
    message_id      text NOT NULL UNIQUE,
    partner_id      text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('sms', 'email', 'whatsapp')),
    language        text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    due_at          timestamptz NOT NULL DEFAULT now(),
    claimed_until   timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    sent_at         timestamptz,
    to_fingerprint  bytea,
    failed_at       timestamptz,
    failure         text,
    failure_told_at timestamptz,
    failed_recorded bigint,
    PRIMARY KEY (participant_id, nudge_seq),
    FOREIGN KEY (participant_id, nudge_seq) REFERENCES nudges ON DELETE CASCADE,
    CHECK (sent_at IS NULL OR failed_at IS NULL)
);

CREATE INDEX outbox_due_idx ON outbox (due_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_untold_idx ON outbox (failed_at)
    WHERE failed_at IS NOT NULL AND failure_told_at IS NULL;
CREATE INDEX outbox_to_idx ON outbox (to_fingerprint) WHERE to_fingerprint IS NOT NULL;

-- Work for people that they list and close: a coach's call or a street worker's outreach.
-- `task_id` is `participant_id.nudge_seq`; `opened_at`, `due_at` and `done_at` are the
-- workflow's time. A coach's note is sealed in `note_sealed`.
CREATE TABLE tasks (
    participant_id   text NOT NULL REFERENCES participants ON DELETE CASCADE,
    task_key         text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('coach_call', 'outreach')),
    partner_id       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    done_at          timestamptz,
    task_id          text NOT NULL UNIQUE,
    opened_at        timestamptz NOT NULL,
    due_at           timestamptz,
    reached          boolean,
    note             text,
    actor_role       text CHECK (actor_role IN ('backend', 'case_manager', 'partner')),
    actor_partner_id text,
    actor_key_id     text,
    actor_user_id    text,
    note_sealed      bytea,
    recorded         bigint NOT NULL DEFAULT nextval('timeline_order'),
    done_recorded    bigint,
    PRIMARY KEY (participant_id, task_key),
    CONSTRAINT tasks_done_says_whether_reached CHECK ((done_at IS NULL) = (reached IS NULL))
);

CREATE INDEX tasks_partner_idx ON tasks (partner_id, (done_at IS NULL), task_id);

-- -- Training and results ----------------------------------------------------------------------

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
    selection             boolean NOT NULL DEFAULT false,
    CHECK (ends_on >= starts_on)
);

-- One row per participant asking for a course. `queue_no` orders the waiting list; a seat is
-- held while `status` is 'seated' or 'offered', so held seats never exceed `courses.seats`. On a
-- course that selects its trainees (`courses.selection`) a request is an application
-- ('applied') until the provider selects the applicant, who is then seated while seats last.
-- `freed_by` names whose release led to this offer, so a retried release offers nothing twice.
-- `requested_by` is the milestone that asked: a refused request frees only a hold it made.
-- The report counts `qualified` (a recognised certificate); the words stay in the milestone.
CREATE TABLE seat_requests (
    course_id      text NOT NULL REFERENCES courses,
    participant_id text NOT NULL REFERENCES participants ON DELETE CASCADE,
    status         text NOT NULL CHECK (status IN (
        'seated', 'offered', 'waiting', 'applied', 'expired', 'completed', 'dropped'
    )),
    queue_no       bigint GENERATED ALWAYS AS IDENTITY,
    requested_at   timestamptz NOT NULL,
    offered_until  timestamptz,
    seated_at      timestamptz,
    ended_at       timestamptz,
    qualification  text,
    freed_by       text,
    qualified      boolean,
    requested_by   text,
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

-- Follow-up check-ins after leaving: the ESF+ results on leaving and at six months (asked of
-- every leaver), and the Youth Guarantee statuses at 12 and 18 months. `due_at` ends the four
-- weeks to answer. Unanswered checks are kept as unknown, never guessed. A qualification counts
-- only as a recognised certificate (`certificate_kind`). Each
-- row carries the revision that wrote it, so a late or repeated write never overwrites a newer
-- answer.
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
    certificate_kind         text CHECK (certificate_kind IN (
        'diploma', 'vocational_certificate', 'skills_validation', 'licence'
    )),
    revision                 bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (participant_id, name)
);

-- -- API keys ----------------------------------------------------------------------------------

-- API keys (DESIGN §8): only a SHA-256 of each key is kept; the key itself is shown once.
-- Keys are long random tokens, so a fast hash is enough: there is nothing to brute-force.
-- `key_id` is the public part of a key (it appears in the key after `prc_`), used to find the
-- row and to name the key in `keys list` and `keys revoke`.
CREATE TABLE api_keys (
    key_id     text PRIMARY KEY,
    key_hash   bytea NOT NULL UNIQUE,
    role       text NOT NULL CHECK (role IN ('backend', 'case_manager', 'partner')),
    partner_id text,
    label      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((role = 'partner') = (partner_id IS NOT NULL))
);

-- -- Web app sessions --------------------------------------------------------------------------

-- A coach's or case manager's session in the web app (api/web): a partner or case-manager key,
-- or a staff sign-in through OpenID Connect (no key), exchanged for a random token kept in an
-- HttpOnly cookie. Only a SHA-256 of the token is stored. A session ends at logout (its row is
-- deleted), after `PARCOURS_WEB_SESSION_IDLE_MINUTES` without a request, after
-- `PARCOURS_WEB_SESSION_HOURS` whatever happens, and when its key is revoked. `user_label` is
-- who the person said they are at login (or the key's label, or the sign-in's name): it goes
-- into the actor of everything they record.
CREATE TABLE web_sessions (
    token_hash bytea PRIMARY KEY,
    role       text NOT NULL CHECK (role IN ('case_manager', 'partner')),
    partner_id text,
    key_id     text REFERENCES api_keys ON DELETE CASCADE,
    user_label text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    seen_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'partner') = (partner_id IS NOT NULL))
);

CREATE INDEX web_sessions_seen_idx ON web_sessions (seen_at);

-- A staff sign-in under way: the OpenID Connect `state` (hashed), the nonce the ID token must
-- carry and the PKCE verifier, kept until the identity provider sends the browser back (at most
-- ten minutes) and used once.
CREATE TABLE web_sign_ins (
    state_hash bytea PRIMARY KEY,
    nonce      text NOT NULL,
    verifier   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- -- Messages: consent, opt-outs and partner webhooks (DESIGN §8.2) ----------------------------

-- Whether a participant lets a channel reach them: every change is kept and the latest counts;
-- without a row a channel is allowed. `source` says where a change came from: a caller of the
-- API (`actor_*`), or a STOP sent from the participant's number (no actor).
CREATE TABLE consents (
    participant_id   text NOT NULL REFERENCES participants ON DELETE CASCADE,
    channel          text NOT NULL CHECK (channel IN ('sms', 'email', 'whatsapp')),
    allowed          boolean NOT NULL,
    source           text NOT NULL CHECK (source IN ('api', 'sms_stop')),
    at               timestamptz NOT NULL DEFAULT now(),
    actor_role       text CHECK (actor_role IN ('backend', 'case_manager', 'partner')),
    actor_partner_id text,
    actor_key_id     text,
    actor_user_id    text,
    recorded         bigint NOT NULL DEFAULT nextval('timeline_order'),
    PRIMARY KEY (participant_id, recorded)
);

CREATE INDEX consents_latest_idx ON consents (participant_id, channel, recorded DESC);

-- Numbers that sent STOP: no SMS goes to them again, whoever they belong to. A keyed hash of the
-- number (HMAC-SHA256 under the person key `key_id`), never the number.
CREATE TABLE sms_opt_outs (
    fingerprint bytea PRIMARY KEY,
    key_id      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);

-- Partners' webhooks: a partner's (`partner_id`) hear about its own participants, a case
-- manager's (`partner_id` null) about all. The signing secret is sealed under the person key
-- `secret_key_id`; it is shown once, when the webhook is made.
CREATE TABLE webhooks (
    webhook_id       text PRIMARY KEY,
    partner_id       text,
    url              text NOT NULL,
    events           text[] NOT NULL,
    secret_key_id    text NOT NULL,
    secret_sealed    bytea NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by_role  text NOT NULL CHECK (created_by_role IN ('case_manager', 'partner')),
    created_by_key_id text,
    deleted_at       timestamptz
);

CREATE INDEX webhooks_partner_idx ON webhooks (partner_id) WHERE deleted_at IS NULL;

-- What happened, as partners hear it: ids, codes and times, never personal data nor a case
-- manager's words. Queued in the transaction of the write that saw it; `event_key` names that
-- cause, so a write done twice queues it once. `body` is the JSON exactly as signed and sent;
-- `seq` orders a participant's events. `partner_id` is the partner holding the participant
-- then: after a reassignment, the new one.
CREATE TABLE webhook_events (
    event_id       text PRIMARY KEY,
    event_key      text NOT NULL UNIQUE,
    participant_id text NOT NULL REFERENCES participants ON DELETE CASCADE,
    partner_id     text NOT NULL,
    type           text NOT NULL CHECK (type IN (
        'participant.assigned', 'phase.changed', 'task.opened', 'nudge.sent', 'trajectory.closed'
    )),
    at             timestamptz NOT NULL,
    body           text NOT NULL,
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per event and webhook that wanted it, delivered in `seq` order per webhook and
-- participant; retried with backoff until delivered or, 24 hours on, `failed_at`.
CREATE TABLE webhook_deliveries (
    webhook_id     text NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    event_id       text NOT NULL REFERENCES webhook_events ON DELETE CASCADE,
    participant_id text NOT NULL,
    seq            bigint NOT NULL,
    due_at         timestamptz NOT NULL DEFAULT now(),
    claimed_until  timestamptz,
    attempts       integer NOT NULL DEFAULT 0,
    delivered_at   timestamptz,
    failed_at      timestamptz,
    last_error     text,
    PRIMARY KEY (webhook_id, event_id)
);

CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (webhook_id, participant_id, seq)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (due_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

-- -- Payload key uses ---------------------------------------------------------------------------

-- AES-GCM encryptions made under each payload key (PARCOURS_CODEC_KEYS), added by every process
-- that encrypts: with random nonces a key is good for 2^32 of them, so the total over its whole
-- life says when it must be rotated (docs/operations.md, "Rotating keys").
CREATE TABLE payload_key_uses (
    key_id           text PRIMARY KEY,
    encryptions      bigint NOT NULL CHECK (encryptions >= 0),
    first_counted_at timestamptz NOT NULL,
    last_counted_at  timestamptz NOT NULL
);

-- -- Retention and erasure ---------------------------------------------------------------------

-- Every erasure request and what became of it. ESF+ records are kept five years from 31 December
-- of the year of the last payment (Regulation (EU) 2021/1060, Art. 82; GDPR Art. 17(3)(b)):
-- within that period a request restricts processing ('restricted': the person is hidden from
-- every view and export but an auditor's, the identity stays sealed) and the erasure runs by
-- itself once the retention end configured then (PARCOURS_RETENTION_UNTIL) has passed. A record
-- outside ESF+ (a test record, an enrolment made in error) is erased at once ('immediate'), the
-- reason kept. No foreign key: the trail outlives the participant's rows.
CREATE TABLE erasure_requests (
    participant_id text PRIMARY KEY,
    requested_at   timestamptz NOT NULL DEFAULT now(),
    kind           text NOT NULL CHECK (kind IN ('restricted', 'immediate')),
    reason         text NOT NULL,
    erased_at      timestamptz
);

CREATE INDEX erasure_requests_waiting_idx ON erasure_requests (requested_at)
    WHERE erased_at IS NULL;

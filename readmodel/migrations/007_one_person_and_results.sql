-- One person, one open trajectory (DESIGN §8.1): a keyed hash (HMAC-SHA256) of each enrolled
-- person's national number, never the number itself. The partial unique index lets only one
-- open trajectory hold a fingerprint, so two enrolments racing under two references cannot both
-- win; closing a trajectory releases it, and erasing the person deletes it.

CREATE TABLE person_fingerprints (
    participant_id text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    fingerprint    bytea NOT NULL,
    open           boolean NOT NULL DEFAULT true
);

CREATE UNIQUE INDEX person_fingerprints_open_idx ON person_fingerprints (fingerprint) WHERE open;

-- The day the person registered with the PES, when the backend gives it: the Youth Guarantee's
-- four months to a first offer count from it (else from enrolment).
ALTER TABLE participants ADD COLUMN pes_registered_on date;

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
-- one; null for a participant without stints (enrolled before this migration).
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

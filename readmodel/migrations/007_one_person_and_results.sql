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

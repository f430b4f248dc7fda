-- Personal data encrypted at rest, one data key per participant, so that one person can be
-- erased by destroying their key (crypto-shredding) while every count of the programme stays.
-- The data key is stored wrapped (AES-256-GCM) under a master key from configuration, named by
-- its key id so master keys can rotate. See starter/personal_data.py.

CREATE TABLE person_keys (
    participant_id text PRIMARY KEY REFERENCES participants ON DELETE CASCADE,
    master_key_id  text,
    wrapped_key    bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    erased_at      timestamptz,
    CHECK ((erased_at IS NULL) = (wrapped_key IS NOT NULL AND master_key_id IS NOT NULL))
);

-- `sealed` holds given and family name, birth date, national number, phone and email, encrypted
-- with the participant's data key. Birth year and sex (from the national number) stay in clear
-- for the ESF+ counts: they identify nobody and survive erasure, like the declared status.
-- The clear columns remain, empty, for rows written before this migration until they are
-- sealed (`seal_clear_persons`); a sealed row may not keep any of them.
ALTER TABLE persons
    ALTER COLUMN given_name DROP NOT NULL,
    ALTER COLUMN family_name DROP NOT NULL,
    ALTER COLUMN birth_date DROP NOT NULL,
    ALTER COLUMN national_number DROP NOT NULL,
    ADD COLUMN sealed bytea,
    ADD COLUMN birth_year smallint,
    ADD COLUMN sex text CHECK (sex IN ('female', 'male')),
    ADD CONSTRAINT persons_sealed_rows_hold_no_clear_data CHECK (
        sealed IS NULL
        OR num_nonnulls(given_name, family_name, birth_date, national_number, phone, email) = 0
    );

UPDATE persons SET birth_year = extract(year FROM birth_date) WHERE birth_date IS NOT NULL;

DROP INDEX persons_national_number_idx;

-- Who read a participant's personal data, when and why. Kept without a foreign key so that the
-- trail outlives the participant's rows; it holds only the opaque participant id.
CREATE TABLE personal_data_reads (
    read_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    participant_id text NOT NULL,
    reader         text NOT NULL,
    purpose        text NOT NULL,
    read_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX personal_data_reads_participant_idx ON personal_data_reads (participant_id, read_at);

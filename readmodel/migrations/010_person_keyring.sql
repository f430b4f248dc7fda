-- Person data keys and national-number fingerprints move under PARCOURS_PERSON_KEYS, a keyring
-- the codec server never holds (infra/person_keys.py). Each row names the keyring it is under:
-- rows from before this migration, and any an older release still writes during a rolling
-- deploy, are under keys derived from PARCOURS_CODEC_KEYS ('codec_keys', the default); this
-- release writes 'person_keys' with the key id. `python -m starter persons rewrap` moves every
-- row under the current person key.

ALTER TABLE person_keys
    ADD COLUMN keyring text NOT NULL DEFAULT 'codec_keys'
        CHECK (keyring IN ('person_keys', 'codec_keys'));

CREATE INDEX person_keys_keyring_idx ON person_keys (keyring, master_key_id)
    WHERE erased_at IS NULL;

ALTER TABLE person_fingerprints
    ADD COLUMN keyring text NOT NULL DEFAULT 'codec_keys'
        CHECK (keyring IN ('person_keys', 'codec_keys')),
    ADD COLUMN key_id text;

-- The PES registry of other support measures holds fingerprints, not national numbers: the
-- intake check looks a person up by their fingerprints under every key. Rows loaded in clear
-- before this migration keep their number until the worker fingerprints them at its start.
ALTER TABLE other_measures
    DROP CONSTRAINT other_measures_pkey,
    ALTER COLUMN national_number DROP NOT NULL,
    ADD COLUMN fingerprint bytea,
    ADD COLUMN key_id text,
    ADD CONSTRAINT other_measures_number_or_fingerprint CHECK (
        (national_number IS NULL) = (fingerprint IS NOT NULL AND key_id IS NOT NULL)
    );

CREATE UNIQUE INDEX other_measures_fingerprint_idx ON other_measures (fingerprint, measure)
    WHERE fingerprint IS NOT NULL;
CREATE UNIQUE INDEX other_measures_clear_idx ON other_measures (national_number, measure)
    WHERE national_number IS NOT NULL;

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

"""Rotating the person keys: every data key re-wrapped, every fingerprint recomputed, under the
current key of `PARCOURS_PERSON_KEYS` (rows from before it, under the payload keys, included),
with the STOPs of their numbers, the SMS sent to them and the webhooks' secrets.

Idempotent and resumable: rows already under the current key are left alone, each batch commits
on its own, and rows another run holds are skipped for the next run. The data keys themselves
do not change, so nothing sealed with them is touched. Once no row is under a retired key, that
key can leave the keyring.
"""

from dataclasses import dataclass

import structlog

from infra.codec import KeyringError, UnknownKeyError
from infra.database import Connection, Pool
from infra.person_keys import PersonKeys
from readmodel.consents import carry_opt_out
from readmodel.outbox import carry_texted
from readmodel.persons import key_context, read_person
from readmodel.webhooks import reseal_secrets, secrets_left
from trajectory.delivery import e164

log = structlog.stdlib.get_logger(__name__)

BATCH = 500

_STALE_KEYS = """
SELECT participant_id, keyring, master_key_id, wrapped_key FROM person_keys
WHERE erased_at IS NULL AND (keyring, master_key_id) IS DISTINCT FROM ('person_keys', $1)
  AND participant_id > $2
ORDER BY participant_id
LIMIT $3
FOR UPDATE SKIP LOCKED
"""

_REWRAP = """
UPDATE person_keys SET keyring = 'person_keys', master_key_id = $2, wrapped_key = $3
WHERE participant_id = $1
"""

_STALE_FINGERPRINTS = """
SELECT participant_id FROM person_fingerprints
WHERE (keyring, key_id) IS DISTINCT FROM ('person_keys', $1) AND participant_id > $2
ORDER BY participant_id
LIMIT $3
FOR UPDATE SKIP LOCKED
"""

_REFINGERPRINT = """
UPDATE person_fingerprints SET fingerprint = $2, keyring = 'person_keys', key_id = $3
WHERE participant_id = $1
"""

_FORGET_FINGERPRINT = "DELETE FROM person_fingerprints WHERE participant_id = $1"

_LEFT = """
SELECT
    (SELECT count(*) FROM person_keys WHERE erased_at IS NULL
        AND (keyring, master_key_id) IS DISTINCT FROM ('person_keys', $1)) AS keys,
    (SELECT count(*) FROM person_fingerprints
        WHERE (keyring, key_id) IS DISTINCT FROM ('person_keys', $1)) AS fingerprints,
    (SELECT count(*) FROM other_measures WHERE key_id IS DISTINCT FROM $1) AS registry
"""


@dataclass(frozen=True)
class Rotation:
    """What one run moved under the current key, and what is still under another."""

    current: str
    rewrapped: int
    fingerprinted: int
    unopened: int
    keys_left: int
    fingerprints_left: int
    registry_left: int
    secrets_resealed: int = 0
    secrets_left: int = 0


async def rotate(pool: Pool, keys: PersonKeys, batch: int = BATCH) -> Rotation:
    """Move every data key and fingerprint under the current person key; say what is left."""
    rewrapped, unopened = await _rewrap_keys(pool, keys, batch)
    fingerprinted = await _refingerprint(pool, keys, batch)
    async with pool.acquire() as con, con.transaction():
        resealed = await reseal_secrets(con, keys)
        unsealed = await secrets_left(con, keys.current)
    left = await pool.fetchrow(_LEFT, keys.current)
    assert left is not None
    rotation = Rotation(
        current=keys.current,
        rewrapped=rewrapped,
        fingerprinted=fingerprinted,
        unopened=unopened,
        keys_left=left["keys"],
        fingerprints_left=left["fingerprints"],
        registry_left=left["registry"],
        secrets_resealed=resealed,
        secrets_left=unsealed,
    )
    log.info("person_keys_rotated", **rotation.__dict__)
    return rotation


async def _rewrap_keys(pool: Pool, keys: PersonKeys, batch: int) -> tuple[int, int]:
    """Re-wrap stale data keys; (re-wrapped, that no configured key opens)."""
    rewrapped = unopened = 0
    after = ""
    while True:
        async with pool.acquire() as con, con.transaction():
            rows = await con.fetch(_STALE_KEYS, keys.current, after, batch)
            for row in rows:
                participant_id: str = row["participant_id"]
                context = key_context(participant_id)
                try:
                    data_key = keys.unwrap(
                        row["keyring"], row["master_key_id"], row["wrapped_key"], context
                    )
                except (UnknownKeyError, KeyringError):
                    unopened += 1
                    continue
                await con.execute(
                    _REWRAP, participant_id, keys.current, keys.wrap(data_key, context)
                )
                rewrapped += 1
        if len(rows) < batch:
            return rewrapped, unopened
        after = rows[-1]["participant_id"]


async def _refingerprint(pool: Pool, keys: PersonKeys, batch: int) -> int:
    """Recompute stale fingerprints from the sealed national numbers; how many."""
    done = 0
    after = ""
    while True:
        async with pool.acquire() as con, con.transaction():
            rows = await con.fetch(_STALE_FINGERPRINTS, keys.current, after, batch)
            for row in rows:
                done += await _refingerprint_one(con, row["participant_id"], keys)
        if len(rows) < batch:
            return done
        after = rows[-1]["participant_id"]


async def _refingerprint_one(con: Connection, participant_id: str, keys: PersonKeys) -> int:
    try:
        person = await read_person(
            con,
            participant_id,
            "operator:persons-rewrap",
            purpose="fingerprint under the current person key",
            keys=keys,
            restricted_too=True,
        )
    except (UnknownKeyError, KeyringError):
        return 0
    if person is None:  # erased: nobody to find any more
        await con.execute(_FORGET_FINGERPRINT, participant_id)
        return 0
    await con.execute(
        _REFINGERPRINT, participant_id, keys.fingerprint(person.national_number), keys.current
    )
    if person.phone is not None:
        number = keys.contact_fingerprints(e164(person.phone))
        await carry_opt_out(con, number, keys.current)
        await carry_texted(con, participant_id, number)
    return 1

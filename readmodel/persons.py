"""Personal data at rest: sealed per participant, read with an audit trail, erased by shredding.

Each person's names, birth date, national number, phone and email are encrypted (AES-256-GCM)
with a data key of their own, stored wrapped under the person keys (`infra.person_keys`); the
free text written about them in the read model is sealed with the same data key
(`readmodel.free_text`). Erasing a person destroys that key and the ciphertext; what stays
(participant id, partner, postcode, birth year, sex, declared status, milestones, trajectory)
identifies nobody and keeps every programme count. Within the ESF+ retention period an erasure
request restricts processing instead (`restrict_person`), and the erasure follows once the
retention ends. `python -m starter erase PARTICIPANT_ID` is the command line
(`starter/erasure.py`).
"""

import secrets
from datetime import date

import structlog
from pydantic import BaseModel, ConfigDict

from infra.codec import KEY_BYTES, seal, unseal
from infra.database import Connection
from infra.person_keys import PersonKeys, default_person_keys
from trajectory.actors import Actor
from trajectory.enrolment import DeclaredStatus, Person
from trajectory.niss import InvalidNiss, parse_niss

log = structlog.stdlib.get_logger(__name__)

_READ = """
SELECT p.participant_id, p.postcode, p.language, s.sealed, s.restricted_at, k.keyring,
       k.master_key_id, k.wrapped_key
FROM participants p
JOIN persons s USING (participant_id)
LEFT JOIN person_keys k USING (participant_id)
WHERE p.participant_id = ANY($1::text[]) AND s.sealed IS NOT NULL
"""

_AUDIT = """
INSERT INTO personal_data_reads (
    participant_id, reader, purpose, actor_role, actor_partner_id, actor_key_id, actor_user_id
)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

_INSERT_KEY = """
INSERT INTO person_keys (participant_id, keyring, master_key_id, wrapped_key)
VALUES ($1, 'person_keys', $2, $3)
"""

_DATA_KEY = """
SELECT keyring, master_key_id, wrapped_key FROM person_keys
WHERE participant_id = $1 AND erased_at IS NULL
"""

_INSERT_PERSON = """
INSERT INTO persons (participant_id, sealed, birth_year, sex, status_employed,
    status_in_education, status_in_training, status_other_measure)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""

_SHRED_KEY = """
INSERT INTO person_keys (participant_id, erased_at) VALUES ($1, now())
ON CONFLICT (participant_id) DO UPDATE
SET master_key_id = NULL, wrapped_key = NULL, erased_at = now()
WHERE person_keys.erased_at IS NULL
RETURNING participant_id
"""

_ERASE_PERSON = "UPDATE persons SET sealed = NULL WHERE participant_id = $1"

_FORGET_FINGERPRINT = "DELETE FROM person_fingerprints WHERE participant_id = $1 AND NOT open"
"""An open trajectory keeps its person's fingerprint until it closes (`readmodel.changes`), so
the same person cannot be enrolled again while it runs."""

_RESTRICT = """
WITH restricted AS (
    UPDATE persons SET restricted_at = now()
    WHERE participant_id = $1 AND restricted_at IS NULL AND sealed IS NOT NULL
    RETURNING participant_id
)
INSERT INTO erasure_requests (participant_id, kind, reason)
SELECT participant_id, 'restricted', $2 FROM restricted
RETURNING participant_id
"""

_ERASED = """
INSERT INTO erasure_requests (participant_id, kind, reason, erased_at)
VALUES ($1, 'immediate', $2, now())
ON CONFLICT (participant_id) DO UPDATE SET erased_at = coalesce(erasure_requests.erased_at, now())
"""

_DUE = """
SELECT r.participant_id FROM erasure_requests r
JOIN persons s USING (participant_id)
WHERE r.kind = 'restricted' AND r.erased_at IS NULL
ORDER BY r.requested_at
"""

_RESTRICTED = """
SELECT restricted_at IS NOT NULL FROM persons WHERE participant_id = $1
"""

_FORGET_NUMBER_TEXTED = "UPDATE outbox SET to_fingerprint = NULL WHERE participant_id = $1"
"""The keyed hash of the number SMS went to (a STOP from it no longer finds the person)."""

_PSEUDONYMISE = """
UPDATE participants SET external_ref = 'erased:' || participant_id WHERE participant_id = $1
"""

_PSEUDONYMISE_MILESTONE_IDS = """
UPDATE milestones SET milestone_id = 'erased:' || recorded WHERE participant_id = $1
"""
"""Partners choose their milestone ids, and some put a name in them."""

_FORGET_SEAT_REQUESTERS = "UPDATE seat_requests SET requested_by = NULL WHERE participant_id = $1"


class PersonalFields(BaseModel):
    """What is sealed: everything that names or reaches the person."""

    model_config = ConfigDict(frozen=True)

    given_name: str
    family_name: str
    birth_date: date
    national_number: str
    phone: str | None
    email: str | None


def _context(kind: str, participant_id: str) -> bytes:
    """Associated data binding a ciphertext to its participant: rows cannot be swapped."""
    return f"parcours/{kind}/{participant_id}".encode()


def key_context(participant_id: str) -> bytes:
    """Associated data of a wrapped data key: it unwraps for its participant only."""
    return _context("person-key", participant_id)


def _sex(national_number: str) -> str | None:
    """The sex the national number records, if it records one; None for an invalid number."""
    try:
        return parse_niss(national_number).sex
    except InvalidNiss:
        return None


async def _seal(
    con: Connection, participant_id: str, fields: PersonalFields, keys: PersonKeys
) -> bytes:
    """Store a new data key for the participant, wrapped; return `fields` sealed with it."""
    data_key = secrets.token_bytes(KEY_BYTES)
    wrapped = keys.wrap(data_key, key_context(participant_id))
    await con.execute(_INSERT_KEY, participant_id, keys.current, wrapped)
    return seal(data_key, fields.model_dump_json().encode(), _context("person", participant_id))


async def data_key(con: Connection, participant_id: str, keys: PersonKeys) -> bytes | None:
    """The participant's data key, unwrapped; None once erased (or never stored)."""
    row = await con.fetchrow(_DATA_KEY, participant_id)
    if row is None:
        return None
    return keys.unwrap(
        row["keyring"], row["master_key_id"], row["wrapped_key"], key_context(participant_id)
    )


async def store_person(
    con: Connection,
    participant_id: str,
    person: Person,
    status: DeclaredStatus,
    *,
    keys: PersonKeys | None = None,
) -> None:
    """Record an enrolled person: personal data sealed, birth year, sex and status in clear."""
    fields = PersonalFields.model_validate(
        person.model_dump(include=set(PersonalFields.model_fields))
    )
    async with con.transaction():
        sealed = await _seal(con, participant_id, fields, default_person_keys(keys))
        await con.execute(
            _INSERT_PERSON,
            participant_id,
            sealed,
            fields.birth_date.year,
            _sex(fields.national_number),
            status.employed,
            status.in_education,
            status.in_training,
            status.other_measure,
        )


async def read_person(
    con: Connection,
    participant_id: str,
    reader: str,
    *,
    purpose: str,
    actor: Actor | None = None,
    keys: PersonKeys | None = None,
    restricted_too: bool = False,
) -> Person | None:
    """The person behind a participant, recorded as read by `reader` for `purpose`.

    `reader` names who reads, as `role:key_id` for an API caller (`partner:jes:key_id` for a
    partner) or `worker:activity` for the engine; `actor` is the caller (None: the engine).
    None when unknown or erased, and when their processing is restricted, unless
    `restricted_too` (an auditor, a key rotation).
    """
    people = await read_people(
        con,
        [participant_id],
        reader,
        purpose=purpose,
        actor=actor,
        keys=keys,
        restricted_too=restricted_too,
    )
    return people.get(participant_id)


async def read_people(
    con: Connection,
    participant_ids: list[str],
    reader: str,
    *,
    purpose: str,
    actor: Actor | None = None,
    keys: PersonKeys | None = None,
    restricted_too: bool = False,
) -> dict[str, Person]:
    """The people behind several participants (a page of a caseload), each recorded as read
    like `read_person`; the unknown, the erased and (unless `restricted_too`) the restricted
    are left out."""
    rows = await con.fetch(_READ, participant_ids)
    person_keys = default_person_keys(keys)
    people: dict[str, Person] = {}
    for row in rows:
        if row["restricted_at"] is not None and not restricted_too:
            continue
        participant_id = row["participant_id"]
        key = person_keys.unwrap(
            row["keyring"], row["master_key_id"], row["wrapped_key"], key_context(participant_id)
        )
        plaintext = unseal(key, row["sealed"], _context("person", participant_id))
        fields = PersonalFields.model_validate_json(plaintext)
        people[participant_id] = Person.model_validate(
            {**fields.model_dump(), "postcode": row["postcode"], "language": row["language"]}
        )
    who = (actor.role, actor.partner_id, actor.key_id, actor.user_id) if actor else (None,) * 4
    if people:
        await con.executemany(
            _AUDIT, [(participant_id, reader, purpose, *who) for participant_id in people]
        )
    return people


async def is_restricted(con: Connection, participant_id: str) -> bool:
    """Whether the person asked to be erased within the retention period: hidden from every
    view and export but an auditor's."""
    restricted: bool | None = await con.fetchval(_RESTRICTED, participant_id)
    return bool(restricted)


async def restrict_person(con: Connection, participant_id: str, reason: str) -> bool:
    """Restrict the processing of a person who asked to be erased while the ESF+ records must
    be kept: nothing is shredded, the identity stays sealed, every view but an auditor's hides
    them, and `erase_when_retention_ends` erases them later. False when unknown, erased or
    restricted before."""
    async with con.transaction():
        restricted = await con.fetchval(_RESTRICT, participant_id, reason)
    if restricted is not None:
        log.info("personal_data_restricted", participant_id=participant_id)
    return restricted is not None


async def restricted_persons(con: Connection) -> list[str]:
    """The participants restricted and not erased yet, oldest request first."""
    return [row["participant_id"] for row in await con.fetch(_DUE)]


ASKED = "the person asked to be erased"


async def erase_person(con: Connection, participant_id: str, reason: str = ASKED) -> bool:
    """Erase a person's personal data for good, recording why; False when unknown or erased
    before.

    The data key, the ciphertext, the national number's fingerprint (once no open trajectory
    holds it) and the hash of the number texted go, and the PES reference and the partners'
    milestone ids are replaced by pseudonyms; the participant, trajectory, milestones and every
    count stay.
    """
    async with con.transaction():
        if (
            await con.fetchval(
                "SELECT 1 FROM persons WHERE participant_id = $1 FOR UPDATE", participant_id
            )
            is None
        ):
            return False
        if await con.fetchval(_SHRED_KEY, participant_id) is None:
            return False
        await con.execute(_ERASE_PERSON, participant_id)
        await con.execute(_FORGET_FINGERPRINT, participant_id)
        await con.execute(_FORGET_NUMBER_TEXTED, participant_id)
        await con.execute(_PSEUDONYMISE, participant_id)
        await con.execute(_PSEUDONYMISE_MILESTONE_IDS, participant_id)
        await con.execute(_FORGET_SEAT_REQUESTERS, participant_id)
        await con.execute(_ERASED, participant_id, reason)
    log.info("personal_data_erased", participant_id=participant_id)
    return True

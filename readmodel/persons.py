"""Personal data at rest: sealed per participant, read with an audit trail, erased by shredding.

Each person's names, birth date, national number, phone and email are encrypted (AES-256-GCM)
with a data key of their own, stored wrapped under the person keys (`infra.person_keys`); the
free text written about them in the read model is sealed with the same data key
(`readmodel.free_text`). Erasing a person destroys that key and the ciphertext; what stays
(participant id, partner, postcode, birth year, sex, declared status, milestones, trajectory)
identifies nobody and keeps every programme count.
`python -m starter erase PARTICIPANT_ID` is the command line (`starter/erasure.py`).
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
SELECT p.participant_id, p.postcode, p.language, s.sealed, k.keyring, k.master_key_id,
       k.wrapped_key
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

_FORGET_FINGERPRINT = "DELETE FROM person_fingerprints WHERE participant_id = $1"

_FORGET_NUMBER_TEXTED = "UPDATE outbox SET to_fingerprint = NULL WHERE participant_id = $1"
"""The keyed hash of the number SMS went to (a STOP from it no longer finds the person)."""

_PSEUDONYMISE = """
UPDATE participants SET external_ref = 'erased:' || participant_id WHERE participant_id = $1
"""


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
) -> Person | None:
    """The person behind a participant, recorded as read by `reader` for `purpose`.

    `reader` names who reads, as `role:key_id` for an API caller (`partner:jes:key_id` for a
    partner) or `worker:activity` for the engine; `actor` is the caller (None: the engine).
    None when unknown or erased.
    """
    people = await read_people(
        con, [participant_id], reader, purpose=purpose, actor=actor, keys=keys
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
) -> dict[str, Person]:
    """The people behind several participants (a page of a caseload), each recorded as read
    like `read_person`; the unknown and the erased are left out."""
    rows = await con.fetch(_READ, participant_ids)
    person_keys = default_person_keys(keys)
    people: dict[str, Person] = {}
    for row in rows:
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


async def erase_person(con: Connection, participant_id: str) -> bool:
    """Erase a person's personal data for good; False when unknown or erased before.

    The data key, the ciphertext, the national number's fingerprint and the hash of the number
    texted go, and the PES reference is replaced by a pseudonym; the participant, trajectory,
    milestones and every count stay.
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
    log.info("personal_data_erased", participant_id=participant_id)
    return True

"""Who is enrolled: one row per PES reference, one open trajectory per person, and the ESF+
situation at entry."""

import uuid
from typing import Any

from infra.database import Connection
from infra.person_keys import PersonKeys, default_person_keys
from readmodel.webhooks import queue_events
from trajectory.enrolment import DeclaredStatus, Enrolment, EntryProfile
from trajectory.events import enrolled

_INSERT_PARTICIPANT = """
INSERT INTO participants (
    participant_id, external_ref, partner_id, postcode, language, enrolled_at, pes_registered_on
)
VALUES ($1, $2, $3, $4, $5, now(), $6)
ON CONFLICT (external_ref) DO NOTHING
RETURNING participant_id, enrolled_at
"""

_FIRST_STINT = """
INSERT INTO partner_stints (participant_id, partner_id, since)
SELECT participant_id, partner_id, enrolled_at FROM participants WHERE participant_id = $1
"""

_OPEN_HOLDER = """
SELECT participant_id FROM person_fingerprints
WHERE open AND fingerprint = ANY($1::bytea[]) AND participant_id <> $2
LIMIT 1
"""

_CLAIM_FINGERPRINT = """
INSERT INTO person_fingerprints (participant_id, fingerprint, keyring, key_id)
VALUES ($1, $2, 'person_keys', $3)
ON CONFLICT (fingerprint) WHERE open DO NOTHING
RETURNING participant_id
"""


_INSERT_ENTRY_PROFILE = """
INSERT INTO entry_profiles (participant_id, age_at_entry, labour_status, education_level, gender,
    disability, third_country_national, foreign_background, minority, homeless)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (participant_id) DO NOTHING
"""


async def add_participant(con: Connection, enrolment: Enrolment) -> tuple[str, bool]:
    """The participant id of `external_ref`, and whether this call created it (then the
    partner's webhooks hear `participant.assigned`)."""
    created = await con.fetchrow(
        _INSERT_PARTICIPANT,
        f"p-{uuid.uuid4().hex[:20]}",
        enrolment.external_ref,
        enrolment.partner_id,
        enrolment.person.postcode,
        enrolment.person.language,
        enrolment.pes_registered_on,
    )
    if created is not None:
        participant_id: str = created["participant_id"]
        await con.execute(_FIRST_STINT, participant_id)
        await queue_events(
            con, [enrolled(participant_id, enrolment.partner_id, created["enrolled_at"])]
        )
        return participant_id, True
    existing: str = await con.fetchval(
        "SELECT participant_id FROM participants WHERE external_ref = $1", enrolment.external_ref
    )
    return existing, False


async def claim_person(
    con: Connection, participant_id: str, national_number: str, keys: PersonKeys | None = None
) -> str | None:
    """Hold the person for `participant_id`; the participant id that holds them open, if another.

    The person is found by the number's keyed hashes under every key (`infra.person_keys`) and
    held under the current one. The unique index decides between concurrent enrolments: the
    later one waits for the earlier to commit, then finds it.
    """
    keys = default_person_keys(keys)
    found = keys.fingerprints(national_number)
    holder: str | None = await con.fetchval(_OPEN_HOLDER, found, participant_id)
    if holder is not None:
        return holder
    claimed = await con.fetchval(_CLAIM_FINGERPRINT, participant_id, found[0], keys.current)
    if claimed is not None:
        return None
    other: str = await con.fetchval(_OPEN_HOLDER, found, participant_id)
    return other


async def store_entry_profile(
    con: Connection, participant_id: str, age: int, profile: EntryProfile
) -> None:
    """Keep the ESF+ situation at entry, with the age on the enrolment date."""
    await con.execute(
        _INSERT_ENTRY_PROFILE,
        participant_id,
        age,
        profile.labour_status,
        profile.education_level,
        profile.gender,
        profile.disability,
        profile.third_country_national,
        profile.foreign_background,
        profile.minority,
        profile.homeless,
    )


_AS_ENROLLED = """
SELECT p.partner_id, p.pes_registered_on, s.status_employed, s.status_in_education,
       s.status_in_training, s.status_other_measure, e.labour_status, e.education_level, e.gender,
       e.disability, e.third_country_national, e.foreign_background, e.minority, e.homeless,
       e.participant_id IS NOT NULL AS has_entry_profile
FROM participants p
JOIN persons s USING (participant_id)
LEFT JOIN entry_profiles e USING (participant_id)
WHERE p.participant_id = $1
"""


async def as_enrolled(con: Connection, participant_id: str) -> dict[str, Any] | None:
    """What the first enrolment recorded in clear: partner, PES registration, declared status
    and entry profile (`Enrolment`'s shape, without the person); None when unknown."""
    row = await con.fetchrow(_AS_ENROLLED, participant_id)
    if row is None:
        return None
    profile = None
    if row["has_entry_profile"]:
        profile = {name: row[name] for name in EntryProfile.model_fields}
    return {
        "partner_id": row["partner_id"],
        "pes_registered_on": row["pes_registered_on"],
        "status": {name: row[f"status_{name}"] for name in DeclaredStatus.model_fields},
        "entry_profile": profile,
    }

"""A person's data at rest: sealed, read only with a trace, erased on request, counts intact."""

import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest
from cryptography.exceptions import InvalidTag

from infra.codec import Keyring, KeyringError, configured_keyring
from infra.database import Pool
from infra.person_keys import PersonKeys
from infra.settings import get_settings
from readmodel.persons import erase_person, read_person, store_person
from tests.people import enrolment
from trajectory.enrolment import Enrolment

CASE_MANAGER = "case_manager:3f2a9c01b2de"


async def _enrol(pool: Pool, request: Enrolment, *, keys: PersonKeys | None = None) -> str:
    """Record a participant as enrolment does, with the person's data sealed."""
    participant_id = f"p-{uuid.uuid4().hex[:20]}"
    async with pool.acquire() as con, con.transaction():
        await con.execute(
            "INSERT INTO participants"
            " (participant_id, external_ref, partner_id, postcode, language, enrolled_at)"
            " VALUES ($1, $2, $3, $4, $5, now())",
            participant_id,
            request.external_ref,
            request.partner_id,
            request.person.postcode,
            request.person.language,
        )
        await store_person(con, participant_id, request.person, request.status, keys=keys)
    return participant_id


async def _in_coaching_with_a_milestone(pool: Pool, participant_id: str) -> None:
    now = datetime.now(UTC)
    await pool.execute(
        "INSERT INTO trajectories (participant_id, workflow_id, partner_id, phase, status,"
        " nudge_level, milestone_count, last_contact_at, enrolled_at, revision)"
        " VALUES ($1, $2, 'jes', 'coaching', 'active', 0, 1, $3, $3, 3)",
        participant_id,
        f"trajectory-{participant_id}",
        now,
    )
    await pool.execute(
        "INSERT INTO milestones (participant_id, milestone_id, type, occurred_at, recorded_by,"
        " phase, fingerprint) VALUES ($1, 'm-1', 'coach_assigned', $2, 'partner', 'coaching', '')",
        participant_id,
        now,
    )


def _registered_sex(national_number: str) -> str:
    """The register's rule: an odd counter for men, an even one for women."""
    return "male" if int(national_number[6:9]) % 2 else "female"


def _secrets(request: Enrolment) -> list[str]:
    person = request.person
    return [
        person.given_name,
        person.family_name,
        person.national_number,
        person.birth_date.isoformat(),
        str(person.phone),
        str(person.email),
    ]


_KEY_AND_REFERENCE = {"keyring", "master_key_id", "wrapped_key", "erased_at", "external_ref"}
"""The columns `_stored` adds to the `persons` row."""
_DECLARED = {"status_employed", "status_in_education", "status_in_training", "status_other_measure"}


async def _stored(pool: Pool, participant_id: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT s.*, k.keyring, k.master_key_id, k.wrapped_key, k.erased_at, p.external_ref"
        " FROM persons s JOIN participants p USING (participant_id)"
        " LEFT JOIN person_keys k USING (participant_id) WHERE participant_id = $1",
        participant_id,
    )
    assert row is not None
    return row


async def _reads(pool: Pool, participant_id: str) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT reader, purpose FROM personal_data_reads WHERE participant_id = $1"
        " ORDER BY read_id",
        participant_id,
    )
    return [(row["reader"], row["purpose"]) for row in rows]


async def test_an_enrolled_person_is_stored_sealed_with_only_birth_year_and_sex_in_clear(
    pool: Pool,
) -> None:
    request = enrolment("jes", born=date(2004, 5, 17))
    participant_id = await _enrol(pool, request)

    row = await _stored(pool, participant_id)

    clear = set(dict(row)) - _KEY_AND_REFERENCE
    assert clear == {"participant_id", "sealed", "birth_year", "sex", "restricted_at", *_DECLARED}
    assert row["restricted_at"] is None  # set when an erasure is asked within the retention
    assert all(secret.encode() not in row["sealed"] for secret in _secrets(request))
    assert (row["birth_year"], row["sex"]) == (
        2004,
        _registered_sex(request.person.national_number),
    )
    assert (row["status_employed"], row["status_in_education"]) == (False, False)
    assert row["wrapped_key"] is not None and row["erased_at"] is None


async def test_a_case_manager_reading_a_file_leaves_a_trace(pool: Pool) -> None:
    request = enrolment("inbrussel")
    participant_id = await _enrol(pool, request)

    async with pool.acquire() as con:
        person = await read_person(con, participant_id, CASE_MANAGER, purpose="participant file")

    assert person == request.person
    assert await _reads(pool, participant_id) == [(CASE_MANAGER, "participant file")]
    read_at = await pool.fetchval(
        "SELECT read_at FROM personal_data_reads WHERE participant_id = $1", participant_id
    )
    assert (datetime.now(UTC) - read_at).total_seconds() < 60


async def test_reading_an_unknown_participant_finds_nothing_and_records_nothing(
    pool: Pool,
) -> None:
    async with pool.acquire() as con:
        assert await read_person(con, "p-unknown", CASE_MANAGER, purpose="file") is None
    assert await _reads(pool, "p-unknown") == []


async def test_rows_cannot_be_swapped_between_participants(pool: Pool) -> None:
    first = await _enrol(pool, enrolment("jes"))
    second = await _enrol(pool, enrolment("jes"))
    await pool.execute(
        "UPDATE persons SET sealed = (SELECT sealed FROM persons WHERE participant_id = $2)"
        " WHERE participant_id = $1",
        first,
        second,
    )

    async with pool.acquire() as con:
        with pytest.raises(InvalidTag):
            await read_person(con, first, CASE_MANAGER, purpose="file")


async def test_after_a_master_key_rotation_earlier_persons_still_read(pool: Pool) -> None:
    before = Keyring.generate("2026-01")
    request = enrolment("orientaeuro")
    participant_id = await _enrol(pool, request, keys=PersonKeys.of(before))
    rotated = Keyring(current="2026-07", keys={**Keyring.generate("2026-07").keys, **before.keys})

    async with pool.acquire() as con:
        person = await read_person(
            con, participant_id, CASE_MANAGER, purpose="file", keys=PersonKeys.of(rotated)
        )

    assert person == request.person
    assert (await _stored(pool, participant_id))["master_key_id"] == "2026-01"


async def test_a_person_wrapped_under_the_payload_keys_before_person_keys_still_reads(
    pool: Pool,
) -> None:
    codec = Keyring.generate("codec-2025")
    request = enrolment("jes")
    # What releases before PARCOURS_PERSON_KEYS did: the same wrapping, from the payload keys.
    participant_id = await _enrol(pool, request, keys=PersonKeys.of(codec))
    await pool.execute(
        "UPDATE person_keys SET keyring = 'codec_keys' WHERE participant_id = $1", participant_id
    )
    person_keys = Keyring.generate("persons-2026")

    async with pool.acquire() as con:
        with pytest.raises(KeyringError, match="PARCOURS_CODEC_KEYS"):
            await read_person(
                con, participant_id, CASE_MANAGER, purpose="file", keys=PersonKeys.of(person_keys)
            )
        other_codec = PersonKeys.of(person_keys, Keyring.generate("codec-2025"))
        with pytest.raises(InvalidTag):
            await read_person(con, participant_id, CASE_MANAGER, purpose="file", keys=other_codec)
        person = await read_person(
            con,
            participant_id,
            CASE_MANAGER,
            purpose="file",
            keys=PersonKeys.of(person_keys, codec),
        )

    assert person == request.person


async def test_the_payload_keys_of_the_codec_server_cannot_unwrap_a_persons_data_key(
    pool: Pool,
) -> None:
    request = enrolment("jes")
    participant_id = await _enrol(pool, request)
    row = await _stored(pool, participant_id)
    codec = configured_keyring(get_settings())
    # Whatever the key id, the codec server's key material is not what wrapped the data key.
    as_codec_server = Keyring(
        current=row["master_key_id"], keys={row["master_key_id"]: codec.key(codec.current)}
    )

    assert row["keyring"] == "person_keys"
    async with pool.acquire() as con:
        with pytest.raises(InvalidTag):
            await read_person(
                con,
                participant_id,
                CASE_MANAGER,
                purpose="file",
                keys=PersonKeys.of(as_codec_server),
            )
        assert await read_person(con, participant_id, CASE_MANAGER, purpose="file") == (
            request.person
        )


async def test_an_erased_person_is_unreadable_while_the_programme_counts_stay(pool: Pool) -> None:
    request = enrolment("jes", born=date(2003, 2, 1))
    erased = await _enrol(pool, request)
    neighbour_request = enrolment("jes")
    neighbour = await _enrol(pool, neighbour_request)
    for participant_id in (erased, neighbour):
        await _in_coaching_with_a_milestone(pool, participant_id)
    counts_query = (
        "SELECT (SELECT count(*) FROM participants WHERE participant_id = ANY($1)),"
        " (SELECT count(*) FROM persons WHERE participant_id = ANY($1)),"
        " (SELECT count(*) FROM trajectories WHERE participant_id = ANY($1)"
        "  AND phase = 'coaching'),"
        " (SELECT count(*) FROM milestones WHERE participant_id = ANY($1)),"
        " (SELECT count(*) FROM persons WHERE participant_id = ANY($1) AND birth_year = 2003)"
    )
    counts_before = await pool.fetchrow(counts_query, [erased, neighbour])

    async with pool.acquire() as con:
        assert await erase_person(con, erased) is True
        assert await read_person(con, erased, CASE_MANAGER, purpose="file") is None
        assert await read_person(con, neighbour, CASE_MANAGER, purpose="file") == (
            neighbour_request.person
        )

    row = await _stored(pool, erased)
    assert row["sealed"] is None
    assert (row["wrapped_key"], row["master_key_id"]) == (None, None)
    assert row["erased_at"] is not None
    assert row["external_ref"] == f"erased:{erased}"
    assert row["birth_year"] == 2003
    dump = str(dict(row))
    assert [secret for secret in _secrets(request) if secret in dump] == []
    assert await pool.fetchrow(counts_query, [erased, neighbour]) == counts_before


async def test_erasing_twice_or_an_unknown_participant_erases_nothing(pool: Pool) -> None:
    participant_id = await _enrol(pool, enrolment("backstage"))

    async with pool.acquire() as con:
        assert await erase_person(con, participant_id) is True
        erased_at = (await _stored(pool, participant_id))["erased_at"]
        assert await erase_person(con, participant_id) is False
        assert await erase_person(con, "p-unknown") is False

    assert (await _stored(pool, participant_id))["erased_at"] == erased_at

"""Rotating the person keys: `python -m starter persons rewrap` moves every data key and
fingerprint under the current key, so retired keys (and the payload keys) can go."""

import asyncio
import base64
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from infra.codec import Keyring, UnknownKeyError
from infra.database import Pool, open_pool
from infra.person_keys import PersonKeys
from infra.settings import Settings
from infra.signing import new_secret
from readmodel import migrate
from readmodel.consents import stop_number
from readmodel.enrolment import claim_person
from readmodel.persons import erase_person, read_person, store_person
from readmodel.reach import Reach, reach
from readmodel.webhooks import claim_deliveries, create_webhook, queue_events
from tests.people import enrolment
from trajectory.actors import Actor, Role
from trajectory.enrolment import Enrolment
from trajectory.events import EVENT_TYPES, enrolled

CODEC = Keyring.generate("codec-2025")
FIRST = Keyring.generate("persons-2026-01")
SECOND = Keyring.generate("persons-2026-07")
ROTATED = Keyring(current=SECOND.current, keys={**SECOND.keys, **FIRST.keys})
"""The second key put first, the first kept to open what it wrapped."""


def spec(keyring: Keyring) -> str:
    return ",".join(
        f"{key_id}:{base64.b64encode(keyring.key(key_id)).decode()}"
        for key_id in [keyring.current, *(k for k in keyring.keys if k != keyring.current)]
    )


@pytest.fixture
async def fresh(database_url: str) -> AsyncIterator[tuple[str, Pool]]:
    """A migrated database of its own: a rotation touches every row."""
    name = f"rotate_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
    pool = await open_pool(Settings(database_url=url))
    try:
        await migrate(pool)
        yield url, pool
    finally:
        await pool.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def _enrolled(pool: Pool, request: Enrolment, keys: PersonKeys, keyring: str) -> str:
    """A person stored under `keys`, their row saying it is under `keyring`."""
    participant_id = f"p-{uuid.uuid4().hex[:20]}"
    async with pool.acquire() as con, con.transaction():
        await con.execute(
            "INSERT INTO participants"
            " (participant_id, external_ref, partner_id, postcode, language, enrolled_at)"
            " VALUES ($1, $2, 'jes', '1080', 'fr', now())",
            participant_id,
            request.external_ref,
        )
        await store_person(con, participant_id, request.person, request.status, keys=keys)
        assert await claim_person(con, participant_id, request.person.national_number, keys) is None
        await con.execute(
            "UPDATE person_keys SET keyring = $2 WHERE participant_id = $1",
            participant_id,
            keyring,
        )
        await con.execute(
            "UPDATE person_fingerprints SET keyring = $2,"
            " key_id = CASE WHEN $2 = 'codec_keys' THEN NULL ELSE key_id END"
            " WHERE participant_id = $1",
            participant_id,
            keyring,
        )
    return participant_id


async def rewrap(url: str, keyring: Keyring, *args: str) -> tuple[int, str]:
    """`python -m starter persons rewrap` with these person keys, as an operator runs it."""
    env = {
        **os.environ,
        "PARCOURS_ENV": "production",
        "DATABASE_URL": url,
        "PARCOURS_CODEC_KEYS": spec(CODEC),
        "PARCOURS_PERSON_KEYS": spec(keyring),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "starter",
        "persons",
        "rewrap",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_a_rotation_moves_every_person_under_the_new_key_and_the_old_ones_can_go(
    fresh: tuple[str, Pool],
) -> None:
    url, pool = fresh
    before_person_keys = enrolment("jes")
    legacy = await _enrolled(pool, before_person_keys, PersonKeys.of(CODEC), "codec_keys")
    first_request = enrolment("jes")
    first = await _enrolled(pool, first_request, PersonKeys.of(FIRST, CODEC), "person_keys")
    erased = await _enrolled(pool, enrolment("jes"), PersonKeys.of(FIRST, CODEC), "person_keys")
    async with pool.acquire() as con:
        assert await erase_person(con, erased)

    code, out = await rewrap(url, ROTATED, "--batch", "1")

    assert code == 0, out
    assert f"current person key: {SECOND.current}" in out
    assert "data keys re-wrapped: 2" in out
    assert "fingerprints recomputed: 2" in out
    assert "still under another key: 0 data keys, 0 fingerprints" in out
    stored = await pool.fetch(
        "SELECT keyring, master_key_id FROM person_keys WHERE erased_at IS NULL"
    )
    assert {(row["keyring"], row["master_key_id"]) for row in stored} == {
        ("person_keys", SECOND.current)
    }
    only_the_new_key = PersonKeys.of(SECOND)
    async with pool.acquire() as con:
        for participant_id, request in ((legacy, before_person_keys), (first, first_request)):
            person = await read_person(
                con, participant_id, "test", purpose="rotation", keys=only_the_new_key
            )
            assert person == request.person
            # The same person enrolled again is still found, by the new key's fingerprint alone.
            number = request.person.national_number
            assert await claim_person(con, "p-again", number, only_the_new_key) == participant_id
        with pytest.raises(UnknownKeyError):
            await read_person(con, first, "test", purpose="rotation", keys=PersonKeys.of(FIRST))

    again, out = await rewrap(url, ROTATED)
    assert again == 0
    assert "data keys re-wrapped: 0" in out and "fingerprints recomputed: 0" in out


async def test_a_key_retired_too_early_is_named_and_nothing_is_lost(
    fresh: tuple[str, Pool],
) -> None:
    url, pool = fresh
    request = enrolment("jes")
    participant_id = await _enrolled(pool, request, PersonKeys.of(FIRST, CODEC), "person_keys")

    code, out = await rewrap(url, SECOND)

    assert code == 1
    assert "1 data keys open under no configured key" in out
    async with pool.acquire() as con:
        person = await read_person(
            con, participant_id, "test", purpose="rotation", keys=PersonKeys.of(FIRST)
        )
    assert person == request.person


async def test_a_rotation_keeps_a_stop_and_the_webhooks_secrets_once_the_old_key_is_gone(
    fresh: tuple[str, Pool],
) -> None:
    url, pool = fresh
    first = PersonKeys.of(FIRST, CODEC)
    request = enrolment("jes", phone="0470 55 50 99")
    participant_id = await _enrolled(pool, request, first, "person_keys")
    secret = new_secret()
    partner = Actor(role=Role.PARTNER, partner_id="jes", key_id="pk_test")
    await create_webhook(
        pool, partner, "https://hooks.jes.example/parcours", EVENT_TYPES, secret, first
    )
    async with pool.acquire() as con:
        await stop_number(con, first.contact_fingerprints("+32470555099"), FIRST.current)

    code, out = await rewrap(url, ROTATED)

    assert code == 0, out
    assert "webhook secrets re-sealed: 1" in out
    assert "still under another key: 0 data keys, 0 fingerprints, 0 webhook secrets" in out
    only_the_new_key = PersonKeys.of(SECOND)
    async with pool.acquire() as con:
        found = await reach(
            con, participant_id, "sms", only_the_new_key, reader="test", purpose="rotation"
        )
        assert found == Reach(why="number_opted_out"), "an SMS would go to a number that said STOP"
        await queue_events(con, [enrolled(participant_id, "jes", datetime.now(UTC))])
        [delivery] = await claim_deliveries(con, 10, timedelta(seconds=60), only_the_new_key)
    assert delivery.secret == secret


async def test_a_stop_from_a_number_texted_before_the_rotation_still_refuses_that_persons_sms(
    fresh: tuple[str, Pool],
) -> None:
    url, pool = fresh
    first = PersonKeys.of(FIRST, CODEC)
    participant_id = await _enrolled(
        pool, enrolment("jes", phone="0470 55 50 98"), first, "person_keys"
    )
    async with pool.acquire() as con:  # a nudge's SMS went to their number under the first key
        await con.execute(
            "INSERT INTO nudges (participant_id, seq, level, action, channel, language, phase,"
            " partner_id, silent_since) VALUES ($1, 1, 1, 'message', 'sms', 'fr', 'intake',"
            " 'jes', now())",
            participant_id,
        )
        await con.execute(
            "INSERT INTO outbox (participant_id, nudge_seq, message_id, partner_id, channel,"
            " language, subject, body, sent_at, to_fingerprint)"
            " VALUES ($1, 1, $2, 'jes', 'sms', 'fr', '', 'Bonjour', now(), $3)",
            participant_id,
            f"msg-{uuid.uuid4().hex}",
            first.contact_fingerprints("+32470555098")[0],
        )

    code, out = await rewrap(url, ROTATED)

    assert code == 0, out
    only_the_new_key = PersonKeys.of(SECOND)
    async with pool.acquire() as con:
        stopped = await stop_number(
            con, only_the_new_key.contact_fingerprints("+32470555098"), SECOND.current
        )
    assert stopped == [participant_id]

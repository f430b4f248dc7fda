"""A sender killed in the middle of delivering loses nothing: another delivers what it held,
and a message sent twice is sent with the same idempotency key, which the gateway drops."""

import asyncio
import os
import signal
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from standardwebhooks.webhooks import Webhook
from temporalio.testing import ActivityEnvironment

from activities import channels as way
from activities.channels import GatewayChannel, Unconfigured
from activities.notifications import OutboxSender
from activities.trajectory import TrajectoryActivities
from infra.database import Pool
from infra.person_keys import default_person_keys
from infra.signing import new_secret
from tests.conftest import Enrol
from tests.outbox_process import AFTERNOON
from tests.sinks import http_sink
from tests.test_outbox_sender import rung
from trajectory.programme import Channel

SECRET = new_secret()
PEOPLE = 6
NUMBERS = "+3247099000"


@asynccontextmanager
async def only_these_due(pool: Pool, people: list[str]) -> AsyncIterator[None]:
    """Other tests' unsent messages held back meanwhile: the killed sender must have had some of
    these people's in flight, not only earlier tests' left in the shared outbox."""
    others = await pool.fetch(
        "UPDATE outbox SET claimed_until = now() + interval '1 hour'"
        " WHERE sent_at IS NULL AND failed_at IS NULL AND NOT participant_id = ANY($1)"
        " RETURNING message_id",
        people,
    )
    try:
        yield
    finally:
        await pool.execute(
            "UPDATE outbox SET claimed_until = NULL WHERE message_id = ANY($1)",
            [row["message_id"] for row in others],
        )


async def test_a_sender_killed_mid_delivery_loses_nothing_and_repeats_only_with_the_same_key(
    enrol: Enrol, pool: Pool, database_url: str
) -> None:
    people = [await enrol(partner_id="jes", phone=f"{NUMBERS}{index}") for index in range(PEOPLE)]
    for participant_id in people:
        await ActivityEnvironment().run(
            TrajectoryActivities(pool).send_nudge,
            rung(participant_id, 1, Channel.SMS, partner_id="jes"),
        )
    queued = {
        row["participant_id"]: row["message_id"]
        for row in await pool.fetch(
            "SELECT participant_id, message_id FROM outbox WHERE participant_id = ANY($1)", people
        )
    }
    held = asyncio.Event()
    async with only_these_due(pool, people), http_sink(hold=held) as gateway:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.outbox_process",
            gateway.url("/sms"),
            SECRET,
            env={**os.environ, "DATABASE_URL": database_url, "PARCOURS_ENV": "development"},
        )
        try:
            await asyncio.wait_for(gateway.arrived.wait(), 60)
            await asyncio.sleep(0.5)  # more of its messages on their way
        finally:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        in_flight = len(gateway.received)
        assert in_flight >= 1
        gateway.hold = None
        held.set()

        # The killed sender's lease runs out; another sender takes what it held.
        await pool.execute(
            "UPDATE outbox SET claimed_until = now() - interval '1 second'"
            " WHERE participant_id = ANY($1) AND sent_at IS NULL",
            people,
        )
        async with httpx.AsyncClient() as http:
            texts = GatewayChannel(gateway.url("/sms"), SECRET, http)
            channels: dict[str, way.Channel] = {
                "sms": texts,
                "whatsapp": texts,
                "email": Unconfigured(),
            }
            keys = default_person_keys(None)
            sender = OutboxSender(pool, channels, keys, clock=lambda: AFTERNOON)
            unsent = len(people)
            for _ in range(20):
                await sender.drain()
                unsent = await pool.fetchval(
                    "SELECT count(*) FROM outbox WHERE participant_id = ANY($1)"
                    " AND sent_at IS NULL",
                    people,
                )
                if not unsent:
                    break

    assert unsent == 0, "a message was lost"
    keys_by_number: dict[str, set[str]] = defaultdict(set)
    for request in gateway.received:
        body = Webhook(SECRET).verify(request.body, request.headers)
        assert request.headers["idempotency-key"] == body["message_id"]
        keys_by_number[body["to"]].add(body["message_id"])
    mine = {
        number: ids for number, ids in keys_by_number.items() if number.startswith("+3247099000")
    }
    assert len(mine) == PEOPLE, "someone got nothing"
    assert {number: ids for number, ids in mine.items() if len(ids) > 1} == {}
    assert {next(iter(ids)) for ids in mine.values()} == set(queued.values())
    repeats = (
        sum(
            1
            for request in gateway.received
            if Webhook(SECRET).verify(request.body, request.headers)["to"] in mine
        )
        - PEOPLE
    )
    assert repeats >= 1, "nothing was in flight when the sender died"

"""PostgreSQL shutting down or starting up is PostgreSQL away, not a crash: the API serves
partners with the keys it knows, and the worker's outbox sender waits for it to come back.

Found by the fault suite (tests/faults): during `pg_ctl stop` and start, connections are
refused with "the database system is shutting down" / "is starting up", which asyncpg raises
as `CannotConnectNowError`; the worker process exited on it and partners got 500s.
"""

import asyncio
from typing import Any, cast

import asyncpg
import pytest

from activities.channels import Unconfigured
from activities.notifications import OutboxSender
from api.auth import KeyCache
from infra.database import Pool
from infra.person_keys import default_person_keys
from readmodel.api_keys import create_key
from tests.test_outbox_sender import AFTERNOON
from trajectory.actors import Role


class Restarting:
    """The session's pool until `message` is set, then PostgreSQL refusing every connection."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self.message: str | None = None
        self.refused = asyncio.Event()

    def acquire(self, **options: Any) -> Any:
        if self.message is not None:
            self.refused.set()
            raise asyncpg.CannotConnectNowError(self.message)
        return self._pool.acquire(**options)


@pytest.mark.parametrize(
    "message", ["the database system is shutting down", "the database system is starting up"]
)
async def test_a_partner_key_serves_while_postgresql_restarts(pool: Pool, message: str) -> None:
    issued = await create_key(pool, Role.PARTNER, "jes")
    restarting = Restarting(pool)
    clock = [1000.0]
    cache = KeyCache(cast(Pool, restarting), ttl=30, clock=lambda: clock[0])
    caller = await cache.caller(issued.key)
    assert caller is not None

    restarting.message = message
    clock[0] += 31  # the cache reads the key again, and PostgreSQL refuses
    assert await cache.caller(issued.key) == caller
    assert restarting.refused.is_set()


async def test_the_outbox_sender_waits_while_postgresql_restarts(pool: Pool) -> None:
    restarting = Restarting(pool)
    restarting.message = "the database system is shutting down"
    stop = asyncio.Event()
    channels = {"sms": Unconfigured(), "email": Unconfigured(), "whatsapp": Unconfigured()}
    sender = OutboxSender(
        cast(Pool, restarting), channels, default_person_keys(None), clock=lambda: AFTERNOON
    )
    running = asyncio.create_task(sender.run(stop))
    await restarting.refused.wait()
    assert not running.done(), "the sender (and with it the worker) stopped"
    stop.set()
    await running

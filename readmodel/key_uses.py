"""How many times each payload key has encrypted, over its whole life and every process.

AES-GCM under random nonces is safe for `ENCRYPTION_BUDGET` (2^32) encryptions per key. Each
process counts its own (`infra.codec.ENCRYPTIONS`); the worker, the API and the codec server add
them here every `EVERY` seconds and when they stop. PostgreSQL, not Prometheus, holds the total:
a process's counter restarts with it and Prometheus keeps samples only for its retention, while
the budget runs over a key's whole life across every replica. What a process killed outright
counted since its last addition is lost (a minute's worth at most). The API shows the totals on
`/metrics` (`parcours_payload_key_encryptions`), for the alert that says when to rotate.
"""

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog

from infra.codec import ENCRYPTIONS, Encryptions
from infra.database import DATABASE_DOWN, Connection, Pool

log = structlog.stdlib.get_logger(__name__)

EVERY = 60.0
"""Seconds between two additions of a process's count."""
_NOT_STORED: tuple[type[Exception], ...] = (*DATABASE_DOWN, asyncpg.PostgresError)

_ADD = """
INSERT INTO payload_key_uses AS used (key_id, encryptions, first_counted_at, last_counted_at)
VALUES ($1, $2, now(), now())
ON CONFLICT (key_id) DO UPDATE
SET encryptions = used.encryptions + EXCLUDED.encryptions, last_counted_at = now()
"""
_EVERY_KEY = "SELECT key_id, encryptions, first_counted_at FROM payload_key_uses ORDER BY key_id"


@dataclass(frozen=True)
class KeyUse:
    """A payload key's encryptions so far, and when the first were counted."""

    key_id: str
    encryptions: int
    first_counted_at: datetime


async def add_key_uses(pool: Pool, encryptions: Encryptions = ENCRYPTIONS) -> int:
    """Add the process's count to PostgreSQL; how many were added. A count PostgreSQL does not
    take is kept for the next time."""
    counts = encryptions.take()
    if not counts:
        return 0
    try:
        async with pool.acquire() as con, con.transaction():
            await con.executemany(_ADD, sorted(counts.items()))
    except _NOT_STORED as error:
        encryptions.give_back(counts)
        log.warning("payload_key_uses_not_stored", error=type(error).__name__)
        return 0
    return sum(counts.values())


async def key_uses(con: Connection, timeout: float) -> list[KeyUse]:
    """Every payload key's encryptions so far."""
    rows = await con.fetch(_EVERY_KEY, timeout=timeout)
    return [KeyUse(row["key_id"], row["encryptions"], row["first_counted_at"]) for row in rows]


async def keep_adding_key_uses(
    pool: Pool, stop: asyncio.Event, every: float = EVERY, encryptions: Encryptions = ENCRYPTIONS
) -> None:
    """Add the process's count every `every` seconds until `stop` is set, then once more."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        await add_key_uses(pool, encryptions)

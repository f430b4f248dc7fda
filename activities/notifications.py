"""Delivering nudge messages: the channel port, the development channel, and the outbox sender.

The ladder's activity only queues a message in its transaction; the sender delivers it after
the commit, so a failed commit never sends anything. Delivery is at least once: a sender that
stops between delivering and marking delivers again with the same idempotency key, which a
real SMS or e-mail provider uses to drop the repeat.
"""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from infra.database import DATABASE_DOWN, Pool
from readmodel.outbox import OutboxMessage, claim_messages, mark_sent
from trajectory.daytime import next_daytime

log = structlog.stdlib.get_logger(__name__)

LEASE = timedelta(seconds=60)
"""How long a claimed message waits for its sender before another may take it."""
BATCH = 50
POLL_SECONDS = 1.0


class Channel(Protocol):
    """Delivers one message on the participant's channel (SMS, e-mail, WhatsApp...)."""

    async def deliver(self, message: OutboxMessage) -> None: ...


class LoggedChannel:
    """The development channel: nothing leaves the machine; a log line says what would have."""

    async def deliver(self, message: OutboxMessage) -> None:
        log.info(
            "nudge_delivered",
            participant_id=message.participant_id,
            nudge_seq=message.nudge_seq,
            channel=message.channel,
            language=message.language,
            idempotency_key=message.idempotency_key,
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OutboxSender:
    """Drains the outbox: claims unsent messages, delivers each, marks it sent.

    Messages leave in daytime only, Brussels time, whenever their rung fell due: a rung that
    fired during an outage, or a message whose first tries failed, waits for the morning.
    """

    def __init__(
        self, pool: Pool, channel: Channel, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._pool = pool
        self._channel = channel
        self._clock = clock

    async def drain(self) -> int:
        """Deliver what is waiting now; the number delivered. A failed delivery waits its lease;
        at night nothing leaves."""
        now = self._clock()
        if next_daytime(now) > now:
            return 0
        async with self._pool.acquire() as con:
            messages = await claim_messages(con, BATCH, LEASE)
        delivered = 0
        for message in messages:
            try:
                await self._channel.deliver(message)
            except Exception as error:  # a channel's failure must not stop the others
                log.warning(
                    "nudge_delivery_failed",
                    participant_id=message.participant_id,
                    nudge_seq=message.nudge_seq,
                    attempts=message.attempts,
                    error=type(error).__name__,
                )
                continue
            async with self._pool.acquire() as con:
                await mark_sent(con, message)
            delivered += 1
        return delivered

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until `stop` is set, pausing when nothing waits or PostgreSQL is away."""
        while not stop.is_set():
            try:
                delivered = await self.drain()
            except DATABASE_DOWN as error:
                log.warning("outbox_unavailable", error=type(error).__name__)
                delivered = 0
            if delivered < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), POLL_SECONDS)

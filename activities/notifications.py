"""The outbox sender: delivers the nudge messages the ladder queued, beside each worker.

The ladder's activity only queues a message in its transaction; the sender delivers it after
the commit, so a failed commit never sends anything. The address is read from the persons vault
as the message leaves (consent and STOP checked again then), and kept nowhere. Delivery is at
least once: a sender that stops between delivering and marking leaves the message to another
after its lease, which delivers it with the same `message_id`, the idempotency key the gateway
and the e-mail's `Message-ID` carry. A failed try waits with backoff; after the last, the
failure is on the timeline and the trajectory is told (`UNDELIVERED_SIGNAL`), so its ladder
climbs on at once. Messages leave in daytime only, Brussels time.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.channels import Channel, DeliveryRefused
from infra.contract import workflow_id
from infra.database import DATABASE_DOWN, Pool
from infra.person_keys import PersonKeys
from readmodel import outbox
from readmodel.outbox import OutboxMessage
from readmodel.reach import reach
from readmodel.webhooks import queue_events
from trajectory.daytime import next_daytime
from trajectory.delivery import UNDELIVERED_SIGNAL, Undeliverable, UndeliveredNudge
from trajectory.events import nudge_sent

log = structlog.stdlib.get_logger(__name__)

LEASE = timedelta(seconds=60)
"""How long a claimed message waits for its sender before another may take it."""
BATCH = 50
POLL_SECONDS = 1.0
AT_ONCE = 8
"""Messages of a batch on their way at the same time."""

Tell = Callable[[str, UndeliveredNudge], Awaitable[None]]
"""Tells a participant's trajectory that a rung's message was not delivered."""


@dataclass(frozen=True)
class Backoff:
    """Waits between tries: `first`, doubling up to `longest`; the message fails after `tries`
    (by default about 4 hours of trying, so a provider's outage of an afternoon loses nothing)."""

    first: timedelta = timedelta(seconds=30)
    longest: timedelta = timedelta(hours=1)
    tries: int = 10

    def wait(self, attempts: int) -> timedelta:
        return min(self.first * (1 << max(attempts - 1, 0)), self.longest)


def signal_trajectories(client: Client) -> Tell:
    """Tell trajectories by signal; one that has ended has nothing left to learn."""

    async def tell(participant_id: str, undelivered: UndeliveredNudge) -> None:
        handle = client.get_workflow_handle(workflow_id(participant_id))
        try:
            await handle.signal(UNDELIVERED_SIGNAL, undelivered)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise

    return tell


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OutboxSender:
    """Drains the outbox: claims messages due, delivers each, marks it sent, retried or failed."""

    def __init__(
        self,
        pool: Pool,
        channels: Mapping[str, Channel],
        keys: PersonKeys,
        tell: Tell | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
        backoff: Backoff = Backoff(),
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._keys = keys
        self._tell = tell
        self._clock = clock
        self._backoff = backoff

    async def drain(self) -> int:
        """Deliver what is due now; the number delivered. At night nothing leaves."""
        await self._tell_trajectories()
        now = self._clock()
        if next_daytime(now) > now:
            return 0
        async with self._pool.acquire() as con:
            messages = await outbox.claim_messages(con, BATCH, LEASE)
        at_once = asyncio.Semaphore(AT_ONCE)

        async def one(message: OutboxMessage) -> bool:
            async with at_once:
                return await self._deliver(message)

        delivered = sum(await asyncio.gather(*(one(message) for message in messages)))
        await self._tell_trajectories()
        return delivered

    async def _deliver(self, message: OutboxMessage) -> bool:
        bound = structlog.contextvars.bound_contextvars(
            participant_id=message.participant_id,
            workflow_id=workflow_id(message.participant_id),
            nudge_seq=message.nudge_seq,
            message_id=message.message_id,
            channel=message.channel,
        )
        with bound:
            async with self._pool.acquire() as con:
                found = await reach(
                    con,
                    message.participant_id,
                    message.channel,
                    self._keys,
                    reader="worker:outbox",
                    purpose="deliver a nudge message",
                )
            if found.address is None:
                assert found.why is not None
                await self._fail(message, found.why)
                return False
            try:
                await self._channels[message.channel].deliver(message, found.address)
            except DeliveryRefused as refusal:
                await self._fail(message, refusal.why)
                return False
            except Exception as error:  # a provider's failure must not stop the others
                await self._retry(message, error)
                return False
            async with self._pool.acquire() as con, con.transaction():
                sent_at = await outbox.mark_sent(con, message, next(iter(found.fingerprints), None))
                if sent_at is not None:
                    event = nudge_sent(
                        message.participant_id,
                        message.nudge_seq,
                        message.channel,
                        message.message_id,
                        sent_at,
                    )
                    await queue_events(con, [event])
            log.info("nudge_delivered", attempts=message.attempts, language=message.language)
            return True

    async def _retry(self, message: OutboxMessage, error: Exception) -> None:
        if message.attempts >= self._backoff.tries:
            await self._fail(message, "still_failing")
            return
        wait = self._backoff.wait(message.attempts)
        log.warning(
            "nudge_delivery_failed",
            attempts=message.attempts,
            error=type(error).__name__,
            retry_in_s=wait.total_seconds(),
        )
        async with self._pool.acquire() as con:
            await outbox.retry_later(con, message, wait)

    async def _fail(self, message: OutboxMessage, why: Undeliverable) -> None:
        log.warning("nudge_not_delivered", attempts=message.attempts, why=why)
        async with self._pool.acquire() as con:
            await outbox.mark_failed(con, message, why)

    async def _tell_trajectories(self) -> None:
        """Tell each trajectory whose message failed; what cannot be told now is told later."""
        if self._tell is None:
            return
        async with self._pool.acquire() as con:
            untold = await outbox.untold_failures(con, BATCH)
        for participant_id, undelivered in untold:
            try:
                await self._tell(participant_id, undelivered)
            except RPCError as error:
                log.warning("trajectory_not_told", participant_id=participant_id, error=str(error))
                return
            async with self._pool.acquire() as con:
                await outbox.mark_told(con, participant_id, undelivered.nudge_seq)

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

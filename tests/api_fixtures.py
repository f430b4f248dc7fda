"""The HTTP API on the session's dev server and PostgreSQL, with a key for every role."""

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app, hold
from infra.database import Pool
from infra.settings import Settings
from infra.signing import new_secret
from readmodel.api_keys import create_key
from tests.keys import TEST_KEYS
from tests.people import enrolment
from tests.serving import uvicorn_serving
from trajectory.actors import Role

EnrolByApi = Callable[..., Awaitable[str]]
GATEWAY_SECRET = new_secret()
"""What the SMS gateway of the session's API signs its posts with."""


@dataclass(frozen=True)
class Keys:
    """One key per role, and partner keys for JES and InBrussel."""

    backend: str
    case_manager: str
    jes: str
    inbrussel: str


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def enrolment_body(partner_id: str, **details: Any) -> dict[str, Any]:
    """A valid `POST /v1/participants` body for a made-up eligible youth."""
    return enrolment(partner_id, **details).model_dump(mode="json")


@pytest.fixture(scope="session")
def api_app(dev_env: WorkflowEnvironment, dev_worker: Worker, pool: Pool) -> FastAPI:
    """The API bound to the session's Temporal client and pool, as the lifespan would bind them."""
    # Many tests send bad keys on purpose; tests/test_failed_authentication.py tests the limit.
    # Metrics tests read the figures right after a change; test_api_metrics.py tests the cache.
    settings = Settings(
        temporal_namespace=dev_env.client.namespace,
        key_cache_seconds=0,
        auth_failures=1_000_000,
        sms_url="http://127.0.0.1:9/sms",
        sms_secret=GATEWAY_SECRET,
        metrics_cache_seconds=0,
    )
    app = create_app(settings)
    hold(app, dev_env.client, pool, settings)
    return app


@pytest.fixture
async def served(api_app: FastAPI) -> AsyncIterator[str]:
    """The API (bound to the session's Temporal and PostgreSQL) under uvicorn; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(api_app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    async with uvicorn_serving(config) as url:
        yield url


@pytest.fixture(scope="session")
async def api(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as client:
        yield client


@pytest.fixture
async def api_on_time(
    time_env: WorkflowEnvironment, pool: Pool
) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP API on the time-skipping server: time moves only when a test skips."""
    settings = Settings(temporal_namespace=time_env.client.namespace, key_cache_seconds=0)
    app = create_app(settings)
    hold(app, time_env.client, pool, settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as client:
        yield client


@pytest.fixture(scope="session")
async def keys(pool: Pool) -> Keys:
    """Keys made the way `python -m starter keys create` makes them."""
    return Keys(
        backend=(await create_key(pool, Role.BACKEND, label="tests")).key,
        case_manager=(await create_key(pool, Role.CASE_MANAGER, label="tests")).key,
        jes=(await create_key(pool, Role.PARTNER, "jes", label="tests")).key,
        inbrussel=(await create_key(pool, Role.PARTNER, "inbrussel", label="tests")).key,
    )


@pytest.fixture
def enrol_by_api(api: httpx.AsyncClient, keys: Keys) -> EnrolByApi:
    """Enrol a youth with a partner through the API; returns the participant id."""

    async def enrol_participant(partner_id: str, **details: Any) -> str:
        answer = await api.post(
            "/v1/participants",
            json=enrolment_body(partner_id, **details),
            headers=bearer(keys.backend),
        )
        assert answer.status_code == 201, answer.text
        participant_id: str = answer.json()["participant_id"]
        return participant_id

    return enrol_participant


async def written(pool: Pool, participant_id: str, milestones: int, seconds: float = 10) -> None:
    """Wait until the milestone log holds `milestones` rows for the participant (it follows
    the workflow's answers)."""
    deadline = asyncio.get_running_loop().time() + seconds
    query = "SELECT count(*) FROM milestones WHERE participant_id = $1"
    while await pool.fetchval(query, participant_id) < milestones:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the read model never caught up with {participant_id}")
        await asyncio.sleep(0.05)


async def listed(pool: Pool, participant_id: str, seconds: float = 10) -> None:
    """Wait until the read model holds the participant's trajectory (lists read from there)."""
    deadline = asyncio.get_running_loop().time() + seconds
    query = "SELECT true FROM trajectories WHERE participant_id = $1"
    while not await pool.fetchval(query, participant_id):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{participant_id} never reached the read model")
        await asyncio.sleep(0.05)


async def starter(env: WorkflowEnvironment, database_url: str, *args: str) -> tuple[int, str, str]:
    """Run `python -m starter ARGS` against the session's dev server and database."""
    environment = {
        **os.environ,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": env.client.namespace,
        "DATABASE_URL": database_url,
        "PARCOURS_CODEC_KEYS": TEST_KEYS,  # the session's workflows are encrypted with it
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "starter",
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()

"""Temporal servers for the tests, from the pip-installed binaries (nothing downloads)."""

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.enrolment import enrol
from infra.contract import SEARCH_ATTRIBUTES
from infra.database import Pool
from readmodel.other_measures import register_other_measure
from tests.journeys import Journey, Start, born_years_ago
from tests.keys import ENCRYPTED
from tests.people import enrolment
from worker import build_worker

BIN = Path(sys.executable).parent
SERVER_STARTUP = timedelta(seconds=60)
"""How long a Temporal server may take to start: 5 s, the SDK's default, is too short on a loaded
machine."""


async def register_on_test_server(env: WorkflowEnvironment) -> None:
    """The test server cannot list search attributes, so add them without looking first."""
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
                for key in SEARCH_ATTRIBUTES
            },
        )
    )


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server per test, so one test's skipped months never leak."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_startup_timeout=SERVER_STARTUP,
        data_converter=ENCRYPTED,
        test_server_existing_path=str(BIN / "temporal-test-server"),
    )
    await register_on_test_server(env)
    try:
        yield env
    finally:
        await env.shutdown()


@asynccontextmanager
async def dev_server(
    converter: DataConverter = ENCRYPTED, port: int | None = None
) -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server (SQLite in memory, WAL) with the contract's search attributes, on
    `port` (a free one when None)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_startup_timeout=SERVER_STARTUP,
        data_converter=converter,
        port=port,
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        ui=False,
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The session's dev server."""
    async with dev_server() as env:
        yield env


@pytest.fixture
async def time_worker(time_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[Worker]:
    async with build_worker(time_env.client, pool) as worker:
        yield worker


@pytest.fixture(scope="session")
async def dev_worker(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[Worker]:
    async with build_worker(dev_env.client, pool) as worker:
        yield worker


def _person(today: date, details: dict[str, Any]) -> dict[str, Any]:
    """Turn a scenario's wording (age, registry, ...) into enrolment details."""
    details = dict(details)
    if "age" in details:
        details["born"] = born_years_ago(details.pop("age"), today, details.pop("age_days", 0))
    details.pop("registry", None)
    details.pop("history_limit", None)
    return details


def follow(env: WorkflowEnvironment, pool: Pool) -> Start:
    """Enrol a youth with a partner on `env` and follow the trajectory once intake is checked."""

    async def start(partner_id: str, **details: Any) -> Journey:
        today = (await env.get_current_time()).date()
        request = enrolment(partner_id, **_person(today, details))
        if details.get("registry"):
            async with pool.acquire() as con:
                await register_other_measure(
                    con, request.person.national_number, "Activa.brussels", today
                )
        enrolled = await enrol(
            env.client, pool, request, history_limit=details.get("history_limit", 10_000)
        )
        journey = Journey(env, enrolled.handle, enrolled.participant_id, pool)
        await journey.wait_for(lambda s: s.eligibility != "pending", "the eligibility check")
        return journey

    return start


@pytest.fixture
def start(time_env: WorkflowEnvironment, time_worker: Worker, pool: Pool) -> Start:
    """Trajectories on the time-skipping server."""
    return follow(time_env, pool)


@pytest.fixture
def dev_start(dev_env: WorkflowEnvironment, dev_worker: Worker, pool: Pool) -> Start:
    """Trajectories on the real dev server, where refused updates leave no history."""
    return follow(dev_env, pool)

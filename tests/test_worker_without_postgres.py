"""PostgreSQL away under the worker: milestones are still answered from the workflows' state,
and the read model catches up by itself once PostgreSQL is back."""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from temporalio.testing import WorkflowEnvironment

from api.enrolment import enrol
from infra.database import Pool, open_pool
from infra.settings import Settings
from tests.journeys import Journey
from tests.outage import Outage
from tests.people import enrolment
from tests.temporal_fixtures import dev_server
from trajectory.milestones import MilestoneType
from worker import build_worker

ROUNDS = 4


@pytest.fixture
async def own_server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of its own, so that only this test's worker polls `parcours` there."""
    async with dev_server() as env:
        yield env


async def test_milestones_are_answered_while_postgresql_is_away_and_the_read_model_catches_up(
    own_server: WorkflowEnvironment, pool: Pool, outage: tuple[Outage, str]
) -> None:
    relay, url = outage
    worker_pool = await open_pool(Settings(database_url=url))
    try:
        async with build_worker(own_server.client, worker_pool):
            journeys = []
            for partner in ("jes", "inbrussel", "backstage"):
                enrolled = await enrol(own_server.client, pool, enrolment(partner))
                journey = Journey(own_server, enrolled.handle, enrolled.participant_id, pool)
                await journey.wait_for(lambda s: s.eligibility != "pending", "intake")
                await journey.written()
                journeys.append(journey)

            await relay.cut()
            slowest = 0.0
            for n in range(ROUNDS):
                for journey in journeys:
                    started = time.monotonic()
                    answer = await journey.report(
                        MilestoneType.PARTICIPANT_CONTACT,
                        milestone_id=f"contact-while-down-{n}",
                        occurred_at=datetime.now(UTC),
                    )
                    slowest = max(slowest, time.monotonic() - started)
                    assert answer.milestone_count == n + 1
            assert slowest < 10, f"an answer waited {slowest:.1f} s for PostgreSQL"
            stored = "SELECT count(*) FROM milestones WHERE participant_id = $1"
            assert [await pool.fetchval(stored, j.participant_id) for j in journeys] == [0, 0, 0]

            await asyncio.sleep(2)
            await relay.start()
            for journey in journeys:
                await journey.written(seconds=60)
                assert await pool.fetchval(stored, journey.participant_id) == ROUNDS
    finally:
        worker_pool.terminate()

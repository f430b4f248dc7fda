"""Requests for one participant that race each other: the trajectory takes them one at a time.

Two `training_enrolled` in flight hold one seat at most, and nothing stays held for someone who
trains in no course; the same milestone id sent twice at once with other content is refused as
reused, also once the trajectory has ended.
"""

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from infra.contract import workflow_id
from tests.api_fixtures import EnrolByApi, Keys, bearer, written
from tests.journeys import Journey, Start
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome, Phase
from trajectory.records import TrajectorySnapshot


async def private_course(pool: asyncpg.Pool, seats: int) -> str:
    """A course of `seats` seats that no other test asks for."""
    course_id = f"race-{uuid.uuid4().hex[:10]}"
    await pool.execute(
        "INSERT INTO courses SELECT $1, catalogue_version, provider, title, domain, sector,"
        " occupation, bottleneck_occupation, language, min_language_level, min_digital_level,"
        " $2, starts_on, ends_on, location FROM courses WHERE course_id = 'welder-2027'",
        course_id,
        seats,
    )
    return course_id


async def holds(
    pool: asyncpg.Pool, participant_id: str, wanted: list[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """The courses the participant holds a seat, an offer or a waiting place in; polled for a
    few seconds until they are `wanted` (seats given up are handed on after the answer)."""
    for _ in range(100):
        rows = await pool.fetch(
            "SELECT course_id, status FROM seat_requests WHERE participant_id = $1"
            " AND status IN ('seated', 'offered', 'waiting') ORDER BY course_id",
            participant_id,
        )
        found = [(row["course_id"], row["status"]) for row in rows]
        if wanted is None or found == wanted:
            break
        await asyncio.sleep(0.05)
    return found


async def ready_for_training(start: Start) -> Journey:
    journey = await start("jes")
    for _ in range(3):
        await journey.finish_phase()
    assert (await journey.state()).phase == Phase.COACHING
    return journey


async def both(*reports: Awaitable[TrajectorySnapshot]) -> list[object]:
    """Send the reports at once; their answers or refusals, in the same order."""
    return list(await asyncio.gather(*reports, return_exceptions=True))


async def test_a_coach_who_enrols_a_youth_in_two_courses_at_once_gets_one_seat_and_one_refusal(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await ready_for_training(start)
    first, second = await private_course(pool, 5), await private_course(pool, 5)

    answers = await both(
        journey.report(M.TRAINING_ENROLLED, {"course_id": first}, milestone_id="enrol-a"),
        journey.report(M.TRAINING_ENROLLED, {"course_id": second}, milestone_id="enrol-b"),
    )

    refused = [a for a in answers if isinstance(a, WorkflowUpdateFailedError)]
    assert len(refused) == 1, answers
    state = await journey.state()
    assert state.phase == Phase.TRAINING and state.training is not None
    await journey.written()
    seated = [(state.training.course_id, "seated")]
    assert await holds(pool, journey.participant_id, seated) == seated


async def test_the_same_enrolment_sent_twice_under_two_ids_holds_one_seat_of_the_course(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await ready_for_training(start)
    course = await private_course(pool, 1)

    answers = await both(
        journey.report(M.TRAINING_ENROLLED, {"course_id": course}, milestone_id="from-app"),
        journey.report(M.TRAINING_ENROLLED, {"course_id": course}, milestone_id="from-crm"),
    )

    assert sum(isinstance(a, WorkflowUpdateFailedError) for a in answers) == 1, answers
    await journey.written()
    seated = [(course, "seated")]
    assert await holds(pool, journey.participant_id, seated) == seated
    seated = await pool.fetchval(
        "SELECT count(*) FROM seat_requests WHERE course_id = $1 AND status = 'seated'", course
    )
    assert seated == 1, "the course's one seat is given once"


async def test_a_youth_waiting_for_one_course_who_takes_a_seat_in_another_leaves_the_list(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await ready_for_training(start)
    full, open_course = await private_course(pool, 1), await private_course(pool, 3)
    other = await ready_for_training(start)
    await other.report(M.TRAINING_ENROLLED, {"course_id": full})
    waiting = await journey.report(M.TRAINING_ENROLLED, {"course_id": full})
    assert waiting.waiting_position == 1

    await journey.report(M.TRAINING_ENROLLED, {"course_id": open_course})
    await journey.written()
    seated = [(open_course, "seated")]
    assert await holds(pool, journey.participant_id, seated) == seated
    await journey.close(Outcome.WITHDRAWN, "moved on")

    assert await holds(pool, journey.participant_id, []) == []


async def test_a_reused_milestone_id_racing_the_first_is_refused_as_reused(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await ready_for_training(start)
    first, second = await private_course(pool, 5), await private_course(pool, 5)

    answers = await both(  # the first waits for its seat when the second arrives
        journey.report(M.TRAINING_ENROLLED, {"course_id": first}, milestone_id="same-id"),
        journey.report(M.TRAINING_ENROLLED, {"course_id": second}, milestone_id="same-id"),
    )

    failures = [a for a in answers if isinstance(a, WorkflowUpdateFailedError)]
    assert len(failures) == 1, answers
    assert "other content" in str(failures[0].cause)
    state = await journey.state()
    assert state.training is not None
    await journey.written()
    seated = [(state.training.course_id, "seated")]
    assert await holds(pool, journey.participant_id, seated) == seated


@pytest.mark.parametrize("same_content", [True, False])
async def test_a_milestone_id_sent_again_after_the_trajectory_ended(
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    same_content: bool,
) -> None:
    participant_id = await enrol_by_api("jes")
    url = f"/v1/participants/{participant_id}/milestones"
    contact = {
        "milestone_id": "called-back",
        "type": "participant_contact",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {},
    }
    assert (await api.post(url, json=contact, headers=bearer(keys.jes))).status_code == 200
    await written(pool, participant_id, 1)
    await dev_env.client.get_workflow_handle(workflow_id(participant_id)).terminate("ended")
    again = contact if same_content else {**contact, "type": "intake_interview_held"}

    answer = await api.post(url, json=again, headers=bearer(keys.jes))

    if same_content:
        assert answer.status_code == 200, answer.text
    else:
        assert (answer.status_code, answer.json()["error"]) == (409, "milestone_id_reused")

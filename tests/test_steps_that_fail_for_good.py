"""Steps that fail for good hand the trajectory to a case manager, and every run still ends.

A seat request whose activity keeps failing holds the milestone's answer until a case manager
resumes the trajectory, never a failure for ever; an intake check that cannot run, followed by
a case manager's close, leaves a run that ends like any other.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio import activity
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.training import TrainingActivities
from api import participants
from infra.contract import TASK_QUEUE, workflow_id
from infra.database import Pool
from readmodel.persons import erase_person
from tests.api_fixtures import Keys, bearer
from tests.conftest import Enrol
from tests.journeys import Journey
from tests.temporal_fixtures import follow
from trajectory.milestones import Milestone
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome
from trajectory.programmes import load_programme
from trajectory.records import SeatDecision, SeatRequest
from trajectory.requests import RecordMilestone
from trajectory.state import TrajectoryInput
from worker import build_worker
from workflows.trajectory import ParticipantTrajectory


class UnreachableSeats:
    """`request_seat` while PostgreSQL refuses it, until `repaired`."""

    def __init__(self, real: TrainingActivities) -> None:
        self._real, self.repaired, self.calls = real, False, 0

    @activity.defn(name="request_seat")
    async def request_seat(self, request: SeatRequest) -> SeatDecision:
        self.calls += 1
        if not self.repaired:
            raise ConnectionError("the seats table is locked by a migration")
        return await self._real.request_seat(request)


@pytest.fixture
def seats(pool: Pool) -> UnreachableSeats:
    return UnreachableSeats(TrainingActivities(pool))


@pytest.fixture
async def unreachable(
    time_env: WorkflowEnvironment, pool: Pool, seats: UnreachableSeats
) -> AsyncIterator[Worker]:
    async with build_worker(time_env.client, pool, stand_ins=[seats.request_seat]) as worker:
        yield worker


async def test_a_training_enrolment_whose_seat_cannot_be_asked_waits_for_a_case_manager(
    time_env: WorkflowEnvironment,
    unreachable: Worker,
    api_on_time: httpx.AsyncClient,
    keys: Keys,
    pool: Pool,
    seats: UnreachableSeats,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(participants, "UPDATE_TIMEOUT", timedelta(seconds=2))
    journey = await follow(time_env, pool)("jes")
    for _ in range(3):
        await journey.finish_phase()
    enrolled = {
        "milestone_id": "enrolled-warehouse",
        "type": "training_enrolled",
        "occurred_at": (await journey.now()).isoformat(),
        "payload": {"course_id": "warehouse-operative-2027"},
    }
    url = f"/v1/participants/{journey.participant_id}/milestones"
    first = asyncio.create_task(api_on_time.post(url, json=enrolled, headers=bearer(keys.jes)))

    for _ in range(100):  # through every retry of the seat request
        await journey.skip(0.05)
        if (await journey.state()).needs_attention:
            break
    held = await journey.state()
    assert held.attention is not None and "seat" in held.attention
    answer = await first
    assert (answer.status_code, answer.json()["error"]) == (503, "needs_attention"), answer.text
    seats.repaired = True
    await journey.resume("the migration is over")

    again = await api_on_time.post(url, json=enrolled, headers=bearer(keys.jes))
    assert again.status_code == 200, again.text
    assert (again.json()["phase"], again.json()["status"]) == ("training", "active")
    assert seats.calls > 1


async def test_an_intake_check_that_cannot_run_then_a_close_leaves_a_run_that_ends(
    dev_env: WorkflowEnvironment, dev_worker: Worker, pool: Pool, enrol: Enrol
) -> None:
    participant_id = await enrol(partner_id="jes")
    async with pool.acquire() as con:
        await erase_person(con, participant_id)  # the intake check cannot read the person
    interview = RecordMilestone.of(
        Milestone(
            milestone_id="interview",
            type=M.INTAKE_INTERVIEW_HELD,
            occurred_at=datetime.now(UTC),
        )
    )
    start = WithStartWorkflowOperation(
        ParticipantTrajectory.run,
        TrajectoryInput(
            participant_id=participant_id,
            programme=load_programme("jes"),
            postcode="1080",
            language="fr",
            day_seconds=0.05,
        ),
        id=workflow_id(participant_id),
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    reported = await dev_env.client.start_update_with_start_workflow(  # before the check runs
        ParticipantTrajectory.record_milestone,
        interview,
        start_workflow_operation=start,
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    journey = Journey(dev_env, await start.workflow_handle(), participant_id, pool)
    await journey.wait_for(lambda s: s.needs_attention, "needs attention")

    await journey.close(Outcome.WITHDRAWN, "enrolled by mistake")

    with pytest.raises(WorkflowUpdateFailedError):
        await asyncio.wait_for(reported.result(), 15)
    finished = await asyncio.wait_for(journey.handle.result(), 15)  # after the result on leaving
    assert finished.outcome == Outcome.WITHDRAWN

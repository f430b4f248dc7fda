"""Steps that fail for good hand the trajectory to a case manager, and every run still ends.

A seat request whose activity keeps failing holds the milestone's answer until a case manager
resumes the trajectory, never a failure for ever; an intake check that cannot run, followed by
a case manager's close, leaves a run that ends like any other.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

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
from readmodel.api_keys import key_id_of
from readmodel.persons import erase_person
from tests.api_fixtures import Keys, bearer
from tests.conftest import Enrol
from tests.journeys import Journey
from tests.keys import milestone_key
from tests.temporal_fixtures import follow
from trajectory.actors import Actor, Role
from trajectory.milestones import Milestone
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome, Phase, Status
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
    time_env: WorkflowEnvironment, unreachable: Worker, pool: Pool, seats: UnreachableSeats
) -> None:
    journey = await follow(time_env, pool)("jes")
    for _ in range(3):
        await journey.finish_phase()
    enrolling = asyncio.create_task(
        journey.report(M.TRAINING_ENROLLED, {"course_id": "warehouse-operative-2027"})
    )

    for _ in range(100):  # through every retry of the seat request
        await journey.skip(0.05)
        if (await journey.state()).needs_attention:
            break
    held = await journey.state()
    assert held.attention is not None and "seat" in held.attention
    assert not enrolling.done(), "the milestone waits for a case manager; it does not fail"
    seats.repaired = True
    await journey.resume("the migration is over")

    answer = await asyncio.wait_for(enrolling, 15)
    assert (answer.phase, answer.status) == (Phase.TRAINING, Status.ACTIVE)
    assert seats.calls > 1


async def test_a_partner_whose_milestone_waits_for_a_case_manager_is_told_so_with_a_503(
    dev_env: WorkflowEnvironment,
    dev_worker: Worker,
    api: httpx.AsyncClient,
    keys: Keys,
    pool: Pool,
    enrol: Enrol,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(participants, "UPDATE_TIMEOUT", timedelta(seconds=1))
    participant_id = await enrol(partner_id="jes")
    async with pool.acquire() as con:
        await erase_person(con, participant_id)  # the intake check cannot read the person
    body = {
        "milestone_id": "interview",
        "type": "intake_interview_held",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {},
    }
    partner = Actor(role=Role.PARTNER, partner_id="jes", key_id=key_id_of(keys.jes))
    reported = RecordMilestone.of(Milestone.model_validate(body), milestone_key(), partner)
    start = started_with(participant_id, day_seconds=86400)
    await dev_env.client.start_update_with_start_workflow(  # the partner's request, in flight
        ParticipantTrajectory.record_milestone,
        reported,
        id=participants.update_id("milestone", reported.fingerprint, actor=reported.actor),
        start_workflow_operation=start,
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    journey = Journey(dev_env, await start.workflow_handle(), participant_id, pool)
    await journey.wait_for(lambda s: s.needs_attention, "needs attention")

    retried = await api.post(
        f"/v1/participants/{participant_id}/milestones", json=body, headers=bearer(keys.jes)
    )

    assert (retried.status_code, retried.json()["error"]) == (503, "needs_attention")
    assert "intake check" in retried.json()["detail"] and "retrying it is safe" in retried.text


def started_with(participant_id: str, day_seconds: float) -> WithStartWorkflowOperation[Any, Any]:
    """The start of a JES participant's trajectory, for an Update-with-start."""
    return WithStartWorkflowOperation(
        ParticipantTrajectory.run,
        TrajectoryInput(
            participant_id=participant_id,
            programme=load_programme("jes"),
            postcode="1080",
            language="fr",
            day_seconds=day_seconds,
        ),
        id=workflow_id(participant_id),
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )


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
        ),
        milestone_key(),
    )
    start = started_with(participant_id, day_seconds=0.05)
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
    # after the check-ins every leaver is asked for (six months: 210 days of 0.05 s)
    finished = await asyncio.wait_for(journey.handle.result(), 45)
    assert finished.outcome == Outcome.WITHDRAWN

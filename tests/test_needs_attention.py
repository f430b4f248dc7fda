"""A step the engine cannot finish by itself hands the trajectory to a case manager: it stays
open with status `needs_attention` and the reason, findable in the Web UI and the read model,
until a case manager resumes it (the step is tried again) or closes it. Nothing fails silently,
nothing retries forever, and no failure message carries personal data."""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from pydantic import TypeAdapter
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.trajectory import TrajectoryActivities
from infra import contract
from infra.contract import TASK_QUEUE, workflow_id
from infra.database import Pool
from readmodel.persons import erase_person
from tests.conftest import Enrol
from tests.journeys import Journey, Start
from tests.temporal_fixtures import follow
from trajectory.delivery import NudgeOutcome
from trajectory.milestones import MilestoneType
from trajectory.phases import Outcome, Phase, Status
from trajectory.programmes import load_programme
from trajectory.records import NudgeRequest
from trajectory.requests import CloseRequest, CloseTrajectory, ResumeRequest, ResumeTrajectory
from trajectory.state import TrajectoryInput
from worker import build_worker
from workflows.steps import RETRY
from workflows.trajectory import ParticipantTrajectory

NATIONAL_NUMBER = "03051412345"
"""Stands for personal data an activity's error might quote."""


class Failing:
    """`send_nudge` as a channel that fails with `error()` for its first `times` calls."""

    def __init__(self, real: TrajectoryActivities, error: Callable[[], Exception], times: int):
        self._real, self._error, self.left, self.calls = real, error, times, 0

    @activity.defn(name="send_nudge")
    async def send_nudge(self, request: NudgeRequest) -> NudgeOutcome:
        self.calls += 1
        if self.left > 0:
            self.left -= 1
            raise self._error()
        return await self._real.send_nudge(request)


def worker_with(env: WorkflowEnvironment, pool: Pool, failing: Failing | None = None) -> Worker:
    """The production worker, with `send_nudge` failing as `failing` says."""
    return build_worker(env.client, pool, stand_ins=[failing.send_nudge] if failing else [])


async def status_attribute(handle: WorkflowHandle[Any, Any]) -> str | None:
    """`ParcoursStatus` as the Web UI's search finds it."""
    described = await handle.describe()
    return described.typed_search_attributes.get(contract.STATUS)


async def read_model_row(pool: Pool, participant_id: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT status, attention, outcome FROM trajectories WHERE participant_id = $1",
        participant_id,
    )
    assert row is not None
    return row


async def test_an_intake_check_that_cannot_run_waits_for_a_case_manager_who_closes_it(
    time_env: WorkflowEnvironment, pool: Pool, enrol: Enrol
) -> None:
    env = time_env
    participant_id = await enrol(partner_id="jes")
    async with pool.acquire() as con:
        await erase_person(con, participant_id)  # erased before the intake check could read it
    async with worker_with(env, pool):
        handle = await env.client.start_workflow(
            ParticipantTrajectory.run,
            TrajectoryInput(
                participant_id=participant_id,
                programme=load_programme("jes"),
                postcode="1080",
                language="fr",
            ),
            id=workflow_id(participant_id),
            task_queue=TASK_QUEUE,
        )
        journey = Journey(env, handle, participant_id, pool)
        held = await journey.wait_for(lambda s: s.needs_attention, "needs attention")

        assert held.attention is not None and "intake check" in held.attention
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        assert await status_attribute(handle) == "needs_attention"
        await journey.written()
        row = await read_model_row(pool, participant_id)
        assert row["status"] == "needs_attention" and row["attention"] == held.attention
        with pytest.raises(WorkflowUpdateFailedError) as refusal:
            await journey.report(MilestoneType.COACH_ASSIGNED)
        assert "attention" in str(refusal.value.cause)

        await handle.execute_update(
            ParticipantTrajectory.close,
            CloseTrajectory(
                request=CloseRequest(
                    outcome=Outcome.WITHDRAWN, reason="erased at the person's request"
                )
            ),
        )
        await journey.wait_for(lambda s: s.status == Status.CLOSED, "closing")
        await journey.written()
        row = await read_model_row(pool, participant_id)
        assert (row["status"], row["outcome"]) == ("closed", "withdrawn")


async def first_nudge(start: Start) -> Journey:
    """A JES participant in assessment, left silent until the ladder's first rung is due."""
    journey = await start("jes")
    await journey.finish_phase()
    assert (await journey.state()).phase == Phase.ASSESSMENT
    await journey.skip(load_programme("jes").steps(Phase.ASSESSMENT).inactivity_days + 1)
    return journey


async def test_a_nudge_that_fails_for_good_is_sent_once_a_case_manager_resumes(
    time_env: WorkflowEnvironment, pool: Pool
) -> None:
    failing = Failing(
        TrajectoryActivities(pool),
        lambda: asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"),
        times=1,
    )
    async with worker_with(time_env, pool, failing):
        journey = await first_nudge(follow(time_env, pool))
        held = await journey.wait_for(lambda s: s.needs_attention, "needs attention")

        assert failing.calls == 1, "an error that retrying cannot clear is not retried"
        assert held.attention is not None and "Unprocessable" in held.attention
        assert await status_attribute(journey.handle) == "needs_attention"

        resumed = await journey.handle.execute_update(
            ParticipantTrajectory.resume,
            ResumeTrajectory(request=ResumeRequest(reason="channel repaired")),
        )
        assert resumed.status == Status.ACTIVE and resumed.attention is None
        await journey.wait_for(lambda s: failing.calls == 2, "the nudge sent again")
        # The send writes its row in its own transaction, which the snapshot's revision (what
        # `written` waits for) does not follow: wait for the row itself.
        count = "SELECT count(*) FROM nudges WHERE participant_id = $1"
        deadline = asyncio.get_running_loop().time() + 10
        while not (sent := await pool.fetchval(count, journey.participant_id)):
            assert asyncio.get_running_loop().time() < deadline, "the nudge was never written"
            await asyncio.sleep(0.05)
        assert sent == 1
        await journey.written()
        assert (await read_model_row(pool, journey.participant_id))["status"] == "active"


async def test_an_error_that_never_clears_stops_retrying_within_bounds(
    time_env: WorkflowEnvironment, pool: Pool
) -> None:
    failing = Failing(TrajectoryActivities(pool), ConnectionRefusedError, times=10_000)
    async with worker_with(time_env, pool, failing):
        journey = await first_nudge(follow(time_env, pool))
        held = await journey.wait_for(lambda s: s.needs_attention, "needs attention", 60)

    assert failing.calls == RETRY.maximum_attempts
    assert held.attention is not None and "every retry" in held.attention


async def test_an_activity_failure_quotes_no_personal_data(
    time_env: WorkflowEnvironment,
    pool: Pool,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refused_number() -> Exception:
        try:
            TypeAdapter(int).validate_python(f"{NATIONAL_NUMBER} (national number)")
        except Exception as error:
            return error
        raise AssertionError("pydantic accepted a national number as an int")

    assert NATIONAL_NUMBER in str(refused_number()), "the raw error would quote it"
    failing = Failing(TrajectoryActivities(pool), refused_number, times=1)
    caplog.set_level(logging.DEBUG)
    async with worker_with(time_env, pool, failing):
        journey = await first_nudge(follow(time_env, pool))
        await journey.wait_for(lambda s: s.needs_attention, "needs attention")

    logged = caplog.text + "".join(capsys.readouterr())
    assert "send_nudge" in logged or "activity_failed" in logged, "the failure was logged"
    assert NATIONAL_NUMBER not in logged
    assert failing.calls == 1

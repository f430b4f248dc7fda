"""A partner's job coach, scripted: reports milestones and reads the trajectory back."""

import asyncio
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from infra.database import Pool
from readmodel.persons import read_person
from tests.keys import milestone_key
from trajectory.actors import Actor
from trajectory.enrolment import Person
from trajectory.milestones import Milestone, MilestoneType
from trajectory.phases import Outcome
from trajectory.records import TrajectorySnapshot
from trajectory.requests import (
    CloseRequest,
    CloseTrajectory,
    PauseRequest,
    PauseTrajectory,
    RecordMilestone,
    ResumeRequest,
    ResumeTrajectory,
)
from trajectory.state import TrajectoryState
from workflows.trajectory import ParticipantTrajectory

EXAMPLE_PAYLOADS: dict[MilestoneType, dict[str, Any]] = {
    MilestoneType.LANGUAGE_ASSESSED: {"language": "fr", "level": "B1"},
    MilestoneType.DIGITAL_ASSESSED: {"level": 3},
    MilestoneType.COACH_ASSIGNED: {"coach_ref": "coach-7"},
    MilestoneType.COACHING_SESSION_HELD: {"mode": "individual"},
    MilestoneType.TRAINING_ENROLLED: {"course_id": "kitchen-assistant-2027"},
    MilestoneType.FOLLOW_UP_CONTACT: {"in_employment": True},
}

_ids = itertools.count(1)
CASE_MANAGER = Actor(role="case_manager", key_id="test-case-manager")
"""Who steers in these scenarios."""


def new_id() -> str:
    """A steering request's id, new for each request as the API makes it."""
    return uuid.uuid4().hex


@dataclass
class Journey:
    """One participant's trajectory as a coach sees it."""

    env: WorkflowEnvironment
    handle: WorkflowHandle[ParticipantTrajectory, Any]
    participant_id: str

    pool: Pool

    async def person(self) -> Person:
        """The personal data kept (encrypted) for this participant in PostgreSQL."""
        async with self.pool.acquire() as con:
            person = await read_person(
                con, self.participant_id, "test:journey", purpose="scenario check"
            )
        assert person is not None
        return person

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def report(
        self,
        kind: MilestoneType,
        payload: dict[str, Any] | None = None,
        *,
        milestone_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> TrajectorySnapshot:
        """Report a milestone as the partner would; raises when the trajectory refuses it."""
        milestone = Milestone(
            milestone_id=milestone_id or f"m-{next(_ids)}",
            type=kind,
            occurred_at=occurred_at or await self.now(),
            payload=EXAMPLE_PAYLOADS.get(kind, {}) if payload is None else payload,
        )
        return await self.handle.execute_update(
            ParticipantTrajectory.record_milestone, RecordMilestone.of(milestone, milestone_key())
        )

    async def pause(self, reason: str | None = None) -> TrajectorySnapshot:
        request = PauseTrajectory(
            request=PauseRequest(reason=reason), actor=CASE_MANAGER, request_id=new_id()
        )
        return await self.handle.execute_update(ParticipantTrajectory.pause, request)

    async def resume(self, reason: str | None = None) -> TrajectorySnapshot:
        request = ResumeTrajectory(
            request=ResumeRequest(reason=reason), actor=CASE_MANAGER, request_id=new_id()
        )
        return await self.handle.execute_update(ParticipantTrajectory.resume, request)

    async def close(self, outcome: Outcome, reason: str = "closed in a test") -> TrajectorySnapshot:
        body = CloseRequest(outcome=outcome, reason=reason)
        request = CloseTrajectory(request=body, actor=CASE_MANAGER, request_id=new_id())
        return await self.handle.execute_update(ParticipantTrajectory.close, request)

    async def finish_phase(self) -> TrajectorySnapshot:
        """Report every milestone the partner requires before the current phase may end, in
        the order the state's `next_steps` names them."""
        snapshot = await self.handle.query(ParticipantTrajectory.snapshot)
        phase = snapshot.phase
        while snapshot.phase == phase and snapshot.next_steps:
            snapshot = await self.report(snapshot.next_steps[0])
        return snapshot

    async def place(self, kind: str = "employment") -> TrajectorySnapshot:
        today = (await self.now()).date()
        return await self.report(
            MilestoneType.PLACEMENT_STARTED,
            {"kind": kind, "start_date": today.isoformat(), "employer": "Bpost", "contract": "CDI"},
        )

    async def state(self) -> TrajectoryState:
        return await self.handle.query(ParticipantTrajectory.state)

    async def wait_for(
        self, check: Callable[[TrajectoryState], bool], what: str, seconds: float = 15
    ) -> TrajectoryState:
        """Poll the trajectory until `check` holds (timers fire asynchronously after a skip)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            state = await self.state()
            if check(state):
                return state
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"still waiting for {what}; state: {state.phase} {state.status}"
                )
            await asyncio.sleep(0.1)

    async def written(self, seconds: float = 15) -> TrajectorySnapshot:
        """Wait until the read model holds the trajectory's latest state (it follows behind)."""
        return await read_model_caught_up(self.pool, self.handle, self.participant_id, seconds)

    async def skip(self, days: float) -> None:
        await self.env.sleep(timedelta(days=days))


async def read_model_caught_up(
    pool: Pool,
    handle: WorkflowHandle[ParticipantTrajectory, Any],
    participant_id: str,
    seconds: float = 15,
) -> TrajectorySnapshot:
    """Poll until the read model's snapshot has the workflow's revision; that snapshot."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        snapshot = await handle.query(ParticipantTrajectory.snapshot)
        stored = await pool.fetchval(
            "SELECT revision FROM trajectories WHERE participant_id = $1", participant_id
        )
        if stored is not None and stored >= snapshot.revision:
            return snapshot
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the read model is at {stored}, not {snapshot.revision}")
        await asyncio.sleep(0.05)


def born_years_ago(years: int, on: date, days: int = 0) -> date:
    """The birth date of someone who turns `years` old `days` after `on`."""
    return on.replace(year=on.year - years) + timedelta(days=days)


class Start(Protocol):
    """The `start` fixture: enrol someone with a partner and follow their trajectory."""

    async def __call__(self, partner_id: str, **details: Any) -> Journey: ...

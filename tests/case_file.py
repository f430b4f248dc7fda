"""A youth's case file, driven through the API by their JES coach and a case manager, with
details unique to one test run."""

import asyncio
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from temporalio.client import WorkflowHandle

from tests.api_fixtures import Keys, bearer
from tests.people import enrolment, national_number
from trajectory.enrolment import Enrolment
from trajectory.state import TrajectoryState
from workflows.trajectory import ParticipantTrajectory

DAY_SECONDS = 0.2
"""A programme day of these trajectories: the coach's call falls due within seconds."""


def someone(tag: str) -> Enrolment:
    """A made-up youth whose every detail is unique to this test run."""
    born = date(1996, 1, 1) + timedelta(days=secrets.randbelow(3650))
    request = enrolment("jes", born=born)
    person = request.person.model_copy(
        update={
            "given_name": f"Ysaline{tag}",
            "family_name": f"Vandaele{tag}",
            "national_number": national_number(born, counter=secrets.randbelow(900) + 50),
            "phone": f"+32478{secrets.randbelow(10**6):06d}",
            "email": f"ysaline.{tag}@example.org",
        }
    )
    return request.model_copy(update={"external_ref": f"PES-ERASE-{tag}", "person": person})


def identifiers(request: Enrolment) -> list[str]:
    person = request.person
    assert person.phone is not None and person.email is not None
    return [
        person.given_name,
        person.family_name,
        person.national_number,
        person.birth_date.isoformat(),
        person.phone,
        person.email,
        request.external_ref,
    ]


def milestone(
    kind: str, payload: dict[str, Any] | None = None, milestone_id: str | None = None
) -> dict[str, Any]:
    return {
        "milestone_id": milestone_id or f"m-{uuid.uuid4().hex[:12]}",
        "type": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": payload or {},
    }


async def state_of(handle: WorkflowHandle[Any, Any]) -> TrajectoryState:
    state: TrajectoryState = await handle.query(ParticipantTrajectory.state)
    return state


async def until(
    handle: WorkflowHandle[Any, Any], holds: Callable[[TrajectoryState], bool], what: str
) -> TrajectoryState:
    """The trajectory's state once `holds` is true of it (within 30 s)."""
    deadline = asyncio.get_running_loop().time() + 30
    while not holds(state := await state_of(handle)):
        assert asyncio.get_running_loop().time() < deadline, f"never reached: {what}"
        await asyncio.sleep(0.05)
    return state


class CaseFile:
    """A youth's trajectory driven through the API by their JES coach and a case manager."""

    def __init__(self, api: httpx.AsyncClient, keys: Keys, participant_id: str) -> None:
        self.api = api
        self.keys = keys
        self.path = f"/v1/participants/{participant_id}"

    async def report(
        self, kind: str, payload: dict[str, Any] | None = None, milestone_id: str | None = None
    ) -> dict[str, Any]:
        answer = await self.api.post(
            f"{self.path}/milestones",
            json=milestone(kind, payload, milestone_id),
            headers=bearer(self.keys.jes),
        )
        assert answer.status_code == 200, answer.text
        state: dict[str, Any] = answer.json()
        return state

    async def steer(self, action: str, body: dict[str, Any]) -> None:
        answer = await self.api.post(
            f"{self.path}/{action}", json=body, headers=bearer(self.keys.case_manager)
        )
        assert answer.status_code == 200, answer.text

    async def timeline(self) -> str:
        """The case manager's timeline, as the text of its answer."""
        answer = await self.api.get(
            f"{self.path}/timeline?limit=500", headers=bearer(self.keys.case_manager)
        )
        assert answer.status_code == 200, answer.text
        return answer.text

"""A reassigned participant belongs to the new partner at once: the workflow decides, not a
read model that may lag."""

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from infra.contract import workflow_id
from infra.database import Pool
from tests.api_fixtures import EnrolByApi, Keys, bearer
from tests.keys import milestone_key
from trajectory.actors import Actor
from trajectory.milestones import Milestone, MilestoneType
from trajectory.records import TrajectorySnapshot
from trajectory.requests import RecordMilestone
from workflows.errors import NOT_FOUND
from workflows.trajectory import ParticipantTrajectory


def contact(milestone_id: str) -> dict[str, object]:
    return {
        "milestone_id": milestone_id,
        "type": "participant_contact",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {},
    }


async def test_after_a_reassignment_the_old_partner_gets_404_and_the_new_one_records(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    path = f"/v1/participants/{participant_id}"
    moved = await api.post(
        f"{path}/reassign",
        json={"partner_id": "inbrussel", "reason": "moved to Laeken"},
        headers=bearer(keys.case_manager),
    )
    assert moved.status_code == 200, moved.text

    old = await api.post(f"{path}/milestones", json=contact("jes-late"), headers=bearer(keys.jes))
    assert (old.status_code, old.json()["error"]) == (404, "not_found")
    assert (await api.get(path, headers=bearer(keys.jes))).status_code == 404
    new = await api.post(
        f"{path}/milestones", json=contact("ib-first"), headers=bearer(keys.inbrussel)
    )
    assert new.status_code == 200, new.text
    assert new.json()["partner_id"] == "inbrussel"
    assert new.json()["milestone_count"] == 1


async def test_the_workflow_refuses_a_milestone_from_a_partner_that_no_longer_holds_it(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    await api.post(
        f"/v1/participants/{participant_id}/reassign",
        json={"partner_id": "orientaeuro"},
        headers=bearer(keys.case_manager),
    )
    handle: WorkflowHandle[ParticipantTrajectory, TrajectorySnapshot] = (
        dev_env.client.get_workflow_handle_for(
            ParticipantTrajectory.run, workflow_id(participant_id)
        )
    )
    late = RecordMilestone.of(
        Milestone(
            milestone_id="jes-raced-the-reassignment",
            type=MilestoneType.PARTICIPANT_CONTACT,
            occurred_at=datetime.now(UTC),
        ),
        milestone_key(),
        Actor(role="partner", partner_id="jes", key_id="0123456789ab"),
    )
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ParticipantTrajectory.record_milestone, late)
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == NOT_FOUND
    assert (await handle.query(ParticipantTrajectory.snapshot)).milestone_count == 0


async def test_a_reassignment_starts_the_new_partners_stint_and_keeps_the_first_ones(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("jes")
    moved = await api.post(
        f"/v1/participants/{participant_id}/reassign",
        json={"partner_id": "inbrussel", "reason": "moved to Laeken"},
        headers=bearer(keys.case_manager),
    )
    assert moved.status_code == 200, moved.text
    query = "SELECT partner_id FROM partner_stints WHERE participant_id = $1 ORDER BY since"
    deadline = asyncio.get_running_loop().time() + 10
    while len(stints := await pool.fetch(query, participant_id)) < 2:
        assert asyncio.get_running_loop().time() < deadline, stints
        await asyncio.sleep(0.05)
    assert [row["partner_id"] for row in stints] == ["jes", "inbrussel"]
    enrolled_at = await pool.fetchval(
        "SELECT enrolled_at FROM participants WHERE participant_id = $1", participant_id
    )
    held = "SELECT partner_at($1, $2)"
    assert await pool.fetchval(held, participant_id, enrolled_at) == "jes"
    assert await pool.fetchval(held, participant_id, datetime.now(UTC)) == "inbrussel"

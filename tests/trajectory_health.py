"""Checks that no input broke a trajectory: no failed workflow task, no activity retrying, no
write that reached only one side."""

import asyncio
from datetime import datetime

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from infra.contract import workflow_id
from infra.database import Pool
from workflows.trajectory import ParticipantTrajectory


async def assert_no_trajectory_broke(
    env: WorkflowEnvironment, participants: list[str], since: datetime
) -> None:
    """No failed workflow task in any history touched, and no activity retrying."""
    ids = {workflow_id(p) for p in participants}
    query = f"StartTime >= '{since.isoformat()}'"
    ids |= {run.id async for run in env.client.list_workflows(query)}
    for wid in sorted(ids):
        handle = env.client.get_workflow_handle(wid)
        history = await handle.fetch_history()
        failed = [
            e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        assert not failed, f"{wid}: {failed[0].workflow_task_failed_event_attributes}"
        description = await handle.describe()
        retrying = [a for a in description.raw_description.pending_activities if a.attempt > 1]
        assert not retrying, f"{wid}: {retrying[0].activity_type.name} {retrying[0].last_failure}"


async def assert_no_partial_write(
    env: WorkflowEnvironment, pool: Pool, since: datetime, seconds: float = 20
) -> None:
    """Every enrolment since `since` has both its row and its trajectory, and the read model
    holds what each trajectory holds (its revision and every milestone, once)."""
    rows = await pool.fetch(
        "SELECT participant_id FROM participants WHERE enrolled_at >= $1", since
    )
    enrolled = {row["participant_id"] for row in rows}
    query = f"WorkflowType = 'ParticipantTrajectory' AND StartTime >= '{since.isoformat()}'"
    started = {run.id.removeprefix("trajectory-") async for run in env.client.list_workflows(query)}
    assert started <= enrolled, f"trajectories without a participant: {started - enrolled}"
    deadline = asyncio.get_running_loop().time() + seconds
    for participant_id in sorted(enrolled):
        snapshot = await env.client.get_workflow_handle(workflow_id(participant_id)).query(
            ParticipantTrajectory.snapshot
        )
        while (stored := await _stored(pool, participant_id)) != (
            snapshot.revision,
            snapshot.milestone_count,
        ):
            assert asyncio.get_running_loop().time() < deadline, (
                f"{participant_id}: read model {stored}, workflow "
                f"{(snapshot.revision, snapshot.milestone_count)} (revision, milestones)"
            )
            await asyncio.sleep(0.1)


async def _stored(pool: Pool, participant_id: str) -> tuple[int | None, int]:
    revision = await pool.fetchval(
        "SELECT revision FROM trajectories WHERE participant_id = $1", participant_id
    )
    count = await pool.fetchval(
        "SELECT count(*) FROM milestones WHERE participant_id = $1", participant_id
    )
    return revision, count

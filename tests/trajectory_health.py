"""Checks that no input broke a trajectory: no failed workflow task, no activity retrying."""

from datetime import datetime

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from infra.contract import workflow_id


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

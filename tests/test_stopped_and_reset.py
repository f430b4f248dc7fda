"""The read model follows what operators do to workflows from outside: a terminated run shows
`needs_attention` until it is revived, and a reset trajectory's later steps are written though
the reset numbered them again from an earlier point."""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ResetReapplyExcludeType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from activities.stopped_runs import StoppedRunSweep
from infra import contract
from infra.database import Pool
from starter.revival import revive
from tests.journeys import Start
from trajectory.milestones import MilestoneType
from trajectory.phases import Status
from workflows.trajectory import ParticipantTrajectory


async def eventually(
    pool: Pool, participant_id: str, columns: str, wanted: tuple[object, ...]
) -> None:
    """Poll the participant's `trajectories` row until `columns` hold `wanted` (10 s at most)."""
    for _ in range(100):
        row = await pool.fetchrow(
            f"SELECT {columns} FROM trajectories WHERE participant_id = $1", participant_id
        )
        if row is not None and tuple(row.values()) == wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the read model holds {row}, not {wanted}")


async def search_attributes_once_shown(
    handle: WorkflowHandle[Any, Any],
) -> TypedSearchAttributes:
    """The run's search attributes once its first workflow task set `ParcoursPartner`."""
    for _ in range(100):
        found = (await handle.describe()).typed_search_attributes
        if found.get(contract.PARTNER) is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the run never showed its search attributes")


async def swept(sweep: StoppedRunSweep, since: datetime) -> int:
    """What the sweep marks once visibility lists the stopped run; it may lag the terminate."""
    for _ in range(100):
        if marked := await sweep.sweep(since):
            return marked
        await asyncio.sleep(0.1)
    return 0


async def test_a_terminated_trajectory_needs_attention_until_revived_where_it_stood(
    dev_env: WorkflowEnvironment, dev_start: Start, pool: Pool
) -> None:
    journey = await dev_start("jes")
    await journey.report(MilestoneType.PARTICIPANT_CONTACT)
    before = await journey.written()
    await journey.handle.terminate(reason="operator's mistake")
    sweep = StoppedRunSweep(dev_env.client, pool, timedelta(seconds=1))

    marked = await swept(sweep, since=before.enrolled_at - timedelta(minutes=1))

    assert marked >= 1
    row = await pool.fetchrow(
        "SELECT status, attention FROM trajectories WHERE participant_id = $1",
        journey.participant_id,
    )
    assert row is not None and row["status"] == "needs_attention"
    assert "terminated" in row["attention"]

    await revive(dev_env.client, journey.participant_id)
    assert (await journey.handle.describe()).status == WorkflowExecutionStatus.RUNNING
    found = await search_attributes_once_shown(journey.handle)
    assert found.get(contract.POSTCODE) == "1080", "a revived run is found by commune"
    assert found.get(contract.ENROLLED_AT) == before.enrolled_at
    revived = await journey.handle.query(ParticipantTrajectory.snapshot)
    assert revived.status == Status.ACTIVE
    assert revived.milestone_count == before.milestone_count
    await eventually(pool, journey.participant_id, "status, attention", ("active", None))
    assert (await journey.report(MilestoneType.PARTICIPANT_CONTACT)).milestone_count == 2
    assert await sweep.sweep(since=before.enrolled_at) == 0, "a revived run is not marked again"


async def test_after_a_reset_the_read_model_follows_the_new_run(
    dev_env: WorkflowEnvironment, dev_start: Start, pool: Pool
) -> None:
    journey = await dev_start("jes")
    now = await journey.now()
    await journey.report(MilestoneType.PARTICIPANT_CONTACT, occurred_at=now - timedelta(hours=3))
    await journey.written()
    await journey.report(MilestoneType.PARTICIPANT_CONTACT, occurred_at=now - timedelta(hours=2))
    await journey.written()
    history = await journey.handle.fetch_history()
    accepted = [
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    reset_point = max(
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and e.event_id < accepted[1]
    )
    described = await journey.handle.describe()
    await dev_env.client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=dev_env.client.namespace,
            workflow_execution=WorkflowExecution(
                workflow_id=journey.handle.id, run_id=described.run_id
            ),
            reason="undo the second contact",
            workflow_task_finish_event_id=reset_point,
            request_id=str(uuid.uuid4()),
            reset_reapply_exclude_types=[
                ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE,
                ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL,
            ],
        )
    )
    latest = now - timedelta(hours=1)

    after = await journey.report(MilestoneType.PARTICIPANT_CONTACT, occurred_at=latest)

    await eventually(
        pool,
        journey.participant_id,
        "revision, milestone_count, last_milestone_at",
        (after.revision, 2, latest),
    )

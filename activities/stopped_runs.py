"""The worker's sweep for trajectories whose workflow was stopped from outside.

Every `interval` it asks Temporal's visibility for `ParticipantTrajectory` runs that closed
terminated, failed, timed out or cancelled since the last look, and marks each trajectory
`needs_attention` in the read model unless a newer run took over (`python -m starter revive`).
Several workers may sweep at once: marking is idempotent.
"""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import structlog
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from infra.contract import participant_id_of
from infra.database import DATABASE_DOWN, Pool
from readmodel.stopped import mark_stopped

log = structlog.stdlib.get_logger(__name__)

STOPPED = {
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TIMED_OUT: "timed out",
    WorkflowExecutionStatus.CANCELED: "cancelled",
}
_PASSING: tuple[type[Exception], ...] = (RPCError, *DATABASE_DOWN)
"""Temporal or PostgreSQL away: the next sweep tries again."""
LOOK_BACK = timedelta(days=1)
"""How far back the first sweep after a start looks."""
_QUERY = (
    "WorkflowType = 'ParticipantTrajectory'"
    " AND ExecutionStatus IN ('Terminated', 'Failed', 'TimedOut', 'Canceled')"
    " AND CloseTime >= '{since}'"
)


class StoppedRunSweep:
    """Marks trajectories whose last run was stopped from outside; see the module."""

    def __init__(self, client: Client, pool: Pool, interval: timedelta) -> None:
        self._client, self._pool, self._interval = client, pool, interval

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every `interval` until `stop` is set."""
        since = datetime.now(UTC) - LOOK_BACK
        while not stop.is_set():
            started = datetime.now(UTC)
            try:
                await self.sweep(since)
                since = started - self._interval  # overlap: visibility may lag a little
            except _PASSING as error:
                log.warning("stopped_run_sweep_failed", error=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval.total_seconds())

    async def sweep(self, since: datetime) -> int:
        """Mark the trajectories stopped since `since`; how many were marked."""
        marked = 0
        query = _QUERY.format(since=since.isoformat().replace("+00:00", "Z"))
        async for execution in self._client.list_workflows(query):
            latest = await self._client.get_workflow_handle(execution.id).describe()
            if latest.status not in STOPPED:
                continue  # a later run took over
            participant_id = participant_id_of(execution.id)
            attention = f"the workflow was {STOPPED[latest.status]} from outside; revive or close"
            async with self._pool.acquire() as con:
                if await mark_stopped(con, participant_id, attention):
                    marked += 1
                    log.warning(
                        "trajectory_stopped_from_outside",
                        participant_id=participant_id,
                        workflow_id=execution.id,
                        run_id=latest.run_id,
                        status=latest.status.name,
                    )
        return marked

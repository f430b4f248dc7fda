"""Retention before erasure: a person restricted within the ESF+ retention period is erased by
itself once the configured retention end (`PARCOURS_RETENTION_UNTIL`) has passed.

Each worker sweeps every `interval`: for each restricted person not erased yet, the data key is
shredded (`readmodel.persons.erase_person`) and the ended runs of their trajectory's workflow are
deleted from Temporal, with their histories. Several workers may sweep at once: both steps are
idempotent. `python -m starter erase` uses `delete_histories` too.
"""

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import structlog
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from infra.contract import workflow_id
from infra.database import DATABASE_DOWN, Pool
from readmodel.persons import erase_person, restricted_persons
from trajectory.daytime import BRUSSELS

log = structlog.stdlib.get_logger(__name__)

RETENTION_ENDED = "the ESF+ retention period ended"
"""The reason kept with an erasure that ran by itself."""
_PASSING: tuple[type[Exception], ...] = (RPCError, *DATABASE_DOWN)
"""Temporal or PostgreSQL away: the next sweep tries again."""


@dataclass(frozen=True)
class Histories:
    """What became of a trajectory's workflow runs."""

    deleted: int
    running: int


async def delete_histories(client: Client, participant_id: str) -> Histories:
    """Delete every ended run of the participant's workflow; count those still running."""
    wanted = workflow_id(participant_id)
    runs = {
        execution.run_id: execution.status
        async for execution in client.list_workflows(f'WorkflowId = "{wanted}"')
    }
    try:  # the newest run, even where visibility lags behind
        latest = await client.get_workflow_handle(wanted).describe()
        runs[latest.run_id] = latest.status
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
    deleted = running = 0
    for run_id, status in runs.items():
        if status == WorkflowExecutionStatus.RUNNING:
            running += 1
            continue
        try:
            await client.workflow_service.delete_workflow_execution(
                DeleteWorkflowExecutionRequest(
                    namespace=client.namespace,
                    workflow_execution=WorkflowExecution(workflow_id=wanted, run_id=run_id),
                )
            )
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:  # deleted meanwhile
                raise
            continue
        deleted += 1
    return Histories(deleted=deleted, running=running)


def retention_over(retention_until: date | None, today: date) -> bool:
    """Whether ESF+ records may go: the configured last day of retention has passed. Unset, the
    end is not known yet (it follows the programme's last payment), so nothing goes."""
    return retention_until is not None and today > retention_until


class RetentionSweep:
    """Erases restricted persons once the retention period is over; see the module."""

    def __init__(
        self, client: Client, pool: Pool, retention_until: date | None, interval: timedelta
    ) -> None:
        self._client, self._pool = client, pool
        self._retention_until, self._interval = retention_until, interval

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every `interval` until `stop` is set."""
        while not stop.is_set():
            try:
                await self.sweep(datetime.now(BRUSSELS).date())
            except _PASSING as error:
                log.warning("retention_sweep_failed", error=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval.total_seconds())

    async def sweep(self, today: date) -> list[str]:
        """Erase every restricted person when the retention is over on `today`, and delete the
        histories of their trajectories; those erased."""
        erased = await erase_restricted(self._pool, self._retention_until, today)
        for participant_id in erased:
            histories = await delete_histories(self._client, participant_id)
            log.info(
                "retention_ended_erased",
                participant_id=participant_id,
                histories_deleted=histories.deleted,
            )
        return erased


async def erase_restricted(pool: Pool, retention_until: date | None, today: date) -> list[str]:
    """Erase every restricted person for good, in PostgreSQL, once the retention is over on
    `today`; those erased (none before)."""
    if not retention_over(retention_until, today):
        return []
    async with pool.acquire() as con:
        waiting = await restricted_persons(con)
    erased = []
    for participant_id in waiting:
        async with pool.acquire() as con:
            if await erase_person(con, participant_id, RETENTION_ENDED):
                erased.append(participant_id)
    return erased

"""`python -m starter erase PARTICIPANT_ID`: erase one person's personal data for good.

In PostgreSQL the person's data key is destroyed (crypto-shredding): their sealed personal data
and every free text written about them (`readmodel.free_text`) can no longer be read; their
fingerprint goes and the PES reference becomes a pseudonym. In Temporal, every run of the
trajectory's workflow that has ended is deleted, so its history (which holds case managers'
reasons and milestone texts, encrypted under the payload keys) goes too.

A workflow that still runs is left alone: deleting it would terminate it, skipping what it still
owes (seats handed on, the last read-model writes, the result on leaving) and leaving the read
model to believe it runs. The command says so and exits 3; close the trajectory (outcome
`withdrawn`), wait until its workflow ends, and run the command again: it is idempotent.
"""

import argparse
import asyncio
import sys
from dataclasses import dataclass

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from infra.contract import workflow_id
from infra.database import open_pool
from infra.settings import get_settings
from infra.temporal import connect
from readmodel import migrate
from readmodel.persons import erase_person
from readmodel.trajectories import trajectory_status

INCOMPLETE = 3
"""Exit code: the personal data is erased, but a workflow still runs (or Temporal did not
answer) and its history stays until `erase` runs again."""


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`erase PARTICIPANT_ID`; run by `args.run(args) -> exit code`."""
    erase = subparsers.add_parser(
        "erase",
        help="erase a participant's personal data for good (crypto-shredding) and delete the "
        "ended workflow histories of their trajectory",
    )
    erase.add_argument("participant_id", metavar="PARTICIPANT_ID")
    erase.set_defaults(run=run)


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


def run(args: argparse.Namespace) -> int:
    """Carry out `erase`: 0 done, 1 nothing to erase, 3 a history left to delete later."""
    return asyncio.run(_run(args.participant_id))


async def _run(participant_id: str) -> int:
    settings = get_settings()
    pool = await open_pool(settings)
    try:
        await migrate(pool)
        async with pool.acquire() as con:
            erased = await erase_person(con, participant_id)
            status = await trajectory_status(con, participant_id)
    finally:
        await pool.close()
    if erased:
        sys.stdout.write(f"erased the personal data of {participant_id}\n")
    try:
        histories = await delete_histories(await connect(settings), participant_id)
    except (RuntimeError, RPCError) as error:
        sys.stderr.write(
            f"{participant_id}: Temporal did not answer ({type(error).__name__}); its history "
            "is not deleted yet: run erase again\n"
        )
        return INCOMPLETE
    if histories.deleted:
        sys.stdout.write(f"deleted {histories.deleted} workflow run(s) from Temporal\n")
    if histories.running:
        if status == "closed":
            why = "its trajectory is closed but its workflow still runs (a check-in after leaving)"
        else:
            still = status or "open"
            why = f"its trajectory is still {still}: close it (outcome withdrawn) through the API"
        sys.stderr.write(
            f"{participant_id}: {why}; run erase again once the workflow has ended, to delete "
            "its history from Temporal\n"
        )
        return INCOMPLETE
    if not erased and not histories.deleted:
        sys.stderr.write(f"{participant_id}: nothing to erase (unknown or erased)\n")
        return 1
    return 0

"""`python -m starter revive PARTICIPANT_ID`: a new run for a trajectory stopped from outside.

An operator who terminated a run by mistake, or a run that failed, gets the trajectory going
again where it stood: the last run's state is read back (Temporal replays it for the query) and
a new run of the same workflow id starts from it. Only a stopped run can be revived: Temporal
refuses a new run while one runs or after one completed.
"""

import argparse
import asyncio
import sys

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.stopped_runs import STOPPED
from infra.contract import TASK_QUEUE, workflow_id
from infra.settings import get_settings
from infra.temporal import connect
from trajectory.records import TrajectorySnapshot
from trajectory.state import TrajectoryInput, TrajectoryState
from workflows.trajectory import ParticipantTrajectory


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`revive PARTICIPANT_ID`; run by `args.run(args) -> exit code`."""
    revive = subparsers.add_parser(
        "revive", help="start a new run of a trajectory terminated or failed from outside"
    )
    revive.add_argument("participant_id", metavar="PARTICIPANT_ID")
    revive.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Carry out `revive`; 1 when there is no stopped run to revive."""
    return asyncio.run(_run(args.participant_id))


async def revive(client: Client, participant_id: str, history_limit: int = 10_000) -> str:
    """Start a run from the stopped run's last state; the new run's id."""
    handle: WorkflowHandle[ParticipantTrajectory, TrajectorySnapshot] = (
        client.get_workflow_handle_for(ParticipantTrajectory.run, workflow_id(participant_id))
    )
    stopped = await handle.describe()
    if stopped.status not in STOPPED:
        status = stopped.status.name.lower() if stopped.status else "unknown"
        raise RevivalRefused(f"its workflow is {status}, not stopped from outside")
    state: TrajectoryState = await handle.query(ParticipantTrajectory.state)
    new = await client.start_workflow(
        ParticipantTrajectory.run,
        TrajectoryInput(
            participant_id=state.participant_id,
            programme=state.programme,
            postcode=state.postcode,
            language=state.language,
            day_seconds=state.day_seconds,
            history_limit=history_limit,
            state=state,
            revived=True,
        ),
        id=handle.id,
        task_queue=TASK_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    )
    return new.result_run_id or ""


class RevivalRefused(Exception):
    """The trajectory has no stopped run to revive; the message says why."""


async def _run(participant_id: str) -> int:
    settings = get_settings()
    client = await connect(settings)
    try:
        run_id = await revive(client, participant_id, settings.history_limit)
    except (RevivalRefused, WorkflowAlreadyStartedError) as refusal:
        sys.stderr.write(f"{participant_id}: cannot revive: {refusal}\n")
        return 1
    except RPCError as error:
        sys.stderr.write(f"{participant_id}: cannot revive: {error.message}\n")
        return 1
    sys.stdout.write(f"revived {participant_id} in run {run_id}\n")
    return 0

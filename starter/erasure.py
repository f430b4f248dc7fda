"""`python -m starter erase PARTICIPANT_ID [--not-esf REASON]`: a person asks to be erased.

ESF+ records must be kept five years from 31 December of the year of the last payment (Regulation
(EU) 2021/1060, Art. 82), which GDPR Art. 17(3)(b) allows. So, until `PARCOURS_RETENTION_UNTIL`
has passed (or while it is not set), the request restricts processing: the person is hidden from
every view and export but an auditor's (`python -m starter persons audit`), their identity stays
sealed, and the worker erases them by itself once the retention ends
(`activities.retention.RetentionSweep`). A record outside ESF+ (a test record, an enrolment made
in error: `--not-esf REASON`), or a request after the retention ended, is erased at once: the data
key is destroyed (crypto-shredding), so their sealed personal data and every free text written
about them (`readmodel.free_text`) can no longer be read; the PES reference becomes a pseudonym,
and every ended run of the trajectory's workflow is deleted from Temporal with its history.

Either way the trajectory asks nothing more of the person: a running workflow is ended first (an
open trajectory closes as `withdrawn`, cause `erasure_requested`, and any check-in still to come
is kept as unanswered), so no follow-up keeps their free text readable in a running history for
months. The person's fingerprint stays while a trajectory of theirs is open, so they cannot be
enrolled a second time meanwhile; it goes when that trajectory closes.
"""

import argparse
import asyncio
import sys
from datetime import datetime

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from activities.retention import delete_histories, retention_over
from infra.contract import workflow_id
from infra.database import open_pool
from infra.settings import Settings, get_settings
from infra.temporal import connect
from readmodel import migrate
from readmodel.persons import erase_person, restrict_person
from trajectory.daytime import BRUSSELS
from workflows.trajectory import ParticipantTrajectory

INCOMPLETE = 3
"""Exit code: what PostgreSQL holds is done, but Temporal did not answer (or a workflow did not
end) and its history stays until `erase` runs again."""
ENDING_SECONDS = 60
"""How long the command waits for an ended trajectory's workflow to finish."""
REQUESTED = "erasure requested within the ESF+ retention period"
_TEMPORAL_AWAY = (RuntimeError, RPCError, TimeoutError, WorkflowUpdateFailedError)
"""Temporal unreachable, or the trajectory not ended in time: run the command again."""


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`erase PARTICIPANT_ID [--not-esf REASON]`; run by `args.run(args) -> exit code`."""
    erase = subparsers.add_parser(
        "erase",
        help="a person asks to be erased: within the ESF+ retention period their processing is "
        "restricted and they are erased when it ends; after it, or with --not-esf, at once "
        "(crypto-shredding, ended workflow histories deleted)",
    )
    erase.add_argument("participant_id", metavar="PARTICIPANT_ID")
    erase.add_argument(
        "--not-esf",
        metavar="REASON",
        dest="not_esf",
        help="the record is no ESF+ record (a test record, an enrolment made in error): erase it "
        "at once, keeping REASON",
    )
    erase.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """0 done, 1 nothing to erase or restrict, 3 a history left to delete later."""
    if args.not_esf is not None and not args.not_esf.strip():
        sys.stderr.write("--not-esf: say why the record is no ESF+ record\n")
        return 2
    return asyncio.run(_run(args.participant_id, args.not_esf))


async def _run(participant_id: str, not_esf: str | None) -> int:
    settings = get_settings()
    today = datetime.now(BRUSSELS).date()
    at_once = not_esf is not None or retention_over(settings.retention_until, today)
    client: Client | None = None
    ended = False
    try:
        client = await connect(settings)
        ended = await _end_trajectory(client, participant_id)
    except _TEMPORAL_AWAY:
        client = None
    pool = await open_pool(settings)
    try:
        await migrate(pool)
        async with pool.acquire() as con:
            if at_once:
                done = await erase_person(con, participant_id, not_esf or "retention ended")
            else:
                done = await restrict_person(con, participant_id, REQUESTED)
    finally:
        await pool.close()
    if done:
        sys.stdout.write(_said(participant_id, at_once, settings))
    if ended:
        sys.stdout.write(f"ended the trajectory of {participant_id}: nothing more is asked\n")
    if client is None:
        sys.stderr.write(
            f"{participant_id}: Temporal did not answer (or the trajectory did not end in "
            f"{ENDING_SECONDS} s); its history is not deleted yet: run erase again\n"
        )
        return INCOMPLETE
    if not at_once:
        return 0 if done or ended else _nothing(participant_id)
    histories = await delete_histories(client, participant_id)
    if histories.deleted:
        sys.stdout.write(f"deleted {histories.deleted} workflow run(s) from Temporal\n")
    if histories.running:
        sys.stderr.write(
            f"{participant_id}: its workflow still runs; run erase again once it has ended, to "
            "delete its history from Temporal\n"
        )
        return INCOMPLETE
    return 0 if done or histories.deleted else _nothing(participant_id)


def _said(participant_id: str, at_once: bool, settings: Settings) -> str:
    if at_once:
        return f"erased the personal data of {participant_id}\n"
    until = settings.retention_until
    when = f"after {until}" if until else "once PARCOURS_RETENTION_UNTIL is set and has passed"
    return (
        f"restricted the processing of {participant_id}: hidden from every view but an "
        f"auditor's, erased by the worker {when}\n"
    )


def _nothing(participant_id: str) -> int:
    sys.stderr.write(f"{participant_id}: nothing to erase (unknown or erased)\n")
    return 1


async def _end_trajectory(client: Client, participant_id: str) -> bool:
    """End the trajectory's running workflow (see the module) and wait until it has finished;
    False when none runs."""
    handle: WorkflowHandle[ParticipantTrajectory, object] = client.get_workflow_handle_for(
        ParticipantTrajectory.run, workflow_id(participant_id)
    )
    try:
        described = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    if described.status != WorkflowExecutionStatus.RUNNING:
        return False
    await handle.execute_update(
        ParticipantTrajectory.end_for_erasure, id=f"erasure-{participant_id}"
    )
    await asyncio.wait_for(handle.result(), ENDING_SECONDS)
    return True

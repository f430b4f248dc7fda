"""`python -m starter persons rewrap`: move every person's data key and fingerprint under the
current person key, after a rotation of `PARCOURS_PERSON_KEYS` (or the first time it is set).
`python -m starter persons audit PARTICIPANT_ID --auditor NAME`: an auditor's view of one
person, restricted ones included (the read is recorded in the audit trail)."""

import argparse
import asyncio
import json
import sys

from infra.database import open_pool
from infra.person_keys import configured_person_keys
from infra.settings import get_settings
from readmodel import migrate
from readmodel.key_rotation import BATCH, Rotation, rotate
from readmodel.persons import is_restricted, read_person
from readmodel.trajectories import stored_snapshot


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`persons rewrap [--batch N]`, `persons audit PARTICIPANT_ID --auditor NAME`; run by
    `args.run(args) -> exit code`."""
    persons = subparsers.add_parser("persons", help="the keys that guard personal data")
    commands = persons.add_subparsers(dest="persons_command", required=True, metavar="COMMAND")
    audit = commands.add_parser(
        "audit",
        help="show one person and their trajectory to an auditor, also when their processing "
        "is restricted (the read is audited)",
    )
    audit.add_argument("participant_id", metavar="PARTICIPANT_ID")
    audit.add_argument("--auditor", required=True, help="who audits, as the audit trail names")
    audit.set_defaults(run=run_audit)
    rewrap = commands.add_parser(
        "rewrap",
        help="re-wrap every person's data key and recompute every fingerprint under the current "
        "person key (idempotent; run it again after an interruption)",
    )
    rewrap.add_argument("--batch", type=int, default=BATCH, help="rows per transaction")
    rewrap.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Carry out `rewrap`; 1 when rows are left under a key no configured key opens."""
    rotation = asyncio.run(_run(args.batch))
    sys.stdout.write(report(rotation))
    return 1 if rotation.unopened or rotation.secrets_left else 0


async def _run(batch: int) -> Rotation:
    settings = get_settings()
    keys = configured_person_keys(settings)
    pool = await open_pool(settings)
    try:
        await migrate(pool)
        return await rotate(pool, keys, batch)
    finally:
        await pool.close()


def report(rotation: Rotation) -> str:
    """What the run did and what is left, one line each."""
    lines = [
        f"current person key: {rotation.current}",
        f"data keys re-wrapped: {rotation.rewrapped}",
        f"fingerprints recomputed: {rotation.fingerprinted}",
        f"webhook secrets re-sealed: {rotation.secrets_resealed}",
        f"still under another key: {rotation.keys_left} data keys, "
        f"{rotation.fingerprints_left} fingerprints, {rotation.secrets_left} webhook secrets",
    ]
    if rotation.unopened:
        lines.append(
            f"{rotation.unopened} data keys open under no configured key: put the retired key "
            "back into PARCOURS_PERSON_KEYS (or PARCOURS_CODEC_KEYS) and run this again"
        )
    if rotation.secrets_left:
        lines.append(
            f"{rotation.secrets_left} webhook secrets open under no configured key: put the "
            "retired key back and run this again, or register those webhooks again"
        )
    if rotation.registry_left:
        lines.append(
            f"{rotation.registry_left} rows of the other-measures registry are under another "
            "key: load the registry again before retiring that key"
        )
    return "".join(f"{line}\n" for line in lines)


def run_audit(args: argparse.Namespace) -> int:
    """Print the person and their trajectory as JSON lines; 1 when nothing is left to show."""
    return asyncio.run(_audit(args.participant_id, args.auditor))


async def _audit(participant_id: str, auditor: str) -> int:
    settings = get_settings()
    keys = configured_person_keys(settings)
    pool = await open_pool(settings)
    try:
        await migrate(pool)
        async with pool.acquire() as con:
            restricted = await is_restricted(con, participant_id)
            person = await read_person(
                con,
                participant_id,
                f"auditor:{auditor}",
                purpose="ESF+ audit",
                keys=keys,
                restricted_too=True,
            )
        snapshot = await stored_snapshot(pool, participant_id)
    finally:
        await pool.close()
    if person is None and snapshot is None:
        sys.stderr.write(f"{participant_id}: nothing to show (unknown, or erased)\n")
        return 1
    heading = {"participant_id": participant_id, "restricted": restricted}
    sys.stdout.write(json.dumps(heading) + "\n")
    if person is not None:
        sys.stdout.write(person.model_dump_json() + "\n")
    if snapshot is not None:
        sys.stdout.write(snapshot.model_dump_json() + "\n")
    return 0

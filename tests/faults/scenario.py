"""One fault under load: milestones flow, the fault strikes and passes, the load stops, and
what every trajectory and the read model hold is compared with what partners were told."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio.client import Client

from bench.parcours import Person
from bench.stack import Stack
from infra.database import Pool
from tests.faults.figures import FaultFigures
from tests.faults.reconcile import Findings, compare, read_model_holds, settled
from tests.faults.stream import MilestoneStream

BEFORE = 100
"""Milestones answered before the fault strikes: the load is flowing."""
AFTER = 200
"""Milestones sent after the fault and answered, before the load stops."""

Fault = Callable[[MilestoneStream], Awaitable[None]]
"""Strikes, and returns once the stack is whole again (the process restarted, the server back)."""


@dataclass(frozen=True)
class Load:
    """The stack with its open trajectories, and the test's own ways to look at them."""

    stack: Stack
    people: list[Person]
    client: Client
    database: Pool


@dataclass(frozen=True)
class Run:
    figures: FaultFigures
    findings: Findings
    stream: MilestoneStream
    exited: list[str]
    """Processes of the stack that are not running after the fault (none should be)."""


async def under_load(load: Load, name: str, fault: Fault) -> Run:
    """Run `fault` while partners report milestones; the figures and what was found after."""
    stream = MilestoneStream(load.stack.api_url, load.stack.keys, load.people)
    began = time.monotonic()
    stream.start()
    try:
        await stream.answers(BEFORE, after=began)
        in_flight = stream.in_flight
        struck = time.monotonic()
        await fault(stream)
        back = time.monotonic()
        before_back = [ack for ack in stream.acks if ack.answered <= back]
        catching_up = asyncio.create_task(read_model_holds(load.database, before_back))
        try:
            await stream.answers(AFTER, after=back)
            caught_up = await catching_up
        finally:
            catching_up.cancel()
        assert caught_up is not None, "the read model never caught up"
    finally:
        await stream.stop()
    held, rows, milestones = await settled(load.client, load.database, load.people)
    findings = compare(stream.acks, held, rows, milestones)
    first_answer = stream.first_answer_after(struck)
    assert first_answer is not None
    figures = FaultFigures(
        fault=name,
        open_trajectories=findings.running,
        requests_in_flight=in_flight,
        acknowledged=findings.acknowledged,
        in_workflow=findings.in_workflow,
        in_read_model_once=findings.in_read_model_once,
        duplicated=len(findings.duplicated),
        retried=sum(ack.attempts - 1 for ack in stream.acks),
        answering_again_s=round(first_answer - struck, 2),
        read_model_caught_up_s=round(caught_up - back, 2),
        longest_wait_s=round(max(a.answered - a.first_sent for a in stream.acks), 2),
        failures=dict(stream.failures),
    )
    stack = load.stack
    processes = (stack.server, *stack.workers, stack.api)
    exited = [p.name for p in processes if p is not None and p.process.returncode is not None]
    return Run(figures, findings, stream, exited)


def assert_nothing_lost(run: Run) -> None:
    """What every fault must leave: each 200 recorded once in its workflow and in the read
    model, read model equal to the workflows, no trajectory failed or stuck, every process
    of the stack running, no partner refused, told anything but 503 while waiting, or left
    without an answer."""
    findings, stream = run.findings, run.stream
    assert not run.exited, f"{run.exited} stopped by themselves"
    assert not stream.refusals, stream.refusals[:5]
    unexpected = [f for f in stream.failures if f.startswith("5") and not f.startswith("503 ")]
    assert not unexpected, f"partners got {unexpected}, not 503 (retry later)"
    assert not stream.unanswered, f"{len(stream.unanswered)} milestones never answered"
    assert not findings.missing_in_workflow, findings.missing_in_workflow[:5]
    assert not findings.missing_in_read_model, findings.missing_in_read_model[:5]
    assert not findings.duplicated, findings.duplicated[:5]
    assert not findings.extra_in_read_model, findings.extra_in_read_model[:5]
    assert not findings.stuck, findings.stuck[:5]
    assert not findings.differing, findings.differing[:5]
    assert findings.running == findings.trajectories
    assert findings.in_workflow == findings.in_read_model_once == findings.acknowledged > 0

"""After a fault: what the workflows hold, what the read model holds, and whether they agree.

The workflows are asked directly (queries and descriptions over Temporal), not through the API,
which answers from the read model when a workflow cannot: a comparison through it could pass
by reading the read model twice.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowExecutionStatus

from bench.parcours import Person
from infra.contract import workflow_id
from infra.database import Pool
from readmodel.trajectories import list_snapshots
from tests.faults.stream import Ack
from workflows.trajectory import ParticipantTrajectory

CONCURRENCY = 16
"""Queries and descriptions asked at once."""
SETTLE_SECONDS = 180.0
"""How long the trajectories may take to settle after the load stops."""

T = TypeVar("T")


@dataclass(frozen=True)
class Trajectory:
    """One trajectory as its workflow holds it."""

    participant_id: str
    running: bool
    retrying: list[str]
    """Pending activities and workflow tasks past their first attempt, in words."""
    milestones: list[str]
    snapshot: dict[str, Any]


@dataclass
class Findings:
    """What a fault left behind; every list is empty when nothing was lost or broken."""

    trajectories: int
    running: int
    acknowledged: int
    in_workflow: int
    in_read_model_once: int
    missing_in_workflow: list[str] = field(default_factory=list)
    missing_in_read_model: list[str] = field(default_factory=list)
    """Milestones a workflow recorded (acknowledged or not) that the read model lacks."""
    duplicated: list[str] = field(default_factory=list)
    """Milestone ids recorded twice by a workflow or stored twice in the read model."""
    extra_in_read_model: list[str] = field(default_factory=list)
    """Milestones the read model holds that the workflow does not."""
    differing: list[str] = field(default_factory=list)
    """Participants whose `trajectories` row is not their workflow's state, with the fields."""
    stuck: list[str] = field(default_factory=list)
    """Trajectories not running, or with an activity or workflow task retrying."""


async def _each(items: Sequence[T], ask: Callable[[T], Awaitable[Any]]) -> list[Any]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: T) -> Any:
        async with gate:
            return await ask(item)

    return await asyncio.gather(*(one(item) for item in items))


async def trajectory(client: Client, participant_id: str) -> Trajectory:
    """The workflow's state, public state and pending work, asked of the workflow itself."""
    handle = client.get_workflow_handle(workflow_id(participant_id))
    description = await handle.describe()
    raw = description.raw_description
    retrying = [
        f"activity {activity.activity_type.name} attempt {activity.attempt}"
        for activity in raw.pending_activities
        if activity.attempt > 1
    ]
    if raw.HasField("pending_workflow_task") and raw.pending_workflow_task.attempt > 1:
        retrying.append(f"workflow task attempt {raw.pending_workflow_task.attempt}")
    running = description.status == WorkflowExecutionStatus.RUNNING
    state = await handle.query(ParticipantTrajectory.state)
    snapshot = await handle.query(ParticipantTrajectory.snapshot)
    return Trajectory(
        participant_id,
        running,
        retrying,
        list(state.milestones),
        snapshot.model_dump(mode="json"),
    )


async def trajectories(client: Client, people: Sequence[Person]) -> list[Trajectory]:
    return await _each([p.participant_id for p in people], lambda p: trajectory(client, p))


async def stored(
    database: Pool, people: Sequence[Person]
) -> tuple[dict[str, dict[str, Any]], Counter[tuple[str, str]]]:
    """The read model: each participant's `trajectories` row as a snapshot, and how many
    `milestones` rows each (participant, milestone id) has."""
    ids = [person.participant_id for person in people]
    snapshots = await list_snapshots(
        database, partner_id=None, phase=None, status=None, after=None, limit=1_000_000
    )
    wanted = set(ids)
    rows = await database.fetch(
        "SELECT participant_id, milestone_id, count(*) AS n FROM milestones"
        " WHERE participant_id = ANY($1::text[]) GROUP BY participant_id, milestone_id",
        ids,
    )
    return (
        {
            s.participant_id: s.model_dump(mode="json")
            for s in snapshots
            if s.participant_id in wanted
        },
        Counter({(row["participant_id"], row["milestone_id"]): row["n"] for row in rows}),
    )


async def settled(
    client: Client,
    database: Pool,
    people: Sequence[Person],
    seconds: float = SETTLE_SECONDS,
) -> tuple[list[Trajectory], dict[str, dict[str, Any]], Counter[tuple[str, str]]]:
    """Poll until no trajectory retries anything and the read model has every workflow's
    revision (or `seconds` pass); the workflows and the read model as they are then."""
    deadline = time.monotonic() + seconds
    while True:
        held = await trajectories(client, people)
        rows, milestones = await stored(database, people)
        behind = [
            t
            for t in held
            if t.retrying
            or t.participant_id not in rows
            or rows[t.participant_id]["revision"] < t.snapshot["revision"]
        ]
        if not behind or time.monotonic() > deadline:
            return held, rows, milestones
        await asyncio.sleep(1.0)


async def read_model_holds(
    database: Pool, acks: Collection[Ack], seconds: float = SETTLE_SECONDS
) -> float | None:
    """Poll until the `milestones` table holds every acknowledged milestone; when it did
    (`time.monotonic()`), None if it never did within `seconds`."""
    pairs = {(ack.participant_id, ack.milestone_id) for ack in acks}
    deadline = time.monotonic() + seconds
    while True:
        found = await database.fetchval(
            "SELECT count(*) FROM milestones WHERE (participant_id, milestone_id) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[]))",
            [pair[0] for pair in pairs],
            [pair[1] for pair in pairs],
        )
        if found >= len(pairs):
            return time.monotonic()
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.2)


def compare(
    acks: Sequence[Ack],
    held: Sequence[Trajectory],
    rows: dict[str, dict[str, Any]],
    milestones: Counter[tuple[str, str]],
) -> Findings:
    """What the acknowledged milestones became, and where workflows and read model differ."""
    recorded = {t.participant_id: set(t.milestones) for t in held}
    findings = Findings(
        trajectories=len(held),
        running=sum(t.running for t in held),
        acknowledged=len(acks),
        in_workflow=sum(a.milestone_id in recorded[a.participant_id] for a in acks),
        in_read_model_once=sum(milestones[(a.participant_id, a.milestone_id)] == 1 for a in acks),
    )
    findings.missing_in_workflow = [
        f"{a.participant_id}/{a.milestone_id}"
        for a in acks
        if a.milestone_id not in recorded[a.participant_id]
    ]
    findings.missing_in_read_model = [
        f"{participant_id}/{milestone_id}"
        for participant_id, ids in recorded.items()
        for milestone_id in ids
        if milestones[(participant_id, milestone_id)] == 0
    ]
    for (participant_id, milestone_id), count in milestones.items():
        if count > 1:
            findings.duplicated.append(f"{participant_id}/{milestone_id} stored {count} times")
        if milestone_id not in recorded[participant_id]:
            findings.extra_in_read_model.append(f"{participant_id}/{milestone_id}")
    for t in held:
        twice = [m for m, n in Counter(t.milestones).items() if n > 1]
        findings.duplicated += [f"{t.participant_id}/{m} recorded twice" for m in twice]
        row = rows.get(t.participant_id)
        if row != t.snapshot:
            fields = sorted(k for k in t.snapshot if row is None or row.get(k) != t.snapshot[k])
            findings.differing.append(f"{t.participant_id}: {', '.join(fields)}")
        if not t.running or t.retrying:
            state = "running" if t.running else "not running"
            findings.stuck.append(f"{t.participant_id} {state} {'; '.join(t.retrying)}")
    return findings

"""The `trajectories` table: one row per trajectory, the newest snapshot its workflow wrote.

Its columns are the snapshot's fields, `last_milestone` flattened into two, derived here from
`TrajectorySnapshot` once: the table, the writes and the API's state cannot drift apart.
"""

from datetime import datetime
from typing import Any

import asyncpg

from infra.contract import workflow_id
from infra.database import Connection, Pool
from trajectory.milestones import LastMilestone
from trajectory.phases import Outcome, Phase, Status
from trajectory.records import TrajectorySnapshot

_FLATTENED = {"last_milestone": ("last_milestone_type", "last_milestone_at")}
"""Snapshot fields stored in several columns."""

COLUMNS: tuple[str, ...] = tuple(
    column
    for field in TrajectorySnapshot.model_fields
    for column in _FLATTENED.get(field, (field,))
)
"""The snapshot's columns of `trajectories`, in the snapshot's field order."""

_UPSERT = f"""
INSERT INTO trajectories (workflow_id, step_at, {", ".join(COLUMNS)})
VALUES ({", ".join(f"${n}" for n in range(1, len(COLUMNS) + 3))})
ON CONFLICT (participant_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in (*COLUMNS, "step_at") if c != "participant_id")},
    updated_at = now()
WHERE trajectories.revision < EXCLUDED.revision OR trajectories.step_at < EXCLUDED.step_at
RETURNING revision
"""
"""Newer revisions win; so do later steps (`step_at`), which only a reset numbers lower."""

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM trajectories"

_ENROLLED = "SELECT partner_id, enrolled_at FROM participants WHERE participant_id = $1"

_NOT_RESTRICTED = """NOT EXISTS (
    SELECT 1 FROM persons s
    WHERE s.participant_id = trajectories.participant_id AND s.restricted_at IS NOT NULL
)"""
"""A person who asked to be erased within the ESF+ retention period is in no list."""


def snapshot_row(snapshot: TrajectorySnapshot) -> list[Any]:
    """The snapshot's values in `COLUMNS` order."""
    last = snapshot.last_milestone
    flattened = {
        "last_milestone": (last.type, last.occurred_at) if last else (None, None),
        "open_tasks": ([task.model_dump(mode="json") for task in snapshot.open_tasks],),
    }
    return [
        value
        for field in TrajectorySnapshot.model_fields
        for value in flattened.get(field, (getattr(snapshot, field),))
    ]


def snapshot_from_row(row: asyncpg.Record) -> TrajectorySnapshot:
    """A snapshot from a row selected with `COLUMNS`."""
    values = dict(row)
    kind, at = values.pop("last_milestone_type"), values.pop("last_milestone_at")
    last = LastMilestone(type=kind, occurred_at=at) if kind is not None else None
    return TrajectorySnapshot.model_validate({**values, "last_milestone": last})


async def store_snapshot(
    con: Connection, snapshot: TrajectorySnapshot, step_at: datetime | None = None
) -> bool:
    """Keep `snapshot` of the step at `step_at` unless a newer one is stored; True when kept."""
    kept = await con.fetchval(
        _UPSERT, workflow_id(snapshot.participant_id), step_at, *snapshot_row(snapshot)
    )
    return kept is not None


async def stored_snapshot(pool: Pool, participant_id: str) -> TrajectorySnapshot | None:
    """The newest snapshot written, the state at enrolment before any, None when unknown."""
    async with pool.acquire() as con:
        row = await con.fetchrow(f"{_SELECT} WHERE participant_id = $1", participant_id)
        if row is not None:
            return snapshot_from_row(row)
        enrolled = await con.fetchrow(_ENROLLED, participant_id)
    if enrolled is None:
        return None
    return TrajectorySnapshot.at_enrolment(
        participant_id, enrolled["partner_id"], enrolled["enrolled_at"]
    )


async def list_snapshots(
    pool: Pool,
    *,
    partner_id: str | None,
    phase: Phase | None,
    status: Status | None,
    after: str | None,
    limit: int,
) -> list[TrajectorySnapshot]:
    """Written snapshots matching every filter given, ordered by participant id after `after`;
    persons whose processing is restricted are left out."""
    filters: list[str] = [_NOT_RESTRICTED]
    values: list[object] = []
    for condition, value in (
        ("partner_id =", partner_id),
        ("phase =", phase),
        ("status =", status),
        ("participant_id >", after),
    ):
        if value is not None:
            values.append(value)
            filters.append(f"{condition} ${len(values)}")
    where = f"WHERE {' AND '.join(filters)}" if filters else ""
    values.append(limit)
    rows = await pool.fetch(
        f"{_SELECT} {where} ORDER BY participant_id LIMIT ${len(values)}", *values
    )
    return [snapshot_from_row(row) for row in rows]


async def trajectory_status(con: Connection, participant_id: str) -> Status | None:
    """The status the read model shows for the trajectory; None before its first write."""
    status: str | None = await con.fetchval(
        "SELECT status FROM trajectories WHERE participant_id = $1", participant_id
    )
    return Status(status) if status is not None else None


async def closed_outcome(pool: Pool, participant_id: str) -> Outcome | None:
    """The outcome of a trajectory the read model knows as closed."""
    outcome: str | None = await pool.fetchval(
        "SELECT outcome FROM trajectories WHERE participant_id = $1 AND status = 'closed'",
        participant_id,
    )
    return Outcome(outcome) if outcome is not None else None


async def milestone_fingerprint(pool: Pool, participant_id: str, milestone_id: str) -> str | None:
    """The fingerprint of what `milestone_id` said when it was recorded; None if it was not."""
    said: str | None = await pool.fetchval(
        "SELECT fingerprint FROM milestones WHERE participant_id = $1 AND milestone_id = $2",
        participant_id,
        milestone_id,
    )
    return said

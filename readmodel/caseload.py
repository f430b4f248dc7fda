"""A caseload as the web app shows it: trajectories with open tasks first, then by deadline.

Read from `trajectories` like the API's lists; filters by partner, phase, status (or every open
status), nudge level and silence since a moment.
"""

from dataclasses import dataclass
from datetime import datetime

from infra.database import Pool
from readmodel.trajectories import COLUMNS, snapshot_from_row
from trajectory.phases import Phase, Status
from trajectory.records import TrajectorySnapshot

OPEN = "open"
"""The status filter for every trajectory that is not closed."""

_ORDER = """
ORDER BY jsonb_array_length(open_tasks) > 0 DESC, next_deadline ASC NULLS LAST, participant_id
"""
"""Open tasks first, then the nearest deadline, then a stable order."""

_PHASE_COUNTS = """
SELECT phase, count(*) AS participants FROM trajectories
WHERE $1::text IS NULL OR partner_id = $1
GROUP BY phase
"""


@dataclass(frozen=True)
class CaseloadFilter:
    """Every filter that is not None applies."""

    partner_id: str | None = None
    phase: Phase | None = None
    status: Status | str | None = OPEN
    nudge_level: int | None = None
    silent_since: datetime | None = None
    """Only trajectories whose last contact was at or before this moment."""


async def caseload(
    pool: Pool, wanted: CaseloadFilter, *, limit: int, offset: int
) -> list[TrajectorySnapshot]:
    """One page of the trajectories `wanted` names, open tasks first, then by next deadline."""
    filters: list[str] = []
    values: list[object] = []
    for condition, value in (
        ("partner_id =", wanted.partner_id),
        ("phase =", wanted.phase),
        ("nudge_level =", wanted.nudge_level),
        ("last_contact_at <=", wanted.silent_since),
    ):
        if value is not None:
            values.append(value)
            filters.append(f"{condition} ${len(values)}")
    if wanted.status == OPEN:
        filters.append("status <> 'closed'")
    elif wanted.status is not None:
        values.append(wanted.status)
        filters.append(f"status = ${len(values)}")
    where = f"WHERE {' AND '.join(filters)}" if filters else ""
    values.extend((limit, offset))
    rows = await pool.fetch(
        f"SELECT {', '.join(COLUMNS)} FROM trajectories {where} {_ORDER}"
        f" LIMIT ${len(values) - 1} OFFSET ${len(values)}",
        *values,
    )
    return [snapshot_from_row(row) for row in rows]


async def phase_counts(pool: Pool, partner_id: str | None) -> dict[Phase, int]:
    """Trajectories per phase (closed ones under `closed`), of one partner or of all."""
    rows = await pool.fetch(_PHASE_COUNTS, partner_id)
    counted = {Phase(row["phase"]): row["participants"] for row in rows}
    return {phase: counted.get(phase, 0) for phase in Phase}

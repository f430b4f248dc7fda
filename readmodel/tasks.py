"""Coach tasks as people work them: lists by partner and status, and how fast they are done."""

from datetime import datetime
from typing import Any, Literal

from infra.database import Pool
from infra.person_keys import PersonKeys
from readmodel.actors import ACTOR_COLUMNS
from readmodel.free_text import sealers

TaskStatus = Literal["open", "done"]

_SELECT = f"""
SELECT * FROM (
    SELECT t.task_id, t.participant_id, t.kind, coalesce(tr.partner_id, t.partner_id) AS partner_id,
           t.opened_at, t.due_at, t.done_at, t.reached, t.note, t.note_sealed,
           {", ".join(f"t.{column}" for column in ACTOR_COLUMNS)}
    FROM tasks t LEFT JOIN trajectories tr USING (participant_id)
    LEFT JOIN persons s USING (participant_id)
    WHERE (t.done_at IS NOT NULL OR tr.status IS DISTINCT FROM 'closed')
      AND s.restricted_at IS NULL
) listed
"""
"""Tasks with the partner holding the participant now; a closed trajectory's open tasks are
nobody's work any more and are left out, and so is every task of a person who asked to be
erased within the ESF+ retention period (processing restricted)."""

_FIGURES = """
SELECT partner_id,
       count(*) AS opened,
       count(*) FILTER (WHERE done_at IS NOT NULL AND done_at <= due_at) AS done_in_time,
       count(*) FILTER (WHERE reached) AS reached
FROM tasks
WHERE task_id IS NOT NULL
GROUP BY partner_id
ORDER BY partner_id
"""


async def list_tasks(
    pool: Pool,
    *,
    partner_id: str | None,
    status: TaskStatus | None,
    after: tuple[datetime, str] | None,
    limit: int,
    keys: PersonKeys,
) -> list[dict[str, Any]]:
    """Tasks matching every filter given, oldest first, after the (opened_at, task_id) `after`;
    `partner_id` is the partner holding the participant now; `note` unsealed."""
    filters: list[str] = []
    values: list[object] = []
    if partner_id is not None:
        values.append(partner_id)
        filters.append(f"partner_id = ${len(values)}")
    if status is not None:
        filters.append("done_at IS NULL" if status == "open" else "done_at IS NOT NULL")
    if after is not None:
        values.extend(after)
        filters.append(f"(opened_at, task_id) > (${len(values) - 1}, ${len(values)})")
    where = f"WHERE {' AND '.join(filters)}" if filters else ""
    values.append(limit)
    async with pool.acquire() as con:
        rows = await con.fetch(
            f"{_SELECT} {where} ORDER BY opened_at, task_id LIMIT ${len(values)}", *values
        )
        noted = [row["participant_id"] for row in rows if row["note_sealed"] is not None]
        texts = await sealers(con, noted, keys)
    return [
        {
            **{k: v for k, v in row.items() if k != "note_sealed"},
            "note": row["note"]
            if row["note_sealed"] is None
            else texts[row["participant_id"]].unseal(f"task/{row['task_id']}", row["note_sealed"]),
        }
        for row in rows
    ]


async def task_figures(pool: Pool) -> list[dict[str, Any]]:
    """Per partner: tasks opened, done by their due date (two working days), participant reached."""
    return [dict(row) for row in await pool.fetch(_FIGURES)]

"""Rungs of the nudge ladder carried out, and the tasks they give people."""

from infra.database import Connection
from trajectory.records import NudgeRequest
from trajectory.tasks import task_id_for

_INSERT_NUDGE = """
INSERT INTO nudges (
    participant_id, seq, level, action, channel, language, phase, partner_id, silent_since, sent_at
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT DO NOTHING
RETURNING seq
"""

_INSERT_TASK = """
INSERT INTO tasks (participant_id, task_key, kind, partner_id, task_id, opened_at, due_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
"""


async def record_nudge(con: Connection, nudge: NudgeRequest) -> bool:
    """Log the rung; False when it was logged already (a retried activity)."""
    new = await con.fetchval(
        _INSERT_NUDGE,
        nudge.participant_id,
        nudge.seq,
        nudge.level,
        nudge.action,
        nudge.channel,
        nudge.language,
        nudge.phase,
        nudge.partner_id,
        nudge.silent_since,
        nudge.sent_at,
    )
    return new is not None


async def open_task(con: Connection, nudge: NudgeRequest) -> None:
    """A coach's call or a street worker's outreach asked for by the rung."""
    await con.execute(
        _INSERT_TASK,
        nudge.participant_id,
        f"nudge-{nudge.seq}",
        nudge.action,
        nudge.partner_id,
        nudge.task_id or task_id_for(nudge.participant_id, nudge.seq),
        nudge.sent_at,
        nudge.task_due_at,
    )

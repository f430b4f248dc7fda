"""Rungs of the nudge ladder carried out, and the tasks they give people."""

from infra.database import Connection
from trajectory.records import NudgeRequest
from trajectory.tasks import task_id_for

_INSERT_NUDGE = """
INSERT INTO nudges (
    participant_id, seq, level, action, channel, language, phase, partner_id, silent_since, sent_at
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (participant_id, seq) DO UPDATE SET
    level = EXCLUDED.level, action = EXCLUDED.action, channel = EXCLUDED.channel,
    language = EXCLUDED.language, phase = EXCLUDED.phase, partner_id = EXCLUDED.partner_id,
    silent_since = EXCLUDED.silent_since, sent_at = EXCLUDED.sent_at, contact_at = NULL
WHERE nudges.sent_at < EXCLUDED.sent_at
RETURNING seq
"""
"""Once per rung; a later rung under the same number comes from a reset: it is a new one."""

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

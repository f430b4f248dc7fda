"""A participant's timeline: milestones, phase changes, steering actions, nudges and tasks."""

from datetime import datetime
from typing import Any

from infra.database import Pool
from readmodel.actors import ACTOR_COLUMNS

_ACTOR = ", ".join(ACTOR_COLUMNS)
_ENGINE = ", ".join(f"NULL::text AS {column}" for column in ACTOR_COLUMNS)

_TIMELINE = f"""
SELECT at, kind, key, detail, {_ACTOR} FROM (
    SELECT occurred_at AS at, 'milestone' AS kind, milestone_id AS key,
           jsonb_build_object(
               'milestone_id', milestone_id, 'type', type, 'phase', phase,
               'recorded_by', recorded_by, 'payload', payload
           ) AS detail,
           {_ACTOR}
    FROM milestones WHERE participant_id = $1
    UNION ALL
    SELECT t.at, CASE WHEN s.seq IS NULL THEN 'phase_change' ELSE 'steering' END,
           lpad(t.seq::text, 10, '0'),
           jsonb_strip_nulls(jsonb_build_object(
               'action', s.action, 'from_phase', t.from_phase, 'to_phase', t.to_phase,
               'status', t.status, 'reason', s.reason,
               'cause', CASE WHEN s.seq IS NULL THEN t.cause END
           )),
           s.actor_role, s.actor_partner_id, s.actor_key_id, s.actor_user_id
    FROM phase_transitions t LEFT JOIN steering_actions s USING (participant_id, seq)
    WHERE t.participant_id = $1
    UNION ALL
    SELECT sent_at, 'nudge', lpad(seq::text, 10, '0'),
           jsonb_build_object(
               'level', level, 'action', action, 'channel', channel, 'language', language,
               'phase', phase
           ),
           {_ENGINE}
    FROM nudges WHERE participant_id = $1
    UNION ALL
    SELECT opened_at, 'task_opened', task_id,
           jsonb_build_object('task_id', task_id, 'kind', kind, 'due_at', due_at),
           {_ENGINE}
    FROM tasks WHERE participant_id = $1
    UNION ALL
    SELECT done_at, 'task_done', task_id,
           jsonb_strip_nulls(jsonb_build_object(
               'task_id', task_id, 'kind', kind, 'reached', reached, 'note', note
           )),
           {_ACTOR}
    FROM tasks WHERE participant_id = $1 AND done_at IS NOT NULL
) entries
WHERE $2::timestamptz IS NULL OR (at, kind, key) > ($2, $3, $4)
ORDER BY at, kind, key
LIMIT $5
"""


async def timeline(
    pool: Pool, participant_id: str, after: tuple[datetime, str, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Entries oldest first (ties by kind and key), after the (at, kind, key) `after`."""
    at, kind, key = after or (None, None, None)
    rows = await pool.fetch(_TIMELINE, participant_id, at, kind, key, limit)
    return [dict(row) for row in rows]

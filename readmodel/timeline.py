"""A participant's timeline: milestones, phase changes, steering actions, nudges and tasks.

Each entry's `detail` holds what is stored in clear; its `texts` the free text unsealed with the
participant's data key (`ERASED` once they are erased), for the API to show to those who may
read it.
"""

from datetime import datetime
from typing import Any

from infra.database import Pool
from infra.person_keys import PersonKeys
from readmodel.actors import ACTOR_COLUMNS
from readmodel.free_text import Sealer, sealer

_ACTOR = ", ".join(ACTOR_COLUMNS)
_ENGINE = ", ".join(f"NULL::text AS {column}" for column in ACTOR_COLUMNS)
_NOTHING_SEALED = "NULL::bytea, NULL::text, NULL::text[]"

_TIMELINE = f"""
SELECT at, kind, key, detail, sealed, sealed_at, sealed_fields, {_ACTOR} FROM (
    SELECT occurred_at AS at, 'milestone' AS kind, milestone_id AS key,
           jsonb_build_object(
               'milestone_id', milestone_id, 'type', type, 'phase', phase,
               'recorded_by', recorded_by, 'payload', payload
           ) AS detail,
           sealed_payload AS sealed, 'milestone/' || milestone_id AS sealed_at,
           sealed_fields,
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
           CASE WHEN s.seq IS NULL THEN t.cause_sealed ELSE s.reason_sealed END,
           CASE WHEN s.seq IS NULL THEN 'cause/' ELSE 'steering/' END || t.seq,
           CASE WHEN s.seq IS NULL THEN ARRAY['cause'] ELSE ARRAY['reason'] END,
           s.actor_role, s.actor_partner_id, s.actor_key_id, s.actor_user_id
    FROM phase_transitions t LEFT JOIN steering_actions s USING (participant_id, seq)
    WHERE t.participant_id = $1
    UNION ALL
    SELECT sent_at, 'nudge', lpad(seq::text, 10, '0'),
           jsonb_build_object(
               'level', level, 'action', action, 'channel', channel, 'language', language,
               'phase', phase
           ),
           {_NOTHING_SEALED},
           {_ENGINE}
    FROM nudges WHERE participant_id = $1
    UNION ALL
    SELECT opened_at, 'task_opened', task_id,
           jsonb_build_object('task_id', task_id, 'kind', kind, 'due_at', due_at),
           {_NOTHING_SEALED},
           {_ENGINE}
    FROM tasks WHERE participant_id = $1
    UNION ALL
    SELECT done_at, 'task_done', task_id,
           jsonb_strip_nulls(jsonb_build_object(
               'task_id', task_id, 'kind', kind, 'reached', reached, 'note', note
           )),
           note_sealed, 'task/' || task_id, ARRAY['note'],
           {_ACTOR}
    FROM tasks WHERE participant_id = $1 AND done_at IS NOT NULL
) entries
WHERE $2::timestamptz IS NULL OR (at, kind, key) > ($2, $3, $4)
ORDER BY at, kind, key
LIMIT $5
"""


def _texts(texts: Sealer, row: dict[str, Any]) -> dict[str, Any]:
    """The entry's free text, unsealed: `{"payload": {...}}` for a milestone's, else by field."""
    if row["kind"] == "milestone":
        payload = texts.unseal_fields(row["sealed_at"], row["sealed"], row["sealed_fields"])
        return {"payload": payload} if payload else {}
    if row["sealed"] is None:
        return {}
    (field,) = row["sealed_fields"]
    return {field: texts.unseal(row["sealed_at"], row["sealed"])}


async def timeline(
    pool: Pool,
    participant_id: str,
    after: tuple[datetime, str, str] | None,
    limit: int,
    keys: PersonKeys,
) -> list[dict[str, Any]]:
    """Entries oldest first (ties by kind and key), after the (at, kind, key) `after`; each with
    `detail` in clear and `texts` unsealed."""
    at, kind, key = after or (None, None, None)
    async with pool.acquire() as con:
        rows = [
            dict(row) for row in await con.fetch(_TIMELINE, participant_id, at, kind, key, limit)
        ]
        texts = await sealer(con, participant_id, keys)
    return [
        {
            **{k: v for k, v in row.items() if k not in ("sealed", "sealed_at", "sealed_fields")},
            "texts": _texts(texts, row),
        }
        for row in rows
    ]

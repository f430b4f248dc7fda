"""A participant's timeline: milestones, phase changes, steering actions, nudges, tasks, consent
changes and messages that could not be delivered.

Each entry's `detail` holds what is stored in clear; its `texts` the free text unsealed with the
participant's data key (`ERASED` once they are erased), for the API to show to those who may
read it.
"""

from typing import Any

from infra.database import Pool
from infra.person_keys import PersonKeys
from readmodel.actors import ACTOR_COLUMNS
from readmodel.free_text import Sealer, sealer

_ACTOR = ", ".join(ACTOR_COLUMNS)
_ENGINE = ", ".join(f"NULL::text AS {column}" for column in ACTOR_COLUMNS)
_NOTHING_SEALED = "NULL::bytea, NULL::text, NULL::text[]"

_TIMELINE = f"""
SELECT recorded, at, kind, detail, sealed, sealed_at, sealed_fields, {_ACTOR} FROM (
    SELECT recorded, occurred_at AS at, 'milestone' AS kind,
           jsonb_build_object(
               'milestone_id', milestone_id, 'type', type, 'phase', phase,
               'recorded_by', recorded_by, 'payload', payload
           ) AS detail,
           sealed_payload AS sealed, 'milestone/' || milestone_id AS sealed_at,
           sealed_fields,
           {_ACTOR}
    FROM milestones WHERE participant_id = $1
    UNION ALL
    SELECT t.recorded, t.at, CASE WHEN s.seq IS NULL THEN 'phase_change' ELSE 'steering' END,
           jsonb_strip_nulls(jsonb_build_object(
               'action', s.action, 'from_phase', t.from_phase, 'to_phase', t.to_phase,
               'status', t.status, 'code', t.code, 'detail', t.detail
           )),
           s.reason_sealed, 'steering/' || t.seq, ARRAY['reason'],
           s.actor_role, s.actor_partner_id, s.actor_key_id, s.actor_user_id
    FROM phase_transitions t LEFT JOIN steering_actions s USING (participant_id, seq)
    WHERE t.participant_id = $1
    UNION ALL
    SELECT recorded, sent_at, 'nudge',
           jsonb_build_object(
               'level', level, 'action', action, 'channel', channel, 'language', language,
               'phase', phase
           ),
           {_NOTHING_SEALED},
           {_ENGINE}
    FROM nudges WHERE participant_id = $1
    UNION ALL
    SELECT recorded, opened_at, 'task_opened',
           jsonb_build_object('task_id', task_id, 'kind', kind, 'due_at', due_at),
           {_NOTHING_SEALED},
           {_ENGINE}
    FROM tasks WHERE participant_id = $1
    UNION ALL
    SELECT done_recorded, done_at, 'task_done',
           jsonb_build_object('task_id', task_id, 'kind', kind, 'reached', reached),
           note_sealed, 'task/' || task_id, ARRAY['note'],
           {_ACTOR}
    FROM tasks WHERE participant_id = $1 AND done_at IS NOT NULL
    UNION ALL
    SELECT recorded, at, 'consent',
           jsonb_build_object('channel', channel, 'allowed', allowed, 'source', source),
           {_NOTHING_SEALED},
           {_ACTOR}
    FROM consents WHERE participant_id = $1
    UNION ALL
    SELECT failed_recorded, failed_at, 'delivery_failed',
           jsonb_build_object(
               'nudge_seq', nudge_seq, 'channel', channel, 'failure', failure,
               'attempts', attempts
           ),
           {_NOTHING_SEALED},
           {_ENGINE}
    FROM outbox WHERE participant_id = $1 AND failed_at IS NOT NULL
) entries
WHERE recorded > $2
ORDER BY recorded
LIMIT $3
"""
"""Entries in the order they were recorded: one reported late (an `occurred_at` in the past)
comes after what a poller has already seen, never behind its cursor."""


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
    pool: Pool, participant_id: str, after: int, limit: int, keys: PersonKeys
) -> list[dict[str, Any]]:
    """Entries in the order they were recorded, after the entry recorded as `after` (0: from the
    start); each with `recorded`, `detail` in clear and `texts` unsealed."""
    async with pool.acquire() as con:
        rows = [dict(row) for row in await con.fetch(_TIMELINE, participant_id, after, limit)]
        texts = await sealer(con, participant_id, keys)
    return [
        {
            **{k: v for k, v in row.items() if k not in ("sealed", "sealed_at", "sealed_fields")},
            "texts": _texts(texts, row),
        }
        for row in rows
    ]

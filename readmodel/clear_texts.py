"""Free text stored in clear before migration 011 (or by an older release during a rolling
deploy), sealed with each participant's data key when a worker starts.

Rows are visited in key order, a batch per transaction, so the work resumes where a stopped
worker left it and two workers starting together never seal a row twice. The texts of people
erased meanwhile have no key to be sealed with: they are dropped.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

from infra.database import Connection, Pool
from infra.person_keys import PersonKeys
from readmodel.free_text import TEXT_FIELDS, coded_cause, sealers, split_payload

log = structlog.stdlib.get_logger(__name__)

BATCH = 500

_TEXT_FIELDS = ", ".join(f"'{name}'" for name in sorted(TEXT_FIELDS))

_MILESTONES = f"""
SELECT participant_id, milestone_id, payload, sealed_fields FROM milestones
WHERE payload ?| ARRAY[{_TEXT_FIELDS}] AND (participant_id, milestone_id) > ($1, $2)
ORDER BY participant_id, milestone_id LIMIT $3
FOR UPDATE SKIP LOCKED
"""
_SEAL_MILESTONE = """
UPDATE milestones SET payload = $3, sealed_payload = $4, sealed_fields = $5
WHERE participant_id = $1 AND milestone_id = $2
"""

_STEERING = """
SELECT participant_id, seq, reason FROM steering_actions
WHERE reason IS NOT NULL AND (participant_id, seq) > ($1, $2)
ORDER BY participant_id, seq LIMIT $3
FOR UPDATE SKIP LOCKED
"""
_SEAL_STEERING = """
UPDATE steering_actions SET reason = NULL, reason_sealed = $3 WHERE participant_id = $1 AND seq = $2
"""

_CAUSES = """
SELECT participant_id, seq, cause FROM phase_transitions
WHERE (cause LIKE 'paused: %' OR cause LIKE 'resumed: %'
       OR cause LIKE 'closed by case manager: %' OR cause LIKE 'reassigned from %: %')
  AND (participant_id, seq) > ($1, $2)
ORDER BY participant_id, seq LIMIT $3
FOR UPDATE SKIP LOCKED
"""
_SEAL_CAUSE = """
UPDATE phase_transitions SET cause = $3, cause_sealed = $4 WHERE participant_id = $1 AND seq = $2
"""

_NOTES = """
SELECT participant_id, task_id, note FROM tasks
WHERE note IS NOT NULL AND (participant_id, task_id) > ($1, $2)
ORDER BY participant_id, task_id LIMIT $3
FOR UPDATE SKIP LOCKED
"""
_SEAL_NOTE = "UPDATE tasks SET note = NULL, note_sealed = $2 WHERE task_id = $1"

_QUALIFICATIONS = """
UPDATE seat_requests SET qualified = true, qualification = NULL WHERE qualification IS NOT NULL
"""

Sealing = Callable[[Connection, list[asyncpg.Record], PersonKeys], Awaitable[None]]


async def _milestones(con: Connection, rows: list[asyncpg.Record], keys: PersonKeys) -> None:
    found = await sealers(con, (row["participant_id"] for row in rows), keys)
    for row in rows:
        clear, texts = split_payload(row["payload"])
        where = f"milestone/{row['milestone_id']}"
        await con.execute(
            _SEAL_MILESTONE,
            row["participant_id"],
            row["milestone_id"],
            clear,
            found[row["participant_id"]].seal_fields(where, texts),
            sorted({*row["sealed_fields"], *texts}),
        )


async def _steering(con: Connection, rows: list[asyncpg.Record], keys: PersonKeys) -> None:
    found = await sealers(con, (row["participant_id"] for row in rows), keys)
    for row in rows:
        sealed = found[row["participant_id"]].seal(f"steering/{row['seq']}", row["reason"])
        await con.execute(_SEAL_STEERING, row["participant_id"], row["seq"], sealed)


async def _causes(con: Connection, rows: list[asyncpg.Record], keys: PersonKeys) -> None:
    found = await sealers(con, (row["participant_id"] for row in rows), keys)
    for row in rows:
        sealed = found[row["participant_id"]].seal(f"cause/{row['seq']}", row["cause"])
        coded = coded_cause(row["cause"])
        await con.execute(_SEAL_CAUSE, row["participant_id"], row["seq"], coded, sealed)


async def _notes(con: Connection, rows: list[asyncpg.Record], keys: PersonKeys) -> None:
    found = await sealers(con, (row["participant_id"] for row in rows), keys)
    for row in rows:
        sealed = found[row["participant_id"]].seal(f"task/{row['task_id']}", row["note"])
        await con.execute(_SEAL_NOTE, row["task_id"], sealed)


_TABLES: tuple[tuple[str, str, Any, Sealing], ...] = (
    (_MILESTONES, "milestone_id", "", _milestones),
    (_STEERING, "seq", -1, _steering),
    (_CAUSES, "seq", -1, _causes),
    (_NOTES, "task_id", "", _notes),
)
"""Each table's query for rows in clear, its second key column and that column's floor."""


async def seal_clear_texts(pool: Pool, keys: PersonKeys, batch: int = BATCH) -> int:
    """Seal every text still in clear; how many rows were sealed."""
    sealed = 0
    for find, second, floor, seal_rows in _TABLES:
        after: tuple[str, Any] = ("", floor)
        while True:
            async with pool.acquire() as con, con.transaction():
                rows = await con.fetch(find, *after, batch)
                await seal_rows(con, rows, keys)
            sealed += len(rows)
            if len(rows) < batch:
                break
            after = (rows[-1]["participant_id"], rows[-1][second])
    async with pool.acquire() as con:
        status = await con.execute(_QUALIFICATIONS)
    sealed += int(status.split()[-1])
    if sealed:
        log.info("clear_texts_sealed", rows=sealed)
    return sealed

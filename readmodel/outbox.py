"""The outbox of nudge messages: queued with their rung, delivered after the commit."""

from datetime import timedelta

from pydantic import BaseModel

from infra.database import Connection
from trajectory.records import NudgeRequest

_QUEUE = """
INSERT INTO outbox (participant_id, nudge_seq, channel, language, body)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (participant_id, nudge_seq) DO UPDATE SET
    channel = EXCLUDED.channel, language = EXCLUDED.language, body = EXCLUDED.body,
    created_at = now(), claimed_until = NULL, attempts = 0, sent_at = NULL
"""
"""Queued once per rung logged: only a rung a reset numbered again replaces an older message."""

_CLAIM = """
UPDATE outbox SET claimed_until = now() + $2::interval, attempts = attempts + 1
WHERE (participant_id, nudge_seq) IN (
    SELECT participant_id, nudge_seq FROM outbox
    WHERE sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
    ORDER BY created_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING participant_id, nudge_seq, channel, language, body, attempts
"""

_SENT = "UPDATE outbox SET sent_at = now() WHERE participant_id = $1 AND nudge_seq = $2"


class OutboxMessage(BaseModel):
    """A nudge message to deliver; `idempotency_key` lets a channel drop a repeat."""

    participant_id: str
    nudge_seq: int
    channel: str
    language: str
    body: str
    attempts: int

    @property
    def idempotency_key(self) -> str:
        return f"{self.participant_id}:{self.nudge_seq}"


async def queue_message(con: Connection, nudge: NudgeRequest, body: str) -> None:
    """Queue the rung's message, in the transaction that logs the rung."""
    await con.execute(
        _QUEUE, nudge.participant_id, nudge.seq, nudge.channel.value, nudge.language, body
    )


async def claim_messages(con: Connection, limit: int, lease: timedelta) -> list[OutboxMessage]:
    """Unsent messages no other sender holds, oldest first, held for `lease`."""
    rows = await con.fetch(_CLAIM, limit, lease)
    return [OutboxMessage.model_validate(dict(row)) for row in rows]


async def mark_sent(con: Connection, message: OutboxMessage) -> None:
    await con.execute(_SENT, message.participant_id, message.nudge_seq)

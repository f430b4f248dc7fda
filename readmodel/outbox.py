"""The outbox of nudge messages: queued with their rung, delivered after the commit, retried,
and failed for good with a code the timeline, the report and the trajectory see."""

import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel

from infra.database import Connection
from trajectory.delivery import NudgeOutcome, Undeliverable, UndeliveredNudge
from trajectory.messages import NudgeMessage
from trajectory.records import NudgeRequest

_QUEUE = """
INSERT INTO outbox (
    participant_id, nudge_seq, message_id, partner_id, channel, language, subject, body,
    failed_at, failure, failure_told_at, failed_recorded
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, CASE WHEN $9::timestamptz IS NULL THEN NULL
        ELSE nextval('timeline_order') END)
ON CONFLICT (participant_id, nudge_seq) DO UPDATE SET
    message_id = EXCLUDED.message_id, partner_id = EXCLUDED.partner_id,
    channel = EXCLUDED.channel, language = EXCLUDED.language, subject = EXCLUDED.subject,
    body = EXCLUDED.body, created_at = now(), due_at = now(), claimed_until = NULL, attempts = 0,
    sent_at = NULL, to_fingerprint = NULL, failed_at = EXCLUDED.failed_at,
    failure = EXCLUDED.failure, failure_told_at = EXCLUDED.failure_told_at,
    failed_recorded = EXCLUDED.failed_recorded
"""
"""Queued once per rung logged: only a rung a reset numbered again replaces an older message.
A person no channel reaches gets a row failed at once, which the trajectory learns from the
activity's answer."""

_DECIDED = "SELECT failure FROM outbox WHERE participant_id = $1 AND nudge_seq = $2"

_CLAIM = """
UPDATE outbox SET claimed_until = now() + $2::interval, attempts = attempts + 1
WHERE (participant_id, nudge_seq) IN (
    SELECT participant_id, nudge_seq FROM outbox
    WHERE sent_at IS NULL AND failed_at IS NULL AND due_at <= now()
      AND (claimed_until IS NULL OR claimed_until < now())
    ORDER BY due_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING participant_id, nudge_seq, message_id, partner_id, channel, language, subject, body,
          attempts
"""

_SENT = """
UPDATE outbox SET sent_at = now(), claimed_until = NULL, to_fingerprint = $3
WHERE participant_id = $1 AND nudge_seq = $2 AND sent_at IS NULL AND failed_at IS NULL
RETURNING sent_at
"""

_LATER = """
UPDATE outbox SET claimed_until = NULL, due_at = now() + $3::interval
WHERE participant_id = $1 AND nudge_seq = $2 AND sent_at IS NULL AND failed_at IS NULL
"""

_FAILED = """
UPDATE outbox SET failed_at = now(), failure = $3, claimed_until = NULL,
    failed_recorded = nextval('timeline_order')
WHERE participant_id = $1 AND nudge_seq = $2 AND sent_at IS NULL AND failed_at IS NULL
"""

_UNTOLD = """
SELECT participant_id, nudge_seq, failure FROM outbox
WHERE failed_at IS NOT NULL AND failure_told_at IS NULL
ORDER BY failed_at
LIMIT $1
"""

_TOLD = "UPDATE outbox SET failure_told_at = now() WHERE participant_id = $1 AND nudge_seq = $2"

_SENT_TO = """
SELECT DISTINCT participant_id FROM outbox
WHERE channel = 'sms' AND to_fingerprint = ANY($1::bytea[])
"""

_TEXTED_UNDER = """
UPDATE outbox SET to_fingerprint = $2
WHERE participant_id = $1 AND channel = 'sms' AND to_fingerprint = ANY($3::bytea[])
"""


class OutboxMessage(BaseModel):
    """A nudge message to deliver; `message_id` lets a channel drop a repeat."""

    participant_id: str
    nudge_seq: int
    message_id: str
    partner_id: str
    channel: str
    language: str
    subject: str
    body: str
    attempts: int


async def queue_message(
    con: Connection,
    nudge: NudgeRequest,
    message: NudgeMessage,
    unreachable: Undeliverable | None = None,
) -> None:
    """Queue the rung's message in the transaction that logs the rung; `unreachable` records it
    failed at once instead (the trajectory learns that from the activity)."""
    failed_at = nudge.sent_at if unreachable is not None else None
    await con.execute(
        _QUEUE,
        nudge.participant_id,
        nudge.seq,
        f"msg_{uuid.uuid4().hex}",
        nudge.partner_id,
        nudge.channel.value,
        message.language,
        message.subject,
        message.text,
        failed_at,
        unreachable,
    )


async def decided(con: Connection, participant_id: str, nudge_seq: int) -> NudgeOutcome:
    """What queuing rung `nudge_seq` found, for a retried activity: reachable unless failed."""
    failure = await con.fetchval(_DECIDED, participant_id, nudge_seq)
    return NudgeOutcome(reachable=failure is None, why=failure)


async def claim_messages(con: Connection, limit: int, lease: timedelta) -> list[OutboxMessage]:
    """Messages due that no other sender holds, oldest first, held for `lease`."""
    rows = await con.fetch(_CLAIM, limit, lease)
    return [OutboxMessage.model_validate(dict(row)) for row in rows]


async def mark_sent(
    con: Connection, message: OutboxMessage, to_fingerprint: bytes | None
) -> datetime | None:
    """The channel took the message; when, or None when another sender marked it first."""
    sent_at: datetime | None = await con.fetchval(
        _SENT, message.participant_id, message.nudge_seq, to_fingerprint
    )
    return sent_at


async def retry_later(con: Connection, message: OutboxMessage, wait: timedelta) -> None:
    """A try failed: the message is due again after `wait`."""
    await con.execute(_LATER, message.participant_id, message.nudge_seq, wait)


async def mark_failed(con: Connection, message: OutboxMessage, why: Undeliverable) -> None:
    """The message will not be delivered: the timeline shows it, the trajectory is told next."""
    await con.execute(_FAILED, message.participant_id, message.nudge_seq, why)


async def untold_failures(con: Connection, limit: int) -> list[tuple[str, UndeliveredNudge]]:
    """Failed messages whose trajectory was not told yet, by participant."""
    rows = await con.fetch(_UNTOLD, limit)
    return [
        (row["participant_id"], UndeliveredNudge(nudge_seq=row["nudge_seq"], why=row["failure"]))
        for row in rows
    ]


async def mark_told(con: Connection, participant_id: str, nudge_seq: int) -> None:
    await con.execute(_TOLD, participant_id, nudge_seq)


async def participants_texted(con: Connection, fingerprints: list[bytes]) -> list[str]:
    """Participants whose SMS went to the number with one of these fingerprints."""
    return [row["participant_id"] for row in await con.fetch(_SENT_TO, fingerprints)]


async def carry_texted(con: Connection, participant_id: str, fingerprints: list[bytes]) -> None:
    """The participant's SMS sent to their number under an older key (`fingerprints`, the
    current key's first) are found by the current key's, so a STOP from it still reaches them
    once the old key is gone."""
    await con.execute(_TEXTED_UNDER, participant_id, fingerprints[0], fingerprints[1:])

"""Partners' webhooks, the events queued for them and their deliveries (DESIGN §8.2).

Events are queued in the transaction of the write that saw them, and only when some webhook
wants them; each delivery is retried until delivered or until it is 24 hours old, in order per
webhook and participant. A webhook's secret is sealed under the current person key, and sealed
again under the next one by a key rotation.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from infra.codec import KeyringError, UnknownKeyError
from infra.database import Connection, Pool
from infra.person_keys import PersonKeys
from trajectory.actors import Actor
from trajectory.events import Event, EventType

_QUEUE = """
WITH wanting AS (
    SELECT webhook_id FROM webhooks
    WHERE deleted_at IS NULL AND $5::text = ANY(events)
      AND (partner_id IS NULL OR partner_id = $4::text)
), event AS (
    INSERT INTO webhook_events (event_id, event_key, participant_id, partner_id, type, at, body)
    SELECT $1, $2, $3, $4, $5, $6, $7
    WHERE EXISTS (SELECT 1 FROM wanting)
    ON CONFLICT (event_key) DO NOTHING
    RETURNING event_id, seq
)
INSERT INTO webhook_deliveries (webhook_id, event_id, participant_id, seq)
SELECT w.webhook_id, e.event_id, $3, e.seq FROM event e CROSS JOIN wanting w
"""
"""One round trip: the event (unless nobody wants it or it was queued before) and a delivery
for each webhook that wants it."""

_STALE_SECRETS = """
SELECT webhook_id, secret_key_id, secret_sealed FROM webhooks
WHERE deleted_at IS NULL AND secret_key_id <> $1
FOR UPDATE SKIP LOCKED
"""

_RESEAL = "UPDATE webhooks SET secret_key_id = $2, secret_sealed = $3 WHERE webhook_id = $1"

_SECRETS_LEFT = "SELECT count(*) FROM webhooks WHERE deleted_at IS NULL AND secret_key_id <> $1"

_PARTNER_NOW = "SELECT partner_id FROM trajectories WHERE participant_id = $1"

_CREATE = """
INSERT INTO webhooks (
    webhook_id, partner_id, url, events, secret_key_id, secret_sealed, created_by_role,
    created_by_key_id
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING webhook_id, partner_id, url, events, created_at
"""

_LIST = """
SELECT w.webhook_id, w.partner_id, w.url, w.events, w.created_at,
       count(d.event_id) FILTER (WHERE d.delivered_at IS NOT NULL) AS delivered,
       count(d.event_id) FILTER (WHERE d.delivered_at IS NULL AND d.failed_at IS NULL) AS pending,
       count(d.event_id) FILTER (WHERE d.failed_at IS NOT NULL) AS failed,
       max(d.failed_at) AS last_failed_at,
       (SELECT f.last_error FROM webhook_deliveries f
        WHERE f.webhook_id = w.webhook_id AND f.failed_at IS NOT NULL
        ORDER BY f.failed_at DESC LIMIT 1) AS last_failure
FROM webhooks w LEFT JOIN webhook_deliveries d USING (webhook_id)
WHERE w.deleted_at IS NULL AND ($1::text IS NULL OR w.partner_id = $1)
GROUP BY w.webhook_id
ORDER BY w.created_at, w.webhook_id
"""

_DELETE = """
UPDATE webhooks SET deleted_at = now()
WHERE webhook_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR partner_id = $2)
RETURNING webhook_id
"""

_CLAIM = """
UPDATE webhook_deliveries d
SET claimed_until = now() + $2::interval, attempts = d.attempts + 1
FROM (
    SELECT p.webhook_id, p.event_id FROM webhook_deliveries p
    JOIN webhooks hook ON hook.webhook_id = p.webhook_id AND hook.deleted_at IS NULL
    WHERE p.delivered_at IS NULL AND p.failed_at IS NULL AND p.due_at <= now()
      AND (p.claimed_until IS NULL OR p.claimed_until < now())
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries q
          WHERE q.webhook_id = p.webhook_id AND q.participant_id = p.participant_id
            AND q.seq < p.seq AND q.delivered_at IS NULL AND q.failed_at IS NULL
      )
    ORDER BY p.due_at
    LIMIT $1
    FOR UPDATE OF p SKIP LOCKED
) picked, webhook_events e, webhooks w
WHERE d.webhook_id = picked.webhook_id AND d.event_id = picked.event_id
  AND e.event_id = d.event_id AND w.webhook_id = d.webhook_id
RETURNING d.webhook_id, d.event_id, d.attempts, e.body, e.created_at AS queued_at, w.url,
          w.secret_key_id, w.secret_sealed
"""
"""Due deliveries no other sender holds, each the earliest undelivered of its webhook and
participant: a participant's events reach a webhook in order."""

_DELIVERED = """
UPDATE webhook_deliveries SET delivered_at = now(), claimed_until = NULL, last_error = NULL
WHERE webhook_id = $1 AND event_id = $2
"""

_LATER = """
UPDATE webhook_deliveries SET claimed_until = NULL, due_at = now() + $3::interval, last_error = $4
WHERE webhook_id = $1 AND event_id = $2
"""

_FAILED = """
UPDATE webhook_deliveries SET claimed_until = NULL, failed_at = now(), last_error = $3
WHERE webhook_id = $1 AND event_id = $2
"""


class Delivery(BaseModel):
    """An event on its way to one webhook: the body as signed, where to, with which secret."""

    webhook_id: str
    event_id: str
    attempts: int
    body: str
    queued_at: datetime
    url: str
    secret: str


def _context(webhook_id: str) -> bytes:
    return f"parcours/webhook-secret/{webhook_id}".encode()


async def queue_events(con: Connection, events: Sequence[Event]) -> None:
    """Queue `events` for the webhooks that want them, in this transaction; an event whose key
    was queued before is left alone."""
    rows = []
    for event in events:
        partner_id = event.partner_id or await con.fetchval(_PARTNER_NOW, event.participant_id)
        if partner_id is None:
            continue
        rows.append(
            (
                f"evt_{uuid.uuid4().hex}",
                event.key,
                event.participant_id,
                partner_id,
                event.type,
                event.at,
                event.body(partner_id),
            )
        )
    if rows:
        await con.executemany(_QUEUE, rows)


async def create_webhook(
    pool: Pool,
    actor: Actor,
    url: str,
    events: Sequence[EventType],
    secret: str,
    keys: PersonKeys,
) -> dict[str, Any]:
    """Register a webhook for the actor's partner (a case manager's: every partner)."""
    webhook_id = f"wh_{uuid.uuid4().hex[:20]}"
    sealed = keys.wrap(secret.encode(), _context(webhook_id))
    row = await pool.fetchrow(
        _CREATE,
        webhook_id,
        actor.partner_id,
        url,
        list(dict.fromkeys(events)),
        keys.current,
        sealed,
        actor.role,
        actor.key_id,
    )
    assert row is not None
    return dict(row)


async def list_webhooks(pool: Pool, partner_id: str | None) -> list[dict[str, Any]]:
    """Webhooks with what their deliveries came to; one partner's, or (None) everyone's."""
    return [dict(row) for row in await pool.fetch(_LIST, partner_id)]


async def delete_webhook(pool: Pool, webhook_id: str, partner_id: str | None) -> bool:
    """Stop a webhook (one partner's own, or any with None); False when there is none."""
    return await pool.fetchval(_DELETE, webhook_id, partner_id) is not None


async def claim_deliveries(
    con: Connection, limit: int, lease: timedelta, keys: PersonKeys
) -> list[Delivery]:
    """Due deliveries, held for `lease`; secrets unsealed (one no key opens is left out)."""
    claimed = []
    for row in await con.fetch(_CLAIM, limit, lease):
        try:
            secret = keys.unwrap(
                "person_keys",
                row["secret_key_id"],
                row["secret_sealed"],
                _context(row["webhook_id"]),
            )
        except (UnknownKeyError, KeyringError):
            await con.execute(_FAILED, row["webhook_id"], row["event_id"], "secret_unreadable")
            continue
        claimed.append(Delivery(**{**dict(row), "secret": secret.decode()}))
    return claimed


async def mark_delivered(con: Connection, delivery: Delivery) -> None:
    await con.execute(_DELIVERED, delivery.webhook_id, delivery.event_id)


async def retry_delivery(con: Connection, delivery: Delivery, wait: timedelta, error: str) -> None:
    await con.execute(_LATER, delivery.webhook_id, delivery.event_id, wait, error)


async def fail_delivery(con: Connection, delivery: Delivery, error: str) -> None:
    await con.execute(_FAILED, delivery.webhook_id, delivery.event_id, error)


async def reseal_secrets(con: Connection, keys: PersonKeys) -> int:
    """Seal every webhook's secret under the current person key (a key rotation); how many were
    (one that no configured key opens stays as it is, and is counted by `secrets_left`)."""
    resealed = 0
    for row in await con.fetch(_STALE_SECRETS, keys.current):
        context = _context(row["webhook_id"])
        try:
            secret = keys.unwrap("person_keys", row["secret_key_id"], row["secret_sealed"], context)
        except (UnknownKeyError, KeyringError):
            continue
        await con.execute(_RESEAL, row["webhook_id"], keys.current, keys.wrap(secret, context))
        resealed += 1
    return resealed


async def secrets_left(con: Connection, current: str) -> int:
    """Webhook secrets sealed under another key than `current`."""
    left: int = await con.fetchval(_SECRETS_LEFT, current)
    return left

"""Where nudge messages go: a port, and the development adapter that keeps them in the outbox."""

from typing import Protocol

import structlog

from infra.database import Connection
from trajectory.records import NudgeRequest

log = structlog.stdlib.get_logger(__name__)


class Notifier(Protocol):
    """Delivers a nudge message on the participant's channel, inside the caller's transaction."""

    async def send(self, con: Connection, request: NudgeRequest, body: str) -> None: ...


class OutboxNotifier:
    """Queues messages in the `outbox` table instead of sending them: nothing leaves the machine."""

    async def send(self, con: Connection, request: NudgeRequest, body: str) -> None:
        await con.execute(
            "INSERT INTO outbox (participant_id, nudge_seq, channel, language, body)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            request.participant_id,
            request.seq,
            request.channel.value,
            request.language,
            body,
        )
        log.info(
            "nudge_queued",
            participant_id=request.participant_id,
            channel=request.channel.value,
            language=request.language,
        )

"""Nudge messages leave only after the rung is committed, once per nudge as far as a channel can
tell, and a channel that fails gets the message again later."""

from datetime import UTC, datetime, timedelta

from temporalio.testing import ActivityEnvironment

from activities.notifications import OutboxSender
from activities.trajectory import TrajectoryActivities
from infra.database import Pool
from readmodel.outbox import OutboxMessage
from tests.conftest import Enrol
from tests.test_read_model_activities import nudge

AFTERNOON = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
NIGHT = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
"""Half past midnight in Brussels."""


class RecordingChannel:
    """A channel that keeps what it was given and fails while `down`."""

    def __init__(self) -> None:
        self.delivered: list[OutboxMessage] = []
        self.down = False

    async def deliver(self, message: OutboxMessage) -> None:
        if self.down:
            raise ConnectionError("the SMS provider does not answer")
        self.delivered.append(message)


async def drain_for(sender: OutboxSender, pool: Pool, participant_id: str) -> None:
    """Drain until this participant's messages are out (other tests' rows may be queued)."""
    while await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE participant_id = $1 AND sent_at IS NULL"
        " AND (claimed_until IS NULL OR claimed_until < now())",
        participant_id,
    ):
        if not await sender.drain():
            break


async def test_a_message_is_delivered_after_its_rung_once_and_again_after_a_channel_failure(
    enrol: Enrol, pool: Pool
) -> None:
    participant_id = await enrol()
    activities = TrajectoryActivities(pool)
    channel = RecordingChannel()
    sender = OutboxSender(pool, channel, clock=lambda: AFTERNOON)

    env = ActivityEnvironment()
    await env.run(activities.send_nudge, nudge(participant_id, 1))
    await env.run(activities.send_nudge, nudge(participant_id, 1))  # a retried activity
    assert channel.delivered == []  # nothing leaves inside the ladder's transaction

    await drain_for(sender, pool, participant_id)
    await drain_for(sender, pool, participant_id)
    mine = [m for m in channel.delivered if m.participant_id == participant_id]
    assert [(m.nudge_seq, m.channel, m.idempotency_key) for m in mine] == [
        (1, "sms", f"{participant_id}:1")
    ]

    channel.down = True
    await env.run(activities.send_nudge, nudge(participant_id, 2))
    await drain_for(sender, pool, participant_id)
    unsent = "SELECT attempts FROM outbox WHERE participant_id = $1 AND sent_at IS NULL"
    assert await pool.fetchval(unsent, participant_id) == 1

    channel.down = False
    await pool.execute(  # the failed claim's lease runs out
        "UPDATE outbox SET claimed_until = $2 WHERE participant_id = $1",
        participant_id,
        datetime.now(UTC) - timedelta(seconds=1),
    )
    await drain_for(sender, pool, participant_id)
    mine = [m for m in channel.delivered if m.participant_id == participant_id]
    assert [(m.nudge_seq, m.attempts) for m in mine] == [(1, 1), (2, 2)]
    assert await pool.fetchval(unsent, participant_id) is None


async def test_a_message_queued_during_the_night_waits_for_the_morning_to_leave(
    enrol: Enrol, pool: Pool
) -> None:
    participant_id = await enrol()
    channel = RecordingChannel()
    await ActivityEnvironment().run(TrajectoryActivities(pool).send_nudge, nudge(participant_id, 1))

    await drain_for(OutboxSender(pool, channel, clock=lambda: NIGHT), pool, participant_id)
    assert [m for m in channel.delivered if m.participant_id == participant_id] == []

    morning = NIGHT + timedelta(hours=10)
    await drain_for(OutboxSender(pool, channel, clock=lambda: morning), pool, participant_id)
    assert [m.nudge_seq for m in channel.delivered if m.participant_id == participant_id] == [1]

"""Nudge messages leave only after the rung is committed, by e-mail to a real SMTP server and by
SMS to a real HTTP gateway, once per nudge as far as a channel can tell; a provider that fails
gets the message again later, and one that refuses it for good makes the trajectory climb on."""

import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from temporalio.testing import ActivityEnvironment

from activities import channels as way
from activities.channels import EmailChannel, GatewayChannel, Unconfigured
from activities.notifications import Backoff, OutboxSender
from activities.trajectory import TrajectoryActivities
from infra.database import Pool
from infra.person_keys import default_person_keys
from infra.signing import new_secret
from readmodel.consents import record_consent
from readmodel.persons import erase_person
from readmodel.timeline import timeline
from tests.conftest import Enrol
from tests.sinks import HttpSink, MailSink, Received
from trajectory.delivery import NudgeOutcome, UndeliveredNudge
from trajectory.phases import Phase
from trajectory.programme import Channel
from trajectory.records import NudgeRequest

AFTERNOON = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
NIGHT = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
"""Half past midnight in Brussels."""
SECRET = new_secret()
NATIONAL_NUMBER_DIGITS = 11


def rung(
    participant_id: str,
    seq: int,
    channel: Channel,
    *,
    partner_id: str = "inbrussel",
    language: str = "nl",
) -> NudgeRequest:
    return NudgeRequest(
        participant_id=participant_id,
        partner_id=partner_id,
        seq=seq,
        level=seq,
        action="message",
        channel=channel,
        language=language,
        phase=Phase.COACHING,
        silent_since=datetime.now(UTC) - timedelta(days=21),
        sent_at=datetime.now(UTC),
    )


def unique_number() -> str:
    """A phone number no other test's participant has: the sinks see every test's messages."""
    return f"+32479{secrets.randbelow(10**6):06d}"


def texts(gateway: HttpSink, number: str) -> list[Received]:
    """What the gateway was asked to send to `number`."""
    return [r for r in gateway.received if json.loads(r.body)["to"] == number]


def to(mail: MailSink, address: str) -> list[EmailMessage]:
    """The e-mails the relay took for `address`."""
    return [email for recipients, email in mail.received if recipients == [address]]


async def queue(pool: Pool, nudge: NudgeRequest) -> NudgeOutcome:
    """Carry out the rung as the worker does."""
    outcome: NudgeOutcome = await ActivityEnvironment().run(
        TrajectoryActivities(pool).send_nudge, nudge
    )
    return outcome


class Told:
    """What the sender told trajectories."""

    def __init__(self) -> None:
        self.undelivered: list[tuple[str, UndeliveredNudge]] = []

    async def __call__(self, participant_id: str, undelivered: UndeliveredNudge) -> None:
        self.undelivered.append((participant_id, undelivered))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def sender(
    pool: Pool,
    mail: MailSink,
    gateway: HttpSink,
    http: httpx.AsyncClient,
    told: Told | None = None,
    clock: datetime = AFTERNOON,
) -> OutboxSender:
    texts = GatewayChannel(gateway.url("/sms"), SECRET, http)
    channels: dict[str, way.Channel] = {
        "email": EmailChannel(mail.url, "InBrussel <nudges@inbrussel.example>", require_tls=False),
        "sms": texts,
        "whatsapp": texts,
    }
    return OutboxSender(
        pool,
        channels,
        default_person_keys(None),
        told,
        clock=lambda: clock,
        backoff=Backoff(first=timedelta(0), tries=5),
    )


async def drain_for(sender: OutboxSender, pool: Pool, participant_id: str) -> None:
    """Drain until this participant's messages are out (other tests' rows may be queued)."""
    for _ in range(50):
        waiting = await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE participant_id = $1 AND sent_at IS NULL"
            " AND failed_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())",
            participant_id,
        )
        if not waiting:
            return
        await sender.drain()


async def row(pool: Pool, participant_id: str, seq: int) -> dict[str, object]:
    found = await pool.fetchrow(
        "SELECT message_id, attempts, sent_at, failed_at, failure FROM outbox"
        " WHERE participant_id = $1 AND nudge_seq = $2",
        participant_id,
        seq,
    )
    assert found is not None
    return dict(found)


async def test_an_email_nudge_leaves_once_after_its_rung_in_the_participants_language(
    enrol: Enrol, pool: Pool, mail: MailSink, gateway: HttpSink, http: httpx.AsyncClient
) -> None:
    address = f"yasmina.{secrets.token_hex(4)}@example.org"
    participant_id = await enrol(partner_id="inbrussel", language="nl", email=address)
    env = ActivityEnvironment()
    activities = TrajectoryActivities(pool)
    answer = await env.run(activities.send_nudge, rung(participant_id, 1, Channel.EMAIL))
    again = await env.run(activities.send_nudge, rung(participant_id, 1, Channel.EMAIL))
    assert answer == again == NudgeOutcome(reachable=True)
    assert to(mail, address) == []  # nothing leaves inside the ladder's transaction

    outbox = sender(pool, mail, gateway, http)
    await drain_for(outbox, pool, participant_id)
    await drain_for(outbox, pool, participant_id)
    sent = await row(pool, participant_id, 1)
    assert sent["sent_at"] is not None
    [email] = to(mail, address)
    assert email["Content-Language"] == "nl"
    assert email["Subject"] == "Nieuws van InBrussel"
    assert email["Message-ID"] == f"<{sent['message_id']}@inbrussel.example>"
    plain = email.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    assert text.startswith("Hallo! Het team van InBrussel") and "Madou" in text
    assert email.get_body(preferencelist=("html",)) is not None
    assert "Yasmina" not in email.as_string()
    assert not any(len(word) == NATIONAL_NUMBER_DIGITS and word.isdigit() for word in text.split())


async def test_a_gateway_that_answers_500_three_times_then_200_delivers_the_sms_once(
    enrol: Enrol, pool: Pool, mail: MailSink, gateway: HttpSink, http: httpx.AsyncClient
) -> None:
    number = unique_number()
    participant_id = await enrol(partner_id="jes", language="fr", phone=f"0{number[3:]}")
    gateway.answer = lambda _: 500 if len(texts(gateway, number)) <= 3 else 200
    await queue(pool, rung(participant_id, 1, Channel.SMS, partner_id="jes", language="fr"))
    await drain_for(sender(pool, mail, gateway, http), pool, participant_id)

    sent = await row(pool, participant_id, 1)
    assert sent["sent_at"] is not None and sent["attempts"] == 4
    mine = texts(gateway, number)
    assert len(mine) == 4
    for request in mine:
        body = Webhook(SECRET).verify(request.body, request.headers)
        assert body["message_id"] == request.headers["webhook-id"] == sent["message_id"]
        assert request.headers["idempotency-key"] == sent["message_id"]
    assert body["channel"] == "sms"
    assert body["to"] == number
    assert body["text"].startswith("Bonjour ! L'équipe de JES")
    assert body["text"].endswith("STOP pour ne plus recevoir de SMS.")
    assert set(body) == {"message_id", "channel", "to", "text"}


async def test_a_message_the_gateway_refuses_fails_at_once_on_the_timeline_and_tells_the_trajectory(
    enrol: Enrol, pool: Pool, mail: MailSink, gateway: HttpSink, http: httpx.AsyncClient
) -> None:
    number = unique_number()
    participant_id = await enrol(partner_id="jes", phone=number)
    gateway.answer = lambda _: 400
    told = Told()
    await queue(pool, rung(participant_id, 1, Channel.WHATSAPP, partner_id="jes"))
    await sender(pool, mail, gateway, http, told).drain()

    failed = await row(pool, participant_id, 1)
    assert (failed["sent_at"], failed["failure"]) == (None, "refused_by_provider")
    assert len(texts(gateway, number)) == 1
    assert (participant_id, UndeliveredNudge(nudge_seq=1, why="refused_by_provider")) in (
        told.undelivered
    )
    entries = await timeline(pool, participant_id, 0, 100, default_person_keys(None))
    [entry] = [e for e in entries if e["kind"] == "delivery_failed"]
    assert entry["detail"] == {
        "nudge_seq": 1,
        "channel": "whatsapp",
        "failure": "refused_by_provider",
        "attempts": 1,
    }


async def test_a_provider_down_for_every_try_fails_the_message_after_the_last(
    enrol: Enrol, pool: Pool, mail: MailSink, gateway: HttpSink, http: httpx.AsyncClient
) -> None:
    number = unique_number()
    participant_id = await enrol(partner_id="jes", phone=number)
    gateway.answer = lambda _: 503
    await ActivityEnvironment().run(
        TrajectoryActivities(pool).send_nudge,
        rung(participant_id, 1, Channel.SMS, partner_id="jes"),
    )
    await drain_for(sender(pool, mail, gateway, http), pool, participant_id)
    failed = await row(pool, participant_id, 1)
    assert (failed["failure"], failed["attempts"]) == ("still_failing", 5)
    assert len(texts(gateway, number)) == 5


@pytest.mark.parametrize(
    ("why", "channel"),
    [("no_phone", Channel.SMS), ("no_email", Channel.EMAIL), ("consent_withdrawn", Channel.SMS)],
)
async def test_a_person_no_channel_reaches_is_answered_at_once_and_nothing_is_queued(
    enrol: Enrol, pool: Pool, why: str, channel: Channel
) -> None:
    participant_id = await enrol(
        partner_id="inbrussel",
        phone=None if why == "no_phone" else "+32470000001",
        email=None if why == "no_email" else "a@example.org",
    )
    if why == "consent_withdrawn":
        async with pool.acquire() as con:
            await record_consent(con, participant_id, "sms", False, None)
    answer = await queue(pool, rung(participant_id, 1, channel))
    assert answer == NudgeOutcome(reachable=False, why=why)
    assert (await row(pool, participant_id, 1))["failure"] == why


async def test_an_erased_person_gets_nothing_even_when_queued_before(
    enrol: Enrol, pool: Pool, mail: MailSink, gateway: HttpSink, http: httpx.AsyncClient
) -> None:
    participant_id = await enrol(partner_id="jes")
    await ActivityEnvironment().run(
        TrajectoryActivities(pool).send_nudge,
        rung(participant_id, 1, Channel.SMS, partner_id="jes"),
    )
    async with pool.acquire() as con:
        assert await erase_person(con, participant_id)
    await sender(pool, mail, gateway, http).drain()
    assert (await row(pool, participant_id, 1))["failure"] == "erased"
    assert not [r for r in gateway.received if json.loads(r.body)["to"] == "+32470123456"]


async def test_a_channel_without_a_provider_fails_its_messages(enrol: Enrol, pool: Pool) -> None:
    participant_id = await enrol(partner_id="jes")
    await ActivityEnvironment().run(
        TrajectoryActivities(pool).send_nudge,
        rung(participant_id, 1, Channel.SMS, partner_id="jes"),
    )
    unconfigured = Unconfigured()
    channels = {"sms": unconfigured, "email": unconfigured, "whatsapp": unconfigured}
    outbox = OutboxSender(pool, channels, default_person_keys(None), clock=lambda: AFTERNOON)
    await drain_for(outbox, pool, participant_id)
    assert (await row(pool, participant_id, 1))["failure"] == "no_provider"


async def test_a_message_queued_during_the_night_waits_for_the_morning_to_leave(
    enrol: Enrol, pool: Pool, mail: MailSink, gateway: HttpSink, http: httpx.AsyncClient
) -> None:
    participant_id = await enrol(partner_id="jes")
    await ActivityEnvironment().run(
        TrajectoryActivities(pool).send_nudge,
        rung(participant_id, 1, Channel.SMS, partner_id="jes"),
    )
    await drain_for(sender(pool, mail, gateway, http, clock=NIGHT), pool, participant_id)
    assert (await row(pool, participant_id, 1))["sent_at"] is None

    morning = NIGHT + timedelta(hours=10)
    await drain_for(sender(pool, mail, gateway, http, clock=morning), pool, participant_id)
    assert (await row(pool, participant_id, 1))["sent_at"] is not None


async def test_erasing_a_person_forgets_the_number_their_sms_went_to(
    enrol: Enrol, pool: Pool, mail: MailSink, gateway: HttpSink, http: httpx.AsyncClient
) -> None:
    participant_id = await enrol(partner_id="jes")
    await queue(pool, rung(participant_id, 1, Channel.SMS, partner_id="jes"))
    await drain_for(sender(pool, mail, gateway, http), pool, participant_id)
    texted = "SELECT to_fingerprint FROM outbox WHERE participant_id = $1"
    assert await pool.fetchval(texted, participant_id) is not None
    async with pool.acquire() as con:
        assert await erase_person(con, participant_id)
    assert await pool.fetchval(texted, participant_id) is None

"""A silent participant's ladder reaches them: the e-mail and the SMS arrive in their language at
a real SMTP server and a real SMS gateway; STOP ends SMS to their number; someone no channel
reaches, or whose message fails for good, gets the coach's call sooner, never silence.

On the time-skipping server; the outbox sender runs here with a clock in the afternoon.
"""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from temporalio.testing import WorkflowEnvironment

from activities.channels import Channel, EmailChannel, GatewayChannel
from activities.notifications import Backoff, OutboxSender, signal_trajectories
from api.app import create_app, hold
from infra.database import Pool
from infra.person_keys import default_person_keys
from infra.settings import Settings
from infra.signing import new_secret, signed_headers
from readmodel.timeline import timeline
from tests.journeys import Journey, Start
from tests.sinks import HttpSink, MailSink
from trajectory.phases import Phase
from trajectory.programmes import load_programme

AFTERNOON = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
SECRET = new_secret()
MARGIN = 1.0
"""Days added to a rung's due day: a message waits for daytime in Brussels (at most 13 hours)."""


def days_to_rung(partner_id: str, level: int, phase: Phase = Phase.INTAKE) -> int:
    """Days of silence in `phase` until rung `level` of the partner's ladder falls due."""
    programme = load_programme(partner_id)
    steps = programme.nudge_ladder[:level]
    return programme.steps(phase).inactivity_days + sum(step.after_days for step in steps)


@pytest.fixture
async def outbox(
    pool: Pool, mail: MailSink, gateway: HttpSink, time_env: WorkflowEnvironment
) -> AsyncIterator[OutboxSender]:
    """The sender beside the worker, telling the trajectories what failed."""
    async with httpx.AsyncClient() as http:
        texts = GatewayChannel(gateway.url("/sms"), SECRET, http)
        channels: dict[str, Channel] = {
            "email": EmailChannel(
                mail.url, "Parcours <nudges@parcours.example>", require_tls=False
            ),
            "sms": texts,
            "whatsapp": texts,
        }
        yield OutboxSender(
            pool,
            channels,
            default_person_keys(None),
            signal_trajectories(time_env.client),
            clock=lambda: AFTERNOON,
            backoff=Backoff(first=timedelta(0), tries=2),
        )


async def delivered(outbox: OutboxSender, pool: Pool, journey: Journey, seq: int) -> None:
    """Drain until rung `seq`'s message is written, then until it left or failed."""
    query = (
        "SELECT sent_at IS NOT NULL OR failed_at IS NOT NULL FROM outbox"
        " WHERE participant_id = $1 AND nudge_seq = $2"
    )
    for _ in range(100):
        await outbox.drain()
        if await pool.fetchval(query, journey.participant_id, seq):
            return
    raise AssertionError(f"rung {seq}'s message never left nor failed")


def texts_to(gateway: HttpSink, number: str) -> list[dict[str, str]]:
    """What the gateway was asked to send to `number`, each signature checked."""
    return [
        body
        for request in gateway.received
        if (body := Webhook(SECRET).verify(request.body, request.headers))["to"] == number
    ]


async def test_a_silent_inbrussel_participant_gets_the_email_then_the_sms_in_dutch(
    start: Start, outbox: OutboxSender, pool: Pool, mail: MailSink, gateway: HttpSink
) -> None:
    journey = await start("inbrussel", language="nl", phone="+32 470 55 50 33")
    person = await journey.person()
    await journey.skip(days_to_rung("inbrussel", 1) + MARGIN)
    await journey.wait_for(lambda s: s.nudge_level == 1, "the e-mail rung")
    await delivered(outbox, pool, journey, 1)
    [email] = [m for to, m in mail.received if to == [person.email]]
    assert email["Content-Language"] == "nl"
    plain = email.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content().startswith("Hallo! Het team van InBrussel")

    await journey.skip(load_programme("inbrussel").nudge_ladder[1].after_days + MARGIN)
    await journey.wait_for(lambda s: s.nudge_level == 2, "the SMS rung")
    await delivered(outbox, pool, journey, 2)
    [sms] = texts_to(gateway, "+32470555033")
    assert sms["channel"] == "sms"
    assert sms["text"].startswith("Hallo, we hebben nog steeds niets van je gehoord")
    assert sms["text"].endswith("STOP om geen sms meer te krijgen.")


async def test_stop_from_the_number_ends_sms_and_the_ladder_goes_to_the_coach_at_once(
    start: Start,
    outbox: OutboxSender,
    pool: Pool,
    gateway: HttpSink,
    time_env: WorkflowEnvironment,
) -> None:
    number = "+32470555012"
    journey = await start("groep-intro", language="nl", phone="0470 55 50 12")
    await journey.skip(days_to_rung("groep-intro", 1) + MARGIN)
    await journey.wait_for(lambda s: s.nudge_level == 1, "the first SMS")
    await delivered(outbox, pool, journey, 1)
    assert len(texts_to(gateway, number)) == 1

    settings = Settings(
        temporal_namespace=time_env.client.namespace,
        sms_url=gateway.url("/sms"),
        sms_secret=SECRET,
    )
    app = create_app(settings)
    hold(app, time_env.client, pool, settings)
    body = json.dumps({"from": "0032 470 55 50 12", "text": "Stop"}).encode()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as api:
        unsigned = await api.post("/v1/inbound/sms", content=body)
        assert unsigned.status_code == 401, unsigned.text
        headers = signed_headers(SECRET, "inbound-1", datetime.now(UTC), body)
        stopped = await api.post("/v1/inbound/sms", content=body, headers=headers)
        assert stopped.json() == {"action": "stopped"}

    second_sms = days_to_rung("groep-intro", 2) - days_to_rung("groep-intro", 1)
    await journey.skip(second_sms + MARGIN)
    state = await journey.wait_for(lambda s: s.nudge_level == 3, "the coach call, at once")
    assert [task.kind for task in state.tasks] == ["coach_call"]
    assert len(texts_to(gateway, number)) == 1, "an SMS went to a number that sent STOP"
    await journey.written()
    entries = await timeline(pool, journey.participant_id, 0, 100, default_person_keys(None))
    kinds = {entry["kind"]: entry for entry in entries}
    assert kinds["consent"]["detail"] == {"channel": "sms", "allowed": False, "source": "sms_stop"}
    assert kinds["consent"]["actor_role"] is None
    assert kinds["delivery_failed"]["detail"]["failure"] == "consent_withdrawn"


async def test_a_jes_participant_without_a_phone_gets_the_coach_call_when_the_first_rung_falls_due(
    start: Start,
) -> None:
    journey = await start("jes", phone=None)
    first = days_to_rung("jes", 1)
    assert days_to_rung("jes", 3) > first + MARGIN, "the ladder normally waits for the call"
    await journey.skip(first + MARGIN)
    state = await journey.wait_for(lambda s: s.nudge_level == 3, "the coach call")
    assert [task.kind for task in state.tasks] == ["coach_call"]
    opened = state.tasks[0].opened_at - state.enrolled_at
    assert opened <= timedelta(days=first + MARGIN)


async def test_a_message_that_fails_for_good_lets_the_next_rung_come_at_once(
    start: Start, outbox: OutboxSender, pool: Pool, gateway: HttpSink
) -> None:
    journey = await start("jes", language="fr", phone="+32 470 55 50 77")
    gateway.answer = lambda request: 400 if json.loads(request.body)["channel"] == "sms" else 200
    await journey.skip(days_to_rung("jes", 1) + MARGIN)
    await journey.wait_for(lambda s: s.nudge_level == 1, "the SMS rung")
    await delivered(outbox, pool, journey, 1)
    await outbox.drain()  # tells the trajectory

    await journey.skip(0.6)  # the WhatsApp rung is 3 days later when the SMS arrives
    await journey.wait_for(lambda s: s.nudge_level == 2, "the WhatsApp rung, at once")
    await delivered(outbox, pool, journey, 2)
    [whatsapp] = [t for t in texts_to(gateway, "+32470555077") if t["channel"] == "whatsapp"]
    assert whatsapp["text"].startswith("Bonjour, nous n'avons toujours pas de nouvelles de toi")

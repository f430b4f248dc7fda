"""Partners hear about their participants by signed webhooks: every post verifies with the
webhook's secret, a participant's events arrive in order, a reassigned participant's later events
go to the new partner only, bodies carry no personal data nor a case manager's words, and a
receiver that keeps failing is shown as failed to its owner."""

import json
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from temporalio.testing import WorkflowEnvironment

from activities.channels import GatewayChannel, Unconfigured
from activities.notifications import OutboxSender
from activities.webhooks import WebhookRetries, WebhookSender
from api.app import create_app, hold
from infra.database import Pool
from infra.person_keys import default_person_keys
from infra.settings import Settings
from infra.signing import new_secret
from readmodel.api_keys import create_key
from tests.api_fixtures import bearer
from tests.journeys import CASE_MANAGER, Journey, Start
from tests.sinks import HttpSink, Received, http_sink
from tests.test_nudges_reach_people import AFTERNOON, MARGIN, days_to_rung, delivered
from trajectory.actors import Role
from trajectory.phases import Outcome
from trajectory.requests import ReassignParticipant, ReassignRequest
from workflows.trajectory import ParticipantTrajectory

REASON = "moves in with her aunt in Etterbeek"
GATEWAY_SECRET = new_secret()
EVERY_EVENT = ["participant.assigned", "phase.changed", "task.opened", "nudge.sent"]


@pytest.fixture
async def receiver() -> AsyncIterator[HttpSink]:
    async with http_sink() as sink:
        yield sink


@pytest.fixture
async def api(time_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(temporal_namespace=time_env.client.namespace, key_cache_seconds=0)
    app = create_app(settings)
    hold(app, time_env.client, pool, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as client:
        yield client


class Hooks:
    """Webhooks a test registers through the API; deleted when the test ends, so that no other
    test's events go to its receiver."""

    def __init__(self, api: httpx.AsyncClient, pool: Pool) -> None:
        self.api = api
        self.pool = pool
        self.made: list[dict[str, Any]] = []

    async def register(
        self, role: Role, partner_id: str | None, url: str, events: list[str] | None = None
    ) -> dict[str, Any]:
        key = (await create_key(self.pool, role, partner_id, label="webhook test")).key
        body = {"url": url, "events": events or [*EVERY_EVENT, "trajectory.closed"]}
        answer = await self.api.post("/v1/webhooks", json=body, headers=bearer(key))
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        created["key"] = key
        self.made.append(created)
        return created

    async def sent_all(self, sender: WebhookSender) -> None:
        """Post until none of these webhooks has a delivery due (backoff here is none)."""
        ids = [hook["webhook_id"] for hook in self.made]
        for _ in range(100):
            await sender.drain()
            pending = await self.pool.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL"
                " AND failed_at IS NULL AND webhook_id = ANY($1::text[])",
                ids,
            )
            if not pending:
                return
        raise AssertionError("deliveries still pending")


@pytest.fixture
async def hooks(api: httpx.AsyncClient, pool: Pool) -> AsyncIterator[Hooks]:
    made = Hooks(api, pool)
    yield made
    for hook in made.made:
        await api.delete(f"/v1/webhooks/{hook['webhook_id']}", headers=bearer(hook["key"]))


def events_of(received: list[Received], secret: str, participant_id: str) -> list[dict[str, Any]]:
    """The participant's events a receiver got, each signature checked."""
    bodies = [Webhook(secret).verify(request.body, request.headers) for request in received]
    return [body for body in bodies if body["participant_id"] == participant_id]


async def reassign(journey: Journey, partner_id: str) -> None:
    request = ReassignParticipant(
        request=ReassignRequest(partner_id=partner_id, reason=REASON), actor=CASE_MANAGER
    )
    await journey.handle.execute_update(ParticipantTrajectory.reassign, request)


async def test_a_reassigned_participants_events_move_to_the_new_partner_signed_and_in_order(
    start: Start, api: httpx.AsyncClient, pool: Pool, receiver: HttpSink, hooks: Hooks
) -> None:
    jes = await hooks.register(Role.PARTNER, "jes", receiver.url("/jes"))
    orienta = await hooks.register(Role.PARTNER, "orientaeuro", receiver.url("/orienta"))
    everyone = await hooks.register(Role.CASE_MANAGER, None, receiver.url("/all"))
    journey = await start("jes", language="fr")
    await journey.finish_phase()  # intake -> assessment, with JES
    await reassign(journey, "orientaeuro")
    await journey.finish_phase()  # assessment -> coaching, with OrientaEuro
    await journey.written()
    sender = WebhookSender(pool, default_person_keys(None), "development")
    await hooks.sent_all(sender)

    pid = journey.participant_id
    heard_by_jes = events_of(receiver.at("/jes"), jes["secret"], pid)
    heard_by_orienta = events_of(receiver.at("/orienta"), orienta["secret"], pid)
    heard_by_all = events_of(receiver.at("/all"), everyone["secret"], pid)
    assert [(e["type"], e["data"].get("to_phase")) for e in heard_by_jes] == [
        ("participant.assigned", None),
        ("phase.changed", "assessment"),
    ]
    assert [(e["type"], e["data"].get("to_phase")) for e in heard_by_orienta] == [
        ("phase.changed", "assessment"),
        ("participant.assigned", None),
        ("phase.changed", "coaching"),
    ]
    assert heard_by_all == heard_by_jes + heard_by_orienta
    assert {e["partner_id"] for e in heard_by_orienta} == {"orientaeuro"}
    assert [e["at"] for e in heard_by_all] == sorted(e["at"] for e in heard_by_all)
    for event in heard_by_all:
        assert set(event) == {"type", "participant_id", "partner_id", "at", "data"}
    raw = b"".join(request.body for request in receiver.received).decode()
    person = await journey.person()
    assert REASON not in raw
    assert person.family_name not in raw and person.national_number not in raw
    for request in receiver.received:
        assert request.headers["webhook-id"].startswith("evt_")
        with pytest.raises(WebhookVerificationError):
            Webhook(orienta["secret"] if request.path != "/orienta" else jes["secret"]).verify(
                request.body, request.headers
            )


async def test_a_receiver_that_fails_gets_the_events_again_in_order_then_shows_failed(
    start: Start, api: httpx.AsyncClient, pool: Pool, receiver: HttpSink, hooks: Hooks
) -> None:
    hook = await hooks.register(Role.PARTNER, "backstage", receiver.url("/flaky"))
    posted: list[str] = []

    def answer(request: Received) -> int:
        body = json.loads(request.body)
        posted.append(body["type"])
        return 500 if len(posted) <= 2 else 200

    receiver.answer = answer
    journey = await start("backstage", language="fr")
    await journey.finish_phase()
    await journey.written()
    retrying = WebhookSender(
        pool, default_person_keys(None), "development", retries=WebhookRetries(first=timedelta(0))
    )
    await hooks.sent_all(retrying)
    assert posted == ["participant.assigned"] * 3 + ["phase.changed"]
    listed = await api.get("/v1/webhooks", headers=bearer(hook["key"]))
    [shown] = listed.json()["items"]
    assert (shown["delivered"], shown["pending"], shown["failed"]) == (2, 0, 0)

    receiver.answer = lambda _: 503
    await journey.finish_phase()
    await journey.written()
    giving_up = WebhookSender(
        pool, default_person_keys(None), "development", retries=WebhookRetries(during=timedelta(0))
    )
    await hooks.sent_all(giving_up)
    [shown] = (await api.get("/v1/webhooks", headers=bearer(hook["key"]))).json()["items"]
    assert (shown["failed"], shown["last_failure"]) == (1, "HTTP 503")
    assert "secret" not in shown


async def test_a_partner_lists_and_deletes_only_its_own_webhooks(
    api: httpx.AsyncClient, hooks: Hooks
) -> None:
    mine = await hooks.register(Role.PARTNER, "art2work", "http://127.0.0.1:9/hook")
    theirs = await hooks.register(Role.PARTNER, "inbrussel", "http://127.0.0.1:9/hook")
    assert mine["secret"].startswith("whsec_")
    listed = (await api.get("/v1/webhooks", headers=bearer(mine["key"]))).json()["items"]
    assert [hook["webhook_id"] for hook in listed] == [mine["webhook_id"]]
    other = await api.delete(f"/v1/webhooks/{theirs['webhook_id']}", headers=bearer(mine["key"]))
    assert other.status_code == 404
    gone = await api.delete(f"/v1/webhooks/{mine['webhook_id']}", headers=bearer(mine["key"]))
    assert gone.status_code == 204
    assert (await api.get("/v1/webhooks", headers=bearer(mine["key"]))).json()["items"] == []


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/hook", "http://example.org/hook", "https://user:pw@example.org/hook"],
)
async def test_a_webhook_url_that_is_not_https_is_refused_with_the_reason(
    api: httpx.AsyncClient, pool: Pool, url: str
) -> None:
    key = (await create_key(pool, Role.PARTNER, "jes", label="webhook test")).key
    answer = await api.post(
        "/v1/webhooks", json={"url": url, "events": ["phase.changed"]}, headers=bearer(key)
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("url: ")


async def test_a_partner_hears_the_nudge_sent_the_coach_task_opened_and_the_closing(
    start: Start, api: httpx.AsyncClient, pool: Pool, receiver: HttpSink, hooks: Hooks
) -> None:
    hook = await hooks.register(Role.PARTNER, "jes", receiver.url("/jes"))
    number = f"+32479{secrets.randbelow(10**6):06d}"
    journey = await start("jes", language="fr", phone=number)
    async with http_sink() as gateway, httpx.AsyncClient() as http:
        texts = GatewayChannel(gateway.url("/sms"), GATEWAY_SECRET, http)
        outbox = OutboxSender(
            pool,
            {"sms": texts, "whatsapp": texts, "email": Unconfigured()},
            default_person_keys(None),
            clock=lambda: AFTERNOON,
        )
        await journey.skip(days_to_rung("jes", 1) + MARGIN)
        await journey.wait_for(lambda s: s.nudge_level == 1, "the SMS rung")
        await delivered(outbox, pool, journey, 1)
        await journey.skip(days_to_rung("jes", 2) - days_to_rung("jes", 1))
        await journey.wait_for(lambda s: s.nudge_level == 2, "the WhatsApp rung")
        await delivered(outbox, pool, journey, 2)
        await journey.skip(days_to_rung("jes", 3) - days_to_rung("jes", 2))
        state = await journey.wait_for(lambda s: s.nudge_level == 3, "the coach call")
    await journey.close(Outcome.LOST_CONTACT, reason=REASON)
    await journey.written()
    await hooks.sent_all(WebhookSender(pool, default_person_keys(None), "development"))

    heard = events_of(receiver.at("/jes"), hook["secret"], journey.participant_id)
    assert [event["type"] for event in heard] == [
        "participant.assigned",
        "nudge.sent",
        "nudge.sent",
        "task.opened",
        "phase.changed",
        "trajectory.closed",
    ]
    sent = await pool.fetch(
        "SELECT message_id, channel FROM outbox WHERE participant_id = $1 ORDER BY nudge_seq",
        journey.participant_id,
    )
    assert [event["data"] for event in heard[1:3]] == [
        {"nudge_seq": seq, "channel": row["channel"], "message_id": row["message_id"]}
        for seq, row in enumerate(sent, start=1)
    ]
    [task] = state.tasks
    opened = heard[3]["data"]
    assert (opened["task_id"], opened["kind"], opened["nudge_level"]) == (
        task.task_id,
        "coach_call",
        3,
    )
    assert heard[5]["data"] == {"code": "closed_by_case_manager", "outcome": "lost_contact"}
    assert {event["partner_id"] for event in heard} == {"jes"}
    raw = b"".join(request.body for request in receiver.received).decode()
    assert number not in raw and REASON not in raw

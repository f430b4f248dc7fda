"""Nudge delivery: messages per second through the outbox to local sinks, and the lag from a
rung firing to its message leaving (`python -m bench --only delivery`).

In the bench's own process: an embedded PostgreSQL, a dev server with the production worker,
a local SMTP server and SMS gateway (the sinks of `make dev`, counting), and the outbox sender
with a clock held in the afternoon (messages leave in daytime only, whatever the hour of the
run).

- *Throughput*: `backlog` message rungs are carried out by the ladder's own activity (read the
  person, check consent, queue), half by e-mail and half by SMS, with the sender stopped; then
  the sender starts and the figure is messages received by the sinks per second until the last.
- *Lag*: `lag_people` participants enrolled at a steady pace with programme days of one second,
  so their silence timers fire while the sender runs as it does beside a worker; for each first
  rung's message, from the rung firing (the workflow's time of the rung, `nudges.sent_at`) to
  the channel having taken it (`outbox.sent_at`), split at the message's queuing
  (`outbox.created_at`): `queued_*` is the workflow and its activity, `waiting_*` the outbox.
"""

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.channels import Channel, EmailChannel, GatewayChannel
from activities.notifications import OutboxSender
from activities.trajectory import TrajectoryActivities
from api.enrolment import enrol
from bench.in_process import in_process_stack
from bench.stack import free_port
from infra.database import Pool
from infra.logging import configure_logging
from infra.person_keys import default_person_keys
from infra.signing import new_secret
from readmodel.enrolment import add_participant
from readmodel.persons import store_person
from tests.people import enrolment
from tests.serving import uvicorn_serving
from trajectory.eligibility import age_on
from trajectory.phases import Phase
from trajectory.programme import Channel as Medium
from trajectory.records import NudgeRequest
from worker import build_worker

AFTERNOON = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
SECRET = new_secret()
LAG_DAY_SECONDS = 1.0
ENROL_PACE = 10.0
"""Participants enrolled per second for the lag: their rungs fire at the same pace."""

Say = Callable[[str], None]


class Arrivals:
    """When each message reached a sink, and by which channel."""

    def __init__(self) -> None:
        self.at: list[tuple[float, str]] = []
        """(wall time, channel)"""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.at.append((time.time(), "email"))
        return "250 OK"

    async def gateway(self, request: Request) -> Response:
        await request.body()
        self.at.append((time.time(), "sms"))
        return Response("{}", media_type="application/json")


@contextlib.asynccontextmanager
async def sinks(arrivals: Arrivals) -> AsyncIterator[tuple[str, str]]:
    """A local SMTP server and SMS gateway that count; their URLs."""
    smtp_port, sms_port = free_port(), free_port()
    loop = asyncio.get_running_loop()
    mail = await loop.create_server(lambda: SMTP(arrivals), "127.0.0.1", smtp_port)
    app = Starlette(routes=[Route("/sms", arrivals.gateway, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=sms_port, log_config=None, lifespan="off")
    try:
        async with uvicorn_serving(config) as gateway:
            yield f"smtp://127.0.0.1:{smtp_port}", f"{gateway}/sms"
    finally:
        mail.close()
        await mail.wait_closed()


def _sender(pool: Pool, http: httpx.AsyncClient, smtp_url: str, sms_url: str) -> OutboxSender:
    texts = GatewayChannel(sms_url, SECRET, http)
    channels: dict[str, Channel] = {
        "email": EmailChannel(smtp_url, "Parcours <bench@parcours.test>", require_tls=False),
        "sms": texts,
        "whatsapp": texts,
    }
    return OutboxSender(pool, channels, default_person_keys(None), clock=lambda: AFTERNOON)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _throughput(
    pool: Pool, backlog: int, smtp_url: str, sms_url: str, arrivals: Arrivals, say: Say
) -> dict[str, Any]:
    say(f"delivery: {backlog} message rungs queued by the ladder's activity")
    activities = TrajectoryActivities(pool)
    environment = ActivityEnvironment()
    now = datetime.now(UTC)
    for index in range(backlog):
        partner_id, medium = ("inbrussel", Medium.EMAIL) if index % 2 else ("jes", Medium.SMS)
        person = enrolment(partner_id)
        async with pool.acquire() as con, con.transaction():
            age = age_on(person.person.birth_date, now.date())
            participant_id, _ = await add_participant(con, person, age)
            await store_person(con, participant_id, person.person, person.status)
        rung = NudgeRequest(
            participant_id=participant_id,
            partner_id=partner_id,
            seq=1,
            level=1,
            action="message",
            channel=medium,
            language="fr",
            phase=Phase.COACHING,
            silent_since=now - timedelta(days=21),
            sent_at=now,
        )
        await environment.run(activities.send_nudge, rung)
    arrivals.at.clear()
    say("delivery: the sender drains the backlog")
    stop = asyncio.Event()
    async with httpx.AsyncClient() as http:
        sender = _sender(pool, http, smtp_url, sms_url)
        began = time.time()
        running = asyncio.create_task(sender.run(stop))
        while len(arrivals.at) < backlog:
            await asyncio.sleep(0.05)
        stop.set()
        await running
    seconds = max(at for at, _ in arrivals.at) - began
    return {
        "messages": backlog,
        "seconds": round(seconds, 2),
        "messages_per_s": round(backlog / seconds, 1),
        "emails": sum(channel == "email" for _, channel in arrivals.at),
        "texts": sum(channel == "sms" for _, channel in arrivals.at),
    }


async def _lag(
    pool: Pool,
    env: WorkflowEnvironment,
    people: int,
    smtp_url: str,
    sms_url: str,
    arrivals: Arrivals,
    say: Say,
) -> dict[str, Any]:
    say(f"delivery: {people} silent participants, rungs firing while the sender runs")
    arrivals.at.clear()
    stop = asyncio.Event()
    async with httpx.AsyncClient() as http, build_worker(env.client, pool):
        sender = _sender(pool, http, smtp_url, sms_url)
        running = asyncio.create_task(sender.run(stop))
        enrolled = []
        for index in range(people):
            partner_id = "inbrussel" if index % 2 else "jes"
            enrolled.append(
                await enrol(env.client, pool, enrolment(partner_id), day_seconds=LAG_DAY_SECONDS)
            )
            await asyncio.sleep(1 / ENROL_PACE)
        ids = [person.participant_id for person in enrolled]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rows = await pool.fetch(
                "SELECT n.sent_at AS fired, o.created_at AS queued, o.sent_at AS left_at"
                " FROM nudges n"
                " JOIN outbox o ON o.participant_id = n.participant_id AND o.nudge_seq = n.seq"
                " WHERE n.participant_id = ANY($1) AND n.seq = 1",
                ids,
            )
            if len(rows) == people and all(row["left_at"] for row in rows):
                break
            await asyncio.sleep(0.5)
        rows = [row for row in rows if row["left_at"] is not None]
        stop.set()
        await running
        for person in enrolled:
            with contextlib.suppress(Exception):
                await person.handle.terminate("bench done")
    result: dict[str, Any] = {"messages": len(rows)}
    for name, since, until in (
        ("lag", "fired", "left_at"),
        ("queued", "fired", "queued"),
        ("waiting", "queued", "left_at"),
    ):
        spans = [(row[until] - row[since]).total_seconds() * 1000 for row in rows]
        result[f"{name}_p50_ms"] = round(statistics.median(spans), 1) if spans else None
        result[f"{name}_p99_ms"] = round(_percentile(spans, 0.99), 1) if spans else None
    return result


async def run_delivery(backlog: int, lag_people: int, say: Say) -> dict[str, Any]:
    """Both figures, on a stack of their own."""
    configure_logging("WARNING")  # a line per message would drown the bench's own
    arrivals = Arrivals()
    async with in_process_stack("delivery") as (env, pool, _), sinks(arrivals) as urls:
        smtp_url, sms_url = urls
        result = {"throughput": await _throughput(pool, backlog, *urls, arrivals, say)}
        result["lag"] = await _lag(pool, env, lag_people, smtp_url, sms_url, arrivals, say)
    return result

"""Who may call what (DESIGN §8, §8.1): every endpoint of the API against every kind of caller.

The endpoints come from the app itself, so a new one without a row here fails. Callers: no key,
an unknown key, a revoked key (a case manager's, used before it was revoked), the backend, a case
manager, the participant's own partner and another partner. Expected: 401 without a valid key,
403 for a role that may not, 404 for another partner's participant (404 is what a missing one
gets), and success otherwise. A refused request changes nothing: the participant's state,
timeline and milestone log are the same before and after.

On the time-skipping server, so coach tasks (after weeks of silence) exist to be closed.
"""

import asyncio
import json
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app, hold
from infra.database import Pool
from infra.person_keys import default_person_keys
from infra.settings import Settings
from infra.signing import new_secret, signed_headers
from readmodel.api_keys import create_key, revoke_key
from readmodel.timeline import timeline
from readmodel.webhooks import create_webhook
from tests.api_fixtures import bearer, enrolment_body
from tests.journeys import Journey
from tests.keys import ENCRYPTED
from tests.temporal_fixtures import SERVER_STARTUP, follow, register_on_test_server
from trajectory.actors import Actor, Role
from trajectory.phases import Phase
from trajectory.programmes import load_programme
from worker import build_worker
from workflows.trajectory import ParticipantTrajectory

BIN = Path(sys.executable).parent
JES = load_programme("jes")
UNTIL_COACH_CALL = JES.steps(Phase.INTAKE).inactivity_days + sum(
    step.after_days for step in JES.nudge_ladder[:3]
)
"""Days of silence in intake until the JES ladder opens a coach task."""

NO_KEY, UNKNOWN, REVOKED = "no key", "unknown key", "revoked key"
BACKEND, CASE_MANAGER = "backend", "case manager"
OWN_PARTNER, OTHER_PARTNER = "own partner (jes)", "other partner (inbrussel)"
CALLERS = (NO_KEY, UNKNOWN, REVOKED, BACKEND, CASE_MANAGER, OWN_PARTNER, OTHER_PARTNER)
ROLE_OF = {
    BACKEND: Role.BACKEND,
    CASE_MANAGER: Role.CASE_MANAGER,
    OWN_PARTNER: Role.PARTNER,
    OTHER_PARTNER: Role.PARTNER,
}
ANYONE = frozenset(Role)
"""Public endpoints: no key needed, and any key is ignored."""
SMS_SECRET = new_secret()
"""Signs what the SMS gateway posts to the API (`/v1/inbound/sms` needs no key)."""


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


Target = Journey


@dataclass(frozen=True)
class Row:
    """One endpoint: who may call it, and how to call it on a participant."""

    roles: frozenset[Role]
    call: Callable[["World", Target], Awaitable[Call]]
    public: bool = False
    scoped: bool = False
    """About one participant: another partner's answers 404."""
    changes: bool = False
    """An allowed call changes the participant: each gets a participant of its own."""
    success: int = 200
    lists: bool = False
    """A list: a partner sees its own participants in it, never another partner's."""


@dataclass
class World:
    """The API on a time-skipping server, keys for every caller, and silent JES participants
    with an open coach task each: `held` takes every refused call, `spare` the allowed changes."""

    env: WorkflowEnvironment
    api: httpx.AsyncClient
    pool: Pool
    keys: dict[str, str | None]
    held: Target
    spare: list[Target] = field(default_factory=list)

    async def task_of(self, target: Target) -> str:
        snapshot = await target.handle.query(ParticipantTrajectory.snapshot)
        assert snapshot.open_tasks, f"{target.participant_id} has no open task"
        task_id: str = snapshot.open_tasks[0].task_id
        return task_id


def fixed(method: str, path: str) -> Callable[[World, Target], Awaitable[Call]]:
    async def call(world: World, target: Target) -> Call:
        return Call(method, path)

    return call


def on_participant(
    method: str, suffix: str = "", body: Callable[[], dict[str, Any]] | None = None
) -> Callable[[World, Target], Awaitable[Call]]:
    async def call(world: World, target: Target) -> Call:
        path = f"/v1/participants/{target.participant_id}{suffix}"
        return Call(method, path, body() if body else None)

    return call


async def paused_then_resume(world: World, target: Target) -> Call:
    """Resume needs a paused trajectory; the held participant stays active (a resume is then
    refused by the trajectory itself, which the matrix would also report)."""
    if target is not world.held:
        paused = await world.api.post(
            f"/v1/participants/{target.participant_id}/pause",
            json={"reason": "illness"},
            headers=bearer(str(world.keys[CASE_MANAGER])),
        )
        assert paused.status_code == 200, paused.text
    return Call("POST", f"/v1/participants/{target.participant_id}/resume", {"reason": "back"})


async def task_done(world: World, target: Target) -> Call:
    return Call("POST", f"/v1/tasks/{await world.task_of(target)}/done", {"reached": True})


async def new_webhook(world: World, target: Target) -> Call:
    body = {"url": "http://127.0.0.1:9/hook", "events": ["phase.changed"]}
    return Call("POST", "/v1/webhooks", body)


async def webhook_of_jes(world: World, target: Target) -> Call:
    """A JES webhook to delete: its partner and case managers may, another partner gets 404."""
    made = await create_webhook(
        world.pool,
        Actor(role=Role.PARTNER, partner_id="jes", key_id="matrix"),
        "http://127.0.0.1:9/hook",
        ["phase.changed"],
        new_secret(),
        default_person_keys(None),
    )
    return Call("DELETE", f"/v1/webhooks/{made['webhook_id']}")


async def stop_from_gateway(world: World, target: Target) -> Call:
    """A STOP signed by the SMS gateway, from a number no participant here was texted at."""
    body = {"from": f"+3247{secrets.randbelow(10**7):07d}", "text": "STOP"}
    raw = json.dumps(body).encode()
    headers = signed_headers(SMS_SECRET, secrets.token_hex(8), datetime.now(UTC), raw)
    return Call("POST", "/v1/inbound/sms", body, headers)


async def enrol(world: World, target: Target) -> Call:
    return Call("POST", "/v1/participants", enrolment_body("jes"))


def milestone() -> dict[str, Any]:
    return {
        "milestone_id": f"matrix-{secrets.token_hex(6)}",
        "type": "intake_interview_held",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {},
    }


def entry_profile() -> dict[str, Any]:
    return {
        "labour_status": "inactive",
        "education_level": "isced_3_4",
        "gender": "woman",
        **dict.fromkeys(
            ("disability", "third_country_national", "foreign_background", "minority"), "no"
        ),
        "homeless": "declined",
    }


async def listed(
    world: World, path: str, headers: dict[str, str], target: Target, answer: httpx.Response
) -> bool:
    """Whether any page of the list that `answer` begins shows the participant."""
    while True:
        page = answer.json()
        if any(item["participant_id"] == target.participant_id for item in page["items"]):
            return True
        if page["next_cursor"] is None:
            return False
        answer = await world.api.get(f"{path}&cursor={page['next_cursor']}", headers=headers)
        assert answer.status_code == 200, answer.text


everyone_reading = frozenset({Role.BACKEND, Role.CASE_MANAGER, Role.PARTNER})
case_manager_and_partner = frozenset({Role.CASE_MANAGER, Role.PARTNER})
backend_and_case_manager = frozenset({Role.BACKEND, Role.CASE_MANAGER})
case_manager = frozenset({Role.CASE_MANAGER})

MATRIX: dict[tuple[str, str], Row] = {
    ("POST", "/v1/participants"): Row(frozenset({Role.BACKEND}), enrol, changes=True, success=201),
    ("GET", "/v1/participants"): Row(
        everyone_reading,
        fixed("GET", "/v1/participants?partner_id=jes&limit=500"),
        lists=True,
    ),
    ("GET", "/v1/participants/{participant_id}"): Row(
        everyone_reading, on_participant("GET"), scoped=True
    ),
    ("GET", "/v1/participants/{participant_id}/timeline"): Row(
        everyone_reading, on_participant("GET", "/timeline"), scoped=True
    ),
    ("POST", "/v1/participants/{participant_id}/milestones"): Row(
        case_manager_and_partner,
        on_participant("POST", "/milestones", milestone),
        scoped=True,
        changes=True,
    ),
    ("POST", "/v1/participants/{participant_id}/pause"): Row(
        case_manager,
        on_participant("POST", "/pause", lambda: {"reason": "illness"}),
        scoped=True,
        changes=True,
    ),
    ("POST", "/v1/participants/{participant_id}/resume"): Row(
        case_manager, paused_then_resume, scoped=True, changes=True
    ),
    ("POST", "/v1/participants/{participant_id}/reassign"): Row(
        case_manager,
        on_participant("POST", "/reassign", lambda: {"partner_id": "orientaeuro"}),
        scoped=True,
        changes=True,
    ),
    ("POST", "/v1/participants/{participant_id}/close"): Row(
        case_manager,
        on_participant("POST", "/close", lambda: {"outcome": "moved_away", "reason": "Liège"}),
        scoped=True,
        changes=True,
    ),
    ("POST", "/v1/participants/{participant_id}/consent"): Row(
        case_manager_and_partner,
        on_participant("POST", "/consent", lambda: {"channel": "sms", "allowed": False}),
        scoped=True,
        changes=True,
    ),
    ("POST", "/v1/webhooks"): Row(case_manager_and_partner, new_webhook, success=201),
    ("GET", "/v1/webhooks"): Row(case_manager_and_partner, fixed("GET", "/v1/webhooks")),
    ("DELETE", "/v1/webhooks/{webhook_id}"): Row(
        case_manager_and_partner, webhook_of_jes, scoped=True, success=204
    ),
    ("POST", "/v1/inbound/sms"): Row(ANYONE, stop_from_gateway, public=True),
    ("POST", "/v1/participants/{participant_id}/entry-profile"): Row(
        case_manager,
        on_participant("POST", "/entry-profile", entry_profile),
        scoped=True,
        changes=True,
        success=201,
    ),
    ("GET", "/v1/tasks"): Row(
        case_manager_and_partner,
        fixed("GET", "/v1/tasks?partner_id=jes&status=open&limit=500"),
        lists=True,
    ),
    ("GET", "/v1/tasks/figures"): Row(backend_and_case_manager, fixed("GET", "/v1/tasks/figures")),
    ("POST", "/v1/tasks/{task_id}/done"): Row(
        case_manager_and_partner, task_done, scoped=True, changes=True
    ),
    ("GET", "/v1/reports/programme"): Row(
        backend_and_case_manager, fixed("GET", "/v1/reports/programme")
    ),
    ("GET", "/healthz"): Row(ANYONE, fixed("GET", "/healthz"), public=True),
    ("GET", "/readyz"): Row(ANYONE, fixed("GET", "/readyz"), public=True),
    ("GET", "/metrics"): Row(ANYONE, fixed("GET", "/metrics"), public=True),
    ("GET", "/openapi.json"): Row(ANYONE, fixed("GET", "/openapi.json"), public=True),
    ("GET", "/docs"): Row(ANYONE, fixed("GET", "/docs"), public=True),
    ("GET", "/docs/oauth2-redirect"): Row(
        ANYONE, fixed("GET", "/docs/oauth2-redirect"), public=True
    ),
    ("GET", "/redoc"): Row(ANYONE, fixed("GET", "/redoc"), public=True),
}


def endpoints(app: FastAPI) -> set[tuple[str, str]]:
    """Every method and path the app serves: its routes (also those left out of the OpenAPI
    description, like `/metrics`) and its OpenAPI paths."""
    found = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }

    def walk(routes: Iterable[Any], prefix: str) -> None:
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:
                context = getattr(route, "include_context", None)
                walk(included.routes, prefix + (getattr(context, "prefix", "") or ""))
            elif methods := getattr(route, "methods", None):
                found.update((method, prefix + route.path) for method in methods - {"HEAD"})

    walk(app.routes, "")
    return found


def expected(row: Row, caller: str) -> int:
    if row.public:
        return 200
    if caller in (NO_KEY, UNKNOWN, REVOKED):
        return 401
    if ROLE_OF[caller] not in row.roles:
        return 403
    if caller == OTHER_PARTNER and row.scoped:
        return 404
    return row.success


def test_every_endpoint_has_a_row_in_the_matrix() -> None:
    served = endpoints(create_app(Settings()))
    assert served == set(MATRIX), (
        f"endpoints without a row: {sorted(served - set(MATRIX))}; "
        f"rows without an endpoint: {sorted(set(MATRIX) - served)}"
    )


# -- the world the matrix runs in -----------------------------------------------------------------


def _allowed_changes() -> int:
    return sum(
        1
        for row in MATRIX.values()
        for caller in CALLERS
        if row.changes and 200 <= expected(row, caller) < 300
    )


@pytest.fixture(scope="module")
async def world(pool: Pool) -> AsyncIterator[World]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_startup_timeout=SERVER_STARTUP,
        data_converter=ENCRYPTED,
        test_server_existing_path=str(BIN / "temporal-test-server"),
    )
    await register_on_test_server(env)
    settings = Settings(
        temporal_namespace=env.client.namespace,
        key_cache_seconds=0,
        auth_failures=1_000_000,
        sms_url="http://127.0.0.1:9/sms",
        sms_secret=SMS_SECRET,
    )
    app = create_app(settings)
    hold(app, env.client, pool, settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            build_worker(env.client, pool),
            httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as api,
        ):
            keys: dict[str, str | None] = {
                NO_KEY: None,
                UNKNOWN: f"prc_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}",
                BACKEND: (await create_key(pool, Role.BACKEND, label="matrix")).key,
                CASE_MANAGER: (await create_key(pool, Role.CASE_MANAGER, label="matrix")).key,
                OWN_PARTNER: (await create_key(pool, Role.PARTNER, "jes", label="matrix")).key,
                OTHER_PARTNER: (
                    await create_key(pool, Role.PARTNER, "inbrussel", label="matrix")
                ).key,
            }
            leaver = await create_key(pool, Role.CASE_MANAGER, label="matrix leaver")
            used = await api.get("/v1/participants", headers=bearer(leaver.key))
            assert used.status_code == 200, used.text
            await revoke_key(pool, leaver.record.key_id)
            keys[REVOKED] = leaver.key

            start = follow(env, pool)
            targets = [await start("jes", language="fr") for _ in range(_allowed_changes() + 1)]
            await env.sleep(timedelta(days=UNTIL_COACH_CALL + 0.5))
            for target in targets:
                await target.wait_for(lambda s: s.nudge_level == 3, "the coach call rung")
            world = World(env, api, pool, keys, targets[0], targets[1:])
            await _until_listed(world)
            yield world
    finally:
        await env.shutdown()


async def _until_listed(world: World) -> None:
    """The read model holds the held participant and its open task (lists read from there)."""
    headers = bearer(str(world.keys[CASE_MANAGER]))
    lists = [row for row in MATRIX.values() if row.lists]
    for row in lists:
        path = (await row.call(world, world.held)).path
        for _ in range(200):
            answer = await world.api.get(path, headers=headers)
            if await listed(world, path, headers, world.held, answer):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the read model never listed the held participant: {path}")


async def footprint(world: World, target: Target) -> tuple[Any, ...]:
    """What a refused call must leave as it was."""
    snapshot = await target.handle.query(ParticipantTrajectory.snapshot)
    entries = await timeline(
        world.pool, target.participant_id, 0, 10_000, default_person_keys(None)
    )
    participants = await world.pool.fetchval("SELECT count(*) FROM participants")
    return snapshot.model_dump(mode="json"), len(entries), participants


async def send(world: World, call: Call, caller: str) -> httpx.Response:
    key = world.keys[caller]
    headers = {**(bearer(key) if key is not None else {}), **call.headers}
    content = json.dumps(call.body).encode() if call.body is not None else None
    if content is not None:
        headers["content-type"] = "application/json"
    return await world.api.request(call.method, call.path, content=content, headers=headers)


# -- the matrix -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=lambda part: str(part))
async def test_each_caller_gets_what_the_contract_says_and_a_refusal_changes_nothing(
    world: World, method: str, path: str
) -> None:
    row = MATRIX[(method, path)]
    wrong: list[str] = []
    for caller in CALLERS:
        want = expected(row, caller)
        allowed = 200 <= want < 300
        target = world.spare.pop() if allowed and row.changes else world.held
        call = await row.call(world, target)
        before = await footprint(world, world.held)
        answer = await send(world, call, caller)
        if not allowed and await footprint(world, world.held) != before:
            wrong.append(f"{caller}: answered {answer.status_code} and changed the participant")
        if answer.status_code != want:
            wrong.append(f"{caller}: {answer.status_code} (want {want}) {answer.text[:120]}")
        elif not allowed and set(answer.json()) != {"error", "detail"}:
            wrong.append(f"{caller}: not the error shape: {answer.text[:120]}")
        elif allowed and row.lists:
            sees = caller != OTHER_PARTNER
            key = world.keys[caller]
            headers = bearer(key) if key is not None else {}
            if await listed(world, call.path, headers, world.held, answer) != sees:
                wrong.append(f"{caller}: the list {'hides' if sees else 'shows'} the participant")
    assert not wrong, f"{method} {path}:\n" + "\n".join(wrong)

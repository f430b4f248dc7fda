"""Guessing keys is slowed down per client address; everybody else goes on as before."""

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app, hold, server_config
from api.auth import FailedAuthentications
from api.connection import TemporalConnection
from infra.database import Pool
from infra.settings import Settings
from readmodel.api_keys import create_key, revoke_key
from tests.api_fixtures import bearer
from tests.keys import TEST_KEYS
from tests.serving import uvicorn_serving
from tests.test_deploy_files import compose_services, configmap, resolved
from trajectory.actors import Role

ALLOWED = 4
WINDOW = 2.0
"""Four failures at once, then one more every half second."""


def made_up_key() -> str:
    return f"prc_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def settings(database_url: str, **more: object) -> Settings:
    return Settings.model_validate(
        {
            "database_url": database_url,
            "temporal_address": f"127.0.0.1:{free_port()}",  # never reached: not needed here
            "codec_keys": TEST_KEYS,
            "auth_failures": ALLOWED,
            "auth_failure_window": WINDOW,
            **more,
        }
    )


def without_temporal() -> TemporalConnection:
    async def unreachable() -> Client:
        raise AssertionError("these tests never ask Temporal")

    return TemporalConnection(unreachable)


@pytest.fixture
def app(pool: Pool, database_url: str) -> FastAPI:
    app = create_app(settings(database_url))
    hold(app, without_temporal(), pool, app.state.settings)
    return app


def client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://parcours.test")


async def test_an_address_guessing_keys_gets_429_with_retry_after_and_may_try_again_later(
    app: FastAPI,
) -> None:
    async with client_at(app, "198.51.100.7") as guesser:
        answers = [
            await guesser.get("/v1/participants", headers=bearer(made_up_key()))
            for _ in range(ALLOWED + 3)
        ]
        statuses = [answer.status_code for answer in answers]
        assert statuses == [401] * ALLOWED + [429] * 3
        throttled = answers[-1]
        assert throttled.json()["error"] == "too_many_failed_authentications"
        wait = int(throttled.headers["Retry-After"])
        assert 1 <= wait <= WINDOW

        await asyncio.sleep(wait)
        later = await guesser.get("/v1/participants", headers=bearer(made_up_key()))
        assert later.status_code == 401
        burst = [
            (await guesser.get("/v1/participants", headers=bearer(made_up_key()))).status_code
            for _ in range(ALLOWED)
        ]
        assert burst[-1] == 429


async def test_other_addresses_and_valid_keys_from_the_throttled_address_are_unaffected(
    app: FastAPI, pool: Pool
) -> None:
    partner_key = (await create_key(pool, Role.PARTNER, "jes", label="shared office")).key
    async with client_at(app, "198.51.100.8") as office, client_at(app, "203.0.113.9") as other:
        assert (await office.get("/v1/participants", headers=bearer(partner_key))).is_success
        for _ in range(ALLOWED + 1):
            await office.get("/v1/participants", headers=bearer(made_up_key()))
        blocked = await office.get("/v1/participants", headers=bearer(made_up_key()))
        assert blocked.status_code == 429

        mine = await office.get("/v1/participants", headers=bearer(partner_key))
        assert mine.status_code == 200, mine.text
        elsewhere = await other.get("/v1/participants", headers=bearer(made_up_key()))
        assert elsewhere.status_code == 401
        no_key = await office.get("/v1/participants")
        assert no_key.status_code == 401


async def test_a_revoked_key_counts_as_a_failure_like_a_made_up_one(
    app: FastAPI, pool: Pool
) -> None:
    issued = await create_key(pool, Role.BACKEND, label="retired service")
    await revoke_key(pool, issued.record.key_id)
    async with client_at(app, "198.51.100.10") as retired:
        statuses = [
            (await retired.get("/v1/reports/programme", headers=bearer(issued.key))).status_code
            for _ in range(ALLOWED + 1)
        ]
    assert statuses == [401] * ALLOWED + [429]


async def test_a_valid_key_this_process_never_saw_works_from_an_address_that_guessed_too_much(
    app: FastAPI, pool: Pool
) -> None:
    """Behind a proxy that hides client addresses every partner shares one: guesses by anyone
    must not lock out the keys a new replica has not met yet."""
    never_seen = (await create_key(pool, Role.PARTNER, "jes", label="new pod")).key
    async with client_at(app, "198.51.100.20") as shared:
        for _ in range(ALLOWED + 1):
            await shared.get("/v1/participants", headers=bearer(made_up_key()))
        assert (
            await shared.get("/v1/participants", headers=bearer(made_up_key()))
        ).status_code == 429

        answer = await shared.get("/v1/participants", headers=bearer(never_seen))

    assert answer.status_code == 200, answer.text


def wrong_secret_for(key: str) -> str:
    """`prc_<id>_<secret>` with the same id and another secret."""
    return f"{key[: len('prc_') + 12]}_{secrets.token_urlsafe(32)}"


async def test_wrong_secrets_for_one_key_are_limited_per_key_from_every_address(
    app: FastAPI, pool: Pool
) -> None:
    issued = (await create_key(pool, Role.BACKEND, label="targeted")).key
    statuses = []
    for n in range(ALLOWED + 2):  # a fresh address each time: the address limit never bites
        async with client_at(app, f"203.0.113.{100 + n}") as guesser:
            answer = await guesser.get("/v1/participants", headers=bearer(wrong_secret_for(issued)))
            statuses.append(answer.status_code)
    assert statuses == [401] * ALLOWED + [429] * 2
    assert "this key" in answer.json()["detail"]

    async with client_at(app, "203.0.113.200") as owner:
        assert (await owner.get("/v1/participants", headers=bearer(issued))).status_code == 200
    async with client_at(app, "203.0.113.201") as other:
        other_key = made_up_key()
        assert (await other.get("/v1/participants", headers=bearer(other_key))).status_code == 401


async def test_an_ipv6_client_counts_as_its_whole_slash_64(app: FastAPI) -> None:
    """One subscriber holds a /64: a fresh address per guess must not reset the limit."""
    statuses = []
    for n in range(ALLOWED + 2):
        async with client_at(app, f"2001:db8:7:42::{n + 1:x}") as guesser:
            answer = await guesser.get("/v1/participants", headers=bearer(made_up_key()))
            statuses.append(answer.status_code)
    assert statuses == [401] * ALLOWED + [429] * 2
    async with client_at(app, "2001:db8:7:43::1") as neighbour:
        assert (
            await neighbour.get("/v1/participants", headers=bearer(made_up_key()))
        ).status_code == 401


def test_many_addresses_cannot_grow_the_memory_without_bound() -> None:
    clock = [0.0]
    failures = FailedAuthentications(ALLOWED, WINDOW, clients=100, clock=lambda: clock[0])
    for n in range(10_000):
        failures.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert len(failures) == 100


async def test_made_up_keys_do_not_grow_the_key_cache(app: FastAPI, pool: Pool) -> None:
    known = (await create_key(pool, Role.CASE_MANAGER, label="cache")).key
    async with client_at(app, "198.51.100.11") as caller:
        await caller.get("/v1/participants", headers=bearer(known))
        held = len(app.state.keys)
        async with client_at(app, "203.0.113.12") as guesser:
            for _ in range(ALLOWED):
                await guesser.get("/v1/participants", headers=bearer(made_up_key()))
    assert len(app.state.keys) == held


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """`app` behind uvicorn as `python -m starter api` configures it."""
    async with uvicorn_serving(server_config(app, app.state.settings)) as url:
        yield url


async def guesses_from_rotating_forwarded_addresses(url: str) -> list[int]:
    async with httpx.AsyncClient(base_url=url) as guesser:
        return [
            (
                await guesser.get(
                    "/v1/participants",
                    headers=bearer(made_up_key()) | {"X-Forwarded-For": f"192.0.2.{n}"},
                )
            ).status_code
            for n in range(ALLOWED + 2)
        ]


async def test_x_forwarded_for_is_ignored_unless_a_proxy_is_configured(
    database_url: str,
) -> None:
    app = create_app(settings(database_url, api_port=free_port()))
    async with served(app) as url:
        statuses = await guesses_from_rotating_forwarded_addresses(url)
    assert statuses == [401] * ALLOWED + [429] * 2


async def test_behind_a_configured_proxy_each_forwarded_client_is_counted_apart(
    database_url: str,
) -> None:
    app = create_app(settings(database_url, api_port=free_port(), forwarded_allow_ips="127.0.0.1"))
    async with served(app) as url:
        statuses = await guesses_from_rotating_forwarded_addresses(url)
        async with httpx.AsyncClient(base_url=url) as one_client:
            same = [
                (
                    await one_client.get(
                        "/v1/participants",
                        headers=bearer(made_up_key()) | {"X-Forwarded-For": "192.0.2.200"},
                    )
                ).status_code
                for _ in range(ALLOWED + 1)
            ]
    assert statuses == [401] * (ALLOWED + 2)
    assert same == [401] * ALLOWED + [429]


SHIPPED_FORWARDED_ALLOW_IPS = {
    "k8s": (configmap()["PARCOURS_FORWARDED_ALLOW_IPS"], "10.42.3.17"),
    "compose": (
        resolved(compose_services()["api"]["environment"]["PARCOURS_FORWARDED_ALLOW_IPS"], {}),
        "172.18.0.1",
    ),
}
"""The setting deploy/ ships, and an address its ingress (or a proxy on the host) connects from."""


@pytest.mark.parametrize("where", list(SHIPPED_FORWARDED_ALLOW_IPS))
async def test_behind_the_ingress_deploy_ships_each_client_is_counted_apart(
    database_url: str, pool: Pool, where: str
) -> None:
    allowed, ingress = SHIPPED_FORWARDED_ALLOW_IPS[where]
    app = create_app(settings(database_url, forwarded_allow_ips=allowed))
    hold(app, without_temporal(), pool, app.state.settings)
    config = server_config(app, app.state.settings)
    config.load()  # the app as uvicorn serves it, behind its proxy-headers middleware

    def from_address(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=config.loaded_app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://parcours.test")

    async with from_address(ingress) as through_ingress:
        partners = [
            (
                await through_ingress.get(
                    "/v1/participants",
                    headers=bearer(made_up_key()) | {"X-Forwarded-For": f"198.51.100.{n}"},
                )
            ).status_code
            for n in range(ALLOWED + 2)
        ]
    async with from_address("203.0.113.50") as direct:
        forged = [
            (
                await direct.get(
                    "/v1/participants",
                    headers=bearer(made_up_key()) | {"X-Forwarded-For": f"192.0.2.{n}"},
                )
            ).status_code
            for n in range(ALLOWED + 1)
        ]

    assert partners == [401] * (ALLOWED + 2)
    assert forged == [401] * ALLOWED + [429]  # a client's own X-Forwarded-For is not believed

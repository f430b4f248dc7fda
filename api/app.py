"""The HTTP API's application: routers, error shape, and the clients it holds (DESIGN §8).

`python -m starter api` serves it with uvicorn on `PARCOURS_API_HOST:PARCOURS_API_PORT`.
"""

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from api import (
    consent,
    entry_profiles,
    health,
    inbound,
    participants,
    reports,
    tasks,
    timeline,
    webhooks,
)
from api.auth import FailedAuthentications, KeyCache
from api.body_guard import BodyGuard
from api.connection import TemporalConnection
from api.errors import install_error_handlers
from api.metrics import install_metrics
from api.openapi import described
from api.web.site import mount_web_app
from infra.codec import configured_keyring
from infra.database import Pool, open_pool
from infra.logging import configure_logging
from infra.person_keys import configured_person_keys
from infra.settings import Settings, get_settings
from infra.temporal import connect
from readmodel import migrate
from readmodel.key_uses import keep_adding_key_uses

log = structlog.stdlib.get_logger(__name__)

FIRST_CONNECT_WAIT = 5.0
"""Seconds start-up waits for the first attempt to reach Temporal; later attempts go on behind."""

DESCRIPTION = """
Partners report milestones and read their own participants; backend services enrol people;
case managers steer trajectories. Send `Authorization: Bearer KEY` with a key from
`python -m starter keys create --role backend|case_manager|partner [--partner ID]`.

Every error answers `{"error": CODE, "detail": TEXT}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API; `settings` replace `get_settings()` for this app (tests, embedded runs)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configured_person_keys(settings)  # refuses to serve without them, saying why
        temporal = TemporalConnection(lambda: connect(settings), settings.temporal_address)
        connecting = asyncio.create_task(temporal.keep_trying(), name="connect-temporal")
        try:
            hold(app, temporal, await open_pool(settings), settings)
            stop_counting = asyncio.Event()
            counting = asyncio.create_task(
                keep_adding_key_uses(app.state.pool, stop_counting), name="count-key-uses"
            )
            try:
                # A normal start serves with Temporal at hand; a Temporal outage does not stop it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(temporal.first_attempt.wait(), FIRST_CONNECT_WAIT)
                log.info(
                    "api_ready",
                    namespace=settings.temporal_namespace,
                    temporal=temporal.client is not None,
                )
                yield
            finally:
                stop_counting.set()
                await counting
                await app.state.pool.close()
        finally:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting

    app = FastAPI(
        title="Parcours",
        version="1",
        summary="Participant trajectories of public employment programmes",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.auth_failures = FailedAuthentications(
        settings.auth_failures, settings.auth_failure_window
    )
    app.state.key_failures = FailedAuthentications(
        settings.auth_failures, settings.auth_failure_window
    )
    install_error_handlers(app)
    app.add_middleware(BodyGuard)
    app.include_router(participants.router)
    app.include_router(entry_profiles.router)
    app.include_router(timeline.router)
    app.include_router(consent.router)
    app.include_router(webhooks.router)
    app.include_router(inbound.router)
    app.include_router(tasks.router)
    app.include_router(reports.router)
    app.include_router(health.router)
    mount_web_app(app)
    install_metrics(app, settings.metrics_cache_seconds, configured_keyring(settings).current)
    app.openapi = described(app)  # type: ignore[method-assign]  # FastAPI's documented way
    return app


def hold(
    app: FastAPI, temporal: Client | TemporalConnection, pool: Pool, settings: Settings
) -> None:
    """Give the app the clients it serves with: the lifespan's job, or a test's."""
    if isinstance(temporal, Client):
        temporal = TemporalConnection.of(temporal)
    app.state.temporal = temporal
    app.state.pool = pool
    app.state.keys = KeyCache(pool, settings.key_cache_seconds)


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`api`: serve the HTTP API; run by `args.run(args) -> exit code`."""
    api = subparsers.add_parser("api", help="serve the HTTP API (OpenAPI at /docs)")
    api.set_defaults(run=serve)


def server_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """uvicorn for `app`: X-Forwarded-For names the client only behind a configured proxy."""
    trusted = settings.forwarded_allow_ips
    return uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        proxy_headers=trusted is not None,
        forwarded_allow_ips=trusted,
    )


def serve(_: argparse.Namespace) -> int:
    """Migrate the database, then run the API until interrupted."""
    settings = get_settings()
    configured_person_keys(settings)  # refused before uvicorn starts, which would log a traceback
    configure_logging(settings.log_level)
    asyncio.run(_migrate(settings))
    uvicorn.Server(server_config(create_app(settings), settings)).run()
    return 0


async def _migrate(settings: Settings) -> None:
    """Apply pending migrations before listening, so a refusal stops the process plainly."""
    pool = await open_pool(settings)
    try:
        await migrate(pool)
    finally:
        await pool.close()

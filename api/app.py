"""The HTTP API's application: routers, error shape, and the clients it holds (DESIGN §8).

`python -m starter api` serves it with uvicorn on `PARCOURS_API_HOST:PARCOURS_API_PORT`.
"""

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from api import health, participants, reports, tasks, timeline
from api.auth import KeyCache
from api.body_guard import BodyGuard
from api.errors import install_error_handlers
from api.metrics import install_metrics
from infra.database import Pool, open_pool
from infra.logging import configure_logging
from infra.settings import Settings, get_settings
from infra.temporal import connect
from readmodel import migrate

log = structlog.stdlib.get_logger(__name__)

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
        hold(app, await connect(settings), await open_pool(settings), settings)
        try:
            await migrate(app.state.pool)
            log.info("api_ready", namespace=settings.temporal_namespace)
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="Parcours",
        version="1",
        summary="Participant trajectories of public employment programmes",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodyGuard)
    app.include_router(participants.router)
    app.include_router(timeline.router)
    app.include_router(tasks.router)
    app.include_router(reports.router)
    app.include_router(health.router)
    install_metrics(app)
    return app


def hold(app: FastAPI, temporal: Client, pool: Pool, settings: Settings) -> None:
    """Give the app the clients it serves with: the lifespan's job, or a test's."""
    app.state.temporal = temporal
    app.state.pool = pool
    app.state.keys = KeyCache(pool, settings.key_cache_seconds)


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`api`: serve the HTTP API; run by `args.run(args) -> exit code`."""
    api = subparsers.add_parser("api", help="serve the HTTP API (OpenAPI at /docs)")
    api.set_defaults(run=serve)


def serve(_: argparse.Namespace) -> int:
    """Run the API until interrupted."""
    settings = get_settings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.api_host, port=settings.api_port, log_config=None
    )
    return 0

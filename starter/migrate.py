"""`python -m starter migrate`: prepare the read model and the namespace before a deployment.

Applies the database migrations and registers the contract's search attributes; both are
idempotent, so the step runs at every deploy (compose's one-shot service, the Kubernetes Job)
before the new workers and API replicas start. Temporal Cloud manages a namespace's search
attributes itself (`tcld` or its UI): pass `--no-search-attributes` there.
"""

import argparse
import asyncio

import structlog

from infra.database import open_pool
from infra.logging import configure_logging
from infra.settings import Settings, get_settings
from infra.temporal import connect, register_search_attributes
from readmodel import migrate

log = structlog.stdlib.get_logger(__name__)


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`migrate [--no-search-attributes]`; run by `args.run(args) -> exit code`."""
    command = subparsers.add_parser(
        "migrate", help="apply database migrations and register the search attributes"
    )
    command.add_argument(
        "--no-search-attributes",
        dest="search_attributes",
        action="store_false",
        help="leave the namespace's search attributes alone (Temporal Cloud)",
    )
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Prepare: the one-shot step's exit code is the deploy's go-ahead."""
    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(prepare(settings, search_attributes=args.search_attributes))
    return 0  # `python -m starter` leaves through exit_now: the exit code is this one


async def prepare(settings: Settings, *, search_attributes: bool) -> None:
    """Migrate the database, then register what the namespace lacks."""
    pool = await open_pool(settings)
    try:
        applied = await migrate(pool)
    finally:
        await pool.close()
    log.info("database_migrated", applied=applied)
    if search_attributes:
        client = await connect(settings)
        await register_search_attributes(client, settings.temporal_namespace)

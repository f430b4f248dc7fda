"""A TCP relay to the session's PostgreSQL that a test can cut and restore: an outage."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Outage:
    """A TCP relay to PostgreSQL that can be cut: connections break and new ones are refused."""

    def __init__(self, connect: Callable[[], Awaitable[Streams]]) -> None:
        self._connect = connect
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        """Listen (again, on the same port once it has one)."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._links):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self._connect()
        self._links |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def relay_to(database_url: str) -> tuple[Outage, str]:
    """A started relay to the PostgreSQL at `database_url`, and the URL that goes through it
    (over TCP, also where the server listens on a Unix socket only)."""
    url = urlsplit(database_url)
    query = dict(parse_qsl(url.query))
    socket_dir = query.pop("host", "") if query.get("host", "").startswith("/") else ""
    if socket_dir:  # the embedded server listens on a Unix socket
        path = next(str(p) for p in Path(socket_dir).glob(".s.PGSQL.*") if p.suffix != ".lock")
        relay = Outage(lambda: asyncio.open_unix_connection(path))
    else:
        relay = Outage(lambda: asyncio.open_connection(url.hostname, url.port or 5432))
    await relay.start()
    credentials = url.netloc.rsplit("@", 1)[0] + "@" if "@" in url.netloc else ""
    through = url._replace(netloc=f"{credentials}127.0.0.1:{relay.port}", query=urlencode(query))
    return relay, urlunsplit(through)


@pytest.fixture
async def outage(database_url: str) -> AsyncIterator[tuple[Outage, str]]:
    """A relay to the session's PostgreSQL and the URL that goes through it."""
    relay, url = await relay_to(database_url)
    yield relay, url
    with contextlib.suppress(Exception):
        await relay.cut()

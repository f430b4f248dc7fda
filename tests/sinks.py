"""Real servers that messages and webhooks reach in the tests: an SMTP server (aiosmtpd) and an
HTTP receiver (uvicorn) that keeps every request and answers as the test says."""

import asyncio
import contextlib
import email
import email.policy
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.serving import uvicorn_serving


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class MailSink:
    """An SMTP server on 127.0.0.1 that keeps each message it accepts."""

    port: int = field(default_factory=free_port)
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def mail_sink() -> AsyncIterator[MailSink]:
    sink = MailSink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink), "127.0.0.1", sink.port)
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Received], int]
"""The status the receiver answers a request with."""


@dataclass
class HttpSink:
    """An HTTP server on 127.0.0.1 keeping every request; `answer` says what to answer, and
    while `hold` is set it keeps requests waiting (a sender killed mid-delivery)."""

    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    answer: Answer = lambda _: 200
    hold: asyncio.Event | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _receive(self, request: Request) -> Response:
        got = Received(request.url.path, dict(request.headers), await request.body())
        self.received.append(got)
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        return Response(status_code=self.answer(got))

    def at(self, path: str) -> list[Received]:
        return [request for request in self.received if request.path == path]


@contextlib.asynccontextmanager
async def http_sink(**options: Any) -> AsyncIterator[HttpSink]:
    sink = HttpSink(**options)
    app = Starlette(routes=[Route("/{path:path}", sink._receive, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=sink.port, log_config=None, lifespan="off")
    async with uvicorn_serving(config):
        try:
            yield sink
        finally:
            if sink.hold is not None:
                sink.hold.set()


@pytest.fixture
async def mail() -> AsyncIterator[MailSink]:
    """A local SMTP server for one test."""
    async with mail_sink() as sink:
        yield sink


@pytest.fixture
async def gateway() -> AsyncIterator[HttpSink]:
    """A local SMS gateway for one test."""
    async with http_sink() as sink:
        yield sink

"""A body that is too large gets a 413 the client can read, not a reset connection."""

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.errors import install_error_handlers


@pytest.fixture
async def served() -> AsyncIterator[str]:
    """A tiny app behind the API's body guard, served by uvicorn on a free port."""
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def send_slowly(url: str, body: bytes, *, declared: bool) -> bytes:
    """POST `body` in 64 KiB pieces, as a client on a real network would, then read the answer."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    length = f"Content-Length: {len(body)}" if declared else "Transfer-Encoding: chunked"
    writer.write(
        f"POST /echo HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"{length}\r\n\r\n".encode()
    )
    for start in range(0, len(body), 65536):
        piece = body[start : start + 65536]
        writer.write(piece if declared else b"%x\r\n%s\r\n" % (len(piece), piece))
        await writer.drain()
        await asyncio.sleep(0.01)
    if not declared:
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    answer = await reader.read(65536)
    writer.close()
    return answer


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "chunked"])
async def test_a_one_megabyte_body_sent_at_network_pace_gets_a_readable_413(
    served: str, declared: bool
) -> None:
    big = b'{"note": "' + b"x" * 1_000_000 + b'"}'
    answer = await send_slowly(served, big, declared=declared)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"error":"payload_too_large"' in answer
    async with httpx.AsyncClient(base_url=served) as client:
        small = await client.post("/echo", json={"note": "fine"})
        assert small.json() == {"note": "fine"}

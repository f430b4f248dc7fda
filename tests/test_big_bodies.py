"""A body that is too large gets a 413 the client can read, not a reset connection.

The API runs under a real uvicorn here, and the clients are plain ones that write the whole
body before they read anything. uvicorn keeps reading after an early answer and throws the rest
of the body away, so the 413 is there to read once the client has written; these tests make
sure it stays so.
"""

import asyncio
import http.client
from collections.abc import Iterator

import httpx
import pytest

from tests.api_fixtures import EnrolByApi, Keys, bearer

REPEATS = 20
PIECE = 65536


def milestone_of(size: int) -> bytes:
    """A milestone body of about `size` bytes."""
    return b'{"milestone_id": "big", "type": "participant_contact", "payload": {"note": "%s"}}' % (
        b"x" * size
    )


async def send_slowly(address: str, path: str, key: str, body: bytes, *, declared: bool) -> bytes:
    """POST `body` in 64 KiB pieces, as a client on a real network would, then read the answer."""
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    length = f"Content-Length: {len(body)}" if declared else "Transfer-Encoding: chunked"
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\n{length}\r\n\r\n".encode()
    )
    for start in range(0, len(body), PIECE):
        piece = body[start : start + PIECE]
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
    served: str, keys: Keys, enrol_by_api: EnrolByApi, declared: bool
) -> None:
    path = f"/v1/participants/{await enrol_by_api('jes')}/milestones"

    answer = await send_slowly(
        served.removeprefix("http://"), path, keys.jes, milestone_of(1_000_000), declared=declared
    )

    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"error":"payload_too_large"' in answer


def post_plainly(
    address: str, path: str, key: str, body: bytes, *, declared: bool, close: bool
) -> tuple[int, bytes, int | None]:
    """POST with the standard library's client: the whole body first, then the answer; then a
    small request on the same connection when it stays open (its status, else None)."""
    connection = http.client.HTTPConnection(address, timeout=30)
    headers = {"Content-Type": "application/json", **bearer(key)}
    if close:
        headers["Connection"] = "close"
    pieces: Iterator[bytes] = (body[i : i + PIECE] for i in range(0, len(body), PIECE))
    try:
        if declared:
            connection.request("POST", path, body=body, headers=headers)
        else:
            connection.request("POST", path, body=pieces, headers=headers, encode_chunked=True)
        answer = connection.getresponse()
        status, text = answer.status, answer.read()
        if close:
            return status, text, None
        connection.request("GET", "/healthz")
        return status, text, connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "close"])
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "chunked"])
@pytest.mark.parametrize("size", [1_000_000, 10_000_000], ids=["1MB", "10MB"])
async def test_a_plain_client_reads_the_413_every_time(
    served: str, keys: Keys, enrol_by_api: EnrolByApi, size: int, declared: bool, close: bool
) -> None:
    path = f"/v1/participants/{await enrol_by_api('jes')}/milestones"
    body = milestone_of(size)

    for _ in range(REPEATS):
        status, text, next_status = await asyncio.to_thread(
            post_plainly,
            served.removeprefix("http://"),
            path,
            keys.jes,
            body,
            declared=declared,
            close=close,
        )
        assert (status, text[:29]) == (413, b'{"error":"payload_too_large",')
        assert next_status == (None if close else 200)

    async with httpx.AsyncClient(base_url=served) as client:
        assert (await client.get("/healthz")).status_code == 200

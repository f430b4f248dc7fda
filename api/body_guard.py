"""What a request body may be before anything parses it: small, UTF-8, shallow, plain numbers.

Checked as the body streams in, so nothing large is ever buffered and a hostile body gets a
clear 422 instead of the parser's recursion or integer-size error (which FastAPI turns into an
unexplained 400). Whatever answers early, the rest of the body is read and thrown away, within
bounds, before the answer goes out: a client that writes its whole body before reading (most
do) would otherwise find the connection reset under its feet and never see the 413.
"""

import asyncio
import codecs

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error_response

MAX_BODY_BYTES = 64 * 1024
"""The largest request body accepted; one enrolment or milestone is a few hundred bytes."""
MAX_DEPTH = 32
"""Deepest nesting of a JSON body; the deepest request the API takes has three levels."""
MAX_DIGITS = 100
"""Longest run of digits in a JSON number; Python refuses to parse past 4,300."""
DRAIN_BYTES = 16 * 1024 * 1024
"""How much of a refused body is read and discarded so the client can read the answer."""
DRAIN_SECONDS = 10.0
"""How long that reading may take; past either bound the connection is closed."""

_CLOSE = (b"connection", b"close")


class JsonShape:
    """Follows a JSON text as it streams in and names the first thing past the limits."""

    def __init__(self, max_depth: int = MAX_DEPTH, max_digits: int = MAX_DIGITS) -> None:
        self.max_depth = max_depth
        self.max_digits = max_digits
        self.depth = 0
        self.digits = 0
        self.in_string = False
        self.escaped = False

    def feed(self, chunk: bytes) -> str | None:
        """The problem with the text so far, or None."""
        for byte in chunk:
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif byte == 0x5C:  # backslash
                    self.escaped = True
                elif byte == 0x22:  # quote
                    self.in_string = False
            elif 0x30 <= byte <= 0x39:
                self.digits += 1
                if self.digits > self.max_digits:
                    return f"body: a number has more than {self.max_digits} digits"
            else:
                self.digits = 0
                if byte == 0x22:
                    self.in_string = True
                elif byte in b"[{":
                    self.depth += 1
                    if self.depth > self.max_depth:
                        return f"body: nested deeper than {self.max_depth} levels"
                elif byte in b"]}":
                    self.depth -= 1
        return None


def _is_json(headers: Headers) -> bool:
    """Whether FastAPI will parse the body as JSON (it does when no type is given)."""
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type in ("", "application/json") or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def _drain(receive: Receive) -> bool:
    """Read the rest of a body and drop it, within bounds; True when it all came."""
    drained = 0
    more_body = True
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while more_body:
                message = await receive()
                if message["type"] != "http.request":
                    return False
                drained += len(message.get("body", b""))
                more_body = message.get("more_body", False)
                if more_body and drained > DRAIN_BYTES:
                    return False
    except TimeoutError:
        return False
    return True


class BodyGuard:
    """Refuse bodies over `max_bytes` (413), and JSON bodies that are not UTF-8, nest too deep or
    hold numbers too long to parse (422); the declared Content-Length is checked first.

    Whatever answers early (these refusals, a 401 or a 404), the rest of the body is drained
    before the answer goes out.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        # A client that waits for "100 Continue" sends nothing until the body is read.
        unsent = headers.get("expect", "").lower() == "100-continue"
        body_pending = "transfer-encoding" in headers or declared not in (None, "0")

        async def answer(message: Message) -> None:
            nonlocal body_pending
            if message["type"] == "http.response.start" and body_pending and not unsent:
                body_pending = False
                if not await _drain(receive):
                    message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
            await send(message)

        if declared is not None and not declared.isdigit():
            response = error_response(400, "bad_request", "Content-Length is not a number")
            await response(scope, receive, answer)
            return
        if declared is not None and int(declared) > self.max_bytes:
            response = error_response(413, "payload_too_large", self._too_large())
            await response(scope, receive, answer)
            return
        utf8 = codecs.getincrementaldecoder("utf-8")() if _is_json(headers) else None
        shape = JsonShape() if utf8 is not None else None
        received = 0

        # FastAPI hands an HTTPException raised while it reads the body to the error handlers.
        async def guarded() -> Message:
            nonlocal received, unsent, body_pending
            unsent = False
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk = message.get("body", b"")
            body_pending = message.get("more_body", False)
            received += len(chunk)
            if received > self.max_bytes:
                raise ApiError(413, "payload_too_large", self._too_large())
            if utf8 is not None and shape is not None:
                try:
                    utf8.decode(chunk, final=not body_pending)
                except UnicodeDecodeError:
                    raise ApiError(
                        422, "invalid_request", "body: not valid JSON (not UTF-8)"
                    ) from None
                if problem := shape.feed(chunk):
                    raise ApiError(422, "invalid_request", problem)
            return message

        await self.app(scope, guarded, answer)

    def _too_large(self) -> str:
        return f"the request body exceeds {self.max_bytes // 1024} KiB"

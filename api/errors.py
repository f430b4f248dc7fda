"""Every error the API answers is `{"error": CODE, "detail": TEXT}` (DESIGN §8).

Validation errors name the field (`person.national_number: ...`) and never echo the input,
which may be personal data. Unexpected errors answer 500 without a trace and are logged.
"""

import codecs
from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.service import RPCError

from infra.database import DATABASE_DOWN

log = structlog.stdlib.get_logger(__name__)

MAX_BODY_BYTES = 64 * 1024
"""The largest request body accepted; one enrolment or milestone is a few hundred bytes."""

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
}
_SOURCES = {"body", "query", "path", "header", "cookie"}
_PREFIXES = ("Value error, ", "Assertion failed, ")


class ErrorPublic(BaseModel):
    """An error answer: a stable code for programs and a sentence for people."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"error": "milestone_refused", "detail": "the trajectory is paused"}]
        }
    )

    error: str
    detail: str


class AlreadyEnrolledPublic(ErrorPublic):
    """409 `already_enrolled`: the person's open trajectory, under another reference."""

    participant_id: str


class ApiError(HTTPException):
    """An error with its own code, raised anywhere in a request."""

    def __init__(
        self, status_code: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.code = code


def describe_errors(errors: Sequence[Any]) -> str:
    """Pydantic errors as `field.path: message; ...`, without the offending values."""
    parts: list[str] = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if error.get("type") == "json_invalid":
            reason = error.get("ctx", {}).get("error", "")
            parts.append(f"body: not valid JSON ({reason})" if reason else "body: not valid JSON")
            continue
        if len(loc) > 1 and loc[0] in _SOURCES:
            loc = loc[1:]
        message = str(error.get("msg", "invalid"))
        for prefix in _PREFIXES:
            message = message.removeprefix(prefix)
        parts.append(f"{'.'.join(loc) or 'body'}: {message}")
    return "; ".join(parts)


def error_response(
    status_code: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        ErrorPublic(error=code, detail=detail).model_dump(),
        status_code=status_code,
        headers=headers,
    )


async def _validation_failed(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return error_response(422, "invalid_request", describe_errors(error.errors()))


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = error.code if isinstance(error, ApiError) else _CODES.get(error.status_code, "error")
    headers = dict(error.headers) if error.headers else None
    return error_response(error.status_code, code, str(error.detail), headers)


async def _temporal_down(request: Request, error: Exception) -> JSONResponse:
    log.warning("temporal_unavailable", path=request.url.path, error=str(error))
    return error_response(503, "temporal_unavailable", "Temporal does not answer; retry later")


async def _database_down(request: Request, error: Exception) -> JSONResponse:
    log.warning("database_unavailable", path=request.url.path, error=type(error).__name__)
    return error_response(503, "database_unavailable", "PostgreSQL does not answer; retry later")


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("request_failed", method=request.method, path=request.url.path, exc_info=error)
    return error_response(500, "internal_error", "an unexpected error occurred; it was logged")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error, expected or not, in the contract's shape."""
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RPCError, _temporal_down)
    for down in DATABASE_DOWN:
        app.add_exception_handler(down, _database_down)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(BodyGuard, max_bytes=MAX_BODY_BYTES)


class BodyGuard:
    """Refuse request bodies over `max_bytes` (413) and JSON bodies that are not UTF-8 (422).

    Both are checked as the body streams in, so nothing large is ever buffered; the declared
    Content-Length is refused before reading anything.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and not declared.isdigit():
            response = error_response(400, "bad_request", "Content-Length is not a number")
            await response(scope, receive, send)
            return
        if declared is not None and int(declared) > self.max_bytes:
            response = error_response(413, "payload_too_large", self._too_large())
            await response(scope, receive, send)
            return
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        utf8 = None
        if media_type == "application/json" or media_type.endswith("+json"):
            utf8 = codecs.getincrementaldecoder("utf-8")()
        received = 0

        # FastAPI hands an HTTPException raised while it reads the body to the error handlers.
        async def guarded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_bytes:
                    raise ApiError(413, "payload_too_large", self._too_large())
                if utf8 is not None:
                    try:
                        utf8.decode(chunk, final=not message.get("more_body", False))
                    except UnicodeDecodeError:
                        raise ApiError(
                            422, "invalid_request", "body: not valid JSON (not UTF-8)"
                        ) from None
            return message

        await self.app(scope, guarded, send)

    def _too_large(self) -> str:
        return f"the request body exceeds {self.max_bytes // 1024} KiB"

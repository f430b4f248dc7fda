"""Every error the API answers is `{"error": CODE, "detail": TEXT}` (DESIGN §8).

Validation errors name the field (`person.national_number: ...`) and never echo the input,
which may be personal data. Unexpected errors answer 500 without a trace and are logged.
What a body may be before it is parsed is `api.body_guard`'s job.
"""

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.routing import Match
from temporalio.service import RPCError

from infra.database import DATABASE_DOWN

log = structlog.stdlib.get_logger(__name__)

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
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
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


def allowed_methods(request: Request) -> str:
    """Every method the app takes at the request's path, for `Allow` (Starlette's 405 names only
    those of the first route whose path matched, so `GET /v1/participants` went unsaid)."""
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = error.code if isinstance(error, ApiError) else _CODES.get(error.status_code, "error")
    headers = dict(error.headers) if error.headers else {}
    if error.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return error_response(error.status_code, code, str(error.detail), headers or None)


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

"""The codec server: lets the Temporal Web UI (and CLI) of a case manager decode payloads.

Serves Temporal's remote codec protocol (`POST /codec/encode`, `POST /codec/decode`, payloads as
protobuf JSON) with the keyring of the workers. CORS admits only the Web UI's origin.

In production every call needs a case-manager credential as `Authorization: Bearer ...`: the
OIDC access token that the Web UI forwards (`codec.passAccessToken`) carrying the case-manager
group, or a case-manager API key (CLI: `--codec-auth "Bearer KEY"`). Without one the answer is
401 and the UI shows payloads as stored: ciphertext. An address that sends more than
`PARCOURS_AUTH_FAILURES` refused credentials in `PARCOURS_AUTH_FAILURE_WINDOW` seconds gets 429
for its next refused ones, without its made-up keys being looked up; valid credentials from
there still work. In development, calls from this machine need nothing. `python -m starter codec`
runs it.
"""

import argparse
import asyncio
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import structlog
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf import json_format
from starlette.exceptions import HTTPException
from temporalio.api.common.v1 import Payload, Payloads

from api.auth import FailedAuthentications, KeyCache, client_of
from api.body_guard import BodyGuard
from api.errors import ApiError, error_response
from infra.codec import EncryptionCodec, UnknownKeyError, configured_keyring
from infra.database import open_pool
from infra.logging import configure_logging
from infra.oidc import RETRY_KEYS_AFTER, CaseManagerTokens, KeysUnavailable, TokenRefused
from infra.person_keys import keep_from_codec_server
from infra.settings import Settings, get_settings
from readmodel.api_keys import KEY_PREFIX
from readmodel.key_uses import keep_adding_key_uses
from trajectory.actors import Role

log = structlog.stdlib.get_logger(__name__)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_bearer = HTTPBearer(auto_error=False, description="an OIDC access token or a case-manager key")

Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]

MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest batch of payloads the codec takes (413 beyond); Temporal caps one at 2 MiB."""


@dataclass(frozen=True)
class Gate:
    """Who may use the codec: anyone on this machine in development, case managers otherwise;
    refused credentials are limited per client address."""

    settings: Settings
    tokens: CaseManagerTokens | None
    failures: FailedAuthentications

    async def admit(self, request: Request, token: str | None) -> str:
        """Who the caller is, for the logs; raises 401 or 403 for anyone else, 429 for an
        address that had too many credentials refused."""
        host = request.client.host if request.client else ""
        if self.settings.environment == "development" and _is_loopback(host):
            return "local"
        client = client_of(host)
        wait = self.failures.retry_after(client)
        try:
            return await self._identify(request, token, throttled=wait is not None)
        except ApiError as refusal:
            if refusal.status_code != 401 or token is None:
                raise
            if wait is not None:
                raise ApiError(
                    429,
                    "too_many_failed_authentications",
                    f"too many refused credentials from your address; retry in {wait} s",
                    {"Retry-After": str(wait)},
                ) from None
            if self.failures.failed(client):
                log.warning("codec_authentication_failures_throttled", client=client)
            raise

    async def _identify(self, request: Request, token: str | None, *, throttled: bool) -> str:
        """Who the caller is; a throttled address's keys are looked up only if they exist."""
        if token is None:
            raise ApiError(401, "unauthorized", "send a case-manager credential", _CHALLENGE)
        if token.startswith(KEY_PREFIX):
            keys: KeyCache | None = request.app.state.keys
            caller = await keys.caller(token, known_only=throttled) if keys is not None else None
            if caller is None:
                raise ApiError(401, "unauthorized", "the API key is unknown or revoked", _CHALLENGE)
            if caller.role != Role.CASE_MANAGER:
                raise ApiError(403, "forbidden", "decoding payloads needs a case-manager key")
            return f"key:{caller.key_id}"
        if self.tokens is None:
            raise ApiError(401, "unauthorized", "not a case manager's credential", _CHALLENGE)
        try:
            return f"oidc:{await self.tokens.subject(token)}"
        except TokenRefused as refusal:
            log.info("codec_token_refused", reason=str(refusal))
            raise ApiError(
                401, "unauthorized", f"not a case manager's credential: {refusal}", _CHALLENGE
            ) from None
        except KeysUnavailable as trouble:
            log.warning("identity_provider_unavailable", error=str(trouble))
            raise ApiError(
                503,
                "identity_provider_unavailable",
                "the identity provider's signing keys cannot be fetched, so the token cannot "
                "be checked; retry later",
                {"Retry-After": str(int(RETRY_KEYS_AFTER))},
            ) from None


health_router = APIRouter(tags=["health"])


@health_router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = error.code if isinstance(error, ApiError) else "error"
    headers = dict(error.headers) if error.headers else None
    return error_response(error.status_code, code, str(error.detail), headers)


def create_codec_app(settings: Settings) -> FastAPI:
    """The codec server for `settings`: its keyring, the UI's origin, who may call."""
    keep_from_codec_server(settings)
    codec = EncryptionCodec(configured_keyring(settings))
    failures = FailedAuthentications(settings.auth_failures, settings.auth_failure_window)
    gate = Gate(settings, CaseManagerTokens.from_settings(settings), failures)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Only production checks API keys, so only production needs the database.
        app.state.keys = None
        if settings.environment != "production":
            yield
            return
        pool = await open_pool(settings)
        app.state.keys = KeyCache(pool, ttl=0)  # a revoked key stops at once
        stop_counting = asyncio.Event()
        counting = asyncio.create_task(keep_adding_key_uses(pool, stop_counting))
        try:
            yield
        finally:
            stop_counting.set()
            await counting
            await pool.close()

    async def served_namespace(request: Request) -> None:
        namespace = request.headers.get("X-Namespace", settings.temporal_namespace)
        if namespace != settings.temporal_namespace:
            raise ApiError(404, "not_found", f"this codec serves {settings.temporal_namespace}")

    async def case_manager(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        caller = await gate.admit(request, credentials.credentials if credentials else None)
        log.debug("codec_caller_admitted", caller=caller, path=request.url.path)

    async def transform(request: Request, apply: Transform) -> Response:
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except json_format.ParseError:
            raise ApiError(
                400, "bad_request", "the body is not Payloads in protobuf JSON"
            ) from None
        try:
            result = Payloads(payloads=await apply(payloads.payloads))
        except (UnknownKeyError, ValueError) as error:
            raise ApiError(422, "undecodable", str(error)) from None
        return Response(json_format.MessageToJson(result), media_type="application/json")

    router = APIRouter(
        prefix="/codec",
        tags=["codec"],
        dependencies=[Depends(case_manager), Depends(served_namespace)],
    )

    @router.post("/encode")
    async def encode(request: Request) -> Response:
        """Encrypt payloads with the current key."""
        return await transform(request, codec.encode)

    @router.post("/decode")
    async def decode(request: Request) -> Response:
        """Decrypt payloads with the key each one names."""
        return await transform(request, codec.decrypt)

    app = FastAPI(title="Parcours codec server", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(router)
    app.include_router(health_router)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(BodyGuard, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[settings.ui_origin],
        allow_credentials=True,
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
    )
    return app


# -- CLI ----------------------------------------------------------------------------------------


def add_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`codec [--host H] [--port P]`; run by `args.run(args) -> exit code`."""
    codec = subparsers.add_parser("codec", help="serve the codec endpoint for the Web UI")
    codec.add_argument("--host", help="address to bind (default PARCOURS_CODEC_HOST, 127.0.0.1)")
    codec.add_argument("--port", type=int, help="port (default PARCOURS_CODEC_PORT, 8234)")
    codec.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C."""
    settings = get_settings()
    configure_logging(settings.log_level)
    host = args.host or settings.codec_host
    port = args.port or settings.codec_port
    log.info("codec_server", url=f"http://{host}:{port}/codec", ui_origin=settings.ui_origin)
    uvicorn.run(
        create_codec_app(settings),
        host=host,
        port=port,
        log_config=None,
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    return 0

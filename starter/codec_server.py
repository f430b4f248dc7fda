"""The codec server: lets the Temporal Web UI (and CLI) of a case manager decode payloads.

Serves Temporal's remote codec protocol (`POST /codec/encode`, `POST /codec/decode`, payloads as
protobuf JSON) with the keyring of the workers. CORS admits only the Web UI's origin.

In production every call needs a case-manager credential as `Authorization: Bearer ...`: the
OIDC access token that the Web UI forwards (`codec.passAccessToken`) carrying the case-manager
group, or a case-manager API key (CLI: `--codec-auth "Bearer KEY"`). Without one the answer is
401 and the UI shows payloads as stored: ciphertext. In development, calls from this machine
need nothing. `python -m starter codec` runs it.
"""

import argparse
import asyncio
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
import structlog
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf import json_format
from starlette.exceptions import HTTPException
from temporalio.api.common.v1 import Payload, Payloads

from api.auth import authenticate
from api.errors import ApiError, error_response
from infra.codec import EncryptionCodec, UnknownKeyError, configured_keyring
from infra.database import Pool, open_pool
from infra.logging import configure_logging
from infra.settings import Settings, get_settings
from starter.keys import KEY_PREFIX, Role

log = structlog.stdlib.get_logger(__name__)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_bearer = HTTPBearer(auto_error=False, description="an OIDC access token or a case-manager key")

Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


class CaseManagerTokens:
    """Checks the OIDC access tokens the Web UI forwards: signature, issuer, audience, group."""

    def __init__(self, issuer: str, audience: str, jwks_url: str, claim: str, group: str) -> None:
        self._keys = jwt.PyJWKClient(jwks_url)
        self._issuer = issuer
        self._audience = audience
        self._claim = claim
        self._group = group

    @classmethod
    def from_settings(cls, settings: Settings) -> "CaseManagerTokens | None":
        """The verifier when OIDC is configured; its three settings go together."""
        issuer = settings.codec_oidc_issuer
        audience = settings.codec_oidc_audience
        jwks_url = settings.codec_oidc_jwks_url
        if issuer is None and audience is None and jwks_url is None:
            return None
        if issuer is None or audience is None or jwks_url is None:
            raise ValueError(
                "PARCOURS_CODEC_OIDC_ISSUER, _AUDIENCE and _JWKS_URL are set together or not at all"
            )
        claim, group = settings.codec_oidc_claim, settings.codec_oidc_case_manager
        return cls(issuer, audience, jwks_url, claim, group)

    async def subject(self, token: str) -> str | None:
        """The case manager a valid token names; None for any token that is not one."""
        try:
            # Fetching the issuer's keys blocks (and is cached by PyJWKClient).
            signing_key = await asyncio.to_thread(self._keys.get_signing_key_from_jwt, token)
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256", "ES256", "PS256"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        groups = claims.get(self._claim)
        member = self._group in groups if isinstance(groups, list) else self._group == groups
        return str(claims["sub"]) if member else None


@dataclass(frozen=True)
class Gate:
    """Who may use the codec: anyone on this machine in development, case managers otherwise."""

    settings: Settings
    tokens: CaseManagerTokens | None

    async def admit(self, request: Request, token: str | None) -> str:
        """Who the caller is, for the logs; raises 401 or 403 for anyone else."""
        if self.settings.environment == "development":
            host = request.client.host if request.client else ""
            if _is_loopback(host):
                return "local"
        if token is None:
            raise ApiError(401, "unauthorized", "send a case-manager credential", _CHALLENGE)
        if token.startswith(KEY_PREFIX):
            pool: Pool | None = request.app.state.pool
            caller = await authenticate(pool, token) if pool is not None else None
            if caller is None:
                raise ApiError(401, "unauthorized", "the API key is unknown or revoked", _CHALLENGE)
            if caller.role != Role.CASE_MANAGER:
                raise ApiError(403, "forbidden", "decoding payloads needs a case-manager key")
            return f"key:{caller.key_id}"
        if self.tokens is not None and (subject := await self.tokens.subject(token)):
            return f"oidc:{subject}"
        raise ApiError(401, "unauthorized", "not a case manager's credential", _CHALLENGE)


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
    codec = EncryptionCodec(configured_keyring(settings))
    gate = Gate(settings, CaseManagerTokens.from_settings(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Only production checks API keys, so only production needs the database.
        app.state.pool = None
        if settings.environment != "production":
            yield
            return
        app.state.pool = await open_pool(settings)
        try:
            yield
        finally:
            await app.state.pool.close()

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
    uvicorn.run(create_codec_app(settings), host=host, port=port, log_config=None)
    return 0

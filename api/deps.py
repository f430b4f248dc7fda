"""Dependencies of the routes, as `Annotated` aliases: settings, pool, Temporal client, caller."""

from collections.abc import Awaitable, Callable
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from temporalio.client import Client

from api.auth import Caller, FailedAuthentications, KeyCache, bearer, client_of
from api.connection import TemporalConnection
from api.errors import ApiError
from infra.database import Pool
from infra.person_keys import PersonKeys, configured_person_keys
from infra.settings import Settings
from readmodel.api_keys import key_id_of
from trajectory.actors import Role

log = structlog.stdlib.get_logger(__name__)


async def app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
"""Dependencies are coroutines: FastAPI runs plain functions in a thread pool, a hop per request."""


async def get_pool(request: Request) -> Pool:
    """The pool the lifespan opened."""
    pool: Pool = request.app.state.pool
    return pool


def _connection(request: Request) -> TemporalConnection:
    connection: TemporalConnection = request.app.state.temporal
    return connection


async def get_client(request: Request) -> Client:
    """The Temporal client; 503 `temporal_unavailable` until it could be connected."""
    return _connection(request).require()


async def get_client_if_connected(request: Request) -> Client | None:
    """The Temporal client, or None where a read can answer from the read model instead."""
    return _connection(request).client


async def get_keys(request: Request) -> KeyCache:
    """The key cache the lifespan made."""
    keys: KeyCache = request.app.state.keys
    return keys


async def person_keys(settings: SettingsDep) -> PersonKeys:
    """The keys that unseal personal data and free text (the lifespan checked them)."""
    return configured_person_keys(settings)


PoolDep = Annotated[Pool, Depends(get_pool)]
ClientDep = Annotated[Client, Depends(get_client)]
ClientIfConnectedDep = Annotated[Client | None, Depends(get_client_if_connected)]
PersonKeysDep = Annotated[PersonKeys, Depends(person_keys)]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def current_caller(
    request: Request,
    keys: Annotated[KeyCache, Depends(get_keys)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller behind `Authorization: Bearer KEY`; 401 when missing, unknown or revoked;
    429 for an address that sent too many unknown or revoked keys (a key that exists still
    works from there), and for wrong secrets of a key that got too many (the key still works)."""
    if credentials is None:
        raise ApiError(
            401, "unauthorized", "send an API key: Authorization: Bearer KEY", _CHALLENGE
        )
    by_address: FailedAuthentications = request.app.state.auth_failures
    by_key: FailedAuthentications = request.app.state.key_failures
    client = client_of(request.client.host if request.client else "")
    address_wait = by_address.retry_after(client)
    caller = await keys.caller(credentials.credentials, known_only=address_wait is not None)
    if caller is not None:
        return caller
    key_id = key_id_of(credentials.credentials)
    key_id = key_id if key_id is not None and keys.knows(key_id) else None
    if key_id is not None and (key_wait := by_key.retry_after(key_id)) is not None:
        raise _throttled(key_wait, "wrong secrets for this key")
    if address_wait is not None:
        raise _throttled(address_wait, "unknown or revoked keys from your address")
    if by_address.failed(client):
        log.warning("authentication_failures_throttled", client=client)
    if key_id is not None and by_key.failed(key_id):
        log.warning("authentication_failures_throttled", key_id=key_id)
    raise ApiError(401, "unauthorized", "the API key is unknown or revoked", _CHALLENGE)


def _throttled(wait: int, what: str) -> ApiError:
    return ApiError(
        429,
        "too_many_failed_authentications",
        f"too many {what}; retry in {wait} s",
        {"Retry-After": str(wait)},
    )


CallerDep = Annotated[Caller, Depends(current_caller)]


def require(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that lets only `roles` through; 403 for any other valid key."""
    allowed = ", ".join(role.value for role in roles)

    async def check(caller: CallerDep) -> Caller:
        if caller.role not in roles:
            raise ApiError(403, "forbidden", f"this needs a key of role {allowed}")
        return caller

    return check

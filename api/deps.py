"""Dependencies of the routes, as `Annotated` aliases: settings, pool, Temporal client, caller."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from temporalio.client import Client

from api.auth import Caller, KeyCache, bearer
from api.errors import ApiError
from infra.database import Pool
from infra.person_keys import PersonKeys, configured_person_keys
from infra.settings import Settings
from starter.keys import Role


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


async def get_client(request: Request) -> Client:
    """The Temporal client the lifespan connected."""
    client: Client = request.app.state.temporal
    return client


async def get_keys(request: Request) -> KeyCache:
    """The key cache the lifespan made."""
    keys: KeyCache = request.app.state.keys
    return keys


async def person_keys(settings: SettingsDep) -> PersonKeys:
    """The keys that unseal personal data and free text (the lifespan checked them)."""
    return configured_person_keys(settings)


PoolDep = Annotated[Pool, Depends(get_pool)]
ClientDep = Annotated[Client, Depends(get_client)]
PersonKeysDep = Annotated[PersonKeys, Depends(person_keys)]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def current_caller(
    keys: Annotated[KeyCache, Depends(get_keys)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller behind `Authorization: Bearer KEY`; 401 when missing, unknown or revoked."""
    if credentials is None:
        raise ApiError(
            401, "unauthorized", "send an API key: Authorization: Bearer KEY", _CHALLENGE
        )
    caller = await keys.caller(credentials.credentials)
    if caller is None:
        raise ApiError(401, "unauthorized", "the API key is unknown or revoked", _CHALLENGE)
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


def require(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that lets only `roles` through; 403 for any other valid key."""
    allowed = ", ".join(role.value for role in roles)

    async def check(caller: CallerDep) -> Caller:
        if caller.role not in roles:
            raise ApiError(403, "forbidden", f"this needs a key of role {allowed}")
        return caller

    return check

"""Liveness and readiness for load balancers and orchestrators; no key needed."""

import asyncio
from datetime import timedelta

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from api.deps import ClientIfConnectedDep, PoolDep
from api.errors import ErrorPublic, error_response
from readmodel.readiness import database_answers

log = structlog.stdlib.get_logger(__name__)

router = APIRouter(tags=["health"])

CHECK_TIMEOUT = timedelta(seconds=2)


class HealthPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ready"}]})

    status: str


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> HealthPublic:
    return HealthPublic(status="ok")


@router.get(
    "/readyz",
    response_model=HealthPublic,
    summary="Readiness: Temporal and PostgreSQL answer",
    responses={
        503: {"model": ErrorPublic, "description": "Temporal or PostgreSQL does not answer"}
    },
)
async def readyz(client: ClientIfConnectedDep, pool: PoolDep) -> HealthPublic | JSONResponse:
    """503 naming what does not answer, so no traffic reaches a replica that cannot serve it."""

    async def temporal() -> bool:
        if client is None:  # not reached since start-up; the API keeps trying
            return False
        return await client.service_client.check_health(timeout=CHECK_TIMEOUT)

    async def postgresql() -> bool:
        return await database_answers(pool, CHECK_TIMEOUT.total_seconds())

    results = await asyncio.gather(temporal(), postgresql(), return_exceptions=True)
    down = [
        name
        for name, result in zip(("temporal", "postgresql"), results, strict=True)
        if result is not True
    ]
    if down:
        log.warning("not_ready", down=down, errors=[repr(r) for r in results if r is not True])
        return error_response(503, "not_ready", f"not answering: {', '.join(down)}")
    return HealthPublic(status="ready")

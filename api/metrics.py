"""The API's Prometheus metrics at `GET /metrics` (no key, DESIGN §8.1).

Requests by route and status with their latency, milestones accepted (200) and refused (409) as
the milestone route answers them, and the programme's figures as the read model holds them at
each scrape: open trajectories by phase and status, nudges sent. Each app has its own registry.
"""

import time
from collections.abc import Iterator

import asyncpg
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.database import DATABASE_DOWN, Pool
from readmodel import gauges

log = structlog.stdlib.get_logger(__name__)

MILESTONE_ROUTE = "/v1/participants/{participant_id}/milestones"
MILESTONE_RESULTS = {200: "accepted", 409: "refused"}
"""What the milestone route's status says: 200 recorded (or repeated), 409 not allowed now."""
UNMATCHED = "unmatched"
"""The route label of a request no route matched, so stray paths do not multiply the series."""
SCRAPE_QUERY_SECONDS = 2.0
_UNAVAILABLE: tuple[type[Exception], ...] = (*DATABASE_DOWN, asyncpg.PostgresError)
"""A scrape keeps the last figures when the read model cannot answer."""


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/participants/{participant_id}`), or `unmatched`."""
    route = scope.get("route")
    return str(route.path) if route is not None else UNMATCHED


class ProgrammeFigures(Collector):
    """The read model's figures at the last refresh; `parcours_read_model_up` 0 when it failed."""

    def __init__(self) -> None:
        self._open: list[tuple[str, str, int]] = []
        self._nudges: list[tuple[str, str, int]] = []
        self._up = False

    async def refresh(self, pool: "Pool | None") -> None:
        """Read the figures again; a database that does not answer leaves the last ones."""
        if pool is None:
            self._up = False
            return
        try:
            async with pool.acquire() as con:
                opened = await gauges.open_trajectories(con, SCRAPE_QUERY_SECONDS)
                nudges = await gauges.nudges_sent(con, SCRAPE_QUERY_SECONDS)
        except _UNAVAILABLE as error:
            log.warning("metrics_read_model_unavailable", error=repr(error))
            self._up = False
            return
        self._open, self._nudges = opened, nudges
        self._up = True

    def collect(self) -> Iterator[Metric]:
        opened = GaugeMetricFamily(
            "parcours_open_trajectories",
            "Trajectories not closed, by phase and status (read model)",
            labels=["phase", "status"],
        )
        for phase, status, count in self._open:
            opened.add_metric([phase, status], count)
        yield opened
        nudges = CounterMetricFamily(
            "parcours_nudges_sent",
            "Nudge ladder steps carried out, by partner and action (read model)",
            labels=["partner_id", "action"],
        )
        for partner_id, action, count in self._nudges:
            nudges.add_metric([partner_id, action], count)
        yield nudges
        yield GaugeMetricFamily(
            "parcours_read_model_up",
            "1 when the read model answered the last scrape",
            value=1 if self._up else 0,
        )


class ApiMetrics:
    """The metric objects of one API app, in the app's own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "parcours_api_requests",
            "HTTP requests answered, by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "parcours_api_request_duration_seconds",
            "Time to answer an HTTP request, by method and route",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.milestones = Counter(
            "parcours_milestones",
            "Milestones reported through the API: accepted (200) or refused (409)",
            ["result"],
            registry=self.registry,
        )
        for result in MILESTONE_RESULTS.values():
            self.milestones.labels(result)
        self.programme = ProgrammeFigures()
        self.registry.register(self.programme)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if method == "POST" and route == MILESTONE_ROUTE and status in MILESTONE_RESULTS:
            self.milestones.labels(MILESTONE_RESULTS[status]).inc()


class MetricsMiddleware:
    """Times and counts every HTTP request by its route template and final status."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def answered(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, answered)
        finally:
            elapsed = time.perf_counter() - started
            self._metrics.observe(scope["method"], route_template(scope), status, elapsed)


def install_metrics(app: FastAPI) -> ApiMetrics:
    """Count `app`'s requests and serve `GET /metrics`, refreshing the read model's figures."""
    metrics = ApiMetrics()
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        await metrics.programme.refresh(getattr(request.app.state, "pool", None))
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return metrics

"""The API's Prometheus metrics at `GET /metrics` (no key, DESIGN §8.1).

Requests by method, route and status with their latency, milestones accepted (200) and refused
(409) as the milestone route answers them, and the figures PostgreSQL holds: open trajectories by
phase and status, nudges sent, and each payload key's encryptions (for the alert that says when
to rotate it, `readmodel.key_uses`). Each app has its own registry.

Anyone may call the API and scrape it, so neither may grow the metrics or load the database
without bound: label values come from fixed sets (methods outside HTTP's own count as `other`,
paths as their route's template or `unmatched`), and the read model's figures are read at most
once per `PARCOURS_METRICS_CACHE_SECONDS`, however many scrapes arrive.
"""

import asyncio
import time
from collections.abc import Callable, Iterator

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
from readmodel.key_uses import KeyUse, key_uses

log = structlog.stdlib.get_logger(__name__)

MILESTONE_ROUTE = "/v1/participants/{participant_id}/milestones"
MILESTONE_RESULTS = {200: "accepted", 409: "refused"}
"""What the milestone route's status says: 200 recorded (or repeated), 409 not allowed now."""
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
"""HTTP's own methods; uvicorn passes on any token as a method."""
OTHER_METHOD = "other"
"""The method label of every request whose method is not one of `KNOWN_METHODS`."""
UNMATCHED = "unmatched"
"""The route label of a request no route matched, so stray paths do not multiply the series."""
SCRAPE_QUERY_SECONDS = 2.0
_UNAVAILABLE: tuple[type[Exception], ...] = (*DATABASE_DOWN, asyncpg.PostgresError)
"""A scrape keeps the last figures when the read model cannot answer."""


def method_label(scope: Scope) -> str:
    """The request's method if HTTP defines it, else `other`."""
    method = str(scope["method"])
    return method if method in KNOWN_METHODS else OTHER_METHOD


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/participants/{participant_id}`), or `unmatched`."""
    route = scope.get("route")
    return str(route.path) if route is not None else UNMATCHED


class ProgrammeFigures(Collector):
    """The read model's figures at the last refresh; `parcours_read_model_up` 0 when it failed.

    A refresh reads them only when the last read (successful or not) is older than `max_age`
    seconds; scrapes that arrive during a read wait for it instead of reading again.
    """

    def __init__(
        self,
        max_age: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        current_key: str | None = None,
    ) -> None:
        self._open: list[tuple[str, str, int]] = []
        self._nudges: list[tuple[str, str, int]] = []
        self._key_uses: list[KeyUse] = []
        self._current_key = current_key
        self._up = False
        self._max_age = max_age
        self._clock = clock
        self._read_at = float("-inf")
        self._reading = asyncio.Lock()

    async def refresh(self, pool: "Pool | None") -> None:
        """Read the figures again if they are too old; a database that does not answer leaves
        the last ones."""
        if pool is None:
            self._up = False
            return
        async with self._reading:
            if self._clock() - self._read_at < self._max_age:
                return
            self._read_at = self._clock()
            try:
                async with pool.acquire() as con:
                    opened = await gauges.open_trajectories(con, SCRAPE_QUERY_SECONDS)
                    nudges = await gauges.nudges_sent(con, SCRAPE_QUERY_SECONDS)
                    used = await key_uses(con, SCRAPE_QUERY_SECONDS)
            except _UNAVAILABLE as error:
                log.warning("metrics_read_model_unavailable", error=repr(error))
                self._up = False
                return
            self._open, self._nudges, self._key_uses = opened, nudges, used
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
        labels = ["key_id", "current"]
        encryptions = GaugeMetricFamily(
            "parcours_payload_key_encryptions",
            "AES-GCM encryptions made under each payload key so far, by every process; "
            "a key is good for 2^32",
            labels=labels,
        )
        first_counted = GaugeMetricFamily(
            "parcours_payload_key_first_counted_timestamp_seconds",
            "When each payload key's first encryptions were counted",
            labels=labels,
        )
        for use in self._key_uses:
            key = [use.key_id, "true" if use.key_id == self._current_key else "false"]
            encryptions.add_metric(key, use.encryptions)
            first_counted.add_metric(key, use.first_counted_at.timestamp())
        yield encryptions
        yield first_counted
        yield GaugeMetricFamily(
            "parcours_read_model_up",
            "1 when the read model answered the last scrape",
            value=1 if self._up else 0,
        )


class ApiMetrics:
    """The metric objects of one API app, in the app's own registry."""

    def __init__(self, figures_max_age: float = 0.0, current_key: str | None = None) -> None:
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
        self.programme = ProgrammeFigures(figures_max_age, current_key=current_key)
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
            self._metrics.observe(method_label(scope), route_template(scope), status, elapsed)


def install_metrics(app: FastAPI, figures_max_age: float, current_key: str) -> ApiMetrics:
    """Count `app`'s requests and serve `GET /metrics`, with PostgreSQL's figures read at most
    once per `figures_max_age` seconds; `current_key` is the payload key encrypting now."""
    metrics = ApiMetrics(figures_max_age, current_key)
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        await metrics.programme.refresh(getattr(request.app.state, "pool", None))
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return metrics

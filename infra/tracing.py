"""OpenTelemetry tracing, on when `PARCOURS_TRACING` is: one trace from an HTTP request through
the Temporal client call to the workflow's update and on to its activities.

Spans leave by OTLP/HTTP to the standard `OTEL_EXPORTER_OTLP_ENDPOINT`, the service is named by
`OTEL_SERVICE_NAME`; Temporal's `TracingInterceptor` carries the context in message headers.
Log lines carry the current `trace_id` and `span_id`, so logs and traces join.
"""

from functools import cache

from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import EventDict, WrappedLogger
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from infra.settings import Settings

_tracer = trace.get_tracer("parcours")


@cache
def _export_spans() -> None:
    """Send spans over OTLP, unless the process (or a test) has installed a provider already."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def tracing_interceptors(settings: Settings) -> list[Interceptor]:
    """Temporal's tracing interceptor when tracing is on; a worker on the client inherits it."""
    if not settings.tracing:
        return []
    _export_spans()
    return [TracingInterceptor()]


class TracingMiddleware:
    """A server span per HTTP request, continuing the caller's `traceparent` when it sends one."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        with _tracer.start_as_current_span(
            f"{scope['method']} {scope['path']}",
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
        ) as span:

            async def answered(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                await send(message)

            await self._app(scope, receive, answered)
            # Routing has run: name the span by route, not by participant.
            if (route := scope.get("route")) is not None:
                span.update_name(f"{scope['method']} {route.path}")


def add_trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: the current span's trace and span ids, where there is a span."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict

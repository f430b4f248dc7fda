"""OpenTelemetry tracing, on when `PARCOURS_TRACING` is: from an HTTP request to the activity.

FastAPI opens a server span per request (continuing the caller's `traceparent`) once a tracer
provider is installed; Temporal's `TracingInterceptor` carries the context in message headers:
the client's update call joins the request's trace, the workflow's update handler (part of the
trajectory's own trace) links to it, and the activities it runs are its children.
Spans leave by OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`, named by `OTEL_SERVICE_NAME`.
Log lines carry the current `trace_id` and `span_id`, so logs and traces join.
"""

from functools import cache

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from structlog.typing import EventDict, WrappedLogger
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from infra.settings import Settings


@cache
def _export_spans() -> None:
    """Send spans over OTLP, unless the process (or a test) has installed a provider already."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def tracing_interceptors(settings: Settings) -> list[Interceptor]:
    """Temporal's tracing interceptor when tracing is on; a worker on the client inherits it."""
    if not settings.tracing:
        return []
    _export_spans()
    return [TracingInterceptor()]


def add_trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: the current span's trace and span ids, where there is a span."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict

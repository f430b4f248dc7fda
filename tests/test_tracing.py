"""With `PARCOURS_TRACING` on, one trace runs from a partner's HTTP request to the activity.

The API's request span continues the caller's `traceparent`; Temporal's interceptor carries it
through the client's update to the workflow's handler and on to the read-model activity.
"""

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app, hold
from infra.contract import SEARCH_ATTRIBUTES
from infra.database import Pool
from infra.settings import Settings
from infra.temporal import connect
from infra.tracing import add_trace_ids
from tests.api_fixtures import Keys, bearer, enrolment_body
from tests.keys import ENCRYPTED, TEST_KEYRING
from tests.temporal_fixtures import BIN, SERVER_STARTUP
from tests.test_api_contract import milestone
from worker import build_worker

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
TRACEPARENT = f"00-{TRACE_ID:032x}-00f067aa0ba902b7-01"
KEYS = f"{TEST_KEYRING.current}:{base64.b64encode(TEST_KEYRING.key(TEST_KEYRING.current)).decode()}"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span this process ends, kept in memory (the provider OTLP would otherwise get)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    # The global provider stays (OpenTelemetry sets it once); later tests record nothing.
    provider.shutdown()
    exporter.clear()


@pytest.fixture(scope="module")
async def traced_api(spans: InMemorySpanExporter, pool: Pool) -> AsyncIterator[httpx.AsyncClient]:
    """The API and a worker on their own dev server, both connected with tracing on."""
    env = await WorkflowEnvironment.start_local(
        dev_server_startup_timeout=SERVER_STARTUP,
        data_converter=ENCRYPTED,
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        ui=False,
    )
    settings = Settings(
        TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
        PARCOURS_CODEC_KEYS=KEYS,
        PARCOURS_TRACING=True,
    )
    client = await connect(settings)
    app = create_app(settings)
    hold(app, client, pool, settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            build_worker(client, pool, settings),
            httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as api,
        ):
            yield api
    finally:
        await env.shutdown()


def _named(spans: InMemorySpanExporter, name: str, trace_id: int | None = None) -> ReadableSpan:
    """The last ended span called `name` (in `trace_id`, when given)."""
    found = [
        span
        for span in spans.get_finished_spans()
        if span.name == name and (trace_id is None or span.context.trace_id == trace_id)
    ]
    assert found, f"no span {name}; have {sorted({s.name for s in spans.get_finished_spans()})}"
    return found[-1]


def _parent(spans: InMemorySpanExporter, span: ReadableSpan) -> ReadableSpan | None:
    """The ended span that `span` is a child of, if this process recorded it."""
    if span.parent is None:
        return None
    ended = {s.context.span_id: s for s in spans.get_finished_spans()}
    return ended.get(span.parent.span_id)


async def test_a_milestone_is_traced_from_the_http_request_to_the_read_model_activity(
    traced_api: httpx.AsyncClient, spans: InMemorySpanExporter, keys: Keys
) -> None:
    enrolled = await traced_api.post(
        "/v1/participants", json=enrolment_body("jes"), headers=bearer(keys.backend)
    )
    assert enrolled.status_code == 201, enrolled.text
    participant_id = enrolled.json()["participant_id"]
    spans.clear()

    answer = await traced_api.post(
        f"/v1/participants/{participant_id}/milestones",
        json=milestone("intake_interview_held"),
        headers={**bearer(keys.jes), "traceparent": TRACEPARENT},
    )
    assert answer.status_code == 200, answer.text

    # The partner's trace: the request, then the client's update call inside it.
    request = _named(spans, "POST /v1/participants/{participant_id}/milestones", TRACE_ID)
    call = _named(spans, "StartWorkflowUpdate:record_milestone", TRACE_ID)
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 200
    assert call.parent is not None and call.parent.trace_id == TRACE_ID
    # The workflow's handler belongs to the trajectory's trace and links to the partner's call.
    handler = _named(spans, "HandleUpdate:record_milestone")
    assert [link.context.span_id for link in handler.links] == [call.context.span_id]

    # The read-model activity it ran is in that trace too, started by the workflow after it.
    def runs_after_handler() -> list[ReadableSpan]:
        return [
            span
            for span in spans.get_finished_spans()
            if span.name == "RunActivity:write_read_model"
            and span.context.trace_id == handler.context.trace_id
            and (started := _parent(spans, span)) is not None
            and started.name == "StartActivity:write_read_model"
            and (started.start_time or 0) >= (handler.start_time or 0)
        ]

    for _ in range(100):
        if runs_after_handler():
            break
        await asyncio.sleep(0.05)
    assert runs_after_handler()
    assert not [s.name for s in spans.get_finished_spans() if participant_id in s.name]


def test_log_lines_inside_a_span_carry_its_trace_and_span_ids() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        event = add_trace_ids(structlog.get_logger(), "info", {"event": "read_model_updated"})
    context = span.get_span_context()
    assert event["trace_id"] == f"{context.trace_id:032x}"
    assert event["span_id"] == f"{context.span_id:016x}"
    assert "trace_id" not in add_trace_ids(structlog.get_logger(), "info", {"event": "outside"})

"""The worker's Temporal runtime: the SDK's metrics for Prometheus on `PARCOURS_METRICS_PORT`.

They hold the worker's slots, task latencies and failures, and whatever workflows and activities
record through their meter (the read model's lag). Durations are in seconds, as on the API.
"""

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from infra.settings import Settings


def worker_runtime(settings: Settings) -> Runtime | None:
    """A runtime serving metrics on every interface at the metrics port; None when it is unset."""
    if settings.metrics_port is None:
        return None
    prometheus = PrometheusConfig(
        bind_address=f"0.0.0.0:{settings.metrics_port}", durations_as_seconds=True
    )
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))

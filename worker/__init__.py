"""The Parcours worker: `ParticipantTrajectory` and its activities on the `parcours` task queue.

Beside the worker, the outbox sender delivers the nudge messages the ladder queued, the webhook
sender posts partners' events, a sweep marks trajectories whose workflow was terminated or
failed from outside, another erases the persons restricted within the ESF+ retention period
once it has ended, and the payload key's encryptions are added to PostgreSQL every minute.
Stops gracefully on SIGINT/SIGTERM: running activities finish, then the worker leaves.
"""

import asyncio
import signal
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.channels import Channel, Unconfigured, configured_channels, gateway_client
from activities.failures import ClassifiedFailures
from activities.notifications import OutboxSender, signal_trajectories
from activities.retention import RetentionSweep
from activities.stopped_runs import StoppedRunSweep
from activities.training import TrainingActivities
from activities.trajectory import TrajectoryActivities
from activities.webhooks import WebhookSender
from infra.contract import TASK_QUEUE
from infra.database import open_pool
from infra.logging import configure_logging
from infra.person_keys import configured_person_keys
from infra.sealed import SealedInputsRunner
from infra.settings import Settings, get_settings
from infra.telemetry import worker_runtime
from infra.temporal import connect
from readmodel import migrate
from readmodel.key_uses import keep_adding_key_uses
from readmodel.seats import store_catalogue
from workflows.trajectory import ParticipantTrajectory

log = structlog.get_logger()


def build_worker(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings | None = None,
    *,
    stand_ins: Sequence[Callable[..., Any]] = (),
) -> Worker:
    """A worker with every workflow and activity of Parcours registered, sized by `settings`.

    `stand_ins` replace the activities of the same name (tests inject failures this way).
    """
    settings = settings or get_settings()
    activities = TrajectoryActivities(pool, configured_person_keys(settings))
    training = TrainingActivities(pool)
    replaced = {stand_in.__name__: stand_in for stand_in in stand_ins}
    own: list[Callable[..., Any]] = [
        activities.check_eligibility,
        activities.load_programme,
        activities.write_read_model,
        activities.send_nudge,
        training.request_seat,
        training.release_seat,
        training.recommend_training,
    ]
    return Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[ParticipantTrajectory],
        activities=[replaced.get(activity.__name__, activity) for activity in own],
        max_concurrent_workflow_tasks=settings.worker_workflow_tasks,
        max_concurrent_activities=settings.worker_activities,
        max_cached_workflows=settings.worker_cached_workflows,
        workflow_runner=SealedInputsRunner(
            SandboxedWorkflowRunner() if settings.workflow_sandbox else UnsandboxedWorkflowRunner()
        ),
        interceptors=[ClassifiedFailures()],
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


def _warn_unconfigured(channels: Mapping[str, Channel]) -> None:
    """Say at start which message channels deliver nothing here, and what to set."""
    for name in sorted(name for name, way in channels.items() if isinstance(way, Unconfigured)):
        log.warning(
            "channel_not_configured",
            channel=name,
            consequence="its nudge messages fail and the ladder climbs to the coach task",
            setting="PARCOURS_SMTP_URL" if name == "email" else "PARCOURS_SMS_URL",
        )


async def main() -> None:
    """Migrate, then run the worker, the outbox and webhook senders and the sweep until SIGINT or
    SIGTERM."""
    settings = get_settings()
    configure_logging(settings.log_level)
    configured_person_keys(settings)  # refused in one line before anything connects
    pool = await open_pool(settings)
    try:
        await migrate(pool)
        await store_catalogue(pool)
        client = await connect(settings, worker_runtime(settings))
        worker = build_worker(client, pool, settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        keys = configured_person_keys(settings)
        interval = timedelta(seconds=settings.sweep_seconds)
        sweep = StoppedRunSweep(client, pool, interval)
        retention = RetentionSweep(client, pool, settings.retention_until, interval)
        hooks = WebhookSender(pool, keys, settings.environment)
        async with worker, gateway_client() as http:
            channels = configured_channels(settings, http)
            sender = OutboxSender(pool, channels, keys, signal_trajectories(client))
            log.info("worker_started", task_queue=TASK_QUEUE, metrics_port=settings.metrics_port)
            _warn_unconfigured(channels)
            await asyncio.gather(
                sender.run(stop),
                sweep.run(stop),
                retention.run(stop),
                hooks.run(stop),
                keep_adding_key_uses(pool, stop),
            )
            log.info("worker_stopping")
    finally:
        await pool.close()

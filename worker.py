"""The Parcours worker: `ParticipantTrajectory` and its activities on the `parcours` task queue.

Stops gracefully on SIGINT/SIGTERM: running activities finish, then the worker leaves.
"""

import asyncio
import signal
from datetime import timedelta

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.notifications import OutboxNotifier
from activities.training import TrainingActivities
from activities.trajectory import TrajectoryActivities
from infra.contract import TASK_QUEUE
from infra.database import open_pool
from infra.logging import configure_logging
from infra.persons import seal_clear_persons
from infra.settings import get_settings
from infra.temporal import connect
from readmodel import migrate
from readmodel.enrolment import claim_enrolled_persons
from readmodel.seats import store_catalogue
from workflows.trajectory import ParticipantTrajectory

log = structlog.get_logger()


def build_worker(client: Client, pool: asyncpg.Pool) -> Worker:
    """A worker with every workflow and activity of Parcours registered."""
    activities = TrajectoryActivities(pool, OutboxNotifier())
    training = TrainingActivities(pool)
    return Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[ParticipantTrajectory],
        activities=[
            activities.check_eligibility,
            activities.load_programme,
            activities.record_changes,
            activities.write_read_model,
            activities.send_nudge,
            training.request_seat,
            training.release_seat,
            training.recommend_training,
        ],
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def main() -> None:
    configure_logging()
    settings = get_settings()
    client = await connect(settings)
    pool = await open_pool(settings)
    try:
        await migrate(pool)
        await store_catalogue(pool)
        async with pool.acquire() as con:
            await seal_clear_persons(con)
            await claim_enrolled_persons(con)
        worker = build_worker(client, pool)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            log.info("worker_started", task_queue=TASK_QUEUE)
            await stop.wait()
            log.info("worker_stopping")
    finally:
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())

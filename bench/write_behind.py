"""Does a milestone's answer wait for the read-model write started in the same workflow task?

    PYTHONPATH=. .venv/bin/python bench/write_behind.py

The writer carries each accepted step to PostgreSQL as a local activity scheduled in the very
workflow task that answers the Update. This starts a dev server (in memory, WAL) and an
embedded PostgreSQL of its own, runs the production worker with the write slowed down by 0 ms,
300 ms and 1,500 ms, and prints the Update round trip (median of 10) for each. An answer that
waited for the write would take at least the delay; measured with temporalio 1.35, it does not.
"""

import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime

os.environ.setdefault("PARCOURS_ENV", "development")

from temporalio import activity

from activities.trajectory import TrajectoryActivities
from api.enrolment import enrol
from bench.in_process import in_process_stack
from tests.keys import milestone_key
from tests.people import enrolment
from trajectory.milestones import Milestone, MilestoneType
from trajectory.records import ReadModelBatch
from trajectory.requests import RecordMilestone
from worker import build_worker
from workflows.trajectory import ParticipantTrajectory

DELAYS = (0.0, 0.3, 1.5)
UPDATES = 10


async def main() -> None:
    async with in_process_stack("write-behind") as (env, pool, _):
        real = TrajectoryActivities(pool)
        for delay in DELAYS:

            @activity.defn(name="write_read_model")
            async def slowed(batch: ReadModelBatch, delay: float = delay) -> None:
                await asyncio.sleep(delay)
                await real.write_read_model(batch)

            async with build_worker(env.client, pool, stand_ins=[slowed]):
                enrolled = await enrol(env.client, pool, enrolment("jes"))
                await asyncio.sleep(delay + 1)
                answers: list[float] = []
                for _ in range(UPDATES):
                    contact = Milestone(
                        milestone_id=f"c-{uuid.uuid4().hex[:10]}",
                        type=MilestoneType.PARTICIPANT_CONTACT,
                        occurred_at=datetime.now(UTC),
                    )
                    began = time.perf_counter()
                    await enrolled.handle.execute_update(
                        ParticipantTrajectory.record_milestone,
                        RecordMilestone.of(contact, milestone_key()),
                    )
                    answers.append((time.perf_counter() - began) * 1000)
                    await asyncio.sleep(delay + 0.2)  # the write is done before the next
            median = statistics.median(answers)
            print(f"write slowed by {delay * 1000:5.0f} ms: Update answered in {median:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())

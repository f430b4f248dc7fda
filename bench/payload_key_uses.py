"""How many AES-GCM encryptions an enrolment, a milestone and a read cost the payload key.

    PYTHONPATH=. .venv/bin/python bench/payload_key_uses.py

A key is good for 2^32 encryptions under random nonces; the rotation alert fires at 2^30. This
starts a dev server (in memory, WAL) and an embedded PostgreSQL of its own, runs the production
worker and client in this process (so every encryption either makes is counted, as the whole
deployment's would be), and prints the encryptions per operation and how many of each the
alert's 2^30 allows.
"""

import asyncio
import os
import uuid
from datetime import UTC, datetime

os.environ.setdefault("PARCOURS_ENV", "development")

from api.enrolment import enrol
from bench.in_process import in_process_stack
from infra.codec import ENCRYPTIONS
from tests.keys import milestone_key
from tests.people import enrolment
from trajectory.milestones import Milestone, MilestoneType
from trajectory.requests import RecordMilestone
from worker import build_worker
from workflows.trajectory import ParticipantTrajectory

PEOPLE = 20
MILESTONES = 10
"""Milestones per person (contacts: each resets the ladder and writes the read model)."""
READS = 10
"""State reads per person (the API's `GET /v1/participants/{id}` asks the workflow)."""
ALERT = 2**30


async def main() -> None:
    async with in_process_stack("key-uses") as (env, pool, _), build_worker(env.client, pool):
        ENCRYPTIONS.take()
        handles = [(await enrol(env.client, pool, enrolment("jes"))).handle for _ in range(PEOPLE)]
        await asyncio.sleep(3)  # the intake checks and their writes
        enrolled = sum(ENCRYPTIONS.take().values())
        for handle in handles:
            for _ in range(MILESTONES):
                contact = Milestone(
                    milestone_id=f"c-{uuid.uuid4().hex[:10]}",
                    type=MilestoneType.PARTICIPANT_CONTACT,
                    occurred_at=datetime.now(UTC),
                )
                await handle.execute_update(
                    ParticipantTrajectory.record_milestone,
                    RecordMilestone.of(contact, milestone_key()),
                )
        await asyncio.sleep(2)  # the write-behind's own payloads
        recorded = sum(ENCRYPTIONS.take().values())
        for handle in handles:
            for _ in range(READS):
                await handle.query(ParticipantTrajectory.snapshot)
        read = sum(ENCRYPTIONS.take().values())

    per = {
        "enrolment (intake decided)": enrolled / PEOPLE,
        "milestone": recorded / (PEOPLE * MILESTONES),
        "state read": read / (PEOPLE * READS),
    }
    print(f"{'operation':<28} {'encryptions':>12} {'per 2^30':>16}")
    for operation, encryptions in per.items():
        print(f"{operation:<28} {encryptions:>12.1f} {ALERT / encryptions:>16,.0f}")


if __name__ == "__main__":
    asyncio.run(main())

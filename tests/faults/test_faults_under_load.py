"""Crashes and outages while partners report milestones to 500 open trajectories (issue 9).

After each, every milestone a partner saw accepted (200) is in its workflow's state and exactly
once in the read model, the read model shows what every workflow holds, and no trajectory
failed or is stuck retrying. The figures go to tests/artifacts/faults.{json,md}.
"""

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from tests.faults.figures import FaultFigures
from tests.faults.reconcile import trajectory
from tests.faults.scenario import Load, assert_nothing_lost, under_load
from tests.faults.stack import (
    kill_api,
    kill_temporal,
    kill_worker,
    start_postgres_again,
    start_temporal_again,
    stop_postgres,
)
from tests.faults.stream import MilestoneStream

pytestmark = pytest.mark.faults

Record = Callable[[FaultFigures], None]

TEMPORAL_DOWN_SECONDS = 5.0
"""How long the Temporal server stays down before it is started again."""
POSTGRES_DOWN_SECONDS = 30.0
"""How long PostgreSQL stays down before it is started again (issue 9)."""
LONGEST_SILENCE = 10.0
"""Partners are answered all through PostgreSQL's absence: never this long without a 200."""


async def test_a_worker_killed_with_sigkill_and_restarted_loses_no_milestone(
    load: Load, record: Record
) -> None:
    async def crash(_: MilestoneStream) -> None:
        await kill_worker(load.stack)
        await load.stack.start_worker()

    run = await under_load(load, "worker SIGKILLed, restarted", crash)
    record(run.figures)
    assert_nothing_lost(run)


async def test_the_temporal_server_killed_and_restarted_on_its_file_loses_no_milestone(
    load: Load, record: Record
) -> None:
    async def outage(_: MilestoneStream) -> None:
        await kill_temporal(load.stack)
        await asyncio.sleep(TEMPORAL_DOWN_SECONDS)
        await start_temporal_again(load.stack)

    run = await under_load(load, "Temporal server killed 5 s, restarted on its file", outage)
    record(run.figures)
    assert_nothing_lost(run)  # worker and API rode out the outage without a restart


async def test_partners_are_answered_while_postgresql_is_stopped_and_the_read_model_catches_up(
    load: Load, record: Record
) -> None:
    silences: list[float] = []

    async def outage(stream: MilestoneStream) -> None:
        await stop_postgres(load.stack)
        stopped = time.monotonic()
        await asyncio.sleep(POSTGRES_DOWN_SECONDS)
        silences.append(stream.longest_silence(stopped, time.monotonic()))
        await start_postgres_again(load.stack)

    run = await under_load(load, "PostgreSQL stopped 30 s, restarted", outage)
    record(run.figures)
    assert_nothing_lost(run)
    assert silences[0] < LONGEST_SILENCE, f"no milestone answered for {silences[0]:.1f} s"


async def test_the_api_killed_mid_request_answers_the_retried_milestone_once(
    load: Load, record: Record
) -> None:
    cut_off: list[tuple[str, str, dict[str, object]]] = []

    async def crash(stream: MilestoneStream) -> None:
        while not stream.pending:
            await asyncio.sleep(0.01)
        cut_off.extend(
            (person.participant_id, person.partner_id, body)
            for person, body in list(stream.pending.values())
        )
        await kill_api(load.stack)
        await load.stack.start_api()

    run = await under_load(load, "API SIGKILLed mid-request, restarted", crash)
    record(run.figures)
    assert_nothing_lost(run)
    acks = {ack.milestone_id: ack for ack in run.stream.acks}
    assert all(body["milestone_id"] in acks for _, _, body in cut_off)
    # An answer already on its way back may still arrive; the rest were sent again.
    assert any(acks[str(body["milestone_id"])].attempts > 1 for _, _, body in cut_off)

    # The same milestone sent once more, same content: 200 again, still recorded once.
    async with httpx.AsyncClient(base_url=load.stack.api_url, timeout=40) as http:
        for participant_id, partner_id, body in cut_off:
            answer = await http.post(
                f"/v1/participants/{participant_id}/milestones",
                json=body,
                headers={"Authorization": f"Bearer {load.stack.keys[partner_id]}"},
            )
            assert answer.status_code == 200, answer.text
            held = await trajectory(load.client, participant_id)
            assert held.milestones.count(str(body["milestone_id"])) == 1


async def test_two_workers_on_the_queue_and_one_killed_lose_no_milestone(
    load: Load, record: Record
) -> None:
    await load.stack.start_worker()
    assert len(load.stack.workers) == 2

    async def crash(_: MilestoneStream) -> None:
        await kill_worker(load.stack, 0)

    run = await under_load(load, "one of two workers SIGKILLed", crash)
    record(run.figures)
    assert_nothing_lost(run)
    assert len(load.stack.workers) == 1

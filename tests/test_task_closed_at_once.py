"""A coach task closed the moment the participant's state shows it is closed in the read model
too: the task list says done and the timeline keeps the note, whatever order the writes take."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.enrolment import enrol
from infra.database import Pool
from tests.api_fixtures import Keys, bearer
from tests.case_file import DAY_SECONDS, CaseFile, someone
from tests.journeys import read_model_caught_up
from trajectory.programmes import load_programme

COACH_CALL_SEQ = next(
    seq
    for seq, step in enumerate(load_programme("jes").nudge_ladder, 1)
    if step.action == "coach_call"
)
"""The rung of a silent JES youth's ladder that opens the coach's call."""
LONGEST_HOLD = 10.0
"""Seconds the rung's write is held at most, should the task not show before it is written."""


@asynccontextmanager
async def rung_held(pool: Pool, participant_id: str, seq: int) -> AsyncIterator[asyncio.Event]:
    """Hold the rung's row in an open transaction until the event is set (or `LONGEST_HOLD`):
    the rung's own write waits behind it, as behind a busy database, while all else goes on."""
    release = asyncio.Event()

    async def hold(taken: asyncio.Event) -> None:
        async with pool.acquire() as con:
            transaction = con.transaction()
            await transaction.start()
            try:
                await con.execute(
                    "INSERT INTO nudges (participant_id, seq, level, action, channel, language,"
                    " phase, partner_id, silent_since)"
                    " VALUES ($1, $2, 1, 'coach_call', 'phone', 'fr', 'intake', 'jes', now())",
                    participant_id,
                    seq,
                )
                taken.set()
                await asyncio.wait_for(release.wait(), LONGEST_HOLD)
            except TimeoutError:
                pass
            finally:
                await transaction.rollback()

    taken = asyncio.Event()
    holder = asyncio.create_task(hold(taken))
    await taken.wait()
    try:
        yield release
    finally:
        release.set()
        await holder


async def shown_task(api: httpx.AsyncClient, keys: Keys, participant_id: str) -> str:
    """The first open task in the participant's state as the partner sees it (within 30 s)."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        answer = await api.get(f"/v1/participants/{participant_id}", headers=bearer(keys.jes))
        assert answer.status_code == 200, answer.text
        if tasks := answer.json()["open_tasks"]:
            task_id: str = tasks[0]["task_id"]
            return task_id
        assert asyncio.get_running_loop().time() < deadline, "no task ever showed"
        await asyncio.sleep(0.05)


async def listed_task(api: httpx.AsyncClient, keys: Keys, task_id: str) -> dict[str, object]:
    """The task as the case manager's task list shows it, once it is listed (within 30 s)."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        answer = await api.get("/v1/tasks?limit=500", headers=bearer(keys.case_manager))
        assert answer.status_code == 200, answer.text
        if found := [t for t in answer.json()["items"] if t["task_id"] == task_id]:
            task: dict[str, object] = found[0]
            return task
        assert asyncio.get_running_loop().time() < deadline, f"{task_id} was never listed"
        await asyncio.sleep(0.05)


async def test_a_task_closed_as_soon_as_it_shows_stays_closed_with_its_note(
    dev_env: WorkflowEnvironment,
    dev_worker: Worker,
    api: httpx.AsyncClient,
    keys: Keys,
    pool: Pool,
) -> None:
    tag = uuid.uuid4().hex[:8]
    note = f"no answer, voicemail left {tag}"
    enrolled = await enrol(dev_env.client, pool, someone(tag), day_seconds=DAY_SECONDS)
    participant_id = enrolled.participant_id

    async with rung_held(pool, participant_id, COACH_CALL_SEQ) as release:
        task_id = await shown_task(api, keys, participant_id)
        done = await api.post(
            f"/v1/tasks/{task_id}/done",
            json={"reached": False, "note": note},
            headers=bearer(keys.jes),
        )
        assert done.status_code == 200, done.text
        await read_model_caught_up(pool, enrolled.handle, participant_id)
        release.set()

    task = await listed_task(api, keys, task_id)
    assert (task["status"], task["note"]) == ("done", note)
    assert note in await CaseFile(api, keys, participant_id).timeline()

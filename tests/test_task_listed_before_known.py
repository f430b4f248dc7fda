"""A coach task closed the moment the task list shows it, before the trajectory has heard that
its rung wrote it: the rung's activity commits the task, then its answer takes a while to come
back (a busy worker, a slow network). The close waits for the task instead of being refused."""

import asyncio

from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from activities.trajectory import TrajectoryActivities
from infra.database import Pool
from infra.person_keys import default_person_keys
from tests.journeys import Journey, Start
from tests.temporal_fixtures import follow
from tests.test_coach_tasks import UNTIL_COACH_CALL
from trajectory.delivery import NudgeOutcome
from trajectory.records import NudgeRequest
from trajectory.requests import CompleteTask
from trajectory.tasks import TaskDone
from worker import build_worker
from workflows.trajectory import ParticipantTrajectory


class SlowAnswer:
    """`send_nudge` whose answer for the coach's call comes back only once released."""

    def __init__(self, real: TrajectoryActivities) -> None:
        self._real = real
        self.written = asyncio.Event()
        self.release = asyncio.Event()

    @activity.defn(name="send_nudge")
    async def send_nudge(self, request: NudgeRequest) -> NudgeOutcome:
        outcome = await self._real.send_nudge(request)
        if request.action == "coach_call":
            self.written.set()
            await self.release.wait()
        return outcome


async def test_a_task_closed_as_soon_as_it_is_listed_is_closed_once_the_rung_answers(
    time_env: WorkflowEnvironment, pool: Pool
) -> None:
    slow = SlowAnswer(TrajectoryActivities(pool, default_person_keys(None)))
    start: Start = follow(time_env, pool)
    async with build_worker(time_env.client, pool, stand_ins=[slow.send_nudge]):
        journey: Journey = await start("jes", language="fr")
        skipping = asyncio.create_task(journey.skip(UNTIL_COACH_CALL + 0.5))
        await asyncio.wait_for(slow.written.wait(), 30)
        listed = await pool.fetchval(
            "SELECT task_id FROM tasks WHERE participant_id = $1 AND done_at IS NULL",
            journey.participant_id,
        )
        assert listed is not None, "the rung wrote the task"
        assert (await journey.state()).tasks == [], "the trajectory has not heard of it yet"
        closing = asyncio.create_task(
            journey.handle.execute_update(
                ParticipantTrajectory.complete_task,
                CompleteTask(task_id=listed, done=TaskDone(reached=True)),
            )
        )
        await asyncio.sleep(0.5)  # the close reaches the trajectory before the rung's answer
        slow.release.set()
        closed = await asyncio.wait_for(closing, 30)
        skipping.cancel()

    assert (closed.nudge_level, closed.open_tasks) == (0, [])

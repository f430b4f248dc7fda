"""The read-model writer: carries a trajectory's accepted steps to PostgreSQL, in order, in
batches, without holding up the answers to its callers."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.trajectory import TrajectoryActivities
    from trajectory.phases import Phase
    from trajectory.records import ReadModelBatch, ReadModelChanges
    from trajectory.state import TrajectoryState
    from workflows import steps
    from workflows.attention import Attention
    from workflows.errors import UNKNOWN_PARTICIPANT, of_type

LOCAL_WRITE_TIMEOUT = timedelta(seconds=2)
"""How long a read-model write may hold a workflow task."""
WRITE_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=17_280,
    non_retryable_error_types=[UNKNOWN_PARTICIPANT],
)
"""Read-model writes retry for a day, soon after PostgreSQL is back; answers go on meanwhile."""


class ReadModelWriter:
    """Queues each step's changes and writes them behind the workflow; see `run`."""

    def __init__(self, state: TrajectoryState, attention: Attention) -> None:
        self._state = state
        self._attention = attention
        self._unwritten: list[ReadModelChanges] = []
        self._writing = False
        self._recommendation_due = False

    def queue(self, changes: ReadModelChanges) -> None:
        """Write `changes` after those queued before; a step that ends the assessment asks for a
        training recommendation once it is written (the ranking reads the seats left)."""
        self._unwritten.append(changes)
        ended = (Phase.ASSESSMENT, Phase.COACHING)
        if any((t.from_phase, t.to_phase) == ended for t in changes.transitions):
            self._recommendation_due = True

    async def run(self) -> None:
        """Write what was queued, oldest first, for as long as the workflow runs.

        A batch goes first as a local activity bounded to `LOCAL_WRITE_TIMEOUT`: no task
        dispatch, no second workflow task. When that fails (PostgreSQL slow or away) the same
        batch goes to a regular activity that retries until PostgreSQL is back, and writes stay
        regular until one succeeds; whatever piles up meanwhile is written in one transaction.
        A write that fails for good holds the trajectory for a case manager, then goes again.
        """
        local = True
        state = self._state
        while True:
            await workflow.wait_condition(
                lambda: (
                    bool(self._unwritten)
                    and (state.eligibility != "pending" or self._attention.intake_held)
                )
            )
            self._writing = True
            batch = ReadModelBatch(participant_id=state.participant_id, steps=self._unwritten)
            self._unwritten = []
            try:
                if local:
                    local = await self._write_locally(batch)
                if not local:
                    try:
                        await self._write(batch)
                    except ActivityError as error:
                        if of_type(error, UNKNOWN_PARTICIPANT):
                            raise
                        self._unwritten = batch.steps + self._unwritten
                        await self._attention.hold("writing to the read model", error)
                        continue
                    local = True
                if self._recommendation_due:
                    self._recommendation_due = False
                    state.recommendations = await steps.recommend_training(state)
            except ActivityError as error:
                # Without a participant row there is nothing to follow: the steps are dropped.
                workflow.logger.error(
                    "read_model_write_failed",
                    extra={
                        "participant_id": state.participant_id,
                        "cause": type(error.cause).__name__,
                    },
                )
            finally:
                self._writing = False

    async def _write_locally(self, batch: ReadModelBatch) -> bool:
        """Whether the batch was written by a local activity."""
        try:
            await workflow.execute_local_activity_method(
                TrajectoryActivities.write_read_model,
                batch,
                start_to_close_timeout=LOCAL_WRITE_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=1),
                summary=f"write {len(batch.steps)} step(s) to the read model",
            )
        except FailureError:  # a local activity's failure comes unwrapped
            return False
        return True

    async def _write(self, batch: ReadModelBatch) -> None:
        await workflow.execute_activity_method(
            TrajectoryActivities.write_read_model,
            batch,
            start_to_close_timeout=steps.ACTIVITY_TIMEOUT,
            retry_policy=WRITE_RETRY,
            summary=f"write {len(batch.steps)} step(s) to the read model",
        )

    @property
    def idle(self) -> bool:
        """The read model holds every accepted step."""
        return not self._unwritten and not self._writing

"""The ladder's rungs as the workflow carries them out: the activity, then what it found."""

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from trajectory.delivery import NudgeOutcome
    from trajectory.silence import Effects, open_task, rung_not_delivered
    from trajectory.state import TrajectoryState
    from trajectory.tasks import CoachTask
    from workflows import steps
    from workflows.attention import Attention


class Ladder:
    """Carries out a fired rung: a task joins the state once written; a message that can reach
    nobody lets the next rung fall due at once."""

    def __init__(self, state: TrajectoryState, attention: Attention) -> None:
        self._state = state
        self._attention = attention
        self.writing: CoachTask | None = None
        """The task the rung in flight is writing: the task list may show it already."""

    def writes(self, task_id: str) -> bool:
        """Whether the rung in flight is writing this task."""
        return self.writing is not None and self.writing.task_id == task_id

    async def carry_out(self, effects: Effects, now: datetime) -> None:
        if (nudge := effects.nudge) is None:
            return
        self.writing = effects.task
        try:
            outcome: NudgeOutcome | None = await self._attention.until_done(
                f"the {nudge.action.replace('_', ' ')} of level {nudge.level}",
                lambda: steps.send_nudge(nudge),
                while_open=True,
            )
        finally:
            self.writing = None
        if outcome is None:  # a case manager closed the trajectory instead
            return
        if effects.task is not None:
            open_task(self._state, effects.task)
        if not outcome.reachable:
            workflow.logger.info(
                "nudge_unreachable",
                extra={
                    "participant_id": nudge.participant_id,
                    "seq": nudge.seq,
                    "why": outcome.why,
                },
            )
            rung_not_delivered(self._state, nudge.seq, now)

"""Every change of a trajectory reaches three places: the main loop (its next timer may
differ), the Web UI (search attributes and details) and the read model (a queued write)."""

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from trajectory.records import (
        PhaseTransition,
        ReadModelChanges,
        SteeringRecord,
        TrajectorySnapshot,
    )
    from trajectory.requests import RecordMilestone
    from trajectory.silence import next_timer
    from trajectory.snapshots import snapshot_of
    from trajectory.state import TrajectoryState
    from trajectory.tasks import TaskRecord
    from workflows.read_model import ReadModelWriter
    from workflows.web_ui import WebUi


class Changes:
    """Shares each change of one trajectory; `happened` tells the main loop to look again."""

    def __init__(self, state: TrajectoryState, writer: ReadModelWriter) -> None:
        self._state = state
        self._writer = writer
        self._web_ui = WebUi()
        self.happened = False

    def share(
        self,
        transitions: list[PhaseTransition],
        *,
        milestone: RecordMilestone | None = None,
        steering: SteeringRecord | None = None,
        task_done: TaskRecord | None = None,
        contact_at: datetime | None = None,
        written: bool = True,
    ) -> TrajectorySnapshot:
        """Wake the main loop, upsert the search attributes and details that changed, and queue
        the read-model write (unless not `written`). Returns the new snapshot."""
        state, now = self._state, workflow.now()
        self.happened = True
        for change in transitions:
            workflow.logger.info(
                "trajectory_moved",
                extra={
                    "participant_id": state.participant_id,
                    "to_phase": change.to_phase.value,
                    "status": change.status.value,
                    "code": change.code.value,
                },
            )
        timer = next_timer(state, now)
        current = snapshot_of(state, now, timer)
        self._web_ui.upsert_attributes_and_details(state, current, timer)
        if not written:
            return current
        if milestone is not None and milestone.milestone.is_contact:
            contact_at = milestone.milestone.occurred_at
        self._writer.queue(
            ReadModelChanges(
                snapshot=current,
                milestone=milestone,
                milestone_phase=transitions[0].from_phase if transitions else state.phase,
                transitions=transitions,
                contact_at=contact_at,
                follow_ups=[check.record() for check in state.follow_ups],
                steering=steering,
                task_done=task_done,
                at=now,
            )
        )
        return current

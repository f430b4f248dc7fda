"""What may be done with a trajectory's coach tasks, and what it takes: the rules over the
state (`trajectory.tasks` holds the tasks themselves)."""

from datetime import datetime

from trajectory.state import TrajectoryState
from trajectory.tasks import CoachTask, OpenTask


def open_tasks(state: TrajectoryState) -> list[OpenTask]:
    """Coach tasks nobody has closed yet, oldest first (none once the trajectory closed)."""
    if state.is_closed:
        return []
    return [
        OpenTask(task_id=t.task_id, kind=t.kind, due_at=t.due_at) for t in state.tasks if t.is_open
    ]


def task_refusal(
    state: TrajectoryState, task_id: str, being_written: CoachTask | None = None
) -> str | None:
    """Why the task cannot be closed now, or None when it can; `being_written` is the task a
    rung is writing (listed already, it joins the state once the rung answers)."""
    writing = [being_written] if being_written is not None else []
    task = next((t for t in [*state.tasks, *writing] if t.task_id == task_id), None)
    if task is None:
        return f"no open task {task_id}"
    if task.done_at is not None:
        return f"task {task.task_id} was done on {task.done_at:%Y-%m-%d}"
    if state.is_closed:
        return f"the trajectory is closed ({state.outcome}); its tasks are over"
    if state.clocks_stopped:
        return f"the trajectory is {state.status.value}; resume it before closing its tasks"
    return None


def close_task(state: TrajectoryState, task_id: str, reached: bool, now: datetime) -> None:
    """Mark an allowed task done (the caller checked `task_refusal`)."""
    task = next(t for t in state.tasks if t.task_id == task_id)
    task.done_at, task.reached = now, reached
    state.revision += 1


def task_of_last_rung(state: TrajectoryState) -> CoachTask | None:
    """The open task the rung climbed last opened: past its due date it raises the next."""
    if state.nudge_level == 0:
        return None
    return next((t for t in state.tasks if t.is_open and t.nudge_seq == state.nudge_seq), None)

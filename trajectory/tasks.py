"""Coach tasks: the ladder's calls and outreach requests, worked and closed (DESIGN 8.1)."""

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from trajectory.actors import Actor
from trajectory.daytime import BRUSSELS
from trajectory.text import PlainText

TaskKind = Literal["coach_call", "outreach"]

WORKING_DAYS_TO_DO = 2
"""A coach call or outreach is due two working days after the rung that asked for it."""


def due_after_working_days(opened_at: datetime, working_days: int, day: timedelta) -> datetime:
    """`working_days` Monday-to-Friday days after `opened_at`, on a clock where a day is `day`."""
    date = opened_at.astimezone(BRUSSELS).date()
    days = 0
    while working_days > 0:
        days += 1
        date += timedelta(days=1)
        working_days -= date.weekday() < 5
    return opened_at + day * days


def task_id_for(participant_id: str, nudge_seq: int) -> str:
    """The task's id: whose it is and which rung opened it (participant ids hold no dot)."""
    return f"{participant_id}.{nudge_seq}"


def participant_of(task_id: str) -> str | None:
    """The participant a task id belongs to, None when it is not a task id."""
    participant_id, dot, seq = task_id.rpartition(".")
    return participant_id if dot and participant_id and seq.isdigit() else None


class CoachTask(BaseModel):
    """A task the ladder opened, as the trajectory keeps it."""

    task_id: str
    kind: TaskKind
    nudge_seq: int = Field(description="the rung that opened it")
    opened_at: datetime
    due_at: datetime
    done_at: datetime | None = None
    reached: bool | None = None

    @property
    def is_open(self) -> bool:
        return self.done_at is None


class OpenTask(BaseModel):
    """An open task as a participant's state shows it."""

    task_id: str
    kind: TaskKind
    due_at: datetime


class TaskDone(BaseModel):
    """Close a coach task; `reached` counts as contact with the participant."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reached": True, "note": "called, coming on Monday"}]},
    )

    reached: StrictBool
    note: PlainText | None = Field(default=None, max_length=200)


class TaskRecord(BaseModel):
    """A closed task as the read model stores it."""

    task_id: str
    done_at: datetime
    reached: bool
    note: str | None
    actor: Actor | None

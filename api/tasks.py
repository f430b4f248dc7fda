"""Coach tasks: the ladder's calls and outreach requests, listed and closed (DESIGN 8.1)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict

from api.auth import Caller
from api.cursors import TASK_CURSOR, TASK_ID, after_task, task_cursor
from api.deps import CallerDep, ClientDep, PersonKeysDep, PoolDep, current_caller, require
from api.errors import ApiError
from api.free_text import may_read
from api.models import ParticipantPublic
from api.participants import (
    _AUTH_ERRORS,
    _NOT_FOUND,
    _REFUSED,
    refuse_hidden_controls,
    run_update,
    update_id,
)
from readmodel import tasks
from readmodel.actors import actor_from_row
from trajectory.actors import Actor, Role
from trajectory.requests import PARTNER_ID_PATTERN, CompleteTask
from trajectory.tasks import TaskDone, TaskKind, participant_of
from workflows.trajectory import ParticipantTrajectory

_TASK_EXAMPLE: dict[str, Any] = {
    "task_id": "p-3f2a9c0d1e4b5a6f7081.3",
    "participant_id": "p-3f2a9c0d1e4b5a6f7081",
    "partner_id": "jes",
    "kind": "coach_call",
    "opened_at": "2026-03-27T09:00:00Z",
    "due_at": "2026-03-31T09:00:00Z",
    "status": "open",
    "done_at": None,
    "reached": None,
    "note": None,
    "done_by": None,
}


class TaskPublic(BaseModel):
    """A coach's call or a street worker's outreach; `due_at` is null for tasks from before
    tasks could be closed."""

    task_id: str
    participant_id: str
    partner_id: str
    kind: TaskKind
    opened_at: datetime
    due_at: datetime | None
    status: Literal["open", "done"]
    done_at: datetime | None
    reached: bool | None
    note: str | None
    done_by: Actor | None


class TaskList(BaseModel):
    """One page of tasks, oldest first; pass `next_cursor` back as `cursor` (null: done)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_TASK_EXAMPLE], "next_cursor": None}]}
    )

    items: list[TaskPublic]
    next_cursor: str | None


class PartnerTaskFigures(BaseModel):
    """How a partner's tasks are worked: opened, done within two working days, reached."""

    partner_id: str
    opened: int
    done_in_time: int
    reached: int


router = APIRouter(
    prefix="/v1/tasks",
    tags=["tasks"],
    dependencies=[Depends(current_caller)],
    responses=_AUTH_ERRORS,
)

TaskId = Annotated[
    str,
    Path(
        pattern=rf"^{TASK_ID}$",
        description="the task's id",
        examples=[_TASK_EXAMPLE["task_id"]],
    ),
]


def _public(row: dict[str, Any], caller: Caller) -> TaskPublic:
    done_by = actor_from_row(row)
    note = row["note"] if may_read(caller, done_by) else None
    return TaskPublic(
        **{k: row[k] for k in ("task_id", "participant_id", "partner_id", "kind", "opened_at")},
        due_at=row["due_at"],
        status="open" if row["done_at"] is None else "done",
        done_at=row["done_at"],
        reached=row["reached"],
        note=note,
        done_by=done_by,
    )


@router.get(
    "",
    dependencies=[Depends(require(Role.CASE_MANAGER, Role.PARTNER))],
    summary="List coach tasks by partner and status",
)
async def list_tasks(
    caller: CallerDep,
    pool: PoolDep,
    keys: PersonKeysDep,
    partner_id: Annotated[str | None, Query(pattern=PARTNER_ID_PATTERN, examples=["jes"])] = None,
    status: Literal["open", "done"] | None = None,
    cursor: Annotated[
        str | None,
        Query(pattern=TASK_CURSOR, description="`next_cursor` of the previous page"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TaskList:
    """Oldest first, from the read model; a partner's key lists only its own."""
    if caller.role == Role.PARTNER:
        if partner_id not in (None, caller.partner_id):
            return TaskList(items=[], next_cursor=None)
        partner_id = caller.partner_id
    rows = await tasks.list_tasks(
        pool,
        partner_id=partner_id,
        status=status,
        after=after_task(cursor) if cursor is not None else None,
        limit=limit + 1,
        keys=keys,
    )
    items = [_public(row, caller) for row in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return TaskList(
        items=items,
        next_cursor=task_cursor(last.opened_at, last.task_id) if last else None,
    )


@router.get(
    "/figures",
    dependencies=[Depends(require(Role.BACKEND, Role.CASE_MANAGER))],
    summary="Per partner: tasks opened, done within two working days, participant reached",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": [
                        {"partner_id": "jes", "opened": 40, "done_in_time": 31, "reached": 22}
                    ]
                }
            }
        }
    },
)
async def task_figures(pool: PoolDep) -> list[PartnerTaskFigures]:
    """Counted over every task since tasks could be closed."""
    return [PartnerTaskFigures(**row) for row in await tasks.task_figures(pool)]


_DONE_EXAMPLES: dict[str, Example] = {
    "reached": {
        "summary": "The coach reached the participant",
        "value": {"reached": True, "note": "called, coming on Monday"},
    },
    "not reached": {"summary": "Nobody answered", "value": {"reached": False}},
}


@router.post(
    "/{task_id}/done",
    dependencies=[Depends(require(Role.CASE_MANAGER, Role.PARTNER))],
    summary="Close a coach task",
    responses={**_NOT_FOUND, **_REFUSED},
)
async def complete_task(
    task_id: TaskId,
    body: Annotated[TaskDone, Body(openapi_examples=_DONE_EXAMPLES)],
    caller: CallerDep,
    client: ClientDep,
    pool: PoolDep,
) -> ParticipantPublic:
    """200 with the participant's new state; `reached: true` counts as contact, like a
    `participant_contact` milestone, and resets the nudge ladder. The same request again is the
    same Temporal Update (answered once); closing a task already done answers 409."""
    refuse_hidden_controls(body)
    participant_id = participant_of(task_id)
    if participant_id is None:
        raise ApiError(404, "not_found", f"no task {task_id}")
    outcome = "reached" if body.reached else "unreached"
    return await run_update(
        client,
        pool,
        participant_id,
        ParticipantTrajectory.complete_task,
        CompleteTask(task_id=task_id, done=body, actor=caller.actor),
        "task_refused",
        update_id=update_id("task-done", task_id, outcome, actor=caller.actor),
        caller=caller,
    )

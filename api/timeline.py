"""A participant's timeline: what happened, when, and who did it (DESIGN 8.1)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from api.auth import Caller
from api.cursors import TIMELINE_CURSOR, after_entry, timeline_cursor
from api.deps import (
    CallerDep,
    ClientIfConnectedDep,
    PersonKeysDep,
    PoolDep,
    current_caller,
    require,
)
from api.free_text import FREE_TEXT, may_read, with_texts
from api.participants import _AUTH_ERRORS, _NOT_FOUND, ParticipantId, current_state
from readmodel.actors import actor_from_row
from readmodel.free_text import TEXT_FIELDS
from readmodel.timeline import timeline
from trajectory.actors import Actor, Role

EntryKind = Literal[
    "milestone",
    "phase_change",
    "steering",
    "nudge",
    "task_opened",
    "task_done",
    "consent",
    "delivery_failed",
]

_EXAMPLE: dict[str, Any] = {
    "at": "2026-03-02T10:15:00Z",
    "kind": "milestone",
    "detail": {
        "milestone_id": "jes-2026-0042-coach",
        "type": "coach_assigned",
        "phase": "coaching",
        "recorded_by": "partner",
        "payload": {"coach_ref": "coach-7"},
    },
    "actor": {"role": "partner", "partner_id": "jes", "key_id": "3f2a9c0d1e4b", "user_id": None},
}


class TimelineEntry(BaseModel):
    """One thing that happened; `actor` is null for the engine itself."""

    at: datetime
    kind: EntryKind
    detail: dict[str, Any]
    actor: Actor | None


class Timeline(BaseModel):
    """One page of a timeline in record order; pass `next_cursor` back as `cursor` for the next
    (null: nothing more now). A poller keeps the last cursor it got: what is recorded later,
    even with an earlier `occurred_at`, comes after it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_EXAMPLE], "next_cursor": "1042"}]}
    )

    items: list[TimelineEntry]
    next_cursor: str | None


router = APIRouter(
    prefix="/v1/participants",
    tags=["participants"],
    dependencies=[Depends(current_caller)],
    responses=_AUTH_ERRORS,
)


def as_seen_by(caller: Caller, row: dict[str, Any]) -> TimelineEntry:
    """The entry with its free text for a caller who may read it; a partner sees what happened
    without the words of case managers (or of anyone it cannot tell)."""
    actor = actor_from_row(row)
    detail: dict[str, Any] = row["detail"]
    if may_read(caller, actor):
        detail = with_texts(detail, row["texts"])
    else:  # what is in clear
        detail = {k: v for k, v in detail.items() if k not in FREE_TEXT}
        if isinstance(payload := detail.get("payload"), dict):
            detail["payload"] = {k: v for k, v in payload.items() if k not in TEXT_FIELDS}
    return TimelineEntry(at=row["at"], kind=row["kind"], detail=detail, actor=actor)


@router.get(
    "/{participant_id}/timeline",
    dependencies=[Depends(require(Role.BACKEND, Role.CASE_MANAGER, Role.PARTNER))],
    summary="What happened to a participant, and who did it",
    responses=_NOT_FOUND,
)
async def read_timeline(
    participant_id: ParticipantId,
    caller: CallerDep,
    client: ClientIfConnectedDep,
    pool: PoolDep,
    keys: PersonKeysDep,
    cursor: Annotated[
        str | None,
        Query(pattern=TIMELINE_CURSOR, description="`next_cursor` of the previous page"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Timeline:
    """Milestones, phase changes, steering actions, nudges, tasks, consent changes and messages
    that could not be delivered, in the order they were recorded (oldest first), from the read
    model, which follows the workflow within moments. An entry recorded late comes after the
    pages already read: a poller that asks again from the last cursor it got sees it."""
    await current_state(client, pool, participant_id, caller)
    after = after_entry(cursor) if cursor is not None else 0
    rows = await timeline(pool, participant_id, after, limit + 1, keys)
    entries = [as_seen_by(caller, row) for row in rows[:limit]]
    more = len(rows) > limit
    return Timeline(
        items=entries, next_cursor=timeline_cursor(rows[limit - 1]["recorded"]) if more else None
    )

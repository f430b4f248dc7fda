"""Participants: enrol, read, list, report milestones and steer trajectories (DESIGN §5, §8).

Single reads ask the workflow (query `snapshot`) and fall back to the read model; lists come
from the read model. A partner sees only its own participants: another partner's answers 404,
word for word like a missing one.
"""

import base64
import binascii
import re
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import APIRouter, Body, Depends, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import Example
from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from api.deps import CallerDep, ClientDep, PoolDep, SettingsDep, current_caller, require
from api.errors import ApiError, ErrorPublic
from api.models import (
    MILESTONE_EXAMPLES,
    Closure,
    MilestoneCreate,
    ParticipantCreate,
    ParticipantList,
    ParticipantPublic,
    Reason,
    Reassignment,
)
from infra.contract import workflow_id
from infra.database import Pool
from starter.enrolment import enrol
from starter.keys import Role
from trajectory.milestones import Recorder
from trajectory.phases import Phase, Status
from trajectory.records import TrajectorySnapshot
from workflows.trajectory import (
    CloseRequest,
    ParticipantTrajectory,
    PauseRequest,
    ReassignRequest,
    ResumeRequest,
)

log = structlog.stdlib.get_logger(__name__)

QUERY_TIMEOUT = timedelta(seconds=5)
"""How long a single read waits for the workflow before it answers from the read model."""
UPDATE_TIMEOUT = timedelta(seconds=30)
"""How long a milestone or steering request waits for the workflow's answer."""

_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorPublic, "description": description}


_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("no API key, or an unknown or revoked one"),
    403: _error("the key's role may not do this"),
    413: _error("the request body is too large"),
    422: _error("malformed request; the detail names the field"),
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _error("no such participant, or another partner's"),
}
_REFUSED: dict[int | str, dict[str, Any]] = {
    409: _error("the trajectory refuses this now; the detail says why"),
    503: _error("Temporal did not answer in time; retrying is safe"),
}

router = APIRouter(
    prefix="/v1/participants",
    tags=["participants"],
    dependencies=[Depends(current_caller)],
    responses=_AUTH_ERRORS,
)


async def visible_participant(
    participant_id: Annotated[
        str,
        Path(
            pattern=_ID_PATTERN,
            description="the opaque participant id",
            examples=["p-3f2a9c0d1e4b5a6f7081"],
        ),
    ],
    caller: CallerDep,
    pool: PoolDep,
) -> str:
    """The participant id when the caller may see that participant; 404 otherwise."""
    partner_id = await pool.fetchval(
        "SELECT coalesce(t.partner_id, p.partner_id) FROM participants p"
        " LEFT JOIN trajectories t USING (participant_id) WHERE p.participant_id = $1",
        participant_id,
    )
    if partner_id is None or not caller.may_see(partner_id):
        raise _not_found(participant_id)
    return participant_id


VisibleParticipant = Annotated[str, Depends(visible_participant)]


def _not_found(participant_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no participant {participant_id}")


def _handle(client: Client, participant_id: str) -> WorkflowHandle[ParticipantTrajectory, Any]:
    return client.get_workflow_handle_for(ParticipantTrajectory.run, workflow_id(participant_id))


async def current_state(client: Client, pool: Pool, participant_id: str) -> ParticipantPublic:
    """The workflow's own view; the read model's when the workflow cannot answer."""
    try:
        snapshot = await _handle(client, participant_id).query(
            ParticipantTrajectory.snapshot, rpc_timeout=QUERY_TIMEOUT
        )
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as error:
        log.warning(
            "state_from_read_model", participant_id=participant_id, reason=type(error).__name__
        )
        return await stored_state(pool, participant_id)
    return ParticipantPublic.from_snapshot(snapshot)


async def stored_state(pool: Pool, participant_id: str) -> ParticipantPublic:
    """The read model's latest snapshot, or the state of a trajectory that has not reported yet."""
    row = await pool.fetchrow(
        "SELECT * FROM trajectories WHERE participant_id = $1", participant_id
    )
    if row is not None:
        return ParticipantPublic.from_row(row)
    enrolled = await pool.fetchrow(
        "SELECT partner_id, enrolled_at FROM participants WHERE participant_id = $1",
        participant_id,
    )
    if enrolled is None:
        raise _not_found(participant_id)
    return ParticipantPublic(
        participant_id=participant_id,
        partner_id=enrolled["partner_id"],
        phase=Phase.INTAKE,
        status=Status.ACTIVE,
        nudge_level=0,
        milestone_count=0,
        last_milestone=None,
        outcome=None,
        next_deadline=None,
        last_contact_at=enrolled["enrolled_at"],
        enrolled_at=enrolled["enrolled_at"],
        closed_at=None,
    )


# -- enrol, read, list ----------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    dependencies=[Depends(require(Role.BACKEND))],
    summary="Enrol a person and start their trajectory",
    responses={
        200: {"model": ParticipantPublic, "description": "already enrolled: nothing started"},
        201: {"description": "enrolled: the trajectory started"},
        503: _REFUSED[503],
    },
)
async def enrol_participant(
    body: ParticipantCreate,
    response: Response,
    client: ClientDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> ParticipantPublic:
    """Idempotent on `external_ref`: the same reference again answers 200, starting nothing."""
    enrolled = await enrol(client, pool, body, day_seconds=settings.seconds_per_day)
    if not enrolled.created:
        response.status_code = 200
    return await current_state(client, pool, enrolled.participant_id)


@router.get(
    "/{participant_id}",
    dependencies=[Depends(require(Role.BACKEND, Role.CASE_MANAGER, Role.PARTNER))],
    summary="A participant's current state",
    responses=_NOT_FOUND,
)
async def read_participant(
    participant_id: VisibleParticipant, caller: CallerDep, client: ClientDep, pool: PoolDep
) -> ParticipantPublic:
    """Phase, status, nudge level, milestones (count and last), outcome and next deadline."""
    state = await current_state(client, pool, participant_id)
    if not caller.may_see(state.partner_id):  # reassigned meanwhile
        raise _not_found(participant_id)
    return state


_CURSOR_ID = re.compile(_ID_PATTERN)


def _cursor(participant_id: str) -> str:
    return base64.urlsafe_b64encode(participant_id.encode()).decode().rstrip("=")


def _after(cursor: str) -> str:
    """The participant id a cursor points after; 422 for anything this API did not hand out."""
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        decoded = ""
    if not _CURSOR_ID.fullmatch(decoded):
        raise ApiError(422, "invalid_request", "cursor: not a cursor this API handed out")
    return decoded


@router.get(
    "",
    dependencies=[Depends(require(Role.BACKEND, Role.CASE_MANAGER, Role.PARTNER))],
    summary="List participants by partner, phase and status",
)
async def list_participants(
    caller: CallerDep,
    pool: PoolDep,
    partner_id: Annotated[
        str | None, Query(pattern=r"^[a-z][a-z0-9-]{1,31}$", examples=["jes"])
    ] = None,
    phase: Phase | None = None,
    status: Status | None = None,
    cursor: Annotated[
        str | None, Query(max_length=100, description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ParticipantList:
    """From the read model, ordered by participant id; a partner's key lists only its own."""
    if caller.role == Role.PARTNER:
        if partner_id not in (None, caller.partner_id):
            return ParticipantList(items=[], next_cursor=None)
        partner_id = caller.partner_id
    filters: list[str] = []
    values: list[object] = []
    for column, value in (
        ("partner_id =", partner_id),
        ("phase =", phase),
        ("status =", status),
        ("participant_id >", _after(cursor) if cursor else None),
    ):
        if value is not None:
            values.append(value)
            filters.append(f"{column} ${len(values)}")
    where = f"WHERE {' AND '.join(filters)}" if filters else ""
    rows = await pool.fetch(
        f"SELECT * FROM trajectories {where} ORDER BY participant_id LIMIT {limit + 1}", *values
    )
    items = [ParticipantPublic.from_row(row) for row in rows[:limit]]
    more = len(rows) > limit
    return ParticipantList(
        items=items, next_cursor=_cursor(items[-1].participant_id) if more else None
    )


# -- milestones -----------------------------------------------------------------------------------


@router.post(
    "/{participant_id}/milestones",
    dependencies=[Depends(require(Role.PARTNER, Role.CASE_MANAGER))],
    summary="Report a milestone",
    responses={**_NOT_FOUND, **_REFUSED},
)
async def record_milestone(
    participant_id: VisibleParticipant,
    body: Annotated[MilestoneCreate, Body(openapi_examples=MILESTONE_EXAMPLES)],
    caller: CallerDep,
    client: ClientDep,
    pool: PoolDep,
) -> ParticipantPublic:
    """Accepted: 200 with the new state (also for a repeated `milestone_id`, recorded once).

    Not allowed now: 409 with the workflow's reason. The workflow decides, as a Temporal Update
    whose id is derived from `milestone_id`, so a retried request is the same update.
    """
    if errors := body.payload_errors():
        raise RequestValidationError(errors)
    recorder = Recorder.CASE_MANAGER if caller.role == Role.CASE_MANAGER else Recorder.PARTNER
    milestone = body.to_milestone(recorder)
    try:
        snapshot: TrajectorySnapshot = await _handle(client, participant_id).execute_update(
            ParticipantTrajectory.record_milestone,
            milestone,
            id=f"milestone-{milestone.milestone_id}",
            rpc_timeout=UPDATE_TIMEOUT,
        )
    except WorkflowUpdateFailedError as error:
        raise _refusal("milestone_refused", participant_id, error) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise _no_answer() from None
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        recorded = await pool.fetchval(
            "SELECT true FROM milestones WHERE participant_id = $1 AND milestone_id = $2",
            participant_id,
            milestone.milestone_id,
        )
        if recorded:  # a retry after the milestone closed the trajectory
            return await current_state(client, pool, participant_id)
        raise await _not_running("milestone_refused", pool, participant_id) from None
    return ParticipantPublic.from_snapshot(snapshot)


def _refusal(code: str, participant_id: str, error: WorkflowUpdateFailedError) -> ApiError:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == "Refused":
        return ApiError(409, code, cause.message)
    log.error("update_failed", participant_id=participant_id, cause=type(cause).__name__)
    return ApiError(500, "internal_error", "the trajectory failed to handle this; it was logged")


def _no_answer() -> ApiError:
    return ApiError(
        503, "temporal_unavailable", "the trajectory did not answer in time; retrying is safe"
    )


async def _not_running(code: str, pool: Pool, participant_id: str) -> ApiError:
    """The workflow is gone: closed (409 with the outcome) or never started (503)."""
    outcome = await pool.fetchval(
        "SELECT outcome FROM trajectories WHERE participant_id = $1 AND status = 'closed'",
        participant_id,
    )
    if outcome is not None:
        return ApiError(
            409, code, f"the trajectory is closed ({outcome}); nothing more can be changed"
        )
    return ApiError(
        503,
        "trajectory_not_running",
        "the trajectory is not running; enrolling the person again starts it",
    )


# -- steering by case managers --------------------------------------------------------------------

UpdateInput = TypeVar("UpdateInput", bound=BaseModel)


async def _steer(
    client: Client,
    pool: Pool,
    participant_id: str,
    update: UpdateMethodMultiParam[[ParticipantTrajectory, UpdateInput], TrajectorySnapshot],
    request: UpdateInput,
    code: str,
) -> ParticipantPublic:
    try:
        snapshot = await _handle(client, participant_id).execute_update(
            update, request, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as error:
        raise _refusal(code, participant_id, error) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise _no_answer() from None
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        raise await _not_running(code, pool, participant_id) from None
    return ParticipantPublic.from_snapshot(snapshot)


_CASE_MANAGER = [Depends(require(Role.CASE_MANAGER))]
_PAUSE_EXAMPLES: dict[str, Example] = {
    "illness": {"summary": "With a reason", "value": {"reason": "illness: hospital stay"}},
    "none": {"summary": "Without a reason (the body may be left out)", "value": {}},
}
_RESUME_EXAMPLES: dict[str, Example] = {
    "back": {"summary": "With a reason", "value": {"reason": "back from hospital"}},
    "none": {"summary": "Without a reason (the body may be left out)", "value": {}},
}
_STEERING = {**_NOT_FOUND, **_REFUSED}


@router.post(
    "/{participant_id}/pause",
    dependencies=_CASE_MANAGER,
    summary="Pause a trajectory",
    responses=_STEERING,
)
async def pause(
    participant_id: VisibleParticipant,
    client: ClientDep,
    pool: PoolDep,
    body: Annotated[Reason | None, Body(openapi_examples=_PAUSE_EXAMPLES)] = None,
) -> ParticipantPublic:
    """Stop every clock (illness, parental leave, detention, ...); 409 when paused or closed."""
    request = PauseRequest(reason=body.reason if body else None)
    return await _steer(
        client, pool, participant_id, ParticipantTrajectory.pause, request, "pause_refused"
    )


@router.post(
    "/{participant_id}/resume",
    dependencies=_CASE_MANAGER,
    summary="Resume a paused trajectory",
    responses=_STEERING,
)
async def resume(
    participant_id: VisibleParticipant,
    client: ClientDep,
    pool: PoolDep,
    body: Annotated[Reason | None, Body(openapi_examples=_RESUME_EXAMPLES)] = None,
) -> ParticipantPublic:
    """Restart the clocks where they stopped; 409 when the trajectory is not paused."""
    request = ResumeRequest(reason=body.reason if body else None)
    return await _steer(
        client, pool, participant_id, ParticipantTrajectory.resume, request, "resume_refused"
    )


@router.post(
    "/{participant_id}/reassign",
    dependencies=_CASE_MANAGER,
    summary="Reassign to another partner",
    responses=_STEERING,
)
async def reassign(
    participant_id: VisibleParticipant, body: Reassignment, client: ClientDep, pool: PoolDep
) -> ParticipantPublic:
    """From now on the new partner's steps apply and only that partner sees the participant."""
    request = ReassignRequest(partner_id=body.partner_id, reason=body.reason)
    return await _steer(
        client, pool, participant_id, ParticipantTrajectory.reassign, request, "reassign_refused"
    )


@router.post(
    "/{participant_id}/close",
    dependencies=_CASE_MANAGER,
    summary="Close a trajectory with an outcome",
    responses=_STEERING,
)
async def close(
    participant_id: VisibleParticipant, body: Closure, client: ClientDep, pool: PoolDep
) -> ParticipantPublic:
    """End the trajectory with `outcome`; 409 when it is already closed."""
    request = CloseRequest(outcome=body.outcome, reason=body.reason)
    return await _steer(
        client, pool, participant_id, ParticipantTrajectory.close, request, "close_refused"
    )

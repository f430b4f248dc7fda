"""Participants: enrol, read, list, report milestones and steer trajectories (DESIGN §5, §8).

Single reads and every change ask the workflow, which also decides whether a partner holds the
participant; PostgreSQL is read only for lists and when the workflow cannot answer. A partner
sees only its own participants: another partner's answers 404, word for word like a missing one.
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import APIRouter, Body, Depends, Path, Query, Response
from fastapi.openapi.models import Example
from fastapi.responses import JSONResponse
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

from api.auth import Caller
from api.cursors import PARTICIPANT_CURSOR, PARTICIPANT_ID
from api.deps import (
    CallerDep,
    ClientDep,
    ClientIfConnectedDep,
    PersonKeysDep,
    PoolDep,
    SettingsDep,
    current_caller,
    require,
)
from api.enrolment import AlreadyEnrolled, enrol, ignored_fields
from api.errors import AlreadyEnrolledPublic, ApiError, ErrorPublic
from api.models import (
    MILESTONE_EXAMPLES,
    EnrolmentPublic,
    ParticipantCreate,
    ParticipantList,
    ParticipantPublic,
    known_partner,
)
from infra.contract import workflow_id
from infra.database import Pool
from infra.person_keys import PersonKeys
from readmodel import trajectories
from readmodel.persons import is_restricted
from trajectory.actors import Actor, Role
from trajectory.milestones import Milestone
from trajectory.phases import Phase, Status
from trajectory.records import TrajectorySnapshot
from trajectory.requests import (
    PARTNER_ID_PATTERN,
    CloseRequest,
    CloseTrajectory,
    PauseRequest,
    PauseTrajectory,
    ReassignParticipant,
    ReassignRequest,
    RecordMilestone,
    ResumeRequest,
    ResumeTrajectory,
    Steering,
)
from trajectory.text import hidden_controls
from workflows.errors import NOT_FOUND, REFUSED, REUSED
from workflows.trajectory import ParticipantTrajectory

log = structlog.stdlib.get_logger(__name__)

QUERY_TIMEOUT = timedelta(seconds=5)
"""How long a single read waits for the workflow before it answers from the read model."""
UPDATE_TIMEOUT = timedelta(seconds=30)
"""How long a milestone or steering request waits for the workflow's answer."""

_ID_PATTERN = rf"^{PARTICIPANT_ID}$"


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorPublic, "description": description}


_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("no API key, or an unknown or revoked one"),
    403: _error("the key's role may not do this"),
    413: _error("the request body is too large"),
    422: _error("malformed request; the detail names the field"),
    429: _error("too many unknown or revoked keys from this address; see Retry-After"),
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


ParticipantId = Annotated[
    str,
    Path(
        pattern=_ID_PATTERN,
        description="the opaque participant id",
        examples=["p-3f2a9c0d1e4b5a6f7081"],
    ),
]


class TemporalNotConnected(Exception):
    """The API has not reached Temporal yet."""


def _not_found(participant_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no participant {participant_id}")


def _handle(client: Client, participant_id: str) -> WorkflowHandle[ParticipantTrajectory, Any]:
    return client.get_workflow_handle_for(ParticipantTrajectory.run, workflow_id(participant_id))


async def current_state(
    client: Client | None, pool: Pool, participant_id: str, caller: Caller | None = None
) -> ParticipantPublic:
    """The workflow's own view, the read model's when the workflow cannot answer (or Temporal
    was never reached: `client` None); 404 when there is no such participant or `caller` may
    not see it."""
    snapshot: TrajectorySnapshot | None
    try:
        if client is None:
            raise TemporalNotConnected
        snapshot = await _handle(client, participant_id).query(
            ParticipantTrajectory.snapshot, rpc_timeout=QUERY_TIMEOUT
        )
    except (
        RPCError,
        WorkflowQueryFailedError,
        WorkflowQueryRejectedError,
        TemporalNotConnected,
    ) as error:
        log.warning(
            "state_from_read_model", participant_id=participant_id, reason=type(error).__name__
        )
        snapshot = await trajectories.stored_snapshot(pool, participant_id)
    if snapshot is None or (caller is not None and not caller.may_see(snapshot.partner_id)):
        raise _not_found(participant_id)
    if snapshot.status == Status.CLOSED and await _restricted(pool, participant_id):
        raise _not_found(participant_id)  # erasure asked: an auditor alone sees them
    return ParticipantPublic.from_snapshot(snapshot)


async def _restricted(pool: Pool, participant_id: str) -> bool:
    """Whether the person's processing is restricted (erasure asked within the retention
    period); such a trajectory is closed, so only closed ones are asked about."""
    async with pool.acquire() as con:
        return await is_restricted(con, participant_id)


# -- enrol, read, list ----------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=EnrolmentPublic,
    dependencies=[Depends(require(Role.BACKEND))],
    summary="Enrol a person and start their trajectory",
    responses={
        200: {
            "model": EnrolmentPublic,
            "description": "already enrolled: nothing started, nothing changed; `ignored` names "
            "the fields sent differently this time",
        },
        201: {"description": "enrolled: the trajectory started"},
        409: {
            "model": AlreadyEnrolledPublic,
            "description": "the person has an open trajectory under another external_ref",
        },
        503: _REFUSED[503],
    },
)
async def enrol_participant(
    body: ParticipantCreate,
    response: Response,
    caller: CallerDep,
    client: ClientDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> EnrolmentPublic | JSONResponse:
    """Idempotent on `external_ref`: the same reference again answers 200, starting and changing
    nothing; `ignored` names the fields that differ from the first enrolment (`[]` for a retry).

    The same person under another reference answers 409 `already_enrolled` with the
    `participant_id` of their open trajectory.
    """
    try:
        enrolled = await enrol(client, pool, body, day_seconds=settings.seconds_per_day)
    except AlreadyEnrolled as refusal:
        answer = AlreadyEnrolledPublic(
            error="already_enrolled",
            detail=f"this person has an open trajectory under another reference: {refusal}",
            participant_id=refusal.participant_id,
        )
        return JSONResponse(answer.model_dump(), status_code=409)
    ignored: list[str] = []
    if not enrolled.created:
        response.status_code = 200
        ignored = await ignored_fields(pool, enrolled.participant_id, body, caller.actor)
        if ignored:
            log.info(
                "repeated_enrolment_ignored", participant_id=enrolled.participant_id, fields=ignored
            )
    state = await current_state(client, pool, enrolled.participant_id)
    return EnrolmentPublic(**state.model_dump(), ignored=ignored)


@router.get(
    "/{participant_id}",
    dependencies=[Depends(require(Role.BACKEND, Role.CASE_MANAGER, Role.PARTNER))],
    summary="A participant's current state",
    responses=_NOT_FOUND,
)
async def read_participant(
    participant_id: ParticipantId, caller: CallerDep, client: ClientIfConnectedDep, pool: PoolDep
) -> ParticipantPublic:
    """Phase, status, nudge level, milestones (count and last), outcome and next deadline;
    from the read model while Temporal cannot be reached."""
    return await current_state(client, pool, participant_id, caller)


@router.get(
    "",
    dependencies=[Depends(require(Role.BACKEND, Role.CASE_MANAGER, Role.PARTNER))],
    summary="List participants by partner, phase and status",
)
async def list_participants(
    caller: CallerDep,
    pool: PoolDep,
    partner_id: Annotated[str | None, Query(pattern=PARTNER_ID_PATTERN, examples=["jes"])] = None,
    phase: Phase | None = None,
    status: Status | None = None,
    cursor: Annotated[
        str | None,
        Query(pattern=PARTICIPANT_CURSOR, description="`next_cursor` of the previous page"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ParticipantList:
    """From the read model, ordered by participant id; a partner's key lists only its own."""
    if caller.role == Role.PARTNER:
        if partner_id not in (None, caller.partner_id):
            return ParticipantList(items=[], next_cursor=None)
        partner_id = caller.partner_id
    snapshots = await trajectories.list_snapshots(
        pool,
        partner_id=partner_id,
        phase=phase,
        status=status,
        after=cursor,
        limit=limit + 1,
    )
    items = [ParticipantPublic.from_snapshot(snapshot) for snapshot in snapshots[:limit]]
    more = len(snapshots) > limit
    return ParticipantList(items=items, next_cursor=items[-1].participant_id if more else None)


# -- milestones -----------------------------------------------------------------------------------


@router.post(
    "/{participant_id}/milestones",
    dependencies=[Depends(require(Role.PARTNER, Role.CASE_MANAGER))],
    summary="Report a milestone",
    responses={**_NOT_FOUND, **_REFUSED},
)
async def record_milestone(
    participant_id: ParticipantId,
    body: Annotated[Milestone, Body(openapi_examples=MILESTONE_EXAMPLES)],
    caller: CallerDep,
    client: ClientDep,
    pool: PoolDep,
    person_keys: PersonKeysDep,
) -> ParticipantPublic:
    """Accepted: 200 with the new state (also for a repeated `milestone_id`, recorded once).

    Not allowed now: 409 with the workflow's reason; the same `milestone_id` with other content:
    409 `milestone_id_reused`. The workflow decides, as a Temporal Update whose id is the
    milestone's keyed fingerprint, so a retried request is the same update; it also answers
    404 to a partner that does not hold the participant (any more).
    """
    return await report(client, pool, participant_id, body, caller, person_keys)


async def report(
    client: Client,
    pool: Pool,
    participant_id: str,
    milestone: Milestone,
    caller: Caller,
    person_keys: PersonKeys,
) -> ParticipantPublic:
    """A milestone as the trajectory's Update whose id is its keyed fingerprint (the API's and
    the web app's): the new state, or the contract's error."""
    refuse_hidden_controls(milestone)
    recorded = RecordMilestone.of(milestone, person_keys.milestone_key, caller.actor)

    async def stored_fingerprint() -> str | None:
        return await trajectories.milestone_fingerprint(
            pool, participant_id, milestone.milestone_id
        )

    def same_content(said: str) -> bool:
        """Whether `said` fingerprints this milestone, under the current key or (sent before a
        rotation of the person keys) an earlier one."""
        earlier = (milestone.fingerprint(key) for key in person_keys.earlier_milestone_keys)
        return said == recorded.fingerprint or said in earlier

    async def recorded_before() -> bool:  # a retry after the milestone closed the trajectory
        said = await stored_fingerprint()
        if said is not None and not same_content(said):
            raise ApiError(
                409,
                "milestone_id_reused",
                f"milestone_id {milestone.milestone_id} was recorded with other content",
            )
        return said is not None

    try:
        return await run_update(
            client,
            pool,
            participant_id,
            ParticipantTrajectory.record_milestone,
            recorded,
            "milestone_refused",
            update_id=update_id("milestone", recorded.fingerprint, actor=caller.actor),
            caller=caller,
            done_before=recorded_before,
        )
    except ApiError as refusal:
        if refusal.code != "milestone_id_reused" or not person_keys.earlier_milestone_keys:
            raise
        said = await stored_fingerprint()
        if said is None or not same_content(said):
            raise
        return await current_state(client, pool, participant_id, caller)


def update_id(kind: str, *key: str, actor: Actor | None = None) -> str:
    """The id of an Update: the same request from the same caller is the same Update (answered
    once by Temporal), while another caller's reaches the workflow, which checks that caller."""
    who = (actor.key_id or actor.role) if actor is not None else "engine"
    return "-".join((kind, *key, "by", who))


def refuse_hidden_controls(body: BaseModel | None) -> None:
    """422 naming the first text field that holds a bidirectional control (`visible_text`)."""
    if body is not None and (found := next(hidden_controls(body), None)):
        field, why = found
        raise ApiError(422, "invalid_request", f"{field}: {why}")


def _refusal(code: str, participant_id: str, error: WorkflowUpdateFailedError) -> ApiError:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == REFUSED:
        return ApiError(409, code, cause.message)
    if isinstance(cause, ApplicationError) and cause.type == NOT_FOUND:
        return _not_found(participant_id)
    if isinstance(cause, ApplicationError) and cause.type == REUSED:
        return ApiError(409, "milestone_id_reused", cause.message)
    log.error("update_failed", participant_id=participant_id, cause=type(cause).__name__)
    return ApiError(500, "internal_error", "the trajectory failed to handle this; it was logged")


async def _no_answer(client: Client, participant_id: str) -> ApiError:
    """503: no answer in time; when the trajectory waits for a case manager, say so."""
    try:
        snapshot = await _handle(client, participant_id).query(
            ParticipantTrajectory.snapshot, rpc_timeout=QUERY_TIMEOUT
        )
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        snapshot = None
    if snapshot is not None and snapshot.attention is not None:
        return ApiError(
            503,
            "needs_attention",
            f"the trajectory waits for a case manager ({snapshot.attention}); the request is "
            "carried out once they resume it, and retrying it is safe",
        )
    return ApiError(
        503, "temporal_unavailable", "the trajectory did not answer in time; retrying is safe"
    )


async def _not_running(code: str, pool: Pool, participant_id: str) -> ApiError:
    """The workflow is gone: closed (409 with the outcome) or never started (503)."""
    outcome = await trajectories.closed_outcome(pool, participant_id)
    if outcome is not None:
        return ApiError(
            409, code, f"the trajectory is closed ({outcome}); nothing more can be changed"
        )
    return ApiError(
        503,
        "trajectory_not_running",
        "the trajectory is not running; enrolling the person again starts it",
    )


# -- asking the trajectory ------------------------------------------------------------------------

UpdateInput = TypeVar("UpdateInput", bound=BaseModel)


async def run_update(
    client: Client,
    pool: Pool,
    participant_id: str,
    update: UpdateMethodMultiParam[[ParticipantTrajectory, UpdateInput], TrajectorySnapshot],
    request: UpdateInput,
    code: str,
    *,
    update_id: str | None = None,
    caller: Caller | None = None,
    done_before: Callable[[], Awaitable[bool]] | None = None,
) -> ParticipantPublic:
    """The trajectory's answer to an Update, or the contract's error: 409 `code` refused, 404
    not the caller's, 503 no answer; a workflow that is gone answers from the read model, with
    the state when `done_before` says this very request was carried out before it closed."""
    try:
        snapshot = await _handle(client, participant_id).execute_update(
            update, request, id=update_id, rpc_timeout=UPDATE_TIMEOUT
        )
    except WorkflowUpdateFailedError as error:
        raise _refusal(code, participant_id, error) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise await _no_answer(client, participant_id) from None
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        state = await current_state(client, pool, participant_id, caller)
        if done_before is not None and await done_before():
            return state
        raise await _not_running(code, pool, participant_id) from None
    return ParticipantPublic.from_snapshot(snapshot)


# -- steering by case managers --------------------------------------------------------------------


SteeringBody = PauseRequest | ResumeRequest | ReassignRequest | CloseRequest
_STEERING_UPDATES: dict[type[BaseModel], tuple[Any, type[Steering], str]] = {
    PauseRequest: (ParticipantTrajectory.pause, PauseTrajectory, "pause_refused"),
    ResumeRequest: (ParticipantTrajectory.resume, ResumeTrajectory, "resume_refused"),
    ReassignRequest: (ParticipantTrajectory.reassign, ReassignParticipant, "reassign_refused"),
    CloseRequest: (ParticipantTrajectory.close, CloseTrajectory, "close_refused"),
}
"""Each steering body's Update, workflow input and refusal code."""


async def steer(
    client: Client, pool: Pool, participant_id: str, body: SteeringBody, caller: Caller
) -> ParticipantPublic:
    """A case manager's steering request as its Update (the API's and the web app's): the body
    checked, wrapped with the caller's actor and a new request id, so that a copy of it sent
    again is a refusal."""
    if isinstance(body, ReassignRequest):
        try:
            known_partner(body.partner_id)
        except ValueError as error:
            raise ApiError(422, "invalid_request", f"partner_id: {error}") from None
    refuse_hidden_controls(body)
    update, wrapper, code = _STEERING_UPDATES[type(body)]
    wrapped = wrapper.model_validate(
        {"request": body, "actor": caller.actor, "request_id": uuid.uuid4().hex}
    )
    return await run_update(client, pool, participant_id, update, wrapped, code, caller=caller)


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
    participant_id: ParticipantId,
    caller: CallerDep,
    client: ClientDep,
    pool: PoolDep,
    body: Annotated[PauseRequest | None, Body(openapi_examples=_PAUSE_EXAMPLES)] = None,
) -> ParticipantPublic:
    """Stop every clock (illness, parental leave, detention, ...); 409 when paused or closed."""
    return await steer(client, pool, participant_id, body or PauseRequest(), caller)


@router.post(
    "/{participant_id}/resume",
    dependencies=_CASE_MANAGER,
    summary="Resume a paused trajectory",
    responses=_STEERING,
)
async def resume(
    participant_id: ParticipantId,
    caller: CallerDep,
    client: ClientDep,
    pool: PoolDep,
    body: Annotated[ResumeRequest | None, Body(openapi_examples=_RESUME_EXAMPLES)] = None,
) -> ParticipantPublic:
    """Restart the clocks where they stopped, and retry a step that needed attention; 409 when
    the trajectory is neither paused nor waiting for a case manager."""
    return await steer(client, pool, participant_id, body or ResumeRequest(), caller)


@router.post(
    "/{participant_id}/reassign",
    dependencies=_CASE_MANAGER,
    summary="Reassign to another partner",
    responses=_STEERING,
)
async def reassign(
    participant_id: ParticipantId,
    body: ReassignRequest,
    caller: CallerDep,
    client: ClientDep,
    pool: PoolDep,
) -> ParticipantPublic:
    """From now on the new partner's steps apply and only that partner sees the participant."""
    return await steer(client, pool, participant_id, body, caller)


@router.post(
    "/{participant_id}/close",
    dependencies=_CASE_MANAGER,
    summary="Close a trajectory with an outcome",
    responses=_STEERING,
)
async def close(
    participant_id: ParticipantId,
    body: CloseRequest,
    caller: CallerDep,
    client: ClientDep,
    pool: PoolDep,
) -> ParticipantPublic:
    """End the trajectory with `outcome`; 409 when it is already closed."""
    return await steer(client, pool, participant_id, body, caller)

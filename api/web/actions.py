"""What the web app's forms ask of a trajectory, through the API's own code (DESIGN §8.2).

Each form becomes the API's request body, wrapped with the session's actor (the key's role,
partner and id, and the person's label as `user_id`) and sent as the same Temporal Update, with
the same id rules (`api.participants.run_update`, `update_id`); the workflow's validator decides.
An accepted form leads back to the participant's page; a refusal shows its reason there.
"""

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData
from temporalio.client import Client

from api.deps import ClientDep, PersonKeysDep, PoolDep
from api.errors import ApiError, describe_errors
from api.participants import (
    SteeringBody,
    refuse_hidden_controls,
    report,
    run_update,
    steer,
    update_id,
)
from api.web.forms import occurred_at, payload_of
from api.web.participant import (
    checked_id,
    milestone_form,
    not_found,
    participant_page,
    state_for,
)
from api.web.sessions import CaseManagerPostDep, PostedDep, WebSession
from infra.database import Pool
from infra.person_keys import PersonKeys
from trajectory.milestones import Milestone, MilestoneType
from trajectory.requests import (
    CloseRequest,
    CompleteTask,
    PauseRequest,
    ReassignRequest,
    ResumeRequest,
)
from trajectory.tasks import TaskDone, participant_of
from workflows.trajectory import ParticipantTrajectory

router = APIRouter()

ANSWERED_IN_PAGE = (409, 422, 503)
"""Refusals (and a trajectory that did not answer in time) shown in the page, in words."""


def _texts(form: FormData) -> dict[str, str]:
    return {name: value for name, value in form.items() if isinstance(value, str)}


def _optional(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return (value.strip() or None) if isinstance(value, str) else None


def _done(participant_id: str, what: str, form: FormData) -> Response:
    """Back where the form was sent from: the needs-attention queue or the participant's page."""
    if form.get("back") == "attention":
        return RedirectResponse(f"/app/attention?done={what}", 303)
    return RedirectResponse(f"/app/participants/{participant_id}?done={what}", 303)


@router.post("/participants/{participant_id}/milestones")
async def report_milestone(
    request: Request,
    participant_id: str,
    session: PostedDep,
    client: ClientDep,
    pool: PoolDep,
    keys: PersonKeysDep,
) -> Response:
    """Report the milestone of a form, as `POST /v1/participants/{id}/milestones` would."""
    form = await request.form()
    state = await state_for(client, pool, participant_id, session)
    try:
        milestone_type = MilestoneType(str(form.get("type", "")))
    except ValueError:
        raise not_found() from None
    sent = _texts(form)
    try:
        milestone = Milestone.model_validate(
            {
                "milestone_id": sent.get("milestone_id", ""),
                "type": milestone_type,
                "occurred_at": occurred_at(sent.get("occurred_at", "")),
                "payload": payload_of(milestone_type, form),
            }
        )
        await report(client, pool, participant_id, milestone, session.caller, keys)
    except ValidationError as error:
        refusal, status_code = describe_errors(error.errors()), 422
    except ApiError as error:
        if error.status_code not in ANSWERED_IN_PAGE:
            raise
        refusal, status_code = error.detail, error.status_code
    else:
        return _done(participant_id, "recorded", form)
    return await milestone_form(
        request, session, state, pool, milestone_type, status_code, sent, refusal
    )


async def _answer(
    request: Request,
    session: WebSession,
    client: Client,
    pool: Pool,
    keys: PersonKeys,
    participant_id: str,
    ask: Callable[[FormData], Awaitable[object]],
    what: str,
) -> Response:
    """Carry out `ask` with the posted form; its refusal, or a form the request model refuses,
    shown in the participant's page."""
    checked_id(participant_id)
    form = await request.form()
    try:
        await ask(form)
    except ValidationError as error:
        refusal, status_code = describe_errors(error.errors()), 422
    except ApiError as error:
        if error.status_code not in ANSWERED_IN_PAGE:
            raise
        refusal, status_code = error.detail, error.status_code
    else:
        return _done(participant_id, what, form)
    return await participant_page(
        request, session, client, pool, keys, participant_id, status_code, refusal
    )


@router.post("/tasks/{task_id}/done")
async def close_task(
    request: Request,
    task_id: str,
    session: PostedDep,
    client: ClientDep,
    pool: PoolDep,
    keys: PersonKeysDep,
) -> Response:
    """Close a coach task as reached or not, as `POST /v1/tasks/{task_id}/done` would."""
    participant_id = participant_of(task_id)
    if participant_id is None:
        raise not_found()
    await state_for(client, pool, participant_id, session)

    async def ask(form: FormData) -> None:
        reached = form.get("reached")
        body = TaskDone.model_validate(
            {
                "reached": {"yes": True, "no": False}.get(str(reached)),
                "note": _optional(form, "note"),
            }
        )
        refuse_hidden_controls(body)
        actor = session.caller.actor
        outcome = "reached" if body.reached else "unreached"
        await run_update(
            client,
            pool,
            participant_id,
            ParticipantTrajectory.complete_task,
            CompleteTask(task_id=task_id, done=body, actor=actor),
            "task_refused",
            update_id=update_id("task-done", task_id, outcome, actor=actor),
            caller=session.caller,
        )

    return await _answer(request, session, client, pool, keys, participant_id, ask, "task_done")


@router.post("/participants/{participant_id}/pause")
async def pause(
    request: Request,
    participant_id: str,
    session: CaseManagerPostDep,
    client: ClientDep,
    pool: PoolDep,
    keys: PersonKeysDep,
) -> Response:
    def body(form: FormData) -> PauseRequest:
        return PauseRequest(reason=_optional(form, "reason"))

    return await _steer(request, session, client, pool, keys, participant_id, body, "pause")


@router.post("/participants/{participant_id}/resume")
async def resume(
    request: Request,
    participant_id: str,
    session: CaseManagerPostDep,
    client: ClientDep,
    pool: PoolDep,
    keys: PersonKeysDep,
) -> Response:
    def body(form: FormData) -> ResumeRequest:
        return ResumeRequest(reason=_optional(form, "reason"))

    return await _steer(request, session, client, pool, keys, participant_id, body, "resume")


@router.post("/participants/{participant_id}/reassign")
async def reassign(
    request: Request,
    participant_id: str,
    session: CaseManagerPostDep,
    client: ClientDep,
    pool: PoolDep,
    keys: PersonKeysDep,
) -> Response:
    def body(form: FormData) -> ReassignRequest:
        return ReassignRequest.model_validate(
            {"partner_id": form.get("partner_id"), "reason": _optional(form, "reason")}
        )

    return await _steer(request, session, client, pool, keys, participant_id, body, "reassign")


@router.post("/participants/{participant_id}/close")
async def close(
    request: Request,
    participant_id: str,
    session: CaseManagerPostDep,
    client: ClientDep,
    pool: PoolDep,
    keys: PersonKeysDep,
) -> Response:
    def body(form: FormData) -> CloseRequest:
        return CloseRequest.model_validate(
            {"outcome": form.get("outcome"), "reason": _optional(form, "reason") or ""}
        )

    return await _steer(request, session, client, pool, keys, participant_id, body, "close")


async def _steer(
    request: Request,
    session: WebSession,
    client: Client,
    pool: Pool,
    keys: PersonKeys,
    participant_id: str,
    body: Callable[[FormData], SteeringBody],
    what: str,
) -> Response:
    """A steering form as the API's own steering request, from the session's caller."""

    async def ask(form: FormData) -> None:
        await steer(client, pool, participant_id, body(form), session.caller)

    return await _answer(request, session, client, pool, keys, participant_id, ask, what)

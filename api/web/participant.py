"""A participant's page: the state, the next steps as buttons opening their forms, open tasks,
the timeline and, for case managers, steering; and the form of one milestone (DESIGN §8.2).

The state comes from the workflow through the API's own read (`api.participants.current_state`),
which also answers 404 for another partner's participant.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from temporalio.client import Client

from api.cursors import PARTICIPANT_ID
from api.deps import ClientIfConnectedDep, PersonKeysDep, PoolDep
from api.errors import ApiError
from api.models import ParticipantPublic
from api.participants import current_state
from api.web.forms import COURSE_FIELD, FormField, local_input, payload_fields
from api.web.history import history
from api.web.pages import render, translator
from api.web.people import visible_people
from api.web.sessions import SessionDep, WebSession
from infra.database import Pool
from infra.person_keys import PersonKeys
from readmodel.seats import seats_left
from trajectory.catalogue import load_catalogue
from trajectory.milestones import UNIVERSAL, MilestoneType, engine_phases
from trajectory.phases import OPEN_PHASES, Outcome, Status
from trajectory.programmes import PARTNER_IDS, load_programme

router = APIRouter()

_PARTICIPANT = re.compile(rf"^{PARTICIPANT_ID}$")


def not_found() -> ApiError:
    return ApiError(404, "not_found", "no such participant")


def checked_id(participant_id: str) -> str:
    """The id as the API takes it; anything else is no participant (404)."""
    if not _PARTICIPANT.match(participant_id):
        raise not_found()
    return participant_id


async def state_for(
    client: Client | None, pool: Pool, participant_id: str, session: WebSession
) -> ParticipantPublic:
    """The participant's state as the API reads it; 404 for one the session may not see."""
    return await current_state(client, pool, checked_id(participant_id), session.caller)


def other_milestones(state: ParticipantPublic) -> list[MilestoneType]:
    """What else the partner's programme allows in this phase, beside the next steps."""
    if state.phase not in OPEN_PHASES:
        return []
    used = load_programme(state.partner_id).steps(state.phase).milestones | UNIVERSAL
    return [
        kind
        for kind in MilestoneType
        if kind in used and kind not in state.next_steps and state.phase in engine_phases(kind)
    ]


async def participant_page(
    request: Request,
    session: WebSession,
    client: Client | None,
    pool: Pool,
    keys: PersonKeys,
    participant_id: str,
    status_code: int = 200,
    refusal: str | None = None,
) -> Response:
    """The page of a participant the session may see; `refusal` is the engine's answer to what
    was just asked."""
    state = await state_for(client, pool, participant_id, session)
    people = await visible_people(pool, [participant_id], session, "web app: participant", keys)
    done = request.query_params.get("done", "")
    return render(
        request,
        "participant.html",
        session,
        status_code,
        state=state,
        person=people.get(participant_id),
        lines=await history(pool, participant_id, session, keys, translator(request)),
        other_milestones=other_milestones(state),
        done=done if done in DONE else "",
        refusal=refusal,
        partners=[partner for partner in PARTNER_IDS if partner != state.partner_id],
        outcomes=list(Outcome),
        may_pause=state.status in (Status.ACTIVE, Status.DORMANT),
        may_resume=state.status in (Status.PAUSED, Status.NEEDS_ATTENTION),
        is_open=state.status != Status.CLOSED,
    )


DONE = ("recorded", "task_done", "pause", "resume", "reassign", "close")
"""What a `?done=` after a form says was carried out."""


@router.get("/participants/{participant_id}")
async def show_participant(
    request: Request,
    participant_id: str,
    session: SessionDep,
    client: ClientIfConnectedDep,
    pool: PoolDep,
    keys: PersonKeysDep,
) -> Response:
    return await participant_page(request, session, client, pool, keys, participant_id)


@dataclass(frozen=True)
class CourseChoice:
    """A course of the catalogue, with the seats still free."""

    course_id: str
    title: str
    provider: str
    starts_on: date
    seats_left: int
    selection: bool
    """Candidates apply and the provider selects (the enrolment is an application)."""


async def course_choices(pool: Pool) -> list[CourseChoice]:
    """The catalogue's courses, the soonest first, each with its free seats."""
    async with pool.acquire() as con:
        left = await seats_left(con)
    return sorted(
        (
            CourseChoice(
                course.course_id,
                course.title,
                course.provider,
                course.starts_on,
                left.get(course.course_id, course.seats),
                course.selection,
            )
            for course in load_catalogue().courses
        ),
        key=lambda choice: (choice.starts_on, choice.title),
    )


async def milestone_form(
    request: Request,
    session: WebSession,
    state: ParticipantPublic,
    pool: Pool,
    milestone_type: MilestoneType,
    status_code: int = 200,
    sent: dict[str, Any] | None = None,
    refusal: str | None = None,
) -> Response:
    """The form of one milestone; `sent` holds what a refused form said, to send again."""
    fields: list[FormField] = payload_fields(milestone_type)
    wants_course = any(field.name == COURSE_FIELD for field in fields)
    return render(
        request,
        "milestone.html",
        session,
        status_code,
        state=state,
        milestone_type=milestone_type,
        fields=fields,
        courses=await course_choices(pool) if wants_course else [],
        sent=sent or {},
        milestone_id=(sent or {}).get("milestone_id") or f"web-{secrets.token_hex(8)}",
        occurred_at=(sent or {}).get("occurred_at") or local_input(datetime.now(UTC)),
        refusal=refusal,
    )


@router.get("/participants/{participant_id}/milestones/new")
async def new_milestone(
    request: Request,
    participant_id: str,
    session: SessionDep,
    client: ClientIfConnectedDep,
    pool: PoolDep,
) -> Response:
    """The form of the milestone `?type=` names."""
    state = await state_for(client, pool, participant_id, session)
    try:
        milestone_type = MilestoneType(request.query_params.get("type", ""))
    except ValueError:
        raise not_found() from None
    return await milestone_form(request, session, state, pool, milestone_type)

"""How a trajectory is steered and ended: pause, resume, attention, reassignment, closing.

Case managers steer; the engine holds a trajectory for them when it cannot go on by itself,
moves it on when a phase's required steps are done, and closes it.
"""

from datetime import datetime
from typing import Literal

from trajectory.admission import next_steps
from trajectory.follow_ups import asked_on_closing, check_ins, next_check
from trajectory.phases import Cause, Outcome, Phase, Status
from trajectory.programme import PartnerProgramme
from trajectory.records import PhaseTransition
from trajectory.state import TrajectoryState

FOLLOWING: dict[Phase, Phase] = {Phase.INTAKE: Phase.ASSESSMENT, Phase.ASSESSMENT: Phase.COACHING}
"""Phases left on their own once their required steps are done."""

SteeringAction = Literal["pause", "resume", "reassign", "close"]

STEERING_IDS_KEPT = 32
"""Steering requests a trajectory remembers by id: far more than a case manager sends between
two looks at it, and a few hundred bytes of state."""


def steering_refusal(
    state: TrajectoryState,
    action: SteeringAction,
    partner_id: str | None = None,
    request_id: str | None = None,
) -> str | None:
    """Why a case manager cannot `action` the trajectory now; None when they can."""
    if request_id is not None and request_id in state.steering_ids:
        return f"this {action} request was carried out already; a new one has a new id"
    status = state.status
    match action:
        case "pause" if status in (Status.PAUSED, Status.CLOSED, Status.NEEDS_ATTENTION):
            return f"the trajectory is {status.value}; it cannot be paused"
        case "resume" if status not in (Status.PAUSED, Status.NEEDS_ATTENTION):
            return f"the trajectory is {status.value}, not paused"
        case "reassign" if state.is_closed:
            return "the trajectory is closed"
        case "reassign" if partner_id == state.partner_id:
            return f"the participant is already with {partner_id}"
        case "close" if state.is_closed:
            return f"the trajectory is already closed ({state.outcome})"
    return None


def remember_steering(state: TrajectoryState, request_id: str | None) -> None:
    """Keep the id of a steering request carried out, dropping the oldest beyond the bound."""
    if request_id is not None:
        state.steering_ids = [*state.steering_ids, request_id][-STEERING_IDS_KEPT:]


def pause(state: TrajectoryState, reason: str | None, now: datetime) -> list[PhaseTransition]:
    """Stop every clock (illness, parental leave, detention, ...)."""
    state.status_before_pause, state.pause_reason, state.paused_at = state.status, reason, now
    return [state.move(state.phase, Status.PAUSED, Cause.PAUSED, now, reason=reason)]


def resume(state: TrajectoryState, reason: str | None, now: datetime) -> list[PhaseTransition]:
    """Restart the clocks where they stopped; after a hold, the engine tries its step again."""
    if state.needs_attention:
        return _attend(state, reason, now)
    assert state.paused_at is not None and state.status_before_pause is not None
    state.shift(now - state.paused_at)
    status = state.status_before_pause
    state.status_before_pause = state.paused_at = state.pause_reason = None
    return [state.move(state.phase, status, Cause.RESUMED, now, reason=reason)]


def hold(state: TrajectoryState, attention: str, now: datetime) -> list[PhaseTransition]:
    """Stop the clocks and wait for a case manager: the engine cannot go on by itself."""
    state.attention = attention
    if state.needs_attention:
        return []
    state.status_before_attention, state.attention_since = state.status, now
    return [
        state.move(
            state.phase, Status.NEEDS_ATTENTION, Cause.NEEDS_ATTENTION, now, detail=attention
        )
    ]


def _attend(state: TrajectoryState, reason: str | None, now: datetime) -> list[PhaseTransition]:
    """A case manager took over: the clocks go on where they stopped."""
    assert state.attention_since is not None and state.status_before_attention is not None
    status = state.status_before_attention
    if status not in (Status.PAUSED, Status.CLOSED):
        state.shift(now - state.attention_since)
    state.attention = state.status_before_attention = state.attention_since = None
    return [state.move(state.phase, status, Cause.ATTENDED, now, reason=reason)]


def reassign(
    state: TrajectoryState, programme: PartnerProgramme, reason: str | None, now: datetime
) -> list[PhaseTransition]:
    """Hand the participant to another partner; from now on that partner's steps apply."""
    detail = f"from {state.programme.name} to {programme.name}"
    state.programme = programme
    moved = state.move(
        state.phase, state.status, Cause.REASSIGNED, now, detail=detail, reason=reason
    )
    return [moved, *advance(state, now)]


def advance(state: TrajectoryState, now: datetime) -> list[PhaseTransition]:
    """Leave intake and assessment on their own once their required steps are done; an
    assessment the PES made before enrolment is not made again."""
    moved: list[PhaseTransition] = []
    while state.phase in FOLLOWING and state.eligibility == "eligible" and not state.is_closed:
        if state.phase == Phase.ASSESSMENT and state.assessment_imported:
            code = Cause.ASSESSMENT_IMPORTED
        elif not next_steps(state):
            code = Cause.REQUIRED_STEPS_DONE
        else:
            break
        moved.append(state.move(FOLLOWING[state.phase], state.status, code, now))
    return moved


def leaving_day(state: TrajectoryState, outcome: Outcome, now: datetime) -> datetime:
    """When a participant who closes now left: a drop-out on their last real contact, not on
    the administrative close weeks later; anyone else now."""
    return state.last_contact_at if outcome == Outcome.LOST_CONTACT else now


def close(
    state: TrajectoryState, outcome: Outcome, code: Cause, now: datetime, reason: str | None = None
) -> list[PhaseTransition]:
    """End the trajectory with `outcome`; whoever took part is asked for their results. Someone
    who had not left yet leaves now, with `outcome` as how they left."""
    state.outcome, state.closed_at, state.closed_in = outcome, now, state.phase
    state.nudge_level = 0
    state.attention = state.status_before_attention = state.attention_since = None
    state.status_before_pause = state.paused_at = state.pause_reason = None
    if state.exit_outcome is None:
        state.exit_outcome = outcome
        state.left_at = leaving_day(state, outcome, now)
        if schedule := asked_on_closing(state.programme, outcome):
            state.follow_ups = check_ins(schedule, state.left_at, state.day, now)
    return [state.move(Phase.CLOSED, Status.CLOSED, code, now, reason=reason)]


def close_when_followed_up(state: TrajectoryState, now: datetime) -> list[PhaseTransition]:
    """Once every check-in after leaving is answered or missed, the trajectory closes with the
    outcome fixed on leaving (the answers are kept apart, in the check-ins)."""
    if state.is_closed or next_check(state.follow_ups) is not None:
        return []
    assert state.exit_outcome is not None
    return close(state, state.exit_outcome, Cause.FOLLOW_UP_COMPLETE, now)


def end_follow_ups(state: TrajectoryState, now: datetime) -> list[PhaseTransition]:
    """The person asked to be erased: an open trajectory closes as withdrawn, and no check-in
    asks them anything more (each left is kept as unanswered)."""
    moved = []
    if not state.is_closed:
        moved = close(state, Outcome.WITHDRAWN, Cause.ERASURE_REQUESTED, now)
    state.revision += 1
    for check in state.follow_ups:
        if not check.settled:
            check.unanswered = True
    return moved

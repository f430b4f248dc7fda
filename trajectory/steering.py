"""How a trajectory is steered and ended: pause, resume, attention, reassignment, closing.

Case managers steer; the engine holds a trajectory for them when it cannot go on by itself,
moves it on when a phase's required steps are done, and closes it.
"""

from datetime import datetime
from typing import Literal

from trajectory.admission import next_steps
from trajectory.follow_ups import OUTCOME_OF_PLACEMENT, asked_on_closing, check_ins, next_check
from trajectory.phases import Cause, Outcome, Phase, Status
from trajectory.programme import PartnerProgramme
from trajectory.records import PhaseTransition
from trajectory.state import TrajectoryState

FOLLOWING: dict[Phase, Phase] = {Phase.INTAKE: Phase.ASSESSMENT, Phase.ASSESSMENT: Phase.COACHING}
"""Phases left on their own once their required steps are done."""

SteeringAction = Literal["pause", "resume", "reassign", "close"]


def steering_refusal(
    state: TrajectoryState, action: SteeringAction, partner_id: str | None = None
) -> str | None:
    """Why a case manager cannot `action` the trajectory now; None when they can."""
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
    """Leave intake and assessment on their own once their required steps are done."""
    moved: list[PhaseTransition] = []
    while (
        state.phase in FOLLOWING
        and state.eligibility == "eligible"
        and not state.is_closed
        and not next_steps(state)
    ):
        moved.append(
            state.move(FOLLOWING[state.phase], state.status, Cause.REQUIRED_STEPS_DONE, now)
        )
    return moved


def close(
    state: TrajectoryState, outcome: Outcome, code: Cause, now: datetime, reason: str | None = None
) -> list[PhaseTransition]:
    """End the trajectory with `outcome`; whoever took part is asked for their results."""
    state.outcome, state.closed_at, state.closed_in = outcome, now, state.phase
    state.nudge_level = 0
    state.attention = state.status_before_attention = state.attention_since = None
    state.status_before_pause = state.paused_at = state.pause_reason = None
    if not state.follow_ups and (schedule := asked_on_closing(state.programme, outcome)):
        state.left_at = state.left_at or now
        state.follow_ups = check_ins(schedule, now, state.day)
    return [state.move(Phase.CLOSED, Status.CLOSED, code, now, reason=reason)]


def close_when_followed_up(state: TrajectoryState, now: datetime) -> list[PhaseTransition]:
    """Once every check-in after a placement is answered or missed, the trajectory closes."""
    if state.is_closed or next_check(state.follow_ups) is not None:
        return []
    assert state.placement is not None
    outcome = OUTCOME_OF_PLACEMENT[state.placement.kind]
    return close(state, outcome, Cause.FOLLOW_UP_COMPLETE, now)

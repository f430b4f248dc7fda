"""Whether a milestone is allowed now, and why not: decided once, before anything changes.

The workflow's Update validators ask here; a refusal leaves nothing in the history. The reason
is in a coach's words, and never holds a case manager's free text for a partner.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from trajectory.actors import Actor
from trajectory.follow_ups import answerable_check, next_check
from trajectory.milestones import (
    UNIVERSAL,
    Milestone,
    MilestoneType,
    PlacementStarted,
    TrainingEnrolled,
    TrainingSelected,
)
from trajectory.phases import Phase, Status
from trajectory.requests import RecordMilestone
from trajectory.state import TrajectoryState

FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far in the future `occurred_at` may lie (clock skew between systems)."""
PLACEMENT_START_TOLERANCE = timedelta(days=90)
"""How far ahead a placement may be reported to start."""
MILESTONES_PER_DAY = 50
"""Milestones one trajectory records in a programme day at most; more is refused until the
next day. A real day of coaching holds a handful; this stops a runaway integration."""
MILESTONES_AT_MOST = 2_000
"""Milestones one trajectory records in its life at most: each id and its fingerprint travel
in the state across continue-as-new, which must stay well under Temporal's payload limit."""

RefusalKind = Literal["refused", "reused", "not_found"]


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: `reused` a known milestone id with other content, `not_found`
    a partner that does not hold the participant, `refused` anything else."""

    kind: RefusalKind
    reason: str


def holder_refusal(state: TrajectoryState, actor: Actor | None) -> Refusal | None:
    """A partner acts only on participants it holds now, reassignments included."""
    if actor is not None and actor.role == "partner" and actor.partner_id != state.partner_id:
        return Refusal("not_found", f"no participant {state.participant_id}")
    return None


def in_flight_refusal(in_flight: dict[str, str], recorded: RecordMilestone) -> Refusal | None:
    """The same milestone id, being recorded now with other content, is a reuse too."""
    said = in_flight.get(recorded.milestone.milestone_id)
    if said is not None and said != recorded.fingerprint:
        return _reused(recorded)
    return None


def _reused(recorded: RecordMilestone) -> Refusal:
    reason = f"milestone_id {recorded.milestone.milestone_id} was recorded with other content"
    return Refusal("reused", reason)


def milestone_refusal(
    state: TrajectoryState, recorded: RecordMilestone, now: datetime
) -> Refusal | None:
    """Why `recorded` cannot be recorded now; None when it can, or when it repeats one
    recorded with the same content (it then changes nothing)."""
    if refusal := holder_refusal(state, recorded.actor):
        return refusal
    milestone = recorded.milestone
    said = state.milestones.get(milestone.milestone_id)
    if said is not None:
        return None if said == recorded.fingerprint else _reused(recorded)
    partner_asks = recorded.actor is not None and recorded.actor.role == "partner"
    reason = _refusal(state, milestone, now, partner_asks)
    return Refusal("refused", reason) if reason is not None else None


def _refusal(
    state: TrajectoryState, milestone: Milestone, now: datetime, partner_asks: bool
) -> str | None:
    kind = milestone.type.value
    asked = milestone.type == MilestoneType.FOLLOW_UP_CONTACT and state.awaiting_results
    if state.is_closed and not asked:
        return f"the trajectory is closed ({state.outcome}); nothing more can be recorded"
    if milestone.occurred_at > now + FUTURE_TOLERANCE:
        return "occurred_at lies in the future"
    if milestone.occurred_at.date() < state.enrolled_at.date():
        return "occurred_at lies before the participant's enrolment"
    if len(state.milestones) >= MILESTONES_AT_MOST:
        return f"the trajectory holds {MILESTONES_AT_MOST} milestones, the most it keeps"
    if state.today == state.programme_day(now) and state.milestones_today >= MILESTONES_PER_DAY:
        return f"{MILESTONES_PER_DAY} milestones were recorded today, the most in a day"
    if state.status == Status.NEEDS_ATTENTION:
        return f"the trajectory needs a case manager's attention ({state.attention}); try later"
    if state.status == Status.PAUSED and milestone.type not in (
        MilestoneType.WITHDRAWN,
        MilestoneType.MOVED_AWAY,
    ):
        if partner_asks:
            return "the trajectory is paused; a case manager must resume it first"
        return (
            f"the trajectory is paused ({state.pause_reason or 'no reason given'}); resume it first"
        )
    if not asked and (reason := _out_of_place(state, milestone.type)):
        return reason
    before = () if asked else state.programme.earlier(milestone.type)
    if earlier := [step.value for step in before if step not in state.seen_types]:
        return f"{state.programme.name} records {kind} after {', '.join(earlier)}"
    return _inconsistency(state, milestone, now)


def _out_of_place(state: TrajectoryState, kind: MilestoneType) -> str | None:
    """Why the partner's programme does not take `kind` in the current phase."""
    programme = state.programme
    if kind in UNIVERSAL or kind in programme.steps(state.phase).milestones:
        return None
    used_in = [p.value for p, s in programme.phases.items() if kind in s.milestones]
    if not used_in:
        return f"{programme.name}'s programme does not use {kind.value}"
    where = ", ".join(used_in)
    phase = state.phase.value
    return f"{kind.value} is not allowed in {phase}; {programme.name} records it in {where}"


def _inconsistency(state: TrajectoryState, milestone: Milestone, now: datetime) -> str | None:
    """What the milestone contradicts in the trajectory (dates, a running placement, ...)."""
    details = milestone.payload
    match milestone.type:
        case (
            MilestoneType.TRAINING_ENROLLED
            | MilestoneType.TRAINING_SELECTED
            | MilestoneType.PLACEMENT_STARTED
        ) if state.phase == Phase.COACHING and (missing := missing_steps(state, milestone.type)):
            return (
                f"coaching is not finished: {state.programme.name} first needs {', '.join(missing)}"
            )
        case MilestoneType.TRAINING_ENROLLED if (
            isinstance(details, TrainingEnrolled)
            and state.seat is not None
            and state.seat.status in ("waiting", "applied")
            and state.seat.course_id == details.course_id
        ):
            if state.seat.status == "applied":
                return (
                    f"already applied to {details.course_id}; report training_selected once "
                    "its provider selects the participant"
                )
            return (
                f"already on the waiting list of {details.course_id} "
                f"(place {state.seat.position}); a freed seat will be offered"
            )
        case MilestoneType.TRAINING_SELECTED if isinstance(details, TrainingSelected) and (
            state.seat is None
            or state.seat.status != "applied"
            or state.seat.course_id != details.course_id
        ):
            return (
                f"no application to {details.course_id} is open: report training_enrolled for "
                "it first"
            )
        case MilestoneType.PLACEMENT_STARTED if state.placement is not None:
            return (
                f"a placement is already running since {state.placement.start_date}; "
                "report placement_ended first"
            )
        case MilestoneType.PLACEMENT_STARTED if isinstance(details, PlacementStarted) and (
            details.start_date > (now + PLACEMENT_START_TOLERANCE).date()
        ):
            return "start_date is more than 90 days ahead; report the placement when it is closer"
        case MilestoneType.TRAINING_COMPLETED | MilestoneType.TRAINING_DROPPED if (
            state.training is not None and milestone.occurred_at < state.training.enrolled_at
        ):
            return (
                "the training cannot end before it started "
                f"(enrolled {state.training.enrolled_at.date()})"
            )
        case MilestoneType.PLACEMENT_ENDED if state.placement is None:
            return "no placement is running; nothing can end"
        case MilestoneType.PLACEMENT_ENDED if (
            state.placement is not None
            and milestone.occurred_at.date() < state.placement.start_date
        ):
            return f"the placement cannot end before it started ({state.placement.start_date})"
        case MilestoneType.FOLLOW_UP_CONTACT if answerable_check(state.follow_ups, now) is None:
            upcoming = next_check(state.follow_ups)
            when = f"; the next one opens {upcoming.opens_at.date()}" if upcoming else ""
            return f"no follow-up check-in is open now{when}"
    return None


def next_steps(
    state: TrajectoryState, leaving_by: MilestoneType | None = None
) -> list[MilestoneType]:
    """What the programme still expects in the current phase, in its order (DESIGN 8.1); only
    what `leaving_by` needs to end the phase when it is named."""
    if state.is_closed or state.phase not in state.programme.phases:
        return []
    return state.programme.steps(state.phase).missing(state.seen_types, leaving_by)


def missing_steps(state: TrajectoryState, leaving_by: MilestoneType | None = None) -> list[str]:
    """`next_steps` as the words of a refusal; a selection leaves coaching like an enrolment."""
    if leaving_by == MilestoneType.TRAINING_SELECTED:
        leaving_by = MilestoneType.TRAINING_ENROLLED
    return [step.value for step in next_steps(state, leaving_by)]

"""What an allowed milestone changes, and what the intake check decides.

`record` applies a milestone that `admission` allowed; it checks nothing again.
"""

from dataclasses import dataclass, field
from datetime import datetime

from trajectory.follow_ups import Placement, answerable_check
from trajectory.milestones import (
    DigitalAssessed,
    FollowUpContact,
    LanguageAssessed,
    LastMilestone,
    MilestoneType,
    Payload,
    PlacementStarted,
    TrainingCompleted,
    TrainingEnrolled,
    TrainingSelected,
)
from trajectory.offers import Offer, offer_in, training_seat
from trajectory.phases import Cause, Outcome, Phase
from trajectory.records import EligibilityDecision, PhaseTransition, SeatDecision
from trajectory.requests import RecordMilestone
from trajectory.seat_rules import replaced_claim
from trajectory.seats import FreedSeat, SeatClaim, Training
from trajectory.silence import contact
from trajectory.state import TrajectoryState
from trajectory.steering import advance, close, close_when_followed_up


@dataclass(frozen=True)
class Recorded:
    """What recording a milestone changed, and the seats it gives up."""

    transitions: list[PhaseTransition] = field(default_factory=list)
    freed: list[FreedSeat] = field(default_factory=list)


def record(
    state: TrajectoryState, recorded: RecordMilestone, now: datetime, seat: SeatDecision | None
) -> Recorded:
    """Apply an allowed, new milestone; `seat` is the seat decision for `training_enrolled`."""
    milestone = recorded.milestone
    state.milestones[milestone.milestone_id] = recorded.fingerprint
    today = state.programme_day(now)
    if state.today != today:
        state.today, state.milestones_today = today, 0
    state.milestones_today += 1
    if milestone.type not in state.seen_types:
        state.seen_types.append(milestone.type)
    state.last_milestone = LastMilestone(type=milestone.type, occurred_at=milestone.occurred_at)
    state.revision += 1
    changes: list[PhaseTransition] = []
    if milestone.is_contact:
        changes += contact(state, milestone.occurred_at, now)
    followed = _follow(state, milestone.type, milestone.payload, milestone.occurred_at, now, seat)
    return Recorded(changes + followed.transitions + advance(state, now), followed.freed)


def _follow(
    state: TrajectoryState,
    kind: MilestoneType,
    details: Payload,
    occurred_at: datetime,
    now: datetime,
    seat: SeatDecision | None,
) -> Recorded:
    """The milestone's own consequence: a phase change, a seat, an answer, an ending."""
    match kind:
        case MilestoneType.WITHDRAWN:
            return Recorded(close(state, Outcome.WITHDRAWN, Cause.WITHDRAWN, now))
        case MilestoneType.MOVED_AWAY:
            return Recorded(close(state, Outcome.MOVED_AWAY, Cause.MOVED_AWAY, now))
        case MilestoneType.JOB_OFFER_RECEIVED:
            _offered(state, offer_in(details, occurred_at))
        case MilestoneType.LANGUAGE_ASSESSED if isinstance(details, LanguageAssessed):
            state.assessment.languages[details.language] = details.level
        case MilestoneType.DIGITAL_ASSESSED if isinstance(details, DigitalAssessed):
            state.assessment.digital_level = details.level
        case MilestoneType.TRAINING_ENROLLED | MilestoneType.TRAINING_SELECTED if isinstance(
            details, TrainingEnrolled | TrainingSelected
        ):
            return _enrolled(state, details.course_id, occurred_at, now, seat)
        case MilestoneType.TRAINING_COMPLETED if state.training is not None:
            certificate = details.certificate if isinstance(details, TrainingCompleted) else None
            gained = certificate.kind if certificate else None
            freed = FreedSeat(state.training.course_id, "completed", gained)
            moved = state.move(Phase.PLACEMENT, state.status, Cause.TRAINING_COMPLETED, now)
            return Recorded([moved], [freed])
        case MilestoneType.TRAINING_DROPPED if state.training is not None:
            freed = FreedSeat(state.training.course_id, "dropped")
            moved = state.move(Phase.COACHING, state.status, Cause.TRAINING_DROPPED, now)
            return Recorded([moved], [freed])
        case MilestoneType.PLACEMENT_STARTED if isinstance(details, PlacementStarted):
            _offered(state, offer_in(details, occurred_at))
            starts = datetime.combine(details.start_date, now.timetz())
            state.placement = Placement(
                kind=details.kind,
                start_date=details.start_date,
                reported_at=occurred_at,
                settles_at=max(starts, now) + state.day * state.programme.placement_settling_days,
                employer=details.employer,
                contract=details.contract,
            )
            if state.phase != Phase.PLACEMENT:
                return Recorded(
                    [state.move(Phase.PLACEMENT, state.status, Cause.PLACEMENT_STARTED, now)]
                )
        case MilestoneType.PLACEMENT_ENDED:
            state.placement = None
            return Recorded([state.move(Phase.COACHING, state.status, Cause.PLACEMENT_ENDED, now)])
        case MilestoneType.FOLLOW_UP_CONTACT if isinstance(details, FollowUpContact):
            check = answerable_check(state.follow_ups, now)
            if check is not None:
                check.answered_at, check.answer = occurred_at, details
                return Recorded(close_when_followed_up(state, now))
    return Recorded()


def _enrolled(
    state: TrajectoryState,
    course_id: str,
    occurred_at: datetime,
    now: datetime,
    seat: SeatDecision | None,
) -> Recorded:
    """A seat taken, or a place on the waiting list; a claim on another course is given up."""
    freed = replaced_claim(state, course_id)
    if seat is not None and not seat.granted:
        status = "applied" if seat.applied else "waiting"
        state.seat = SeatClaim(course_id=course_id, status=status, position=seat.position)
        return Recorded([], freed)
    state.seat = None
    state.training = Training(course_id=course_id, enrolled_at=occurred_at)
    _offered(state, training_seat(occurred_at))
    return Recorded([state.move(Phase.TRAINING, state.status, Cause.TRAINING_ENROLLED, now)], freed)


def _offered(state: TrajectoryState, offer: Offer | None) -> None:
    """Keep the first offer (Youth Guarantee): of employment, continued education (a training
    seat too), an apprenticeship or a traineeship, accepted or not."""
    if state.first_offer is None or (offer is not None and offer.at < state.first_offer.at):
        state.first_offer = offer or state.first_offer


def decide_eligibility(
    state: TrajectoryState, decision: EligibilityDecision, now: datetime
) -> list[PhaseTransition]:
    """Record the intake eligibility check; the ineligible end at once.

    A check that answers after a case manager closed the trajectory is kept without replacing
    the case manager's outcome.
    """
    state.revision += 1
    state.eligibility = "eligible" if decision.eligible else "ineligible"
    state.ineligibility = decision.reasons
    if state.is_closed:
        return []
    if decision.eligible:
        return advance(state, now)
    return close(state, Outcome.INELIGIBLE, Cause.INELIGIBLE, now)

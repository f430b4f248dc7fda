"""A trajectory's state as the API, the read model and the Web UI show it."""

from datetime import datetime

from trajectory.admission import next_steps
from trajectory.records import TrajectorySnapshot
from trajectory.silence import Timer, next_timer
from trajectory.state import TrajectoryState
from trajectory.task_rules import open_tasks


def snapshot_of(
    state: TrajectoryState, now: datetime, timer: Timer | None = None
) -> TrajectorySnapshot:
    """The public state at `now`; `timer` is `next_timer(state, now)` when the caller has it."""
    timer = timer or next_timer(state, now)
    seat, training, offer = state.seat, state.training, state.first_offer
    return TrajectorySnapshot(
        participant_id=state.participant_id,
        partner_id=state.partner_id,
        phase=state.phase,
        status=state.status,
        nudge_level=state.nudge_level,
        milestone_count=len(state.milestones),
        last_milestone=state.last_milestone,
        last_contact_at=state.last_contact_at,
        outcome=state.outcome,
        next_deadline=timer.at if timer else None,
        enrolled_at=state.enrolled_at,
        closed_at=state.closed_at,
        first_offer_at=offer.at if offer else None,
        first_offer_kind=offer.kind if offer else None,
        first_offer_contract_type=offer.contract_type if offer else None,
        first_offer_contract_months=offer.contract_months if offer else None,
        left_at=state.left_at,
        exit_outcome=state.exit_outcome,
        placement_kind=state.placement.kind if state.placement else None,
        course_id=seat.course_id if seat else (training.course_id if training else None),
        waiting_position=seat.position if seat else None,
        seat_offered_until=seat.offered_until if seat else None,
        revision=state.revision,
        attention=state.attention,
        next_steps=next_steps(state),
        open_tasks=open_tasks(state),
    )

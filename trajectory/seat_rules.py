"""How a trajectory takes, swaps and hands on the seats it holds: the rules over the state
(`trajectory.seats` holds the claims themselves)."""

from trajectory.phases import Phase
from trajectory.records import SeatOffer
from trajectory.seats import FreedSeat, SeatClaim
from trajectory.state import TrajectoryState


def offer_seat(state: TrajectoryState, offer: SeatOffer) -> list[FreedSeat]:
    """A freed seat is offered; the coach accepts it by reporting `training_enrolled`.

    Returns the earlier claim the offer replaces, to hand on.
    """
    state.revision += 1
    replaced = replaced_claim(state, offer.course_id)
    state.seat = SeatClaim(
        course_id=offer.course_id, status="offered", offered_until=offer.offered_until
    )
    return replaced


def replaced_claim(state: TrajectoryState, course_id: str) -> list[FreedSeat]:
    """A claim on another course than `course_id`, which a new claim or seat replaces."""
    if state.seat is not None and state.seat.course_id != course_id:
        return [FreedSeat(state.seat.course_id, "expired")]
    return []


def held_at_close(state: TrajectoryState) -> list[FreedSeat]:
    """Seats a closed trajectory still holds or waits for: the course it was following, and a
    seat offered or a waiting-list place. Each must be handed on."""
    if not state.is_closed:
        return []
    held: list[FreedSeat] = []
    if state.closed_in == Phase.TRAINING and state.training is not None:
        held.append(FreedSeat(state.training.course_id, "dropped"))
    if state.seat is not None:
        held.append(FreedSeat(state.seat.course_id, "expired"))
    return held

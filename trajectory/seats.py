"""Training seats as a trajectory holds them: the course followed, and a claim on another.

Seats themselves are counted in PostgreSQL (`readmodel.seats`); here is what the trajectory
remembers, so that whatever it holds is handed on when it no longer needs it.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from trajectory.milestones import MilestoneType
from trajectory.phases import Phase
from trajectory.records import SeatOffer

if TYPE_CHECKING:
    from trajectory.state import TrajectoryState

ReleaseOutcome = Literal["completed", "dropped", "expired"]
ASKING_FOR_A_SEAT = frozenset({MilestoneType.TRAINING_ENROLLED, MilestoneType.TRAINING_SELECTED})
"""Milestones that ask PostgreSQL for a seat (or, on a course that selects, apply for one)."""


class Training(BaseModel):
    course_id: str
    enrolled_at: datetime


class SeatClaim(BaseModel):
    """A course the participant waits for, applied to (a course that selects its trainees), or
    whose freed seat is offered to them."""

    course_id: str
    status: Literal["waiting", "applied", "offered"]
    position: int | None = None
    offered_until: datetime | None = None


def offer_seat(state: "TrajectoryState", offer: SeatOffer) -> list["FreedSeat"]:
    """A freed seat is offered; the coach accepts it by reporting `training_enrolled`.

    Returns the earlier claim the offer replaces, to hand on.
    """
    state.revision += 1
    replaced = replaced_claim(state, offer.course_id)
    state.seat = SeatClaim(
        course_id=offer.course_id, status="offered", offered_until=offer.offered_until
    )
    return replaced


def replaced_claim(state: "TrajectoryState", course_id: str) -> list["FreedSeat"]:
    """A claim on another course than `course_id`, which a new claim or seat replaces."""
    if state.seat is not None and state.seat.course_id != course_id:
        return [FreedSeat(state.seat.course_id, "expired")]
    return []


def held_at_close(state: "TrajectoryState") -> list["FreedSeat"]:
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


@dataclass(frozen=True)
class FreedSeat:
    """A seat or waiting place the trajectory gives up, to hand on to the next in line."""

    course_id: str
    outcome: ReleaseOutcome
    qualification: str | None = None
    """The kind of the recognised certificate gained, if any."""

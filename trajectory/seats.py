"""Training seats as a trajectory holds them: the course followed, and a claim on another.

Seats themselves are counted in PostgreSQL (`readmodel.seats`); here is what the trajectory
remembers, so that whatever it holds is handed on when it no longer needs it.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from trajectory.milestones import MilestoneType

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


@dataclass(frozen=True)
class FreedSeat:
    """A seat or waiting place the trajectory gives up, to hand on to the next in line."""

    course_id: str
    outcome: ReleaseOutcome
    qualification: str | None = None
    """The kind of the recognised certificate gained, if any."""

"""What a trajectory tells the outside world: its public state and the facts it records."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from trajectory.milestones import LastMilestone, Milestone
from trajectory.phases import Outcome, Phase, Status
from trajectory.programme import Channel


class TrajectorySnapshot(BaseModel):
    """A participant's state as the API, the read model and the Web UI show it (DESIGN §8)."""

    participant_id: str
    partner_id: str
    phase: Phase
    status: Status
    nudge_level: int
    milestone_count: int
    last_milestone: LastMilestone | None
    last_contact_at: datetime
    outcome: Outcome | None
    next_deadline: datetime | None
    enrolled_at: datetime
    closed_at: datetime | None = None
    revision: int = Field(description="grows with every change; the read model keeps the highest")


class PhaseTransition(BaseModel):
    """A phase or status change and what caused it."""

    seq: int
    from_phase: Phase
    to_phase: Phase
    status: Status
    cause: str
    at: datetime


class ReadModelChanges(BaseModel):
    """Everything one step of a trajectory changed, written to PostgreSQL in one transaction."""

    snapshot: TrajectorySnapshot
    milestone: Milestone | None = None
    milestone_phase: Phase | None = None
    transitions: list[PhaseTransition] = Field(default_factory=list)
    contact_at: datetime | None = Field(
        default=None, description="a real contact happened: earlier nudges get their effect"
    )


class NudgeRequest(BaseModel):
    """A rung of the ladder to carry out: a message, a coach's call task or an outreach request."""

    participant_id: str
    partner_id: str
    seq: int = Field(description="the trajectory's nudge counter: the idempotency key")
    level: int
    action: Literal["message", "coach_call", "outreach"]
    channel: Channel
    language: str
    phase: Phase
    silent_since: datetime
    sent_at: datetime = Field(description="workflow time of the rung, the clock of nudge effect")


class EligibilityRequest(BaseModel):
    """Check a newly enrolled participant against the programme's rules."""

    participant_id: str
    enrolled_on: date


class Rejection(BaseModel):
    """Why someone is not eligible, in a code and in words."""

    code: str
    detail: str


class EligibilityDecision(BaseModel):
    eligible: bool
    reasons: list[Rejection] = Field(default_factory=list)

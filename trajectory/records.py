"""What a trajectory tells the outside world: its public state and the facts it records."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from trajectory.actors import Actor
from trajectory.catalogue import Assessment
from trajectory.milestones import LastMilestone, MilestoneType
from trajectory.phases import Cause, Outcome, Phase, Status
from trajectory.programme import Channel
from trajectory.programmes import load_programme
from trajectory.requests import RecordMilestone
from trajectory.tasks import OpenTask, TaskRecord


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
    first_offer_at: datetime | None = None
    first_offer_kind: str | None = Field(
        default=None, description="employment, education (a training seat too), ..."
    )
    first_offer_contract_type: str | None = None
    first_offer_contract_months: int | None = None
    left_at: datetime | None = Field(
        default=None, description="the leaving day; a drop-out's is their last contact"
    )
    exit_outcome: Outcome | None = Field(
        default=None,
        description="how the participant left, fixed on leaving: follow-up answers never change it",
    )
    placement_kind: str | None = None
    course_id: str | None = Field(default=None, description="the course followed or waited for")
    waiting_position: int | None = Field(default=None, description="place on its waiting list")
    seat_offered_until: datetime | None = None
    revision: int = Field(description="grows with every change; the read model keeps the highest")
    attention: str | None = Field(
        default=None, description="with status needs_attention: what a case manager must see to"
    )
    next_steps: list[MilestoneType] = Field(
        default_factory=list,
        description="milestones the programme still expects in this phase, in its order",
    )
    open_tasks: list[OpenTask] = Field(
        default_factory=list, description="coach calls and outreach not yet done"
    )

    @classmethod
    def at_enrolment(
        cls, participant_id: str, partner_id: str, enrolled_at: datetime
    ) -> "TrajectorySnapshot":
        """The state of a trajectory that has not reported yet: in intake, nothing recorded."""
        intake = load_programme(partner_id).steps(Phase.INTAKE)
        return cls(
            participant_id=participant_id,
            partner_id=partner_id,
            phase=Phase.INTAKE,
            status=Status.ACTIVE,
            nudge_level=0,
            milestone_count=0,
            last_milestone=None,
            last_contact_at=enrolled_at,
            outcome=None,
            next_deadline=None,
            enrolled_at=enrolled_at,
            revision=0,
            next_steps=list(intake.required),
        )


class PhaseTransition(BaseModel):
    """A phase or status change and what caused it."""

    seq: int
    from_phase: Phase
    to_phase: Phase
    status: Status
    code: Cause
    detail: str | None = Field(
        default=None, description="the engine's words, without personal data (what failed, ...)"
    )
    reason: str | None = Field(
        default=None, description="a case manager's words: sealed in the read model"
    )
    at: datetime


class SteeringRecord(BaseModel):
    """A case manager's pause, resume, reassignment or closure, and who did it."""

    action: Literal["pause", "resume", "reassign", "close"]
    seq: int = Field(description="the phase transition it caused, which holds the reason")
    actor: Actor | None
    at: datetime


class FollowUpRecord(BaseModel):
    """A follow-up check-in as the read model keeps it."""

    name: str
    due_at: datetime
    answered_at: datetime | None
    unanswered: bool
    in_employment: bool | None
    in_education_or_training: bool | None
    job_searching: bool | None
    qualification_gained: bool | None
    certificate_kind: str | None = None


class ReadModelChanges(BaseModel):
    """Everything one step of a trajectory changed, written to PostgreSQL in one transaction."""

    snapshot: TrajectorySnapshot
    milestone: RecordMilestone | None = None
    milestone_phase: Phase | None = None
    transitions: list[PhaseTransition] = Field(default_factory=list)
    contact_at: datetime | None = Field(
        default=None, description="a real contact happened: earlier nudges get their effect"
    )
    follow_ups: list[FollowUpRecord] = Field(default_factory=list)
    steering: SteeringRecord | None = Field(
        default=None, description="the case manager's action behind the first transition"
    )
    task_done: TaskRecord | None = None
    at: datetime | None = Field(
        default=None, description="workflow time of the step: the read model's lag counts from it"
    )


class ReadModelBatch(BaseModel):
    """Steps of one trajectory not yet in the read model, oldest first, written together."""

    participant_id: str
    steps: list[ReadModelChanges] = Field(min_length=1)


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
    task_id: str | None = Field(default=None, description="the coach task the rung opens")
    task_due_at: datetime | None = None


class RecommendationRequest(BaseModel):
    """Rank the catalogue for a participant who finished the assessment."""

    participant_id: str
    assessment: Assessment


class SeatRequest(BaseModel):
    """A participant asks for a seat in a course (or accepts the seat offered)."""

    participant_id: str
    course_id: str
    at: datetime
    milestone_id: str = Field(description="the `training_enrolled` asking: who holds what")
    selected: bool = Field(
        default=False, description="a `training_selected`: the provider chose this applicant"
    )


class SeatDecision(BaseModel):
    """A seat, or a place on the course's waiting list."""

    course_id: str
    granted: bool
    position: int | None = Field(default=None, description="place on the waiting list, from 1")
    applied: bool = Field(
        default=False, description="an application to a course that selects: no seat yet"
    )
    new_hold: bool = Field(
        default=True, description="this request made the hold; only then may its refusal free it"
    )


class SeatRelease(BaseModel):
    """A seat handed back: training completed or dropped, or an offer that lapsed."""

    participant_id: str
    course_id: str
    outcome: Literal["completed", "dropped", "expired"]
    qualification: str | None = Field(
        default=None, description="the kind of the recognised certificate gained, if any"
    )
    at: datetime
    offer_until: datetime = Field(description="deadline for the next in line to accept")


class SeatOffer(BaseModel):
    """A freed seat offered to the next participant on the waiting list, until a deadline."""

    participant_id: str
    course_id: str
    offered_until: datetime


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

"""What a trajectory knows, carried whole across continue-as-new; and how it moves.

The rules live beside it, one module per concern: `admission` (is a milestone allowed now),
`recording` (what an allowed milestone changes), `silence` (the ladder and every timer),
`steering` (pause, resume, attention, reassignment, closing), `seats`, `tasks` and
`follow_ups`. All of it is pure and deterministic: the workflow passes in the current time and
carries out the effects.
"""

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from trajectory.catalogue import Assessment, Recommendation
from trajectory.follow_ups import FollowUpCheck, Placement
from trajectory.milestones import LastMilestone, MilestoneType
from trajectory.offers import Offer
from trajectory.phases import Cause, Outcome, Phase, Status
from trajectory.programme import PartnerProgramme
from trajectory.programmes import shared
from trajectory.records import PhaseTransition, Rejection
from trajectory.seats import SeatClaim, Training
from trajectory.tasks import CoachTask

Eligibility = Literal["pending", "eligible", "ineligible"]


class TrajectoryState(BaseModel):
    """Everything a trajectory knows; see the module for where each rule lives."""

    participant_id: str
    programme: PartnerProgramme
    postcode: str
    language: str
    enrolled_at: datetime
    day_seconds: float = Field(default=86400.0, gt=0, description="length of a programme day")
    phase: Phase = Phase.INTAKE
    status: Status = Status.ACTIVE
    status_before_pause: Status | None = None
    pause_reason: str | None = None
    paused_at: datetime | None = None
    attention: str | None = Field(
        default=None, description="why the engine needs a case manager (no personal data)"
    )
    status_before_attention: Status | None = None
    attention_since: datetime | None = None
    eligibility: Eligibility = "pending"
    ineligibility: list[Rejection] = Field(default_factory=list)
    outcome: Outcome | None = None
    closed_at: datetime | None = None
    closed_in: Phase | None = Field(default=None, description="the phase the trajectory closed in")
    milestones: dict[str, str] = Field(
        default_factory=dict, description="each recorded milestone id and its fingerprint"
    )
    milestones_today: int = Field(default=0, description="recorded in the current programme day")
    steering_ids: list[str] = Field(
        default_factory=list, description="the latest steering requests carried out, oldest first"
    )
    today: int = Field(default=0, description="the programme day `milestones_today` counts")
    seen_types: list[MilestoneType] = Field(default_factory=list)
    last_milestone: LastMilestone | None = None
    last_contact_at: datetime
    nudge_level: int = 0
    nudge_seq: int = 0
    undelivered_at: datetime | None = Field(
        default=None, description="the current rung's message reached nobody: climb on from then"
    )
    dormant_since: datetime | None = None
    assessment: Assessment = Field(default_factory=Assessment)
    assessment_imported: bool = Field(
        default=False, description="the PES assessed the person: assessment is passed through"
    )
    recommendations: list[Recommendation] = Field(default_factory=list)
    training: Training | None = None
    seat: SeatClaim | None = None
    placement: Placement | None = None
    first_offer: Offer | None = None
    left_at: datetime | None = Field(
        default=None, description="the leaving day; a drop-out's is their last contact"
    )
    exit_outcome: Outcome | None = Field(
        default=None, description="how the participant left, fixed on leaving"
    )
    follow_ups: list[FollowUpCheck] = Field(default_factory=list)
    max_deadline: datetime
    transition_seq: int = 0
    revision: int = 0
    tasks: list[CoachTask] = Field(default_factory=list)

    @classmethod
    def enrol(
        cls,
        participant_id: str,
        programme: PartnerProgramme,
        postcode: str,
        language: str,
        enrolled_at: datetime,
        day_seconds: float,
        assessment: Assessment | None = None,
    ) -> "TrajectoryState":
        """A new trajectory in intake, eligibility still to be checked; with the PES's own
        `assessment` when it assessed the person before."""
        day = timedelta(seconds=day_seconds)
        return cls(
            participant_id=participant_id,
            programme=programme,
            postcode=postcode,
            language=language,
            enrolled_at=enrolled_at,
            day_seconds=day_seconds,
            last_contact_at=enrolled_at,
            max_deadline=enrolled_at + day * programme.max_duration_days,
            assessment=assessment or Assessment(),
            assessment_imported=assessment is not None,
        )

    @property
    def partner_id(self) -> str:
        return self.programme.partner_id

    @property
    def day(self) -> timedelta:
        return timedelta(seconds=self.day_seconds)

    @property
    def is_closed(self) -> bool:
        """Closed, also while a step after closing waits for a case manager."""
        held = self.status == Status.NEEDS_ATTENTION
        return self.status == Status.CLOSED or (
            held and self.status_before_attention == Status.CLOSED
        )

    @property
    def needs_attention(self) -> bool:
        """Whether the trajectory waits for a case manager before the engine goes on."""
        return self.status == Status.NEEDS_ATTENTION

    @property
    def clocks_stopped(self) -> bool:
        """Paused or waiting for a case manager: no deadline runs, no contact can happen."""
        return self.status in (Status.PAUSED, Status.NEEDS_ATTENTION)

    @property
    def awaiting_results(self) -> bool:
        """Closed, with a check-in after leaving still to answer or to miss."""
        return self.is_closed and any(not check.settled for check in self.follow_ups)

    def programme_day(self, now: datetime) -> int:
        """Which programme day `now` falls in, counted from enrolment."""
        return int((now - self.enrolled_at) / self.day)

    def move(
        self,
        phase: Phase,
        status: Status,
        code: Cause,
        now: datetime,
        *,
        detail: str | None = None,
        reason: str | None = None,
    ) -> PhaseTransition:
        """Go to `phase` with `status`; the change as the read model and the timeline keep it."""
        self.transition_seq += 1
        self.revision += 1
        change = PhaseTransition(
            seq=self.transition_seq,
            from_phase=self.phase,
            to_phase=phase,
            status=status,
            code=code,
            detail=detail,
            reason=reason,
            at=now,
        )
        self.phase, self.status = phase, status
        return change

    def shift(self, by: timedelta) -> None:
        """Move every running deadline by `by`: time the clocks stood still."""
        self.last_contact_at += by
        self.max_deadline += by
        if self.dormant_since is not None:
            self.dormant_since += by
        if self.undelivered_at is not None:
            self.undelivered_at += by
        if self.placement is not None:
            self.placement.settles_at += by
        for check in self.follow_ups:
            if not check.settled:
                check.opens_at += by
                check.due_at += by
        for task in self.tasks:
            if task.is_open:
                task.due_at += by


class TrajectoryInput(BaseModel):
    """How a trajectory starts; `state` is set only when it continues as new or is revived.

    Kept out of the workflow's module, which the sandbox executes again for every run.
    """

    participant_id: str = Field(description="opaque id, never personal data")
    programme: PartnerProgramme
    postcode: str
    language: str
    day_seconds: float = Field(default=86400.0, gt=0, description="length of a programme day")
    history_limit: int = Field(
        default=10_000, description="continue as new beyond this many events"
    )
    assessment: Assessment | None = Field(
        default=None, description="the PES's competence assessment, imported at enrolment"
    )
    state: TrajectoryState | None = None
    revived: bool = Field(
        default=False, description="a new run after one stopped from outside: show it at once"
    )

    def share_programme(self) -> None:
        """Hold the process's one copy of the programme, not one per trajectory (memory)."""
        self.programme = shared(self.programme)
        if self.state is not None:
            self.state.programme = shared(self.state.programme)

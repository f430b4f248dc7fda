"""Leaving and follow-up: the placement a participant leaves in, and the check-ins after it."""

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field

from trajectory.milestones import FollowUpContact, PlacementKind
from trajectory.phases import Outcome
from trajectory.programme import FollowUpCheckpoint, PartnerProgramme
from trajectory.records import FollowUpRecord

FOLLOW_UP_WINDOW_DAYS = 28
"""A follow-up check-in may be answered from four weeks before it is due."""
ON_LEAVING = FollowUpCheckpoint(name="on_leaving", due_days=FOLLOW_UP_WINDOW_DAYS)
"""The result on leaving (ESF+: within four weeks) when a programme does not schedule one."""

OUTCOME_OF_PLACEMENT: dict[PlacementKind, Outcome] = {
    "employment": Outcome.EMPLOYED,
    "self_employment": Outcome.SELF_EMPLOYED,
    "traineeship": Outcome.TRAINEESHIP,
    "apprenticeship": Outcome.APPRENTICESHIP,
    "education": Outcome.EDUCATION,
}


class Placement(BaseModel):
    kind: PlacementKind
    start_date: date
    reported_at: datetime
    settles_at: datetime = Field(
        description="when the participant leaves the programme for follow-up"
    )
    employer: str | None = None
    contract: str | None = None


class FollowUpCheck(BaseModel):
    name: str
    opens_at: datetime
    due_at: datetime
    answered_at: datetime | None = None
    answer: FollowUpContact | None = None
    unanswered: bool = False

    @property
    def settled(self) -> bool:
        return self.answered_at is not None or self.unanswered

    def record(self) -> FollowUpRecord:
        answer = self.answer
        return FollowUpRecord(
            name=self.name,
            due_at=self.due_at,
            answered_at=self.answered_at,
            unanswered=self.unanswered,
            in_employment=answer.in_employment if answer else None,
            in_education_or_training=answer.in_education_or_training if answer else None,
            job_searching=answer.job_searching if answer else None,
            qualification_gained=answer.qualification_gained if answer else None,
        )


def check_ins(
    schedule: Iterable[FollowUpCheckpoint], left_at: datetime, day: timedelta
) -> list[FollowUpCheck]:
    """The check-ins after leaving at `left_at`, each open from four weeks before it is due."""
    window = day * FOLLOW_UP_WINDOW_DAYS
    return [
        FollowUpCheck(
            name=c.name,
            opens_at=max(left_at, left_at + day * c.due_days - window),
            due_at=left_at + day * c.due_days,
        )
        for c in schedule
    ]


def asked_on_closing(
    programme: PartnerProgramme, outcome: Outcome
) -> tuple[FollowUpCheckpoint, ...]:
    """What a close asks (ESF+): a close into a job, training or education gets the programme's
    whole schedule; any other leaver the result on leaving; someone ineligible, nothing."""
    if outcome == Outcome.INELIGIBLE:
        return ()
    if outcome in OUTCOME_OF_PLACEMENT.values():
        return programme.follow_up
    return tuple(c for c in programme.follow_up if c.name == "on_leaving") or (ON_LEAVING,)


def open_check(checks: Sequence[FollowUpCheck], now: datetime) -> FollowUpCheck | None:
    """The check-in that can be answered now, if any."""
    return next((c for c in checks if not c.settled and c.opens_at <= now), None)


def next_check(checks: Sequence[FollowUpCheck]) -> FollowUpCheck | None:
    """The first check-in not yet answered or missed."""
    return next((c for c in checks if not c.settled), None)

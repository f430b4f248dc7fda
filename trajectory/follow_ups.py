"""Leaving and follow-up: the placement a participant leaves in, how they left, and the check-ins
after it (ESF+: the result on leaving and six months after; Youth Guarantee: 12 and 18 months).
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field

from trajectory.milestones import FollowUpContact, PlacementKind
from trajectory.phases import Outcome
from trajectory.programme import CheckpointName, FollowUpCheckpoint, PartnerProgramme
from trajectory.records import FollowUpRecord

ANSWER_WINDOW_DAYS = 28
"""A check-in may be answered for four weeks from the day its situation is taken."""
ON_LEAVING = FollowUpCheckpoint(name="on_leaving", as_of_days=0)
SIX_MONTHS = FollowUpCheckpoint(name="6_months", as_of_days=182)
ASKED_EVERY_LEAVER: tuple[CheckpointName, ...] = ("on_leaving", "6_months")
"""ESF+ asks every leaver for the result on leaving and six months after, whatever the outcome;
the Youth Guarantee's 12 and 18 months follow those who left into a job, training or study."""

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
    opens_at: datetime = Field(description="the day the situation is taken; answers from then")
    due_at: datetime = Field(description="the end of the four weeks to answer")
    answered_at: datetime | None = None
    answer: FollowUpContact | None = None
    unanswered: bool = False

    @property
    def settled(self) -> bool:
        return self.answered_at is not None or self.unanswered

    def record(self) -> FollowUpRecord:
        answer = self.answer
        certificate = answer.certificate if answer else None
        return FollowUpRecord(
            name=self.name,
            due_at=self.due_at,
            answered_at=self.answered_at,
            unanswered=self.unanswered,
            in_employment=answer.in_employment if answer else None,
            in_education_or_training=answer.in_education_or_training if answer else None,
            job_searching=answer.job_searching if answer else None,
            qualification_gained=certificate is not None if answer else None,
            certificate_kind=certificate.kind if certificate else None,
        )


def check_ins(
    schedule: Iterable[FollowUpCheckpoint], left_at: datetime, day: timedelta, now: datetime
) -> list[FollowUpCheck]:
    """The check-ins after leaving on `left_at`, each answerable for four weeks from the day its
    situation is taken. One whose weeks passed before `now` (a drop-out's leaving day lies weeks
    back) is unanswered from the start: nobody can say now what the situation was then."""
    window = day * ANSWER_WINDOW_DAYS
    checks = []
    for checkpoint in schedule:
        opens = left_at + day * checkpoint.as_of_days
        checks.append(
            FollowUpCheck(
                name=checkpoint.name,
                opens_at=opens,
                due_at=opens + window,
                unanswered=opens + window <= now,
            )
        )
    return checks


def asked_on_closing(
    programme: PartnerProgramme, outcome: Outcome
) -> tuple[FollowUpCheckpoint, ...]:
    """What a close asks: a close into a job, training or education gets the programme's whole
    schedule; any other leaver the result on leaving and six months after; someone ineligible,
    nothing."""
    if outcome == Outcome.INELIGIBLE:
        return ()
    if outcome in OUTCOME_OF_PLACEMENT.values():
        return programme.follow_up
    asked = tuple(c for c in programme.follow_up if c.name in ASKED_EVERY_LEAVER)
    named = {c.name for c in asked}
    return tuple(
        sorted(
            (*asked, *(c for c in (ON_LEAVING, SIX_MONTHS) if c.name not in named)),
            key=lambda c: c.as_of_days,
        )
    )


def answerable_check(checks: Sequence[FollowUpCheck], now: datetime) -> FollowUpCheck | None:
    """The check-in an answer now goes to: the first one open and not yet settled, else one
    answered within its four weeks, which a later answer replaces (the last status counts)."""
    waiting = next((c for c in checks if not c.settled and c.opens_at <= now), None)
    if waiting is not None:
        return waiting
    return next(
        (c for c in reversed(checks) if c.answered_at is not None and c.opens_at <= now < c.due_at),
        None,
    )


def next_check(checks: Sequence[FollowUpCheck]) -> FollowUpCheck | None:
    """The first check-in not yet answered or missed."""
    return next((c for c in checks if not c.settled), None)

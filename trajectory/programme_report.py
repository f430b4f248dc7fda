"""What a programme report says: one table per figure, each row a count with its denominator.

`partner_id`, `level` and `channel` are null on the rows that count all of them together.
Participant figures follow the partner a participant is with now; nudges, the partner that sent
them. "Participants" are the people enrolled minus those found ineligible at intake.
"""

from datetime import date, datetime
from typing import Any, Literal, TypeAlias, get_args

from pydantic import BaseModel, ConfigDict, Field

from trajectory.phases import Outcome, Phase, Status

EVERY_PARTNER = "null on the row that counts every partner together"

Stage: TypeAlias = Literal[
    "enrolled", "assessed", "coached", "trained", "placed", "employed_at_6_months"
]
STAGES: tuple[Stage, ...] = get_args(Stage)

Table: TypeAlias = Literal[
    "funnel",
    "phases",
    "outcomes",
    "time_to_offer",
    "training",
    "nudge_effect",
    "esf_at_entry",
    "esf_results",
    "targets",
]
TABLES: tuple[Table, ...] = get_args(Table)


YOUTH_GUARANTEE_DAYS = 122
"""Four months: a first offer within this many days of registering (else enrolling) is timely."""
CONTACT_WINDOW_DAYS = 7
"""A nudge works when contact follows within this many days."""
SIX_MONTHS_DAYS = 182
"""Six months after leaving, as the 6-month follow-up check-in counts them."""
FOLLOW_UP_WINDOW_DAYS = 28
"""A result on leaving is the situation within four weeks of leaving."""

Gender: TypeAlias = Literal["woman", "man", "non_binary", "not_recorded"]
GENDERS: tuple[Gender, ...] = get_args(Gender)
"""The gender breakdown of every ESF+ indicator (Annex I of Regulation (EU) 2021/1057);
`not_recorded` counts participants without an entry profile, so the genders sum to the total."""


def share(count: int, denominator: int) -> float | None:
    """`count / denominator` to four decimals; None when there is nothing to divide by."""
    return round(count / denominator, 4) if denominator else None


class FunnelStage(BaseModel):
    """How many of those enrolled reached one stage of the way to a lasting job."""

    partner_id: str | None = Field(description=EVERY_PARTNER)
    stage: Stage
    participants: int
    enrolled: int
    share_of_enrolled: float | None


class PhaseCount(BaseModel):
    """Where participants stand now."""

    partner_id: str | None = Field(description=EVERY_PARTNER)
    phase: Phase
    status: Status
    participants: int


class OutcomeCount(BaseModel):
    """How closed trajectories ended."""

    partner_id: str | None = Field(description=EVERY_PARTNER)
    outcome: Outcome
    participants: int
    closed: int
    share_of_closed: float | None


class TimeToOffer(BaseModel):
    """The Youth Guarantee: a first offer within four months of registering with the PES."""

    partner_id: str | None = Field(description=EVERY_PARTNER)
    participants: int
    offered: int = Field(description="participants with a first offer")
    median_days_to_offer: float | None = Field(
        description="median days from registration (else enrolment) to the first offer"
    )
    offered_within_4_months: int = Field(
        description=f"first offer no more than {YOUTH_GUARANTEE_DAYS} days after the clock starts"
    )
    share_of_offered: float | None
    share_of_participants: float | None


class CourseCompletion(BaseModel):
    """Seat requests of one course by where they stand, and how many finished it."""

    course_id: str
    title: str
    provider: str
    seats: int
    requests: int
    waiting: int
    offered: int
    seated: int
    completed: int
    dropped: int
    expired: int
    qualifications: int = Field(description="requests that ended with a qualification")
    completion_share: float | None = Field(description="completed / (completed + dropped)")


class NudgeEffect(BaseModel):
    """Whether nudges bring participants back: contact within 7 days of a nudge that reached
    them (a coach's task, or a message delivered)."""

    partner_id: str | None = Field(description=EVERY_PARTNER)
    level: int | None = Field(description="rung of the nudge ladder; null: every rung")
    channel: str | None = Field(description="null: every channel")
    nudges: int = Field(description="tasks opened and messages delivered")
    failed: int = Field(description="messages that could not be delivered")
    judged: int = Field(description="of `nudges`, those sent at least 7 days before the report")
    contact_within_7_days: int = Field(description="judged nudges followed by contact in 7 days")
    share_with_contact: float | None = Field(description="contact_within_7_days / judged")
    median_days_to_contact: float | None = Field(
        description="median days from the nudge to the next contact, over nudges followed by one"
    )


class Indicator(BaseModel):
    """One ESF+ common participant indicator: a count, and the count it is a share of."""

    partner_id: str | None = Field(description=EVERY_PARTNER)
    gender: Gender | None = Field(description="null on the row that counts every gender together")
    indicator: str
    participants: int
    denominator: int
    base: str = Field(description="what the denominator counts")
    share: float | None


class TargetProgress(BaseModel):
    """Participants reached against the configured target (`trajectory/targets.json`)."""

    partner_id: str | None = Field(description="null on the programme's own target")
    target: int = Field(description="participants to reach by the programme's end")
    participants: int = Field(description="taking part, enrolled up to the period's last day")
    share_of_target: float | None
    expected_by_now: int = Field(
        description="the target at an even pace, up to the period's last day (or today)"
    )


_EXAMPLE: dict[str, Any] = {
    "generated_at": "2026-06-30T12:00:00Z",
    "period_from": "2026-01-01",
    "period_to": "2026-06-30",
    "funnel": [
        {
            "partner_id": "jes",
            "stage": "enrolled",
            "participants": 40,
            "enrolled": 40,
            "share_of_enrolled": 1.0,
        },
        {
            "partner_id": "jes",
            "stage": "placed",
            "participants": 14,
            "enrolled": 40,
            "share_of_enrolled": 0.35,
        },
    ],
    "phases": [{"partner_id": "jes", "phase": "coaching", "status": "active", "participants": 12}],
    "outcomes": [
        {
            "partner_id": None,
            "outcome": "employed",
            "participants": 9,
            "closed": 20,
            "share_of_closed": 0.45,
        }
    ],
    "time_to_offer": [
        {
            "partner_id": None,
            "participants": 38,
            "offered": 20,
            "median_days_to_offer": 84.5,
            "offered_within_4_months": 15,
            "share_of_offered": 0.75,
            "share_of_participants": 0.3947,
        }
    ],
    "training": [
        {
            "course_id": "bike-courier-2026",
            "title": "Bike courier",
            "provider": "Bruxelles Formation",
            "seats": 12,
            "requests": 45,
            "waiting": 33,
            "offered": 0,
            "seated": 8,
            "completed": 3,
            "dropped": 1,
            "expired": 0,
            "qualifications": 3,
            "completion_share": 0.75,
        }
    ],
    "nudge_effect": [
        {
            "partner_id": None,
            "level": 1,
            "channel": "sms",
            "nudges": 30,
            "failed": 2,
            "judged": 28,
            "contact_within_7_days": 12,
            "share_with_contact": 0.4286,
            "median_days_to_contact": 2.5,
        }
    ],
    "esf_at_entry": [
        {
            "partner_id": None,
            "gender": None,
            "indicator": "disability_declined",
            "participants": 3,
            "denominator": 36,
            "base": "entry_profiles",
            "share": 0.0833,
        }
    ],
    "esf_results": [
        {
            "partner_id": None,
            "gender": "woman",
            "indicator": "in_employment_on_leaving",
            "participants": 9,
            "denominator": 18,
            "base": "leavers",
            "share": 0.5,
        }
    ],
}


class ProgrammeReport(BaseModel):
    """The programme report, per partner and in total (DESIGN §5, §9)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    generated_at: datetime
    period_from: date | None = Field(default=None, description="first day counted; null: open")
    period_to: date | None = Field(default=None, description="last day counted; null: open")
    funnel: list[FunnelStage]
    phases: list[PhaseCount]
    outcomes: list[OutcomeCount]
    time_to_offer: list[TimeToOffer]
    training: list[CourseCompletion]
    nudge_effect: list[NudgeEffect]
    esf_at_entry: list[Indicator]
    esf_results: list[Indicator]
    targets: list[TargetProgress] = Field(default_factory=list)

    def table(self, name: Table) -> list[BaseModel]:
        """The rows of one table, by its name."""
        rows: list[BaseModel] = getattr(self, name)
        return rows


ROWS: dict[Table, type[BaseModel]] = {
    "funnel": FunnelStage,
    "phases": PhaseCount,
    "outcomes": OutcomeCount,
    "time_to_offer": TimeToOffer,
    "training": CourseCompletion,
    "nudge_effect": NudgeEffect,
    "esf_at_entry": Indicator,
    "esf_results": Indicator,
    "targets": TargetProgress,
}
"""The row model of each table, for its columns."""

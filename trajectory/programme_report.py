"""What a programme report says: one table per figure, each row a count with its denominator.

`partner_id`, `level` and `channel` are null on the rows that count all of them together.
Participant figures follow the partner that held a participant for the stretch a figure is
about; nudges, the partner that sent them. "Participants" are the people enrolled minus those
found ineligible at intake, each person once however often they were enrolled; ESF+
participants are those with a complete entry profile (the rest are counted apart, as
`excluded_incomplete`).
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
YOUTH_GUARANTEE_AGE = 30
"""The Youth Guarantee is for young people under 30; the programme admits 18 to 30."""
CONTACT_WINDOW_DAYS = 7
"""A nudge works when contact follows within this many days."""
SIX_MONTHS_DAYS = 182
"""Six months after leaving: the day the 6-month check-in takes the situation."""
ANSWER_WINDOW_DAYS = 28
"""A result on leaving is the situation within four weeks of leaving; a check-in may be
answered for four weeks from its day."""
JOB_AFTER_TRAINING_DAYS = 91
"""A job started within three months of completing a course counts as a job after training."""

Gender: TypeAlias = Literal["woman", "man", "non_binary"]
GENDERS: tuple[Gender, ...] = get_args(Gender)
"""The gender breakdown of every ESF+ indicator (Annex I of Regulation (EU) 2021/1057). Every
ESF+ participant has one: whoever has no entry profile is no ESF+ participant yet."""


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
    asked: int | None = Field(
        default=None,
        description="employed_at_6_months: enrolled whose 6-month check-in was due (else null)",
    )
    response_rate: float | None = Field(
        default=None, description="employed_at_6_months: answered / asked; the rest is unknown"
    )


class PhaseCount(BaseModel):
    """Where participants stand now."""

    partner_id: str | None = Field(description=EVERY_PARTNER)
    phase: Phase
    status: Status
    participants: int


class OutcomeCount(BaseModel):
    """How participants left: the outcome fixed on leaving, never changed by later answers."""

    partner_id: str | None = Field(description=EVERY_PARTNER)
    outcome: Outcome
    participants: int
    leavers: int
    share_of_leavers: float | None


class TimeToOffer(BaseModel):
    """The Youth Guarantee: a good-quality first offer within four months of registering with
    the PES (else of enrolling), for participants under 30."""

    partner_id: str | None = Field(description=EVERY_PARTNER)
    participants: int = Field(description="participants under 30 at entry")
    four_months_passed: int = Field(
        description=f"of those, whose {YOUTH_GUARANTEE_DAYS} days have passed: the denominator"
    )
    offered: int = Field(description="participants with a first offer, whenever it came")
    median_days_to_offer: float | None = Field(
        description="median days from registration (else enrolment) to the first offer"
    )
    offered_within_4_months: int = Field(
        description=f"of `four_months_passed`, a first offer within {YOUTH_GUARANTEE_DAYS} days"
    )
    without_offer_after_4_months: int = Field(
        description="of `four_months_passed`, no offer within the four months"
    )
    share_within_4_months: float | None = Field(
        description="offered_within_4_months / four_months_passed"
    )
    offers_employment: int = Field(description="first offers of employment")
    offers_education: int = Field(description="of continued education, a training seat too")
    offers_apprenticeship: int
    offers_traineeship: int
    permanent_job_offers: int = Field(description="job offers with a permanent contract")
    fixed_term_job_offers: int = Field(description="job offers with a fixed-term contract")
    median_fixed_term_months: float | None = Field(
        description="median length of the fixed-term contracts offered, in months"
    )


class CourseCompletion(BaseModel):
    """Seat requests of one course by where they stand, how many finished it, and how many were
    in a job after it."""

    course_id: str
    title: str
    provider: str
    seats: int
    selection: bool = Field(description="the provider selects its trainees among applicants")
    requests: int = Field(description="seat requests; on a course that selects, applications")
    waiting: int
    applied: int = Field(description="applications not (or not yet) selected")
    offered: int
    seated: int
    seats_taken: int = Field(description="requests that took a seat (selected, on a selection)")
    completed: int
    dropped: int
    expired: int
    qualifications: int = Field(description="requests that ended with a recognised certificate")
    completion_share: float | None = Field(description="completed / (completed + dropped)")
    in_job_after_training: int = Field(
        description=f"completed, then a job started within {JOB_AFTER_TRAINING_DAYS} days"
    )
    in_job_in_sector: int = Field(
        description="of those, the placement says the job is in the course's sector"
    )


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
    """One ESF+ common participant indicator (its code, or null for the report's own counts):
    a count, and the count it is a share of, for one period, partner and gender."""

    period_from: date | None = Field(description="first day counted; null: open")
    period_to: date | None = Field(description="last day counted; null: open")
    partner_id: str | None = Field(description=EVERY_PARTNER)
    gender: Gender | None = Field(description="null on the row that counts every gender together")
    code: str | None = Field(description="the Annex I code (EECO01, ..., EECR06); null: not one")
    indicator: str
    participants: int = Field(description="the indicator's count")
    denominator: int
    base: str = Field(description="what the denominator counts")
    share: float | None
    asked: int | None = Field(
        default=None,
        description="longer-term results: ESF+ leavers whose six-month answer was due",
    )
    unknown: int | None = Field(
        default=None, description="longer-term results: asked but not answered (not a no)"
    )
    response_rate: float | None = Field(
        default=None, description="longer-term results: answered / asked"
    )


class TargetProgress(BaseModel):
    """Participants reached against the configured target (`trajectory/targets.json`)."""

    partner_id: str | None = Field(description="null on the programme's own target")
    target: int = Field(description="participants to reach by the programme's end")
    placeholder: bool = Field(
        description="the target is a placeholder until the partner agreements fix it"
    )
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
            "asked": None,
            "response_rate": None,
        },
        {
            "partner_id": "jes",
            "stage": "employed_at_6_months",
            "participants": 6,
            "enrolled": 40,
            "share_of_enrolled": 0.15,
            "asked": 12,
            "response_rate": 0.75,
        },
    ],
    "phases": [{"partner_id": "jes", "phase": "coaching", "status": "active", "participants": 12}],
    "outcomes": [
        {
            "partner_id": None,
            "outcome": "employed",
            "participants": 9,
            "leavers": 20,
            "share_of_leavers": 0.45,
        }
    ],
    "time_to_offer": [
        {
            "partner_id": None,
            "participants": 38,
            "four_months_passed": 30,
            "offered": 20,
            "median_days_to_offer": 84.5,
            "offered_within_4_months": 15,
            "without_offer_after_4_months": 15,
            "share_within_4_months": 0.5,
            "offers_employment": 11,
            "offers_education": 6,
            "offers_apprenticeship": 1,
            "offers_traineeship": 2,
            "permanent_job_offers": 4,
            "fixed_term_job_offers": 5,
            "median_fixed_term_months": 6.0,
        }
    ],
    "training": [
        {
            "course_id": "bike-courier-2026",
            "title": "Bike courier",
            "provider": "Urbike and Logisticity.brussels",
            "seats": 12,
            "selection": True,
            "requests": 45,
            "waiting": 0,
            "applied": 33,
            "offered": 0,
            "seated": 0,
            "seats_taken": 12,
            "completed": 11,
            "dropped": 1,
            "expired": 0,
            "qualifications": 11,
            "completion_share": 0.9167,
            "in_job_after_training": 6,
            "in_job_in_sector": 5,
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
            "period_from": "2026-01-01",
            "period_to": "2026-06-30",
            "partner_id": None,
            "gender": "woman",
            "code": "EECO03",
            "indicator": "long_term_unemployed",
            "participants": 3,
            "denominator": 18,
            "base": "participants",
            "share": 0.1667,
            "asked": None,
            "unknown": None,
            "response_rate": None,
        }
    ],
    "esf_results": [
        {
            "period_from": "2026-01-01",
            "period_to": "2026-06-30",
            "partner_id": None,
            "gender": None,
            "code": "EECR05",
            "indicator": "in_employment_6_months_after_leaving",
            "participants": 9,
            "denominator": 14,
            "base": "answered_6_months_after_leaving",
            "share": 0.6429,
            "asked": 18,
            "unknown": 4,
            "response_rate": 0.7778,
        }
    ],
    "targets": [
        {
            "partner_id": None,
            "target": 3000,
            "placeholder": False,
            "participants": 1210,
            "share_of_target": 0.4033,
            "expected_by_now": 1124,
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

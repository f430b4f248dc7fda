"""What the API accepts and answers: request models (`...Create`, steering bodies) and `...Public`.

Requests are checked here as far as the input alone allows (national number, known partner,
typed milestone payload, text PostgreSQL can store); whether a milestone is allowed *now* is
the workflow's decision.
"""

import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Self

import asyncpg
from fastapi.openapi.models import Example
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from trajectory.enrolment import Enrolment, Person
from trajectory.milestones import (
    PAYLOADS,
    LastMilestone,
    Milestone,
    MilestoneType,
    NoDetails,
    Recorder,
)
from trajectory.niss import parse_niss
from trajectory.phases import Outcome, Phase, Status
from trajectory.programmes import UnknownPartner, load_programme
from trajectory.records import TrajectorySnapshot

_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def plain_text(value: str) -> str:
    """Refuse control characters and lone surrogates: PostgreSQL cannot store NUL or them."""
    for char in value:
        category = unicodedata.category(char)
        if (category == "Cc" and char not in _ALLOWED_CONTROLS) or category == "Cs":
            raise ValueError("contains a control character or an invalid code point")
    return value


def _plain_values(value: Any) -> Any:
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, Mapping):
        return {plain_text(str(k)): _plain_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_values(item) for item in value]
    return value


PlainText = Annotated[str, AfterValidator(plain_text)]


def known_partner(partner_id: str) -> str:
    """A partner with a packaged programme (partners are data, so no fixed list here)."""
    try:
        load_programme(partner_id)
    except UnknownPartner as error:
        raise ValueError(str(error)) from None
    return partner_id


# -- enrolment ------------------------------------------------------------------------------------

_PERSON_EXAMPLE: dict[str, Any] = {
    "given_name": "Yasmina",
    "family_name": "El Amrani",
    "birth_date": "2004-05-17",
    "national_number": "04051701709",
    "postcode": "1080",
    "phone": "+32470123456",
    "email": "yasmina@example.org",
    "language": "fr",
}


class PersonCreate(Person):
    """The person to enrol; the national number must pass its mod-97 check."""

    @field_validator("national_number")
    @classmethod
    def _valid_national_number(cls, value: str) -> str:
        parse_niss(value)
        return value

    @field_validator("given_name", "family_name")
    @classmethod
    def _plain_names(cls, value: str) -> str:
        return plain_text(value)


class ParticipantCreate(Enrolment):
    """Enrol one person with a partner, keyed by the PES's own `external_ref`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "external_ref": "PES-2026-000123",
                    "partner_id": "jes",
                    "person": _PERSON_EXAMPLE,
                    "status": {
                        "employed": False,
                        "in_education": False,
                        "in_training": False,
                        "other_measure": False,
                    },
                }
            ]
        }
    )

    person: PersonCreate

    @field_validator("partner_id")
    @classmethod
    def _known_partner(cls, value: str) -> str:
        return known_partner(value)


# -- state ----------------------------------------------------------------------------------------

_STATE_EXAMPLE: dict[str, Any] = {
    "participant_id": "p-3f2a9c0d1e4b5a6f7081",
    "partner_id": "jes",
    "phase": "coaching",
    "status": "active",
    "nudge_level": 0,
    "milestone_count": 4,
    "last_milestone": {"type": "coach_assigned", "occurred_at": "2026-03-02T10:15:00Z"},
    "outcome": None,
    "next_deadline": "2026-03-23T09:00:00Z",
    "last_contact_at": "2026-03-02T10:15:00Z",
    "enrolled_at": "2026-02-20T08:30:00Z",
    "closed_at": None,
}


class ParticipantPublic(BaseModel):
    """A participant's state (DESIGN §8): where the trajectory is and what happens next."""

    model_config = ConfigDict(json_schema_extra={"examples": [_STATE_EXAMPLE]})

    participant_id: str
    partner_id: str
    phase: Phase
    status: Status
    nudge_level: int
    milestone_count: int
    last_milestone: LastMilestone | None = Field(
        description="type and time of the latest milestone"
    )
    outcome: Outcome | None = Field(description="null while the trajectory is open")
    next_deadline: datetime | None = Field(
        description="when the next timer fires if nothing is reported (null when no clock runs)"
    )
    last_contact_at: datetime
    enrolled_at: datetime
    closed_at: datetime | None
    course_id: str | None = Field(
        default=None, description="the course followed, waited for or offered"
    )
    waiting_position: int | None = Field(
        default=None, description="place on the course's waiting list (1 is next)"
    )
    seat_offered_until: datetime | None = Field(
        default=None, description="a freed seat is offered until then: report training_enrolled"
    )

    @classmethod
    def from_snapshot(cls, snapshot: TrajectorySnapshot) -> Self:
        return cls.model_validate(snapshot.model_dump(exclude={"revision"}))

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Self:
        """From a `trajectories` row of the read model."""
        last = None
        if row["last_milestone_type"] is not None:
            last = LastMilestone(
                type=row["last_milestone_type"], occurred_at=row["last_milestone_at"]
            )
        return cls.model_validate({**dict(row), "last_milestone": last})


class ParticipantList(BaseModel):
    """One page of participants; pass `next_cursor` back as `cursor` for the next (null: done)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_STATE_EXAMPLE], "next_cursor": None}]}
    )

    items: list[ParticipantPublic]
    next_cursor: str | None


# -- milestones -----------------------------------------------------------------------------------


class MilestoneCreate(BaseModel):
    """A milestone reported by a partner or case manager; `milestone_id` is the idempotency key.

    `payload` depends on `type`: `language_assessed` {language, level A1-C2};
    `digital_assessed` {level 1-8}; `coach_assigned` {coach_ref}; `coaching_session_held`
    {mode: individual|group}; `training_enrolled` {course_id}; `training_completed`
    {qualification?}; `placement_started` {kind, start_date, employer?, contract?};
    `follow_up_contact` {in_employment}; most others take an empty object.
    """

    model_config = ConfigDict(extra="forbid")

    milestone_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$")
    type: MilestoneType
    occurred_at: AwareDatetime
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("payload")
    @classmethod
    def _plain_payload(cls, value: dict[str, Any]) -> dict[str, Any]:
        plained: dict[str, Any] = _plain_values(value)
        return plained

    def payload_errors(self) -> list[dict[str, Any]]:
        """What is wrong with `payload` for this `type`, located under `payload` (none: fine)."""
        try:
            PAYLOADS.get(self.type, NoDetails).model_validate(self.payload)
        except ValidationError as error:
            return [{**e, "loc": ("body", "payload", *e["loc"])} for e in error.errors()]
        return []

    def to_milestone(self, recorded_by: Recorder) -> Milestone:
        return Milestone(
            milestone_id=self.milestone_id,
            type=self.type,
            occurred_at=self.occurred_at,
            recorded_by=recorded_by,
            payload=self.payload,
        )


MILESTONE_EXAMPLES: dict[str, Example] = {
    "coach assigned": {
        "summary": "A coach is assigned (coaching)",
        "value": {
            "milestone_id": "jes-2026-0042-coach",
            "type": "coach_assigned",
            "occurred_at": "2026-03-02T10:15:00+01:00",
            "payload": {"coach_ref": "coach-7"},
        },
    },
    "language assessed": {
        "summary": "French assessed at B1 (assessment)",
        "value": {
            "milestone_id": "jes-2026-0042-lang-fr",
            "type": "language_assessed",
            "occurred_at": "2026-02-25T14:00:00+01:00",
            "payload": {"language": "fr", "level": "B1"},
        },
    },
    "placement started": {
        "summary": "An employment contract starts (placement)",
        "value": {
            "milestone_id": "jes-2026-0042-job",
            "type": "placement_started",
            "occurred_at": "2026-05-04T09:00:00+02:00",
            "payload": {
                "kind": "employment",
                "start_date": "2026-05-04",
                "employer": "Bpost",
                "contract": "CDI",
            },
        },
    },
    "contact": {
        "summary": "Any real contact with the participant",
        "value": {
            "milestone_id": "jes-2026-0042-call-3",
            "type": "participant_contact",
            "occurred_at": "2026-03-10T16:30:00+01:00",
            "payload": {},
        },
    },
}


# -- steering -------------------------------------------------------------------------------------


class Reason(BaseModel):
    """Why a case manager pauses or resumes a trajectory (optional)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "illness: hospital stay"}]}
    )

    reason: PlainText | None = Field(default=None, max_length=200)


class Reassignment(BaseModel):
    """Hand the participant to another partner."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"partner_id": "orientaeuro", "reason": "wants coaching in Spanish"}]
        },
    )

    partner_id: Annotated[str, AfterValidator(known_partner)] = Field(
        pattern=r"^[a-z][a-z0-9-]{1,31}$"
    )
    reason: PlainText | None = Field(default=None, max_length=200)


class Closure(BaseModel):
    """End the trajectory with an outcome and the case manager's reason."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "moved_away", "reason": "moved to Liège"}]},
    )

    outcome: Outcome
    reason: PlainText = Field(min_length=1, max_length=200)

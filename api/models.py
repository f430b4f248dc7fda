"""What the API answers (`...Public`) and the enrolment it accepts (`...Create`).

Milestones and steering bodies are the workflow's own input models (`trajectory.milestones`,
`trajectory.requests`), so the API and the workflow cannot disagree on them; whether a
milestone is allowed *now* is the workflow's decision.
"""

from typing import Any, Self

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field, field_validator

from trajectory.enrolment import Enrolment, Person
from trajectory.niss import parse_niss
from trajectory.programmes import UnknownPartner, load_programme
from trajectory.records import TrajectorySnapshot
from trajectory.requests import PartnerId
from trajectory.text import PlainText, visible_text


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

    given_name: PlainText = Field(min_length=1, max_length=100)
    family_name: PlainText = Field(min_length=1, max_length=100)

    @field_validator("national_number")
    @classmethod
    def _valid_national_number(cls, value: str) -> str:
        parse_niss(value)
        return value

    @field_validator("given_name", "family_name")
    @classmethod
    def _visible_names(cls, value: str) -> str:
        return visible_text(value)


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

    partner_id: PartnerId
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
    "course_id": None,
    "waiting_position": None,
    "seat_offered_until": None,
    "revision": 7,
}


class ParticipantPublic(TrajectorySnapshot):
    """A participant's state (DESIGN §8): where the trajectory is and what happens next.

    The workflow's snapshot as it is; the read model stores the same fields.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [_STATE_EXAMPLE]})

    @classmethod
    def from_snapshot(cls, snapshot: TrajectorySnapshot) -> Self:
        return cls.model_validate(snapshot.model_dump())


class EnrolmentPublic(ParticipantPublic):
    """The state after an enrolment, and what a repeated one said differently (ignored)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_STATE_EXAMPLE | {"ignored": []}]})

    ignored: list[str] = Field(
        default_factory=list,
        description="fields of this request that differ from the first enrolment under the "
        "same external_ref and were not applied (names only, e.g. `person.phone`); `[]` when "
        "enrolled now or sent again unchanged",
        examples=[["person.phone", "status.employed"]],
    )


class ParticipantList(BaseModel):
    """One page of participants; pass `next_cursor` back as `cursor` for the next (null: done)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_STATE_EXAMPLE], "next_cursor": None}]}
    )

    items: list[ParticipantPublic]
    next_cursor: str | None


# -- milestones -----------------------------------------------------------------------------------


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

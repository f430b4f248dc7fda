"""Who is enrolled: the person's details (personal data), declared situation, ESF+ profile and
the PES's own competence assessment."""

from calendar import monthrange
from datetime import date
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool, field_validator

from trajectory.catalogue import Assessment
from trajectory.milestones import CefrLevel, LanguageCode
from trajectory.text import IsoDate


class Person(BaseModel):
    """Personal data: kept in PostgreSQL only, never in workflow histories, ids or logs."""

    model_config = ConfigDict(extra="forbid")

    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: IsoDate
    national_number: str = Field(min_length=11, max_length=15, pattern=r"^[0-9 .\-]+$")
    postcode: str = Field(pattern=r"^\d{4}$")
    phone: str | None = Field(default=None, max_length=30, pattern=r"^\+?[0-9 ./\-]+$")
    email: EmailStr | None = None
    language: LanguageCode


class DeclaredStatus(BaseModel):
    """The NEET situation the person declares at enrolment."""

    model_config = ConfigDict(extra="forbid")

    employed: StrictBool
    in_education: StrictBool
    in_training: StrictBool
    other_measure: StrictBool


LabourStatus: TypeAlias = Literal["unemployed", "inactive"]
"""The labour-market status at entry of a NEET: someone employed is not eligible, and long-term
unemployment is derived from the PES registration day (`long_term_unemployed`)."""
EducationLevel: TypeAlias = Literal["isced_0_2", "isced_3_4", "isced_5_8"]
Gender: TypeAlias = Literal["woman", "man", "non_binary"]
SensitiveAnswer: TypeAlias = Literal["yes", "no", "declined"]
"""A sensitive question may be declined: the refusal is recorded, never guessed."""


class EntryProfile(BaseModel):
    """The situation at entry for the ESF+ common participant indicators (DESIGN §9).

    Every answer is required, the sensitive ones too (`declined` when the person would not
    say); when nothing is known the whole profile is left out instead, and a case manager
    completes it later. Gender, age (from the birth date), education and labour-market status
    make someone an ESF+ participant.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "labour_status": "unemployed",
                    "education_level": "isced_0_2",
                    "gender": "woman",
                    "disability": "no",
                    "third_country_national": "yes",
                    "foreign_background": "yes",
                    "minority": "declined",
                    "homeless": "no",
                }
            ]
        },
    )

    labour_status: LabourStatus = Field(
        description="unemployed or inactive; long-term unemployment is derived from "
        "pes_registered_on"
    )
    education_level: EducationLevel
    gender: Gender
    disability: SensitiveAnswer
    third_country_national: SensitiveAnswer
    foreign_background: SensitiveAnswer
    minority: SensitiveAnswer
    homeless: SensitiveAnswer

    @field_validator("labour_status", mode="before")
    @classmethod
    def _neet(cls, value: Any) -> Any:
        """Say why the statuses a NEET cannot have are refused, not just which are allowed."""
        if value == "employed":
            raise ValueError(
                "employed at entry contradicts the programme's NEET eligibility (young people "
                "not in employment, education or training): such a person cannot be enrolled"
            )
        if value == "long_term_unemployed":
            raise ValueError(
                "long-term unemployment is derived from pes_registered_on, not declared: send "
                "unemployed and the day the person registered with the PES"
            )
        return value


LONG_TERM_MONTHS_UNDER_25 = 6
LONG_TERM_MONTHS_FROM_25 = 12
"""Registered unemployed for more than this many months at entry is long-term (ESF+)."""


def _months_before(day: date, months: int) -> date:
    """The same day `months` earlier (the month's last day when it has fewer days)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def long_term_unemployed(
    labour_status: LabourStatus, age: int, registered_on: date | None, enrolled_on: date
) -> bool:
    """Whether an unemployed person has been so for long at entry: registered with the PES more
    than six months before (under 25) or twelve months (from 25). Unknown registration: no."""
    if labour_status != "unemployed" or registered_on is None:
        return False
    months = LONG_TERM_MONTHS_UNDER_25 if age < 25 else LONG_TERM_MONTHS_FROM_25
    return registered_on < _months_before(enrolled_on, months)


class PesAssessment(BaseModel):
    """The PES's own language and digital competence assessment of the person, when it made one
    before enrolment: imported, so that the partner does not assess again."""

    model_config = ConfigDict(extra="forbid")

    languages: dict[LanguageCode, CefrLevel] = Field(
        min_length=1, description="CEFR level per language"
    )
    digital_level: int = Field(ge=1, le=8, description="DigComp 2.2 proficiency level")
    assessed_on: IsoDate

    def assessment(self) -> Assessment:
        """As the trajectory keeps an assessment."""
        return Assessment(languages=dict(self.languages), digital_level=self.digital_level)


class Enrolment(BaseModel):
    """One person to enrol with a partner, keyed by the PES's own reference."""

    model_config = ConfigDict(extra="forbid")

    external_ref: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-/]+$")
    partner_id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,31}$")
    person: Person
    status: DeclaredStatus
    entry_profile: EntryProfile | None = Field(
        default=None, description="the ESF+ situation at entry; left out when not collected"
    )
    pes_registered_on: IsoDate | None = Field(
        default=None,
        description="registration with the PES, when known: the Youth Guarantee's four months "
        "count from it (else from enrolment), and long-term unemployment is derived from it",
    )
    pes_assessment: PesAssessment | None = Field(
        default=None,
        description="the PES's own competence assessment, when it assessed the person: the "
        "trajectory then passes through its assessment phase",
    )

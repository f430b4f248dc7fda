"""Who is enrolled: the person's details (personal data), declared situation and ESF+ profile."""

from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool

from trajectory.milestones import LanguageCode
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


LabourStatus: TypeAlias = Literal["unemployed", "long_term_unemployed", "inactive", "employed"]
EducationLevel: TypeAlias = Literal["isced_0_2", "isced_3_4", "isced_5_8"]
Gender: TypeAlias = Literal["woman", "man", "non_binary"]
SensitiveAnswer: TypeAlias = Literal["yes", "no", "declined"]
"""A sensitive question may be declined: the refusal is recorded, never guessed."""


class EntryProfile(BaseModel):
    """The situation at entry for the ESF+ common participant indicators (DESIGN §9).

    Every answer is required, the sensitive ones too (`declined` when the person would not
    say); when nothing is known the whole profile is left out instead.
    """

    model_config = ConfigDict(extra="forbid")

    labour_status: LabourStatus
    education_level: EducationLevel
    gender: Gender
    disability: SensitiveAnswer
    third_country_national: SensitiveAnswer
    foreign_background: SensitiveAnswer
    minority: SensitiveAnswer
    homeless: SensitiveAnswer


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
        "count from it (else from enrolment)",
    )

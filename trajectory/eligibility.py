"""Who may enter the programme (DESIGN §1, §9); every failing rule is reported, not just the first.

Rejection details are meant for case managers and end up in records: they never repeat the
person's number, birth date or address.
"""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from trajectory.daytime import BRUSSELS
from trajectory.niss import InvalidNiss, parse_niss
from trajectory.records import EligibilityDecision, Rejection

BRUSSELS_POSTCODES: frozenset[str] = frozenset(
    {
        "1000", "1020", "1030", "1040", "1050", "1060", "1070", "1080", "1081", "1082", "1083",
        "1090", "1120", "1130", "1140", "1150", "1160", "1170", "1180", "1190", "1200", "1210",
    }
)  # fmt: skip
"""Postcodes of the 19 communes of the Brussels-Capital Region."""

MIN_AGE = 18
MAX_AGE = 30
"""Ages on the enrolment date, both inclusive."""


class EligibilityFacts(BaseModel):
    """What is known about a person at enrolment: their file, their word and the PES registry."""

    model_config = ConfigDict(frozen=True)

    postcode: str
    birth_date: date
    national_number: str
    enrolled_on: date
    employed: bool
    in_education: bool
    in_training: bool
    other_measure_declared: bool
    in_other_measure_registry: bool


def enrolment_day(enrolled_at: datetime) -> date:
    """The calendar day of an enrolment in Brussels: at 00:30 there it is still yesterday in UTC."""
    return enrolled_at.astimezone(BRUSSELS).date()


def age_on(birth_date: date, day: date) -> int:
    """Completed years of age on `day`; someone born on 29 February ages on 1 March."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def check_eligibility(facts: EligibilityFacts) -> EligibilityDecision:
    """Apply every programme rule to `facts`; eligible only when none fails."""
    reasons: list[Rejection] = []

    def reject(code: str, detail: str) -> None:
        reasons.append(Rejection(code=code, detail=detail))

    if facts.postcode.strip() not in BRUSSELS_POSTCODES:
        reject(
            "postcode_outside_region",
            "The home postcode is not in one of the 19 communes of the Brussels-Capital Region.",
        )

    age = age_on(facts.birth_date, facts.enrolled_on)
    age_range = f"the programme is for ages {MIN_AGE} to {MAX_AGE}"
    if age < MIN_AGE:
        reject("too_young", f"Not yet {MIN_AGE} on the enrolment date; {age_range}.")
    elif age > MAX_AGE:
        reject("too_old", f"Already {MAX_AGE + 1} or older on the enrolment date; {age_range}.")

    if facts.employed:
        reject("employed", "Currently employed; the programme is for young people without a job.")
    if facts.in_education:
        reject("in_education", "Currently in education; the programme is for those out of school.")
    if facts.in_training:
        reject("in_training", "Currently following a training course.")

    sources = [
        source
        for source, present in (
            ("declared by the person", facts.other_measure_declared),
            ("found in the employment service's registry", facts.in_other_measure_registry),
        )
        if present
    ]
    if sources:
        reject(
            "other_support_measure",
            f"Already followed in another support measure of the employment service "
            f"({' and '.join(sources)}).",
        )

    try:
        niss = parse_niss(facts.national_number)
    except InvalidNiss as error:
        reject("invalid_national_number", f"The national register number is not valid: {error}.")
    else:
        differs = (
            niss.birth_date != facts.birth_date
            if niss.birth_date is not None
            else niss.birth_year != facts.birth_date.year
        )
        if differs:
            reject(
                "birth_date_mismatch",
                "The birth date given differs from the one in the national register number.",
            )

    return EligibilityDecision(eligible=not reasons, reasons=reasons)

"""Made-up people for scenarios: valid national numbers computed from the register's rule."""

import itertools
from datetime import date

from trajectory.enrolment import DeclaredStatus, Enrolment, Person

_refs = itertools.count(1)


def national_number(born: date, counter: int = 17) -> str:
    """A valid INSZ/NISS for someone born on `born` (the check covers a leading 2 from 2000)."""
    body = f"{born:%y%m%d}{counter:03d}"
    base = int(("2" if born.year >= 2000 else "") + body)
    return f"{body}{97 - base % 97:02d}"


EXAMPLE_COUNTER = 17
"""The counter of the API's example person (OpenAPI), whom the fuzz test enrols: never reused."""


def enrolment(
    partner_id: str,
    *,
    born: date = date(2004, 5, 17),
    postcode: str = "1080",
    language: str = "fr",
    number: str | None = None,
    employed: bool = False,
    in_education: bool = False,
    in_training: bool = False,
    other_measure: bool = False,
    phone: str | None = "+32470123456",
    email: str | None = "yasmina.{ref}@example.org",
) -> Enrolment:
    """An enrolment of a NEET youth, eligible unless a keyword says otherwise; `{ref}` in the
    e-mail address is the enrolment's number."""
    ref = next(_refs)
    return Enrolment(
        external_ref=f"PES-TEST-{ref:06d}",
        partner_id=partner_id,
        person=Person(
            given_name="Yasmina",
            family_name=f"Testperson{ref}",
            birth_date=born,
            national_number=number or national_number(born, EXAMPLE_COUNTER + 1 + ref % 980),
            postcode=postcode,
            phone=phone,
            email=email.format(ref=ref) if email else None,
            language=language,
        ),
        status=DeclaredStatus(
            employed=employed,
            in_education=in_education,
            in_training=in_training,
            other_measure=other_measure,
        ),
    )

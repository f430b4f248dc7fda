"""What the web app shows of a person, by role, each view recorded as a read with its actor.

A coach sees what it takes to reach the participant: the first name, phone and email. A case
manager also sees the family name. Nobody sees the national number or the birth date here.
"""

from dataclasses import dataclass

from api.web.sessions import WebSession
from infra.database import Pool
from infra.person_keys import PersonKeys
from readmodel.persons import read_people
from trajectory.enrolment import Person


@dataclass(frozen=True)
class VisiblePerson:
    """The personal data a page shows."""

    given_name: str
    family_name: str | None
    phone: str | None
    email: str | None
    language: str


def _visible(person: Person, session: WebSession) -> VisiblePerson:
    return VisiblePerson(
        given_name=person.given_name,
        family_name=person.family_name if session.is_case_manager else None,
        phone=person.phone,
        email=person.email,
        language=person.language,
    )


def reader(session: WebSession) -> str:
    """Who reads, as the audit trail names API callers (`role:key_id`), with the web's user."""
    caller = session.caller
    who = caller.key_id or "sign-in"
    if caller.partner_id is not None:
        return f"web:{caller.role}:{caller.partner_id}:{who}"
    return f"web:{caller.role}:{who}"


async def visible_people(
    pool: Pool,
    participant_ids: list[str],
    session: WebSession,
    purpose: str,
    keys: PersonKeys,
) -> dict[str, VisiblePerson]:
    """The people shown on a page, by participant id, each read recorded for `purpose`."""
    if not participant_ids:
        return {}
    async with pool.acquire() as con:
        people = await read_people(
            con,
            participant_ids,
            reader(session),
            purpose=purpose,
            actor=session.caller.actor,
            keys=keys,
        )
    return {participant_id: _visible(person, session) for participant_id, person in people.items()}

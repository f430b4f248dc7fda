"""Enrol a person: keep their personal data in PostgreSQL and start their trajectory.

Idempotent on the PES's `external_ref`: enrolling the same person twice starts nothing new,
also when both requests race. A person holds one open trajectory: the same national number
under another reference is refused while the first trajectory is open (`AlreadyEnrolled`);
once it closed, the new trajectory is linked to it and the person stays one participant.
What a repeated enrolment says differently is ignored, and `ignored_fields` names it.
"""

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from infra.contract import TASK_QUEUE, workflow_id
from infra.settings import get_settings
from readmodel.enrolment import add_participant, as_enrolled, claim_person
from readmodel.persons import read_person, store_person
from trajectory.actors import Actor
from trajectory.eligibility import age_on, enrolment_day
from trajectory.enrolment import Enrolment
from trajectory.programmes import load_programme
from trajectory.state import TrajectoryInput
from workflows.trajectory import ParticipantTrajectory


class AlreadyEnrolled(Exception):
    """The person has an open trajectory under another reference; nothing was recorded."""

    def __init__(self, participant_id: str) -> None:
        super().__init__(f"already enrolled as participant {participant_id}")
        self.participant_id = participant_id


@dataclass(frozen=True)
class Enrolled:
    participant_id: str
    created: bool
    handle: WorkflowHandle[ParticipantTrajectory, object]


async def enrol(
    client: Client,
    pool: asyncpg.Pool,
    enrolment: Enrolment,
    *,
    day_seconds: float = 86400.0,
    history_limit: int | None = None,
) -> Enrolled:
    """Record the person (once per `external_ref`) and make sure their trajectory runs.

    Raises `AlreadyEnrolled` when the person holds an open trajectory under another reference.
    """
    person = enrolment.person
    load_programme(enrolment.partner_id)
    age = age_on(person.birth_date, enrolment_day(datetime.now(UTC)))
    async with pool.acquire() as con, con.transaction():
        participant_id, created = await add_participant(con, enrolment, age)
        if created:
            holder = await claim_person(con, participant_id, person.national_number)
            if holder is not None:
                raise AlreadyEnrolled(holder)
            await store_person(con, participant_id, person, enrolment.status)
    with contextlib.suppress(WorkflowAlreadyStartedError):
        limit = history_limit or get_settings().history_limit
        await _start(client, participant_id, enrolment, day_seconds, limit)
    handle: WorkflowHandle[ParticipantTrajectory, object] = client.get_workflow_handle_for(
        ParticipantTrajectory.run, workflow_id(participant_id)
    )
    return Enrolled(participant_id=participant_id, created=created, handle=handle)


async def _start(
    client: Client,
    participant_id: str,
    enrolment: Enrolment,
    day_seconds: float,
    history_limit: int,
) -> None:
    """Start the trajectory unless it runs or ran already (a closed one is never restarted)."""
    programme = load_programme(enrolment.partner_id)
    person = enrolment.person
    await client.start_workflow(
        ParticipantTrajectory.run,
        TrajectoryInput(
            participant_id=participant_id,
            programme=programme,
            postcode=person.postcode,
            language=person.language,
            day_seconds=day_seconds,
            history_limit=history_limit,
            assessment=(
                enrolment.pes_assessment.assessment() if enrolment.pes_assessment else None
            ),
        ),
        id=workflow_id(participant_id),
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=f"{programme.name} trajectory",
        static_details=(
            f"**Partner** {programme.name} ({programme.partner_id})\n"
            f"**Programme** {programme.partner_id} v{programme.version}, "
            f"max {programme.max_duration_days} days"
        ),
    )


_SPELLINGS = {
    "national_number": lambda value: re.sub(r"[^0-9]", "", value),
    "phone": lambda value: re.sub(r"[^0-9+]", "", value),
    "email": str.lower,
}
"""How a field may be written differently and still say the same (`04.05.17-017.09`)."""


def _differences(sent: dict[str, Any], stored: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted names of the fields whose values differ; a group present on one side only
    (an entry profile) is named as a whole."""
    names: list[str] = []
    for name, value in sent.items():
        kept = stored.get(name)
        if isinstance(value, dict) and isinstance(kept, dict):
            names += _differences(value, kept, f"{prefix}{name}.")
            continue
        spelling = _SPELLINGS.get(name)
        if spelling is not None and isinstance(value, str) and isinstance(kept, str):
            value, kept = spelling(value), spelling(kept)
        if value != kept:
            names.append(prefix + name)
    return names


async def ignored_fields(
    pool: asyncpg.Pool, participant_id: str, enrolment: Enrolment, actor: Actor
) -> list[str]:
    """The fields of a repeated enrolment that differ from what the first one recorded, by name
    only (the values are personal data); the sealed person is read, and the read audited."""
    async with pool.acquire() as con, con.transaction():
        stored = await as_enrolled(con, participant_id)
        if stored is None:
            return []
        person = await read_person(
            con,
            participant_id,
            f"{actor.role}:{actor.key_id}",
            purpose="compare a repeated enrolment",
            actor=actor,
        )
    sent = enrolment.model_dump(exclude={"external_ref"})
    if person is None:  # erased: nothing left to compare the person with
        sent.pop("person")
    else:
        stored["person"] = person.model_dump()
    return sorted(_differences(sent, stored))

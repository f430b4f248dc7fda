"""Enrol a person: keep their personal data in PostgreSQL and start their trajectory.

Idempotent on the PES's `external_ref`: enrolling the same person twice starts nothing new,
also when both requests race.
"""

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from infra.contract import TASK_QUEUE, workflow_id
from infra.database import Connection
from infra.persons import store_person
from trajectory.eligibility import age_on
from trajectory.enrolment import Enrolment, EntryProfile
from trajectory.programmes import load_programme
from workflows.trajectory import ParticipantTrajectory, TrajectoryInput

_INSERT_ENTRY_PROFILE = """
INSERT INTO entry_profiles (participant_id, age_at_entry, labour_status, education_level, gender,
    disability, third_country_national, foreign_background, minority, homeless)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (participant_id) DO NOTHING
"""


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
    history_limit: int = 10_000,
) -> Enrolled:
    """Record the person (once per `external_ref`) and make sure their trajectory runs."""
    person = enrolment.person
    load_programme(enrolment.partner_id)
    async with pool.acquire() as con, con.transaction():
        row = await con.fetchrow(
            """
            INSERT INTO participants
                (participant_id, external_ref, partner_id, postcode, language, enrolled_at)
            VALUES ($1, $2, $3, $4, $5, now())
            ON CONFLICT (external_ref) DO NOTHING
            RETURNING participant_id
            """,
            f"p-{uuid.uuid4().hex[:20]}",
            enrolment.external_ref,
            enrolment.partner_id,
            person.postcode,
            person.language,
        )
        created = row is not None
        if row is None:
            row = await con.fetchrow(
                "SELECT participant_id FROM participants WHERE external_ref = $1",
                enrolment.external_ref,
            )
            assert row is not None
        else:
            await store_person(con, row["participant_id"], person, enrolment.status)
            if enrolment.entry_profile is not None:
                age = age_on(person.birth_date, datetime.now(UTC).date())
                await _store_entry_profile(con, row["participant_id"], age, enrolment.entry_profile)
    participant_id: str = row["participant_id"]
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await _start(client, participant_id, enrolment, day_seconds, history_limit)
    handle = client.get_workflow_handle_for(ParticipantTrajectory.run, workflow_id(participant_id))
    return Enrolled(participant_id=participant_id, created=created, handle=handle)


async def _store_entry_profile(
    con: Connection, participant_id: str, age: int, profile: EntryProfile
) -> None:
    """Keep the ESF+ situation at entry, with the age on the enrolment date."""
    await con.execute(
        _INSERT_ENTRY_PROFILE,
        participant_id,
        age,
        profile.labour_status,
        profile.education_level,
        profile.gender,
        profile.disability,
        profile.third_country_national,
        profile.foreign_background,
        profile.minority,
        profile.homeless,
    )


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

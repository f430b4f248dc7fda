"""Activities of a participant trajectory: intake facts, programmes, the read model and nudges.

Every write is idempotent (`ON CONFLICT DO NOTHING`, revision-guarded upserts), so a retried
activity never records twice. Logs carry ids and codes only, never personal data.
"""

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context import bound_to_workflow
from activities.notifications import Notifier
from infra.contract import workflow_id
from infra.database import Connection, Pool
from infra.persons import read_person
from trajectory import eligibility, programmes
from trajectory.messages import nudge_message
from trajectory.programme import PartnerProgramme
from trajectory.records import (
    EligibilityDecision,
    EligibilityRequest,
    NudgeRequest,
    ReadModelChanges,
)

log = structlog.stdlib.get_logger(__name__)

_DECLARED_STATUS = """
SELECT status_employed, status_in_education, status_in_training, status_other_measure
FROM persons WHERE participant_id = $1
"""

_IN_OTHER_MEASURE = """
SELECT EXISTS (
    SELECT 1 FROM other_measures
    WHERE national_number = regexp_replace($1, '[^0-9]', '', 'g')
      AND (ended_on IS NULL OR ended_on >= $2)
)
"""

_RECORD_ELIGIBILITY = """
INSERT INTO eligibility_checks (participant_id, eligible, reasons) VALUES ($1, $2, $3)
ON CONFLICT (participant_id) DO UPDATE
SET eligible = EXCLUDED.eligible, reasons = EXCLUDED.reasons, checked_at = now()
"""

_INSERT_MILESTONE = """
INSERT INTO milestones (
    participant_id, milestone_id, type, occurred_at, recorded_by, payload, phase
)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
"""

_INSERT_TRANSITION = """
INSERT INTO phase_transitions (participant_id, seq, from_phase, to_phase, status, cause, at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
"""

_MARK_CONTACT = """
UPDATE nudges SET contact_at = $2
WHERE participant_id = $1 AND contact_at IS NULL AND sent_at <= $2
"""

_UPSERT_SNAPSHOT = """
INSERT INTO trajectories (
    participant_id, workflow_id, partner_id, phase, status, nudge_level, milestone_count,
    last_milestone_type, last_milestone_at, last_contact_at, outcome, next_deadline,
    enrolled_at, closed_at, revision, first_offer_at, left_at, placement_kind, course_id
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (participant_id) DO UPDATE SET
    partner_id = EXCLUDED.partner_id,
    phase = EXCLUDED.phase,
    status = EXCLUDED.status,
    nudge_level = EXCLUDED.nudge_level,
    milestone_count = EXCLUDED.milestone_count,
    last_milestone_type = EXCLUDED.last_milestone_type,
    last_milestone_at = EXCLUDED.last_milestone_at,
    last_contact_at = EXCLUDED.last_contact_at,
    outcome = EXCLUDED.outcome,
    next_deadline = EXCLUDED.next_deadline,
    enrolled_at = EXCLUDED.enrolled_at,
    closed_at = EXCLUDED.closed_at,
    revision = EXCLUDED.revision,
    first_offer_at = EXCLUDED.first_offer_at,
    left_at = EXCLUDED.left_at,
    placement_kind = EXCLUDED.placement_kind,
    course_id = EXCLUDED.course_id,
    updated_at = now()
WHERE trajectories.revision < EXCLUDED.revision
RETURNING revision
"""

_UPSERT_FOLLOW_UP = """
INSERT INTO follow_up_checks (
    participant_id, name, due_at, answered_at, unanswered, in_employment,
    in_education_or_training, job_searching, qualification_gained
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (participant_id, name) DO UPDATE SET
    due_at = EXCLUDED.due_at, answered_at = EXCLUDED.answered_at,
    unanswered = EXCLUDED.unanswered, in_employment = EXCLUDED.in_employment,
    in_education_or_training = EXCLUDED.in_education_or_training,
    job_searching = EXCLUDED.job_searching, qualification_gained = EXCLUDED.qualification_gained
"""

_INSERT_NUDGE = """
INSERT INTO nudges (
    participant_id, seq, level, action, channel, language, phase, partner_id, silent_since, sent_at
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT DO NOTHING
RETURNING seq
"""

_INSERT_TASK = """
INSERT INTO tasks (participant_id, task_key, kind, partner_id) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING
"""


def _unknown_participant(participant_id: str) -> ApplicationError:
    return ApplicationError(
        f"no participant {participant_id} in the read model",
        type="UnknownParticipant",
        non_retryable=True,
    )


def _programme(partner_id: str) -> PartnerProgramme:
    try:
        return programmes.load_programme(partner_id)
    except programmes.UnknownPartner as error:
        raise ApplicationError(str(error), type="UnknownPartner", non_retryable=True) from error


async def _write_changes(con: Connection, changes: ReadModelChanges) -> bool:
    """Insert what is new and keep the newest snapshot; False when a newer one is stored."""
    snapshot = changes.snapshot
    pid = snapshot.participant_id
    if (milestone := changes.milestone) is not None:
        await con.execute(
            _INSERT_MILESTONE,
            pid,
            milestone.milestone_id,
            milestone.type,
            milestone.occurred_at,
            milestone.recorded_by,
            milestone.payload,
            changes.milestone_phase or snapshot.phase,
        )
    await con.executemany(
        _INSERT_TRANSITION,
        [
            (pid, t.seq, t.from_phase, t.to_phase, t.status, t.cause, t.at)
            for t in changes.transitions
        ],
    )
    if changes.contact_at is not None:
        await con.execute(_MARK_CONTACT, pid, changes.contact_at)
    last = snapshot.last_milestone
    revision = await con.fetchval(
        _UPSERT_SNAPSHOT,
        pid,
        workflow_id(pid),
        snapshot.partner_id,
        snapshot.phase,
        snapshot.status,
        snapshot.nudge_level,
        snapshot.milestone_count,
        last.type if last else None,
        last.occurred_at if last else None,
        snapshot.last_contact_at,
        snapshot.outcome,
        snapshot.next_deadline,
        snapshot.enrolled_at,
        snapshot.closed_at,
        snapshot.revision,
        snapshot.first_offer_at,
        snapshot.left_at,
        snapshot.placement_kind,
        snapshot.course_id,
    )
    await con.executemany(
        _UPSERT_FOLLOW_UP,
        [
            (
                pid,
                f.name,
                f.due_at,
                f.answered_at,
                f.unanswered,
                f.in_employment,
                f.in_education_or_training,
                f.job_searching,
                f.qualification_gained,
            )
            for f in changes.follow_ups
        ],
    )
    return revision is not None


class TrajectoryActivities:
    """The trajectory's side effects, bound to the process's pool and notification channel."""

    def __init__(self, pool: Pool, notifier: Notifier) -> None:
        self._pool = pool
        self._notifier = notifier

    @activity.defn
    async def check_eligibility(self, request: EligibilityRequest) -> EligibilityDecision:
        """Judge the enrolled person against the programme rules and record the decision."""
        with bound_to_workflow(request.participant_id):
            async with self._pool.acquire() as con:
                row = await con.fetchrow(_DECLARED_STATUS, request.participant_id)
                person = await read_person(
                    con,
                    request.participant_id,
                    "worker:check_eligibility",
                    purpose="intake eligibility check",
                )
                if row is None or person is None:
                    raise _unknown_participant(request.participant_id)
                facts = eligibility.EligibilityFacts(
                    postcode=person.postcode,
                    birth_date=person.birth_date,
                    national_number=person.national_number,
                    enrolled_on=request.enrolled_on,
                    employed=row["status_employed"],
                    in_education=row["status_in_education"],
                    in_training=row["status_in_training"],
                    other_measure_declared=row["status_other_measure"],
                    in_other_measure_registry=await con.fetchval(
                        _IN_OTHER_MEASURE, person.national_number, request.enrolled_on
                    ),
                )
                decision = eligibility.check_eligibility(facts)
                await con.execute(
                    _RECORD_ELIGIBILITY,
                    request.participant_id,
                    decision.eligible,
                    [reason.model_dump() for reason in decision.reasons],
                )
            log.info(
                "eligibility_checked",
                eligible=decision.eligible,
                reasons=[reason.code for reason in decision.reasons],
            )
            return decision

    @activity.defn
    async def load_programme(self, partner_id: str) -> PartnerProgramme:
        """The current definition of the partner's programme."""
        with bound_to_workflow():
            programme = _programme(partner_id)
            log.info("programme_loaded", partner_id=partner_id, version=programme.version)
            return programme

    @activity.defn
    async def record_changes(self, changes: ReadModelChanges) -> None:
        """Write one step of the trajectory to the read model, all or nothing."""
        snapshot = changes.snapshot
        with bound_to_workflow(snapshot.participant_id):
            try:
                async with self._pool.acquire() as con, con.transaction():
                    applied = await _write_changes(con, changes)
            except asyncpg.ForeignKeyViolationError as error:
                raise _unknown_participant(snapshot.participant_id) from error
            log.info(
                "read_model_updated",
                revision=snapshot.revision,
                snapshot_applied=applied,
                phase=snapshot.phase.value,
                status=snapshot.status.value,
                milestone_type=changes.milestone.type.value if changes.milestone else None,
                transitions=len(changes.transitions),
            )

    @activity.defn
    async def send_nudge(self, request: NudgeRequest) -> None:
        """Carry out one rung of the ladder exactly once: a message, or a task for a person."""
        with bound_to_workflow(request.participant_id):
            try:
                async with self._pool.acquire() as con, con.transaction():
                    new = await con.fetchval(
                        _INSERT_NUDGE,
                        request.participant_id,
                        request.seq,
                        request.level,
                        request.action,
                        request.channel,
                        request.language,
                        request.phase,
                        request.partner_id,
                        request.silent_since,
                        request.sent_at,
                    )
                    if new is not None:
                        await self._carry_out(con, request)
            except asyncpg.ForeignKeyViolationError as error:
                raise _unknown_participant(request.participant_id) from error
            log.info(
                "nudge_sent" if new is not None else "nudge_already_sent",
                seq=request.seq,
                level=request.level,
                action=request.action,
                channel=request.channel.value,
            )

    async def _carry_out(self, con: Connection, request: NudgeRequest) -> None:
        if request.action == "message":
            name = _programme(request.partner_id).name
            body = nudge_message(request.language, request.level, name)
            await self._notifier.send(con, request, body)
        else:
            await con.execute(
                _INSERT_TASK,
                request.participant_id,
                f"nudge-{request.seq}",
                request.action,
                request.partner_id,
            )

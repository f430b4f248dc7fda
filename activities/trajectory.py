"""Activities of a trajectory: intake facts, programmes, the read model and nudges.

Every write is idempotent (`ON CONFLICT DO NOTHING`, revision-guarded upserts), so a retried
activity never records twice. Logs carry ids and codes only, never personal data.
"""

import time

import asyncpg
import structlog
from temporalio import activity
from temporalio.common import MetricHistogramFloat
from temporalio.exceptions import ApplicationError

from activities.context import bound_to_workflow
from infra.database import Connection, Pool
from infra.person_keys import PersonKeys, default_person_keys
from readmodel import intake, nudges, other_measures, outbox
from readmodel.changes import write_changes
from readmodel.persons import read_person
from readmodel.reach import reach
from readmodel.webhooks import queue_events
from trajectory import eligibility, programmes
from trajectory.delivery import NudgeOutcome
from trajectory.events import task_opened
from trajectory.messages import MissingTemplate, nudge_message
from trajectory.programme import PartnerProgramme
from trajectory.records import (
    EligibilityDecision,
    EligibilityRequest,
    NudgeRequest,
    ReadModelBatch,
)

log = structlog.stdlib.get_logger(__name__)

READ_MODEL_LAG = "parcours_read_model_lag"
"""Seconds from a step in the workflow to its write in PostgreSQL (worker metric)."""


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


class TrajectoryActivities:
    """The trajectory's side effects, bound to the process's pool and person keys."""

    def __init__(self, pool: Pool, keys: PersonKeys | None = None) -> None:
        self._pool = pool
        self._keys = default_person_keys(keys)
        self._lag: MetricHistogramFloat | None = None

    def _lag_histogram(self) -> MetricHistogramFloat:
        """The read-model lag histogram, made once on the first write, not on every one."""
        if self._lag is None:
            self._lag = activity.metric_meter().create_histogram_float(
                READ_MODEL_LAG, "seconds from a workflow step to its read-model write", "s"
            )
        return self._lag

    @activity.defn
    async def check_eligibility(self, request: EligibilityRequest) -> EligibilityDecision:
        """Judge the enrolled person against the programme rules and record the decision."""
        with bound_to_workflow(request.participant_id):
            async with self._pool.acquire() as con:
                declared = await intake.declared_status(con, request.participant_id)
                person = await read_person(
                    con,
                    request.participant_id,
                    "worker:check_eligibility",
                    purpose="intake eligibility check",
                    keys=self._keys,
                )
                if declared is None or person is None:
                    raise _unknown_participant(request.participant_id)
                facts = eligibility.EligibilityFacts(
                    postcode=person.postcode,
                    birth_date=person.birth_date,
                    national_number=person.national_number,
                    enrolled_on=request.enrolled_on,
                    employed=declared["status_employed"],
                    in_education=declared["status_in_education"],
                    in_training=declared["status_in_training"],
                    other_measure_declared=declared["status_other_measure"],
                    in_other_measure_registry=await other_measures.in_other_measure(
                        con, person.national_number, request.enrolled_on, keys=self._keys
                    ),
                )
                decision = eligibility.check_eligibility(facts)
                await intake.record_eligibility(con, request.participant_id, decision)
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
    async def write_read_model(self, batch: ReadModelBatch) -> None:
        """Write the steps the workflow accepted since the last write, all or nothing."""
        with bound_to_workflow(batch.participant_id):
            try:
                async with self._pool.acquire() as con, con.transaction():
                    kept = await write_changes(con, batch.steps, self._keys)
            except asyncpg.ForeignKeyViolationError as error:
                raise _unknown_participant(batch.participant_id) from error
            newest = batch.steps[-1]
            if newest.at is not None:
                self._lag_histogram().record(max(0.0, time.time() - newest.at.timestamp()))
            log.info(
                "read_model_updated",
                steps=len(batch.steps),
                revision=newest.snapshot.revision,
                snapshot_applied=kept,
                phase=newest.snapshot.phase.value,
                status=newest.snapshot.status.value,
            )

    @activity.defn
    async def send_nudge(self, request: NudgeRequest) -> NudgeOutcome:
        """Carry out one rung of the ladder exactly once: a task for a person, or a message
        queued for the outbox. Answers whether the message can reach the person at all (the
        address, consent and STOP, read now): when not, the ladder climbs on at once."""
        with bound_to_workflow(request.participant_id):
            try:
                async with self._pool.acquire() as con, con.transaction():
                    new = await nudges.record_nudge(con, request)
                    if request.action != "message":
                        outcome = NudgeOutcome(reachable=True)
                        if new:
                            await nudges.open_task(con, request)
                            await queue_events(con, [task_opened(request)])
                    elif new:
                        outcome = await self._queue_message(con, request)
                    else:
                        outcome = await outbox.decided(con, request.participant_id, request.seq)
            except asyncpg.ForeignKeyViolationError as error:
                raise _unknown_participant(request.participant_id) from error
            except MissingTemplate as error:
                raise ApplicationError(
                    str(error), type="MissingTemplate", non_retryable=True
                ) from error
            log.info(
                "nudge_sent" if new else "nudge_already_sent",
                seq=request.seq,
                level=request.level,
                action=request.action,
                channel=request.channel.value,
                reachable=outcome.reachable,
                why=outcome.why,
            )
            return outcome

    async def _queue_message(self, con: Connection, request: NudgeRequest) -> NudgeOutcome:
        """Queue the rung's message, or record it failed when no channel reaches the person."""
        found = await reach(
            con,
            request.participant_id,
            request.channel.value,
            self._keys,
            reader="worker:send_nudge",
            purpose="whether a nudge can reach the person",
        )
        message = nudge_message(
            request.partner_id, request.language, request.level, request.channel
        )
        await outbox.queue_message(con, request, message, found.why)
        return NudgeOutcome(reachable=found.why is None, why=found.why)

"""`ParticipantTrajectory`: one participant's journey from intake to follow-up, durably."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, RetryState

with workflow.unsafe.imports_passed_through():
    from activities.training import TrainingActivities
    from activities.trajectory import TrajectoryActivities
    from infra import contract
    from trajectory.actors import Actor
    from trajectory.catalogue import UNKNOWN_COURSE
    from trajectory.eligibility import enrolment_day
    from trajectory.milestones import Milestone, MilestoneType, TrainingCompleted, TrainingEnrolled
    from trajectory.phases import Phase, Status
    from trajectory.records import (
        EligibilityDecision,
        EligibilityRequest,
        NudgeRequest,
        PhaseTransition,
        ReadModelBatch,
        ReadModelChanges,
        RecommendationRequest,
        SeatDecision,
        SeatOffer,
        SeatRelease,
        SeatRequest,
        SteeringRecord,
        TrajectorySnapshot,
    )
    from trajectory.requests import CloseRequest, PauseRequest, ReassignRequest, ResumeRequest
    from trajectory.state import MilestoneRefused, Timer, TrajectoryInput, TrajectoryState
    from trajectory.tasks import TaskDone, TaskRecord

UNKNOWN_PARTICIPANT = "UnknownParticipant"
ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=30,
    non_retryable_error_types=[UNKNOWN_PARTICIPANT, "UnknownPartner", UNKNOWN_COURSE],
)
"""About half an hour of attempts; then the trajectory waits for a case manager."""
WRITE_RETRY = RetryPolicy(
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=17_280,
    non_retryable_error_types=[UNKNOWN_PARTICIPANT],
)
"""Read-model writes retry for a day, soon after PostgreSQL is back; answers go on meanwhile."""
LOCAL_WRITE_TIMEOUT = timedelta(seconds=2)
"""How long a read-model write may hold a workflow task (and the answers in it)."""
SEATS = "training-seats"
"""Patch: seats are counted, waiting lists kept and training recommended (release 2)."""
SEATS_HANDED_ON = "seats-handed-on-at-close"
"""Patch: a closing trajectory frees its seat or waiting place, and so does a refused enrolment
that raced for one (release 3)."""
WRITE_BEHIND = "read-model-write-behind"
"""Patch: answers do not wait for PostgreSQL; the read model follows in batches (release 3)."""
CASE_WORK_TASKS = "case-work-tasks"
"""Patch: the ladder's coach tasks are kept, closed by people, and raise the next rung when
overdue (release 4)."""
RESULTS_ON_LEAVING = "results-on-every-leaving"
"""Patch: every leaver is asked for a result on leaving, a close as employed is followed up
(release 4)."""
YOUTH_GUARANTEE_OFFERS = "youth-guarantee-offers"
"""Patch: a self-employment start or offer is not a Youth Guarantee first offer (release 4)."""
BRUSSELS_DAY = "eligibility-on-the-brussels-day"
"""Patch: the age check counts the enrolment day in Brussels, not in UTC (release 4)."""
CLOSE_STANDS = "a-case-managers-close-stands"
"""Patch: an intake check answering after a case manager closed keeps their outcome (release 5)."""
NEEDS_ATTENTION = "needs-attention"
"""Patch: a step that fails for good hands the trajectory to a case manager and is tried again
once one resumes it; the workflow no longer fails, nor drops a read-model write (release 5)."""
SEAT_OFFER_DAYS = 3
"""Programme days the next in line has to accept a freed seat."""


REFUSED = "Refused"
"""Error type of a request the trajectory refuses now; the message says why."""
NOT_FOUND = "NotFound"
"""Error type for a partner that does not hold the participant (any more)."""
REUSED = "MilestoneIdReused"
"""Error type of a recorded milestone id sent again with other content."""


def _of_type(error: ActivityError, kind: str) -> bool:
    return isinstance(error.cause, ApplicationError) and error.cause.type == kind


def refused(reason: str) -> ApplicationError:
    """The error a caller sees when the trajectory refuses a request."""
    return ApplicationError(reason, type=REFUSED, non_retryable=True)


@workflow.defn(name="ParticipantTrajectory")
class ParticipantTrajectory:
    """Waits for milestones and timers; the workflow, not the caller, decides what is allowed."""

    @workflow.init
    def __init__(self, input: TrajectoryInput) -> None:
        self._input = input
        self._state = input.state or TrajectoryState.enrol(
            participant_id=input.participant_id,
            programme=input.programme,
            postcode=input.postcode,
            language=input.language,
            enrolled_at=workflow.now(),
            day_seconds=input.day_seconds,
        )
        self._changed = False
        self._attributes: dict[str, object] = {}
        self._unwritten: list[ReadModelChanges] = []
        self._writing = False
        self._recommendation_due = False
        self._repairs: set[asyncio.Task[Any]] = set()
        self._intake_held = False

    @workflow.run
    async def run(self, input: TrajectoryInput) -> TrajectorySnapshot:
        state = self._state
        writes_behind = workflow.patched(WRITE_BEHIND)
        if workflow.patched(CASE_WORK_TASKS):
            state.tracks_tasks = True
        state.asks_every_leaver |= workflow.patched(RESULTS_ON_LEAVING)
        state.offers_as_youth_guarantee |= workflow.patched(YOUTH_GUARANTEE_OFFERS)
        if writes_behind:
            writer = asyncio.create_task(self._write_behind())
        if input.state is None:
            workflow.upsert_search_attributes(
                [
                    contract.POSTCODE.value_set(state.postcode),
                    contract.ENROLLED_AT.value_set(state.enrolled_at),
                ]
            )
            await self._publish([])
        elif input.revived:
            await self._publish([])
        if state.eligibility == "pending":
            decision: EligibilityDecision | None = await self._persist(
                "the intake check", lambda: self._check_eligibility(writes_behind), while_open=True
            )
            if decision is not None:
                stands = state.is_closed and workflow.patched(CLOSE_STANDS)
                await self._publish(
                    state.decide_eligibility(decision, workflow.now(), close_stands=stands)
                )
        while not state.is_closed:
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._repaired()
                await self._written()
                workflow.continue_as_new(
                    input.model_copy(update={"state": state, "revived": False})
                )
            await self._next_change()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if state.seats_held_at_close() and workflow.patched(SEATS_HANDED_ON):
            for course_id, outcome in state.seats_held_at_close():
                await self._hand_on(self._release(course_id, outcome))
            state.seat = None
        while state.awaiting_results:
            await self._next_change()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._repaired()
        if writes_behind:
            await self._written()
            writer.cancel()
        return state.snapshot(workflow.now())

    async def _next_change(self) -> None:
        """Wait for a request to change the state, or carry out the next timer when it falls due."""
        timer = self._state.next_timer(workflow.now())
        self._changed = False
        try:
            await workflow.wait_condition(
                lambda: self._changed,
                timeout=self._until(timer) if timer else None,
                timeout_summary=timer.summary if timer else None,
            )
        except TimeoutError:
            await self._fire()

    async def _check_eligibility(self, local: bool) -> EligibilityDecision:
        """The intake check; a local activity since release 3, saving a round trip per person."""
        state = self._state
        enrolled_on = (
            enrolment_day(state.enrolled_at)
            if workflow.patched(BRUSSELS_DAY)
            else state.enrolled_at.date()
        )
        request = EligibilityRequest(participant_id=state.participant_id, enrolled_on=enrolled_on)
        if local:
            return await workflow.execute_local_activity_method(
                TrajectoryActivities.check_eligibility,
                request,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
                summary="intake eligibility check",
            )
        return await workflow.execute_activity_method(
            TrajectoryActivities.check_eligibility,
            request,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
            summary="intake eligibility check",
        )

    # -- milestones -----------------------------------------------------------------------------

    @workflow.update
    async def record_milestone(self, milestone: Milestone) -> TrajectorySnapshot:
        """Record a partner's or case manager's milestone; answers with the new state."""
        await workflow.wait_condition(lambda: self._state.eligibility != "pending")
        self._check_holder(milestone.actor)
        self._check_reuse(milestone)
        state = self._state
        seat = await self._seat_for(milestone)
        try:
            changes = state.record(milestone, workflow.now(), seat)
        except MilestoneRefused as refusal:
            # The trajectory changed while the seat was asked for (paused, withdrawn, enrolled).
            if seat is not None and workflow.patched(SEATS_HANDED_ON):
                await self._hand_on(self._release(seat.course_id, "expired"), answering=True)
            raise refused(str(refusal)) from None
        snapshot = await self._publish(changes, milestone)
        if changes and (release := self._release_for(milestone)) is not None:
            await self._hand_on(release, answering=True)
        return snapshot

    @record_milestone.validator
    def _validate_milestone(self, milestone: Milestone) -> None:
        self._check_holder(milestone.actor)
        self._check_reuse(milestone)
        if (reason := self._state.refusal(milestone, workflow.now())) is not None:
            raise refused(reason)

    def _check_reuse(self, milestone: Milestone) -> None:
        """A milestone id, once recorded, stands for what it said then."""
        if self._state.reuses_id(milestone):
            raise ApplicationError(
                f"milestone_id {milestone.milestone_id} was recorded with other content",
                type=REUSED,
                non_retryable=True,
            )

    def _check_holder(self, actor: Actor | None) -> None:
        """A partner acts only on participants it holds now, reassignments included."""
        if (
            actor is not None
            and actor.role == "partner"
            and actor.partner_id != self._state.partner_id
        ):
            raise ApplicationError(
                f"no participant {self._state.participant_id}", type=NOT_FOUND, non_retryable=True
            )

    # -- coach tasks ----------------------------------------------------------------------------

    @workflow.update
    async def complete_task(self, done: TaskDone) -> TrajectorySnapshot:
        """Close a coach task; a participant reached counts as contact and resets the ladder."""
        self._check_holder(done.actor)
        now = workflow.now()
        try:
            transitions = self._state.complete_task(done, now)
        except MilestoneRefused as refusal:
            raise refused(str(refusal)) from None
        assert done.task_id is not None
        record = TaskRecord(
            task_id=done.task_id,
            done_at=now,
            reached=done.reached,
            note=done.note,
            actor=done.actor,
        )
        return await self._publish(transitions, task_done=record)

    @complete_task.validator
    def _validate_complete_task(self, done: TaskDone) -> None:
        self._check_holder(done.actor)
        if (reason := self._state.task_refusal(done)) is not None:
            raise refused(reason)

    # -- case managers --------------------------------------------------------------------------

    @workflow.update
    async def pause(self, request: PauseRequest) -> TrajectorySnapshot:
        """Stop every clock of the trajectory."""
        changes = self._state.pause(request.reason, workflow.now())
        return await self._publish(changes, steering=self._steering("pause", request, changes))

    @pause.validator
    def _validate_pause(self, request: PauseRequest) -> None:
        if self._state.status in (Status.PAUSED, Status.CLOSED, Status.NEEDS_ATTENTION):
            raise refused(f"the trajectory is {self._state.status.value}; it cannot be paused")

    @workflow.update
    async def resume(self, request: ResumeRequest) -> TrajectorySnapshot:
        """Restart the clocks where they stopped; after a failure, try the failed step again."""
        state = self._state
        go_on = state.attend if state.needs_attention else state.resume
        changes = go_on(request.reason, workflow.now())
        return await self._publish(changes, steering=self._steering("resume", request, changes))

    @resume.validator
    def _validate_resume(self, request: ResumeRequest) -> None:
        if self._state.status not in (Status.PAUSED, Status.NEEDS_ATTENTION):
            raise refused(f"the trajectory is {self._state.status.value}, not paused")

    @workflow.update
    async def reassign(self, request: ReassignRequest) -> TrajectorySnapshot:
        """Hand the participant to another partner, whose steps apply from now on."""
        try:
            programme = await workflow.execute_activity_method(
                TrajectoryActivities.load_programme,
                request.partner_id,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
                summary=f"load the {request.partner_id} programme",
            )
        except ActivityError:
            raise refused(f"unknown partner {request.partner_id}") from None
        if self._state.is_closed:
            raise refused("the trajectory closed meanwhile")
        changes = self._state.reassign(programme, request.reason, workflow.now())
        return await self._publish(changes, steering=self._steering("reassign", request, changes))

    @reassign.validator
    def _validate_reassign(self, request: ReassignRequest) -> None:
        if self._state.is_closed:
            raise refused("the trajectory is closed")
        if request.partner_id == self._state.partner_id:
            raise refused(f"the participant is already with {request.partner_id}")

    @workflow.update
    async def close(self, request: CloseRequest) -> TrajectorySnapshot:
        """End the trajectory with an outcome chosen by a case manager."""
        reason = f"closed by case manager: {request.reason}"
        changes = self._state.close(request.outcome, reason, workflow.now())
        return await self._publish(changes, steering=self._steering("close", request, changes))

    @close.validator
    def _validate_close(self, request: CloseRequest) -> None:
        if self._state.is_closed:
            raise refused(f"the trajectory is already closed ({self._state.outcome})")

    def _steering(
        self,
        action: Literal["pause", "resume", "reassign", "close"],
        request: PauseRequest | ResumeRequest | ReassignRequest | CloseRequest,
        changes: list[PhaseTransition],
    ) -> SteeringRecord:
        """Who steered, and why, for the timeline."""
        return SteeringRecord(
            action=action,
            seq=changes[0].seq,
            reason=request.reason,
            actor=request.actor,
            at=workflow.now(),
        )

    @workflow.signal
    async def seat_offered(self, offer: SeatOffer) -> None:
        """A seat freed in a course this participant waits for; it lapses at its deadline."""
        self._state.offer_seat(offer)
        await self._publish([])

    @workflow.query
    def state(self) -> TrajectoryState:
        """Everything the trajectory knows."""
        return self._state

    @workflow.query
    def snapshot(self) -> TrajectorySnapshot:
        """The state as the API shows it."""
        return self._state.snapshot(workflow.now())

    # -- effects --------------------------------------------------------------------------------

    async def _fire(self) -> None:
        now = workflow.now()
        timer = self._state.next_timer(now)
        if timer is None or timer.at > now:
            return
        effects = self._state.fire(timer, now)
        if (nudge := effects.nudge) is not None:
            await self._persist(
                f"the {nudge.action.replace('_', ' ')} of level {nudge.level}",
                lambda: self._send(nudge),
                while_open=True,
            )
        await self._publish(effects.transitions)
        if (lapsed := effects.lapsed_offer) is not None:
            await self._hand_on(self._release(lapsed.course_id, "expired"))

    # -- training seats -------------------------------------------------------------------------

    async def _seat_for(self, milestone: Milestone) -> SeatDecision | None:
        """Ask for a seat before a new `training_enrolled` is applied (none before release 2)."""
        state = self._state
        enrolled = milestone.details()
        if (
            not isinstance(enrolled, TrainingEnrolled)
            or milestone.milestone_id in state.milestone_ids
            or state.refusal(milestone, workflow.now()) is not None
            or not workflow.patched(SEATS)
        ):
            return None
        course_id = enrolled.course_id
        try:
            return await workflow.execute_activity_method(
                TrainingActivities.request_seat,
                SeatRequest(
                    participant_id=state.participant_id, course_id=course_id, at=workflow.now()
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
                summary=f"ask for a seat in {course_id}",
            )
        except ActivityError as error:
            if _of_type(error, UNKNOWN_COURSE):
                raise refused(f"there is no course {course_id} in the training catalogue") from None
            raise

    def _release_for(self, milestone: Milestone) -> SeatRelease | None:
        """The seat a completed or dropped training hands back."""
        training = self._state.training
        if (
            milestone.type not in (MilestoneType.TRAINING_COMPLETED, MilestoneType.TRAINING_DROPPED)
            or training is None
            or not workflow.patched(SEATS)
        ):
            return None
        details = milestone.details()
        if isinstance(details, TrainingCompleted):
            return self._release(training.course_id, "completed", details.qualification)
        return self._release(training.course_id, "dropped")

    def _release(
        self,
        course_id: str,
        outcome: Literal["completed", "dropped", "expired"],
        qualification: str | None = None,
    ) -> SeatRelease:
        now = workflow.now()
        return SeatRelease(
            participant_id=self._state.participant_id,
            course_id=course_id,
            outcome=outcome,
            qualification=qualification,
            at=now,
            offer_until=now + self._state.day * SEAT_OFFER_DAYS,
        )

    async def _hand_on(self, release: SeatRelease, *, answering: bool = False) -> None:
        """Free the seat and offer it to the next in line who can still take it.

        When that fails for good, a case manager is asked to see to it; an Update `answering`
        its caller does not wait for them.
        """
        try:
            await self._offer_on(release)
        except FailureError as error:
            if not workflow.patched(NEEDS_ATTENTION):
                raise
            what = f"freeing a seat in {release.course_id}"
            repair = self._persist(what, lambda: self._offer_on(release), failed=error)
            if not answering:
                await repair
                return
            task = asyncio.create_task(repair)
            self._repairs.add(task)
            task.add_done_callback(self._repairs.discard)

    async def _offer_on(self, release: SeatRelease) -> None:
        while True:
            offer = await workflow.execute_activity_method(
                TrainingActivities.release_seat,
                release,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
                summary=f"free a seat in {release.course_id} ({release.outcome})",
            )
            if offer is None:
                return
            next_in_line: workflow.ExternalWorkflowHandle[ParticipantTrajectory] = (
                workflow.get_external_workflow_handle_for(
                    ParticipantTrajectory.run, contract.workflow_id(offer.participant_id)
                )
            )
            try:
                await next_in_line.signal(ParticipantTrajectory.seat_offered, offer)
                return
            except FailureError:
                release = release.model_copy(
                    update={"participant_id": offer.participant_id, "outcome": "expired"}
                )

    async def _persist(
        self,
        what: str,
        step: Callable[[], Awaitable[Any]],
        *,
        failed: FailureError | None = None,
        while_open: bool = False,
    ) -> Any:
        """Carry out `step`; each time it fails for good, wait for a case manager, then retry.

        Its result; None when `while_open` and a case manager closed the trajectory instead.
        (Typed `Any`: a generic method hides the workflow class from the SDK's typed handles.)
        """
        while True:
            if failed is not None:
                await self._attended(what, failed)
                if while_open and self._state.is_closed:
                    return None
            try:
                return await step()
            except FailureError as error:
                if not workflow.patched(NEEDS_ATTENTION):
                    raise
                failed = error

    async def _attended(self, what: str, error: FailureError) -> None:
        """Show that `what` failed for good, and wait until a case manager resumes or closes."""
        cause = error.cause if isinstance(error, ActivityError) else error
        if isinstance(error, ActivityError) and error.retry_state in (
            RetryState.MAXIMUM_ATTEMPTS_REACHED,
            RetryState.TIMEOUT,
        ):
            why = "still failing after every retry"
        elif isinstance(cause, ApplicationError) and cause.type:
            why = cause.type
        else:
            why = type(cause).__name__
        attention = f"{what} failed: {why}"
        workflow.logger.warning(
            "needs_attention",
            extra={"participant_id": self._state.participant_id, "attention": attention},
        )
        self._intake_held = self._intake_held or self._state.eligibility == "pending"
        await self._publish(self._state.hold(attention, workflow.now()))
        await workflow.wait_condition(lambda: not self._state.needs_attention)

    async def _repaired(self) -> None:
        """Wait until every step handed to a case manager is done."""
        await workflow.wait_condition(lambda: not self._repairs)

    async def _recommend(self) -> None:
        """Rank the catalogue once the assessment is done."""
        state = self._state
        state.recommendations = await workflow.execute_activity_method(
            TrainingActivities.recommend_training,
            RecommendationRequest(participant_id=state.participant_id, assessment=state.assessment),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
            summary="recommend training from the assessment",
        )

    async def _send(self, nudge: NudgeRequest) -> None:
        verb = {"message": "nudge", "coach_call": "coach call task", "outreach": "outreach request"}
        await workflow.execute_activity_method(
            TrajectoryActivities.send_nudge,
            nudge,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
            summary=(
                f"{verb[nudge.action]} {nudge.level} by {nudge.channel.value} in {nudge.language}"
            ),
        )

    async def _publish(
        self,
        transitions: list[PhaseTransition],
        milestone: Milestone | None = None,
        *,
        steering: SteeringRecord | None = None,
        task_done: TaskRecord | None = None,
    ) -> TrajectorySnapshot:
        """Tell the main loop, the search attributes, the Web UI and the read model what changed."""
        state = self._state
        self._changed = True
        for change in transitions:
            workflow.logger.info(
                "trajectory_moved",
                extra={
                    "participant_id": state.participant_id,
                    "from_phase": change.from_phase.value,
                    "to_phase": change.to_phase.value,
                    "status": change.status.value,
                },
            )
        snapshot = state.snapshot(workflow.now())
        self._show(snapshot, state.next_timer(workflow.now()))
        contact = milestone.occurred_at if milestone is not None and milestone.is_contact else None
        if task_done is not None and task_done.reached:
            contact = task_done.done_at
        changes = ReadModelChanges(
            snapshot=snapshot,
            milestone=milestone,
            milestone_phase=transitions[0].from_phase if transitions else state.phase,
            transitions=transitions,
            contact_at=contact,
            follow_ups=[check.record() for check in state.follow_ups],
            steering=steering,
            task_done=task_done,
        )
        assessed = any(
            t.from_phase == Phase.ASSESSMENT and t.to_phase == Phase.COACHING for t in transitions
        )
        if workflow.patched(WRITE_BEHIND):
            self._unwritten.append(changes.model_copy(update={"at": workflow.now()}))
            self._recommendation_due |= assessed
            return snapshot
        await workflow.execute_activity_method(
            TrajectoryActivities.record_changes,
            changes,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
            summary=f"record {milestone.type.value if milestone else 'state'} in the read model",
        )
        if assessed and workflow.patched(SEATS):
            await self._recommend()
        return snapshot

    async def _write_behind(self) -> None:
        """Carry the accepted steps to PostgreSQL, in order, without holding up the answers.

        Measured with `bench/write_behind.py` (10 clients, 2 cores shared): a local activity
        answered Updates in 107-151 ms p50 at 52-80/s, a regular activity per batch in
        166-224 ms at 39-55/s, since it costs the server a task dispatch and the worker a second
        workflow task. But a local activity holds the workflow task, and so the answer, until
        PostgreSQL answers. So a batch is first written as a local activity bounded to
        `LOCAL_WRITE_TIMEOUT`; when that fails (PostgreSQL slow or away) the same batch goes to a
        regular activity that retries until PostgreSQL is back, and writes stay regular until one
        succeeds: answers keep flowing from the workflow's state, and whatever piled up meanwhile
        is written in one transaction. Recommendations wait here too: they only read PostgreSQL.
        """
        local = True
        while True:
            await workflow.wait_condition(
                lambda: (
                    bool(self._unwritten)
                    and (self._state.eligibility != "pending" or self._intake_held)
                )
            )
            self._writing = True
            batch = ReadModelBatch(participant_id=self._state.participant_id, steps=self._unwritten)
            self._unwritten = []
            summary = f"write {len(batch.steps)} step(s) to the read model"
            try:
                if local:
                    try:
                        await workflow.execute_local_activity_method(
                            TrajectoryActivities.write_read_model,
                            batch,
                            start_to_close_timeout=LOCAL_WRITE_TIMEOUT,
                            retry_policy=RetryPolicy(maximum_attempts=1),
                            summary=summary,
                        )
                    except FailureError:  # a local activity's failure comes unwrapped
                        local = False
                if not local:
                    try:
                        await workflow.execute_activity_method(
                            TrajectoryActivities.write_read_model,
                            batch,
                            start_to_close_timeout=ACTIVITY_TIMEOUT,
                            retry_policy=WRITE_RETRY,
                            summary=summary,
                        )
                    except ActivityError as error:
                        # Without a participant row there is nothing to follow: drop, as before.
                        if _of_type(error, UNKNOWN_PARTICIPANT) or not workflow.patched(
                            NEEDS_ATTENTION
                        ):
                            raise
                        self._unwritten = batch.steps + self._unwritten
                        await self._attended("writing to the read model", error)
                        continue
                    local = True
                if self._recommendation_due:
                    self._recommendation_due = False
                    await self._recommend()
            except ActivityError as error:
                workflow.logger.error(
                    "read_model_write_failed",
                    extra={
                        "participant_id": self._state.participant_id,
                        "cause": type(error.cause).__name__,
                    },
                )
            finally:
                self._writing = False

    async def _written(self) -> None:
        """Wait until the read model holds every accepted step."""
        await workflow.wait_condition(lambda: not self._unwritten and not self._writing)

    def _show(self, snapshot: TrajectorySnapshot, timer: Timer | None) -> None:
        """Keep search attributes and the Web UI's current details in step with the state."""
        wanted: list[SearchAttributeUpdate[Any]] = [
            contract.PARTNER.value_set(snapshot.partner_id),
            contract.PHASE.value_set(snapshot.phase.value),
            contract.STATUS.value_set(snapshot.status.value),
            contract.NUDGE_LEVEL.value_set(snapshot.nudge_level),
            contract.LAST_CONTACT.value_set(snapshot.last_contact_at),
        ]
        if snapshot.outcome is not None:
            wanted.append(contract.OUTCOME.value_set(snapshot.outcome.value))
        changed = [u for u in wanted if self._attributes.get(u.key.name) != u.value]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._attributes.update({u.key.name: u.value for u in changed})
        lines = [f"**Phase** {snapshot.phase.value} · **status** {snapshot.status.value}"]
        if (last := snapshot.last_milestone) is not None:
            lines.append(f"**Last milestone** {last.type.value} on {last.occurred_at:%Y-%m-%d}")
        if timer is not None:
            lines.append(f"**Next** {timer.summary} at {timer.at:%Y-%m-%d %H:%M} UTC")
        if snapshot.next_steps:
            lines.append(f"**Next steps** {', '.join(snapshot.next_steps)}")
        lines.append(f"**Nudge level** {snapshot.nudge_level}")
        for task in snapshot.open_tasks:
            kind = task.kind.replace("_", " ")
            lines.append(f"**Open task** {kind} `{task.task_id}` due {task.due_at:%Y-%m-%d}")
        if not self._state.tracks_tasks and (task_line := self._state.open_task()) is not None:
            lines.append(f"**Open task** {task_line}")
        if snapshot.course_id is not None:
            lines.append(f"**Course** {snapshot.course_id}")
        workflow.set_current_details("\n".join(lines))

    def _until(self, timer: Timer) -> timedelta:
        return max(timer.at - workflow.now(), timedelta(milliseconds=10))

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or (
            info.get_current_history_length() > self._input.history_limit
        )

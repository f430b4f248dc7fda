"""`ParticipantTrajectory`: one participant's journey from intake to follow-up, durably.

The workflow waits for milestones, steering and timers. Each Update's validator decides whether
the request is allowed (a refusal leaves nothing in the history); its handler applies it,
checking again only what can change while it awaits (the intake check, a seat request).
"""

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from trajectory import steering
    from trajectory.admission import holder_refusal, in_flight_refusal, milestone_refusal
    from trajectory.delivery import UNDELIVERED_SIGNAL, UndeliveredNudge
    from trajectory.phases import Cause
    from trajectory.recording import decide_eligibility, record
    from trajectory.records import PhaseTransition, SeatOffer, SteeringRecord, TrajectorySnapshot
    from trajectory.requests import (
        CloseTrajectory,
        CompleteTask,
        PauseTrajectory,
        ReassignParticipant,
        RecordMilestone,
        ResumeTrajectory,
        Steering,
    )
    from trajectory.seat_rules import held_at_close, offer_seat
    from trajectory.seats import ASKING_FOR_A_SEAT, FreedSeat
    from trajectory.silence import contact, fire, next_timer, rung_not_delivered
    from trajectory.snapshots import snapshot_of
    from trajectory.state import TrajectoryInput, TrajectoryState
    from trajectory.task_rules import close_task, task_refusal
    from trajectory.tasks import TaskRecord
    from workflows import steps
    from workflows.alarm import Alarm
    from workflows.attention import Attention
    from workflows.changes import Changes
    from workflows.errors import as_error, refused
    from workflows.ladder import Ladder
    from workflows.read_model import ReadModelWriter
    from workflows.seats import SeatDesk


@workflow.defn(name="ParticipantTrajectory")
class ParticipantTrajectory:
    """Waits for milestones and timers; the workflow, not the caller, decides what is allowed."""

    @workflow.init
    def __init__(self, input: TrajectoryInput) -> None:
        self._input = input
        input.share_programme()
        self._state = input.state or TrajectoryState.enrol(
            participant_id=input.participant_id,
            programme=input.programme,
            postcode=input.postcode,
            language=input.language,
            enrolled_at=workflow.now(),
            day_seconds=input.day_seconds,
            assessment=input.assessment,
        )
        self._in_flight: dict[str, str] = {}
        """Milestone ids being recorded now, and their fingerprints."""
        self._attention = Attention(self._state, lambda changes: self._changes.share(changes))
        self._writer = ReadModelWriter(self._state, self._attention)
        self._changes = Changes(self._state, self._writer)
        self._seats = SeatDesk(self._state, self._attention)
        self._ladder = Ladder(self._state, self._attention)
        self._alarm = Alarm()

    @workflow.run
    async def run(self, input: TrajectoryInput) -> TrajectorySnapshot:
        state = self._state
        writer = asyncio.create_task(self._writer.run())
        self._changes.share([], written=input.state is None or input.revived)
        if state.eligibility == "pending":
            decision = await self._attention.until_done(
                "the intake check", lambda: steps.check_eligibility(state), while_open=True
            )
            if decision is not None:
                self._changes.share(decide_eligibility(state, decision, workflow.now()))
        while not state.is_closed:
            if self._history_is_long():
                await self._settled()
                workflow.continue_as_new(
                    input.model_copy(update={"state": state, "revived": False})
                )
            await self._next_change()
        await workflow.wait_condition(workflow.all_handlers_finished)
        for freed in held_at_close(state):
            await self._seats.hand_on(freed)
        state.seat = None
        while state.awaiting_results:
            await self._next_change()
        await self._settled()
        self._alarm.set_for(None)
        writer.cancel()
        return snapshot_of(state, workflow.now())

    async def _next_change(self) -> None:
        """Wait for a request to change the state, or carry out the next timer when it falls due."""
        self._alarm.set_for(next_timer(self._state, workflow.now()))
        self._changes.happened = False
        await workflow.wait_condition(lambda: self._changes.happened or self._alarm.rang)
        if self._alarm.rang:
            self._alarm.answered()
            await self._fire()

    async def _fire(self) -> None:
        state, now = self._state, workflow.now()
        timer = next_timer(state, now)
        if timer is None or timer.at > now:
            return
        effects = fire(state, timer, now)
        await self._ladder.carry_out(effects, now)
        self._changes.share(effects.transitions)
        if (lapsed := effects.lapsed_offer) is not None:
            await self._seats.hand_on(FreedSeat(lapsed.course_id, "expired"))

    async def _settled(self) -> None:
        """Wait until every handler, background step and read-model write is done."""
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and self._attention.idle and self._writer.idle
        )

    def _history_is_long(self) -> bool:
        info, limit = workflow.info(), self._input.history_limit
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > limit

    # -- milestones -----------------------------------------------------------------------------

    @workflow.update
    async def record_milestone(self, recorded: RecordMilestone) -> TrajectorySnapshot:
        """Record a partner's or case manager's milestone; answers with the new state."""
        state, milestone_id = self._state, recorded.milestone.milestone_id
        if milestone_id in self._in_flight:  # the same id twice at once: the second waits
            self._check_in_flight(recorded)
            await workflow.wait_condition(lambda: milestone_id not in self._in_flight)
            self._check(recorded)
        if state.milestones.get(milestone_id) == recorded.fingerprint:
            return snapshot_of(state, workflow.now())
        self._in_flight[milestone_id] = recorded.fingerprint
        try:
            if state.eligibility == "pending":
                await workflow.wait_condition(
                    lambda: state.eligibility != "pending" or state.is_closed
                )
                self._check(recorded)
            seat = None
            if recorded.milestone.type in ASKING_FOR_A_SEAT:
                seat = await self._seats.request(recorded, lambda: self._check(recorded))
            recorded_now = record(state, recorded, workflow.now(), seat)
        finally:
            del self._in_flight[milestone_id]
        for freed in recorded_now.freed:
            self._seats.hand_on_soon(freed)
        return self._changes.share(recorded_now.transitions, milestone=recorded)

    @record_milestone.validator
    def _validate_milestone(self, recorded: RecordMilestone) -> None:
        self._check(recorded)
        self._check_in_flight(recorded)

    def _check(self, recorded: RecordMilestone) -> None:
        if refusal := milestone_refusal(self._state, recorded, workflow.now()):
            raise as_error(refusal)

    def _check_in_flight(self, recorded: RecordMilestone) -> None:
        if refusal := in_flight_refusal(self._in_flight, recorded):
            raise as_error(refusal)

    # -- coach tasks ----------------------------------------------------------------------------

    @workflow.update
    async def complete_task(self, request: CompleteTask) -> TrajectorySnapshot:
        """Close a coach task; a participant reached counts as contact and resets the ladder.
        A task listed before its rung answered is closed once it has."""
        if self._ladder.writes(request.task_id):
            await workflow.wait_condition(lambda: not self._ladder.writes(request.task_id))
            if (reason := task_refusal(self._state, request.task_id)) is not None:
                raise refused(reason)
        state, now = self._state, workflow.now()
        close_task(state, request.task_id, request.done.reached, now)
        transitions = contact(state, now, now) if request.done.reached else []
        done = TaskRecord(
            task_id=request.task_id,
            done_at=now,
            reached=request.done.reached,
            note=request.done.note,
            actor=request.actor,
        )
        return self._changes.share(
            transitions, task_done=done, contact_at=now if done.reached else None
        )

    @complete_task.validator
    def _validate_complete_task(self, request: CompleteTask) -> None:
        if refusal := holder_refusal(self._state, request.actor):
            raise as_error(refusal)
        writing = self._ladder.writing
        if (reason := task_refusal(self._state, request.task_id, writing)) is not None:
            raise refused(reason)

    # -- case managers --------------------------------------------------------------------------

    @workflow.update
    def pause(self, request: PauseTrajectory) -> TrajectorySnapshot:
        """Stop every clock."""
        changes = steering.pause(self._state, request.request.reason, workflow.now())
        return self._steered("pause", request, changes)

    @pause.validator
    def _validate_pause(self, request: PauseTrajectory) -> None:
        self._check_steering("pause", request)

    @workflow.update
    def resume(self, request: ResumeTrajectory) -> TrajectorySnapshot:
        """Restart the clocks where they stopped; after a failure, try the failed step again."""
        changes = steering.resume(self._state, request.request.reason, workflow.now())
        return self._steered("resume", request, changes)

    @resume.validator
    def _validate_resume(self, request: ResumeTrajectory) -> None:
        self._check_steering("resume", request)

    @workflow.update
    async def reassign(self, request: ReassignParticipant) -> TrajectorySnapshot:
        """Hand the participant to another partner, whose steps apply from now on."""
        partner_id = request.request.partner_id
        try:
            programme = await steps.load_programme(partner_id)
        except ActivityError:
            raise refused(f"unknown partner {partner_id}") from None
        self._check_steering("reassign", request, partner_id)
        changes = steering.reassign(self._state, programme, request.request.reason, workflow.now())
        return self._steered("reassign", request, changes)

    @reassign.validator
    def _validate_reassign(self, request: ReassignParticipant) -> None:
        self._check_steering("reassign", request, request.request.partner_id)

    @workflow.update
    def close(self, request: CloseTrajectory) -> TrajectorySnapshot:
        """End the trajectory with an outcome chosen by a case manager."""
        body = request.request
        changes = steering.close(
            self._state, body.outcome, Cause.CLOSED_BY_CASE_MANAGER, workflow.now(), body.reason
        )
        return self._steered("close", request, changes)

    @close.validator
    def _validate_close(self, request: CloseTrajectory) -> None:
        self._check_steering("close", request)

    @workflow.update
    def end_for_erasure(self) -> TrajectorySnapshot:
        """The person asked to be erased: close if open, and ask them nothing more."""
        return self._changes.share(steering.end_follow_ups(self._state, workflow.now()))

    def _check_steering(
        self, action: steering.SteeringAction, request: Steering, partner_id: str | None = None
    ) -> None:
        refusal = steering.steering_refusal(self._state, action, partner_id, request.request_id)
        if refusal is not None:
            raise refused(refusal)

    def _steered(
        self, action: steering.SteeringAction, request: Steering, changes: list[PhaseTransition]
    ) -> TrajectorySnapshot:
        """Who steered, for the timeline (the reason travels in the transition)."""
        steering.remember_steering(self._state, request.request_id)
        record = SteeringRecord(
            action=action, seq=changes[0].seq, actor=request.actor, at=workflow.now()
        )
        return self._changes.share(changes, steering=record)

    @workflow.signal
    def seat_offered(self, offer: SeatOffer) -> None:
        """A seat freed in a course this participant waits for; it lapses at its deadline."""
        for freed in offer_seat(self._state, offer):
            self._seats.hand_on_soon(freed)
        self._changes.share([])

    @workflow.signal(name=UNDELIVERED_SIGNAL)
    def nudge_undelivered(self, undelivered: UndeliveredNudge) -> None:
        """The outbox gave up on a rung's message: the ladder climbs on at once."""
        if rung_not_delivered(self._state, undelivered.nudge_seq, workflow.now()):
            self._changes.share([])

    @workflow.query
    def state(self) -> TrajectoryState:
        """Everything the trajectory knows."""
        return self._state

    @workflow.query
    def snapshot(self) -> TrajectorySnapshot:
        """The state as the API shows it."""
        return snapshot_of(self._state, workflow.now())

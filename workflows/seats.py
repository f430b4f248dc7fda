"""Training seats from the workflow's side: one seat request at a time, and every seat given up
handed on to the next in line (DESIGN §1: a seat is never given twice)."""

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.training import TrainingActivities
    from infra import contract
    from trajectory.catalogue import COURSE_FULL, UNKNOWN_COURSE
    from trajectory.milestones import MilestoneType, TrainingEnrolled, TrainingSelected
    from trajectory.records import SeatDecision, SeatOffer, SeatRelease, SeatRequest
    from trajectory.requests import RecordMilestone
    from trajectory.seats import FreedSeat
    from trajectory.state import TrajectoryState
    from workflows import steps
    from workflows.attention import Attention
    from workflows.errors import of_type, refused

SEAT_OFFER_DAYS = 3
"""Programme days the next in line has to accept a freed seat."""
SEAT_OFFERED = "seat_offered"
"""The signal that offers a freed seat to the next in line."""

Recheck = Callable[[], None]
"""Raises the caller's refusal when the trajectory no longer allows its request."""


class SeatDesk:
    """Asks PostgreSQL for seats and hands them on, for one trajectory."""

    def __init__(self, state: TrajectoryState, attention: Attention) -> None:
        self._state = state
        self._attention = attention
        self._asking = False

    async def request(self, recorded: RecordMilestone, recheck: Recheck) -> SeatDecision:
        """A seat or a waiting place for a `training_enrolled` (an application, on a course that
        selects), a seat for a `training_selected`; one request at a time.

        `recheck` runs once this request's turn comes and again after PostgreSQL answered: the
        trajectory may have changed meanwhile (paused, withdrawn, enrolled by the request
        before). Refused then, the request frees only a hold it made itself.
        """
        await workflow.wait_condition(lambda: not self._asking)
        self._asking = True
        try:
            recheck()
            decision: SeatDecision | None = await self._attention.until_done(
                f"asking for a seat in {self._course_of(recorded)}",
                lambda: self._ask(recorded),
                while_open=True,
            )
            if decision is None:
                raise refused("the trajectory closed meanwhile")
            try:
                recheck()
            except Exception:
                if decision.new_hold:
                    self.hand_on_soon(FreedSeat(decision.course_id, "expired"))
                raise
            return decision
        finally:
            self._asking = False

    @staticmethod
    def _course_of(recorded: RecordMilestone) -> str:
        payload = recorded.milestone.payload
        assert isinstance(payload, TrainingEnrolled | TrainingSelected)
        return payload.course_id

    async def _ask(self, recorded: RecordMilestone) -> SeatDecision:
        course_id = self._course_of(recorded)
        request = SeatRequest(
            participant_id=self._state.participant_id,
            course_id=course_id,
            at=workflow.now(),
            milestone_id=recorded.milestone.milestone_id,
            selected=recorded.milestone.type == MilestoneType.TRAINING_SELECTED,
        )
        try:
            return await workflow.execute_activity_method(
                TrainingActivities.request_seat,
                request,
                start_to_close_timeout=steps.ACTIVITY_TIMEOUT,
                retry_policy=steps.RETRY,
                summary=f"ask for a seat in {course_id}",
            )
        except ActivityError as error:
            if of_type(error, UNKNOWN_COURSE):
                raise refused(f"there is no course {course_id} in the training catalogue") from None
            if of_type(error, COURSE_FULL):
                raise refused(
                    f"every seat of {course_id} is taken: the selection is over"
                ) from None
            raise

    def _release(self, freed: FreedSeat) -> SeatRelease:
        now = workflow.now()
        return SeatRelease(
            participant_id=self._state.participant_id,
            course_id=freed.course_id,
            outcome=freed.outcome,
            qualification=freed.qualification,
            at=now,
            offer_until=now + self._state.day * SEAT_OFFER_DAYS,
        )

    async def hand_on(self, freed: FreedSeat) -> None:
        """Free the seat and offer it to the next in line who can still take it; when that
        fails for good, a case manager is asked to see to it."""
        release = self._release(freed)
        await self._attention.until_done(
            f"freeing a seat in {freed.course_id}", lambda: self._offer_on(release)
        )

    def hand_on_soon(self, freed: FreedSeat) -> None:
        """`hand_on` without holding up the caller (an Update answering now)."""
        release = self._release(freed)
        self._attention.in_background(
            f"freeing a seat in {freed.course_id}", lambda: self._offer_on(release)
        )

    async def _offer_on(self, release: SeatRelease) -> None:
        while True:
            offer: SeatOffer | None = await workflow.execute_activity_method(
                TrainingActivities.release_seat,
                release,
                start_to_close_timeout=steps.ACTIVITY_TIMEOUT,
                retry_policy=steps.RETRY,
                summary=f"free a seat in {release.course_id} ({release.outcome})",
            )
            if offer is None:
                return
            next_in_line = workflow.get_external_workflow_handle(
                contract.workflow_id(offer.participant_id)
            )
            try:
                await next_in_line.signal(SEAT_OFFERED, offer)
                return
            except FailureError:
                release = release.model_copy(
                    update={"participant_id": offer.participant_id, "outcome": "expired"}
                )

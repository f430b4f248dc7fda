"""A case manager's close is final: an intake check answering after it keeps their outcome."""

from datetime import UTC, datetime, timedelta

from trajectory.phases import Cause, Outcome, Status
from trajectory.programmes import load_programme
from trajectory.recording import decide_eligibility
from trajectory.records import EligibilityDecision, Rejection
from trajectory.state import TrajectoryState
from trajectory.steering import close

ENROLLED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OUTSIDE = EligibilityDecision(
    eligible=False,
    reasons=[Rejection(code="postcode_outside_region", detail="lives outside the region")],
)


def test_an_ineligible_check_after_a_case_managers_close_keeps_their_outcome() -> None:
    state = TrajectoryState.enrol(
        participant_id="p-close-stands",
        programme=load_programme("jes"),
        postcode="1800",
        language="fr",
        enrolled_at=ENROLLED,
        day_seconds=86400.0,
    )
    close(state, Outcome.WITHDRAWN, Cause.CLOSED_BY_CASE_MANAGER, ENROLLED, "moved abroad")

    moved = decide_eligibility(state, OUTSIDE, ENROLLED + timedelta(minutes=1))

    assert moved == []
    assert (state.status, state.outcome) == (Status.CLOSED, Outcome.WITHDRAWN)
    assert [reason.code for reason in state.ineligibility] == ["postcode_outside_region"]

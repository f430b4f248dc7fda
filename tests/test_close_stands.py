"""A case manager's close is final: an intake check answering after it keeps their outcome."""

from datetime import UTC, datetime, timedelta

from trajectory.phases import Outcome, Status
from trajectory.programmes import load_programme
from trajectory.records import EligibilityDecision, Rejection
from trajectory.state import TrajectoryState

ENROLLED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
OUTSIDE = EligibilityDecision(
    eligible=False,
    reasons=[Rejection(code="postcode_outside_region", detail="lives outside the region")],
)


def closed_by_a_case_manager() -> TrajectoryState:
    state = TrajectoryState.enrol(
        participant_id="p-close-stands",
        programme=load_programme("jes"),
        postcode="1800",
        language="fr",
        enrolled_at=ENROLLED,
        day_seconds=86400.0,
    )
    state.close(Outcome.WITHDRAWN, "closed by case manager: moved abroad", ENROLLED)
    return state


def test_an_ineligible_check_after_a_case_managers_close_keeps_their_outcome() -> None:
    state = closed_by_a_case_manager()

    moved = state.decide_eligibility(OUTSIDE, ENROLLED + timedelta(minutes=1), close_stands=True)

    assert moved == []
    assert (state.status, state.outcome) == (Status.CLOSED, Outcome.WITHDRAWN)
    assert state.close_reason == "closed by case manager: moved abroad"
    assert [reason.code for reason in state.ineligibility] == ["postcode_outside_region"]


def test_histories_recorded_before_the_fix_still_replay_the_overwrite() -> None:
    state = closed_by_a_case_manager()

    state.decide_eligibility(OUTSIDE, ENROLLED + timedelta(minutes=1))

    assert state.outcome == Outcome.INELIGIBLE

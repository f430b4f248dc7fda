"""A steering request is carried out once: its id is remembered, within a bound that keeps the
state small however often a trajectory is steered."""

from datetime import UTC, datetime

from trajectory.programmes import load_programme
from trajectory.state import TrajectoryState
from trajectory.steering import STEERING_IDS_KEPT, remember_steering, steering_refusal

ENROLLED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def enrolled() -> TrajectoryState:
    return TrajectoryState.enrol("p-steered", load_programme("jes"), "1080", "fr", ENROLLED, 86400)


def test_a_pause_carried_out_is_refused_when_its_id_comes_again_and_a_new_id_is_not() -> None:
    state = enrolled()
    remember_steering(state, "req-1")

    again = steering_refusal(state, "pause", request_id="req-1")

    assert again is not None and "carried out already" in again
    assert steering_refusal(state, "pause", request_id="req-2") is None
    assert steering_refusal(state, "pause") is None  # an input without an id, as before


def test_a_trajectory_steered_a_thousand_times_keeps_only_the_latest_ids() -> None:
    state = enrolled()
    for n in range(1000):
        remember_steering(state, f"req-{n}")

    assert len(state.steering_ids) == STEERING_IDS_KEPT
    assert state.steering_ids[-1] == "req-999"
    assert steering_refusal(state, "close", request_id="req-999") is not None

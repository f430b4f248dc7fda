"""When the ladder's rungs fall due, and that messages wait for daytime in Brussels."""

from datetime import UTC, datetime, timedelta

from trajectory.daytime import next_daytime
from trajectory.ladder import NudgeLadder
from trajectory.phases import Phase
from trajectory.programmes import load_programme
from trajectory.silence import next_timer
from trajectory.state import TrajectoryState


def test_a_message_due_at_night_waits_until_nine_in_brussels_winter_and_summer() -> None:
    winter_night = datetime(2026, 1, 14, 22, 30, tzinfo=UTC)  # 23:30 in Brussels
    assert next_daytime(winter_night) == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    summer_dawn = datetime(2026, 7, 2, 4, 0, tzinfo=UTC)  # 06:00 in Brussels
    assert next_daytime(summer_dawn) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    afternoon = datetime(2026, 7, 2, 13, 0, tzinfo=UTC)
    assert next_daytime(afternoon) == afternoon


def test_a_jes_ladder_climbs_from_the_coaching_timeout_to_dormancy() -> None:
    jes = load_programme("jes")
    silent_since = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    ladder = NudgeLadder(jes, Phase.COACHING, timedelta(days=1))
    timeout = jes.steps(Phase.COACHING).inactivity_days
    offsets = [(ladder.rung(n, silent_since).due_at - silent_since).days for n in range(1, 6)]
    steps = [s.after_days for s in jes.nudge_ladder]
    assert offsets == [
        timeout + sum(steps[:1]),
        timeout + sum(steps[:2]),
        timeout + sum(steps[:3]),
        timeout + sum(steps[:4]),
        timeout + sum(steps) + jes.dormant_after_days,
    ]
    assert ladder.rung(5, silent_since).is_dormancy
    outreach = ladder.rung(4, silent_since).step
    assert outreach is not None and outreach.action == "outreach"


def test_on_the_demo_clock_a_night_wait_shrinks_with_the_programme_day() -> None:
    evening = datetime(2026, 1, 14, 21, 0, tzinfo=UTC)  # 22:00 in Brussels: night
    state = TrajectoryState.enrol("p-1", load_programme("inbrussel"), "1000", "fr", evening, 1.0)
    state.eligibility = "eligible"
    timer = next_timer(state, evening)
    assert timer is not None and timer.kind == "nudge"
    due = evening + timedelta(seconds=state.programme.steps(Phase.INTAKE).inactivity_days)
    assert due < timer.at < due + timedelta(seconds=1)

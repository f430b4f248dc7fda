"""The fault suite's comparison finds what a fault could leave behind (it can fail)."""

from collections import Counter

from tests.faults.reconcile import Trajectory, compare
from tests.faults.stream import Ack


def ack(participant_id: str, milestone_id: str) -> Ack:
    return Ack(participant_id, milestone_id, first_sent=0.0, answered=1.0, attempts=1)


def held(participant_id: str, ids: list[str], revision: int = 3) -> Trajectory:
    return Trajectory(participant_id, True, [], ids, {"revision": revision})


def test_a_lost_a_doubled_and_a_stale_milestone_are_each_found() -> None:
    acks = [ack("p-1", "m-1"), ack("p-1", "m-2"), ack("p-2", "m-3")]
    workflows = [held("p-1", ["m-1"]), held("p-2", ["m-3", "m-3"], revision=4)]
    rows = {"p-1": {"revision": 3}, "p-2": {"revision": 3}}
    stored = Counter({("p-1", "m-1"): 1, ("p-1", "m-9"): 1, ("p-2", "m-3"): 2})

    findings = compare(acks, workflows, rows, stored)

    assert findings.missing_in_workflow == ["p-1/m-2"]
    assert findings.extra_in_read_model == ["p-1/m-9"]
    assert findings.duplicated == ["p-2/m-3 stored 2 times", "p-2/m-3 recorded twice"]
    assert findings.differing == ["p-2: revision"]
    assert (findings.acknowledged, findings.in_workflow, findings.in_read_model_once) == (3, 2, 1)


def test_a_trajectory_retrying_a_task_is_stuck() -> None:
    retrying = Trajectory("p-1", True, ["activity write_read_model attempt 7"], [], {})
    findings = compare([], [retrying], {"p-1": {}}, Counter())
    assert findings.stuck == ["p-1 running activity write_read_model attempt 7"]

"""Every recorded history still replays on the current code.

Until the first production deployment the recorded set is the one baseline (`r1`), recorded
again whenever the workflow changes (docs/operations.md); after it, each release's set is kept.
"""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.keys import ENCRYPTED
from tests.record_histories import SCENARIOS
from workflows.trajectory import ParticipantTrajectory

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_the_baseline_holds_a_history_of_every_scenario() -> None:
    recorded = {path.stem.split("-")[1] for path in HISTORIES if path.stem.startswith("r1-")}
    assert recorded == {scenario.__name__ for scenario in SCENARIOS}


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_a_recorded_trajectory_replays_on_the_current_code(path: Path) -> None:
    history = WorkflowHistory.from_json(f"trajectory-{path.stem}", path.read_text())
    replayer = Replayer(workflows=[ParticipantTrajectory], data_converter=ENCRYPTED)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None

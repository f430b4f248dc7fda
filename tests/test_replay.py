"""Every recorded history of every released version still replays on the current code."""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.keys import ENCRYPTED
from workflows.trajectory import ParticipantTrajectory

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_of_every_release_are_kept() -> None:
    assert {path.name.split("-")[0] for path in HISTORIES} >= {"v1", "v2", "v3"}


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_a_recorded_trajectory_replays_on_the_current_code(path: Path) -> None:
    history = WorkflowHistory.from_json(f"trajectory-{path.stem}", path.read_text())
    replayer = Replayer(workflows=[ParticipantTrajectory], data_converter=ENCRYPTED)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None

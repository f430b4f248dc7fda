"""A catalogue update or a changed partner file never wedges a running trajectory.

The saved histories replay in a copy of the code whose packaged data changed the way operators
change it: a course removed from the catalogue, a step added to a partner's programme.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("trajectory", "workflows", "activities", "infra", "readmodel", "tests")

REPLAY = """
import asyncio
from pathlib import Path
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from infra.temporal import exit_now
from tests.keys import ENCRYPTED
from workflows.trajectory import ParticipantTrajectory

async def main() -> int:
    failed = []
    paths = sorted(Path("tests/histories").glob("*.json"))
    for path in paths:
        history = WorkflowHistory.from_json(f"trajectory-{path.stem}", path.read_text())
        replayer = Replayer(workflows=[ParticipantTrajectory], data_converter=ENCRYPTED)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failed.append(path.stem)
    print(f"replayed {len(paths)}; failed: {' '.join(failed)}")
    return 1 if failed else 0

exit_now(asyncio.run(main()))
"""


def test_histories_replay_after_a_course_is_removed_and_a_programme_changes(
    tmp_path: Path,
) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    catalogue_file = tmp_path / "trajectory" / "catalogue.json"
    catalogue = json.loads(catalogue_file.read_text())
    catalogue["version"] += 1
    catalogue["courses"] = [
        c
        for c in catalogue["courses"]
        if c["course_id"] not in ("bike-courier-2026", "hvac-technician")
    ]
    catalogue_file.write_text(json.dumps(catalogue))
    programme_file = tmp_path / "trajectory" / "programmes" / "jes.json"
    programme = json.loads(programme_file.read_text())
    programme["version"] += 1
    programme_file.write_text(json.dumps(programme))

    replay = subprocess.run(
        [sys.executable, "-c", REPLAY],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    recorded = len(list((ROOT / "tests" / "histories").glob("*.json")))
    assert replay.returncode == 0, f"failed to replay: {replay.stdout} {replay.stderr[-2000:]}"
    assert replay.stdout.strip() == f"replayed {recorded}; failed:", replay.stdout

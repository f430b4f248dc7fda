"""The fault suite's figures: one row per fault, written as JSON and as a markdown table."""

import json
import os
import platform
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
JSON_FILE = ARTIFACTS / "faults.json"
MARKDOWN_FILE = ARTIFACTS / "faults.md"


@dataclass(frozen=True)
class FaultFigures:
    """What one fault did to the load, as measured from outside."""

    fault: str
    open_trajectories: int
    """Trajectories running when the fault struck (every one of the load)."""
    requests_in_flight: int
    """Milestone requests under way at the moment of the fault."""
    acknowledged: int
    """Milestones answered 200 during the run around this fault."""
    in_workflow: int
    """Of those, found in their workflow's state."""
    in_read_model_once: int
    """Of those, found exactly once in the `milestones` table."""
    duplicated: int
    """Milestones recorded twice by a workflow or stored twice, over every trajectory."""
    retried: int
    """Requests sent again after no answer or a 5xx (a 200 came after)."""
    answering_again_s: float
    """From the fault to the first 200 for a milestone sent after it."""
    read_model_caught_up_s: float
    """From the fault's end (process back) until the read model held every milestone
    answered until then."""
    longest_wait_s: float
    """The longest a partner waited for a 200, retries included."""
    failures: dict[str, int]
    """Answers that were retried, by status and error, or by transport error."""


HEADERS = {
    "fault": "fault",
    "open_trajectories": "open trajectories",
    "requests_in_flight": "requests in flight",
    "acknowledged": "milestones acknowledged (200)",
    "in_workflow": "found in workflow",
    "in_read_model_once": "found once in read model",
    "duplicated": "duplicated",
    "retried": "retried requests",
    "answering_again_s": "answering again after (s)",
    "read_model_caught_up_s": "read model caught up after (s)",
    "longest_wait_s": "longest wait for a 200 (s)",
}


def markdown(rows: list[FaultFigures]) -> str:
    """The table the README shows."""
    lines = [
        "| " + " | ".join(HEADERS.values()) + " |",
        "| --- |" + " ---: |" * (len(HEADERS) - 1),
    ]
    for row in rows:
        values = asdict(row)
        cells = [_cell(values[name]) for name in HEADERS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write(rows: list[FaultFigures], wall_s: float) -> None:
    """`tests/artifacts/faults.json` and `faults.md`, replaced at every run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "wall_s": round(wall_s, 1),
        "fields": {f.name: HEADERS.get(f.name, f.name) for f in fields(FaultFigures)},
        "faults": [asdict(row) for row in rows],
    }
    JSON_FILE.write_text(json.dumps(document, indent=2) + "\n")
    MARKDOWN_FILE.write_text(markdown(rows))

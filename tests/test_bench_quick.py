"""`make bench-quick` still runs end to end: every section gives numbers (no timing asserted)."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

EXPECTED: dict[str, tuple[tuple[str, ...], ...]] = {
    "baseline": (
        ("starts", "starts_per_s"),
        ("update", "1", "p99_ms"),
        ("update", "10", "p99_ms"),
        ("update", "10", "per_s"),
        ("signal_activity", "10", "p99_ms"),
    ),
    "milestones": (
        ("1", "p99_ms"),
        ("10", "p99_ms"),
        ("10", "per_s"),
        ("10", "lag_p99_ms"),
        ("20", "per_s"),
    ),
    "memory": (("kib_per_trajectory",), ("worker_rss_after_mib",)),
    "enrolment": (("40", "workers_1", "end_to_end_per_s"), ("40", "workers_2", "accepted_per_s")),
    "open": (("reference", "p99_ms"), ("at_open", "p99_ms"), ("server_rss_mib",)),
    "report": (("p50_ms",),),
    "cohort": (("wall_s",), ("milestones_sent",), ("nudges",)),
    "delivery": (
        ("throughput", "messages_per_s"),
        ("lag", "lag_p50_ms"),
        ("lag", "lag_p99_ms"),
    ),
}


def _at(section: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = section
    for key in path:
        value = value[key]
    return value


def test_the_quick_bench_measures_every_section(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "| figure | bare | Parcours | ratio | target |" in run.stdout

    sections = json.loads(out.read_text())["sections"]
    assert set(sections) == set(EXPECTED)
    for name, paths in EXPECTED.items():
        for path in paths:
            value = _at(sections[name], path)
            assert isinstance(value, int | float), f"{name}.{'.'.join(path)} is {value!r}"
    assert sections["milestones"]["10"]["errors"] == 0
    assert sections["cohort"]["enrolled"] == sections["cohort"]["participants"]
    assert sections["delivery"]["lag"]["messages"] == 10  # every first rung's message left

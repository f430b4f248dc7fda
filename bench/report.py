"""The results file (`bench/results/<date>.json`) and its Markdown table, each figure beside
its bare baseline as a ratio, with the issue's target."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Results = dict[str, Any]


def write_json(results: Results, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def dig(results: Results, *keys: str) -> Any:
    """`results[k1][k2]...`, or None where any step is missing."""
    value: Any = results.get("sections", {})
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


Check = Callable[[float | None, float | None, float | None], bool | None]
"""(bare, parcours, ratio) -> whether the target is met; None where it cannot be told."""


@dataclass(frozen=True)
class Row:
    figure: str
    bare: Callable[[Results], float | None]
    parcours: Callable[[Results], float | None]
    target: str
    passes: Check | None = None


def _at(*keys: str) -> Callable[[Results], float | None]:
    return lambda results: dig(results, *keys)


def _none(_: Results) -> None:
    return None


def _largest(section: str, workers: str, field: str) -> Callable[[Results], float | None]:
    """The figure of the largest size measured in an enrolment-like section."""

    def pick(results: Results) -> float | None:
        sizes = dig(results, section) or {}
        numeric = sorted((int(size) for size in sizes if size.isdigit()), reverse=True)
        for size in numeric:
            value = dig(results, section, str(size), workers, field)
            if value is not None:
                return float(value)
        return None

    return pick


def _enrolment_scaling(results: Results) -> float | None:
    one = _largest("enrolment", "workers_1", "end_to_end_per_s")(results)
    two = _largest("enrolment", "workers_2", "end_to_end_per_s")(results)
    return round(two / one, 2) if one and two else None


def _cohort_minutes(results: Results) -> float | None:
    seconds = dig(results, "cohort", "wall_s")
    return round(seconds / 60, 2) if seconds is not None else None


def _ratio_at_most(limit: float) -> Check:
    return lambda _b, _p, ratio: None if ratio is None else ratio <= limit


def _ratio_at_least(limit: float) -> Check:
    return lambda _b, _p, ratio: None if ratio is None else ratio >= limit


def _value_below(limit: float) -> Check:
    return lambda _b, value, _r: None if value is None else value < limit


ROWS: tuple[Row, ...] = (
    Row("workflow starts/s (bare) vs enrolment accepted/s",
        _at("baseline", "starts", "starts_per_s"),
        _largest("enrolment", "workers_1", "accepted_per_s"), "—"),
    Row("enrolment end to end/s, 1 worker (vs bare starts/s)",
        _at("baseline", "starts", "starts_per_s"),
        _largest("enrolment", "workers_1", "end_to_end_per_s"), "≥ 0.5x", _ratio_at_least(0.5)),
    Row("enrolment end to end, 2 workers ÷ 1 worker", _none, _enrolment_scaling,
        "≥ 1.6x (cores permitting)", lambda _b, value, _r: None if value is None else value >= 1.6),
    Row("1 client: p50 ms (bare Update vs milestone via API)",
        _at("baseline", "update", "1", "p50_ms"), _at("milestones", "1", "p50_ms"), "—"),
    Row("1 client: p99 ms",
        _at("baseline", "update", "1", "p99_ms"), _at("milestones", "1", "p99_ms"), "—"),
    Row("10 clients: p50 ms",
        _at("baseline", "update", "10", "p50_ms"), _at("milestones", "10", "p50_ms"), "—"),
    Row("10 clients: p95 ms",
        _at("baseline", "update", "10", "p95_ms"), _at("milestones", "10", "p95_ms"), "—"),
    Row("10 clients: p99 ms",
        _at("baseline", "update", "10", "p99_ms"), _at("milestones", "10", "p99_ms"),
        "≤ 1.5x", _ratio_at_most(1.5)),
    Row("10 clients, Update straight to the trajectory (no API): p50 ms",
        _at("baseline", "update", "10", "p50_ms"), _at("milestones", "direct_update_10", "p50_ms"),
        "—"),
    Row("10 clients, Update straight to the trajectory (no API): p99 ms",
        _at("baseline", "update", "10", "p99_ms"), _at("milestones", "direct_update_10", "p99_ms"),
        "—"),
    Row("10 clients, Update straight to the trajectory (no API): per second",
        _at("baseline", "update", "10", "per_s"), _at("milestones", "direct_update_10", "per_s"),
        "—"),
    Row("10 clients: per second",
        _at("baseline", "update", "10", "per_s"), _at("milestones", "10", "per_s"),
        "≥ 0.6x", _ratio_at_least(0.6)),
    Row("10 clients, 2 worker processes: per second",
        _at("baseline", "update", "10", "per_s"), _at("milestones", "two_workers_10", "per_s"),
        "—"),
    Row("20 clients: p99 ms (bare at 10)",
        _at("baseline", "update", "10", "p99_ms"), _at("milestones", "20", "p99_ms"), "—"),
    Row("20 clients: per second (bare at 10)",
        _at("baseline", "update", "10", "per_s"), _at("milestones", "20", "per_s"), "—"),
    Row("signal → activity → done, 10 clients: p99 ms (bare only)",
        _at("baseline", "signal_activity", "10", "p99_ms"), _none, "—"),
    Row("read-model lag p50 ms, 10 clients", _none, _at("milestones", "10", "lag_p50_ms"), "—"),
    Row("read-model lag p99 ms, 10 clients", _none, _at("milestones", "10", "lag_p99_ms"),
        "< 1000 ms", _value_below(1000)),
    Row("worker memory KiB per cached trajectory", _none,
        _at("memory", "kib_per_trajectory"), "≤ 150 KiB", _value_below(150.0001)),
    Row("milestone p99 ms, 10 clients, over all open (Parcours) vs over 1,000 (bare column)",
        _at("open", "reference", "p99_ms"), _at("open", "at_open", "p99_ms"),
        "≤ 1.2x", _ratio_at_most(1.2)),
    Row("milestone p50 ms, 10 clients, over all open vs over 1,000",
        _at("open", "reference", "p50_ms"), _at("open", "at_open", "p50_ms"), "—"),
    Row("worker RSS MiB with all open", _none, _at("open", "worker_rss_mib"), "—"),
    Row("dev server RSS MiB with all open", _none, _at("open", "server_rss_mib"), "—"),
    Row("programme report p50 ms", _none, _at("report", "p50_ms"), "—"),
    Row("cohort on the time-skipping server, minutes", _none, _cohort_minutes,
        "< 5", _value_below(5)),
)  # fmt: skip


def _cell(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def markdown(results: Results) -> str:
    """The table: figure | bare | Parcours | ratio | target (✓/✗ where a target applies)."""
    lines = ["| figure | bare | Parcours | ratio | target |", "| --- | ---: | ---: | ---: | --- |"]
    for row in ROWS:
        bare, value = row.bare(results), row.parcours(results)
        if bare is None and value is None:
            continue
        ratio = round(value / bare, 2) if bare and value is not None else None
        met = row.passes(bare, value, ratio) if row.passes else None
        mark = "" if met is None else (" ✓" if met else " ✗")
        ratio_cell = f"{ratio:.2f}x" if ratio is not None else "—"
        lines.append(
            f"| {row.figure} | {_cell(bare)} | {_cell(value)} | {ratio_cell} | {row.target}{mark} |"
        )
    return "\n".join(lines)

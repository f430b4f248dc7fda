"""The fault figures' table at the end of a run, also when an xdist worker ran the faults.

The root conftest registers these hooks: under xdist the main process collects nothing, so
it never loads `tests/faults/conftest.py`.
"""

from typing import Any

import pytest
from _pytest.terminal import TerminalReporter

from tests.faults import figures
from tests.faults.figures import FaultFigures

TABLE = pytest.StashKey[str]()
WORKER_OUTPUT = "faults_table"
"""Key of the table in an xdist worker's output to the main process."""


def keep(config: pytest.Config, rows: list[FaultFigures], wall_s: float) -> None:
    """Write the figures where the faults ran, and keep their table for the summary (an xdist
    worker hands it to the main process)."""
    figures.write(rows, wall_s)
    config.stash[TABLE] = figures.markdown(rows)
    if (sent := getattr(config, "workeroutput", None)) is not None:
        sent[WORKER_OUTPUT] = config.stash[TABLE]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """An xdist worker (its untyped `WorkerController`) ended: keep the table it sent."""
    if table := getattr(node, "workeroutput", {}).get(WORKER_OUTPUT):
        node.config.stash[TABLE] = table


def pytest_terminal_summary(terminalreporter: TerminalReporter, config: pytest.Config) -> None:
    if (table := config.stash.get(TABLE, None)) is None:
        return
    terminalreporter.section("faults under load")
    terminalreporter.write(table)
    terminalreporter.write_line(f"written to {figures.JSON_FILE} and {figures.MARKDOWN_FILE}")

"""The fault suite's stack: real processes on free ports, 500 open trajectories; its figures."""

import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from _pytest.terminal import TerminalReporter

from bench.parcours import enrol, people
from bench.stack import parcours_stack, workdir
from infra.database import open_pool
from infra.settings import Settings
from tests.faults import figures
from tests.faults.figures import FaultFigures
from tests.faults.scenario import Load
from tests.faults.stack import temporal_client

LOGS = figures.ARTIFACTS / "faults-logs"
OPEN_TRAJECTORIES = 500
"""The load every fault strikes under (issue 9)."""

_FIGURES = pytest.StashKey[list[FaultFigures]]()
_STARTED = pytest.StashKey[float]()
_TABLE = pytest.StashKey[str]()
_WORKER_TABLE = "faults_table"
"""Key of the figures table in an xdist worker's output to the main process."""


@pytest.fixture(scope="package")
async def load(request: pytest.FixtureRequest) -> AsyncIterator[Load]:
    """Temporal, PostgreSQL, one worker and the API as processes, with 500 people enrolled
    through `python -m starter enrol` and their intake decided."""
    request.config.stash[_STARTED] = time.monotonic()
    async with workdir() as path, parcours_stack(path) as stack:
        enrolled = await enrol(stack, OPEN_TRAJECTORIES)
        assert enrolled["end_to_end_done"] == OPEN_TRAJECTORIES, enrolled
        everyone = await people(stack, enrolled["prefix"])
        assert len(everyone) == OPEN_TRAJECTORIES
        client = await temporal_client(stack)
        database = await open_pool(Settings(database_url=stack.database_url))
        try:
            yield Load(stack, everyone, client, database)
        finally:
            await database.close()
            keep_logs(path)


def keep_logs(path: Path) -> None:
    """The processes' logs, into tests/artifacts/faults-logs/ before the stack's directory goes."""
    LOGS.mkdir(parents=True, exist_ok=True)
    for log in LOGS.glob("*.log"):
        log.unlink()
    for log in path.glob("*.log"):
        shutil.copy2(log, LOGS / log.name)
    postgres_log = path / "postgres" / "log"
    if postgres_log.exists():
        shutil.copy2(postgres_log, LOGS / "postgres.log")


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Callable[[FaultFigures], None]:
    """Keep a fault's figures for the table printed and written at the end of the run."""
    config = request.config

    def keep(row: FaultFigures) -> None:
        config.stash.setdefault(_FIGURES, []).append(row)

    return keep


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the figures where the faults ran; an xdist worker hands its table to the main
    process, which prints it."""
    config = session.config
    rows = config.stash.get(_FIGURES, [])
    if not rows:
        return
    figures.write(rows, time.monotonic() - config.stash[_STARTED])
    config.stash[_TABLE] = figures.markdown(rows)
    if (sent := getattr(config, "workeroutput", None)) is not None:
        sent[_WORKER_TABLE] = config.stash[_TABLE]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """An xdist worker (its untyped `WorkerController`) ended: keep the figures table it ran the
    faults for."""
    if table := getattr(node, "workeroutput", {}).get(_WORKER_TABLE):
        node.config.stash[_TABLE] = table


def pytest_terminal_summary(terminalreporter: TerminalReporter, config: pytest.Config) -> None:
    if (table := config.stash.get(_TABLE, None)) is None:
        return
    terminalreporter.section("faults under load")
    terminalreporter.write(table)
    terminalreporter.write_line(f"written to {figures.JSON_FILE} and {figures.MARKDOWN_FILE}")

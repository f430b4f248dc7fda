"""The fault suite's stack: real processes on free ports, 500 open trajectories; its figures."""

import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bench.parcours import enrol, people
from bench.stack import parcours_stack, workdir
from infra.database import open_pool
from infra.settings import Settings
from tests.faults import figures, summary
from tests.faults.figures import FaultFigures
from tests.faults.scenario import Load
from tests.faults.stack import temporal_client

LOGS = figures.ARTIFACTS / "faults-logs"
OPEN_TRAJECTORIES = 500
"""The load every fault strikes under (issue 9)."""

_FIGURES = pytest.StashKey[list[FaultFigures]]()
_STARTED = pytest.StashKey[float]()


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
    config = session.config
    if rows := config.stash.get(_FIGURES, []):
        summary.keep(config, rows, time.monotonic() - config.stash[_STARTED])

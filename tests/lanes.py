"""How `make test` shares the files among its pytest-xdist workers (`--dist loadfile`).

A file stays on one worker, so its module fixtures are made once; the fault suite is one unit,
as its stack is. Files that run stacks of processes flat out go one after the other in one
lane, so that on two cores no more than two of them (that lane and the fault suite) compete.
The longest units start first: none is left running alone at the end.
"""

import pytest
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

LONGEST_FIRST = (
    "tests/faults/",
    "tests/test_bench_quick.py",
    "tests/test_erasure.py",
    "tests/test_many_workers.py",
    "tests/test_web_ui_browser.py",
    "tests/test_web_app_browser.py",
    "tests/test_api_fuzz.py",
    "tests/test_training_seats.py",
    "tests/test_entrypoint.py",
)
"""Files and folders by time taken (`pytest --durations`, issue 17), longest first."""
STACKS = "stacks of processes under full load"
LANES = {
    "tests/test_bench_quick.py": STACKS,
    "tests/test_many_workers.py": STACKS,
    "tests/test_api_fuzz.py": STACKS,
}
"""Files that share a unit of work with others, by the unit's name."""


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its lane, the fault suite, or else its file."""
    path = nodeid.split("::", 1)[0]
    if path.startswith("tests/faults/"):
        return "tests/faults/"
    return LANES.get(path, path)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first; the order is the same in every worker, as xdist requires."""

    def rank(item: pytest.Item) -> int:
        starts = (i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix))
        return next(starts, len(LONGEST_FIRST))

    items.sort(key=rank)


class Lanes(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
    """`--dist loadfile`, with the units of `unit_of`."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> Lanes | None:
    """Lanes for `--dist loadfile`; xdist's own scheduler for any other `--dist`."""
    if config.getoption("dist") != "loadfile":
        return None
    return Lanes(config, log)

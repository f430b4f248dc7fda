"""The layout rules `make lint` adds to ruff and mypy catch what they are for, on trees planted
with it, and pass on this repository's tree where they already hold."""

from pathlib import Path

from tools.module_sizes import oversized
from tools.sql_outside_readmodel import offences

ROOT = Path(__file__).parents[1]


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_sql_planted_outside_the_read_model_is_named_with_its_line(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "api/health.py": (
                '"""Reads nothing: SELECT in a docstring is prose."""\n'
                'QUERY = "select count(*) from trajectories"\n'
                "def forget(table: str) -> str:\n"
                '    return f"DELETE FROM {table} WHERE participant_id = $1"\n'
            ),
            "starter/ping.py": 'PING = "SELECT 1"\n',
            "infra/schema.sql": "CREATE TABLE t (x int);\n",
            "readmodel/trajectories.py": 'ROWS = "SELECT * FROM trajectories"\n',
            "api/words.py": 'HELP = "select a partner from the list, then update the form"\n',
        },
    )

    assert sorted(offences(root)) == [
        "api/health.py:2: select count(*) from trajectories",
        "api/health.py:4: DELETE FROM WHERE participant_id = $1",
        "infra/schema.sql: an SQL file",
        "starter/ping.py:1: SELECT 1",
    ]


def test_this_repository_holds_sql_in_the_read_model_only() -> None:
    assert offences(ROOT) == []


def test_modules_over_their_packages_limit_are_named(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "workflows/loop.py": "x = 1\n" * 300,
            "workflows/writer.py": "x = 1\n" * 301,
            "trajectory/state.py": "x = 1\n" * 401,
            "trajectory/ladder.py": "x = 1\n" * 400,
            "readmodel/reports.py": "x = 1\n" * 900,
        },
    )

    assert oversized(root) == [
        "workflows/writer.py: 301 lines (limit 300)",
        "trajectory/state.py: 401 lines (limit 400)",
    ]

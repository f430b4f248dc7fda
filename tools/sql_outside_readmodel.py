"""Fail when SQL appears in the application outside `readmodel/` (run by `make lint`).

Every string literal of every module of the application packages (docstrings aside) is matched
against SQL's statements and clauses, in capitals as this code writes them, and against shapes
that are SQL in any case; `.sql` files count too. `tests/` and `bench/` inspect
the database on purpose and are not checked.

    python -m tools.sql_outside_readmodel [ROOT]
"""

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

APPLICATION = (
    "trajectory", "infra", "activities", "workflows", "worker", "reporting", "api", "starter",
)  # fmt: skip
"""The packages of the application, as the import contract in `pyproject.toml` names them."""
HOME = "readmodel"

SQL_KEYWORDS = re.compile(
    r"""
    \bSELECT\b [\s\S]* \bFROM\b
    | \bSELECT \s+ (?: \d | \$\d | pg_\w+ \s* \( | EXISTS \s* \( | count \s* \( )
    | \bINSERT \s+ INTO\b
    | \bUPDATE \s+ \w+ \s+ SET\b
    | \bDELETE \s+ FROM\b
    | \b(?:CREATE|ALTER|DROP) \s+ (?:UNIQUE \s+)? (?:TABLE|INDEX|FUNCTION|DATABASE|SCHEMA
        |EXTENSION|VIEW|SEQUENCE|TYPE|TRIGGER)\b
    | \bTRUNCATE \s+ (?:TABLE \s+)? \w+
    | \bON \s+ CONFLICT\b
    """,
    re.VERBOSE,
)
"""SQL as this code base writes it: keywords in capitals."""
SQL_ANY_CASE = re.compile(
    r"""
    \bselect \s+ (?: \* | count \s* \( | \d+ \b)
    | \bfrom \s+ \w+ \s+ where\b
    | \binsert \s+ into \s+ \w+ \s* \(
    | \bupdate \s+ \w+ \s+ set \s+ \w+ \s* =
    | \bdelete \s+ from \s+ \w+ \s+ where\b
    | \bon \s+ conflict\b
    """,
    re.VERBOSE | re.IGNORECASE,
)
"""Shapes that are SQL in any case and never prose."""


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the string nodes that are docstrings (module, class, function)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _strings(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal that is not a docstring; an f-string's literal
    parts are joined, its placeholders left out."""
    skipped = _docstrings(tree)
    parts_of_fstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [
                value.value
                for value in node.values
                if isinstance(value, ast.Constant) and isinstance(value.value, str)
            ]
            parts_of_fstrings.update(id(value) for value in node.values)
            yield node.lineno, " ".join(parts)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skipped
            and id(node) not in parts_of_fstrings
        ):
            yield node.lineno, node.value


def offences(root: Path) -> list[str]:
    """`path:line: text` for each SQL string or `.sql` file outside `readmodel/`."""
    found: list[str] = []
    for package in APPLICATION:
        for path in sorted((root / package).rglob("*")):
            where = path.relative_to(root)
            if path.suffix == ".sql":
                found.append(f"{where}: an SQL file")
            if path.suffix != ".py" or "__pycache__" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for line, text in sorted(_strings(tree)):
                if SQL_KEYWORDS.search(text) or SQL_ANY_CASE.search(text):
                    shown = " ".join(text.split())[:80]
                    found.append(f"{where}:{line}: {shown}")
    return found


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    found = offences(root)
    for offence in found:
        sys.stderr.write(f"{offence}\n")
    if found:
        sys.stderr.write(f"SQL outside {HOME}/: move it to a {HOME}/ module named for its data\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

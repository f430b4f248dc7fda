"""Fail when a module outgrows its package's limit (run by `make lint`).

A workflow is read in one sitting: no module in `workflows/` over 300 lines; the domain's state
split by concern: none in `trajectory/` over 400.

    python -m tools.module_sizes [ROOT]
"""

import sys
from pathlib import Path

LIMITS = {"workflows": 300, "trajectory": 400}
"""Lines a module of each package may have at most."""


def oversized(root: Path) -> list[str]:
    """`path: N lines (limit L)` for each module over its package's limit."""
    found: list[str] = []
    for package, limit in LIMITS.items():
        for path in sorted((root / package).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                found.append(f"{path.relative_to(root)}: {lines} lines (limit {limit})")
    return found


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    found = oversized(root)
    for module in found:
        sys.stderr.write(f"{module}\n")
    if found:
        sys.stderr.write("split these modules by concern\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

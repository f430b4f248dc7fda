"""The report's tables as CSV, one file per table, and as cells for the HTML page.

In both, the rows that count every partner, rung or channel together say `all`.
"""

import csv
import io
from typing import Any

from trajectory.programme_report import ROWS, TABLES, ProgrammeReport, Table

EVERY = "all"
_GROUPING = frozenset({"partner_id", "level", "channel", "gender"})
"""Columns where null stands for every value together."""


def columns(table: Table) -> list[str]:
    """The table's column names, in order."""
    return list(ROWS[table].model_fields)


def cells(report: ProgrammeReport, table: Table) -> list[list[Any]]:
    """The table's rows as plain values, in the order of `columns(table)`."""
    rows = []
    for row in report.table(table):
        values = row.model_dump(mode="json")
        rows.append([EVERY if v is None and k in _GROUPING else v for k, v in values.items()])
    return rows


def table_csv(report: ProgrammeReport, table: Table) -> str:
    """One table as CSV with a header row; empty cells where a figure cannot be computed."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns(table))
    writer.writerows(cells(report, table))
    return out.getvalue()


def report_csv(report: ProgrammeReport) -> dict[str, str]:
    """Every table as CSV, by table name."""
    return {table: table_csv(report, table) for table in TABLES}

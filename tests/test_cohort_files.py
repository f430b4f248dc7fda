"""Cohort files as they arrive from spreadsheets: a file that cannot be read enrols no one and
says why, line included; a bad row is named, and what came from it is shown inert."""

import argparse
import codecs
import csv
import io
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra.database import Pool
from starter import cohort
from starter.cohort import COLUMNS, inert, read_cohort
from tests.api_fixtures import starter
from tests.test_cohort_import import cohort_row

SAVE_AS = "save it from the spreadsheet as 'CSV UTF-8 (comma delimited)'"


def csv_text(rows: list[dict[str, Any]], delimiter: str = ",") -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.get(column, "") for column in COLUMNS])
    return out.getvalue()


def run(path: Path) -> int:
    return cohort.run(argparse.Namespace(file=path, concurrency=4, report=None))


def latin1_on_line_3(rows: list[dict[str, Any]]) -> bytes:
    rows[1]["given_name"] = "Élise"
    lines = csv_text(rows).split("\r\n")
    return "\r\n".join(lines[:2]).encode() + b"\r\n" + "\r\n".join(lines[2:]).encode("latin-1")


UNREADABLE: dict[str, tuple[Any, str]] = {
    # the file's bytes from three good rows, and what the message says
    "Latin-1": (latin1_on_line_3, "line 3 is not UTF-8 (byte 0xC9; Latin-1 and Windows-1252"),
    "UTF-16 with BOM": (
        lambda rows: codecs.BOM_UTF16_LE + csv_text(rows).encode("utf-16-le"),
        f"the file is UTF-16, not UTF-8; {SAVE_AS}",
    ),
    "UTF-16 without BOM": (
        lambda rows: csv_text(rows).encode("utf-16-le"),
        "line 1 holds a NUL byte, so this is not a CSV text file (binary, or UTF-16)",
    ),
    "UTF-32": (
        lambda rows: csv_text(rows).encode("utf-32"),
        f"the file is UTF-32, not UTF-8; {SAVE_AS}",
    ),
    "binary": (
        lambda rows: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
        "line 3 holds a NUL byte, so this is not a CSV text file",
    ),
    "semicolons": (
        lambda rows: csv_text(rows, ";").encode(),
        f"the columns are separated by semicolons, not commas; {SAVE_AS}",
    ),
    "tabs": (
        lambda rows: csv_text(rows, "\t").encode(),
        f"the columns are separated by tabs, not commas; {SAVE_AS}",
    ),
    "a field of 200 KB": (
        lambda rows: (csv_text(rows) + "X-1,jes," + "y" * 200_000 + "\r\n").encode(),
        "line 5: field larger than field limit (131072)",
    ),
    "no header": (lambda rows: b"", "missing columns: external_ref, partner_id"),
}


@pytest.mark.parametrize("kind", list(UNREADABLE), ids=list(UNREADABLE))
def test_a_file_that_cannot_be_read_stops_with_the_line_and_the_fix_before_enrolling_anyone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    content, message = UNREADABLE[kind]
    path = tmp_path / "cohort.csv"
    path.write_bytes(content([cohort_row() for _ in range(3)]))

    code = run(path)

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"starter enrol: error: {path}: ")
    assert message in err, err


def test_a_utf8_file_with_a_byte_order_mark_reads_as_any_other(tmp_path: Path) -> None:
    rows = [cohort_row() for _ in range(2)]
    path = tmp_path / "cohort.csv"
    path.write_bytes(codecs.BOM_UTF8 + csv_text(rows).encode())

    read = read_cohort(path)

    assert [r["external_ref"] for _, r in read] == [row["external_ref"] for row in rows]


async def test_an_unreadable_file_enrols_none_of_its_good_rows(pool: Pool, tmp_path: Path) -> None:
    rows = [cohort_row() for _ in range(3)]
    path = tmp_path / "cohort.csv"
    path.write_bytes(latin1_on_line_3(rows))

    assert run(path) == 2

    refs = [row["external_ref"] for row in rows]
    enrolled = await pool.fetchval(
        "SELECT count(*) FROM participants WHERE external_ref = ANY($1)", refs
    )
    assert enrolled == 0


HOSTILE_REFS = [
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "\x1b[31mred\x1b[0m\x1b]0;title\x07",
    "\u202eevil\u2066txt",
    "R-" + "9" * 10_000,
]


def test_what_a_row_said_is_shown_inert() -> None:
    shown = [inert(ref, 80) for ref in HOSTILE_REFS]

    assert shown[:6] == [
        '\'=HYPERLINK("http://evil.example","click")',
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "'@SUM(1,2)",
        "'=1+1",
        "'=1+1",
    ]
    assert shown[6] == "[31mred[0m]0;title"
    assert shown[7] == "eviltxt"
    assert len(shown[8]) == 80 and shown[8].endswith("…")


async def test_rejected_rows_are_named_and_their_references_reach_the_terminal_and_report_inert(
    dev_env: WorkflowEnvironment,
    dev_worker: Worker,
    database_url: str,
    pool: Pool,
    tmp_path: Path,
) -> None:
    good = cohort_row()
    hostile = [cohort_row(external_ref=ref, birth_date="not a date") for ref in HOSTILE_REFS]
    huge_name = cohort_row(given_name="N" * 100_000)
    lines = csv_text([good, *hostile, huge_name]).split("\r\n")
    short = cohort_row()
    lines.insert(-1, ",".join(str(short[c]) for c in COLUMNS[:-2]))
    path = tmp_path / "cohort.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    report = tmp_path / "rejected.csv"

    code, out, err = await starter(
        dev_env, database_url, "enrol", "--file", str(path), "--report", str(report)
    )

    assert code == 1, err
    assert out.splitlines()[0] == (
        "enrolled: 1, already enrolled: 0, enrolled under another reference: 0, rejected: 11"
    )
    assert "\x1b" not in out and "\u202e" not in out and "\t" not in out and "\r" not in out
    listed = out.splitlines()[1:-1]
    assert listed[0].startswith('row 3 (\'=HYPERLINK("http://evil.example","click")): ')
    assert listed[6].startswith("row 9 ([31mred[0m]0;title): ")
    assert listed[7].startswith("row 10 (eviltxt): ")
    assert listed[8].startswith("row 11 (R-999") and listed[8].index("…): ") == 8 + 79
    assert listed[9].startswith(f"row 12 ({huge_name['external_ref']}): ")
    assert listed[9].endswith("person.given_name: String should have at most 100 characters")
    assert listed[10].startswith("row 13 (") and listed[10].endswith(
        "2 fewer fields than the header has"
    )
    with report.open(newline="", encoding="utf-8") as file:
        cells = [line["external_ref"] for line in csv.DictReader(file)]
    assert cells[:6] == [inert(ref) for ref in HOSTILE_REFS[:6]]
    assert all(cell[0] not in "=+-@\t\r" for cell in cells)
    assert max(len(cell) for cell in cells) <= 80
    enrolled = await pool.fetchval(
        "SELECT count(*) FROM participants WHERE external_ref = $1", good["external_ref"]
    )
    assert enrolled == 1

"""Enrolling a cohort from a CSV file: good rows enrol, bad rows are reported, re-runs are safe."""

import argparse
import csv
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra.database import Pool
from starter import cohort
from starter.cohort import COLUMNS, enrol_cohort, read_cohort, write_report
from tests.api_fixtures import starter
from tests.people import enrolment


def cohort_row(partner_id: str = "jes", **changes: Any) -> dict[str, Any]:
    """A CSV row for a made-up eligible youth; `changes` override columns."""
    request = enrolment(partner_id)
    person = request.person
    row = {
        "external_ref": f"COHORT-{uuid.uuid4().hex[:12]}",
        "partner_id": partner_id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "birth_date": person.birth_date.isoformat(),
        "national_number": person.national_number,
        "postcode": person.postcode,
        "phone": person.phone or "",
        "email": person.email or "",
        "language": person.language,
        "employed": "false",
        "in_education": "false",
        "in_training": "no",
        "other_measure": "0",
    }
    return {**row, **changes}


def write_cohort(path: Path, rows: list[dict[str, Any]], extra_last: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([row.get(column, "") for column in COLUMNS])
        if extra_last:
            writer.writerow([*cohort_row().values(), "surplus"])
    return path


def mixed_rows() -> list[dict[str, Any]]:
    good = [cohort_row(p) for p in ("jes", "inbrussel", "orientaeuro", "groep-intro")]
    good[3]["phone"] = good[3]["email"] = ""  # optional columns may stay empty
    return [
        *good,
        dict(good[0]),  # the same person twice in the file
        cohort_row(national_number="04051701708"),
        cohort_row(partner_id="acme"),
        cohort_row(given_name=""),
        cohort_row(employed="sometimes"),
    ]


async def test_a_cohort_with_good_duplicate_and_bad_rows_enrols_the_good_and_reports_the_rest(
    dev_env: WorkflowEnvironment, dev_worker: Worker, pool: Pool, tmp_path: Path
) -> None:
    rows = mixed_rows()
    path = write_cohort(tmp_path / "cohort.csv", rows, extra_last=True)

    summary = await enrol_cohort(dev_env.client, pool, read_cohort(path), concurrency=4)

    assert (summary.enrolled, summary.already_enrolled, len(summary.rejected)) == (4, 1, 5)
    reasons = {r.row: r.reason or "" for r in summary.rejected}
    assert sorted(reasons) == [7, 8, 9, 10, 11]
    assert reasons[7].startswith("person.national_number: ")
    assert "04051701708" not in reasons[7]
    assert reasons[8].startswith("partner_id: no programme for partner 'acme'")
    assert reasons[9].startswith("person.given_name: ")
    assert reasons[10].startswith("status.employed: ")
    assert reasons[11] == "1 more fields than the header has"
    assert [r.external_ref for r in summary.rejected][:4] == [r["external_ref"] for r in rows[5:9]]
    refs = [r["external_ref"] for r in rows[:4]]
    enrolled = await pool.fetchval(
        "SELECT count(*) FROM participants WHERE external_ref = ANY($1)", refs
    )
    assert enrolled == 4

    report = tmp_path / "rejected.csv"
    write_report(report, summary.rejected)
    with report.open(newline="") as file:
        lines = list(csv.DictReader(file))
    assert [line["row"] for line in lines] == ["7", "8", "9", "10", "11"]
    assert lines[1] == {
        "row": "8",
        "external_ref": rows[6]["external_ref"],
        "reason": reasons[8],
    }


async def test_running_the_file_again_after_an_interruption_enrols_only_what_is_missing(
    dev_env: WorkflowEnvironment, dev_worker: Worker, pool: Pool, tmp_path: Path
) -> None:
    path = write_cohort(tmp_path / "cohort.csv", [cohort_row() for _ in range(12)])
    rows = read_cohort(path)
    interrupted = await enrol_cohort(dev_env.client, pool, rows[:5], concurrency=3)
    assert interrupted.enrolled == 5

    rerun = await enrol_cohort(dev_env.client, pool, rows, concurrency=8)
    assert (rerun.enrolled, rerun.already_enrolled, rerun.rejected) == (7, 5, [])


async def test_the_enrol_command_prints_a_summary_writes_the_report_and_exits_1_on_rejections(
    dev_env: WorkflowEnvironment, dev_worker: Worker, database_url: str, tmp_path: Path
) -> None:
    path = write_cohort(tmp_path / "cohort.csv", mixed_rows())
    report = tmp_path / "rejected.csv"
    code, out, err = await starter(
        dev_env,
        database_url,
        "enrol",
        "--file",
        str(path),
        "--concurrency",
        "4",
        "--report",
        str(report),
    )
    assert code == 1, err
    assert out.splitlines()[0] == (
        "enrolled: 4, already enrolled: 1, enrolled under another reference: 0, rejected: 4"
    )
    assert "row 7 (" in out and "person.national_number: " in out
    assert len(report.read_text().splitlines()) == 5


def test_a_file_without_the_expected_columns_stops_before_enrolling_anyone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("ref,name\nPES-1,Yasmina\n")
    assert cohort.run(argparse.Namespace(file=path, concurrency=32, report=None)) == 2
    assert "missing columns: external_ref, partner_id" in capsys.readouterr().err

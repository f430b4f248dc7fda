"""One person, one open trajectory: the same national number under a second reference is refused
while the first trajectory is open (DESIGN §8.1), matched by a keyed hash, never the number."""

import asyncio
import csv
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra.codec import Keyring
from infra.database import Pool
from infra.person_keys import PersonKeys, configured_person_keys
from infra.settings import get_settings
from readmodel.persons import erase_person
from starter.cohort import enrol_cohort, read_cohort, write_report
from tests.api_fixtures import Keys, bearer, enrolment_body
from tests.test_cohort_import import cohort_row, write_cohort


def under_another_reference(body: dict[str, Any]) -> dict[str, Any]:
    """The same person, sent again by the PES under a new reference."""
    again = enrolment_body(body["partner_id"])
    return {**again, "person": body["person"]}


async def released(pool: Pool, participant_id: str, seconds: float = 10) -> None:
    """Wait until the read model knows the trajectory closed (it follows the workflow)."""
    deadline = asyncio.get_running_loop().time() + seconds
    query = "SELECT open FROM person_fingerprints WHERE participant_id = $1"
    while await pool.fetchval(query, participant_id):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{participant_id} still holds its person")
        await asyncio.sleep(0.05)


async def test_a_second_enrolment_of_the_same_person_is_refused_with_the_first_participants_id(
    api: httpx.AsyncClient, keys: Keys, pool: Pool
) -> None:
    first = enrolment_body("jes")
    enrolled = await api.post("/v1/participants", json=first, headers=bearer(keys.backend))
    assert enrolled.status_code == 201, enrolled.text
    participant_id = enrolled.json()["participant_id"]

    second = under_another_reference(first)
    refused = await api.post("/v1/participants", json=second, headers=bearer(keys.backend))

    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "already_enrolled"
    assert body["participant_id"] == participant_id
    assert first["person"]["national_number"] not in refused.text
    refs = await pool.fetchval(
        "SELECT count(*) FROM participants WHERE external_ref = $1", second["external_ref"]
    )
    assert refs == 0
    again = await api.post("/v1/participants", json=first, headers=bearer(keys.backend))
    assert again.status_code == 200 and again.json()["participant_id"] == participant_id


async def test_the_same_person_sent_twice_at_once_under_two_references_is_enrolled_once(
    api: httpx.AsyncClient, keys: Keys
) -> None:
    first = enrolment_body("inbrussel")
    bodies = [first, *(under_another_reference(first) for _ in range(3))]
    answers = await asyncio.gather(
        *(api.post("/v1/participants", json=b, headers=bearer(keys.backend)) for b in bodies)
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    winner = next(a.json()["participant_id"] for a in answers if a.status_code == 201)
    assert {a.json()["participant_id"] for a in answers if a.status_code == 409} == {winner}


async def test_once_the_first_trajectory_is_closed_the_person_may_be_enrolled_again(
    api: httpx.AsyncClient, keys: Keys, pool: Pool
) -> None:
    first = enrolment_body("jes")
    enrolled = await api.post("/v1/participants", json=first, headers=bearer(keys.backend))
    participant_id = enrolled.json()["participant_id"]
    closed = await api.post(
        f"/v1/participants/{participant_id}/close",
        json={"outcome": "moved_away", "reason": "moved to Liège, back a year later"},
        headers=bearer(keys.case_manager),
    )
    assert closed.status_code == 200, closed.text
    await released(pool, participant_id)

    back = await api.post(
        "/v1/participants", json=under_another_reference(first), headers=bearer(keys.backend)
    )
    assert back.status_code == 201, back.text
    assert back.json()["participant_id"] != participant_id


async def test_an_erased_person_whose_trajectory_closed_leaves_no_fingerprint_and_may_come_back(
    api: httpx.AsyncClient, keys: Keys, pool: Pool
) -> None:
    """Their trajectory closed (erasure ends it first), an erased person's fingerprint goes; an
    open one keeps it (`tests/test_erasure.py`)."""
    first = enrolment_body("jes")
    enrolled = await api.post("/v1/participants", json=first, headers=bearer(keys.backend))
    participant_id = enrolled.json()["participant_id"]
    closed = await api.post(
        f"/v1/participants/{participant_id}/close",
        json={"outcome": "withdrawn", "reason": "asked to be forgotten"},
        headers=bearer(keys.case_manager),
    )
    assert closed.status_code == 200, closed.text
    held = "SELECT open FROM person_fingerprints WHERE participant_id = $1"
    deadline = asyncio.get_running_loop().time() + 15
    while await pool.fetchval(held, participant_id):
        assert asyncio.get_running_loop().time() < deadline, "the close never reached PostgreSQL"
        await asyncio.sleep(0.05)
    async with pool.acquire() as con:
        assert await erase_person(con, participant_id) is True
    query = "SELECT count(*) FROM person_fingerprints WHERE participant_id = $1"
    assert await pool.fetchval(query, participant_id) == 0
    back = await api.post(
        "/v1/participants", json=under_another_reference(first), headers=bearer(keys.backend)
    )
    assert back.status_code == 201, back.text


async def test_the_stored_fingerprint_is_a_keyed_hash_not_the_number(
    api: httpx.AsyncClient, keys: Keys, pool: Pool
) -> None:
    body = enrolment_body("jes")
    enrolled = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    stored: bytes = await pool.fetchval(
        "SELECT fingerprint FROM person_fingerprints WHERE participant_id = $1",
        enrolled.json()["participant_id"],
    )
    number = body["person"]["national_number"]
    person_keys = configured_person_keys(get_settings())
    assert number.encode() not in stored and len(stored) == 32
    assert stored == person_keys.fingerprint(number)
    assert PersonKeys.of(Keyring.generate("other")).fingerprint(number) != stored
    dotted = f"{number[:2]}.{number[2:4]}.{number[4:6]}-{number[6:9]}.{number[9:]}"
    assert person_keys.fingerprint(dotted) == stored


async def test_a_cohort_row_for_someone_enrolled_under_another_reference_is_skipped_and_listed(
    dev_env: WorkflowEnvironment, dev_worker: Worker, pool: Pool, tmp_path: Path
) -> None:
    known = cohort_row()
    again = {**known, "external_ref": f"-{uuid.uuid4().hex[:8]}"}
    hostile = cohort_row(external_ref='=HYPERLINK("http://x")\x1b[31m')
    rows = [known, cohort_row(), again, hostile]
    path = write_cohort(tmp_path / "cohort.csv", rows)

    summary = await enrol_cohort(dev_env.client, pool, read_cohort(path), concurrency=1)

    assert (summary.enrolled, summary.already_enrolled, len(summary.rejected)) == (2, 0, 1)
    assert [(r.row, r.result) for r in summary.enrolled_elsewhere] == [(4, "enrolled_elsewhere")]
    holder = await pool.fetchval(
        "SELECT participant_id FROM participants WHERE external_ref = $1", known["external_ref"]
    )
    skipped = summary.enrolled_elsewhere[0].reason
    assert skipped == f"already enrolled under another reference (participant {holder})"
    report = tmp_path / "not-enrolled.csv"
    write_report(report, summary.not_enrolled)
    with report.open(newline="") as file:
        lines = [
            (line["row"], line["external_ref"], line["reason"]) for line in csv.DictReader(file)
        ]
    assert lines[0] == ("4", f"'{again['external_ref']}", skipped)
    assert lines[1][:2] == ("5", '\'=HYPERLINK("http://x")[31m')
    assert known["national_number"] not in report.read_text()

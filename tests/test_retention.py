"""Retention before erasure (Regulation (EU) 2021/1060, Art. 82; GDPR Art. 17(3)(b)): within the
ESF+ retention period an erasure request restricts processing, and the erasure runs by itself
once `PARCOURS_RETENTION_UNTIL` has passed; after it, `erase` erases at once."""

import json
import uuid
from datetime import date, timedelta

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.retention import RetentionSweep
from api.enrolment import Enrolled, enrol
from infra.database import Pool
from starter.__main__ import main
from tests.api_fixtures import Keys, bearer, starter
from tests.case_file import CaseFile, someone
from tests.test_erasure import gone
from trajectory.enrolment import Enrolment

RESTRICTED = (
    "SELECT s.sealed IS NOT NULL AS sealed, s.restricted_at IS NOT NULL AS restricted,"
    " k.erased_at IS NOT NULL AS erased, r.kind, r.erased_at IS NOT NULL AS done"
    " FROM persons s JOIN person_keys k USING (participant_id)"
    " JOIN erasure_requests r USING (participant_id) WHERE s.participant_id = $1"
)


async def _in_coaching(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, keys: Keys, pool: Pool
) -> tuple[Enrolment, Enrolled]:
    request = someone(uuid.uuid4().hex[:8])
    enrolled = await enrol(dev_env.client, pool, request)
    await CaseFile(api, keys, enrolled.participant_id).report("intake_interview_held")
    return request, enrolled


async def test_within_the_retention_period_erase_restricts_the_person_and_hides_them_from_views(
    dev_env: WorkflowEnvironment,
    dev_worker: Worker,
    api: httpx.AsyncClient,
    keys: Keys,
    pool: Pool,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARCOURS_RETENTION_UNTIL", "2033-12-31")
    request, enrolled = await _in_coaching(dev_env, api, keys, pool)
    participant_id = enrolled.participant_id
    path = f"/v1/participants/{participant_id}"
    assert (await api.get(path, headers=bearer(keys.case_manager))).status_code == 200

    code, out, err = await starter(dev_env, database_url, "erase", participant_id)

    assert code == 0, out + err
    assert f"restricted the processing of {participant_id}" in out and "after 2033-12-31" in out
    assert f"ended the trajectory of {participant_id}" in out
    row = await pool.fetchrow(RESTRICTED, participant_id)
    assert row is not None and dict(row) == {
        "sealed": True,  # the identity stays, sealed
        "restricted": True,
        "erased": False,
        "kind": "restricted",
        "done": False,
    }
    for key in (keys.case_manager, keys.backend, keys.jes):
        assert (await api.get(path, headers=bearer(key))).status_code == 404
        timeline = await api.get(f"{path}/timeline", headers=bearer(key))
        assert timeline.status_code == 404
    listed = await api.get("/v1/participants?limit=500", headers=bearer(keys.case_manager))
    assert participant_id not in {item["participant_id"] for item in listed.json()["items"]}
    # the trajectory ended, its history kept until the retention ends
    assert (await enrolled.handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    code, out, err = await starter(
        dev_env, database_url, "persons", "audit", participant_id, "--auditor", "ESF+ auditor"
    )
    assert code == 0, out + err
    heading, person, snapshot = (json.loads(line) for line in out.splitlines())
    assert heading == {"participant_id": participant_id, "restricted": True}
    assert person["national_number"] == request.person.national_number
    assert snapshot["outcome"] == "withdrawn"
    audited = await pool.fetchval(
        "SELECT purpose FROM personal_data_reads WHERE participant_id = $1 AND reader = $2",
        participant_id,
        "auditor:ESF+ auditor",
    )
    assert audited == "ESF+ audit"


async def test_once_the_retention_ends_the_worker_erases_a_restricted_person_by_itself(
    dev_env: WorkflowEnvironment,
    dev_worker: Worker,
    api: httpx.AsyncClient,
    keys: Keys,
    pool: Pool,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PARCOURS_RETENTION_UNTIL", raising=False)
    _, enrolled = await _in_coaching(dev_env, api, keys, pool)
    participant_id = enrolled.participant_id
    code, out, err = await starter(dev_env, database_url, "erase", participant_id)
    assert code == 0, out + err
    assert "once PARCOURS_RETENTION_UNTIL is set and has passed" in out

    today = date(2034, 1, 2)
    unknown = RetentionSweep(dev_env.client, pool, None, timedelta(seconds=60))
    assert participant_id not in await unknown.sweep(today)  # not set: nothing goes
    running = RetentionSweep(dev_env.client, pool, date(2034, 1, 2), timedelta(seconds=60))
    assert participant_id not in await running.sweep(today)  # the last day of retention
    ended = RetentionSweep(dev_env.client, pool, date(2034, 1, 1), timedelta(seconds=60))
    assert participant_id in await ended.sweep(today)

    row = await pool.fetchrow(RESTRICTED, participant_id)
    assert row is not None and dict(row) == {
        "sealed": False,
        "restricted": True,
        "erased": True,
        "kind": "restricted",
        "done": True,
    }
    assert await gone(enrolled.handle, dev_env), "Temporal still holds the trajectory's history"
    assert participant_id not in await ended.sweep(today)


async def test_after_the_retention_period_erase_erases_at_once(
    dev_env: WorkflowEnvironment,
    dev_worker: Worker,
    api: httpx.AsyncClient,
    keys: Keys,
    pool: Pool,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARCOURS_RETENTION_UNTIL", "2025-12-31")
    _, enrolled = await _in_coaching(dev_env, api, keys, pool)
    code, out, err = await starter(dev_env, database_url, "erase", enrolled.participant_id)
    assert code == 0, out + err
    assert f"erased the personal data of {enrolled.participant_id}" in out
    row = await pool.fetchrow(RESTRICTED, enrolled.participant_id)
    assert row is not None and (row["erased"], row["kind"]) == (True, "immediate")
    assert await gone(enrolled.handle, dev_env)


def test_a_record_outside_esf_needs_a_reason_to_be_erased_at_once() -> None:
    assert main(["erase", "p-whoever", "--not-esf", "  "]) == 2

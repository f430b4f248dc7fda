"""The HTTP API's contract (DESIGN §8), role by role, on the real dev server and PostgreSQL."""

import argparse
import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowHandle,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from api.app import create_app, hold
from infra.contract import workflow_id
from infra.database import Pool, open_pool
from infra.settings import Settings
from readmodel.api_keys import create_key, revoke_key
from starter import keys as keys_command
from tests.api_fixtures import EnrolByApi, Keys, bearer, enrolment_body, listed, starter, written
from trajectory.actors import Role

STEERING = ("pause", "resume", "reassign", "close")


def now() -> str:
    return datetime.now(UTC).isoformat()


def milestone(kind: str, payload: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "milestone_id": fields.pop("milestone_id", f"m-{uuid.uuid4().hex[:12]}"),
        "type": kind,
        "occurred_at": fields.pop("occurred_at", now()),
        "payload": payload or {},
        **fields,
    }


def steering_body(action: str) -> dict[str, Any]:
    return {
        "pause": {"reason": "illness"},
        "resume": {"reason": "back"},
        "reassign": {"partner_id": "orientaeuro", "reason": "wants coaching in Spanish"},
        "close": {"outcome": "moved_away", "reason": "moved to Liège"},
    }[action]


def assert_error(answer: httpx.Response, status: int, code: str | None = None) -> str:
    """The answer is a contract error; returns its detail."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "detail"}, body
    if code is not None:
        assert body["error"] == code, body
    detail: str = body["detail"]
    return detail


# -- enrolment ------------------------------------------------------------------------------------


async def test_a_backend_enrols_a_youth_and_the_same_reference_again_starts_nothing_new(
    api: httpx.AsyncClient, keys: Keys, dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    body = enrolment_body("jes")
    first = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert first.status_code == 201, first.text
    state = first.json()
    assert state["partner_id"] == "jes"
    assert state["phase"] == "intake"
    assert state["status"] == "active"
    assert state["milestone_count"] == 0
    assert state["last_milestone"] is None and state["outcome"] is None
    assert {"nudge_level", "next_deadline"} <= set(state)

    again = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert again.status_code == 200, again.text
    assert again.json()["participant_id"] == state["participant_id"]
    runs = [
        run
        async for run in dev_env.client.list_workflows(
            f"WorkflowId = '{workflow_id(state['participant_id'])}'"
        )
    ]
    assert len(runs) == 1


async def test_five_identical_enrolments_at_once_make_one_participant_and_one_trajectory(
    api: httpx.AsyncClient, keys: Keys, dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    body = enrolment_body("inbrussel")
    answers = await asyncio.gather(
        *(api.post("/v1/participants", json=body, headers=bearer(keys.backend)) for _ in range(5))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    ids = {a.json()["participant_id"] for a in answers}
    assert len(ids) == 1
    rows = await pool.fetchval(
        "SELECT count(*) FROM participants WHERE external_ref = $1", body["external_ref"]
    )
    assert rows == 1
    runs = [
        run
        async for run in dev_env.client.list_workflows(f"WorkflowId = '{workflow_id(ids.pop())}'")
    ]
    assert len(runs) == 1


@pytest.mark.parametrize("role", ["case_manager", "jes"])
async def test_only_backend_services_enrol(api: httpx.AsyncClient, keys: Keys, role: str) -> None:
    answer = await api.post(
        "/v1/participants", json=enrolment_body("jes"), headers=bearer(getattr(keys, role))
    )
    assert_error(answer, 403, "forbidden")


async def test_a_national_number_failing_its_check_is_refused_naming_the_field(
    api: httpx.AsyncClient, keys: Keys
) -> None:
    body = enrolment_body("jes")
    body["person"]["national_number"] = "04051701708"
    detail = assert_error(
        await api.post("/v1/participants", json=body, headers=bearer(keys.backend)),
        422,
        "invalid_request",
    )
    assert detail.startswith("person.national_number: ")
    assert "04051701708" not in detail


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(partner_id="acme"), "partner_id"),
        (lambda b: b["person"].pop("birth_date"), "person.birth_date"),
        (lambda b: b["person"].update(postcode="10800"), "person.postcode"),
        (lambda b: b["status"].update(employed="maybe"), "status.employed"),
        (lambda b: b.update(surprise=True), "surprise"),
        (lambda b: b["person"].update(given_name="Yas\x00mina"), "person.given_name"),
    ],
)
async def test_a_malformed_enrolment_gets_422_naming_the_field(
    api: httpx.AsyncClient, keys: Keys, change: Any, field: str
) -> None:
    body = enrolment_body("jes")
    change(body)
    detail = assert_error(
        await api.post("/v1/participants", json=body, headers=bearer(keys.backend)), 422
    )
    assert detail.startswith(f"{field}: "), detail


async def test_a_body_that_is_not_json_gets_422(api: httpx.AsyncClient, keys: Keys) -> None:
    answer = await api.post(
        "/v1/participants",
        content=b'{"external_ref": ',
        headers={**bearer(keys.backend), "Content-Type": "application/json"},
    )
    assert assert_error(answer, 422).startswith("body: not valid JSON")


async def test_a_body_over_64_kib_gets_413_whether_declared_or_streamed(
    api: httpx.AsyncClient, keys: Keys
) -> None:
    big = b'{"external_ref": "' + b"x" * 70_000 + b'"}'
    headers = {**bearer(keys.backend), "Content-Type": "application/json"}
    declared = await api.post("/v1/participants", content=big, headers=headers)
    assert_error(declared, 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = await api.post("/v1/participants", content=chunks(), headers=headers)
    assert "content-length" not in streamed.request.headers
    assert_error(streamed, 413, "payload_too_large")


# -- keys -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer prc_000000000000_" + "A" * 43, "Bearer not-a-key", "Basic dXNlcjpwdw=="],
)
async def test_a_missing_or_unknown_key_gets_401_on_every_endpoint(
    api: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    calls = [
        api.post("/v1/participants", json=enrolment_body("jes"), headers=headers),
        api.get("/v1/participants", headers=headers),
        api.get("/v1/participants/p-0", headers=headers),
        api.post("/v1/participants/p-0/milestones", json=milestone("x"), headers=headers),
        *(api.post(f"/v1/participants/p-0/{a}", json={}, headers=headers) for a in STEERING),
        api.get("/v1/reports/programme", headers=headers),
    ]
    for answer in await asyncio.gather(*calls):
        assert_error(answer, 401, "unauthorized")
        assert answer.headers["WWW-Authenticate"] == "Bearer"


async def test_a_revoked_key_stops_working_at_once(api: httpx.AsyncClient, pool: Pool) -> None:
    issued = await create_key(pool, Role.CASE_MANAGER, label="leaver")
    assert (await api.get("/v1/participants", headers=bearer(issued.key))).status_code == 200
    await revoke_key(pool, issued.record.prefix)
    assert_error(await api.get("/v1/participants", headers=bearer(issued.key)), 401)


async def test_a_key_with_the_right_id_but_a_wrong_secret_is_unknown(
    api: httpx.AsyncClient, pool: Pool
) -> None:
    issued = await create_key(pool, Role.BACKEND)
    forged = issued.key[:-4] + ("AAAA" if not issued.key.endswith("AAAA") else "BBBB")
    assert_error(await api.get("/v1/participants", headers=bearer(forged)), 401)


# -- reading and listing --------------------------------------------------------------------------


async def test_backend_case_manager_and_own_partner_read_a_participant_other_partners_get_404(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    for key in (keys.backend, keys.case_manager, keys.jes):
        answer = await api.get(f"/v1/participants/{participant_id}", headers=bearer(key))
        assert answer.status_code == 200, answer.text
        assert answer.json()["participant_id"] == participant_id

    foreign = await api.get(f"/v1/participants/{participant_id}", headers=bearer(keys.inbrussel))
    missing = await api.get("/v1/participants/p-doesnotexist", headers=bearer(keys.inbrussel))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"] == missing.json()["error"] == "not_found"
    assert foreign.json()["detail"].replace(participant_id, "ID") == missing.json()[
        "detail"
    ].replace("p-doesnotexist", "ID")


async def test_a_partner_lists_only_its_own_participants(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    ours, theirs = await enrol_by_api("jes"), await enrol_by_api("inbrussel")
    await listed(pool, ours)
    await listed(pool, theirs)

    async def everything(key: str, query: str = "") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = f"limit=500&{query}" + (f"&cursor={cursor}" if cursor else "")
            page = (await api.get(f"/v1/participants?{params}", headers=bearer(key))).json()
            items += page["items"]
            if (cursor := page["next_cursor"]) is None:
                return items

    jes = await everything(keys.jes)
    assert ours in {i["participant_id"] for i in jes}
    assert {i["partner_id"] for i in jes} == {"jes"}
    assert await everything(keys.jes, "partner_id=inbrussel") == []

    everyone = {i["participant_id"] for i in await everything(keys.case_manager)}
    assert {ours, theirs} <= everyone
    by_backend = await everything(keys.backend, "partner_id=inbrussel&phase=intake&status=active")
    assert theirs in {i["participant_id"] for i in by_backend}
    assert all(i["partner_id"] == "inbrussel" for i in by_backend)


async def test_a_list_pages_with_a_cursor_without_gaps_or_repeats(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    for _ in range(3):
        await listed(pool, await enrol_by_api("backstage"))
    whole = await api.get(
        "/v1/participants?partner_id=backstage&limit=500", headers=bearer(keys.case_manager)
    )
    expected = [i["participant_id"] for i in whole.json()["items"]]
    paged: list[str] = []
    cursor = None
    while True:
        query = "partner_id=backstage&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (
            await api.get(f"/v1/participants?{query}", headers=bearer(keys.case_manager))
        ).json()
        assert len(page["items"]) <= 2
        paged += [i["participant_id"] for i in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert paged == expected and len(expected) >= 3


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=501", "phase=limbo", "status=asleep", "cursor=%%%", "cursor=p.1"]
)
async def test_a_malformed_list_query_gets_422(
    api: httpx.AsyncClient, keys: Keys, query: str
) -> None:
    assert_error(await api.get(f"/v1/participants?{query}", headers=bearer(keys.backend)), 422)


# -- milestones -----------------------------------------------------------------------------------


async def test_a_partner_reports_a_milestone_and_gets_the_new_state(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("jes")
    answer = await api.post(
        f"/v1/participants/{participant_id}/milestones",
        json=milestone("intake_interview_held", milestone_id="jes-intake-1"),
        headers=bearer(keys.jes),
    )
    assert answer.status_code == 200, answer.text
    state = answer.json()
    assert state["milestone_count"] == 1
    assert state["last_milestone"]["type"] == "intake_interview_held"
    assert state["phase"] == "assessment"
    await written(pool, participant_id, milestones=1)
    recorded_by = await pool.fetchval(
        "SELECT recorded_by FROM milestones WHERE participant_id = $1", participant_id
    )
    assert recorded_by == "partner"


async def test_the_same_milestone_id_twice_and_five_times_at_once_is_recorded_once(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("jes")
    url = f"/v1/participants/{participant_id}/milestones"
    body = milestone("intake_interview_held", milestone_id="jes-intake-twice")
    first = await api.post(url, json=body, headers=bearer(keys.jes))
    again = await api.post(url, json=body, headers=bearer(keys.jes))
    assert first.status_code == again.status_code == 200
    assert again.json()["milestone_count"] == first.json()["milestone_count"] == 1

    contact = milestone("participant_contact", milestone_id="jes-call-at-once")
    at_once = await asyncio.gather(
        *(api.post(url, json=contact, headers=bearer(keys.jes)) for _ in range(5))
    )
    assert {a.status_code for a in at_once} == {200}
    assert {a.json()["milestone_count"] for a in at_once} == {2}
    await written(pool, participant_id, milestones=2)
    await asyncio.sleep(0.2)  # a duplicate, were one written, would land by now
    rows = await pool.fetchval(
        "SELECT count(*) FROM milestones WHERE participant_id = $1", participant_id
    )
    assert rows == 2


async def test_a_milestone_id_sent_again_with_other_content_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("jes")
    url = f"/v1/participants/{participant_id}/milestones"
    call = milestone("participant_contact", milestone_id="jes-call-7")
    assert (await api.post(url, json=call, headers=bearer(keys.jes))).status_code == 200
    later = {**call, "occurred_at": datetime.now(UTC).isoformat()}
    other = {**call, "type": "intake_interview_held"}
    for reused in (later, other):
        answer = await api.post(url, json=reused, headers=bearer(keys.jes))
        assert "jes-call-7" in assert_error(answer, 409, "milestone_id_reused")
    again = await api.post(url, json=call, headers=bearer(keys.jes))
    assert again.status_code == 200 and again.json()["milestone_count"] == 1
    assert again.json()["last_milestone"]["type"] == "participant_contact"
    await written(pool, participant_id, milestones=1)
    stored = await pool.fetch(
        "SELECT type FROM milestones WHERE participant_id = $1", participant_id
    )
    assert [r["type"] for r in stored] == ["participant_contact"]


async def test_a_milestone_not_allowed_now_gets_409_with_the_reason(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("inbrussel")
    answer = await api.post(
        f"/v1/participants/{participant_id}/milestones",
        json=milestone("training_enrolled", {"course_id": "hvac"}),
        headers=bearer(keys.inbrussel),
    )
    detail = assert_error(answer, 409, "milestone_refused")
    assert "not allowed in intake" in detail


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (milestone("digital_assessed", {"level": 9}), "payload.level"),
        (milestone("coach_assigned", {}), "payload.coach_ref"),
        (milestone("participant_contact", {"mood": "good"}), "payload.mood"),
        (milestone("participant_contact", occurred_at="2026-03-02T10:15:00"), "occurred_at"),
        (milestone("teleported"), "type"),
        (milestone("participant_contact", milestone_id="has space"), "milestone_id"),
        (milestone("participant_contact", recorded_by="system"), "recorded_by"),
        (milestone("coach_assigned", {"coach_ref": "coach\x00"}), "payload.coach_ref"),
        (milestone("participant_contact", actor={"role": "case_manager"}), "actor"),
    ],
)
async def test_a_malformed_milestone_gets_422_naming_the_field(
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
    body: dict[str, Any],
    field: str,
) -> None:
    participant_id = await enrol_by_api("jes")
    answer = await api.post(
        f"/v1/participants/{participant_id}/milestones", json=body, headers=bearer(keys.jes)
    )
    assert assert_error(answer, 422, "invalid_request").startswith(f"{field}: ")


async def test_a_case_manager_may_report_for_any_partner_a_backend_may_not(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("inbrussel")
    url = f"/v1/participants/{participant_id}/milestones"
    by_backend = await api.post(
        url, json=milestone("participant_contact"), headers=bearer(keys.backend)
    )
    assert_error(by_backend, 403, "forbidden")
    by_case_manager = await api.post(
        url, json=milestone("participant_contact"), headers=bearer(keys.case_manager)
    )
    assert by_case_manager.status_code == 200, by_case_manager.text
    await written(pool, participant_id, milestones=1)
    recorded_by = await pool.fetchval(
        "SELECT recorded_by FROM milestones WHERE participant_id = $1", participant_id
    )
    assert recorded_by == "case_manager"


async def test_a_lone_surrogate_escape_in_a_payload_gets_422_not_a_stuck_workflow(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    body = milestone("intake_interview_held", {"coach_ref": "X"})
    raw = (
        json.dumps(body)
        .replace('"X"', '"\\ud800"')
        .replace("intake_interview_held", "coach_assigned")
    )
    answer = await api.post(
        f"/v1/participants/{participant_id}/milestones",
        content=raw.encode(),
        headers={**bearer(keys.jes), "Content-Type": "application/json"},
    )
    assert assert_error(answer, 422).startswith("payload.coach_ref: ")


async def test_another_partners_participant_is_404_for_milestones_like_a_missing_one(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("jes")
    body = milestone("intake_interview_held")
    foreign = await api.post(
        f"/v1/participants/{participant_id}/milestones", json=body, headers=bearer(keys.inbrussel)
    )
    missing = await api.post(
        "/v1/participants/p-nobody/milestones", json=body, headers=bearer(keys.inbrussel)
    )
    assert_error(foreign, 404, "not_found")
    assert_error(missing, 404, "not_found")
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM milestones WHERE participant_id = $1", participant_id
        )
        == 0
    )


async def test_a_closed_trajectory_refuses_milestones_but_a_retried_last_one_is_still_200(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, dev_env: WorkflowEnvironment
) -> None:
    participant_id = await enrol_by_api("jes")
    url = f"/v1/participants/{participant_id}/milestones"
    withdrawn = milestone("withdrawn", {"reason": "found a job alone"}, milestone_id="jes-bye")
    first = await api.post(url, json=withdrawn, headers=bearer(keys.jes))
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "withdrawn"
    await _left(api, url, bearer(keys.jes))

    retried = await api.post(url, json=withdrawn, headers=bearer(keys.jes))
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "closed"
    late = await api.post(url, json=milestone("participant_contact"), headers=bearer(keys.jes))
    assert "closed" in assert_error(late, 409, "milestone_refused")
    read = await api.get(f"/v1/participants/{participant_id}", headers=bearer(keys.jes))
    assert read.status_code == 200 and read.json()["outcome"] == "withdrawn"


async def _left(api: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
    """Give the result on leaving every leaver is asked for (the workflow then waits for the
    six-month check)."""
    result = milestone("follow_up_contact", {"in_employment": False, "job_searching": True})
    answered = await api.post(url, json=result, headers=headers)
    assert answered.status_code == 200, answered.text


# -- steering -------------------------------------------------------------------------------------


async def test_a_case_manager_pauses_resumes_reassigns_and_closes_a_trajectory(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, dev_env: WorkflowEnvironment
) -> None:
    participant_id = await enrol_by_api("jes")
    url = f"/v1/participants/{participant_id}"
    cm = bearer(keys.case_manager)

    paused = await api.post(f"{url}/pause", json={"reason": "illness"}, headers=cm)
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    assert "paused" in assert_error(
        await api.post(f"{url}/pause", headers=cm), 409, "pause_refused"
    )
    refused = await api.post(
        f"{url}/milestones", json=milestone("intake_interview_held"), headers=bearer(keys.jes)
    )
    assert "resume it first" in assert_error(refused, 409, "milestone_refused")

    resumed = await api.post(f"{url}/resume", headers=cm)
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    assert "not paused" in assert_error(await api.post(f"{url}/resume", headers=cm), 409)

    same = await api.post(f"{url}/reassign", json={"partner_id": "jes"}, headers=cm)
    assert "already with jes" in assert_error(same, 409, "reassign_refused")
    unknown = await api.post(f"{url}/reassign", json={"partner_id": "acme"}, headers=cm)
    assert assert_error(unknown, 422).startswith("partner_id: ")
    moved = await api.post(f"{url}/reassign", json=steering_body("reassign"), headers=cm)
    assert moved.status_code == 200 and moved.json()["partner_id"] == "orientaeuro"
    assert_error(await api.get(url, headers=bearer(keys.jes)), 404, "not_found")

    closed = await api.post(f"{url}/close", json=steering_body("close"), headers=cm)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "moved_away")
    await _left(api, f"{url}/milestones", cm)
    again = await api.post(f"{url}/close", json=steering_body("close"), headers=cm)
    assert "closed" in assert_error(again, 409, "close_refused")
    assert_error(await api.post(f"{url}/pause", headers=cm), 409, "pause_refused")


@pytest.mark.parametrize("action", STEERING)
@pytest.mark.parametrize("role", ["backend", "jes", "inbrussel"])
async def test_only_case_managers_steer_whoever_the_participant_belongs_to(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, action: str, role: str
) -> None:
    participant_id = await enrol_by_api("jes")
    answer = await api.post(
        f"/v1/participants/{participant_id}/{action}",
        json=steering_body(action),
        headers=bearer(getattr(keys, role)),
    )
    assert_error(answer, 403, "forbidden")


@pytest.mark.parametrize("action", STEERING)
async def test_steering_an_unknown_participant_is_404_and_a_bad_body_422(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, action: str
) -> None:
    cm = bearer(keys.case_manager)
    missing = await api.post(
        f"/v1/participants/p-nobody/{action}", json=steering_body(action), headers=cm
    )
    assert_error(missing, 404, "not_found")
    participant_id = await enrol_by_api("jes")
    bad = await api.post(
        f"/v1/participants/{participant_id}/{action}", json={"reason": 7, "x": 1}, headers=cm
    )
    assert_error(bad, 422, "invalid_request")


# -- reports, health, docs ------------------------------------------------------------------------


async def test_backend_and_case_managers_read_the_programme_report_as_json_and_csv(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    await listed(pool, await enrol_by_api("art2work"))
    for key in (keys.backend, keys.case_manager):
        report = await api.get("/v1/reports/programme", headers=bearer(key))
        assert report.status_code == 200, report.text
        enrolled = [row for row in report.json()["funnel"] if row["stage"] == "enrolled"]
        total = next(row["participants"] for row in enrolled if row["partner_id"] is None)
        assert total == sum(row["participants"] for row in enrolled if row["partner_id"])
        assert any(row["partner_id"] == "art2work" for row in enrolled)
    as_csv = await api.get("/v1/reports/programme?format=csv", headers=bearer(keys.backend))
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert lines[0] == (
        "partner_id,stage,participants,enrolled,share_of_enrolled,asked,response_rate"
    )
    assert any(line.startswith("art2work,enrolled,") for line in lines[1:])
    assert_error(await api.get("/v1/reports/programme", headers=bearer(keys.jes)), 403)
    bad_format = await api.get("/v1/reports/programme?format=xml", headers=bearer(keys.backend))
    assert_error(bad_format, 422)


async def test_liveness_and_readiness_answer_without_a_key(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_readiness_is_503_naming_postgresql_when_the_database_is_gone(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    app = create_app(Settings())
    hold(app, dev_env.client, await open_pool(Settings(database_url=database_url)), Settings())
    await app.state.pool.close()
    async with _client(app) as client:
        detail = assert_error(await client.get("/readyz"), 503, "not_ready")
    assert detail == "not answering: postgresql"


class TemporalDown(Interceptor):
    """Every workflow start fails as when the frontend cannot be reached."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        class Refusing(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
                raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")

        return Refusing(next)


async def test_an_enrolment_while_temporal_is_down_is_503_and_a_retry_starts_the_trajectory(
    api: httpx.AsyncClient, keys: Keys, pool: Pool, dev_env: WorkflowEnvironment
) -> None:
    app = create_app(Settings())
    down_client = Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=pydantic_data_converter,
        interceptors=[TemporalDown()],
    )
    hold(app, down_client, pool, Settings())
    body = enrolment_body("jes")
    async with _client(app) as down:
        answer = await down.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert_error(answer, 503, "temporal_unavailable")

    retried = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert retried.status_code == 200, retried.text
    participant_id = retried.json()["participant_id"]
    description = await dev_env.client.get_workflow_handle(workflow_id(participant_id)).describe()
    assert description.workflow_type == "ParticipantTrajectory"


async def test_the_lifespan_connects_temporal_and_postgresql_and_closes_the_pool(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    target = dev_env.client.service_client.config.target_host
    app = create_app(
        Settings(
            temporal_address=target,
            temporal_namespace=dev_env.client.namespace,
            database_url=database_url,
        )
    )
    async with app.router.lifespan_context(app), _client(app) as client:
        assert (await client.get("/readyz")).status_code == 200
    assert app.state.pool.is_closing()


async def test_an_unexpected_error_is_500_in_the_contract_shape_without_a_trace() -> None:
    app = create_app(Settings())

    async def broken() -> None:
        raise RuntimeError("secret internals at /srv/app.py line 12")

    app.add_api_route("/broken", broken)
    async with _client(app) as client:
        answer = await client.get("/broken")
    detail = assert_error(answer, 500, "internal_error")
    assert "secret" not in detail and "Traceback" not in answer.text


async def test_an_unknown_path_or_method_answers_in_the_contract_shape(
    api: httpx.AsyncClient, keys: Keys
) -> None:
    assert_error(await api.get("/v2/participants"), 404, "not_found")
    assert_error(await api.delete("/healthz"), 405, "method_not_allowed")


async def test_the_openapi_description_has_examples_for_every_endpoint(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.get("/docs")).status_code == 200
    spec = (await api.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]

    def has_example(content: dict[str, Any]) -> bool:
        media = next(iter(content.values()))
        if "example" in media or "examples" in media:
            return True
        ref = media.get("schema", {}).get("$ref", "")
        return "examples" in schemas.get(ref.rsplit("/", 1)[-1], {})

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            success = next(code for code in operation["responses"] if code.startswith("2"))
            if success != "204":  # nothing to show
                assert has_example(operation["responses"][success]["content"]), (method, path)
            if "requestBody" in operation:
                assert has_example(operation["requestBody"]["content"]), (method, path)


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://parcours.test")


async def test_occurred_at_in_the_future_is_refused_by_the_workflow_not_the_api(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    answer = await api.post(
        f"/v1/participants/{participant_id}/milestones",
        json=milestone("intake_interview_held", occurred_at=tomorrow),
        headers=bearer(keys.jes),
    )
    assert "future" in assert_error(answer, 409, "milestone_refused")


# -- the keys command -----------------------------------------------------------------------------


async def test_the_keys_command_prints_a_new_key_once_lists_without_secrets_and_revokes(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, database_url: str
) -> None:
    code, out, err = await starter(
        dev_env, database_url, "keys", "create", "--role", "partner", "--partner", "jes"
    )
    assert code == 0, err
    key = out.strip()
    assert re.fullmatch(r"prc_[0-9a-f]{12}_[A-Za-z0-9_\-]{43}", key)
    assert key not in err
    assert (await api.get("/v1/participants", headers=bearer(key))).status_code == 200

    code, listing, _ = await starter(dev_env, database_url, "keys", "list")
    assert code == 0 and key[:16] in listing and key not in listing
    assert key[17:] not in listing

    code, out, _ = await starter(dev_env, database_url, "keys", "revoke", key[:16])
    assert code == 0 and out.startswith(f"revoked {key[:16]}")
    assert_error(await api.get("/v1/participants", headers=bearer(key)), 401)


def test_a_partner_key_for_an_unknown_partner_is_a_usage_error_naming_the_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    request = argparse.Namespace(keys_action="create", role="partner", partner="acme", label=None)
    assert keys_command.run(request) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "--partner: no programme for partner 'acme'" in err

"""JSON built to break a parser gets a 422 that says what is wrong, and changes nothing.

Deep nesting, wide objects, huge arrays and numbers too long to parse, in every body the API
takes; afterwards no trajectory has a failed task and the read model matches every workflow.
"""

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.body_guard import MAX_DEPTH, MAX_DIGITS, JsonShape
from infra.contract import workflow_id
from infra.database import Pool
from tests.api_fixtures import EnrolByApi, Keys, bearer, enrolment_body
from tests.trajectory_health import assert_no_partial_write, assert_no_trajectory_broke
from workflows.trajectory import ParticipantTrajectory


def contact(milestone_id: str = "hostile-1") -> dict[str, Any]:
    return {
        "milestone_id": milestone_id,
        "type": "participant_contact",
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {},
    }


def with_hole(document: dict[str, Any], *path: str) -> str:
    """`document` as JSON with the value at `path` replaced by `HOLE`."""
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "HOLE"
    return json.dumps(document)


ENDPOINTS: dict[str, tuple[str, str, str]] = {
    # path ({p}: a participant's id), role of the key, body with its HOLE
    "enrolment person": (
        "/v1/participants",
        "backend",
        with_hole(enrolment_body("jes"), "person", "given_name"),
    ),
    "enrolment status": ("/v1/participants", "backend", with_hole(enrolment_body("jes"), "status")),
    "milestone payload": (
        "/v1/participants/{p}/milestones",
        "case_manager",
        with_hole(contact(), "payload"),
    ),
    "milestone id": (
        "/v1/participants/{p}/milestones",
        "case_manager",
        with_hole(contact(), "milestone_id"),
    ),
    "pause reason": ("/v1/participants/{p}/pause", "case_manager", '{"reason": "HOLE"}'),
    "close outcome": (
        "/v1/participants/{p}/close",
        "case_manager",
        '{"outcome": "HOLE", "reason": "test"}',
    ),
    "task note": ("/v1/tasks/{p}.1/done", "case_manager", '{"reached": true, "note": "HOLE"}'),
    "whole body": ("/v1/participants/{p}/milestones", "case_manager", "HOLE"),
}


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def deep_objects(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


HOSTILE: dict[str, tuple[str, int, str]] = {
    "800 deep": (nested(800), 422, f"body: nested deeper than {MAX_DEPTH} levels"),
    "20,000 deep": (nested(20_000), 422, f"body: nested deeper than {MAX_DEPTH} levels"),
    "800 deep objects": (deep_objects(800), 422, f"body: nested deeper than {MAX_DEPTH} levels"),
    "10**4000": (str(10**4000), 422, f"body: a number has more than {MAX_DIGITS} digits"),
    "-10**4000": (str(-(10**4000)), 422, f"body: a number has more than {MAX_DIGITS} digits"),
    "1e999999": ("1e999999", 422, ""),
    "5,000 keys": (
        "{" + ",".join(f'"k{i}": 1' for i in range(5000)) + "}",
        422,
        "",
    ),
    "array of 20,000": ("[" + ",".join("0" for _ in range(20_000)) + "]", 422, ""),
    "70 KiB string": ('"' + "x" * 70_000 + '"', 413, "the request body exceeds 64 KiB"),
}


async def settled(env: WorkflowEnvironment, participant_id: str) -> str:
    """`participant_id` once its intake check is done, so that nothing changes by itself."""
    handle = env.client.get_workflow_handle(workflow_id(participant_id))
    for _ in range(200):
        if (await handle.query(ParticipantTrajectory.state)).eligibility != "pending":
            return participant_id
        await asyncio.sleep(0.05)
    raise AssertionError(f"{participant_id}: the intake check never finished")


@pytest.mark.parametrize("endpoint", list(ENDPOINTS), ids=list(ENDPOINTS))
async def test_hostile_json_anywhere_in_any_body_gets_a_clear_4xx_and_changes_nothing(
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
    pool: Pool,
    dev_env: WorkflowEnvironment,
    endpoint: str,
) -> None:
    participant_id = await settled(dev_env, await enrol_by_api("jes"))
    since = datetime.now(UTC)
    path, role, body = ENDPOINTS[endpoint]
    state = f"/v1/participants/{participant_id}"
    before = await api.get(state, headers=bearer(keys.backend))

    for value, (hostile, status, detail) in HOSTILE.items():
        answer = await api.post(
            path.replace("{p}", participant_id),
            content=body.replace('"HOLE"', hostile).replace("HOLE", hostile),
            headers={**bearer(getattr(keys, role)), "Content-Type": "application/json"},
        )

        assert answer.status_code == status, (value, answer.text)
        code = "payload_too_large" if status == 413 else "invalid_request"
        assert answer.json()["error"] == code, value
        assert answer.json()["detail"].startswith(detail), (value, answer.text)
    after = await api.get(state, headers=bearer(keys.backend))
    assert after.json() == before.json()
    await assert_no_trajectory_broke(dev_env, [participant_id], since)
    await assert_no_partial_write(dev_env, pool, since)


def test_nesting_and_digits_inside_strings_are_text_not_structure() -> None:
    shape = JsonShape()
    text = json.dumps({"reason": "[" * 100 + '\\"{' * 50 + "9" * 500})

    assert shape.feed(text.encode()) is None
    assert shape.depth == 0


def test_the_shape_is_followed_across_pieces_of_the_body() -> None:
    shape = JsonShape(max_depth=3, max_digits=3)

    assert shape.feed(b'{"a": "\\') is None
    assert shape.feed(b'"[[[[", "b": [[12') is None
    assert shape.feed(b"3, [") == "body: nested deeper than 3 levels"
    assert JsonShape(max_digits=3).feed(b"[12") is None


async def test_a_reason_full_of_brackets_and_digits_is_recorded_as_written(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    reason = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ {{{{ " + "9" * 150

    paused = await api.post(
        f"/v1/participants/{participant_id}/pause",
        json={"reason": reason},
        headers=bearer(keys.case_manager),
    )

    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"


async def test_a_milestone_dated_the_first_day_of_year_one_is_refused_not_a_server_error(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    body = {**contact("year-one"), "occurred_at": "0001-01-01T00:00:00+01:00"}

    answer = await api.post(
        f"/v1/participants/{participant_id}/milestones", json=body, headers=bearer(keys.jes)
    )

    assert (answer.status_code, answer.json()["error"]) == (409, "milestone_refused")
    assert "before the participant's enrolment" in answer.json()["detail"]

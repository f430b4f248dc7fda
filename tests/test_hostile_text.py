"""Hostile text in every field: refused with the field named, or stored as the harmless text it is.

Control characters, lone surrogates and bidirectional overrides are refused with a 422 that
names the field; SQL, HTML, template and shell strings are only text, recorded and shown back
exactly as sent. Nothing is left half-written and no trajectory breaks.
"""

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from infra.database import Pool
from readmodel.persons import read_person
from tests.api_fixtures import EnrolByApi, Keys, bearer, enrolment_body, written
from tests.trajectory_health import assert_no_partial_write, assert_no_trajectory_broke
from trajectory.milestones import Milestone
from trajectory.text import hidden_controls, visible_text

INJECTIONS = [
    "Robert'); DROP TABLE participants;--",
    "' OR '1'='1' --",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{7*7}} ${7*7} <%= 7*7 %> #{7*7}",
    "$(rm -rf /); `id` | cat /etc/passwd",
    '=HYPERLINK("http://evil.example","x")',
    "%s%s%n%x ../../etc/passwd",
    "\\u0000 \\x1b[31m",
    "Ma\u200bry-\u00c9lise e\u0301 \U0001f469\u200d\U0001f4bb \u0645\u062d\u0645\u062f",
]
"""Text that means something to a database, a browser, a template or a shell: stored as text."""

REFUSED = {
    "NUL": "a\x00b",
    "escape sequence": "red \x1b[31m text",
    "C1 control": "a\x85b",
    "right-to-left override": "invoice\u202etxt.exe",
    "left-to-right isolate": "a\u2066b\u2069",
    "lone surrogate": "a\ud800b",
}
"""Text no one can read as it is, or that reads differently from what it holds."""


def dumped(body: dict[str, Any]) -> bytes:
    """JSON as a client would send it, lone surrogates escaped (`\\ud800`)."""
    return json.dumps(body).encode()


def milestone(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "milestone_id": f"m-{uuid.uuid4().hex[:12]}",
        "type": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": payload,
    }


async def coaching(api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi) -> str:
    """A JES participant in coaching, where a coach may be assigned."""
    participant_id = await enrol_by_api("jes", language="nl")
    steps: dict[str, dict[str, Any]] = {
        "intake_interview_held": {},
        "language_assessed": {"language": "nl", "level": "B1"},
        "digital_assessed": {"level": 3},
    }
    for kind, payload in steps.items():
        answer = await api.post(
            f"/v1/participants/{participant_id}/milestones",
            json=milestone(kind, payload),
            headers=bearer(keys.jes),
        )
        assert answer.status_code == 200, answer.text
    assert answer.json()["phase"] == "coaching"
    return participant_id


async def timeline_of(api: httpx.AsyncClient, keys: Keys, participant_id: str) -> list[Any]:
    answer = await api.get(
        f"/v1/participants/{participant_id}/timeline", headers=bearer(keys.case_manager)
    )
    assert answer.status_code == 200, answer.text
    items: list[Any] = answer.json()["items"]
    return items


async def test_injection_strings_in_every_free_text_field_are_stored_and_shown_as_sent(
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
    pool: Pool,
    dev_env: WorkflowEnvironment,
) -> None:
    since = datetime.now(UTC)
    participant_id = await coaching(api, keys, enrol_by_api)
    path = f"/v1/participants/{participant_id}"
    for text in INJECTIONS:
        coach = await api.post(
            f"{path}/milestones",
            json=milestone("coach_assigned", {"coach_ref": text[:64]}),
            headers=bearer(keys.jes),
        )
        assert coach.status_code == 200, coach.text
        for action in ("pause", "resume"):
            steered = await api.post(
                f"{path}/{action}", json={"reason": text}, headers=bearer(keys.case_manager)
            )
            assert steered.status_code == 200, steered.text
    for step in ("basic_skills_session", "employer_mentor_matched"):
        done = await api.post(
            f"{path}/milestones", json=milestone(step, {}), headers=bearer(keys.jes)
        )
        assert done.status_code == 200, done.text
    placed = await api.post(
        f"{path}/milestones",
        json=milestone(
            "placement_started",
            {
                "kind": "employment",
                "start_date": date.today().isoformat(),
                "employer": INJECTIONS[0],
                "contract": INJECTIONS[2][:40],
            },
        ),
        headers=bearer(keys.jes),
    )
    assert placed.status_code == 200, placed.text

    await written(pool, participant_id, 3 + len(INJECTIONS) + 3)
    timeline = await timeline_of(api, keys, participant_id)
    coaches = [e["detail"]["payload"]["coach_ref"] for e in timeline if _is(e, "coach_assigned")]
    assert coaches == [text[:64] for text in INJECTIONS]
    reasons = [e["detail"].get("reason") for e in timeline if e["kind"] == "steering"]
    assert reasons == [text for text in INJECTIONS for _ in ("pause", "resume")]
    [employment] = [e["detail"]["payload"] for e in timeline if _is(e, "placement_started")]
    assert (employment["employer"], employment["contract"]) == (
        INJECTIONS[0],
        INJECTIONS[2][:40],
    )
    kept = "SELECT count(*) FROM participants WHERE participant_id = $1"
    assert await pool.fetchval(kept, participant_id) == 1  # no text ran as SQL
    await assert_no_trajectory_broke(dev_env, [participant_id], since)
    await assert_no_partial_write(dev_env, pool, since)


def _is(entry: dict[str, Any], kind: str) -> bool:
    return bool(entry["kind"] == "milestone" and entry["detail"]["type"] == kind)


@pytest.mark.parametrize("text", INJECTIONS[:6] + INJECTIONS[-1:])
async def test_a_name_that_looks_like_code_is_kept_exactly_as_given(
    api: httpx.AsyncClient, keys: Keys, pool: Pool, text: str
) -> None:
    body = enrolment_body("jes")
    body["person"]["given_name"] = text
    body["person"]["family_name"] = text[::-1]

    answer = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))

    assert answer.status_code == 201, answer.text
    async with pool.acquire() as con:
        person = await read_person(
            con, answer.json()["participant_id"], "tests:hostile-text", purpose="test"
        )
    assert person is not None
    assert (person.given_name, person.family_name) == (text, text[::-1])


REFUSED_FIELDS: dict[str, tuple[str, str, Any]] = {
    # name: (path below the participant, the field as the API names it, body with the text)
    "given name": ("", "person.given_name", lambda t: _person(given_name=t)),
    "family name": ("", "person.family_name", lambda t: _person(family_name=t)),
    "coach": (
        "/milestones",
        "payload.coach_ref",
        lambda t: milestone("coach_assigned", {"coach_ref": t}),
    ),
    "reason dropped": (
        "/milestones",
        "payload.reason",
        lambda t: milestone("withdrawn", {"reason": t}),
    ),
    "pause reason": ("/pause", "reason", lambda t: {"reason": t}),
    "resume reason": ("/resume", "reason", lambda t: {"reason": t}),
    "reassign reason": ("/reassign", "reason", lambda t: {"partner_id": "jes", "reason": t}),
    "close reason": ("/close", "reason", lambda t: {"outcome": "withdrawn", "reason": t}),
    "task note": ("task", "note", lambda t: {"reached": True, "note": t}),
}


def _person(**changes: str) -> dict[str, Any]:
    body = enrolment_body("jes")
    body["person"].update(changes)
    return body


@pytest.mark.parametrize("field", list(REFUSED_FIELDS), ids=list(REFUSED_FIELDS))
async def test_unreadable_or_misleading_text_is_refused_with_the_field_named(
    api: httpx.AsyncClient,
    keys: Keys,
    enrol_by_api: EnrolByApi,
    pool: Pool,
    dev_env: WorkflowEnvironment,
    field: str,
) -> None:
    participant_id = await enrol_by_api("jes")
    since = datetime.now(UTC)
    below, named, body_of = REFUSED_FIELDS[field]
    if below == "":
        path, key = "/v1/participants", keys.backend
    elif below == "task":
        path, key = f"/v1/tasks/{participant_id}.1/done", keys.case_manager
    else:
        path, key = f"/v1/participants/{participant_id}{below}", keys.case_manager
    before = await api.get(f"/v1/participants/{participant_id}", headers=bearer(keys.backend))

    for character, text in REFUSED.items():
        body = body_of(text)
        answer = await api.post(
            path, content=dumped(body), headers={**bearer(key), "Content-Type": "application/json"}
        )

        assert answer.status_code == 422, (character, answer.text)
        assert answer.json()["error"] == "invalid_request"
        assert answer.json()["detail"].startswith(f"{named}: "), (character, answer.text)
        if below == "":
            stored = await pool.fetchval(
                "SELECT count(*) FROM participants WHERE external_ref = $1", body["external_ref"]
            )
            assert stored == 0
    after = await api.get(f"/v1/participants/{participant_id}", headers=bearer(keys.backend))
    assert after.json()["revision"] == before.json()["revision"]
    await assert_no_trajectory_broke(dev_env, [participant_id], since)
    await assert_no_partial_write(dev_env, pool, since)


QUERIES = [
    "partner_id",
    "phase",
    "status",
    "cursor",
    "limit",
    "from",
    "to",
    "format",
    "table",
]
LISTS = ["/v1/participants", "/v1/tasks", "/v1/reports/programme", "/v1/participants/{p}/timeline"]


@pytest.mark.parametrize("path", LISTS)
async def test_hostile_query_parameters_get_a_4xx_or_an_answer_never_a_5xx(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, path: str
) -> None:
    participant_id = await enrol_by_api("jes")
    values = [*INJECTIONS, *REFUSED.values(), "9" * 5000, "-1", "", "\u202ejes"]
    for name in QUERIES:
        for value in values:
            for key in (keys.case_manager, keys.jes):
                answer = await api.get(
                    f"{path.replace('{p}', participant_id)}?{name}={quoted(value)}",
                    headers=bearer(key),
                )
                assert answer.status_code < 500, (name, value, answer.text)
                if answer.status_code >= 400:
                    assert set(answer.json()) == {"error", "detail"}


def quoted(text: str) -> str:
    """`text` percent-encoded as one URL component, lone surrogates and all."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@pytest.mark.parametrize("participant_id", [*INJECTIONS, *REFUSED.values(), "a" * 5000])
async def test_a_hostile_participant_or_task_id_in_the_path_is_not_found_or_refused(
    api: httpx.AsyncClient, keys: Keys, participant_id: str
) -> None:
    for template in ("/v1/participants/{}", "/v1/participants/{}/timeline"):
        answer = await api.get(
            template.format(quoted(participant_id)), headers=bearer(keys.case_manager)
        )
        assert answer.status_code in (404, 422), (participant_id, answer.text)
    done = await api.post(
        f"/v1/tasks/{quoted(participant_id)}/done",
        json={"reached": False},
        headers=bearer(keys.case_manager),
    )
    assert done.status_code in (404, 422), (participant_id, done.text)


def test_every_refused_character_is_refused_by_the_api_text_rule() -> None:
    for text in REFUSED.values():
        with pytest.raises(ValueError):
            visible_text(text)
    for text in INJECTIONS:
        assert visible_text(text) == text


def test_the_api_names_each_field_holding_a_hidden_control() -> None:
    reported = Milestone.model_validate(
        milestone("placement_started", {"kind": "employment", "start_date": "2026-01-05"})
        | {"payload": {"kind": "employment", "start_date": "2026-01-05", "employer": "A\u202eB"}}
    )

    assert [field for field, _ in hidden_controls(reported)] == ["payload.employer"]

"""The OpenAPI description says what the API does, so that a partner can generate a client from
it: what the description calls valid the API accepts, and what the API refuses as malformed the
description rules out (issue 17 §5).

`tests/test_api_fuzz.py` checks this at large with Schemathesis; these tests pin down each
mismatch it found: free text that refuses control characters, cursors, a report period bound
that is not a date, a milestone's payload that depends on its type, partners, and `Allow`.
"""

import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from api.app import create_app
from api.models import ParticipantCreate
from infra.settings import Settings
from tests.api_fixtures import EnrolByApi, Keys, bearer
from trajectory.milestones import PAYLOADS, Milestone, MilestoneType, NoDetails, Payload
from trajectory.programmes import load_programmes
from trajectory.tasks import TaskDone
from trajectory.text import VISIBLE_TEXT_PATTERN, visible_text

SPEC = create_app(Settings()).openapi()
SCHEMAS = SPEC["components"]["schemas"]
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

PAYLOAD_SAMPLES: dict[str, dict[str, Any]] = {
    "NoDetails": {},
    "LanguageAssessed": {"language": "fr", "level": "B1"},
    "DigitalAssessed": {"level": 4},
    "CoachAssigned": {"coach_ref": "coach-7"},
    "CoachingSessionHeld": {"mode": "group"},
    "JobDayAttended": {"sector": "logistics"},
    "TrainingEnrolled": {"course_id": "bike-courier-2026"},
    "TrainingSelected": {"course_id": "bike-courier-2026"},
    "TrainingCompleted": {"qualification": "forklift licence"},
    "TrainingDropped": {"reason": "moved"},
    "JobOfferReceived": {"kind": "traineeship"},
    "PlacementStarted": {"kind": "employment", "start_date": "2026-05-04"},
    "PlacementEnded": {"reason": "contract ended"},
    "FollowUpContact": {"in_employment": True},
    "Withdrawn": {"reason": "found work alone"},
}
"""One valid payload of each payload model."""


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _strings(schema: dict[str, Any], where: str, seen: set[str]) -> Iterator[tuple[str, Any]]:
    """Every string schema inside `schema`, with where it is."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return
        seen = seen | {name}
    schema = _resolve(schema)
    if schema.get("type") == "string":
        yield where, schema
    for name, inner in schema.get("properties", {}).items():
        yield from _strings(inner, f"{where}.{name}", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for inner in schema.get(key, []):
            yield from _strings(inner, where, seen)
    if "items" in schema:
        yield from _strings(schema["items"], f"{where}[]", seen)


def _request_strings() -> Iterator[tuple[str, Any]]:
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                yield from _strings(body["schema"], f"{method.upper()} {path}", set())


def test_every_string_a_request_body_takes_says_what_it_accepts() -> None:
    unsaid = [
        where
        for where, schema in _request_strings()
        if not {"pattern", "enum", "const", "format"} & set(schema)
    ]
    assert unsaid == []


def test_the_free_text_pattern_accepts_exactly_what_the_api_accepts() -> None:
    free_text = [
        where
        for where, schema in _request_strings()
        if schema.get("pattern") == VISIBLE_TEXT_PATTERN
    ]
    assert any(where.endswith("/pause.reason") for where in free_text), free_text
    assert any(where.endswith("/done.note") for where in free_text), free_text
    assert any(where.endswith("/milestones.payload.employer") for where in free_text), free_text
    pattern = re.compile(VISIBLE_TEXT_PATTERN)
    differ = []
    for point in range(0x110000):
        if 0xD800 <= point <= 0xDFFF:
            continue  # lone surrogates: no character a client can send as UTF-8 (RFC 7493)
        char = chr(point)
        try:
            accepted = visible_text(f"a{char}b") == f"a{char}b"
        except ValueError:
            accepted = False
        if accepted != (pattern.search(f"a{char}b") is not None):
            differ.append(f"U+{point:04X}")
    assert differ == []


def _milestone_validator() -> Any:
    root = {"$ref": "#/components/schemas/Milestone", "components": SPEC["components"]}
    return jsonschema_rs.validator_for(root)


def test_a_milestone_body_gives_each_type_the_payload_the_api_takes() -> None:
    models: list[type[Payload]] = [*PAYLOADS.values(), NoDetails]
    assert set(PAYLOAD_SAMPLES) == {model.__name__ for model in models}
    validator = _milestone_validator()
    differ = []
    for kind in MilestoneType:
        for sample in PAYLOAD_SAMPLES.values():
            body = {
                "milestone_id": "m-1",
                "type": kind.value,
                "occurred_at": "2026-03-02T10:15:00+01:00",
                "payload": sample,
            }
            try:
                Milestone.model_validate(body)
                accepted = True
            except ValueError:
                accepted = False
            if accepted != validator.is_valid(body):
                differ.append((kind.value, sample, accepted))
    assert differ == []


def test_a_milestone_without_a_payload_is_valid_where_its_type_takes_none() -> None:
    validator = _milestone_validator()
    for kind in MilestoneType:
        model: type[Payload] = PAYLOADS.get(kind, NoDetails)
        body = {"milestone_id": "m-1", "type": kind.value, "occurred_at": "2026-03-02T10:15:00Z"}
        required = any(field.is_required() for field in model.model_fields.values())
        assert validator.is_valid(body) is not required, kind


def test_a_body_names_only_partners_that_have_a_programme() -> None:
    partners = sorted(load_programmes())
    for name in ("ReassignRequest", "ParticipantCreate"):
        partner_id = SCHEMAS[name]["properties"]["partner_id"]
        assert sorted(partner_id["enum"]) == partners, name


# -- against the API ------------------------------------------------------------------------------


def _cursor_pattern(path: str) -> str:
    (cursor,) = [p for p in SPEC["paths"][path]["get"]["parameters"] if p["name"] == "cursor"]
    pattern: str = cursor["schema"]["anyOf"][0]["pattern"]
    return pattern


async def test_each_cursor_the_api_hands_out_has_the_pattern_its_description_gives(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant = await enrol_by_api("jes")
    await enrol_by_api("jes")
    pages = {
        "/v1/participants": "/v1/participants?limit=1",
        "/v1/tasks": "/v1/tasks?limit=1",
        "/v1/participants/{participant_id}/timeline": (
            f"/v1/participants/{participant}/timeline?limit=1"
        ),
    }
    for path, page in pages.items():
        answer = await api.get(page, headers=bearer(keys.case_manager))
        cursor = answer.json()["next_cursor"]
        if cursor is not None:  # no task may be open yet
            assert re.fullmatch(_cursor_pattern(path), cursor), (path, cursor)
            again = await api.get(f"{page}&cursor={cursor}", headers=bearer(keys.case_manager))
            assert again.status_code == 200, again.text


@pytest.mark.parametrize(
    "path", ["/v1/participants", "/v1/tasks", "/v1/participants/{participant_id}/timeline"]
)
async def test_any_cursor_its_pattern_allows_is_a_place_to_start_after(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, path: str
) -> None:
    participant = await enrol_by_api("inbrussel")
    url = path.replace("{participant_id}", participant)
    cursors = st.from_regex(_cursor_pattern(path), fullmatch=True)
    answers: list[tuple[str, int, str]] = []

    @seed(17)
    @settings(max_examples=40, database=None, suppress_health_check=list(HealthCheck))
    @given(cursor=cursors)
    def collect(cursor: str) -> None:
        answers.append((cursor, 0, ""))

    collect()
    for index, (cursor, _, _) in enumerate(answers):
        answer = await api.get(url, params={"cursor": cursor}, headers=bearer(keys.case_manager))
        answers[index] = (cursor, answer.status_code, answer.text)
    assert [answer for answer in answers if answer[1] != 200] == []


@pytest.mark.parametrize(
    "query", ["to=0", "from=20261207", "to=1733587263", "from=2026-12-07T00:00:00", "to=2026-2-7"]
)
async def test_a_report_period_bound_that_is_not_a_date_is_refused(
    api: httpx.AsyncClient, keys: Keys, query: str
) -> None:
    answer = await api.get(f"/v1/reports/programme?{query}", headers=bearer(keys.case_manager))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(query.split("=")[0]), answer.text


@pytest.mark.parametrize("path", sorted(SPEC["paths"]))
async def test_a_method_a_path_does_not_take_gets_405_and_every_method_it_does(
    api: httpx.AsyncClient, path: str
) -> None:
    documented = {method.upper() for method in SPEC["paths"][path]} & {m.upper() for m in METHODS}
    url = path.replace("{participant_id}", "p-0").replace("{task_id}", "p-0.1")
    for method in sorted({"OPTIONS", "PUT", "DELETE", "PATCH"} - documented):
        answer = await api.request(method, url)
        assert answer.status_code == 405, (method, path, answer.text)
        allowed = {m.strip() for m in answer.headers["allow"].split(",")}
        assert allowed - {"HEAD"} == documented, (method, path, answer.headers["allow"])


def _enrolment(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = SCHEMAS["ParticipantCreate"]["examples"][0]
    return {**body, **changes, "person": {**body["person"], **changes.pop("person", {})}}


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (ParticipantCreate, _enrolment(pes_registered_on=0)),
        (ParticipantCreate, _enrolment(pes_registered_on="20260105")),
        (ParticipantCreate, _enrolment(person={"birth_date": 1084752000})),
        (Milestone, {"milestone_id": "m-1", "type": "participant_contact", "occurred_at": 1.77e9}),
        (
            Milestone,
            {
                "milestone_id": "m-1",
                "type": "placement_started",
                "occurred_at": "2026-05-04T09:00:00+02:00",
                "payload": {"kind": "employment", "start_date": 0},
            },
        ),
    ],
)
def test_a_date_or_a_time_written_as_a_number_is_refused(
    model: type[BaseModel], body: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError, match="should be"):
        model.model_validate(body)


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (ParticipantCreate, _enrolment(status={**_enrolment()["status"], "other_measure": 0})),
        (ParticipantCreate, _enrolment(status={**_enrolment()["status"], "employed": "yes"})),
        (TaskDone, {"reached": 1}),
        (
            Milestone,
            {
                "milestone_id": "m-1",
                "type": "follow_up_contact",
                "occurred_at": "2026-05-04T09:00:00+02:00",
                "payload": {"in_employment": "true"},
            },
        ),
    ],
)
def test_a_flag_written_as_a_number_or_a_word_is_refused(
    model: type[BaseModel], body: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError, match="valid boolean"):
        model.model_validate(body)

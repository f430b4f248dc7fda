"""The same `external_ref` again: 200, the same participant, nothing started or changed, and the
answer names what was sent differently, by field name only."""

import copy

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from infra.contract import workflow_id
from infra.database import Pool
from readmodel.persons import read_person
from tests.api_fixtures import Keys, bearer, enrolment_body

NEW_PHONE = "+32498765432"
NEW_EMAIL = "somebody.else@example.net"


async def runs(env: WorkflowEnvironment, participant_id: str) -> int:
    query = f"WorkflowId = '{workflow_id(participant_id)}'"
    return len([run async for run in env.client.list_workflows(query)])


async def test_a_retry_of_the_same_enrolment_ignores_nothing_however_the_numbers_are_written(
    api: httpx.AsyncClient, keys: Keys
) -> None:
    body = enrolment_body("jes")
    first = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert first.status_code == 201, first.text
    assert first.json()["ignored"] == []

    again = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert again.status_code == 200, again.text
    assert again.json()["ignored"] == []

    number = body["person"]["national_number"]
    reformatted = copy.deepcopy(body)
    reformatted["person"]["national_number"] = (
        f"{number[:2]}.{number[2:4]}.{number[4:6]}-{number[6:9]}.{number[9:]}"
    )
    reformatted["person"]["phone"] = "+32 470 12 34 56"
    reformatted["person"]["email"] = body["person"]["email"].upper()
    same = await api.post("/v1/participants", json=reformatted, headers=bearer(keys.backend))
    assert same.status_code == 200, same.text
    assert same.json()["ignored"] == []
    assert same.json()["participant_id"] == first.json()["participant_id"]


async def test_other_data_under_the_same_reference_is_named_as_ignored_and_changes_nothing(
    api: httpx.AsyncClient,
    keys: Keys,
    pool: Pool,
    dev_env: WorkflowEnvironment,
    capfd: pytest.CaptureFixture[str],
) -> None:
    body = enrolment_body("jes")
    first = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert first.status_code == 201, first.text
    participant_id = first.json()["participant_id"]

    changed = copy.deepcopy(body)
    changed["partner_id"] = "inbrussel"
    changed["person"] |= {"phone": NEW_PHONE, "email": NEW_EMAIL, "postcode": "1000"}
    changed["status"]["employed"] = True
    changed["entry_profile"] = {
        "labour_status": "inactive",
        "education_level": "isced_3_4",
        "gender": "woman",
        "disability": "declined",
        "third_country_national": "no",
        "foreign_background": "declined",
        "minority": "declined",
        "homeless": "no",
    }
    capfd.readouterr()
    again = await api.post("/v1/participants", json=changed, headers=bearer(keys.backend))

    assert again.status_code == 200, again.text
    answer = again.json()
    assert answer["participant_id"] == participant_id
    assert answer["ignored"] == [
        "entry_profile",
        "partner_id",
        "person.email",
        "person.phone",
        "person.postcode",
        "status.employed",
    ]
    assert answer["partner_id"] == "jes"
    assert await runs(dev_env, participant_id) == 1
    async with pool.acquire() as con:
        kept = await read_person(con, participant_id, "tests", purpose="check")
    assert kept is not None
    assert (kept.phone, kept.email, kept.postcode) == (
        body["person"]["phone"],
        body["person"]["email"],
        body["person"]["postcode"],
    )
    logged = "".join(capfd.readouterr())
    assert "repeated_enrolment_ignored" in logged
    for value in (NEW_PHONE, NEW_EMAIL, body["person"]["phone"], body["person"]["family_name"]):
        assert value not in logged and value not in again.text

"""A participant's consent per channel: their partner or a case manager records it, the
timeline shows who changed it, and the latest change is what the outbox honours."""

import httpx

from infra.database import Pool
from readmodel.consents import refused_channels
from tests.api_fixtures import EnrolByApi, Keys, bearer, listed


async def test_a_coach_records_that_the_participant_wants_no_email_then_wants_it_again(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("jes")
    await listed(pool, participant_id)
    path = f"/v1/participants/{participant_id}/consent"
    refused = await api.post(
        path, json={"channel": "email", "allowed": False}, headers=bearer(keys.jes)
    )
    assert refused.status_code == 200, refused.text
    assert refused.json()["allowed"] is False
    async with pool.acquire() as con:
        assert await refused_channels(con, participant_id) == {"email"}

    again = await api.post(
        path, json={"channel": "email", "allowed": True}, headers=bearer(keys.case_manager)
    )
    assert again.status_code == 200, again.text
    async with pool.acquire() as con:
        assert await refused_channels(con, participant_id) == set()

    entries = (
        await api.get(f"/v1/participants/{participant_id}/timeline", headers=bearer(keys.jes))
    ).json()["items"]
    changes = [
        (e["detail"]["allowed"], e["actor"]["role"]) for e in entries if e["kind"] == "consent"
    ]
    assert changes == [(False, "partner"), (True, "case_manager")]


async def test_a_channel_that_is_not_a_message_channel_is_refused_by_name(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    answer = await api.post(
        f"/v1/participants/{participant_id}/consent",
        json={"channel": "phone", "allowed": 0},
        headers=bearer(keys.jes),
    )
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("channel:")

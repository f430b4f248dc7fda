"""A partner's integration polls a timeline with its cursor: a milestone reported late, with an
`occurred_at` before what it already read, still comes on its next page."""

from datetime import UTC, datetime, timedelta

import httpx

from infra.database import Pool
from tests.api_fixtures import EnrolByApi, Keys, bearer, written


async def read_to_the_end(api: httpx.AsyncClient, path: str, key: str) -> tuple[list[str], str]:
    """Every entry's kind and type after the start, and the cursor to poll from."""
    seen: list[str] = []
    cursor = ""
    while True:
        answer = await api.get(f"{path}?limit=2{cursor}", headers=bearer(key))
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seen += [e["detail"].get("milestone_id", e["kind"]) for e in page["items"]]
        if not page["items"] or page["next_cursor"] is None:  # keeps the last cursor it had
            return seen, cursor
        cursor = f"&cursor={page['next_cursor']}"


async def test_a_contact_reported_late_reaches_a_poller_that_already_read_past_it(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("jes")
    path = f"/v1/participants/{participant_id}/timeline"
    milestones = f"/v1/participants/{participant_id}/milestones"
    now = datetime.now(UTC)
    for n in range(5):
        at = now + timedelta(seconds=n)
        body = {"milestone_id": f"call-{n}", "type": "participant_contact", "occurred_at": at}
        answer = await api.post(
            milestones, json=body | {"occurred_at": at.isoformat()}, headers=bearer(keys.jes)
        )
        assert answer.status_code == 200, answer.text
    await written(pool, participant_id, 5)
    first, cursor = await read_to_the_end(api, path, keys.jes)
    assert "call-4" in first and cursor

    late = {
        "milestone_id": "met-before",
        "type": "participant_contact",
        "occurred_at": (now - timedelta(milliseconds=500)).isoformat(),
    }
    assert (await api.post(milestones, json=late, headers=bearer(keys.jes))).status_code == 200
    await written(pool, participant_id, 6)
    answer = await api.get(f"{path}?limit=50{cursor}", headers=bearer(keys.jes))

    assert "met-before" in [e["detail"].get("milestone_id") for e in answer.json()["items"]]

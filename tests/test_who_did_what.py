"""Who did what: every milestone, steering action and personal-data read names its actor, and
the timeline tells a participant's story oldest first (DESIGN 8.1)."""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from infra.database import Pool
from readmodel.api_keys import key_id_of
from readmodel.persons import read_person
from tests.api_fixtures import EnrolByApi, Keys, bearer, written
from trajectory.actors import Actor


def contact(kind: str = "intake_interview_held") -> dict[str, Any]:
    return {
        "milestone_id": f"m-{uuid.uuid4().hex[:12]}",
        "type": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {},
    }


def actor(role: str, key: str, partner_id: str | None = None) -> dict[str, Any]:
    return {"role": role, "partner_id": partner_id, "key_id": key_id_of(key), "user_id": None}


async def steered(pool: Pool, participant_id: str, actions: int, seconds: float = 10) -> None:
    """Wait until the read model holds `actions` steering actions (it follows the workflow)."""
    deadline = asyncio.get_running_loop().time() + seconds
    query = "SELECT count(*) FROM steering_actions WHERE participant_id = $1"
    while await pool.fetchval(query, participant_id) < actions:
        assert asyncio.get_running_loop().time() < deadline, "the read model never caught up"
        await asyncio.sleep(0.05)


async def timeline(api: httpx.AsyncClient, key: str, participant_id: str) -> list[dict[str, Any]]:
    """Every entry, page by page of two."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = await api.get(
            f"/v1/participants/{participant_id}/timeline{query}", headers=bearer(key)
        )
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        if (cursor := page.json()["next_cursor"]) is None:
            return items


async def test_a_case_manager_sees_who_reported_paused_and_resumed_and_the_partner_not_why(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("jes")
    path = f"/v1/participants/{participant_id}"
    reported = await api.post(f"{path}/milestones", json=contact(), headers=bearer(keys.jes))
    assert reported.status_code == 200, reported.text
    paused = await api.post(
        f"{path}/pause", json={"reason": "hospital stay"}, headers=bearer(keys.case_manager)
    )
    assert paused.status_code == 200, paused.text
    refused = await api.post(
        f"{path}/milestones", json=contact("participant_contact"), headers=bearer(keys.jes)
    )
    assert refused.status_code == 409
    assert "hospital" not in refused.json()["detail"]
    resumed = await api.post(f"{path}/resume", headers=bearer(keys.case_manager))
    assert resumed.status_code == 200, resumed.text
    await written(pool, participant_id, 1)
    while (
        await pool.fetchval(
            "SELECT count(*) FROM steering_actions WHERE participant_id = $1", participant_id
        )
        < 2
    ):
        await api.get(path, headers=bearer(keys.backend))

    seen_by_case_manager = await timeline(api, keys.case_manager, participant_id)
    kinds = [
        (e["kind"], e["detail"].get("type") or e["detail"].get("action"))
        for e in seen_by_case_manager
    ]
    assert kinds == [
        ("milestone", "intake_interview_held"),
        ("phase_change", None),
        ("steering", "pause"),
        ("steering", "resume"),
    ]
    milestone, moved, pause, resume = seen_by_case_manager
    assert milestone["actor"] == actor("partner", keys.jes, "jes")
    assert (moved["actor"], moved["detail"]["to_phase"]) == (None, "assessment")
    assert pause["actor"] == actor("case_manager", keys.case_manager)
    assert pause["detail"]["reason"] == "hospital stay"
    assert "reason" not in resume["detail"]
    assert [e["at"] for e in seen_by_case_manager] == sorted(e["at"] for e in seen_by_case_manager)

    seen_by_jes = await timeline(api, keys.jes, participant_id)
    assert [e["kind"] for e in seen_by_jes] == [e["kind"] for e in seen_by_case_manager]
    assert "reason" not in seen_by_jes[2]["detail"]
    assert seen_by_jes[2]["actor"] == pause["actor"]
    assert len(await timeline(api, keys.backend, participant_id)) == 4

    other = await api.get(f"{path}/timeline", headers=bearer(keys.inbrussel))
    assert (other.status_code, other.json()["error"]) == (404, "not_found")
    forged = await api.get(f"{path}/timeline?cursor=bm9wZQ", headers=bearer(keys.jes))
    assert forged.status_code == 422


async def test_the_milestone_log_keeps_the_reporting_key_and_reassignment_names_the_case_manager(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("jes")
    path = f"/v1/participants/{participant_id}"
    await api.post(f"{path}/milestones", json=contact(), headers=bearer(keys.case_manager))
    moved = await api.post(
        f"{path}/reassign",
        json={"partner_id": "inbrussel", "reason": "moved to Laeken"},
        headers=bearer(keys.case_manager),
    )
    assert moved.status_code == 200, moved.text
    await written(pool, participant_id, 1)
    row = await pool.fetchrow(
        "SELECT recorded_by, actor_role, actor_partner_id, actor_key_id FROM milestones"
        " WHERE participant_id = $1",
        participant_id,
    )
    assert row is not None
    assert dict(row) == {
        "recorded_by": "case_manager",
        "actor_role": "case_manager",
        "actor_partner_id": None,
        "actor_key_id": key_id_of(keys.case_manager),
    }
    await steered(pool, participant_id, 1)
    steering = await pool.fetchrow(
        "SELECT action, reason_sealed, actor_role, actor_key_id FROM steering_actions"
        " WHERE participant_id = $1",
        participant_id,
    )
    assert steering is not None
    sealed = steering["reason_sealed"]
    assert {k: v for k, v in dict(steering).items() if k != "reason_sealed"} == {
        "action": "reassign",
        "actor_role": "case_manager",
        "actor_key_id": key_id_of(keys.case_manager),
    }
    assert sealed is not None and b"Laeken" not in sealed
    seen_by_case_manager = await timeline(api, keys.case_manager, participant_id)
    assert seen_by_case_manager[-1]["detail"]["reason"] == "moved to Laeken"
    new_partner = await timeline(api, keys.inbrussel, participant_id)
    assert "reason" not in new_partner[-1]["detail"]


async def test_a_personal_data_read_records_who_read_it(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("jes")
    reader = Actor(role="case_manager", key_id=key_id_of(keys.case_manager))
    async with pool.acquire() as con:
        assert await read_person(
            con, participant_id, "case_manager:file", purpose="participant file", actor=reader
        )
    row = await pool.fetchrow(
        "SELECT actor_role, actor_key_id FROM personal_data_reads"
        " WHERE participant_id = $1 AND purpose = 'participant file'",
        participant_id,
    )
    assert row is not None
    assert (row["actor_role"], row["actor_key_id"]) == (
        "case_manager",
        key_id_of(keys.case_manager),
    )

"""A partner integration can follow a programme from the state alone (DESIGN 8.1)."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx

from infra.database import Pool
from tests.api_fixtures import EnrolByApi, Keys, bearer, written

PAYLOADS: dict[str, dict[str, Any]] = {
    "language_assessed": {"language": "nl", "level": "B1"},
    "digital_assessed": {"level": 3},
    "coach_assigned": {"coach_ref": "coach-12"},
    "placement_started": {"kind": "employment", "start_date": date.today().isoformat()},
}


def report(kind: str) -> dict[str, Any]:
    return {
        "milestone_id": f"jes-{uuid.uuid4().hex[:12]}",
        "type": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": PAYLOADS.get(kind, {}),
    }


async def test_a_jes_integration_driven_only_by_next_steps_reaches_placement(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi, pool: Pool
) -> None:
    participant_id = await enrol_by_api("jes", language="nl")
    path = f"/v1/participants/{participant_id}"
    jes = bearer(keys.jes)
    state = (await api.get(path, headers=jes)).json()
    reported: list[str] = []
    while state["next_steps"]:
        answer = await api.post(
            f"{path}/milestones", json=report(state["next_steps"][0]), headers=jes
        )
        assert answer.status_code == 200, answer.text
        reported.append(state["next_steps"][0])
        state = answer.json()

    assert reported == [
        "intake_interview_held",
        "language_assessed",
        "digital_assessed",
        "coach_assigned",
        "basic_skills_session",
        "employer_mentor_matched",
    ]
    assert (state["phase"], state["next_steps"]) == ("coaching", [])
    placed = await api.post(f"{path}/milestones", json=report("placement_started"), headers=jes)
    assert placed.status_code == 200, placed.text
    assert placed.json()["phase"] == "placement"

    await written(pool, participant_id, len(reported) + 1)
    stored = await pool.fetchval(
        "SELECT next_steps FROM trajectories WHERE participant_id = $1", participant_id
    )
    assert stored == []


async def test_a_jes_coach_sees_what_coaching_still_needs_before_a_placement(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes", language="nl")
    path = f"/v1/participants/{participant_id}"
    jes = bearer(keys.jes)
    for kind in ("intake_interview_held", "language_assessed", "digital_assessed"):
        state = await api.post(f"{path}/milestones", json=report(kind), headers=jes)
    assert state.json()["next_steps"] == [
        "coach_assigned",
        "basic_skills_session",
        "employer_mentor_matched",
    ]
    refused = await api.post(f"{path}/milestones", json=report("placement_started"), headers=jes)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "coaching is not finished: JES first needs coach_assigned, basic_skills_session, "
        "employer_mentor_matched"
    )


async def test_an_integration_reporting_coach_assigned_without_the_coach_is_told_what_is_missing(
    api: httpx.AsyncClient, keys: Keys, enrol_by_api: EnrolByApi
) -> None:
    participant_id = await enrol_by_api("jes")
    body = report("coach_assigned")
    del body["payload"]
    answer = await api.post(
        f"/v1/participants/{participant_id}/milestones", json=body, headers=bearer(keys.jes)
    )
    assert (answer.status_code, answer.json()["detail"]) == (
        422,
        "payload.coach_ref: Field required",
    )

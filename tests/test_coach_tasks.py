"""Coach tasks from the nudge ladder: listed, closed by the coach, and escalated when left open.

On the time-skipping server with the HTTP API bound to it: time moves only when a test skips.
"""

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from infra.database import Pool
from readmodel.api_keys import key_id_of
from tests.api_fixtures import Keys, bearer
from tests.journeys import Journey, Start
from trajectory.phases import Phase
from trajectory.programmes import load_programme

JES = load_programme("jes")
UNTIL_COACH_CALL = JES.steps(Phase.INTAKE).inactivity_days + sum(
    step.after_days for step in JES.nudge_ladder[:3]
)
"""Days of silence in intake until the JES ladder asks the coach to call."""


async def silent_until_the_coach_must_call(start: Start) -> Journey:
    journey = await start("jes", language="fr")
    await journey.skip(UNTIL_COACH_CALL + 0.5)
    await journey.wait_for(lambda s: s.nudge_level == 3, "the coach call rung")
    return journey


async def open_task_listed(
    api: httpx.AsyncClient, key: str, participant_id: str, seconds: float = 10
) -> dict[str, Any]:
    """The participant's open task as `GET /v1/tasks?status=open` lists it (written by the rung)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        answer = await api.get("/v1/tasks?status=open&limit=500", headers=bearer(key))
        assert answer.status_code == 200, answer.text
        mine = [t for t in answer.json()["items"] if t["participant_id"] == participant_id]
        if mine:
            assert len(mine) == 1
            task: dict[str, Any] = mine[0]
            return task
        assert asyncio.get_running_loop().time() < deadline, "the task was never listed"
        await asyncio.sleep(0.05)


async def jes_task_figures(api: httpx.AsyncClient, key: str) -> dict[str, int]:
    answer = await api.get("/v1/tasks/figures", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    rows = {row["partner_id"]: row for row in answer.json()}
    figures: dict[str, int] = rows.get("jes", {"opened": 0, "done_in_time": 0, "reached": 0})
    return figures


async def test_a_silent_jes_youth_s_coach_call_is_listed_closed_as_reached_and_the_ladder_resets(
    start: Start, api_on_time: httpx.AsyncClient, keys: Keys, pool: Pool
) -> None:
    journey = await silent_until_the_coach_must_call(start)
    task = await open_task_listed(api_on_time, keys.jes, journey.participant_id)
    assert (task["kind"], task["status"], task["partner_id"]) == ("coach_call", "open", "jes")
    state = (
        await api_on_time.get(
            f"/v1/participants/{journey.participant_id}", headers=bearer(keys.jes)
        )
    ).json()
    assert state["open_tasks"] == [
        {"task_id": task["task_id"], "kind": "coach_call", "due_at": task["due_at"]}
    ]

    before = await jes_task_figures(api_on_time, keys.case_manager)
    done = await api_on_time.post(
        f"/v1/tasks/{task['task_id']}/done",
        json={"reached": True, "note": "called, coming on Monday"},
        headers=bearer(keys.jes),
    )
    assert done.status_code == 200, done.text
    assert (done.json()["nudge_level"], done.json()["open_tasks"]) == (0, [])

    await journey.written()
    after = await jes_task_figures(api_on_time, keys.case_manager)
    assert (after["done_in_time"], after["reached"]) == (
        before["done_in_time"] + 1,
        before["reached"] + 1,
    )
    timeline = await api_on_time.get(
        f"/v1/participants/{journey.participant_id}/timeline", headers=bearer(keys.jes)
    )
    entries = timeline.json()["items"]
    assert [e["kind"] for e in entries][-5:] == [
        "nudge",
        "nudge",
        "nudge",
        "task_opened",
        "task_done",
    ]
    assert entries[-1]["detail"] == {
        "task_id": task["task_id"],
        "kind": "coach_call",
        "reached": True,
        "note": "called, coming on Monday",
    }
    assert entries[-1]["actor"]["key_id"] == key_id_of(keys.jes)
    row = await pool.fetchrow(
        "SELECT done_at, reached, note, note_sealed, actor_role, actor_partner_id, actor_key_id"
        " FROM tasks WHERE task_id = $1",
        task["task_id"],
    )
    assert row is not None and row["done_at"] is not None
    assert (row["reached"], row["note"]) == (True, None)
    assert row["note_sealed"] is not None and b"Monday" not in row["note_sealed"]
    assert (row["actor_role"], row["actor_partner_id"], row["actor_key_id"]) == (
        "partner",
        "jes",
        key_id_of(keys.jes),
    )
    answered = await pool.fetchval(
        "SELECT count(*) FROM nudges WHERE participant_id = $1 AND contact_at IS NOT NULL",
        journey.participant_id,
    )
    assert answered == 3

    await journey.skip(JES.nudge_ladder[3].after_days + 1)
    state_after = await journey.state()
    assert (state_after.nudge_level, state_after.nudge_seq) == (0, 3)
    listed = await api_on_time.get("/v1/tasks?status=done&limit=500", headers=bearer(keys.jes))
    assert task["task_id"] in {t["task_id"] for t in listed.json()["items"]}


async def test_a_coach_call_left_open_past_its_due_date_sends_the_street_worker_early(
    start: Start, pool: Pool
) -> None:
    journey = await silent_until_the_coach_must_call(start)
    [task] = (await journey.state()).tasks
    now = await journey.now()
    assert task.due_at - now < timedelta(days=JES.nudge_ladder[3].after_days)

    await journey.skip((task.due_at - now) / timedelta(days=1) + 0.1)
    state = await journey.wait_for(lambda s: s.nudge_level == 4, "the outreach rung")
    assert [t.kind for t in state.tasks] == ["coach_call", "outreach"]
    actions = await pool.fetch(
        "SELECT action FROM nudges WHERE participant_id = $1 ORDER BY seq", journey.participant_id
    )
    assert [a["action"] for a in actions][-2:] == ["coach_call", "outreach"]


async def test_a_coach_call_closed_unreached_leaves_the_ladder_to_its_own_pace(
    start: Start, api_on_time: httpx.AsyncClient, keys: Keys
) -> None:
    journey = await silent_until_the_coach_must_call(start)
    task = await open_task_listed(api_on_time, keys.case_manager, journey.participant_id)
    done = await api_on_time.post(
        f"/v1/tasks/{task['task_id']}/done", json={"reached": False}, headers=bearer(keys.jes)
    )
    assert (done.status_code, done.json()["nudge_level"]) == (200, 3)

    await journey.skip(JES.nudge_ladder[3].after_days - 1)
    assert (await journey.state()).nudge_level == 3
    await journey.skip(2)
    await journey.wait_for(lambda s: s.nudge_level == 4, "the outreach rung on time")


async def test_only_the_participant_s_partner_or_a_case_manager_closes_a_task_and_only_once(
    start: Start, api_on_time: httpx.AsyncClient, keys: Keys
) -> None:
    journey = await silent_until_the_coach_must_call(start)
    task = await open_task_listed(api_on_time, keys.case_manager, journey.participant_id)
    path = f"/v1/tasks/{task['task_id']}/done"

    other = await api_on_time.post(path, json={"reached": True}, headers=bearer(keys.inbrussel))
    assert (other.status_code, other.json()["error"]) == (404, "not_found")
    listed = await api_on_time.get("/v1/tasks?partner_id=jes", headers=bearer(keys.inbrussel))
    assert listed.json() == {"items": [], "next_cursor": None}
    backend = await api_on_time.post(path, json={"reached": True}, headers=bearer(keys.backend))
    assert backend.status_code == 403
    forged = await api_on_time.post(
        path, json={"reached": True, "task_id": "x.1"}, headers=bearer(keys.jes)
    )
    assert forged.status_code == 422

    closed = await api_on_time.post(
        path, json={"reached": False, "note": "voicemail"}, headers=bearer(keys.case_manager)
    )
    assert closed.status_code == 200, closed.text
    again = await api_on_time.post(path, json={"reached": True}, headers=bearer(keys.jes))
    assert (again.status_code, again.json()["error"]) == (409, "task_refused")
    unknown = await api_on_time.post(
        f"/v1/tasks/{journey.participant_id}.99/done",
        json={"reached": True},
        headers=bearer(keys.jes),
    )
    assert (unknown.status_code, unknown.json()["error"]) == (409, "task_refused")


async def test_a_reassigned_participant_s_open_task_goes_to_the_new_partner_and_a_closure_ends_it(
    start: Start, api_on_time: httpx.AsyncClient, keys: Keys
) -> None:
    journey = await silent_until_the_coach_must_call(start)
    task = await open_task_listed(api_on_time, keys.jes, journey.participant_id)
    path = f"/v1/participants/{journey.participant_id}"
    moved = await api_on_time.post(
        f"{path}/reassign", json={"partner_id": "inbrussel"}, headers=bearer(keys.case_manager)
    )
    assert moved.status_code == 200, moved.text
    await journey.written()

    assert (await open_task_listed(api_on_time, keys.inbrussel, journey.participant_id)) == {
        **task,
        "partner_id": "inbrussel",
    }
    jes_list = await api_on_time.get("/v1/tasks?status=open&limit=500", headers=bearer(keys.jes))
    assert task["task_id"] not in {t["task_id"] for t in jes_list.json()["items"]}

    closed = await api_on_time.post(
        f"{path}/close",
        json={"outcome": "moved_away", "reason": "moved to Liège"},
        headers=bearer(keys.case_manager),
    )
    assert closed.status_code == 200, closed.text
    await journey.written()
    listed = await api_on_time.get("/v1/tasks?limit=500", headers=bearer(keys.case_manager))
    assert task["task_id"] not in {t["task_id"] for t in listed.json()["items"]}


async def test_a_partner_that_no_longer_holds_the_youth_cannot_repeat_a_task_closure(
    start: Start, api_on_time: httpx.AsyncClient, keys: Keys
) -> None:
    journey = await silent_until_the_coach_must_call(start)
    task = await open_task_listed(api_on_time, keys.jes, journey.participant_id)
    path = f"/v1/tasks/{task['task_id']}/done"
    first = await api_on_time.post(path, json={"reached": True}, headers=bearer(keys.case_manager))
    assert first.status_code == 200, first.text
    moved = await api_on_time.post(
        f"/v1/participants/{journey.participant_id}/reassign",
        json={"partner_id": "inbrussel"},
        headers=bearer(keys.case_manager),
    )
    assert moved.status_code == 200, moved.text

    again = await api_on_time.post(path, json={"reached": True}, headers=bearer(keys.jes))

    assert (again.status_code, again.json()["error"]) == (404, "not_found")


async def pause_for_a_month(journey: Journey, api: httpx.AsyncClient, keys: Keys) -> None:
    paused = await api.post(
        f"/v1/participants/{journey.participant_id}/pause",
        json={"reason": "in hospital"},
        headers=bearer(keys.case_manager),
    )
    assert paused.status_code == 200, paused.text
    await journey.skip(30)


async def test_a_coach_call_left_open_over_a_pause_is_not_overdue_when_the_youth_comes_back(
    start: Start, api_on_time: httpx.AsyncClient, keys: Keys
) -> None:
    journey = await silent_until_the_coach_must_call(start)
    task = await open_task_listed(api_on_time, keys.jes, journey.participant_id)
    await pause_for_a_month(journey, api_on_time, keys)

    resumed = await api_on_time.post(
        f"/v1/participants/{journey.participant_id}/resume", headers=bearer(keys.case_manager)
    )
    assert resumed.status_code == 200, resumed.text
    await journey.skip(0.5)

    state = await journey.state()
    assert (state.nudge_level, state.status) == (3, "active"), "the ladder waits for the call"
    [open_task] = resumed.json()["open_tasks"]
    assert open_task["due_at"] > task["due_at"], "the call is due as long after the pause"


async def test_a_coach_call_cannot_be_closed_while_the_trajectory_is_paused(
    start: Start, api_on_time: httpx.AsyncClient, keys: Keys
) -> None:
    journey = await silent_until_the_coach_must_call(start)
    task = await open_task_listed(api_on_time, keys.jes, journey.participant_id)
    await pause_for_a_month(journey, api_on_time, keys)

    closing = await api_on_time.post(
        f"/v1/tasks/{task['task_id']}/done", json={"reached": True}, headers=bearer(keys.jes)
    )

    assert (closing.status_code, closing.json()["error"]) == (409, "task_refused")
    assert "paused" in closing.json()["detail"]
    await api_on_time.post(
        f"/v1/participants/{journey.participant_id}/resume", headers=bearer(keys.case_manager)
    )
    assert (await journey.state()).last_contact_at <= await journey.now()

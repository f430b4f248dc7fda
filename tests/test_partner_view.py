"""What a partner sees (DESIGN 8.1): every answer a partner can get (state, list, timeline, tasks,
a refusal) leaves out case managers' words, also when a case manager steers from the Web UI or
the Temporal CLI, where the engine cannot tell who it was."""

import asyncio
import uuid

import httpx
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.enrolment import enrol
from infra.database import Pool
from tests.api_fixtures import Keys, bearer
from tests.case_file import DAY_SECONDS, CaseFile, milestone, someone, until
from tests.test_coach_tasks import open_task_listed
from trajectory.requests import ResumeRequest, ResumeTrajectory
from workflows.trajectory import ParticipantTrajectory


async def test_no_answer_to_a_partner_holds_a_case_managers_words(
    dev_env: WorkflowEnvironment,
    dev_worker: Worker,
    api: httpx.AsyncClient,
    keys: Keys,
    pool: Pool,
) -> None:
    tag = uuid.uuid4().hex[:8]
    words = {
        "note": f"spoke to the mother {tag}",
        "pause": f"psychiatric care {tag}",
        "resume": f"discharged {tag}",
    }
    enrolled = await enrol(dev_env.client, pool, someone(tag), day_seconds=DAY_SECONDS)
    participant_id, handle = enrolled.participant_id, enrolled.handle
    case = CaseFile(api, keys, participant_id)
    # The case manager takes the call from their task list, once the rung has written it there.
    task = await open_task_listed(api, keys.case_manager, participant_id, seconds=30)
    task_id = task["task_id"]
    done = await api.post(
        f"/v1/tasks/{task_id}/done",
        json={"reached": True, "note": words["note"]},
        headers=bearer(keys.case_manager),
    )
    assert done.status_code == 200, done.text
    await case.report("intake_interview_held")
    await case.steer("pause", {"reason": words["pause"]})
    partner = bearer(keys.jes)
    path = f"/v1/participants/{participant_id}"
    refused = await api.post(
        f"{path}/milestones", json=milestone("participant_contact"), headers=partner
    )
    assert refused.status_code == 409
    # A case manager resumes from the Web UI: the engine does not know who.
    await handle.execute_update(
        ParticipantTrajectory.resume,
        ResumeTrajectory(request=ResumeRequest(reason=words["resume"])),
    )
    await until(handle, lambda s: s.status == "active", "the resume")
    deadline = asyncio.get_running_loop().time() + 10
    while words["resume"] not in (seen_by_case_manager := await case.timeline()):
        assert asyncio.get_running_loop().time() < deadline, "the resume never reached PostgreSQL"
        await asyncio.sleep(0.05)
    assert [name for name, text in words.items() if text not in seen_by_case_manager] == []

    answers = {
        "refusal": refused,
        "state": await api.get(path, headers=partner),
        "list": await api.get("/v1/participants?limit=500", headers=partner),
        "timeline": await api.get(f"{path}/timeline?limit=500", headers=partner),
        "tasks": await api.get("/v1/tasks?limit=500", headers=partner),
    }

    assert {name: answer.status_code for name, answer in answers.items()} == {
        "refusal": 409,
        "state": 200,
        "list": 200,
        "timeline": 200,
        "tasks": 200,
    }
    assert participant_id in answers["list"].text and task_id in answers["tasks"].text
    leaks = {
        name: [word for word in words.values() if word in answer.text]
        for name, answer in answers.items()
    }
    assert leaks == {name: [] for name in answers}
    entries = answers["timeline"].json()["items"]
    steering = [e for e in entries if e["kind"] == "steering"]
    assert [e["detail"]["action"] for e in steering] == ["pause", "resume"]
    assert "required_steps_done" in [e["detail"].get("code") for e in entries], "what happened"

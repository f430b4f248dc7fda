"""Erasing a person leaves nothing of them anywhere: not in any table or column of the read model
(found by enumerating the schema, so a new table is covered by itself), not in the workflow's
search attributes, and not in Temporal's histories: a trajectory still running (open, or closed
and waiting for check-ins) is ended first and asks the person nothing more. Within the ESF+
retention period the request restricts processing instead (`tests/test_retention.py`); these
records are outside ESF+ (`--not-esf`: a test record, an enrolment made in error).

A youth goes through JES's programme on the real dev server with every kind of free text a
coach or a case manager writes; before the erasure the scan finds their PES reference where it
is stored in clear (so it sees text and JSON), and a case manager's timeline shows every text.
"""

import asyncio
import os
import socket
import sys
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.enrolment import enrol
from infra.database import Pool
from infra.person_keys import default_person_keys
from readmodel import seats
from readmodel.changes import write_changes
from readmodel.enrolment import claim_person
from readmodel.free_text import ERASED
from readmodel.persons import erase_person, read_person
from tests.api_fixtures import Keys, bearer, starter
from tests.case_file import DAY_SECONDS, CaseFile, identifiers, someone, state_of, until
from tests.conftest import Enrol
from tests.read_model_scan import found_in_read_model, in_any, search_attribute_values
from tests.test_coach_tasks import open_task_listed
from trajectory.phases import Phase, Status
from trajectory.records import ReadModelChanges, TrajectorySnapshot


async def gone(handle: WorkflowHandle[Any, Any], env: WorkflowEnvironment) -> bool:
    """Whether Temporal no longer knows any run of the workflow (deletion is asynchronous, and
    slow on a loaded dev server: its visibility record can outlive the run by tens of seconds)."""
    deadline = asyncio.get_running_loop().time() + 90
    while asyncio.get_running_loop().time() < deadline:
        try:
            await handle.describe()
        except RPCError as error:
            assert error.status == RPCStatusCode.NOT_FOUND
            listed = [e async for e in env.client.list_workflows(f'WorkflowId = "{handle.id}"')]
            if not listed:
                return True
        await asyncio.sleep(0.2)
    return False


async def free_course(pool: Pool) -> str:
    async with pool.acquire() as con:
        left = await seats.seats_left(con)
    return max(left, key=lambda course_id: left[course_id])


async def enrolled_and_held(enrol: Enrol, pool: Pool) -> str:
    """A participant enrolled in the read model whose open trajectory holds the person's
    fingerprint, as `api.enrolment.enrol` leaves it."""
    participant_id = await enrol()
    async with pool.acquire() as con:
        person = await read_person(con, participant_id, "test", purpose="hold the person")
        assert person is not None
        assert await claim_person(con, participant_id, person.national_number) is None
    return participant_id


async def test_erasing_someone_still_followed_up_ends_the_follow_ups_and_deletes_the_history(
    dev_env: WorkflowEnvironment,
    dev_worker: Worker,
    api: httpx.AsyncClient,
    keys: Keys,
    pool: Pool,
    database_url: str,
) -> None:
    tag = uuid.uuid4().hex[:8]
    request = someone(tag)
    texts = {
        "task note": f"reached her aunt {tag}, calls back Monday",
        "pause reason": f"hospital stay {tag}",
        "resume reason": f"out of hospital {tag}",
        "coach reference": f"coach-amira-{tag}",
        "qualification": f"forklift certificate {tag}",
        "employer": f"Boulangerie Dupont {tag}",
        "contract": f"CDD-{tag}",
        "close reason": f"kept on for good by the bakery {tag}",
    }
    enrolled = await enrol(dev_env.client, pool, request, day_seconds=DAY_SECONDS)
    participant_id, handle = enrolled.participant_id, enrolled.handle
    case = CaseFile(api, keys, participant_id)

    # Silent after enrolment: the coach is asked to call, finds the call in the task list, and
    # notes it.
    task = await open_task_listed(api, keys.jes, participant_id, seconds=30)
    task_id = task["task_id"]
    done = await api.post(
        f"/v1/tasks/{task_id}/done",
        json={"reached": True, "note": texts["task note"]},
        headers=bearer(keys.jes),
    )
    assert done.status_code == 200, done.text
    await case.report("intake_interview_held")
    await case.steer("pause", {"reason": texts["pause reason"]})
    await case.steer("resume", {"reason": texts["resume reason"]})
    await case.report("language_assessed", {"language": "fr", "level": "B1"})
    answer = await case.report("digital_assessed", {"level": 4})
    while answer["phase"] == "coaching" and answer["next_steps"]:
        kind = answer["next_steps"][0]
        answer = await case.report(
            kind, {"coach_ref": texts["coach reference"]} if kind == "coach_assigned" else None
        )
    answer = await case.report("training_enrolled", {"course_id": await free_course(pool)})
    assert answer["phase"] == "training", answer
    await case.report("training_completed", {"qualification": texts["qualification"]})
    answer = await case.report(
        "placement_started",
        {
            "kind": "employment",
            "start_date": date.today().isoformat(),
            "employer": texts["employer"],
            "contract": texts["contract"],
        },
    )
    assert answer["phase"] == "placement", answer
    # Closed as employed: check-ins follow up to 18 months after leaving (about two minutes of
    # these short days), which outlasts the rest of the test on a loaded machine.
    await case.steer("close", {"outcome": "employed", "reason": texts["close reason"]})
    await until(handle, lambda s: s.is_closed, "the close")
    seen_by_case_manager = await case.timeline()  # waits for nothing: poll until all is there
    deadline = asyncio.get_running_loop().time() + 10
    while texts["close reason"] not in seen_by_case_manager:
        assert asyncio.get_running_loop().time() < deadline, seen_by_case_manager
        await asyncio.sleep(0.1)
        seen_by_case_manager = await case.timeline()

    everything = [*identifiers(request), *texts.values()]
    assert [name for name, text in texts.items() if text not in seen_by_case_manager] == []
    found = await found_in_read_model(pool, everything)
    # The scan sees text columns and JSON: the PES reference and the course are stored in clear.
    assert found.keys() == {request.external_ref}, found
    course = (await state_of(handle)).training
    assert course is not None
    assert (
        "milestones.payload"
        in (await found_in_read_model(pool, [course.course_id]))[course.course_id]
    )
    attributes = await search_attribute_values(handle)
    assert in_any(attributes, ["jes", request.person.postcode]) == ["jes", request.person.postcode]
    assert in_any(attributes, everything) == []

    # Closed, the workflow runs on for the check-ins after leaving (six months and more), its
    # history holding every text: erasing the person ends it, asks nothing more, deletes it.
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    erased, out, err = await starter(
        dev_env, database_url, "erase", participant_id, "--not-esf", "test record"
    )

    assert erased == 0, out + err
    assert f"erased the personal data of {participant_id}" in out
    assert f"ended the trajectory of {participant_id}: nothing more is asked" in out
    assert "deleted 1 workflow run(s) from Temporal" in out
    assert await gone(handle, dev_env), "Temporal still holds the trajectory's history"
    assert await found_in_read_model(pool, everything) == {}
    after = await case.timeline()
    assert [text for text in everything if text in after] == []
    assert after.count(ERASED) >= len(texts), "each text is shown as erased"
    assert after.count('"kind":"milestone"') >= 8, "the programme's facts stay"
    assert (
        await pool.fetchval(
            "SELECT reason FROM erasure_requests WHERE participant_id = $1", participant_id
        )
        == "test record"
    )
    again, _, err = await starter(
        dev_env, database_url, "erase", participant_id, "--not-esf", "test record"
    )
    assert again == 1 and "nothing to erase" in err


async def test_erasing_an_open_trajectory_closes_it_as_withdrawn_and_asks_nothing_more(
    dev_env: WorkflowEnvironment,
    dev_worker: Worker,
    api: httpx.AsyncClient,
    keys: Keys,
    pool: Pool,
    database_url: str,
) -> None:
    tag = uuid.uuid4().hex[:8]
    request = someone(tag)
    enrolled = await enrol(dev_env.client, pool, request)
    case = CaseFile(api, keys, enrolled.participant_id)
    named_id = f"intake-{request.person.family_name}"  # a partner's id that names the person
    await case.report("intake_interview_held", milestone_id=named_id)
    pause_reason = f"detention {tag}"
    await case.steer("pause", {"reason": pause_reason})

    erased, out, err = await starter(
        dev_env, database_url, "erase", enrolled.participant_id, "--not-esf", "enrolled in error"
    )

    assert erased == 0, out + err
    assert f"erased the personal data of {enrolled.participant_id}" in out
    assert "deleted 1 workflow run(s) from Temporal" in out
    assert await gone(enrolled.handle, dev_env)
    closed = await pool.fetchrow(
        "SELECT outcome, exit_outcome, status FROM trajectories WHERE participant_id = $1",
        enrolled.participant_id,
    )
    assert closed is not None and dict(closed) == {
        "outcome": "withdrawn",
        "exit_outcome": "withdrawn",
        "status": "closed",
    }
    checks = await pool.fetch(
        "SELECT name, unanswered FROM follow_up_checks WHERE participant_id = $1 ORDER BY name",
        enrolled.participant_id,
    )
    assert [(c["name"], c["unanswered"]) for c in checks] == [
        ("6_months", True),
        ("on_leaving", True),
    ]
    ended = await pool.fetchval(
        "SELECT code FROM phase_transitions WHERE participant_id = $1 AND to_phase = 'closed'",
        enrolled.participant_id,
    )
    assert ended == "erasure_requested"
    everything = [*identifiers(request), pause_reason, named_id]
    assert await found_in_read_model(pool, everything) == {}
    kept = "SELECT count(*) FROM milestones WHERE participant_id = $1"
    assert await pool.fetchval(kept, enrolled.participant_id) == 1  # what happened stays
    # closed and erased, the person's fingerprint went with it: they may be enrolled afresh
    again = request.model_copy(update={"external_ref": f"PES-ERASE-AGAIN-{tag}"})
    assert (await enrol(dev_env.client, pool, again)).created


async def test_erasing_the_person_of_an_open_trajectory_keeps_them_from_being_enrolled_twice(
    enrol: Enrol, pool: Pool
) -> None:
    """Erased while their trajectory still runs (Temporal away, say), the person keeps their
    fingerprint until it closes: nobody can enrol them a second time meanwhile."""
    participant_id = await enrolled_and_held(enrol, pool)
    held = "SELECT open FROM person_fingerprints WHERE participant_id = $1"
    async with pool.acquire() as con:
        person = await read_person(con, participant_id, "test", purpose="find the number")
        assert person is not None
        assert await erase_person(con, participant_id, "enrolled in error")
        assert await con.fetchval(held, participant_id) is True
        async with con.transaction():
            other = f"p-again-{uuid.uuid4().hex[:8]}"
            await con.execute(
                "INSERT INTO participants (participant_id, external_ref, partner_id, postcode,"
                " language, enrolled_at) VALUES ($1, $1, 'jes', '1080', 'fr', now())",
                other,
            )
            assert await claim_person(con, other, person.national_number) == participant_id
            await con.execute("DELETE FROM participants WHERE participant_id = $1", other)
        closed = TrajectorySnapshot.at_enrolment(participant_id, "jes", datetime.now(UTC))
        closed = closed.model_copy(
            update={"phase": Phase.CLOSED, "status": Status.CLOSED, "revision": 9}
        )
        async with con.transaction():
            await write_changes(con, [ReadModelChanges(snapshot=closed)], default_person_keys(None))
        assert await con.fetchval(held, participant_id) is None


async def test_with_temporal_away_the_person_is_erased_and_the_command_asks_to_run_again(
    enrol: Enrol, pool: Pool, database_url: str
) -> None:
    participant_id = await enrolled_and_held(enrol, pool)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nobody = f"127.0.0.1:{sock.getsockname()[1]}"
    environment = {**os.environ, "TEMPORAL_ADDRESS": nobody, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "starter",
        "erase",
        participant_id,
        "--not-esf",
        "test record",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)

    assert process.returncode == 3, out + err
    assert b"Temporal did not answer" in err and b"run erase again" in err
    erased_at = "SELECT erased_at FROM person_keys WHERE participant_id = $1"
    assert await pool.fetchval(erased_at, participant_id) is not None
    held = "SELECT open FROM person_fingerprints WHERE participant_id = $1"
    assert await pool.fetchval(held, participant_id) is True  # its trajectory may still run

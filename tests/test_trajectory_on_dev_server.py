"""Trajectories on the real dev server and PostgreSQL: refusals, repeats and the read model."""

import asyncio
from datetime import timedelta

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError

from tests.case_file import state_of
from tests.history_text import decrypted_text
from tests.journeys import Start
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome, Phase, Status
from trajectory.requests import CloseRequest, CloseTrajectory, ReassignParticipant, ReassignRequest
from workflows.trajectory import ParticipantTrajectory


async def test_a_milestone_another_partner_uses_is_refused_with_the_reason(
    dev_start: Start,
) -> None:
    journey = await dev_start("inbrussel")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await journey.report(M.STREET_OUTREACH_CONTACT)
    assert "does not use street_outreach_contact" in str(refused.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await journey.report(M.TRAINING_ENROLLED)
    assert "not allowed in intake" in str(early.value.cause)


async def test_refused_milestones_leave_nothing_in_the_history(
    dev_start: Start, pool: asyncpg.Pool
) -> None:
    journey = await dev_start("orientaeuro", language="en")
    await journey.report(M.INTAKE_INTERVIEW_HELD, milestone_id="oe-intake")
    tomorrow = await journey.now() + timedelta(days=2)
    refusals = {
        "oe-too-early": (M.PLACEMENT_ENDED, {}, None),
        "oe-future": (M.LANGUAGE_ASSESSED, {"language": "en", "level": "B2"}, tomorrow),
        "oe-no-training": (M.TRAINING_COMPLETED, {}, None),
    }
    for milestone_id, (kind, payload, at) in refusals.items():
        with pytest.raises(WorkflowUpdateFailedError):
            await journey.report(kind, payload, milestone_id=milestone_id, occurred_at=at)

    history = await journey.handle.fetch_history()
    accepted = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert len(accepted) == 1
    said = await decrypted_text(history)
    assert "oe-intake" in said  # what was recorded can be read there...
    assert [m for m in refusals if m in said] == []  # ...and nothing refused was
    await journey.written()
    rows = await pool.fetch(
        "SELECT milestone_id FROM milestones WHERE participant_id = $1", journey.participant_id
    )
    assert [r["milestone_id"] for r in rows] == ["oe-intake"]


async def test_the_same_milestone_twice_at_once_is_one_row_and_one_change(
    dev_start: Start, pool: asyncpg.Pool
) -> None:
    journey = await dev_start("groep-intro", language="nl")
    held = await journey.now()
    first = await journey.report(
        M.INTAKE_INTERVIEW_HELD, milestone_id="gi-intake-1", occurred_at=held
    )
    again = await journey.report(
        M.INTAKE_INTERVIEW_HELD, milestone_id="gi-intake-1", occurred_at=held
    )
    assert again.milestone_count == first.milestone_count == 1
    assert again.revision == first.revision

    at_once = await asyncio.gather(
        *(
            journey.report(M.PARTICIPANT_CONTACT, milestone_id="gi-call-1", occurred_at=held)
            for _ in range(5)
        )
    )
    assert {s.milestone_count for s in at_once} == {2}
    await journey.written()
    rows = await pool.fetchval(
        "SELECT count(*) FROM milestones WHERE participant_id = $1", journey.participant_id
    )
    assert rows == 2


async def test_the_read_model_matches_the_workflow_after_a_scripted_trajectory(
    dev_start: Start, pool: asyncpg.Pool
) -> None:
    journey = await dev_start("jes", language="nl")
    await journey.finish_phase()
    await journey.finish_phase()
    await journey.finish_phase()
    await journey.report(M.TRAINING_ENROLLED, {"course_id": "hvac-technician"})
    await journey.report(M.TRAINING_DROPPED, {"reason": "found the pace too fast"})
    await journey.handle.execute_update(
        ParticipantTrajectory.reassign,
        ReassignParticipant(
            request=ReassignRequest(partner_id="inbrussel", reason="moved to Laeken")
        ),
    )
    await journey.report(M.JOB_DAY_ATTENDED)

    await journey.written()
    snapshot = await journey.handle.query(ParticipantTrajectory.snapshot)
    row = await pool.fetchrow(
        "SELECT * FROM trajectories WHERE participant_id = $1", journey.participant_id
    )
    assert row is not None
    assert (row["partner_id"], row["phase"], row["status"]) == ("inbrussel", "coaching", "active")
    assert row["milestone_count"] == snapshot.milestone_count
    assert row["last_milestone_type"] == "job_day_attended"
    assert row["revision"] == snapshot.revision
    assert row["next_deadline"] == snapshot.next_deadline
    moves = await pool.fetch(
        "SELECT from_phase, to_phase FROM phase_transitions WHERE participant_id = $1 ORDER BY seq",
        journey.participant_id,
    )
    assert [(m["from_phase"], m["to_phase"]) for m in moves] == [
        ("intake", "assessment"),
        ("assessment", "coaching"),
        ("coaching", "training"),
        ("training", "coaching"),
        ("coaching", "coaching"),
    ]

    closed = await journey.handle.execute_update(
        ParticipantTrajectory.close,
        CloseTrajectory(
            request=CloseRequest(outcome=Outcome.OTHER_SUPPORT_MEASURE, reason="joined Activa")
        ),
    )
    assert (closed.phase, closed.status) == (Phase.CLOSED, Status.CLOSED)
    answered = await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": False})
    # every leaver is asked again six months after leaving: the workflow waits for that check
    assert (await journey.handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert (await state_of(journey.handle)).awaiting_results
    assert answered.outcome == closed.outcome
    row = await pool.fetchrow(
        "SELECT status, outcome FROM trajectories WHERE participant_id = $1", journey.participant_id
    )
    assert row is not None
    assert dict(row) == {"status": "closed", "outcome": "other_support_measure"}


async def test_personal_data_never_reaches_the_history_or_the_logs(
    dev_start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    journey = await dev_start("infor-jeunes")
    person = await journey.person()
    await journey.finish_phase()
    await journey.report(M.LANGUAGE_ASSESSED, {"language": "fr", "level": "B2"})

    history = await decrypted_text(await journey.handle.fetch_history())
    assert journey.participant_id in history and "B2" in history  # decrypted: readable here
    secrets = [
        person.given_name,
        person.family_name,
        person.national_number,
        str(person.phone),
        str(person.email),
        person.birth_date.isoformat(),
    ]
    assert [s for s in secrets if s in history] == []
    assert [s for s in secrets if s in caplog.text] == []
    assert journey.participant_id in caplog.text

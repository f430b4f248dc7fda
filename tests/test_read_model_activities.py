"""The read model as case managers and reports see it: written once, whatever Temporal retries."""

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.trajectory import TrajectoryActivities
from infra.database import Pool
from infra.person_keys import configured_person_keys
from infra.settings import get_settings
from readmodel.other_measures import register_other_measure
from tests.conftest import Enrol
from tests.keys import milestone_key
from tests.people import national_number
from trajectory.milestones import LastMilestone, Milestone, MilestoneType
from trajectory.phases import Cause, Phase, Status
from trajectory.programme import Channel
from trajectory.records import (
    EligibilityRequest,
    NudgeRequest,
    PhaseTransition,
    ReadModelBatch,
    ReadModelChanges,
    TrajectorySnapshot,
)
from trajectory.requests import RecordMilestone

ENROLLED_ON = date(2025, 3, 10)

Action = Literal["message", "coach_call", "outreach"]


@pytest.fixture
def activities(pool: Pool) -> TrajectoryActivities:
    return TrajectoryActivities(pool)


@pytest.fixture
def env() -> ActivityEnvironment:
    return ActivityEnvironment()


def snapshot(
    participant_id: str, revision: int, phase: Phase, **changes: object
) -> TrajectorySnapshot:
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "participant_id": participant_id,
        "partner_id": "jes",
        "phase": phase,
        "status": Status.ACTIVE,
        "nudge_level": 0,
        "milestone_count": 0,
        "last_milestone": None,
        "last_contact_at": now,
        "outcome": None,
        "next_deadline": now + timedelta(days=21),
        "enrolled_at": now - timedelta(days=30),
        "revision": revision,
    }
    return TrajectorySnapshot.model_validate(fields | changes)


def batch(changes: ReadModelChanges) -> ReadModelBatch:
    """One step as the workflow's writer sends it."""
    return ReadModelBatch(participant_id=changes.snapshot.participant_id, steps=[changes])


def nudge(participant_id: str, seq: int, action: Action = "message") -> NudgeRequest:
    return NudgeRequest(
        participant_id=participant_id,
        partner_id="jes",
        seq=seq,
        level=seq,
        action=action,
        channel=Channel.PHONE if action == "coach_call" else Channel.SMS,
        language="fr",
        phase=Phase.COACHING,
        silent_since=datetime.now(UTC) - timedelta(days=21),
        sent_at=datetime.now(UTC),
    )


def unique_person() -> tuple[date, str]:
    """A birth date and national number no other test uses (the registry is keyed by number)."""
    born = date(1998, 1, 1) + timedelta(days=secrets.randbelow(2500))
    return born, national_number(born, 100 + secrets.randbelow(800))


async def test_a_coach_session_reported_twice_is_recorded_once(
    env: ActivityEnvironment, activities: TrajectoryActivities, enrol: Enrol, pool: Pool
) -> None:
    participant_id = await enrol()
    session = Milestone(
        milestone_id="jes-session-1",
        type=MilestoneType.COACHING_SESSION_HELD,
        occurred_at=datetime.now(UTC),
        payload={"mode": "group"},
    )
    changes = ReadModelChanges(
        snapshot=snapshot(
            participant_id,
            revision=4,
            phase=Phase.COACHING,
            milestone_count=4,
            last_milestone=LastMilestone(type=session.type, occurred_at=session.occurred_at),
        ),
        milestone=RecordMilestone.of(session, milestone_key()),
        milestone_phase=Phase.COACHING,
        transitions=[
            PhaseTransition(
                seq=2,
                from_phase=Phase.ASSESSMENT,
                to_phase=Phase.COACHING,
                status=Status.ACTIVE,
                code=Cause.REQUIRED_STEPS_DONE,
                at=session.occurred_at,
            )
        ],
    )

    await env.run(activities.write_read_model, batch(changes))
    await env.run(activities.write_read_model, batch(changes))

    rows = await pool.fetch("SELECT * FROM milestones WHERE participant_id = $1", participant_id)
    assert [(r["milestone_id"], r["payload"], r["phase"]) for r in rows] == [
        ("jes-session-1", {"mode": "group"}, "coaching")
    ]
    transitions = "SELECT count(*) FROM phase_transitions WHERE participant_id = $1"
    assert await pool.fetchval(transitions, participant_id) == 1
    state = await pool.fetchrow(
        "SELECT * FROM trajectories WHERE participant_id = $1", participant_id
    )
    assert state is not None
    assert (state["workflow_id"], state["phase"], state["revision"]) == (
        f"trajectory-{participant_id}",
        "coaching",
        4,
    )
    assert state["last_milestone_type"] == "coaching_session_held"


async def test_a_late_retry_of_an_older_step_does_not_overwrite_the_newer_state(
    env: ActivityEnvironment, activities: TrajectoryActivities, enrol: Enrol, pool: Pool
) -> None:
    participant_id = await enrol()
    newer = ReadModelChanges(snapshot=snapshot(participant_id, revision=7, phase=Phase.TRAINING))
    older = ReadModelChanges(snapshot=snapshot(participant_id, revision=6, phase=Phase.COACHING))

    await env.run(activities.write_read_model, batch(newer))
    await env.run(activities.write_read_model, batch(older))

    state = await pool.fetchrow(
        "SELECT phase, revision FROM trajectories WHERE participant_id = $1", participant_id
    )
    assert state is not None
    assert (state["phase"], state["revision"]) == ("training", 7)


async def test_a_youth_who_answers_after_two_messages_marks_both_as_followed_by_contact(
    env: ActivityEnvironment, activities: TrajectoryActivities, enrol: Enrol, pool: Pool
) -> None:
    participant_id = await enrol()
    await env.run(activities.send_nudge, nudge(participant_id, 1))
    await env.run(activities.send_nudge, nudge(participant_id, 2))
    answered = datetime.now(UTC) + timedelta(hours=1)
    await env.run(
        activities.write_read_model,
        batch(
            ReadModelChanges(
                snapshot=snapshot(participant_id, revision=3, phase=Phase.COACHING),
                contact_at=answered,
            ),
        ),
    )
    await env.run(activities.send_nudge, nudge(participant_id, 3))
    answered_again = answered + timedelta(days=30)
    await env.run(
        activities.write_read_model,
        batch(
            ReadModelChanges(
                snapshot=snapshot(participant_id, revision=5, phase=Phase.COACHING),
                contact_at=answered_again,
            ),
        ),
    )

    rows = await pool.fetch(
        "SELECT seq, contact_at FROM nudges WHERE participant_id = $1 ORDER BY seq", participant_id
    )
    assert [(r["seq"], r["contact_at"]) for r in rows] == [
        (1, answered),
        (2, answered),
        (3, answered_again),
    ]


async def test_a_contact_dated_before_a_message_is_not_its_effect(
    env: ActivityEnvironment, activities: TrajectoryActivities, enrol: Enrol, pool: Pool
) -> None:
    participant_id = await enrol()
    await env.run(activities.send_nudge, nudge(participant_id, 1))
    await env.run(
        activities.write_read_model,
        batch(
            ReadModelChanges(
                snapshot=snapshot(participant_id, revision=2, phase=Phase.COACHING),
                contact_at=datetime.now(UTC) - timedelta(days=2),
            ),
        ),
    )

    contact = "SELECT contact_at FROM nudges WHERE participant_id = $1"
    assert await pool.fetchval(contact, participant_id) is None


async def test_a_retried_message_nudge_reaches_the_youth_once_in_french(
    env: ActivityEnvironment, activities: TrajectoryActivities, enrol: Enrol, pool: Pool
) -> None:
    participant_id = await enrol()

    await env.run(activities.send_nudge, nudge(participant_id, 1))
    await env.run(activities.send_nudge, nudge(participant_id, 1))

    nudges = "SELECT count(*) FROM nudges WHERE participant_id = $1"
    assert await pool.fetchval(nudges, participant_id) == 1
    queued = await pool.fetch("SELECT * FROM outbox WHERE participant_id = $1", participant_id)
    assert [(r["nudge_seq"], r["channel"], r["language"]) for r in queued] == [(1, "sms", "fr")]
    assert queued[0]["body"]


async def test_a_coach_call_rung_gives_the_coach_one_task(
    env: ActivityEnvironment, activities: TrajectoryActivities, enrol: Enrol, pool: Pool
) -> None:
    participant_id = await enrol()

    await env.run(activities.send_nudge, nudge(participant_id, 3, "coach_call"))
    await env.run(activities.send_nudge, nudge(participant_id, 3, "coach_call"))

    tasks = await pool.fetch("SELECT * FROM tasks WHERE participant_id = $1", participant_id)
    assert [(t["task_key"], t["kind"], t["partner_id"], t["done_at"]) for t in tasks] == [
        ("nudge-3", "coach_call", "jes", None)
    ]
    outbox = "SELECT count(*) FROM outbox WHERE participant_id = $1"
    assert await pool.fetchval(outbox, participant_id) == 0


async def test_a_youth_already_followed_in_another_pes_measure_is_not_eligible(
    env: ActivityEnvironment, activities: TrajectoryActivities, enrol: Enrol, pool: Pool
) -> None:
    born, number = unique_person()
    participant_id = await enrol(birth_date=born, number=number)
    async with pool.acquire() as con:
        await register_other_measure(
            con, number, "Activa.brussels", ENROLLED_ON - timedelta(days=40)
        )
    try:
        decision = await env.run(
            activities.check_eligibility,
            EligibilityRequest(participant_id=participant_id, enrolled_on=ENROLLED_ON),
        )
    finally:
        await _forget_measures(pool, number)

    assert not decision.eligible
    assert [reason.code for reason in decision.reasons] == ["other_support_measure"]
    recorded = await pool.fetchrow(
        "SELECT eligible, reasons FROM eligibility_checks WHERE participant_id = $1", participant_id
    )
    assert recorded is not None
    assert not recorded["eligible"]
    assert [reason["code"] for reason in recorded["reasons"]] == ["other_support_measure"]


async def test_a_measure_that_ended_before_enrolment_does_not_bar_the_youth(
    env: ActivityEnvironment, activities: TrajectoryActivities, enrol: Enrol, pool: Pool
) -> None:
    born, number = unique_person()
    participant_id = await enrol(birth_date=born, number=number)
    async with pool.acquire() as con:
        await register_other_measure(
            con,
            number,
            "Activa.brussels",
            ENROLLED_ON - timedelta(days=200),
            ENROLLED_ON - timedelta(days=1),
        )
    try:
        decision = await env.run(
            activities.check_eligibility,
            EligibilityRequest(participant_id=participant_id, enrolled_on=ENROLLED_ON),
        )
    finally:
        await _forget_measures(pool, number)

    assert decision.eligible, decision.reasons


async def _forget_measures(pool: Pool, number: str) -> None:
    await pool.execute(
        "DELETE FROM other_measures WHERE fingerprint = ANY($1::bytea[])",
        configured_person_keys(get_settings()).fingerprints(number),
    )


async def test_an_unknown_participant_fails_at_once_instead_of_retrying(
    env: ActivityEnvironment, activities: TrajectoryActivities
) -> None:
    with pytest.raises(ApplicationError) as eligibility:
        await env.run(
            activities.check_eligibility,
            EligibilityRequest(participant_id="p-nobody", enrolled_on=ENROLLED_ON),
        )
    with pytest.raises(ApplicationError) as record:
        await env.run(
            activities.write_read_model,
            batch(
                ReadModelChanges(snapshot=snapshot("p-nobody", revision=1, phase=Phase.INTAKE)),
            ),
        )

    for error in (eligibility.value, record.value):
        assert (error.type, error.non_retryable) == ("UnknownParticipant", True)


async def test_a_partner_without_a_programme_fails_at_once_naming_it(
    env: ActivityEnvironment, activities: TrajectoryActivities
) -> None:
    with pytest.raises(ApplicationError) as error:
        await env.run(activities.load_programme, "brusselsjobs")

    assert (error.value.type, error.value.non_retryable) == ("UnknownPartner", True)
    assert "brusselsjobs" in str(error.value)

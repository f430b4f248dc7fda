"""The read model follows the workflows: batches land once, in order, and never go backwards."""

import uuid
from datetime import UTC, datetime, timedelta

from temporalio.testing import ActivityEnvironment

from activities.trajectory import TrajectoryActivities
from infra.database import Pool
from readmodel import seats, trajectories
from tests.conftest import Enrol
from tests.keys import milestone_key
from tests.test_read_model_activities import snapshot
from trajectory.milestones import Milestone, MilestoneType
from trajectory.phases import Cause, Phase, Status
from trajectory.records import (
    FollowUpRecord,
    PhaseTransition,
    ReadModelBatch,
    ReadModelChanges,
    SeatRelease,
    SeatRequest,
)
from trajectory.requests import RecordMilestone


def answered(in_employment: bool) -> FollowUpRecord:
    now = datetime.now(UTC)
    return FollowUpRecord(
        name="6_months",
        due_at=now,
        answered_at=now,
        unanswered=False,
        in_employment=in_employment,
        in_education_or_training=False,
        job_searching=not in_employment,
        qualification_gained=False,
    )


async def test_a_follow_up_answer_written_late_or_twice_never_replaces_a_newer_one(
    enrol: Enrol, pool: Pool
) -> None:
    participant_id = await enrol()
    activities = TrajectoryActivities(pool)
    employed = ReadModelChanges(
        snapshot=snapshot(participant_id, revision=9, phase=Phase.FOLLOW_UP),
        follow_ups=[answered(in_employment=True)],
    )
    searching = ReadModelChanges(
        snapshot=snapshot(participant_id, revision=8, phase=Phase.FOLLOW_UP),
        follow_ups=[answered(in_employment=False)],
    )
    env = ActivityEnvironment()
    await env.run(
        activities.write_read_model, ReadModelBatch(participant_id=participant_id, steps=[employed])
    )
    await env.run(
        activities.write_read_model,
        ReadModelBatch(participant_id=participant_id, steps=[searching]),
    )
    await env.run(
        activities.write_read_model, ReadModelBatch(participant_id=participant_id, steps=[employed])
    )

    row = await pool.fetchrow(
        "SELECT in_employment, revision FROM follow_up_checks WHERE participant_id = $1",
        participant_id,
    )
    assert row is not None and (row["in_employment"], row["revision"]) == (True, 9)
    stored = await trajectories.stored_snapshot(pool, participant_id)
    assert stored is not None and stored.revision == 9


async def test_steps_that_piled_up_are_written_together_each_milestone_once(
    enrol: Enrol, pool: Pool
) -> None:
    participant_id = await enrol()
    at = datetime.now(UTC)
    steps = [
        ReadModelChanges(
            snapshot=snapshot(participant_id, revision=n, phase=Phase.COACHING, milestone_count=n),
            milestone=RecordMilestone.of(
                Milestone(
                    milestone_id=f"call-{n}",
                    type=MilestoneType.PARTICIPANT_CONTACT,
                    occurred_at=at + timedelta(minutes=n),
                ),
                milestone_key(),
            ),
            transitions=[
                PhaseTransition(
                    seq=1,
                    from_phase=Phase.ASSESSMENT,
                    to_phase=Phase.COACHING,
                    status=Status.ACTIVE,
                    code=Cause.REQUIRED_STEPS_DONE,
                    at=at,
                )
            ]
            if n == 1
            else [],
        )
        for n in range(1, 6)
    ]
    batch = ReadModelBatch(participant_id=participant_id, steps=steps)
    env = ActivityEnvironment()
    activities = TrajectoryActivities(pool)
    await env.run(activities.write_read_model, batch)
    await env.run(activities.write_read_model, batch)

    rows = await pool.fetch(
        "SELECT milestone_id FROM milestones WHERE participant_id = $1 ORDER BY occurred_at",
        participant_id,
    )
    assert [r["milestone_id"] for r in rows] == [f"call-{n}" for n in range(1, 6)]
    stored = await trajectories.stored_snapshot(pool, participant_id)
    assert stored is not None and (stored.milestone_count, stored.revision) == (5, 5)


async def test_a_list_shows_the_waiting_place_and_the_seat_offer_like_a_single_read(
    enrol: Enrol, pool: Pool
) -> None:
    participant_id = await enrol(partner_id="orientaeuro")
    offered_until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    waiting = snapshot(
        participant_id,
        revision=12,
        phase=Phase.COACHING,
        partner_id="orientaeuro",
        course_id="bike-courier-2026",
        waiting_position=3,
        seat_offered_until=offered_until,
    )
    async with pool.acquire() as con:
        assert await trajectories.store_snapshot(con, waiting)

    single = await trajectories.stored_snapshot(pool, participant_id)
    listed = await trajectories.list_snapshots(
        pool,
        partner_id="orientaeuro",
        phase=Phase.COACHING,
        status=None,
        after=None,
        limit=10_000,
    )
    assert single == waiting
    assert [s for s in listed if s.participant_id == participant_id] == [waiting]


async def test_a_seat_release_retried_after_the_seat_moved_on_changes_nothing(
    enrol: Enrol, pool: Pool
) -> None:
    course_id = f"one-seat-{uuid.uuid4().hex[:8]}"
    first, second = await enrol(), await enrol()
    now = datetime.now(UTC)
    async with pool.acquire() as con, con.transaction():
        await con.execute(
            "INSERT INTO courses SELECT $1, catalogue_version, provider, title, domain, sector,"
            " occupation, bottleneck_occupation, language, min_language_level,"
            " min_digital_level, 1, starts_on, ends_on, location"
            " FROM courses WHERE course_id = 'welder-2027'",
            course_id,
        )
        for participant_id, seated in ((first, True), (second, False)):
            request = SeatRequest(
                participant_id=participant_id, course_id=course_id, at=now, milestone_id="m-1"
            )
            assert (await seats.request_seat(con, request)).granted is seated
    release = SeatRelease(
        participant_id=first,
        course_id=course_id,
        outcome="completed",
        qualification="welder",
        at=now,
        offer_until=now + timedelta(days=3),
    )
    async with pool.acquire() as con, con.transaction():
        offer = await seats.release_seat(con, release)
    assert offer is not None and offer.participant_id == second
    late = release.model_copy(update={"outcome": "dropped", "qualification": None})
    async with pool.acquire() as con, con.transaction():
        assert await seats.release_seat(con, late) == offer

    rows = await pool.fetch(
        "SELECT participant_id, status, qualified, qualification FROM seat_requests"
        " WHERE course_id = $1",
        course_id,
    )
    assert {r["participant_id"]: (r["status"], r["qualified"]) for r in rows} == {
        first: ("completed", True),
        second: ("offered", None),
    }
    assert [r["qualification"] for r in rows] == [None, None], "the words stay sealed"

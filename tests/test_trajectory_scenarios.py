"""Trajectories on the time-skipping server, told as a case manager would tell them."""

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from tests.journeys import Start
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome, Phase, Status
from trajectory.programmes import load_programme
from trajectory.requests import PauseRequest, PauseTrajectory, ResumeRequest, ResumeTrajectory
from workflows.trajectory import ParticipantTrajectory


async def test_an_inbrussel_participant_goes_all_the_way_to_employed_with_four_follow_ups(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await start("inbrussel")
    assert (await journey.finish_phase()).phase == Phase.ASSESSMENT
    assert (await journey.finish_phase()).phase == Phase.COACHING
    await journey.finish_phase()
    placed = await journey.place("employment")
    assert placed.phase == Phase.PLACEMENT

    await journey.skip(30)
    state = await journey.wait_for(lambda s: s.phase == Phase.FOLLOW_UP, "leaving for follow-up")
    assert [c.name for c in state.follow_ups] == [
        "on_leaving",
        "6_months",
        "12_months",
        "18_months",
    ]
    for check in state.follow_ups:
        now = await journey.now()
        if check.opens_at > now:
            await journey.skip((check.opens_at - now).total_seconds() / 86400 + 1)
        snapshot = await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": True})

    assert snapshot.status == Status.CLOSED
    assert snapshot.outcome == Outcome.EMPLOYED
    await journey.written()
    row = await pool.fetchrow(
        "SELECT phase, status, outcome FROM trajectories WHERE participant_id = $1",
        journey.participant_id,
    )
    assert row is not None
    assert dict(row) == {"phase": "closed", "status": "closed", "outcome": "employed"}


async def test_a_jes_participant_trains_as_warehouse_operative_then_is_placed(start: Start) -> None:
    journey = await start("jes", language="nl")
    await journey.finish_phase()
    await journey.finish_phase()
    await journey.finish_phase()
    enrolled = await journey.report(M.TRAINING_ENROLLED, {"course_id": "warehouse-operative-2027"})
    assert enrolled.phase == Phase.TRAINING
    await journey.skip(5)
    completed = await journey.report(M.TRAINING_COMPLETED, {"qualification": "forklift licence"})
    assert completed.phase == Phase.PLACEMENT
    placed = await journey.place("traineeship")
    assert placed.phase == Phase.PLACEMENT
    assert (await journey.state()).training is not None


async def test_an_orientaeuro_placement_that_ends_early_returns_to_coaching(start: Start) -> None:
    journey = await start("orientaeuro", language="es")
    for _ in range(3):
        await journey.finish_phase()
    await journey.place("employment")
    await journey.skip(10)
    ended = await journey.report(M.PLACEMENT_ENDED, {"reason": "trial period not passed"})
    assert ended.phase == Phase.COACHING
    assert (await journey.state()).placement is None


async def test_a_backstage_participant_silent_after_intake_climbs_the_ladder_to_lost_contact(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await start("backstage")
    programme = load_programme("backstage")
    await journey.finish_phase()
    await journey.skip(programme.steps(Phase.ASSESSMENT).inactivity_days + 1)
    state = await journey.wait_for(lambda s: s.nudge_level >= 1, "the first nudge")
    assert state.status == Status.ACTIVE

    total = sum(step.after_days for step in programme.nudge_ladder) + programme.dormant_after_days
    await journey.skip(total + 2)
    state = await journey.wait_for(lambda s: s.status == Status.DORMANT, "dormancy")
    nudges = await pool.fetch(
        "SELECT level, action, channel FROM nudges WHERE participant_id = $1 ORDER BY seq",
        journey.participant_id,
    )
    assert [(n["level"], n["action"], n["channel"]) for n in nudges] == [
        (level, step.action, step.channel.value)
        for level, step in enumerate(programme.nudge_ladder, start=1)
    ]
    messages = await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE participant_id = $1", journey.participant_id
    )
    assert messages == sum(step.action == "message" for step in programme.nudge_ladder)

    await journey.skip(programme.remobilisation_days + 1)
    state = await journey.wait_for(lambda s: s.status == Status.CLOSED, "closing")
    assert state.outcome == Outcome.LOST_CONTACT


async def test_a_groep_intro_participant_who_answers_the_nudge_starts_the_ladder_again(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await start("groep-intro", language="nl")
    programme = load_programme("groep-intro")
    await journey.finish_phase()
    await journey.skip(programme.steps(Phase.ASSESSMENT).inactivity_days + 1)
    await journey.wait_for(lambda s: s.nudge_level == 1, "the first nudge")

    answered = await journey.report(M.PARTICIPANT_CONTACT)
    assert answered.nudge_level == 0
    assert answered.next_deadline is not None
    assert answered.next_deadline > await journey.now() + timedelta(
        days=programme.steps(Phase.ASSESSMENT).inactivity_days - 1
    )
    await journey.written()
    effect = await pool.fetchrow(
        "SELECT contact_at IS NOT NULL AS answered FROM nudges WHERE participant_id = $1",
        journey.participant_id,
    )
    assert effect is not None and effect["answered"]
    language = await pool.fetchval(
        "SELECT language FROM outbox WHERE participant_id = $1", journey.participant_id
    )
    assert language == "nl"


async def test_an_art2work_pause_stops_every_clock_until_resumed(start: Start) -> None:
    journey = await start("art2work")
    programme = load_programme("art2work")
    await journey.finish_phase()
    paused = await journey.handle.execute_update(
        ParticipantTrajectory.pause, PauseTrajectory(request=PauseRequest(reason="hospitalised"))
    )
    assert (paused.status, paused.next_deadline) == (Status.PAUSED, None)

    await journey.skip(programme.max_duration_days + 30)
    state = await journey.state()
    assert (state.status, state.nudge_level, state.outcome) == (Status.PAUSED, 0, None)

    resumed = await journey.handle.execute_update(
        ParticipantTrajectory.resume, ResumeTrajectory(request=ResumeRequest(reason="back home"))
    )
    assert resumed.status == Status.ACTIVE
    await journey.skip(programme.steps(Phase.ASSESSMENT).inactivity_days + 1)
    await journey.wait_for(lambda s: s.nudge_level == 1, "the clock to run again")


async def test_an_infor_jeunes_dormant_participant_is_re_mobilised_by_a_street_contact(
    start: Start,
) -> None:
    journey = await start("infor-jeunes")
    programme = load_programme("infor-jeunes")
    ladder = sum(step.after_days for step in programme.nudge_ladder) + programme.dormant_after_days
    await journey.skip(programme.steps(Phase.INTAKE).inactivity_days + ladder + 2)
    await journey.wait_for(lambda s: s.status == Status.DORMANT, "dormancy")

    woken = await journey.report(M.PARTICIPANT_CONTACT)
    assert (woken.status, woken.nudge_level, woken.phase) == (Status.ACTIVE, 0, Phase.INTAKE)
    await journey.skip(programme.remobilisation_days + 1)
    assert (await journey.state()).status != Status.CLOSED


async def test_a_jes_trajectory_that_runs_too_long_closes_at_max_duration(start: Start) -> None:
    journey = await start("jes")
    programme = load_programme("jes")
    for _ in range(3):
        await journey.finish_phase()
    for _ in range(programme.max_duration_days // 15 - 1):
        await journey.report(M.COACHING_SESSION_HELD, {"mode": "group"})
        await journey.skip(15)
    assert (await journey.state()).status == Status.ACTIVE
    await journey.skip(20)
    state = await journey.wait_for(lambda s: s.status == Status.CLOSED, "the maximum duration")
    assert state.outcome == Outcome.MAX_DURATION_REACHED


@pytest.mark.parametrize(
    ("code", "details"),
    [
        ("postcode_outside_region", {"postcode": "2000"}),
        ("too_young", {"age": 18, "age_days": 30}),
        ("too_old", {"age_days": 0, "age": 31}),
        ("employed", {"employed": True}),
        ("in_education", {"in_education": True}),
        ("in_training", {"in_training": True}),
        ("other_support_measure", {"other_measure": True}),
        ("other_support_measure", {"registry": True}),
        ("invalid_national_number", {"number": "04051701799"}),
    ],
)
async def test_an_ineligible_youth_ends_at_intake_with_the_reason(
    start: Start, pool: asyncpg.Pool, code: str, details: dict[str, object]
) -> None:
    journey = await start("inbrussel", **details)
    state = await journey.wait_for(lambda s: s.status == Status.CLOSED, "the eligibility check")
    assert state.outcome == Outcome.INELIGIBLE
    assert code in [r.code for r in state.ineligibility]
    stored = await pool.fetchval(
        "SELECT reasons FROM eligibility_checks WHERE participant_id = $1", journey.participant_id
    )
    assert code in [r["code"] for r in stored]


async def test_a_long_trajectory_continues_as_new_with_its_whole_state(start: Start) -> None:
    journey = await start("inbrussel", history_limit=30)
    first_run = (await journey.handle.describe()).run_id
    await journey.finish_phase()  # InBrussel's intake: a Job Day, then the interview
    intake = len((await journey.state()).milestones)
    called = await journey.now()
    for n in range(12):
        await journey.report(M.PARTICIPANT_CONTACT, milestone_id=f"call-{n}", occurred_at=called)
    every = intake + 12
    state = await journey.wait_for(lambda s: len(s.milestones) == every, "all milestones")
    latest = journey.env.client.get_workflow_handle(journey.handle.id)
    for _ in range(100):  # the new run starts once the read model has the old run's steps
        if (await latest.describe()).run_id != first_run:
            break
        await asyncio.sleep(0.1)
    assert (await latest.describe()).run_id != first_run
    assert state.phase == Phase.ASSESSMENT
    again = await journey.report(M.PARTICIPANT_CONTACT, milestone_id="call-3", occurred_at=called)
    assert again.milestone_count == every

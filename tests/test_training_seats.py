"""Training seats: never given twice, an ordered waiting list, and freed seats passed on."""

import asyncio
import uuid

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.journeys import Journey, Start
from trajectory.catalogue import load_catalogue
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome, Phase, Status
from trajectory.programmes import load_programme
from trajectory.requests import CloseRequest, CloseTrajectory
from workflows.trajectory import ParticipantTrajectory


async def ready_for_training(journey: Journey) -> None:
    """Intake, assessment and the partner's required coaching steps."""
    for _ in range(3):
        await journey.finish_phase()


async def test_45_apply_for_the_12_bike_courier_seats_and_the_provider_selects_12_of_them(
    dev_start: Start, pool: asyncpg.Pool
) -> None:
    """The bike-courier course selects its trainees (DESIGN §9): an application takes no seat,
    the provider's selection does, and a seat is never given twice however the selections race."""
    course = {"course_id": "bike-courier-2026"}
    seats = next(c.seats for c in load_catalogue().courses if c.course_id == course["course_id"])
    partners = ["jes", "inbrussel", "art2work", "backstage", "orientaeuro"]
    candidates = await asyncio.gather(*(dev_start(partners[n % 5]) for n in range(45)))
    await asyncio.gather(*(ready_for_training(j) for j in candidates))

    applied = await asyncio.gather(*(j.report(M.TRAINING_ENROLLED, course) for j in candidates))

    assert {(a.phase, a.waiting_position) for a in applied} == {(Phase.COACHING, None)}
    statuses = await pool.fetch(
        "SELECT status, count(*) FROM seat_requests WHERE course_id = $1 GROUP BY status",
        course["course_id"],
    )
    assert {r["status"]: r["count"] for r in statuses} == {"applied": 45}
    with pytest.raises(WorkflowUpdateFailedError) as twice:
        await candidates[0].report(M.TRAINING_ENROLLED, course, milestone_id="twice")
    assert "already applied to bike-courier-2026" in str(twice.value.cause)

    chosen = candidates[:13]  # one more than there are seats, all at once
    answers = await asyncio.gather(
        *(j.report(M.TRAINING_SELECTED, course) for j in chosen), return_exceptions=True
    )

    in_training = [a for a in answers if not isinstance(a, BaseException)]
    refused = [a for a in answers if isinstance(a, WorkflowUpdateFailedError)]
    assert (seats, len(in_training), len(refused)) == (12, 12, 1)
    assert {a.phase for a in in_training} == {Phase.TRAINING}
    assert "the selection is over" in str(refused[0].cause)
    held = await pool.fetchval(
        "SELECT count(*) FROM seat_requests WHERE course_id = $1"
        " AND status IN ('seated', 'offered')",
        course["course_id"],
    )
    assert held == 12


async def fill_seats(pool: asyncpg.Pool, course_id: str, taken: int) -> None:
    """Seat `taken` people of an earlier intake in the course."""
    for _ in range(taken):
        pid = f"p-earlier-{uuid.uuid4().hex[:12]}"
        await pool.execute(
            "INSERT INTO participants (participant_id, external_ref, partner_id, postcode,"
            " language, enrolled_at) VALUES ($1, $1, 'jes', '1000', 'fr', now())",
            pid,
        )
        await pool.execute(
            "INSERT INTO seat_requests (course_id, participant_id, status, requested_at)"
            " VALUES ($1, $2, 'seated', now())",
            course_id,
            pid,
        )


async def test_a_dropout_frees_a_seat_for_the_next_in_line_who_lets_it_lapse_then_the_next(
    start: Start, pool: asyncpg.Pool
) -> None:
    welder = next(c for c in load_catalogue().courses if c.course_id == "welder-2027")
    await fill_seats(pool, welder.course_id, welder.seats - 1)
    amira, bilal, chloe = [await start("groep-intro") for _ in range(3)]
    for journey in (amira, bilal, chloe):
        await ready_for_training(journey)
    enrol = {"course_id": welder.course_id}

    assert (await amira.report(M.TRAINING_ENROLLED, enrol)).phase == Phase.TRAINING
    assert (await bilal.report(M.TRAINING_ENROLLED, enrol)).waiting_position == 1
    assert (await chloe.report(M.TRAINING_ENROLLED, enrol)).waiting_position == 2
    with pytest.raises(WorkflowUpdateFailedError) as twice:
        await bilal.report(M.TRAINING_ENROLLED, enrol)
    assert "already on the waiting list" in str(twice.value.cause)

    await amira.report(M.TRAINING_DROPPED, {"reason": "health"})
    offered = await bilal.wait_for(
        lambda s: s.seat is not None and s.seat.status == "offered", "an offer"
    )
    assert offered.seat is not None and offered.seat.offered_until is not None

    await bilal.skip(4)
    await chloe.wait_for(
        lambda s: s.seat is not None and s.seat.status == "offered", "the next offer"
    )
    assert (await bilal.state()).seat is None
    accepted = await chloe.report(M.TRAINING_ENROLLED, enrol)
    assert accepted.phase == Phase.TRAINING

    rows = await pool.fetch(
        "SELECT participant_id, status FROM seat_requests WHERE course_id = $1"
        " AND participant_id = ANY($2::text[])",
        welder.course_id,
        [amira.participant_id, bilal.participant_id, chloe.participant_id],
    )
    assert {r["participant_id"]: r["status"] for r in rows} == {
        amira.participant_id: "dropped",
        bilal.participant_id: "expired",
        chloe.participant_id: "seated",
    }


async def test_the_assessment_leads_to_a_ranked_recommendation_with_reasons(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await start("inbrussel")
    await journey.finish_phase()
    await journey.report(M.LANGUAGE_ASSESSED, {"language": "fr", "level": "B1"})
    await journey.report(M.LANGUAGE_ASSESSED, {"language": "en", "level": "A2"})
    await journey.report(M.DIGITAL_ASSESSED, {"level": 3})

    state = await journey.wait_for(lambda s: bool(s.recommendations), "recommendations")
    assert state.phase == Phase.COACHING
    courses = {c.course_id: c for c in load_catalogue().courses}
    for recommendation in state.recommendations:
        course = courses[recommendation.course_id]
        assert course.language == "fr"
        assert course.min_digital_level <= 3
        assert any(
            "seats left" in reason or "waiting list" in reason for reason in recommendation.reasons
        )
    assert "web-developer-2027" not in [r.course_id for r in state.recommendations]
    stored = await pool.fetchval(
        "SELECT count(*) FROM recommendations WHERE participant_id = $1", journey.participant_id
    )
    assert stored == len(state.recommendations)


async def test_a_coach_may_choose_another_course_but_not_one_outside_the_catalogue(
    start: Start,
) -> None:
    journey = await start("orientaeuro", language="en")
    await ready_for_training(journey)
    with pytest.raises(WorkflowUpdateFailedError) as unknown:
        await journey.report(M.TRAINING_ENROLLED, {"course_id": "astronaut-2030"})
    assert "no course astronaut-2030" in str(unknown.value.cause)
    chosen = await journey.report(M.TRAINING_ENROLLED, {"course_id": "web-developer-2027"})
    assert chosen.phase == Phase.TRAINING


async def test_an_unanswered_follow_up_is_nudged_then_recorded_as_unanswered(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await start("art2work")
    programme = load_programme("art2work")
    await ready_for_training(journey)
    await journey.place("employment")
    await journey.skip(programme.placement_settling_days + 1)
    await journey.wait_for(lambda s: s.phase == Phase.FOLLOW_UP, "leaving")
    await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": True, "job_searching": False})

    await journey.skip(600)
    state = await journey.wait_for(lambda s: s.status == Status.CLOSED, "the last check-in")
    assert state.outcome == Outcome.EMPLOYED
    await journey.written()
    checks = await pool.fetch(
        "SELECT name, answered_at IS NOT NULL AS answered, unanswered, in_employment"
        " FROM follow_up_checks WHERE participant_id = $1 ORDER BY due_at",
        journey.participant_id,
    )
    assert [(c["name"], c["answered"], c["unanswered"]) for c in checks] == [
        ("on_leaving", True, False),
        ("6_months", False, True),
        ("12_months", False, True),
        ("18_months", False, True),
    ]
    follow_up_nudges = await pool.fetchval(
        "SELECT count(*) FROM nudges WHERE participant_id = $1 AND phase = 'follow_up'",
        journey.participant_id,
    )
    assert follow_up_nudges == 3 * len(programme.nudge_ladder)


async def one_seat_course(pool: asyncpg.Pool) -> str:
    """A fresh one-seat copy of the welder course, so no other test shares its waiting list."""
    course_id = f"welder-one-seat-{uuid.uuid4().hex[:6]}"
    await pool.execute(
        "INSERT INTO courses SELECT $1, catalogue_version, provider, title, domain, sector,"
        " occupation, bottleneck_occupation, language, min_language_level, min_digital_level,"
        " 1, starts_on, ends_on, location FROM courses WHERE course_id = 'welder-2027'",
        course_id,
    )
    return course_id


async def test_every_way_out_hands_the_seat_on_a_withdrawal_a_close_and_a_waiting_place(
    start: Start, pool: asyncpg.Pool
) -> None:
    enrol = {"course_id": await one_seat_course(pool)}
    amira, bilal, chloe, dries = [await start("groep-intro") for _ in range(4)]
    for journey in (amira, bilal, chloe, dries):
        await ready_for_training(journey)
    assert (await amira.report(M.TRAINING_ENROLLED, enrol)).phase == Phase.TRAINING
    for place, journey in enumerate((bilal, chloe, dries), start=1):
        assert (await journey.report(M.TRAINING_ENROLLED, enrol)).waiting_position == place

    await amira.report(M.WITHDRAWN, {"reason": "moving abroad"})
    await bilal.wait_for(lambda s: s.seat is not None and s.seat.status == "offered", "an offer")

    await bilal.handle.execute_update(
        ParticipantTrajectory.close,
        CloseTrajectory(
            request=CloseRequest(outcome=Outcome.OTHER_SUPPORT_MEASURE, reason="joined Activa")
        ),
    )
    await chloe.wait_for(lambda s: s.seat is not None and s.seat.status == "offered", "an offer")
    await dries.report(M.MOVED_AWAY)
    await dries.wait_for(lambda s: s.status == Status.CLOSED, "closing")
    assert (await chloe.report(M.TRAINING_ENROLLED, enrol)).phase == Phase.TRAINING

    await dries.report(M.FOLLOW_UP_CONTACT, {"in_employment": False})  # his result on leaving
    expected = {
        amira.participant_id: "dropped",
        bilal.participant_id: "expired",
        chloe.participant_id: "seated",
        dries.participant_id: "expired",
    }
    deadline = asyncio.get_running_loop().time() + 15  # the workflows run on for six months
    while True:
        rows = await pool.fetch(
            "SELECT participant_id, status FROM seat_requests WHERE course_id = $1",
            enrol["course_id"],
        )
        seated = {r["participant_id"]: r["status"] for r in rows}
        if seated == expected or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert seated == expected

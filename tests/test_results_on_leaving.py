"""Every leaver is asked for a result on leaving and six months after, whatever the outcome
(ESF+, DESIGN §8.1): the leaving day (a drop-out's is their last contact), the outcome fixed on
it, and the answers kept apart."""

from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError

from tests.journeys import Start, born_years_ago
from trajectory.eligibility import EligibilityFacts, check_eligibility, enrolment_day
from trajectory.milestones import Milestone
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome, Status
from trajectory.programmes import load_programme
from trajectory.requests import CloseRequest, CloseTrajectory
from workflows.trajectory import ParticipantTrajectory

NAMES = ("on_leaving", "6_months")
LEAVING = (
    "SELECT answered_at IS NOT NULL AS answered, unanswered, in_employment, job_searching,"
    " in_education_or_training FROM follow_up_checks WHERE participant_id = $1 AND name = $2"
)


async def test_a_participant_who_withdraws_is_asked_on_leaving_and_six_months_later(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await start("jes")
    await journey.finish_phase()
    withdrawn = await journey.report(M.WITHDRAWN, {"reason": "family moves abroad next month"})
    assert (withdrawn.status, withdrawn.outcome) == (Status.CLOSED, Outcome.WITHDRAWN)
    assert withdrawn.exit_outcome == Outcome.WITHDRAWN
    left_at = withdrawn.left_at
    assert left_at is not None
    state = await journey.state()
    # the situation as of the leaving day and of day 182, each answerable for four weeks
    assert [(c.name, c.opens_at - left_at, c.due_at - left_at) for c in state.follow_ups] == [
        ("on_leaving", timedelta(0), timedelta(days=28)),
        ("6_months", timedelta(days=182), timedelta(days=210)),
    ]

    answered = await journey.report(
        M.FOLLOW_UP_CONTACT, {"in_employment": False, "job_searching": True}
    )
    assert answered.outcome == Outcome.WITHDRAWN
    await journey.skip(100)
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": True})
    assert "no follow-up check-in is open now; the next one opens" in str(early.value.cause)
    await journey.skip(83)  # day 183: the six-month window is open
    await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": True})
    await journey.handle.result()
    await journey.written()
    rows = {name: await pool.fetchrow(LEAVING, journey.participant_id, name) for name in NAMES}
    assert {name: dict(row) for name, row in rows.items() if row is not None} == {
        "on_leaving": {
            "answered": True,
            "unanswered": False,
            "in_employment": False,
            "job_searching": True,
            "in_education_or_training": False,
        },
        "6_months": {
            "answered": True,
            "unanswered": False,
            "in_employment": True,
            "job_searching": False,
            "in_education_or_training": False,
        },
    }


async def test_within_the_four_weeks_on_leaving_the_last_status_given_counts(
    start: Start,
) -> None:
    journey = await start("inbrussel")
    await journey.finish_phase()
    await journey.report(M.MOVED_AWAY)
    await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": False, "job_searching": True})
    await journey.skip(20)
    await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": True})
    (on_leaving, _) = (await journey.state()).follow_ups
    assert on_leaving.answer is not None
    assert (on_leaving.answer.in_employment, on_leaving.answer.job_searching) == (True, False)
    await journey.skip(9)
    with pytest.raises(WorkflowUpdateFailedError):
        await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": False})


async def test_a_drop_out_leaves_on_their_last_contact_and_is_asked_six_months_after_it(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await start("inbrussel")
    await journey.finish_phase()
    contact = await journey.report(M.PARTICIPANT_CONTACT)
    last_contact = contact.last_contact_at
    state = await journey.state()
    while not state.is_closed:
        await journey.skip(10)
        state = await journey.state()
    assert state.outcome == Outcome.LOST_CONTACT
    assert state.closed_at is not None and state.closed_at - last_contact > timedelta(days=60)
    assert state.left_at == last_contact
    # four weeks after the last contact are long over at the close: nobody can say now
    assert [(c.name, c.unanswered, c.opens_at - last_contact) for c in state.follow_ups] == [
        ("on_leaving", True, timedelta(0)),
        ("6_months", False, timedelta(days=182)),
    ]
    await journey.written()
    stored = await pool.fetchrow(
        "SELECT left_at, exit_outcome FROM trajectories WHERE participant_id = $1",
        journey.participant_id,
    )
    assert stored is not None and dict(stored) == {
        "left_at": last_contact,
        "exit_outcome": "lost_contact",
    }


async def test_the_outcome_on_leaving_stays_what_it_was_whatever_the_later_answers(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await start("groep-intro")
    await journey.finish_phase()
    await journey.finish_phase()
    await journey.finish_phase()
    await journey.place("employment")
    state = await journey.state()
    while state.left_at is None:
        await journey.skip(10)
        state = await journey.state()
    left_at = state.left_at
    assert state.exit_outcome == Outcome.EMPLOYED and state.outcome is None
    await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": True})
    for days in (183, 183, 182):  # the job was lost by month three: unemployed from then on
        await journey.skip(days)
        await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": False, "job_searching": True})
    closed = await journey.handle.result()
    assert (closed.exit_outcome, closed.left_at) == (Outcome.EMPLOYED, left_at)
    assert closed.closed_at is not None and closed.closed_at - left_at > timedelta(days=540)
    await journey.written()
    answers = await pool.fetch(
        "SELECT name, in_employment FROM follow_up_checks WHERE participant_id = $1"
        " ORDER BY due_at",
        journey.participant_id,
    )
    assert [(r["name"], r["in_employment"]) for r in answers] == [
        ("on_leaving", True),
        ("6_months", False),
        ("12_months", False),
        ("18_months", False),
    ]


async def test_a_result_on_leaving_nobody_gives_in_four_weeks_is_kept_as_unanswered(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await start("inbrussel")
    await journey.finish_phase()
    await journey.handle.execute_update(
        ParticipantTrajectory.close,
        CloseTrajectory(
            request=CloseRequest(outcome=Outcome.WITHDRAWN, reason="phone number no longer in use")
        ),
    )
    await journey.skip(29)
    state = await journey.state()
    assert [(c.name, c.unanswered) for c in state.follow_ups] == [
        ("on_leaving", True),
        ("6_months", False),
    ]
    await journey.written()
    row = await pool.fetchrow(LEAVING, journey.participant_id, "on_leaving")
    assert row is not None and (row["answered"], row["unanswered"]) == (False, True)


async def test_a_case_manager_who_closes_as_employed_still_starts_every_follow_up(
    start: Start,
) -> None:
    journey = await start("orientaeuro", language="es")
    await journey.finish_phase()
    closed = await journey.handle.execute_update(
        ParticipantTrajectory.close,
        CloseTrajectory(
            request=CloseRequest(
                outcome=Outcome.EMPLOYED, reason="hired by the company of the trial day"
            )
        ),
    )
    assert closed.status == Status.CLOSED
    state = await journey.state()
    assert [c.name for c in state.follow_ups] == [
        c.name for c in load_programme("orientaeuro").follow_up
    ]
    answered = await journey.report(M.FOLLOW_UP_CONTACT, {"in_employment": True})
    assert answered.outcome == Outcome.EMPLOYED
    assert (await journey.state()).awaiting_results


async def test_an_answer_that_says_employed_and_job_searching_at_once_is_refused(
    start: Start,
) -> None:
    journey = await start("jes")
    await journey.finish_phase()
    await journey.report(M.WITHDRAWN)
    for payload, field in (
        ({"in_employment": True, "job_searching": True}, "job_searching"),
        ({"in_employment": False, "qualification_gained": True}, "certificate"),
    ):
        with pytest.raises(ValidationError, match=field):
            Milestone(
                milestone_id="m-both",
                type=M.FOLLOW_UP_CONTACT,
                occurred_at=await journey.now(),
                payload=payload,
            )
    certified = {"kind": "licence", "awarding_body": "Bruxelles Formation"}
    answered = await journey.report(
        M.FOLLOW_UP_CONTACT,
        {"in_employment": False, "qualification_gained": True, "certificate": certified},
    )
    assert answered.outcome == Outcome.WITHDRAWN


async def test_someone_found_ineligible_is_not_asked_for_a_result(start: Start) -> None:
    journey = await start("jes", postcode="2000")
    snapshot = await journey.handle.result()
    assert snapshot.outcome == Outcome.INELIGIBLE
    assert (await journey.state()).follow_ups == []


def test_a_youth_enrolled_at_half_past_midnight_in_brussels_is_counted_on_that_day() -> None:
    enrolled_at = datetime(2026, 5, 16, 22, 30, tzinfo=UTC)  # 00:30 on 17 May in Brussels
    assert enrolment_day(enrolled_at) == date(2026, 5, 17)
    born = born_years_ago(18, date(2026, 5, 17))
    facts = EligibilityFacts(
        postcode="1080",
        birth_date=born,
        national_number="04051701709",
        enrolled_on=enrolment_day(enrolled_at),
        employed=False,
        in_education=False,
        in_training=False,
        other_measure_declared=False,
        in_other_measure_registry=False,
    )
    codes = [r.code for r in check_eligibility(facts).reasons]
    assert "too_young" not in codes
    assert "too_young" in [
        r.code
        for r in check_eligibility(
            facts.model_copy(update={"enrolled_on": enrolled_at.date()})
        ).reasons
    ]

"""Every leaver is asked for a result on leaving, whatever the outcome (ESF+, DESIGN §8.1)."""

from datetime import UTC, date, datetime

import asyncpg

from tests.journeys import Start, born_years_ago
from trajectory.eligibility import EligibilityFacts, check_eligibility, enrolment_day
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome, Status
from trajectory.programmes import load_programme
from trajectory.requests import CloseRequest, CloseTrajectory
from workflows.trajectory import ParticipantTrajectory

LEAVING = (
    "SELECT answered_at IS NOT NULL AS answered, unanswered, in_employment, job_searching,"
    " in_education_or_training FROM follow_up_checks WHERE participant_id = $1 AND name = $2"
)


async def test_a_participant_who_withdraws_is_asked_for_a_result_on_leaving_and_it_is_kept(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await start("jes")
    await journey.finish_phase()
    withdrawn = await journey.report(M.WITHDRAWN, {"reason": "family moves abroad next month"})
    assert (withdrawn.status, withdrawn.outcome) == (Status.CLOSED, Outcome.WITHDRAWN)
    assert withdrawn.left_at is not None
    state = await journey.state()
    assert [c.name for c in state.follow_ups] == ["on_leaving"]

    answered = await journey.report(
        M.FOLLOW_UP_CONTACT, {"in_employment": False, "job_searching": True}
    )
    assert answered.outcome == Outcome.WITHDRAWN
    await journey.handle.result()
    await journey.written()
    row = await pool.fetchrow(LEAVING, journey.participant_id, "on_leaving")
    assert row is not None
    assert dict(row) == {
        "answered": True,
        "unanswered": False,
        "in_employment": False,
        "job_searching": True,
        "in_education_or_training": False,
    }


async def test_a_result_on_leaving_nobody_gives_in_four_weeks_is_kept_as_unanswered(
    start: Start, pool: asyncpg.Pool
) -> None:
    journey = await start("inbrussel")
    await journey.finish_phase()
    await journey.handle.execute_update(
        ParticipantTrajectory.close,
        CloseTrajectory(
            request=CloseRequest(
                outcome=Outcome.LOST_CONTACT, reason="phone number no longer in use"
            )
        ),
    )
    await journey.skip(29)
    await journey.handle.result()
    state = await journey.state()
    assert [(c.name, c.unanswered) for c in state.follow_ups] == [("on_leaving", True)]
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

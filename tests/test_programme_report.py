"""The programme report, checked figure by figure on a small cohort counted by hand
(`tests/report_cohort.py` tells each youth's story), in a database of its own."""

import argparse
import base64
import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from activities.retention import erase_restricted
from api.app import create_app
from api.auth import KeyCache
from infra.database import Pool
from infra.settings import Settings
from readmodel.api_keys import create_key
from readmodel.persons import restrict_person, store_person
from readmodel.reports import programme_report
from readmodel.seats import release_seat, request_seat
from reporting import command
from reporting.page import report_html
from reporting.tables import columns, report_csv
from tests.api_fixtures import Keys, bearer
from tests.case_file import someone
from tests.report_cohort import NOW, PARTNERS, Cohort, at, own_database, write_cohort
from trajectory.actors import Role
from trajectory.programme_report import TABLES, ProgrammeReport
from trajectory.records import SeatRelease, SeatRequest
from trajectory.targets import ProgrammeTarget, Targets, load_targets


@pytest.fixture(scope="module")
async def cohort_pool(database_url: str) -> AsyncIterator[Pool]:
    async with own_database(database_url, f"report_{uuid.uuid4().hex[:12]}") as pool:
        async with pool.acquire() as con, con.transaction():
            await write_cohort(con)
        yield pool


@pytest.fixture(scope="module")
async def report(cohort_pool: Pool) -> ProgrammeReport:
    async with cohort_pool.acquire() as con:
        return await programme_report(con, now=NOW)


def by_partner(*rows: Any) -> dict[str | None, Any]:
    """Expected figures given in `PARTNERS` order."""
    return dict(zip(PARTNERS, rows, strict=True))


async def report_for(pool: Pool, first: str, last: str) -> ProgrammeReport:
    async with pool.acquire() as con:
        return await programme_report(
            con, now=NOW, period_from=date.fromisoformat(first), period_to=date.fromisoformat(last)
        )


# -- the funnel, where they stand, how they left --------------------------------------------------


def test_the_funnel_counts_each_enrolment_at_each_stage_per_partner_and_in_total(
    report: ProgrammeReport,
) -> None:
    # enrolled, assessed, coached, trained, placed, employed at 6 months: every enrolment, so
    # R1 and R2 twice; O1 enrolled with JES counts with OrientaEuro, which holds them now
    expected = by_partner(
        (5, 4, 3, 0, 1, 0),
        (7, 5, 5, 2, 2, 2),
        (3, 3, 2, 0, 1, 0),
        (15, 12, 10, 2, 4, 2),
    )
    got: dict[str | None, list[int]] = {}
    for row in report.funnel:
        got.setdefault(row.partner_id, []).append(row.participants)
        assert row.enrolled == expected[row.partner_id][0]
    assert {p: tuple(counts) for p, counts in got.items()} == expected
    assert [row.stage for row in report.funnel[:6]] == [
        "enrolled", "assessed", "coached", "trained", "placed", "employed_at_6_months"
    ]  # fmt: skip
    shares = {
        p: tuple(r.share_of_enrolled for r in report.funnel if r.partner_id == p) for p in got
    }
    assert shares == by_partner(
        (1.0, 0.8, 0.6, 0.0, 0.2, 0.0),
        (1.0, 0.7143, 0.7143, 0.2857, 0.2857, 0.2857),
        (1.0, 1.0, 0.6667, 0.0, 0.3333, 0.0),
        (1.0, 0.8, 0.6667, 0.1333, 0.2667, 0.1333),
    )


def test_employed_at_six_months_comes_with_the_share_of_those_asked_who_answered(
    report: ProgrammeReport,
) -> None:
    # asked: J1, J2, J3 (missed), R1 | I3 (missed); R2, I4, O2 not due: their 6 months are to come
    assert {
        r.partner_id: (r.participants, r.asked, r.response_rate)
        for r in report.funnel
        if r.stage == "employed_at_6_months"
    } == by_partner((0, 1, 0.0), (2, 4, 0.75), (0, 0, None), (2, 5, 0.6))
    assert all(
        (r.asked, r.response_rate) == (None, None)
        for r in report.funnel
        if r.stage != "employed_at_6_months"
    )


def test_current_counts_per_phase_and_status_include_a_youth_not_yet_in_the_read_model(
    report: ProgrammeReport,
) -> None:
    assert [(r.partner_id, r.phase, r.status, r.participants) for r in report.phases] == [
        ("inbrussel", "coaching", "active", 1),
        ("inbrussel", "coaching", "paused", 1),
        ("inbrussel", "training", "active", 1),
        ("inbrussel", "closed", "closed", 2),
        ("jes", "intake", "active", 1),
        ("jes", "follow_up", "active", 1),
        ("jes", "closed", "closed", 5),
        ("orientaeuro", "coaching", "active", 1),
        ("orientaeuro", "placement", "dormant", 1),
        ("orientaeuro", "follow_up", "active", 1),
        (None, "intake", "active", 1),
        (None, "coaching", "active", 2),
        (None, "coaching", "paused", 1),
        (None, "training", "active", 1),
        (None, "placement", "dormant", 1),
        (None, "follow_up", "active", 2),
        (None, "closed", "closed", 7),
    ]


def test_how_participants_left_is_counted_on_their_leaving_day_with_the_outcome_fixed_then(
    report: ProgrammeReport,
) -> None:
    # J1 and O2 are still followed up, yet left: employed and self-employed
    assert [
        (r.partner_id, r.outcome, r.participants, r.leavers, r.share_of_leavers)
        for r in report.outcomes
    ] == [
        ("inbrussel", "traineeship", 1, 2, 0.5),
        ("inbrussel", "withdrawn", 1, 2, 0.5),
        ("jes", "employed", 2, 6, 0.3333),
        ("jes", "withdrawn", 2, 6, 0.3333),
        ("jes", "ineligible", 1, 6, 0.1667),
        ("jes", "lost_contact", 1, 6, 0.1667),
        ("orientaeuro", "self_employed", 1, 1, 1.0),
        (None, "withdrawn", 3, 9, 0.3333),
        (None, "employed", 2, 9, 0.2222),
        (None, "ineligible", 1, 9, 0.1111),
        (None, "lost_contact", 1, 9, 0.1111),
        (None, "self_employed", 1, 9, 0.1111),
        (None, "traineeship", 1, 9, 0.1111),
    ]


async def test_a_closing_after_eighteen_months_does_not_count_as_leaving_employed_then(
    cohort_pool: Pool,
) -> None:
    # J2 left employed in October 2025; the follow-up closed on 1 April 2026, with the outcome
    # fixed on leaving: April counts only I4, who left then
    april = await report_for(cohort_pool, "2026-04-01", "2026-04-30")
    assert [(r.partner_id, r.outcome, r.participants) for r in april.outcomes] == [
        ("inbrussel", "withdrawn", 1),
        (None, "withdrawn", 1),
    ]
    october = await report_for(cohort_pool, "2025-10-01", "2025-10-31")
    assert [(r.partner_id, r.outcome) for r in october.outcomes] == [
        ("jes", "employed"),
        (None, "employed"),
    ]


async def test_a_drop_out_leaves_on_the_day_of_their_last_contact_not_when_closed(
    cohort_pool: Pool,
) -> None:
    # J3: last contact 1 November 2025, closed as lost contact on 1 February 2026
    november = await report_for(cohort_pool, "2025-11-01", "2025-11-30")
    february = await report_for(cohort_pool, "2026-02-01", "2026-02-28")
    assert [(r.partner_id, r.outcome) for r in november.outcomes] == [
        ("jes", "lost_contact"),
        (None, "lost_contact"),
    ]
    assert "lost_contact" not in {r.outcome for r in february.outcomes}
    leavers = {
        r.partner_id: r.participants
        for r in november.esf_results
        if r.indicator == "leavers" and r.gender is None
    }
    assert leavers == {"jes": 1, "orientaeuro": 0, None: 1}  # O2 entered on 3 November


# -- Youth Guarantee ------------------------------------------------------------------------------


def test_the_youth_guarantee_counts_the_under_30s_whose_four_months_have_passed(
    report: ProgrammeReport,
) -> None:
    # under 30 at entry (J3 and I3 are 30; J4 ineligible; R once): jes J1 J2 J5 R,
    # inbrussel I1 I2 I4 C1, orientaeuro O1 O2 O3. Four months not yet over: J5, I4, O3.
    # Offers: J1 335.5 and J2 335.5 days after registering (midnight in Brussels), I1 30, I2 29
    # (a training seat), O2 368.46: within four months only I1 and I2.
    assert {
        r.partner_id: (
            r.participants,
            r.four_months_passed,
            r.offered,
            r.median_days_to_offer,
            r.offered_within_4_months,
            r.without_offer_after_4_months,
            r.share_within_4_months,
        )
        for r in report.time_to_offer
    } == by_partner(
        (4, 3, 2, 29.5, 2, 1, 0.6667),
        (4, 3, 2, 335.5, 0, 3, 0.0),
        (3, 2, 1, 368.46, 0, 2, 0.0),
        (11, 8, 5, 335.5, 2, 6, 0.25),
    )
    assert [r.partner_id for r in report.time_to_offer] == list(PARTNERS)


def test_each_first_offer_counts_by_kind_and_a_job_offer_by_its_contract(
    report: ProgrammeReport,
) -> None:
    # employment, education, apprenticeship, traineeship, permanent, fixed-term, median months
    assert {
        r.partner_id: (
            r.offers_employment,
            r.offers_education,
            r.offers_apprenticeship,
            r.offers_traineeship,
            r.permanent_job_offers,
            r.fixed_term_job_offers,
            r.median_fixed_term_months,
        )
        for r in report.time_to_offer
    } == by_partner(
        (1, 1, 0, 0, 0, 0, None),  # I1's job offer without a contract; I2's training seat
        (2, 0, 0, 0, 1, 1, 6.0),
        (1, 0, 0, 0, 0, 1, 12.0),
        (4, 1, 0, 0, 1, 2, 9.0),  # I3's traineeship is left out: I3 was 30
    )


async def test_in_the_demo_where_a_day_lasts_less_the_report_counts_programme_days(
    cohort_pool: Pool,
) -> None:
    async with cohort_pool.acquire() as con:
        halved = await programme_report(con, now=NOW, day_seconds=43200)
    total = halved.time_to_offer[-1]
    # 29, 30, 335.5, 335.5, 368.46 real days are twice as many programme days: the median is
    # 671; within 122 of them, I1 (60) and I2 (58). 122 programme days after entry have passed
    # for I4 (2 March) too, now: 9.
    assert (total.median_days_to_offer, total.offered_within_4_months) == (671.0, 2)
    assert total.four_months_passed == 9


# -- training -------------------------------------------------------------------------------------


def test_training_per_course_counts_every_request_and_the_jobs_that_followed(
    report: ProgrammeReport,
) -> None:
    assert [r.model_dump() for r in report.training] == [
        {
            "course_id": "bike-2026",
            "title": "Bike courier",
            "provider": "Urbike and Logisticity.brussels",
            "seats": 12,
            "selection": True,
            "requests": 3,
            "waiting": 0,
            "applied": 1,
            "offered": 0,
            "seated": 1,
            "seats_taken": 1,
            "completed": 0,
            "dropped": 0,
            "expired": 1,
            "qualifications": 0,
            "completion_share": None,
            "in_job_after_training": 0,
            "in_job_in_sector": 0,
        },
        {
            "course_id": "weld-2025",
            "title": "Welder",
            "provider": "Technicity.brussels",
            "seats": 12,
            "selection": False,
            "requests": 3,
            "waiting": 1,
            "applied": 0,
            "offered": 0,
            "seated": 0,
            "seats_taken": 2,
            "completed": 1,
            "dropped": 1,
            "expired": 0,
            "qualifications": 1,
            "completion_share": 0.5,
            "in_job_after_training": 1,  # J1, two days after completing
            "in_job_in_sector": 1,  # as a welder
        },
    ]


async def test_the_bike_courier_course_selects_12_of_45_applicants_and_5_work_in_the_sector(
    database_url: str,
) -> None:
    """The programme's own figures: 45 applications for 12 seats, 11 of the 12 completed, 5 were
    in a job in the sector about two months later. Applying takes no seat; a selection takes
    one while seats last, and never a thirteenth."""
    name = f"bike_{uuid.uuid4().hex[:12]}"
    async with own_database(database_url, name) as pool, pool.acquire() as con:
        await Cohort(con).course(
            "bike-2026", "Bike courier", "Urbike and Logisticity.brussels", selection=True
        )
        applicants = [f"B{n:02d}" for n in range(1, 46)]
        for key in applicants:
            await Cohort(con).enrolled(key, "jes", "2026-01-05", 22)
        asked = SeatRequest(
            participant_id="", course_id="bike-2026", at=at("2026-01-12"), milestone_id="a"
        )
        decisions = [
            await request_seat(con, asked.model_copy(update={"participant_id": key}))
            for key in applicants
        ]
        selected = [
            await request_seat(
                con,
                asked.model_copy(
                    update={"participant_id": key, "selected": True, "milestone_id": "s"}
                ),
            )
            for key in applicants[:12]
        ]
        with pytest.raises(Exception, match=r"seats of bike-2026 are taken"):
            await request_seat(
                con,
                asked.model_copy(
                    update={"participant_id": "B13", "selected": True, "milestone_id": "s"}
                ),
            )
        for key in applicants[:12]:
            outcome = "dropped" if key == "B12" else "completed"
            await release_seat(
                con,
                SeatRelease(
                    participant_id=key,
                    course_id="bike-2026",
                    outcome=outcome,
                    qualification="vocational_certificate" if outcome == "completed" else None,
                    at=at("2026-03-06"),
                    offer_until=at("2026-03-09"),
                ),
            )
        # five start as couriers about two months later, one in a shop, one only after four
        # months
        for key, day, in_sector in (
            *((k, "2026-05-04", True) for k in applicants[:5]),
            ("B07", "2026-05-11", False),
            ("B06", "2026-07-06", True),
        ):
            await Cohort(con).milestones(
                key, "placement", "placement_started", day=day,
                payload={"kind": "employment", "start_date": day, "in_training_sector": in_sector},
            )  # fmt: skip
        bike = (await programme_report(con, now=NOW + timedelta(days=30))).training
    assert {(d.granted, d.applied, d.position) for d in decisions} == {(False, True, None)}
    assert all(d.granted for d in selected)
    assert [
        (r.requests, r.applied, r.seats_taken, r.completed, r.dropped, r.qualifications)
        for r in bike
    ] == [(45, 33, 12, 11, 1, 11)]
    assert (bike[0].completion_share, bike[0].in_job_after_training) == (0.9167, 6)
    assert bike[0].in_job_in_sector == 5


# -- nudges ---------------------------------------------------------------------------------------


def test_nudge_effect_by_partner_ladder_rung_and_channel(report: ProgrammeReport) -> None:
    # nudges (tasks, messages delivered), failed messages, judged (sent 7+ days before the
    # report), contact within 7 days, share, median days
    assert [
        (
            r.partner_id,
            r.level,
            r.channel,
            r.nudges,
            r.failed,
            r.judged,
            r.contact_within_7_days,
            r.share_with_contact,
            r.median_days_to_contact,
        )
        for r in report.nudge_effect
    ] == [
        ("inbrussel", 1, "email", 1, 0, 1, 0, 0.0, 10.0),
        ("inbrussel", 2, "email", 1, 0, 1, 1, 1.0, 3.0),
        ("inbrussel", None, None, 2, 0, 2, 1, 0.5, 6.5),
        ("jes", 1, "sms", 2, 0, 2, 1, 0.5, 2.0),
        ("jes", 2, "sms", 0, 1, 0, 0, None, None),
        ("jes", 3, "phone", 1, 0, 1, 0, 0.0, None),
        ("jes", 4, "street_worker", 1, 0, 1, 0, 0.0, None),
        ("jes", None, None, 4, 1, 4, 1, 0.25, 2.0),
        ("orientaeuro", 1, "whatsapp", 3, 0, 2, 1, 0.5, 1.5),
        ("orientaeuro", 2, "whatsapp", 1, 0, 1, 0, 0.0, None),
        ("orientaeuro", 3, "phone", 1, 0, 0, 0, None, None),
        ("orientaeuro", None, None, 5, 0, 3, 1, 0.3333, 1.5),
        (None, 1, "email", 1, 0, 1, 0, 0.0, 10.0),
        (None, 1, "sms", 2, 0, 2, 1, 0.5, 2.0),
        (None, 1, "whatsapp", 3, 0, 2, 1, 0.5, 1.5),
        (None, 1, None, 6, 0, 5, 2, 0.4, 2.0),
        (None, 2, "email", 1, 0, 1, 1, 1.0, 3.0),
        (None, 2, "sms", 0, 1, 0, 0, None, None),
        (None, 2, "whatsapp", 1, 0, 1, 0, 0.0, None),
        (None, 2, None, 2, 1, 2, 1, 0.5, 3.0),
        (None, 3, "phone", 2, 0, 1, 0, 0.0, None),
        (None, 3, None, 2, 0, 1, 0, 0.0, None),
        (None, 4, "street_worker", 1, 0, 1, 0, 0.0, None),
        (None, 4, None, 1, 0, 1, 0, 0.0, None),
        (None, None, "email", 2, 0, 2, 1, 0.5, 6.5),
        (None, None, "phone", 2, 0, 1, 0, 0.0, None),
        (None, None, "sms", 2, 1, 2, 1, 0.5, 2.0),
        (None, None, "street_worker", 1, 0, 1, 0, 0.0, None),
        (None, None, "whatsapp", 4, 0, 3, 1, 0.3333, 1.5),
        (None, None, None, 11, 1, 9, 3, 0.3333, 2.0),
    ]


# -- ESF+ common participant indicators -----------------------------------------------------------

Figures = tuple[tuple[int, int, float | None], ...]
"""(count, denominator, share) in `PARTNERS` order."""

AT_ENTRY: dict[str, tuple[str | None, str, Figures]] = {
    # each person once (R1 and R2 are one), on entering; J5 has no entry profile
    "participants": ("EECO01", "taking_part", (
        (5, 5, 1.0), (4, 5, 0.8), (3, 3, 1.0), (12, 13, 0.9231))),
    "excluded_incomplete": (None, "taking_part", (
        (0, 5, 0.0), (1, 5, 0.2), (0, 3, 0.0), (1, 13, 0.0769))),
    "unemployed_incl_long_term": ("EECO02", "participants", (
        (3, 5, 0.6), (3, 4, 0.75), (2, 3, 0.6667), (8, 12, 0.6667))),
    # derived from the PES registration: J1 (24, nine months), I3 (30, a year), C1 (23, eight
    # months); not J2 (29, six months) nor O2 (25, ten months)
    "long_term_unemployed": ("EECO03", "participants", (
        (2, 5, 0.4), (1, 4, 0.25), (0, 3, 0.0), (3, 12, 0.25))),
    "inactive": ("EECO04", "participants", (
        (2, 5, 0.4), (1, 4, 0.25), (1, 3, 0.3333), (4, 12, 0.3333))),
    "employed": ("EECO05", "participants", (
        (0, 5, 0.0), (0, 4, 0.0), (0, 3, 0.0), (0, 12, 0.0))),
    "below_18": ("EECO06", "participants", (
        (0, 5, 0.0), (0, 4, 0.0), (0, 3, 0.0), (0, 12, 0.0))),
    "aged_18_29": ("EECO07", "participants", (  # J3 and I3 are 30
        (4, 5, 0.8), (3, 4, 0.75), (3, 3, 1.0), (10, 12, 0.8333))),
    "aged_55_and_over": ("EECO08", "participants", (
        (0, 5, 0.0), (0, 4, 0.0), (0, 3, 0.0), (0, 12, 0.0))),
    "isced_0_2": ("EECO09", "participants", (
        (3, 5, 0.6), (3, 4, 0.75), (1, 3, 0.3333), (7, 12, 0.5833))),
    "isced_3_4": ("EECO10", "participants", (
        (1, 5, 0.2), (1, 4, 0.25), (1, 3, 0.3333), (3, 12, 0.25))),
    "isced_5_8": ("EECO11", "participants", (
        (1, 5, 0.2), (0, 4, 0.0), (1, 3, 0.3333), (2, 12, 0.1667))),
    "disability": ("EECO12", "disability_answered", (
        (0, 4, 0.0), (1, 3, 0.3333), (1, 3, 0.3333), (2, 10, 0.2))),
    "disability_declined": (None, "participants", (
        (1, 5, 0.2), (1, 4, 0.25), (0, 3, 0.0), (2, 12, 0.1667))),
    "third_country_national": ("EECO13", "third_country_national_answered", (
        (1, 5, 0.2), (1, 3, 0.3333), (1, 2, 0.5), (3, 10, 0.3))),
    "third_country_national_declined": (None, "participants", (
        (0, 5, 0.0), (1, 4, 0.25), (1, 3, 0.3333), (2, 12, 0.1667))),
    "foreign_background": ("EECO14", "foreign_background_answered", (
        (2, 5, 0.4), (2, 3, 0.6667), (2, 2, 1.0), (6, 10, 0.6))),
    "foreign_background_declined": (None, "participants", (
        (0, 5, 0.0), (1, 4, 0.25), (1, 3, 0.3333), (2, 12, 0.1667))),
    "minority": ("EECO15", "minority_answered", (
        (1, 4, 0.25), (1, 3, 0.3333), (0, 3, 0.0), (2, 10, 0.2))),
    "minority_declined": (None, "participants", (
        (1, 5, 0.2), (1, 4, 0.25), (0, 3, 0.0), (2, 12, 0.1667))),
    "homeless": ("EECO16", "homeless_answered", (
        (0, 4, 0.0), (1, 4, 0.25), (1, 3, 0.3333), (2, 11, 0.1818))),
    "homeless_declined": (None, "participants", (
        (1, 5, 0.2), (0, 4, 0.0), (0, 3, 0.0), (1, 12, 0.0833))),
    "living_in_rural_areas": ("EECO17", "participants", (
        (0, 5, 0.0), (0, 4, 0.0), (0, 3, 0.0), (0, 12, 0.0))),
}  # fmt: skip

RESULTS: dict[str, tuple[str | None, str, Figures]] = {
    # leavers: J1 J2 J3 R (on R2's leaving) | I3 I4 | O2
    "leavers": (None, "participants", (
        (2, 5, 0.4), (4, 4, 1.0), (1, 3, 0.3333), (7, 12, 0.5833))),
    "on_leaving_answered": (None, "leavers", (  # J3 and O2 never answered
        (2, 2, 1.0), (3, 4, 0.75), (0, 1, 0.0), (5, 7, 0.7143))),
    # of those inactive at entry (J3, I4): I4; I3 searched too, but was unemployed at entry
    "job_searching_on_leaving": ("EECR01", "inactive_leavers", (
        (1, 1, 1.0), (0, 1, 0.0), (0, 0, None), (1, 2, 0.5))),
    "in_education_or_training_on_leaving": ("EECR02", "leavers", (
        (1, 2, 0.5), (0, 4, 0.0), (0, 1, 0.0), (1, 7, 0.1429))),
    # J1's certificate in the check-in, J2's licence with training_completed
    "qualification_on_leaving": ("EECR03", "leavers", (
        (0, 2, 0.0), (2, 4, 0.5), (0, 1, 0.0), (2, 7, 0.2857))),
    # J1 J2 R2 answered so; O2 never answered and left self-employed: the placement counts
    "in_employment_on_leaving": ("EECR04", "leavers", (
        (0, 2, 0.0), (3, 4, 0.75), (1, 1, 1.0), (4, 7, 0.5714))),
    # of those who answered at six months (J1 employed, J2 job searching)
    "in_employment_6_months_after_leaving": ("EECR05", "answered_6_months", (
        (0, 0, None), (1, 2, 0.5), (0, 0, None), (1, 2, 0.5))),
    "improved_situation_6_months_after_leaving": (
        "EECR06", "employed_at_entry_answered_6_months", (
            (0, 0, None), (0, 0, None), (0, 0, None), (0, 0, None))),
}  # fmt: skip

LONGER_TERM: dict[str, tuple[tuple[int, int, float | None], ...]] = {
    # asked (answered, missed, or their four weeks over), unknown, response rate
    # asked: J1 J2 J3 | I3; R2, I4 and O2 are six months out only after the report
    "in_employment_6_months_after_leaving": ((1, 1, 0.0), (3, 1, 0.6667), (0, 0, None),
                                             (4, 2, 0.5)),
    "improved_situation_6_months_after_leaving": ((0, 0, None),) * 4,
}  # fmt: skip


def _indicator_table(
    expected: dict[str, tuple[str | None, str, Figures]],
) -> list[tuple[Any, ...]]:
    return [
        (partner, code, name, count, denominator, base, share)
        for index, partner in enumerate(PARTNERS)
        for name, (code, base, figures) in expected.items()
        for count, denominator, share in [figures[index]]
    ]


def _rows(table: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (r.partner_id, r.code, r.indicator, r.participants, r.denominator, r.base, r.share)
        for r in table
        if r.gender is None
    ]


def test_every_esf_indicator_at_entry_has_its_code_and_declined_answers_counted_apart(
    report: ProgrammeReport,
) -> None:
    assert _rows(report.esf_at_entry) == _indicator_table(AT_ENTRY)


def test_esf_results_on_leaving_and_six_months_after_count_every_leaver(
    report: ProgrammeReport,
) -> None:
    assert _rows(report.esf_results) == _indicator_table(RESULTS)


def test_every_longer_term_result_has_its_response_rate_and_no_answer_is_unknown_not_no(
    report: ProgrammeReport,
) -> None:
    for name, figures in LONGER_TERM.items():
        assert [
            (r.asked, r.unknown, r.response_rate)
            for r in report.esf_results
            if r.indicator == name and r.gender is None
        ] == list(figures), name
    on_leaving = [r for r in report.esf_results if r.code in ("EECR01", "EECR04")]
    assert all(r.asked is None and r.response_rate is None for r in on_leaving)


def test_the_gender_breakdown_sums_to_the_totals_but_for_the_incomplete_counted_apart(
    report: ProgrammeReport,
) -> None:
    excluded = {
        r.partner_id: r.participants
        for r in report.esf_at_entry
        if r.indicator == "excluded_incomplete"
    }
    assert excluded == by_partner(0, 1, 0, 1)
    for table in (report.esf_at_entry, report.esf_results):
        totals = {(r.partner_id, r.indicator): r for r in table if r.gender is None}
        sums: dict[tuple[str | None, str], tuple[int, int]] = {}
        for r in table:
            if r.gender is not None:
                count, denominator = sums.get((r.partner_id, r.indicator), (0, 0))
                sums[(r.partner_id, r.indicator)] = (
                    count + r.participants,
                    denominator + r.denominator,
                )
        for (partner, name), total in totals.items():
            if name == "excluded_incomplete":
                assert (partner, name) not in sums  # nobody of them has a recorded gender
                continue
            apart = excluded[partner] if total.base == "taking_part" else 0
            assert sums[(partner, name)] == (total.participants, total.denominator - apart)
    genders = [r.gender for r in report.esf_results if r.indicator == "leavers"]
    assert genders == [None, "woman", "man", "non_binary"] * len(PARTNERS)


def test_every_esf_indicator_is_given_per_gender_with_zero_rows_for_nobody(
    report: ProgrammeReport,
) -> None:
    def figure(
        table: list[Any], partner: str | None, gender: str, name: str
    ) -> tuple[int, int, float | None]:
        (row,) = [
            r for r in table if (r.partner_id, r.gender, r.indicator) == (partner, gender, name)
        ]
        return row.participants, row.denominator, row.share

    # ESF+ participants: women J2 R I1 I3 O2 O3, men J1 I2 I4 C1 O1, non-binary J3
    assert figure(report.esf_results, None, "woman", "leavers") == (4, 6, 0.6667)  # J2 R I3 O2
    assert figure(report.esf_results, None, "man", "leavers") == (2, 5, 0.4)  # J1 I4
    assert figure(report.esf_results, None, "non_binary", "leavers") == (1, 1, 1.0)  # J3
    assert figure(report.esf_results, None, "woman", "in_employment_on_leaving") == (3, 4, 0.75)
    assert figure(report.esf_results, None, "man", "job_searching_on_leaving") == (1, 1, 1.0)
    employed_later = "in_employment_6_months_after_leaving"
    assert figure(report.esf_results, "jes", "man", employed_later) == (1, 1, 1.0)
    assert figure(report.esf_at_entry, None, "woman", "unemployed_incl_long_term") == (
        5, 6, 0.8333
    )  # fmt: skip
    assert figure(report.esf_at_entry, None, "man", "participants") == (5, 5, 1.0)
    assert figure(report.esf_at_entry, "orientaeuro", "non_binary", "below_18") == (0, 0, None)
    assert figure(report.esf_at_entry, "inbrussel", "non_binary", "participants") == (0, 0, None)


def test_a_person_enrolled_again_after_a_close_is_one_participant_with_their_last_leaving(
    report: ProgrammeReport,
) -> None:
    # R1 and R2: two enrolments in the funnel, one participant at entry, one leaver whose
    # result is R2's (employed), not R1's (job searching)
    enrolled = {r.partner_id: r.participants for r in report.funnel if r.stage == "enrolled"}
    entered = {
        r.partner_id: r.participants
        for r in report.esf_at_entry
        if r.code == "EECO01" and r.gender is None
    }
    assert (enrolled["jes"], entered["jes"]) == (7, 4)  # J1 J2 J3 J4 J5 R1 R2 | J1 J2 J3 R
    woman_at_jes = {
        r.indicator: r.participants
        for r in report.esf_results
        if (r.partner_id, r.gender) == ("jes", "woman")
    }
    assert woman_at_jes["leavers"] == 2  # J2 and R
    assert woman_at_jes["in_employment_on_leaving"] == 2
    assert woman_at_jes["job_searching_on_leaving"] == 0


async def test_a_profile_completed_by_a_case_manager_counts_and_a_missing_one_is_apart(
    cohort_pool: Pool,
) -> None:
    # C1 (enrolled without a profile, completed in June) counts; J5 (none yet) is apart
    january = await report_for(cohort_pool, "2026-01-01", "2026-01-31")
    june = await report_for(cohort_pool, "2026-06-01", "2026-06-30")
    figures = {
        (month, r.indicator): (r.participants, r.denominator)
        for month, rows in (("january", january.esf_at_entry), ("june", june.esf_at_entry))
        for r in rows
        if r.partner_id is None and r.gender is None
    }
    assert figures[("january", "participants")] == (1, 1)  # C1
    assert figures[("january", "long_term_unemployed")] == (1, 1)
    assert figures[("june", "participants")] == (0, 1)
    assert figures[("june", "excluded_incomplete")] == (1, 1)  # J5


async def test_a_period_limits_entries_leavers_and_leaving_days_to_its_days(
    cohort_pool: Pool,
) -> None:
    spring = await report_for(cohort_pool, "2026-03-01", "2026-06-30")
    assert (spring.period_from, spring.period_to) == (date(2026, 3, 1), date(2026, 6, 30))
    # entered: I4 (2 March), O3 (4 May), J5 (29 June); left: I4 (1 April)
    enrolled = {r.partner_id: r.participants for r in spring.funnel if r.stage == "enrolled"}
    assert enrolled == by_partner(1, 1, 1, 3)
    assert [(r.partner_id, r.outcome, r.participants) for r in spring.outcomes] == [
        ("inbrussel", "withdrawn", 1),
        (None, "withdrawn", 1),
    ]
    totals = {
        r.indicator: (r.participants, r.denominator)
        for r in spring.esf_results
        if r.partner_id is None and r.gender is None
    }
    assert totals["leavers"] == (1, 2)
    assert totals["on_leaving_answered"] == (1, 1)
    assert totals["job_searching_on_leaving"] == (1, 1)
    entry = {
        r.indicator: (r.participants, r.denominator)
        for r in spring.esf_at_entry
        if (r.partner_id, r.gender) == (None, None)
    }
    assert entry["participants"] == (2, 3)  # J5 has no entry profile
    assert entry["excluded_incomplete"] == (1, 3)
    assert {(r.period_from, r.period_to) for r in spring.esf_results} == {
        (date(2026, 3, 1), date(2026, 6, 30))
    }
    youth = spring.time_to_offer[-1]
    assert (youth.participants, youth.four_months_passed) == (3, 0)
    assert [(r.partner_id, r.nudges) for r in spring.nudge_effect if r.level is None][-1] == (
        None, 5
    )  # fmt: skip


# -- targets --------------------------------------------------------------------------------------


async def test_progress_against_the_targets_counts_each_participant_once_and_the_pace_due(
    cohort_pool: Pool,
) -> None:
    targets = Targets(
        programme=ProgrammeTarget(
            participants=3000, starts_on=date(2025, 1, 1), ends_on=date(2028, 12, 31)
        ),
        partners={"inbrussel": 1000, "jes": 1000, "orientaeuro": 1000},
    )
    async with cohort_pool.acquire() as con:
        report = await programme_report(con, now=NOW, targets=targets)
    # 545 of the programme's 1460 days are over on 30 June 2026; R1 and R2 are one person
    assert [
        (r.partner_id, r.target, r.participants, r.share_of_target, r.expected_by_now)
        for r in report.targets
    ] == [
        ("inbrussel", 1000, 5, 0.005, 373),
        ("jes", 1000, 5, 0.005, 373),
        ("orientaeuro", 1000, 3, 0.003, 373),
        (None, 3000, 13, 0.0043, 1120),
    ]
    assert not any(r.placeholder for r in report.targets)


def test_the_programme_s_window_is_its_own_four_years_and_the_quotas_say_they_are_placeholders(
    report: ProgrammeReport,
) -> None:
    configured = load_targets()
    programme = configured.programme
    assert (programme.starts_on, programme.ends_on) == (date(2024, 1, 1), date(2027, 12, 31))
    assert programme.participants == 3000
    # 911 of the 1460 days are over on 30 June 2026
    assert [(r.partner_id, r.placeholder) for r in report.targets][-1] == (None, False)
    assert report.targets[-1].expected_by_now == 1872
    assert all(r.placeholder for r in report.targets if r.partner_id is not None)


def test_partner_quotas_that_do_not_add_up_to_the_target_are_refused() -> None:
    with pytest.raises(ValidationError, match="add up"):
        Targets(
            programme=ProgrammeTarget(
                participants=3000, starts_on=date(2025, 1, 1), ends_on=date(2028, 12, 31)
            ),
            partners={"jes": 1000},
        )
    assert sum(load_targets().partners.values()) == load_targets().programme.participants


async def test_a_reassigned_youth_counts_with_each_partner_for_the_stretch_it_held_them(
    database_url: str,
) -> None:
    name = f"report_{uuid.uuid4().hex[:12]}"
    async with own_database(database_url, name) as pool, pool.acquire() as con:
        c = Cohort(con)
        # R1 enrols with JES, gets an offer there, is handed to InBrussel and leaves
        # employed from InBrussel.
        profile = ("unemployed", "isced_0_2", "woman", "no", "no", "no", "no", "no")
        await c.enrolled("R1", "jes", "2025-01-06", 24, profile)
        await con.executemany(
            "INSERT INTO partner_stints (participant_id, partner_id, since) VALUES ('R1', $1, $2)",
            [("jes", at("2025-01-06")), ("inbrussel", at("2025-03-03"))],
        )
        await c.trajectory(
            "R1", "inbrussel", ("assessment", "coaching", "placement", "follow_up"),
            exit_outcome="employed", left="2025-06-02",
            offer=("2025-02-10", "employment", None, None),
        )  # fmt: skip
        await c.check("R1", "on_leaving", "2025-06-02", in_employment=True)
        held = await programme_report(con, now=NOW)

    def partners(rows: list[Any], **match: Any) -> list[str | None]:
        return [
            r.partner_id
            for r in rows
            if all(getattr(r, k) == v for k, v in match.items()) and r.participants
        ]

    assert partners(held.esf_at_entry, indicator="participants", gender=None) == ["jes", None]
    assert partners(held.time_to_offer, offered=1) == ["jes", None]
    assert partners(held.esf_results, indicator="in_employment_on_leaving", gender=None) == [
        "inbrussel",
        None,
    ]
    assert partners(held.outcomes, outcome="employed") == ["inbrussel", None]
    assert [(r.partner_id, r.participants) for r in held.targets if r.participants] == [
        ("jes", 1),
        (None, 1),
    ]


async def test_an_empty_programme_reports_zeros_and_no_shares(database_url: str) -> None:
    name = f"report_{uuid.uuid4().hex[:12]}"
    async with own_database(database_url, name) as pool, pool.acquire() as con:
        empty = await programme_report(con, now=NOW)
    assert {(r.stage, r.participants, r.share_of_enrolled) for r in empty.funnel} == {
        (stage, 0, None) for stage in ("enrolled", "assessed", "coached", "trained", "placed",
                                       "employed_at_6_months")
    }  # fmt: skip
    assert (empty.phases, empty.outcomes, empty.training) == ([], [], [])
    assert [(r.offered, r.median_days_to_offer) for r in empty.time_to_offer] == [(0, None)]
    assert [(r.nudges, r.share_with_contact) for r in empty.nudge_effect] == [(0, None)]
    assert all(r.participants == 0 and r.share is None for r in empty.esf_at_entry)
    assert "Nothing to count yet" in report_html(empty)


# -- CSV, HTML and the command --------------------------------------------------------------------


def test_each_table_is_one_csv_with_its_columns_and_all_for_every_partner(
    report: ProgrammeReport,
) -> None:
    tables = report_csv(report)
    assert tuple(tables) == TABLES
    for table in TABLES:
        rows = list(csv.reader(io.StringIO(tables[table])))
        assert rows[0] == columns(table)
        assert len(rows) - 1 == len(report.table(table))
    funnel = list(csv.DictReader(io.StringIO(tables["funnel"])))
    assert funnel[-1] == {
        "partner_id": "all",
        "stage": "employed_at_6_months",
        "participants": "2",
        "enrolled": "15",
        "share_of_enrolled": "0.1333",
        "asked": "5",
        "response_rate": "0.6",
    }
    nudges = list(csv.DictReader(io.StringIO(tables["nudge_effect"])))
    assert (nudges[-1]["partner_id"], nudges[-1]["level"], nudges[-1]["channel"]) == (
        "all",
        "all",
        "all",
    )
    training = list(csv.DictReader(io.StringIO(tables["training"])))
    assert training[0]["completion_share"] == ""


async def test_the_esf_csv_loads_into_the_funders_system_one_row_per_indicator_period_gender(
    cohort_pool: Pool,
) -> None:
    spring = await report_for(cohort_pool, "2026-03-01", "2026-06-30")
    for table in ("esf_at_entry", "esf_results"):
        rows = list(csv.DictReader(io.StringIO(report_csv(spring)[table])))
        assert list(rows[0])[:6] == [
            "period_from", "period_to", "partner_id", "gender", "code", "indicator"
        ]  # fmt: skip
        coded = [r for r in rows if r["partner_id"] == "all" and r["code"]]
        keys = [(r["period_from"], r["period_to"], r["code"], r["gender"]) for r in coded]
        assert len(keys) == len(set(keys))
        codes = sorted({r["code"] for r in coded})
        assert {(r["code"], r["gender"]) for r in coded} == {
            (code, gender) for code in codes for gender in ("all", "woman", "man", "non_binary")
        }
        assert {(r["period_from"], r["period_to"]) for r in rows} == {("2026-03-01", "2026-06-30")}
    entry_codes = {r.code for r in spring.esf_at_entry if r.code}
    result_codes = {r.code for r in spring.esf_results if r.code}
    assert entry_codes == {f"EECO{n:02d}" for n in range(1, 18)}
    assert result_codes == {f"EECR{n:02d}" for n in range(1, 7)}


async def test_the_report_command_writes_a_self_contained_page_json_and_csv_files(
    cohort_pool: Pool, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    written = await command.write_report(cohort_pool, out)
    assert sorted(p.name for p in written) == sorted(
        ["report.html", "report.json", *(f"{table}.csv" for table in TABLES)]
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)

    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4  # funnel, outcomes, time to offer, nudge effect
    assert all(base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    for title in ("Funnel", "How participants left", "Youth Guarantee", "Nudge effect", "ESF+"):
        assert title in page
    assert "orientaeuro" in page and "foreign_background_declined" in page and "EECR05" in page

    saved = ProgrammeReport.model_validate_json((out / "report.json").read_text())
    assert next(row.participants for row in saved.funnel if row.partner_id is None) == 15
    with (out / "esf_at_entry.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert {"partner_id": "all", "code": "EECO17", "participants": "0"}.items() <= [
        row for row in rows if row["partner_id"] == "all" and row["gender"] == "all"
    ][-1].items()


def test_python_m_starter_report_takes_the_directory_to_write_into(tmp_path: Path) -> None:
    root = argparse.ArgumentParser()
    command.add_parser(root.add_subparsers())
    args = root.parse_args(["report", "--out", str(tmp_path)])
    assert args.out == tmp_path
    assert args.run is command.run
    spring = root.parse_args(["report", "--out", ".", "--from", "2026-03-01", "--to", "2026-06-30"])
    assert (spring.period_from, spring.period_to) == (date(2026, 3, 1), date(2026, 6, 30))
    backwards = root.parse_args(
        ["report", "--out", ".", "--from", "2026-06-30", "--to", "2026-03-01"]
    )
    assert command.run(backwards) == 2


# -- the endpoint ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def report_api(cohort_pool: Pool) -> AsyncIterator[tuple[httpx.AsyncClient, Keys]]:
    """The API reading the cohort's database, with a key for every role."""
    settings = Settings(seconds_per_day=86400.0)
    app: FastAPI = create_app(settings)
    app.state.pool = cohort_pool
    app.state.keys = KeyCache(cohort_pool, settings.key_cache_seconds)
    keys = Keys(
        backend=(await create_key(cohort_pool, Role.BACKEND)).key,
        case_manager=(await create_key(cohort_pool, Role.CASE_MANAGER)).key,
        jes=(await create_key(cohort_pool, Role.PARTNER, "jes")).key,
        inbrussel=(await create_key(cohort_pool, Role.PARTNER, "inbrussel")).key,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as client:
        yield client, keys


async def test_backend_and_case_managers_read_the_report_as_json_partners_may_not(
    report_api: tuple[httpx.AsyncClient, Keys], cohort_pool: Pool
) -> None:
    api, keys = report_api
    for key in (keys.backend, keys.case_manager):
        answer = await api.get("/v1/reports/programme", headers=bearer(key))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"generated_at", "period_from", "period_to", *TABLES}
        async with cohort_pool.acquire() as con:
            direct = (await programme_report(con)).model_dump(mode="json")
        assert {t: body[t] for t in TABLES} == {t: direct[t] for t in TABLES}
        enrolled = [r for r in body["funnel"] if r["stage"] == "enrolled"]
        assert sum(r["participants"] for r in enrolled if r["partner_id"]) == 15
        assert [r["participants"] for r in enrolled if r["partner_id"] is None] == [15]
        assert {r["code"] for r in body["esf_results"]} >= {"EECR01", "EECR06"}
    for key in (keys.jes, keys.inbrussel):
        refused = await api.get("/v1/reports/programme", headers=bearer(key))
        assert refused.status_code == 403
        assert set(refused.json()) == {"error", "detail"}
    anonymous = await api.get("/v1/reports/programme")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"


async def test_the_report_as_csv_is_one_table_the_funnel_unless_another_is_named(
    report_api: tuple[httpx.AsyncClient, Keys],
) -> None:
    api, keys = report_api
    funnel = await api.get("/v1/reports/programme?format=csv", headers=bearer(keys.backend))
    assert funnel.status_code == 200
    assert funnel.headers["content-type"].startswith("text/csv")
    assert 'filename="programme-funnel.csv"' in funnel.headers["content-disposition"]
    lines = funnel.text.splitlines()
    assert (
        lines[0] == "partner_id,stage,participants,enrolled,share_of_enrolled,asked,response_rate"
    )
    assert "all,enrolled,15,15,1.0,," in lines
    for table in TABLES:
        answer = await api.get(
            f"/v1/reports/programme?format=csv&table={table}", headers=bearer(keys.case_manager)
        )
        assert answer.status_code == 200
        assert answer.text.splitlines()[0] == ",".join(columns(table))
    for query in ("format=xml", "format=csv&table=salaries"):
        bad = await api.get(f"/v1/reports/programme?{query}", headers=bearer(keys.backend))
        assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"


async def test_the_report_for_a_period_takes_from_and_to_and_refuses_a_period_backwards(
    report_api: tuple[httpx.AsyncClient, Keys],
) -> None:
    api, keys = report_api
    spring = await api.get(
        "/v1/reports/programme?from=2026-03-01&to=2026-06-30", headers=bearer(keys.backend)
    )
    assert spring.status_code == 200, spring.text
    body = spring.json()
    assert (body["period_from"], body["period_to"]) == ("2026-03-01", "2026-06-30")
    enrolled = [r for r in body["funnel"] if r["stage"] == "enrolled" and r["partner_id"] is None]
    assert [r["participants"] for r in enrolled] == [3]
    for query in ("from=2026-06-30&to=2026-03-01", "from=2026-02-30", "to=yesterday"):
        bad = await api.get(f"/v1/reports/programme?{query}", headers=bearer(keys.backend))
        assert bad.status_code == 422 and bad.json()["error"] == "invalid_request", query
    csv_answer = await api.get(
        "/v1/reports/programme?format=csv&table=esf_results&from=2026-03-01",
        headers=bearer(keys.case_manager),
    )
    assert csv_answer.text.splitlines()[0].startswith(
        "period_from,period_to,partner_id,gender,code,indicator,"
    )
    assert csv_answer.text.splitlines()[1].startswith("2026-03-01,,")


def test_the_documented_example_of_the_report_is_a_valid_report() -> None:
    example = ProgrammeReport.model_json_schema()["examples"][0]
    assert set(ProgrammeReport.model_validate(example).model_dump()) == {
        "generated_at",
        "period_from",
        "period_to",
        *TABLES,
    }


# -- retention before erasure ---------------------------------------------------------------------


async def test_an_erasure_during_the_retention_period_and_after_it_changes_no_figure(
    cohort_pool: Pool,
) -> None:
    """J2 asks to be erased while the ESF+ records must be kept: restricted, still counted. The
    retention ends: J2 is erased for good (crypto-shredded), still counted."""
    async with cohort_pool.acquire() as con:
        enrolment = someone("J2")
        await store_person(con, "J2", enrolment.person, enrolment.status)
        before = await programme_report(con, now=NOW)
        assert await restrict_person(con, "J2", "erasure requested within the retention period")
        during = await programme_report(con, now=NOW)
        assert await erase_restricted(cohort_pool, date(2026, 6, 29), date(2026, 6, 29)) == []
        assert await erase_restricted(cohort_pool, date(2026, 6, 29), date(2026, 6, 30)) == ["J2"]
        after = await programme_report(con, now=NOW)
        shredded = await con.fetchval(
            "SELECT erased_at IS NOT NULL FROM person_keys WHERE participant_id = 'J2'"
        )
    assert shredded
    figures = before.model_dump(exclude={"generated_at"})
    assert during.model_dump(exclude={"generated_at"}) == figures
    assert after.model_dump(exclude={"generated_at"}) == figures

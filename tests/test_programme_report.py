"""The programme report, checked figure by figure on a small cohort counted by hand.

Twelve youths with three partners live in a database of their own, so that no other test's
participants change the counts. The report is made "on 30 June 2026 at noon".

- J1 (jes, follow-up): coached, welder course completed, offer after 60 days, employed on
  leaving and at 6 months.
- J2 (jes, closed employed): coached, a forklift qualification recorded with
  `training_completed` (not in the check-in), offer after 153 days, employed on leaving, job
  searching at 6 months.
- J3 (jes, closed lost_contact): coached, four nudges unanswered (the second SMS never
  delivered), bike seat offer expired.
- J4 (jes, closed ineligible): too old, so not a participant.
- J5 (jes): enrolled yesterday, not yet in the read model, no entry profile.
- I1 (inbrussel, coaching, paused): coached, offer after 30 days, dropped the welder course,
  offered a bike seat.
- I2 (inbrussel, training): a coaching session, seated on the bike course.
- I3 (inbrussel, closed traineeship): registered with the PES two months before enrolment;
  InBrussel's own coaching steps, offer after 91 days (155 after registering), in education and
  job searching on leaving, the 6-month check unanswered.
- I4 (inbrussel, closed withdrawn): withdrew during assessment, job searching on leaving.
- O1 (orientaeuro, enrolled with jes; placement, dormant): coached, nudged by WhatsApp, phone.
- O2 (orientaeuro, follow-up): no coaching recorded, offer after 63 days, self-employed on
  leaving.
- O3 (orientaeuro, coaching): coached, waiting for a bike seat, answered a recent nudge.
"""

import argparse
import base64
import csv
import io
import itertools
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from api.app import create_app
from api.auth import KeyCache
from infra.database import Connection, Pool, open_pool
from infra.settings import Settings
from readmodel import migrate
from readmodel.api_keys import create_key
from readmodel.reports import programme_report
from reporting import command
from reporting.page import report_html
from reporting.tables import columns, report_csv
from starter.cohort import ENTRY_PROFILE, enrolment_of
from starter.demo.cohort import demo_cohort
from tests.api_fixtures import Keys, bearer, enrolment_body
from trajectory.actors import Role
from trajectory.eligibility import age_on, enrolment_day
from trajectory.programme_report import TABLES, ProgrammeReport
from trajectory.targets import ProgrammeTarget, Targets, load_targets

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
PARTNERS = ("inbrussel", "jes", "orientaeuro", None)
"""The order of the report's rows: partners by id, then every partner together."""


def at(day: str) -> datetime:
    """10:00 UTC on `day`."""
    return datetime.fromisoformat(f"{day}T10:00:00+00:00")


# -- the cohort -----------------------------------------------------------------------------------


class Cohort:
    """Writes the cohort's rows straight into the read-model tables."""

    def __init__(self, con: Connection) -> None:
        self.con = con

    async def enrolled(
        self,
        key: str,
        partner_id: str,
        day: str,
        profile: tuple[Any, ...] | None = None,
        registered: str | None = None,
    ) -> None:
        await self.con.execute(
            "INSERT INTO participants (participant_id, external_ref, partner_id, postcode,"
            " language, enrolled_at, pes_registered_on) VALUES ($1, $2, $3, '1080', 'fr', $4, $5)",
            key,
            f"PES-{key}",
            partner_id,
            at(day),
            date.fromisoformat(registered) if registered else None,
        )
        if profile is not None:
            await self.con.execute(
                "INSERT INTO entry_profiles (participant_id, age_at_entry, labour_status,"
                " education_level, gender, disability, third_country_national,"
                " foreign_background, minority, homeless)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                key,
                *profile,
            )

    async def trajectory(
        self,
        key: str,
        partner_id: str,
        path: tuple[str, ...],
        status: str = "active",
        *,
        outcome: str | None = None,
        closed: str | None = None,
        first_offer: str | None = None,
        left: str | None = None,
    ) -> None:
        """The trajectory went from intake through `path`; its phase is the last one."""
        enrolled_at = await self.con.fetchval(
            "SELECT enrolled_at FROM participants WHERE participant_id = $1", key
        )
        await self.con.execute(
            "INSERT INTO trajectories (participant_id, workflow_id, partner_id, phase, status,"
            " nudge_level, milestone_count, last_contact_at, outcome, enrolled_at, closed_at,"
            " revision, first_offer_at, left_at)"
            " VALUES ($1, $2, $3, $4, $5, 0, 0, $6, $7, $6, $8, 1, $9, $10)",
            key,
            f"trajectory-{key}",
            partner_id,
            path[-1] if path else "intake",
            status,
            enrolled_at,
            outcome,
            at(closed) if closed else None,
            at(first_offer) if first_offer else None,
            at(left) if left else None,
        )
        phases = ("intake", *path)
        await self.con.executemany(
            "INSERT INTO phase_transitions"
            " (participant_id, seq, from_phase, to_phase, status, code, at)"
            " VALUES ($1, $2, $3, $4, $5, 'fixture', $6)",
            [
                (key, seq, before, after, "closed" if after == "closed" else "active", enrolled_at)
                for seq, (before, after) in enumerate(itertools.pairwise(phases), 1)
            ],
        )

    async def milestones(
        self, key: str, phase: str, *types: str, payload: dict[str, Any] | None = None
    ) -> None:
        """Milestones recorded while the trajectory was in `phase`."""
        await self.con.executemany(
            "INSERT INTO milestones (participant_id, milestone_id, type, occurred_at,"
            " recorded_by, phase, payload, fingerprint)"
            " VALUES ($1, $2, $3, $4, 'partner', $5, $6, '')",
            [
                (key, f"{key}-{phase}-{n}", kind, NOW - timedelta(days=400), phase, payload or {})
                for n, kind in enumerate(types)
            ],
        )

    async def check(
        self, key: str, name: str, *, unanswered: bool = False, **answers: bool
    ) -> None:
        await self.con.execute(
            "INSERT INTO follow_up_checks (participant_id, name, due_at, answered_at, unanswered,"
            " in_employment, in_education_or_training, job_searching, qualification_gained)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            key,
            name,
            NOW - timedelta(days=30),
            None if unanswered else NOW - timedelta(days=31),
            unanswered,
            *(
                None if unanswered else answers.get(field, False)
                for field in (
                    "in_employment",
                    "in_education_or_training",
                    "job_searching",
                    "qualification_gained",
                )
            ),
        )

    async def nudge(
        self,
        key: str,
        seq: int,
        partner_id: str,
        level: int,
        channel: str,
        sent: str,
        contact: str | None = None,
        delivered: bool = True,
    ) -> None:
        action = {"phone": "coach_call", "street_worker": "outreach"}.get(channel, "message")
        await self.con.execute(
            "INSERT INTO nudges (participant_id, seq, level, action, channel, language, phase,"
            " partner_id, silent_since, sent_at, contact_at)"
            " VALUES ($1, $2, $3, $4, $5, 'fr', 'coaching', $6, $7, $7, $8)",
            key,
            seq,
            level,
            action,
            channel,
            partner_id,
            at(sent),
            at(contact) if contact else None,
        )
        if action == "message":  # its message, delivered or failed for good
            await self.con.execute(
                "INSERT INTO outbox (participant_id, nudge_seq, message_id, partner_id, channel,"
                " language, subject, body, sent_at, failed_at, failure)"
                " VALUES ($1, $2, $3, $4, $5, 'fr', 'Des nouvelles', 'Bonjour', $6, $7, $8)",
                key,
                seq,
                f"msg-{key}-{seq}",
                partner_id,
                channel,
                at(sent) if delivered else None,
                None if delivered else at(sent),
                None if delivered else "refused_by_provider",
            )

    async def course(self, course_id: str, title: str, provider: str) -> None:
        await self.con.execute(
            "INSERT INTO courses (course_id, catalogue_version, provider, title, domain, sector,"
            " occupation, bottleneck_occupation, language, min_language_level,"
            " min_digital_level, seats, starts_on, ends_on, location)"
            " VALUES ($1, 1, $2, $3, 'technics', 'industry', $3, true, 'fr', 'A2', 2, 12,"
            " '2025-09-01', '2026-12-18', 'Anderlecht')",
            course_id,
            provider,
            title,
        )

    async def seat(
        self, course_id: str, key: str, status: str, qualification: str | None = None
    ) -> None:
        await self.con.execute(
            "INSERT INTO seat_requests (course_id, participant_id, status, requested_at,"
            " qualification) VALUES ($1, $2, $3, $4, $5)",
            course_id,
            key,
            status,
            NOW - timedelta(days=200),
            qualification,
        )


COACHING = ("assessment", "coaching")
FOLLOWED_UP = (*COACHING, "placement", "follow_up")


async def write_cohort(con: Connection) -> None:
    c = Cohort(con)
    # fmt: off
    # age, labour status, education, gender, disability, third-country national,
    # foreign background, minority, homeless
    await c.enrolled("J1", "jes", "2025-03-03",
                     (24, "unemployed", "isced_0_2", "man", "no", "no", "yes", "no", "no"))
    await c.enrolled("J2", "jes", "2025-04-01",
                     (29, "long_term_unemployed", "isced_3_4", "woman",
                      "yes", "declined", "yes", "declined", "no"))
    await c.enrolled("J3", "jes", "2025-09-01",
                     (30, "inactive", "isced_0_2", "non_binary",
                      "declined", "yes", "declined", "yes", "yes"))
    await c.enrolled("J4", "jes", "2026-01-10",
                     (32, "employed", "isced_5_8", "woman", "no", "no", "no", "no", "no"))
    await c.enrolled("J5", "jes", "2026-06-29")
    await c.enrolled("I1", "inbrussel", "2025-05-05",
                     (19, "unemployed", "isced_3_4", "woman", "no", "no", "no", "no", "no"))
    await c.enrolled("I2", "inbrussel", "2025-06-02",
                     (22, "inactive", "isced_0_2", "man", "no", "yes", "yes", "no", "declined"))
    await c.enrolled("I3", "inbrussel", "2025-02-03",
                     (30, "long_term_unemployed", "isced_5_8", "woman",
                      "declined", "no", "yes", "yes", "no"), registered="2024-12-01")
    await c.enrolled("I4", "inbrussel", "2026-03-02",
                     (18, "employed", "isced_0_2", "man", "no", "no", "no", "declined", "no"))
    await c.enrolled("O1", "jes", "2025-10-01",
                     (27, "unemployed", "isced_3_4", "man", "yes", "yes", "yes", "no", "no"))
    await c.enrolled("O2", "orientaeuro", "2025-11-03",
                     (25, "unemployed", "isced_5_8", "woman",
                      "no", "declined", "declined", "no", "no"))
    await c.enrolled("O3", "orientaeuro", "2026-05-04",
                     (21, "inactive", "isced_0_2", "woman", "no", "no", "yes", "no", "yes"))

    await c.trajectory("J1", "jes", (*COACHING, "training", "placement", "follow_up"),
                       first_offer="2025-05-02", left="2025-06-01")
    await c.trajectory("J2", "jes", (*FOLLOWED_UP, "closed"), "closed", outcome="employed",
                       closed="2026-04-01", first_offer="2025-09-01", left="2025-10-01")
    await c.trajectory("J3", "jes", (*COACHING, "closed"), "closed", outcome="lost_contact",
                       closed="2026-02-01")
    await c.trajectory("J4", "jes", ("closed",), "closed", outcome="ineligible",
                       closed="2026-01-10")
    await c.trajectory("I1", "inbrussel", (*COACHING, "training", "coaching"), "paused",
                       first_offer="2025-06-04")
    await c.trajectory("I2", "inbrussel", (*COACHING, "training"))
    await c.trajectory("I3", "inbrussel", (*FOLLOWED_UP, "closed"), "closed",
                       outcome="traineeship", closed="2026-02-01", first_offer="2025-05-05",
                       left="2025-07-01")
    await c.trajectory("I4", "inbrussel", ("assessment", "closed"), "closed",
                       outcome="withdrawn", closed="2026-04-01")
    await c.trajectory("O1", "orientaeuro", (*COACHING, "placement"), "dormant")
    await c.trajectory("O2", "orientaeuro", FOLLOWED_UP, first_offer="2026-01-05",
                       left="2026-02-04")
    await c.trajectory("O3", "orientaeuro", COACHING)

    await c.milestones("J1", "coaching", "coach_assigned", "coaching_session_held",
                       "training_enrolled")
    await c.milestones("J1", "training", "training_completed")
    await c.milestones("J1", "placement", "placement_started")
    await c.milestones("J2", "coaching", "coach_assigned", "placement_started")
    await c.milestones("J2", "training", "training_completed",
                       payload={"qualification": "forklift licence"})
    await c.milestones("J3", "coaching", "coach_assigned", "participant_contact")
    await c.milestones("I1", "coaching", "coach_assigned", "job_offer_received",
                       "training_enrolled")
    await c.milestones("I1", "training", "training_dropped")
    await c.milestones("I2", "coaching", "coaching_session_held", "training_enrolled")
    # InBrussel's own coaching steps, without a coach milestone
    await c.milestones("I3", "coaching", "obstacles_identified", "job_day_attended",
                       "placement_started")
    await c.milestones("I4", "assessment", "language_assessed")
    await c.milestones("O1", "coaching", "coach_assigned", "job_day_attended")
    # a plain contact and a placement are not coaching
    await c.milestones("O2", "assessment", "digital_assessed")
    await c.milestones("O2", "coaching", "participant_contact", "placement_started")
    await c.milestones("O3", "coaching", "coach_assigned")

    await c.check("J1", "on_leaving", in_employment=True, qualification_gained=True)
    await c.check("J1", "6_months", in_employment=True)
    await c.check("J2", "on_leaving", in_employment=True)
    await c.check("J2", "6_months", job_searching=True)
    await c.check("I3", "on_leaving", in_education_or_training=True, job_searching=True)
    await c.check("I3", "6_months", unanswered=True)
    await c.check("O2", "on_leaving", in_employment=True)
    await c.check("I4", "on_leaving", job_searching=True)

    await c.nudge("J1", 1, "jes", 1, "sms", "2025-04-01", contact="2025-04-03")
    await c.nudge("J3", 1, "jes", 1, "sms", "2025-11-03")
    await c.nudge("J3", 2, "jes", 2, "sms", "2025-11-10", delivered=False)
    await c.nudge("J3", 3, "jes", 3, "phone", "2025-11-17")
    await c.nudge("J3", 4, "jes", 4, "street_worker", "2025-11-24")
    await c.nudge("I1", 1, "inbrussel", 1, "email", "2025-07-01", contact="2025-07-11")
    await c.nudge("I1", 2, "inbrussel", 2, "email", "2025-07-08", contact="2025-07-11")
    await c.nudge("O1", 1, "orientaeuro", 1, "whatsapp", "2026-03-02", contact="2026-03-03")
    await c.nudge("O1", 2, "orientaeuro", 1, "whatsapp", "2026-05-04")
    await c.nudge("O1", 3, "orientaeuro", 2, "whatsapp", "2026-05-11")
    await c.nudge("O1", 4, "orientaeuro", 3, "phone", "2026-06-26")
    await c.nudge("O3", 1, "orientaeuro", 1, "whatsapp", "2026-06-25", contact="2026-06-27")

    await c.course("weld-2025", "Welder", "Technology training centre")
    await c.course("bike-2026", "Bike courier", "Urban Riders")
    await c.seat("weld-2025", "J1", "completed", qualification="welder")
    await c.seat("weld-2025", "I1", "dropped")
    await c.seat("bike-2026", "J3", "expired")
    await c.seat("bike-2026", "I1", "offered")
    await c.seat("bike-2026", "I2", "seated")
    await c.seat("bike-2026", "O3", "waiting")
    # fmt: on


@pytest.fixture(scope="module")
async def cohort_database(database_url: str) -> AsyncIterator[str]:
    """A database of its own on the session's server, holding only the cohort."""
    name = f"report_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="module")
async def cohort_pool(cohort_database: str) -> AsyncIterator[Pool]:
    pool = await open_pool(Settings(database_url=cohort_database))
    try:
        await migrate(pool)
        async with pool.acquire() as con, con.transaction():
            await write_cohort(con)
        yield pool
    finally:
        await pool.close()


@pytest.fixture(scope="module")
async def report(cohort_pool: Pool) -> ProgrammeReport:
    async with cohort_pool.acquire() as con:
        return await programme_report(con, now=NOW)


def by_partner(*rows: tuple[Any, ...]) -> dict[str | None, tuple[Any, ...]]:
    """Expected figures given in `PARTNERS` order."""
    return dict(zip(PARTNERS, rows, strict=True))


# -- the funnel, where they stand, outcomes -------------------------------------------------------


def test_the_funnel_counts_each_stage_per_partner_and_in_total(report: ProgrammeReport) -> None:
    # enrolled, assessed, coached, trained, placed, employed at 6 months
    expected = by_partner(
        (4, 3, 3, 0, 1, 0),
        (5, 3, 3, 2, 2, 1),
        (3, 3, 2, 0, 1, 0),
        (12, 9, 8, 2, 4, 1),
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
        (1.0, 0.75, 0.75, 0.0, 0.25, 0.0),
        (1.0, 0.6, 0.6, 0.4, 0.4, 0.2),
        (1.0, 1.0, 0.6667, 0.0, 0.3333, 0.0),
        (1.0, 0.75, 0.6667, 0.1667, 0.3333, 0.0833),
    )


def test_a_reassigned_participant_counts_with_the_partner_they_are_with_now(
    report: ProgrammeReport,
) -> None:
    enrolled = {
        row.partner_id: row.participants for row in report.funnel if row.stage == "enrolled"
    }
    assert enrolled["orientaeuro"] == 3  # O1 was enrolled with JES, now with OrientaEuro
    assert enrolled["jes"] == 5


def test_current_counts_per_phase_and_status_include_a_youth_not_yet_in_the_read_model(
    report: ProgrammeReport,
) -> None:
    assert [(r.partner_id, r.phase, r.status, r.participants) for r in report.phases] == [
        ("inbrussel", "coaching", "paused", 1),
        ("inbrussel", "training", "active", 1),
        ("inbrussel", "closed", "closed", 2),
        ("jes", "intake", "active", 1),
        ("jes", "follow_up", "active", 1),
        ("jes", "closed", "closed", 3),
        ("orientaeuro", "coaching", "active", 1),
        ("orientaeuro", "placement", "dormant", 1),
        ("orientaeuro", "follow_up", "active", 1),
        (None, "intake", "active", 1),
        (None, "coaching", "active", 1),
        (None, "coaching", "paused", 1),
        (None, "training", "active", 1),
        (None, "placement", "dormant", 1),
        (None, "follow_up", "active", 2),
        (None, "closed", "closed", 5),
    ]


def test_outcomes_are_shares_of_the_partners_closed_trajectories(report: ProgrammeReport) -> None:
    assert [
        (r.partner_id, r.outcome, r.participants, r.closed, r.share_of_closed)
        for r in report.outcomes
    ] == [
        ("inbrussel", "traineeship", 1, 2, 0.5),
        ("inbrussel", "withdrawn", 1, 2, 0.5),
        ("jes", "employed", 1, 3, 0.3333),
        ("jes", "ineligible", 1, 3, 0.3333),
        ("jes", "lost_contact", 1, 3, 0.3333),
        (None, "employed", 1, 5, 0.2),
        (None, "ineligible", 1, 5, 0.2),
        (None, "lost_contact", 1, 5, 0.2),
        (None, "traineeship", 1, 5, 0.2),
        (None, "withdrawn", 1, 5, 0.2),
    ]


# -- Youth Guarantee and training -----------------------------------------------------------------


def test_time_to_a_first_offer_and_the_share_within_four_months(report: ProgrammeReport) -> None:
    # participants (ineligible J4 left out), offered, median days, within 4 months,
    # share of those offered, share of participants
    assert {
        r.partner_id: (
            r.participants,
            r.offered,
            r.median_days_to_offer,
            r.offered_within_4_months,
            r.share_of_offered,
            r.share_of_participants,
        )
        for r in report.time_to_offer
    } == by_partner(
        # I1 30 days, I3 155.46 days from registering (midnight in Brussels; too late)
        (4, 2, 92.73, 1, 0.5, 0.25),
        (4, 2, 106.5, 1, 0.5, 0.25),  # J1 60 days, J2 153 days (too late)
        (3, 1, 63.0, 1, 1.0, 0.3333),  # O2 63 days
        (11, 5, 63.0, 3, 0.6, 0.2727),
    )
    assert [r.partner_id for r in report.time_to_offer] == list(PARTNERS)


async def test_in_the_demo_where_a_day_lasts_less_the_report_counts_programme_days(
    cohort_pool: Pool,
) -> None:
    async with cohort_pool.acquire() as con:
        halved = await programme_report(con, now=NOW, day_seconds=43200)
    total = halved.time_to_offer[-1]
    # 60, 153, 30, 155, 63 real days are twice as many programme days; within 122 of them:
    # J1 (120) and I1 (60).
    assert (total.median_days_to_offer, total.offered_within_4_months) == (126.0, 2)
    assert (total.share_of_offered, total.share_of_participants) == (0.4, 0.1818)


def test_training_completion_per_course_counts_every_seat_request(
    report: ProgrammeReport,
) -> None:
    assert [r.model_dump() for r in report.training] == [
        {
            "course_id": "bike-2026",
            "title": "Bike courier",
            "provider": "Urban Riders",
            "seats": 12,
            "requests": 4,
            "waiting": 1,
            "offered": 1,
            "seated": 1,
            "completed": 0,
            "dropped": 0,
            "expired": 1,
            "qualifications": 0,
            "completion_share": None,
        },
        {
            "course_id": "weld-2025",
            "title": "Welder",
            "provider": "Technology training centre",
            "seats": 12,
            "requests": 2,
            "waiting": 0,
            "offered": 0,
            "seated": 0,
            "completed": 1,
            "dropped": 1,
            "expired": 0,
            "qualifications": 1,
            "completion_share": 0.5,
        },
    ]


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

AT_ENTRY: dict[str, tuple[str, tuple[tuple[int, int, float | None], ...]]] = {
    # indicator: (base, (count, denominator, share) for inbrussel, jes, orientaeuro, all)
    "entry_profiles": ("participants", ((4, 4, 1.0), (3, 4, 0.75), (3, 3, 1.0), (10, 11, 0.9091))),
    "unemployed_incl_long_term": (
        "entry_profiles", ((2, 4, 0.5), (2, 3, 0.6667), (2, 3, 0.6667), (6, 10, 0.6))
    ),
    "long_term_unemployed": (
        "entry_profiles", ((1, 4, 0.25), (1, 3, 0.3333), (0, 3, 0.0), (2, 10, 0.2))
    ),
    "inactive": ("entry_profiles", ((1, 4, 0.25), (1, 3, 0.3333), (1, 3, 0.3333), (3, 10, 0.3))),
    "employed": ("entry_profiles", ((1, 4, 0.25), (0, 3, 0.0), (0, 3, 0.0), (1, 10, 0.1))),
    "below_18": ("entry_profiles", ((0, 4, 0.0), (0, 3, 0.0), (0, 3, 0.0), (0, 10, 0.0))),
    "aged_18_29": ("entry_profiles", ((3, 4, 0.75), (2, 3, 0.6667), (3, 3, 1.0), (8, 10, 0.8))),
    "aged_55_and_over": ("entry_profiles", ((0, 4, 0.0), (0, 3, 0.0), (0, 3, 0.0), (0, 10, 0.0))),
    "living_in_rural_areas": (
        "entry_profiles", ((0, 4, 0.0), (0, 3, 0.0), (0, 3, 0.0), (0, 10, 0.0))
    ),
    "isced_0_2": ("entry_profiles", ((2, 4, 0.5), (2, 3, 0.6667), (1, 3, 0.3333), (5, 10, 0.5))),
    "isced_3_4": (
        "entry_profiles", ((1, 4, 0.25), (1, 3, 0.3333), (1, 3, 0.3333), (3, 10, 0.3))
    ),
    "isced_5_8": ("entry_profiles", ((1, 4, 0.25), (0, 3, 0.0), (1, 3, 0.3333), (2, 10, 0.2))),
    "women": ("entry_profiles", ((2, 4, 0.5), (1, 3, 0.3333), (2, 3, 0.6667), (5, 10, 0.5))),
    "men": ("entry_profiles", ((2, 4, 0.5), (1, 3, 0.3333), (1, 3, 0.3333), (4, 10, 0.4))),
    "non_binary": ("entry_profiles", ((0, 4, 0.0), (1, 3, 0.3333), (0, 3, 0.0), (1, 10, 0.1))),
    "disability": (
        "disability_answered", ((0, 3, 0.0), (1, 2, 0.5), (1, 3, 0.3333), (2, 8, 0.25))
    ),
    "disability_declined": (
        "entry_profiles", ((1, 4, 0.25), (1, 3, 0.3333), (0, 3, 0.0), (2, 10, 0.2))
    ),
    "third_country_national": (
        "third_country_national_answered",
        ((1, 4, 0.25), (1, 2, 0.5), (1, 2, 0.5), (3, 8, 0.375)),
    ),
    "third_country_national_declined": (
        "entry_profiles", ((0, 4, 0.0), (1, 3, 0.3333), (1, 3, 0.3333), (2, 10, 0.2))
    ),
    "foreign_background": (
        "foreign_background_answered", ((2, 4, 0.5), (2, 2, 1.0), (2, 2, 1.0), (6, 8, 0.75))
    ),
    "foreign_background_declined": (
        "entry_profiles", ((0, 4, 0.0), (1, 3, 0.3333), (1, 3, 0.3333), (2, 10, 0.2))
    ),
    "minority": ("minority_answered", ((1, 3, 0.3333), (1, 2, 0.5), (0, 3, 0.0), (2, 8, 0.25))),
    "minority_declined": (
        "entry_profiles", ((1, 4, 0.25), (1, 3, 0.3333), (0, 3, 0.0), (2, 10, 0.2))
    ),
    "homeless": (
        "homeless_answered", ((0, 3, 0.0), (1, 3, 0.3333), (1, 3, 0.3333), (2, 9, 0.2222))
    ),
    "homeless_declined": ("entry_profiles", ((1, 4, 0.25), (0, 3, 0.0), (0, 3, 0.0), (1, 10, 0.1))),
}  # fmt: skip

RESULTS: dict[str, tuple[str, tuple[tuple[int, int, float | None], ...]]] = {
    "leavers": ("participants", ((2, 4, 0.5), (3, 4, 0.75), (1, 3, 0.3333), (6, 11, 0.5455))),
    "on_leaving_answered": (  # I4 withdrew and answered too
        "leavers", ((2, 2, 1.0), (2, 3, 0.6667), (1, 1, 1.0), (5, 6, 0.8333))
    ),
    "job_searching_on_leaving": (
        "leavers", ((2, 2, 1.0), (0, 3, 0.0), (0, 1, 0.0), (2, 6, 0.3333))
    ),
    "in_education_or_training_on_leaving": (
        "leavers", ((1, 2, 0.5), (0, 3, 0.0), (0, 1, 0.0), (1, 6, 0.1667))
    ),
    "qualification_on_leaving": (  # J2's recorded with training_completed
        "leavers", ((0, 2, 0.0), (2, 3, 0.6667), (0, 1, 0.0), (2, 6, 0.3333))
    ),
    "in_employment_on_leaving": (
        "leavers", ((0, 2, 0.0), (2, 3, 0.6667), (1, 1, 1.0), (3, 6, 0.5))
    ),
    "left_6_months_ago": ("leavers", ((1, 2, 0.5), (2, 3, 0.6667), (0, 1, 0.0), (3, 6, 0.5))),
    "answered_6_months_after_leaving": (
        "left_6_months_ago", ((0, 1, 0.0), (2, 2, 1.0), (0, 0, None), (2, 3, 0.6667))
    ),
    "in_employment_6_months_after_leaving": (
        "left_6_months_ago", ((0, 1, 0.0), (1, 2, 0.5), (0, 0, None), (1, 3, 0.3333))
    ),
    "improved_situation_6_months_after_leaving": (  # J1, unemployed at entry
        "left_6_months_ago", ((0, 1, 0.0), (1, 2, 0.5), (0, 0, None), (1, 3, 0.3333))
    ),
}  # fmt: skip


def _indicator_table(
    expected: dict[str, tuple[str, tuple[tuple[int, int, float | None], ...]]],
) -> list[tuple[Any, ...]]:
    return [
        (partner, name, count, denominator, base, share)
        for index, partner in enumerate(PARTNERS)
        for name, (base, figures) in expected.items()
        for count, denominator, share in [figures[index]]
    ]


def test_every_esf_indicator_at_entry_with_declined_answers_counted_apart(
    report: ProgrammeReport,
) -> None:
    assert [
        (r.partner_id, r.indicator, r.participants, r.denominator, r.base, r.share)
        for r in report.esf_at_entry
        if r.gender is None
    ] == _indicator_table(AT_ENTRY)


def test_esf_results_on_leaving_and_six_months_after_count_every_leaver(
    report: ProgrammeReport,
) -> None:
    assert [
        (r.partner_id, r.indicator, r.participants, r.denominator, r.base, r.share)
        for r in report.esf_results
        if r.gender is None
    ] == _indicator_table(RESULTS)


def test_the_gender_breakdown_sums_to_the_totals(report: ProgrammeReport) -> None:
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
        assert sums == {key: (r.participants, r.denominator) for key, r in totals.items()}
    genders = [r.gender for r in report.esf_results if r.indicator == "leavers"]
    assert genders == [None, "woman", "man", "non_binary", "not_recorded"] * len(PARTNERS)


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

    # participants: women J2 I1 I3 O2 O3, men J1 I2 I4 O1, non-binary J3, not recorded J5
    assert figure(report.esf_results, None, "woman", "leavers") == (3, 5, 0.6)  # J2 I3 O2
    assert figure(report.esf_results, None, "man", "leavers") == (2, 4, 0.5)  # J1 I4
    assert figure(report.esf_results, None, "non_binary", "leavers") == (1, 1, 1.0)  # J3
    assert figure(report.esf_results, None, "not_recorded", "leavers") == (0, 1, 0.0)
    assert figure(report.esf_results, None, "woman", "in_employment_on_leaving") == (2, 3, 0.6667)
    assert figure(report.esf_results, None, "man", "job_searching_on_leaving") == (1, 2, 0.5)
    improved = "improved_situation_6_months_after_leaving"
    assert figure(report.esf_results, "jes", "man", improved) == (1, 1, 1.0)
    assert figure(report.esf_at_entry, None, "woman", "unemployed_incl_long_term") == (4, 5, 0.8)
    assert figure(report.esf_at_entry, None, "not_recorded", "entry_profiles") == (0, 1, 0.0)
    assert figure(report.esf_at_entry, "orientaeuro", "non_binary", "below_18") == (0, 0, None)
    assert figure(report.esf_at_entry, "inbrussel", "non_binary", "entry_profiles") == (0, 0, None)


async def test_a_period_limits_entries_leavers_and_closures_to_its_days(
    cohort_pool: Pool,
) -> None:
    async with cohort_pool.acquire() as con:
        spring = await programme_report(
            con, now=NOW, period_from=date(2026, 3, 1), period_to=date(2026, 6, 30)
        )
    assert (spring.period_from, spring.period_to) == (date(2026, 3, 1), date(2026, 6, 30))
    # entered: I4 (2 March), O3 (4 May), J5 (29 June); closed: J2 and I4 (1 April); left: I4
    enrolled = {r.partner_id: r.participants for r in spring.funnel if r.stage == "enrolled"}
    assert enrolled == dict(zip(PARTNERS, (1, 1, 1, 3), strict=True))
    assert [(r.partner_id, r.outcome, r.participants) for r in spring.outcomes] == [
        ("inbrussel", "withdrawn", 1),
        ("jes", "employed", 1),
        (None, "employed", 1),
        (None, "withdrawn", 1),
    ]
    totals = {
        r.indicator: (r.participants, r.denominator)
        for r in spring.esf_results
        if r.partner_id is None and r.gender is None
    }
    assert totals["leavers"] == (1, 3)
    assert totals["on_leaving_answered"] == (1, 1)
    assert totals["job_searching_on_leaving"] == (1, 1)
    assert totals["left_6_months_ago"] == (0, 1)
    entry = [
        (r.participants, r.denominator)
        for r in spring.esf_at_entry
        if (r.partner_id, r.gender, r.indicator) == (None, None, "entry_profiles")
    ]
    assert entry == [(2, 3)]  # J5 has no entry profile
    assert [(r.partner_id, r.nudges) for r in spring.nudge_effect if r.level is None][-1] == (
        None, 5
    )  # fmt: skip


async def test_progress_against_the_targets_counts_participants_and_the_pace_due(
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
    # 545 of the programme's 1460 days are over on 30 June 2026
    assert [
        (r.partner_id, r.target, r.participants, r.share_of_target, r.expected_by_now)
        for r in report.targets
    ] == [
        ("inbrussel", 1000, 4, 0.004, 373),
        ("jes", 1000, 4, 0.004, 373),
        ("orientaeuro", 1000, 3, 0.003, 373),
        (None, 3000, 11, 0.0037, 1120),
    ]


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
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        pool = await open_pool(Settings(database_url=url))
        try:
            await migrate(pool)
            async with pool.acquire() as con:
                c = Cohort(con)
                # R1 enrols with JES, gets an offer there, is handed to InBrussel and leaves
                # employed from InBrussel.
                await c.enrolled("R1", "jes", "2025-01-06",
                                 (24, "unemployed", "isced_0_2", "woman",
                                  "no", "no", "no", "no", "no"))  # fmt: skip
                await con.executemany(
                    "INSERT INTO partner_stints (participant_id, partner_id, since)"
                    " VALUES ('R1', $1, $2)",
                    [("jes", at("2025-01-06")), ("inbrussel", at("2025-03-03"))],
                )
                await c.trajectory("R1", "inbrussel", FOLLOWED_UP, first_offer="2025-02-10",
                                   left="2025-06-02")  # fmt: skip
                await c.check("R1", "on_leaving", in_employment=True)
                held = await programme_report(con, now=NOW)
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()

    def partners(rows: list[Any], **match: Any) -> list[str | None]:
        return [
            r.partner_id
            for r in rows
            if all(getattr(r, k) == v for k, v in match.items()) and r.participants
        ]

    assert partners(held.esf_at_entry, indicator="entry_profiles", gender=None) == ["jes", None]
    assert partners(held.time_to_offer, offered=1) == ["jes", None]
    assert partners(held.esf_results, indicator="in_employment_on_leaving", gender=None) == [
        "inbrussel",
        None,
    ]
    assert [(r.partner_id, r.participants) for r in held.targets if r.participants] == [
        ("jes", 1),
        (None, 1),
    ]


async def test_an_empty_programme_reports_zeros_and_no_shares(database_url: str) -> None:
    name = f"report_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        pool = await open_pool(Settings(database_url=url))
        try:
            await migrate(pool)
            async with pool.acquire() as con:
                empty = await programme_report(con, now=NOW)
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
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
        "participants": "1",
        "enrolled": "12",
        "share_of_enrolled": "0.0833",
    }
    nudges = list(csv.DictReader(io.StringIO(tables["nudge_effect"])))
    assert (nudges[-1]["partner_id"], nudges[-1]["level"], nudges[-1]["channel"]) == (
        "all",
        "all",
        "all",
    )
    training = list(csv.DictReader(io.StringIO(tables["training"])))
    assert training[0]["completion_share"] == ""


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
    for title in ("Funnel", "Outcomes", "Youth Guarantee", "Nudge effect", "ESF+"):
        assert title in page
    assert "orientaeuro" in page and "foreign_background_declined" in page

    saved = ProgrammeReport.model_validate_json((out / "report.json").read_text())
    assert next(row.participants for row in saved.funnel if row.partner_id is None) == 12
    with (out / "esf_at_entry.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert {"partner_id": "all", "indicator": "homeless_declined", "participants": "1"}.items() <= [
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
        assert sum(r["participants"] for r in enrolled if r["partner_id"]) == 12
        assert [r["participants"] for r in enrolled if r["partner_id"] is None] == [12]
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
    assert lines[0] == "partner_id,stage,participants,enrolled,share_of_enrolled"
    assert "all,enrolled,12,12,1.0" in lines
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
    assert csv_answer.text.splitlines()[0].startswith("partner_id,gender,indicator,")


def test_the_documented_example_of_the_report_is_a_valid_report() -> None:
    example = ProgrammeReport.model_json_schema()["examples"][0]
    assert set(ProgrammeReport.model_validate(example).model_dump()) == {
        "generated_at",
        "period_from",
        "period_to",
        *TABLES,
    }


# -- the entry profile at enrolment ---------------------------------------------------------------

PROFILE = {
    "labour_status": "long_term_unemployed",
    "education_level": "isced_0_2",
    "gender": "woman",
    "disability": "no",
    "third_country_national": "yes",
    "foreign_background": "yes",
    "minority": "declined",
    "homeless": "no",
}


async def test_a_youth_enrolled_with_an_entry_profile_has_it_kept_for_the_esf_counts(
    api: httpx.AsyncClient, keys: Keys, pool: Pool
) -> None:
    body = {**enrolment_body("jes"), "entry_profile": PROFILE}
    answer = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert answer.status_code == 201, answer.text
    row = await pool.fetchrow(
        "SELECT * FROM entry_profiles WHERE participant_id = $1", answer.json()["participant_id"]
    )
    assert row is not None
    born = date.fromisoformat(body["person"]["birth_date"])
    assert row["age_at_entry"] == age_on(born, enrolment_day(datetime.now(UTC)))
    assert {k: row[k] for k in PROFILE} == PROFILE


async def test_the_day_a_youth_registered_with_the_pes_is_kept_to_start_the_four_months(
    api: httpx.AsyncClient, keys: Keys, pool: Pool
) -> None:
    body = {**enrolment_body("jes"), "pes_registered_on": "2026-01-12"}
    answer = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert answer.status_code == 201, answer.text
    registered = await pool.fetchval(
        "SELECT pes_registered_on FROM participants WHERE participant_id = $1",
        answer.json()["participant_id"],
    )
    assert registered == date(2026, 1, 12)
    from_file = enrolment_of(_cohort_row(pes_registered_on="2026-01-12"))
    assert from_file.pes_registered_on == date(2026, 1, 12)
    assert enrolment_of(_cohort_row()).pes_registered_on is None


async def test_a_youth_enrolled_without_an_entry_profile_has_none_and_nothing_is_guessed(
    api: httpx.AsyncClient, keys: Keys, pool: Pool
) -> None:
    body = enrolment_body("inbrussel")
    body.pop("entry_profile", None)
    answer = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert answer.status_code == 201, answer.text
    stored = await pool.fetchval(
        "SELECT count(*) FROM entry_profiles WHERE participant_id = $1",
        answer.json()["participant_id"],
    )
    assert stored == 0


async def test_a_sensitive_answer_left_out_refuses_the_enrolment_instead_of_assuming_declined(
    api: httpx.AsyncClient, keys: Keys
) -> None:
    partial = {k: v for k, v in PROFILE.items() if k != "minority"}
    body = {**enrolment_body("jes"), "entry_profile": partial}
    answer = await api.post("/v1/participants", json=body, headers=bearer(keys.backend))
    assert answer.status_code == 422
    assert "entry_profile.minority" in answer.json()["detail"]


def _cohort_row(**profile: str) -> dict[str | None, Any]:
    body = enrolment_body("jes")
    person = body["person"]
    return {
        "external_ref": body["external_ref"],
        "partner_id": "jes",
        **{k: str(person[k] or "") for k in person},
        **{k: str(v).lower() for k, v in body["status"].items()},
        **profile,
    }


def test_a_cohort_file_may_carry_the_entry_profile_in_optional_columns() -> None:
    with_profile = enrolment_of(_cohort_row(**PROFILE))
    assert with_profile.entry_profile is not None
    assert with_profile.entry_profile.model_dump() == PROFILE
    assert enrolment_of(_cohort_row()).entry_profile is None
    assert enrolment_of(_cohort_row(**dict.fromkeys(ENTRY_PROFILE, " "))).entry_profile is None
    with pytest.raises(ValidationError, match=r"entry_profile\.homeless"):
        enrolment_of(_cohort_row(**{**PROFILE, "homeless": ""}))


def test_the_demo_cohort_declares_entry_profiles_and_some_decline_sensitive_questions() -> None:
    profiles = [member.enrolment.entry_profile for member in demo_cohort(date(2026, 3, 10))]
    assert all(profile is not None for profile in profiles)
    answers = [
        getattr(profile, question)
        for profile in profiles
        for question in ("disability", "third_country_national", "foreign_background",
                         "minority", "homeless")
    ]  # fmt: skip
    assert {"yes", "no", "declined"} <= set(answers)
    assert answers.count("declined") < len(answers) / 4
    assert len({p.gender for p in profiles if p is not None}) == 3

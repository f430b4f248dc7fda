"""A cohort counted by hand for the programme report, written straight into the read model.

Fifteen enrolments of fourteen people with three partners live in a database of their own, so
that no other test's participants change the counts. The report is made "on 30 June 2026 at
noon". Every figure `tests/test_programme_report.py` expects is worked out from the lines below.

- J1 (jes, 24, follow-up): registered with the PES nine months before entry (long-term
  unemployed), coached, welder course completed with a certificate, a job two days later; left
  employed on 1 June 2025 with a certificate, employed at six months.
- J2 (jes, 29, closed employed): registered six months before (not long-term from 25), a
  forklift licence with `training_completed`; left employed on 1 October 2025, job searching at
  six months; the follow-up closed on 1 April 2026.
- J3 (jes, 30, closed lost_contact): inactive, a drop-out whose last contact was 1 November 2025,
  closed on 1 February 2026; unanswered on leaving and at six months; four nudges, the second
  SMS never delivered; applied to the bike course, which lapsed.
- J4 (jes, 32, closed ineligible): not a participant.
- J5 (jes, 20): enrolled yesterday without an entry profile, not yet in the read model.
- R1 and R2 (jes, one person): R1 enrolled on 6 January 2025 and left, withdrawn, on 3 March
  (job searching on leaving, employed at six months); enrolled again as R2 on 1 December 2025,
  left withdrawn on 15 January 2026, employed on leaving.
- I1 (inbrussel, 19, coaching, paused): a job offer after 30 days, dropped the welder course,
  applied to the bike course and was not selected.
- I2 (inbrussel, 22, training): inactive; selected for the bike course 29 days after entry.
- I3 (inbrussel, 30, closed traineeship): registered a year before entry (long-term); left into
  a traineeship on 1 July 2025, in education and job searching on leaving, six months missed.
- I4 (inbrussel, 18, closed withdrawn): inactive, left on 1 April 2026, job searching.
- C1 (inbrussel, 23, coaching): enrolled without a profile; a case manager completed it.
- O1 (orientaeuro, enrolled with jes, 27; placement, dormant): coached.
- O2 (orientaeuro, 25, follow-up): a fixed-term job offer of 12 months; left self-employed on 4
  February 2026 and never answered on leaving: the placement counts.
- O3 (orientaeuro, 21, coaching): inactive, waiting for a welder seat.
"""

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from infra.database import Connection, Pool, open_pool
from infra.settings import Settings
from readmodel import migrate
from trajectory.enrolment import LabourStatus, long_term_unemployed

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
PARTNERS = ("inbrussel", "jes", "orientaeuro", None)
"""The order of the report's rows: partners by id, then every partner together."""
Profile = tuple[str, ...]
"""labour status, education, gender, disability, third-country national, foreign background,
minority, homeless"""


def at(day: str) -> datetime:
    """10:00 UTC on `day`."""
    return datetime.fromisoformat(f"{day}T10:00:00+00:00")


@asynccontextmanager
async def own_database(database_url: str, name: str) -> AsyncIterator[Pool]:
    """A migrated database of its own on the session's server, dropped afterwards."""
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
    try:
        pool = await open_pool(Settings(database_url=url))
        try:
            await migrate(pool)
            yield pool
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


class Cohort:
    """Writes the cohort's rows straight into the read-model tables."""

    def __init__(self, con: Connection) -> None:
        self.con = con

    async def enrolled(
        self,
        key: str,
        partner_id: str,
        day: str,
        age: int,
        profile: Profile | None = None,
        *,
        registered: str | None = None,
        again_after: str | None = None,
        completed: bool = False,
    ) -> None:
        """Enrolled on `day` at `age`; `again_after` names the earlier enrolment of the person."""
        registered_on = date.fromisoformat(registered) if registered else None
        await self.con.execute(
            "INSERT INTO participants (participant_id, external_ref, partner_id, postcode,"
            " language, enrolled_at, pes_registered_on, age_at_entry, person_id,"
            " previous_participant_id)"
            " VALUES ($1, $2, $3, '1080', 'fr', $4, $5, $6, $7, $7)",
            key,
            f"PES-{key}",
            partner_id,
            at(day),
            registered_on,
            age,
            again_after,
        )
        if profile is not None:
            labour: LabourStatus = "unemployed" if profile[0] == "unemployed" else "inactive"
            long_term = long_term_unemployed(labour, age, registered_on, date.fromisoformat(day))
            await self.con.execute(
                "INSERT INTO entry_profiles (participant_id, labour_status, long_term_unemployed,"
                " completed_at, education_level, gender, disability, third_country_national,"
                " foreign_background, minority, homeless)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                key,
                labour,
                long_term,
                NOW - timedelta(days=10) if completed else None,
                *profile[1:],
            )

    async def trajectory(
        self,
        key: str,
        partner_id: str,
        path: tuple[str, ...],
        status: str = "active",
        *,
        outcome: str | None = None,
        exit_outcome: str | None = None,
        closed: str | None = None,
        left: str | None = None,
        offer: tuple[str, str, str | None, int | None] | None = None,
    ) -> None:
        """The trajectory went from intake through `path`; its phase is the last one. `offer`
        is the first offer's day, kind, contract type and months."""
        enrolled_at = await self.con.fetchval(
            "SELECT enrolled_at FROM participants WHERE participant_id = $1", key
        )
        offer_day, kind, contract, months = offer or (None, None, None, None)
        await self.con.execute(
            "INSERT INTO trajectories (participant_id, workflow_id, partner_id, phase, status,"
            " nudge_level, milestone_count, last_contact_at, outcome, enrolled_at, closed_at,"
            " revision, first_offer_at, first_offer_kind, first_offer_contract_type,"
            " first_offer_contract_months, left_at, exit_outcome)"
            " VALUES ($1, $2, $3, $4, $5, 0, 0, $6, $7, $6, $8, 1, $9, $10, $11, $12, $13, $14)",
            key,
            f"trajectory-{key}",
            partner_id,
            path[-1] if path else "intake",
            status,
            enrolled_at,
            outcome,
            at(closed) if closed else None,
            at(offer_day) if offer_day else None,
            kind,
            contract,
            months,
            at(left) if left else None,
            exit_outcome or outcome,
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
        self,
        key: str,
        phase: str,
        *types: str,
        payload: dict[str, Any] | None = None,
        day: str | None = None,
    ) -> None:
        """Milestones recorded while the trajectory was in `phase` (long ago unless `day`)."""
        occurred = at(day) if day else NOW - timedelta(days=400)
        await self.con.executemany(
            "INSERT INTO milestones (participant_id, milestone_id, type, occurred_at,"
            " recorded_by, phase, payload, fingerprint)"
            " VALUES ($1, $2, $3, $4, 'partner', $5, $6, '')",
            [
                (key, f"{key}-{phase}-{kind}-{n}", kind, occurred, phase, payload or {})
                for n, kind in enumerate(types)
            ],
        )

    async def check(
        self,
        key: str,
        name: str,
        left: str,
        *,
        unanswered: bool = False,
        certificate: str | None = None,
        **answers: bool,
    ) -> None:
        """A check-in `as_of` days after leaving on `left`, answerable for four weeks; answered
        on its second day unless unanswered, or left waiting when no answer is given."""
        as_of = {"on_leaving": 0, "6_months": 182, "12_months": 365, "18_months": 547}[name]
        opens = at(left) + timedelta(days=as_of)
        answered = not unanswered and (bool(answers) or certificate is not None)
        await self.con.execute(
            "INSERT INTO follow_up_checks (participant_id, name, due_at, answered_at, unanswered,"
            " in_employment, in_education_or_training, job_searching, qualification_gained,"
            " certificate_kind)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            key,
            name,
            opens + timedelta(days=28),
            opens + timedelta(days=1) if answered else None,
            unanswered,
            *(
                answers.get(field, False) if answered else None
                for field in ("in_employment", "in_education_or_training", "job_searching")
            ),
            certificate is not None if answered else None,
            certificate,
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

    async def course(
        self, course_id: str, title: str, provider: str, *, selection: bool = False
    ) -> None:
        await self.con.execute(
            "INSERT INTO courses (course_id, catalogue_version, provider, title, domain, sector,"
            " occupation, bottleneck_occupation, language, min_language_level,"
            " min_digital_level, seats, starts_on, ends_on, location, selection)"
            " VALUES ($1, 1, $2, $3, 'technics', 'industry', $3, true, 'fr', 'A2', 2, 12,"
            " '2025-01-06', '2026-12-18', '1070', $4)",
            course_id,
            provider,
            title,
            selection,
        )

    async def seat(
        self,
        course_id: str,
        key: str,
        status: str,
        *,
        seated: str | None = None,
        ended: str | None = None,
        qualified: bool = False,
    ) -> None:
        await self.con.execute(
            "INSERT INTO seat_requests (course_id, participant_id, status, requested_at,"
            " seated_at, ended_at, qualified) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            course_id,
            key,
            status,
            NOW - timedelta(days=500),
            at(seated) if seated else None,
            at(ended) if ended else None,
            qualified,
        )


COACHING = ("assessment", "coaching")
FOLLOWED_UP = (*COACHING, "placement", "follow_up")
NOBODY = ("no", "no", "no", "no", "no")


async def write_cohort(con: Connection) -> None:
    c = Cohort(con)
    # fmt: off
    # labour status, education, gender, disability, third-country national, foreign background,
    # minority, homeless
    await c.enrolled("J1", "jes", "2025-03-03", 24,
                     ("unemployed", "isced_0_2", "man", "no", "no", "yes", "no", "no"),
                     registered="2024-06-01")
    await c.enrolled("J2", "jes", "2025-04-01", 29,
                     ("unemployed", "isced_3_4", "woman", "yes", "declined", "yes", "declined",
                      "no"), registered="2024-10-01")
    await c.enrolled("J3", "jes", "2025-09-01", 30,
                     ("inactive", "isced_0_2", "non_binary", "declined", "yes", "declined", "yes",
                      "yes"))
    await c.enrolled("J4", "jes", "2026-01-10", 32)
    await c.enrolled("J5", "jes", "2026-06-29", 20)
    await c.enrolled("R1", "jes", "2025-01-06", 20, ("unemployed", "isced_0_2", "woman", *NOBODY))
    await c.enrolled("R2", "jes", "2025-12-01", 20, ("unemployed", "isced_0_2", "woman", *NOBODY),
                     again_after="R1")
    await c.enrolled("I1", "inbrussel", "2025-05-05", 19,
                     ("unemployed", "isced_3_4", "woman", *NOBODY))
    await c.enrolled("I2", "inbrussel", "2025-06-02", 22,
                     ("inactive", "isced_0_2", "man", "no", "yes", "yes", "no", "declined"))
    await c.enrolled("I3", "inbrussel", "2025-02-03", 30,
                     ("unemployed", "isced_5_8", "woman", "declined", "no", "yes", "yes", "no"),
                     registered="2024-01-15")
    await c.enrolled("I4", "inbrussel", "2026-03-02", 18,
                     ("inactive", "isced_0_2", "man", "no", "no", "no", "declined", "no"))
    await c.enrolled("C1", "inbrussel", "2026-01-12", 23,
                     ("unemployed", "isced_0_2", "man", *NOBODY), registered="2025-05-01",
                     completed=True)
    await c.enrolled("O1", "jes", "2025-10-01", 27,
                     ("unemployed", "isced_3_4", "man", "yes", "yes", "yes", "no", "no"))
    await c.enrolled("O2", "orientaeuro", "2025-11-03", 25,
                     ("unemployed", "isced_5_8", "woman", "no", "declined", "declined", "no",
                      "no"), registered="2025-01-02")
    await c.enrolled("O3", "orientaeuro", "2026-05-04", 21,
                     ("inactive", "isced_0_2", "woman", "no", "no", "yes", "no", "yes"))

    await c.trajectory("J1", "jes", (*COACHING, "training", "placement", "follow_up"),
                       exit_outcome="employed", left="2025-06-01",
                       offer=("2025-05-02", "employment", "permanent", None))
    await c.trajectory("J2", "jes", (*FOLLOWED_UP, "closed"), "closed", outcome="employed",
                       closed="2026-04-01", left="2025-10-01",
                       offer=("2025-09-01", "employment", "fixed_term", 6))
    await c.trajectory("J3", "jes", (*COACHING, "closed"), "closed", outcome="lost_contact",
                       closed="2026-02-01", left="2025-11-01")
    await c.trajectory("J4", "jes", ("closed",), "closed", outcome="ineligible",
                       closed="2026-01-10", left="2026-01-10")
    await c.trajectory("R1", "jes", (*COACHING, "closed"), "closed", outcome="withdrawn",
                       closed="2025-03-03", left="2025-03-03")
    await c.trajectory("R2", "jes", (*COACHING, "closed"), "closed", outcome="withdrawn",
                       closed="2026-01-15", left="2026-01-15")
    await c.trajectory("I1", "inbrussel", (*COACHING, "training", "coaching"), "paused",
                       offer=("2025-06-04", "employment", None, None))
    await c.trajectory("I2", "inbrussel", (*COACHING, "training"),
                       offer=("2025-07-01", "education", None, None))
    await c.trajectory("I3", "inbrussel", (*FOLLOWED_UP, "closed"), "closed",
                       outcome="traineeship", closed="2026-02-01", left="2025-07-01",
                       offer=("2025-05-05", "traineeship", None, None))
    await c.trajectory("I4", "inbrussel", ("assessment", "closed"), "closed",
                       outcome="withdrawn", closed="2026-04-01", left="2026-04-01")
    await c.trajectory("C1", "inbrussel", COACHING)
    await c.trajectory("O1", "orientaeuro", (*COACHING, "placement"), "dormant")
    await c.trajectory("O2", "orientaeuro", FOLLOWED_UP, exit_outcome="self_employed",
                       left="2026-02-04", offer=("2026-01-05", "employment", "fixed_term", 12))
    await c.trajectory("O3", "orientaeuro", COACHING)

    await c.milestones("J1", "coaching", "coach_assigned", "coaching_session_held",
                       "training_enrolled")
    await c.milestones("J1", "training", "training_completed", day="2025-04-30",
                       payload={"certificate": {"kind": "vocational_certificate",
                                                "awarding_body": "Bruxelles Formation"}})
    await c.milestones("J1", "training", "placement_started", day="2025-05-02",
                       payload={"kind": "employment", "start_date": "2025-05-04",
                                "in_training_sector": True})
    await c.milestones("J2", "coaching", "coach_assigned", "placement_started",
                       payload={"kind": "employment", "start_date": "2025-09-03"})
    await c.milestones("J2", "training", "training_completed",
                       payload={"certificate": {"kind": "licence",
                                                "awarding_body": "Bruxelles Formation"}})
    await c.milestones("J3", "coaching", "coach_assigned", "participant_contact")
    await c.milestones("R1", "coaching", "coach_assigned")
    await c.milestones("R2", "coaching", "coaching_session_held")
    await c.milestones("I1", "coaching", "coach_assigned", "job_offer_received",
                       "training_enrolled")
    await c.milestones("I1", "training", "training_dropped")
    await c.milestones("I2", "coaching", "coaching_session_held", "training_enrolled",
                       "training_selected")
    # InBrussel's own coaching steps, without a coach milestone
    await c.milestones("I3", "coaching", "obstacles_identified", "job_day_attended",
                       "placement_started", payload={"kind": "traineeship",
                                                     "start_date": "2025-05-05"})
    await c.milestones("I4", "assessment", "language_assessed")
    await c.milestones("C1", "intake", "job_day_attended")
    await c.milestones("O1", "coaching", "coach_assigned", "job_day_attended")
    # a plain contact and a placement are not coaching
    await c.milestones("O2", "assessment", "digital_assessed")
    await c.milestones("O2", "coaching", "participant_contact", "placement_started",
                       payload={"kind": "self_employment", "start_date": "2026-01-07"})
    await c.milestones("O3", "coaching", "coach_assigned")

    await c.check("J1", "on_leaving", "2025-06-01", in_employment=True,
                  certificate="vocational_certificate")
    await c.check("J1", "6_months", "2025-06-01", in_employment=True)
    await c.check("J2", "on_leaving", "2025-10-01", in_employment=True)
    await c.check("J2", "6_months", "2025-10-01", job_searching=True)
    await c.check("J3", "on_leaving", "2025-11-01", unanswered=True)
    await c.check("J3", "6_months", "2025-11-01", unanswered=True)
    await c.check("R1", "on_leaving", "2025-03-03", job_searching=True)
    await c.check("R1", "6_months", "2025-03-03", in_employment=True)
    await c.check("R2", "on_leaving", "2026-01-15", in_employment=True)
    await c.check("R2", "6_months", "2026-01-15")  # opens in July
    await c.check("I3", "on_leaving", "2025-07-01", in_education_or_training=True,
                  job_searching=True)
    await c.check("I3", "6_months", "2025-07-01", unanswered=True)
    await c.check("I4", "on_leaving", "2026-04-01", job_searching=True)
    await c.check("I4", "6_months", "2026-04-01")
    await c.check("O2", "on_leaving", "2026-02-04", unanswered=True)
    await c.check("O2", "6_months", "2026-02-04")

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

    await c.course("weld-2025", "Welder", "Technicity.brussels")
    await c.course("bike-2026", "Bike courier", "Urbike and Logisticity.brussels",
                   selection=True)
    await c.seat("weld-2025", "J1", "completed", seated="2025-03-20", ended="2025-04-30",
                 qualified=True)
    await c.seat("weld-2025", "I1", "dropped", seated="2025-06-10", ended="2025-07-01")
    await c.seat("weld-2025", "O3", "waiting")
    await c.seat("bike-2026", "J3", "expired")
    await c.seat("bike-2026", "I1", "applied")
    await c.seat("bike-2026", "I2", "seated", seated="2025-07-01")
    # fmt: on

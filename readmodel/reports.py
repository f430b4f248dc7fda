"""The programme report from the read model: every figure is aggregated by PostgreSQL.

Each query groups by partner and by `()` (every partner together) with GROUPING SETS, so only
a handful of rows per table comes back, whatever the number of participants; the ESF+ tables
group by gender as well. All queries read one snapshot (a repeatable-read, read-only
transaction), so the tables agree with each other. Durations are in programme days, as the
trajectories count them (`PARCOURS_SECONDS_PER_DAY`). Every query takes the period as $1 and $2
(first and last day in Brussels, either may be null): `docs/reports.md` says what each figure
counts in it.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import asyncpg

from infra.database import Connection
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome, Phase, Status
from trajectory.programme_report import (
    CONTACT_WINDOW_DAYS,
    FOLLOW_UP_WINDOW_DAYS,
    GENDERS,
    SIX_MONTHS_DAYS,
    STAGES,
    YOUTH_GUARANTEE_DAYS,
    CourseCompletion,
    FunnelStage,
    Indicator,
    NudgeEffect,
    OutcomeCount,
    PhaseCount,
    ProgrammeReport,
    TargetProgress,
    TimeToOffer,
    share,
)
from trajectory.targets import Targets, load_targets

SENSITIVE = ("disability", "third_country_national", "foreign_background", "minority", "homeless")
"""The optional ESF+ questions a participant may decline."""

_ORDER_PHASES = ", ".join(f"'{phase.value}'" for phase in Phase)
_ORDER_STATUSES = ", ".join(f"'{status.value}'" for status in Status)
_PAST_ASSESSMENT = ", ".join(
    f"'{phase.value}'"
    for phase in (Phase.COACHING, Phase.TRAINING, Phase.PLACEMENT, Phase.FOLLOW_UP)
)
"""The phases after assessment: reaching one of them means the assessment is done."""
_NOT_COACHING = ", ".join(
    f"'{kind.value}'"
    for kind in (
        M.PARTICIPANT_CONTACT, M.STREET_OUTREACH_CONTACT, M.JOB_OFFER_RECEIVED,
        M.PLACEMENT_STARTED, M.PLACEMENT_ENDED, M.TRAINING_ENROLLED, M.TRAINING_COMPLETED,
        M.TRAINING_DROPPED, M.FOLLOW_UP_CONTACT, M.WITHDRAWN, M.MOVED_AWAY,
    )
)  # fmt: skip
"""Milestones that may be recorded in coaching without being coaching: a plain contact, an
offer, a placement, training, leaving. Every other step of a partner's coaching phase is."""


def _in_period(moment: str) -> str:
    """SQL: `moment` falls on a day of the report's period ($1 to $2, in Brussels)."""
    return (
        f"({moment} AT TIME ZONE 'Europe/Brussels')::date"
        " BETWEEN coalesce($1::date, '-infinity') AND coalesce($2::date, 'infinity')"
    )


# Everyone enrolled, with the partner they are with now and those that held them at entry, at
# their first offer, on leaving and on closing (`partner_at`; the partner now when no stint is
# recorded); a trajectory the worker has not written yet stands at intake. `taking_part` leaves
# out those found ineligible at intake, and `left_at` is when a participant left: for follow-up,
# or by closing early.
_PEOPLE = """
people AS (
    SELECT p.participant_id,
           coalesce(t.partner_id, p.partner_id) AS partner_id,
           coalesce(
               partner_at(p.participant_id, p.enrolled_at), t.partner_id, p.partner_id
           ) AS entry_partner,
           coalesce(
               partner_at(p.participant_id, t.first_offer_at), t.partner_id, p.partner_id
           ) AS offer_partner,
           coalesce(
               partner_at(p.participant_id, coalesce(t.left_at, t.closed_at)),
               t.partner_id,
               p.partner_id
           ) AS leaving_partner,
           coalesce(
               partner_at(p.participant_id, t.closed_at), t.partner_id, p.partner_id
           ) AS closing_partner,
           p.enrolled_at,
           p.pes_registered_on AS registered_on,
           coalesce(t.phase, 'intake') AS phase,
           coalesce(t.status, 'active') AS status,
           t.outcome,
           t.outcome IS DISTINCT FROM 'ineligible' AS taking_part,
           t.first_offer_at,
           t.closed_at,
           coalesce(t.left_at, t.closed_at) AS left_at
    FROM participants p
    LEFT JOIN trajectories t USING (participant_id)
)
"""

_FUNNEL = f"""
WITH {_PEOPLE},
past_assessment AS (
    SELECT DISTINCT participant_id FROM phase_transitions
    WHERE to_phase IN ({_PAST_ASSESSMENT})
),
steps AS (
    SELECT participant_id,
           bool_or(
               type IN ('coach_assigned', 'coaching_session_held')
               OR (phase = 'coaching' AND type NOT IN ({_NOT_COACHING}))
           ) AS coached,
           bool_or(type = 'training_completed') AS trained,
           bool_or(type = 'placement_started') AS placed
    FROM milestones
    GROUP BY participant_id
)
SELECT people.partner_id,
       count(*) AS enrolled,
       count(*) FILTER (
           WHERE people.phase IN ({_PAST_ASSESSMENT}) OR past_assessment.participant_id IS NOT NULL
       ) AS assessed,
       count(*) FILTER (WHERE steps.coached) AS coached,
       count(*) FILTER (WHERE steps.trained) AS trained,
       count(*) FILTER (WHERE steps.placed) AS placed,
       count(*) FILTER (WHERE six.in_employment) AS employed_at_6_months
FROM people
LEFT JOIN past_assessment USING (participant_id)
LEFT JOIN steps USING (participant_id)
LEFT JOIN follow_up_checks six
       ON six.participant_id = people.participant_id AND six.name = '6_months'
WHERE {_in_period("people.enrolled_at")}
GROUP BY GROUPING SETS ((people.partner_id), ())
ORDER BY people.partner_id NULLS LAST
"""

_PHASES = f"""
WITH {_PEOPLE}
SELECT partner_id, phase, status, count(*) AS participants
FROM people
WHERE {_in_period("enrolled_at")}
GROUP BY GROUPING SETS ((partner_id, phase, status), (phase, status))
ORDER BY partner_id NULLS LAST, array_position(ARRAY[{_ORDER_PHASES}], phase),
         array_position(ARRAY[{_ORDER_STATUSES}], status)
"""

_OUTCOMES = f"""
WITH {_PEOPLE}
SELECT closing_partner AS partner_id, outcome, count(*) AS participants,
       (sum(count(*)) OVER (
           PARTITION BY grouping(closing_partner), closing_partner
       ))::bigint AS closed
FROM people
WHERE outcome IS NOT NULL AND {_in_period("closed_at")}
GROUP BY GROUPING SETS ((closing_partner, outcome), (outcome))
ORDER BY partner_id NULLS LAST, count(*) DESC, outcome
"""

# $3 is the length of a programme day in seconds. The clock starts at registration with the
# PES when the backend gave that day (midnight in Brussels), else at enrolment.
_TIME_TO_OFFER = f"""
WITH {_PEOPLE},
clocks AS (
    SELECT offer_partner AS partner_id, first_offer_at,
           coalesce(
               (registered_on::timestamp AT TIME ZONE 'Europe/Brussels'), enrolled_at
           ) AS clock_from
    FROM people
    WHERE taking_part AND {_in_period("enrolled_at")}
)
SELECT partner_id,
       count(*) AS participants,
       count(first_offer_at) AS offered,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM first_offer_at - clock_from) / $3::float8
       ) AS median_days_to_offer,
       count(*) FILTER (
           WHERE first_offer_at - clock_from
                 <= make_interval(secs => {YOUTH_GUARANTEE_DAYS} * $3::float8)
       ) AS offered_within_4_months
FROM clocks
GROUP BY GROUPING SETS ((partner_id), ())
ORDER BY partner_id NULLS LAST
"""

_TRAINING = f"""
SELECT c.course_id, c.title, c.provider, c.seats,
       count(*) AS requests,
       count(*) FILTER (WHERE s.status = 'waiting') AS waiting,
       count(*) FILTER (WHERE s.status = 'offered') AS offered,
       count(*) FILTER (WHERE s.status = 'seated') AS seated,
       count(*) FILTER (WHERE s.status = 'completed') AS completed,
       count(*) FILTER (WHERE s.status = 'dropped') AS dropped,
       count(*) FILTER (WHERE s.status = 'expired') AS expired,
       count(*) FILTER (WHERE s.qualified OR s.qualification IS NOT NULL) AS qualifications
FROM seat_requests s
JOIN courses c USING (course_id)
WHERE {_in_period("s.requested_at")}
GROUP BY c.course_id
ORDER BY c.course_id
"""

# $3 is the report's time, $4 the length of a programme day in seconds. A nudge counts once it
# reached its person (a task, or a message delivered); a message that failed is counted apart,
# one still waiting in neither. A nudge is judged once its window is over.
_NUDGE_EFFECT = f"""
SELECT partner_id, level, channel,
       count(*) FILTER (WHERE delivered) AS nudges,
       count(*) FILTER (WHERE failed) AS failed,
       count(*) FILTER (WHERE delivered AND $3::timestamptz - sent_at >= window_length) AS judged,
       count(*) FILTER (
           WHERE delivered AND $3::timestamptz - sent_at >= window_length
             AND contact_at - sent_at <= window_length
       ) AS contact_within_7_days,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM contact_at - sent_at) / $4::float8
       ) FILTER (WHERE delivered) AS median_days_to_contact
FROM (
    SELECT n.partner_id, n.level, n.channel, n.sent_at, n.contact_at,
           n.action <> 'message' OR o.sent_at IS NOT NULL AS delivered,
           o.failed_at IS NOT NULL AS failed
    FROM nudges n
    LEFT JOIN outbox o ON o.participant_id = n.participant_id AND o.nudge_seq = n.seq
) rungs, make_interval(secs => {CONTACT_WINDOW_DAYS} * $4::float8) AS window_length
WHERE {_in_period("sent_at")}
GROUP BY GROUPING SETS (
    (partner_id, level, channel), (partner_id), (level, channel), (level), (channel), ()
)
ORDER BY partner_id NULLS LAST, level NULLS LAST, channel NULLS LAST
"""

_SENSITIVE_COUNTS = ",\n".join(
    f"count(*) FILTER (WHERE e.{q} = 'yes') AS {q},\n"
    f"count(*) FILTER (WHERE e.{q} IN ('yes', 'no')) AS {q}_answered,\n"
    f"count(*) FILTER (WHERE e.{q} = 'declined') AS {q}_declined"
    for q in SENSITIVE
)

_ESF_AT_ENTRY = f"""
WITH {_PEOPLE}
SELECT people.entry_partner AS partner_id,
       coalesce(e.gender, 'not_recorded') AS gender,
       count(*) AS participants,
       count(e.participant_id) AS entry_profiles,
       count(*) FILTER (
           WHERE e.labour_status IN ('unemployed', 'long_term_unemployed')
       ) AS unemployed_incl_long_term,
       count(*) FILTER (WHERE e.labour_status = 'long_term_unemployed') AS long_term_unemployed,
       count(*) FILTER (WHERE e.labour_status = 'inactive') AS inactive,
       count(*) FILTER (WHERE e.labour_status = 'employed') AS employed,
       count(*) FILTER (WHERE e.age_at_entry < 18) AS below_18,
       count(*) FILTER (WHERE e.age_at_entry BETWEEN 18 AND 29) AS aged_18_29,
       count(*) FILTER (WHERE e.age_at_entry >= 55) AS aged_55_and_over,
       0 AS living_in_rural_areas,
       count(*) FILTER (WHERE e.education_level = 'isced_0_2') AS isced_0_2,
       count(*) FILTER (WHERE e.education_level = 'isced_3_4') AS isced_3_4,
       count(*) FILTER (WHERE e.education_level = 'isced_5_8') AS isced_5_8,
       count(*) FILTER (WHERE e.gender = 'woman') AS women,
       count(*) FILTER (WHERE e.gender = 'man') AS men,
       count(*) FILTER (WHERE e.gender = 'non_binary') AS non_binary,
       {_SENSITIVE_COUNTS}
FROM people
LEFT JOIN entry_profiles e USING (participant_id)
WHERE people.taking_part AND {_in_period("people.enrolled_at")}
GROUP BY GROUPING SETS (
    (people.entry_partner), (), (people.entry_partner, coalesce(e.gender, 'not_recorded')),
    (coalesce(e.gender, 'not_recorded'))
)
"""

# $3 is the report's time, $4 the length of a programme day in seconds: "six months after
# leaving" counts those who left at least six months before. Participants are those enrolled in
# the period, leavers those who left in it. A qualification recorded with `training_completed`
# up to four weeks after leaving counts as gained on leaving, whatever the check-in said.
_ESF_RESULTS = f"""
WITH {_PEOPLE},
leavers AS (
    SELECT participant_id, left_at FROM people WHERE {_in_period("left_at")}
),
left_long_enough AS (
    SELECT participant_id FROM leavers
    WHERE left_at <= $3::timestamptz - make_interval(secs => {SIX_MONTHS_DAYS} * $4::float8)
),
qualified AS (
    SELECT DISTINCT m.participant_id FROM milestones m JOIN leavers people USING (participant_id)
    WHERE m.type = 'training_completed'
      AND ('qualification' = ANY(m.sealed_fields) OR m.payload ? 'qualification')
      AND m.occurred_at <= people.left_at
                           + make_interval(secs => {FOLLOW_UP_WINDOW_DAYS} * $4::float8)
)
SELECT people.leaving_partner AS partner_id,
       coalesce(e.gender, 'not_recorded') AS gender,
       count(*) FILTER (WHERE {_in_period("people.enrolled_at")}) AS participants,
       count(left_in_period.participant_id) AS leavers,
       count(leaving.answered_at) AS on_leaving_answered,
       count(*) FILTER (WHERE leaving.job_searching) AS job_searching_on_leaving,
       count(*) FILTER (
           WHERE leaving.in_education_or_training
       ) AS in_education_or_training_on_leaving,
       count(*) FILTER (
           WHERE leaving.qualification_gained OR qualified.participant_id IS NOT NULL
       ) AS qualification_on_leaving,
       count(*) FILTER (WHERE leaving.in_employment) AS in_employment_on_leaving,
       count(long_ago.participant_id) AS left_6_months_ago,
       count(six.answered_at) AS answered_6_months_after_leaving,
       count(*) FILTER (WHERE six.in_employment) AS in_employment_6_months_after_leaving,
       count(*) FILTER (
           WHERE six.in_employment AND e.labour_status IS DISTINCT FROM 'employed'
       ) AS improved_situation_6_months_after_leaving
FROM people
LEFT JOIN entry_profiles e USING (participant_id)
LEFT JOIN leavers left_in_period ON left_in_period.participant_id = people.participant_id
LEFT JOIN follow_up_checks leaving
       ON leaving.participant_id = left_in_period.participant_id AND leaving.name = 'on_leaving'
LEFT JOIN qualified ON qualified.participant_id = people.participant_id
LEFT JOIN left_long_enough long_ago ON long_ago.participant_id = people.participant_id
LEFT JOIN follow_up_checks six
       ON six.participant_id = long_ago.participant_id AND six.name = '6_months'
WHERE people.taking_part
  AND ({_in_period("people.enrolled_at")} OR {_in_period("people.left_at")})
GROUP BY GROUPING SETS (
    (people.leaving_partner), (), (people.leaving_partner, coalesce(e.gender, 'not_recorded')),
    (coalesce(e.gender, 'not_recorded'))
)
"""

_REACHED = f"""
WITH {_PEOPLE}
SELECT entry_partner AS partner_id, count(*) AS participants
FROM people
WHERE taking_part
  AND (enrolled_at AT TIME ZONE 'Europe/Brussels')::date <= coalesce($1::date, 'infinity')
GROUP BY GROUPING SETS ((entry_partner), ())
"""

_AT_ENTRY: tuple[tuple[str, str], ...] = (
    ("unemployed_incl_long_term", "entry_profiles"),
    ("long_term_unemployed", "entry_profiles"),
    ("inactive", "entry_profiles"),
    ("employed", "entry_profiles"),
    ("below_18", "entry_profiles"),
    ("aged_18_29", "entry_profiles"),
    ("aged_55_and_over", "entry_profiles"),
    ("living_in_rural_areas", "entry_profiles"),
    ("isced_0_2", "entry_profiles"),
    ("isced_3_4", "entry_profiles"),
    ("isced_5_8", "entry_profiles"),
    ("women", "entry_profiles"),
    ("men", "entry_profiles"),
    ("non_binary", "entry_profiles"),
    *(
        pair
        for q in SENSITIVE
        for pair in ((q, f"{q}_answered"), (f"{q}_declined", "entry_profiles"))
    ),
)
"""Each indicator at entry and the column of its denominator (the `base`)."""

_RESULTS: tuple[tuple[str, str], ...] = (
    ("leavers", "participants"),
    ("on_leaving_answered", "leavers"),
    ("job_searching_on_leaving", "leavers"),
    ("in_education_or_training_on_leaving", "leavers"),
    ("qualification_on_leaving", "leavers"),
    ("in_employment_on_leaving", "leavers"),
    ("left_6_months_ago", "leavers"),
    ("answered_6_months_after_leaving", "left_6_months_ago"),
    ("in_employment_6_months_after_leaving", "left_6_months_ago"),
    ("improved_situation_6_months_after_leaving", "left_6_months_ago"),
)


async def programme_report(
    con: Connection,
    *,
    now: datetime | None = None,
    day_seconds: float = 86400.0,
    period_from: date | None = None,
    period_to: date | None = None,
    targets: Targets | None = None,
) -> ProgrammeReport:
    """The whole report as the read model stands at `now` (default: the present), limited to
    the days from `period_from` to `period_to` (Brussels days, both included; open when None).

    Durations count programme days of `day_seconds`, as the trajectories do (the demo's last a
    second). Progress is measured against `targets` (default: the configured ones).
    """
    now = now or datetime.now(UTC)
    targets = targets or load_targets()
    period = (period_from, period_to)
    async with con.transaction(isolation="repeatable_read", readonly=True):
        funnel = await con.fetch(_FUNNEL, *period)
        phases = await con.fetch(_PHASES, *period)
        outcomes = await con.fetch(_OUTCOMES, *period)
        offers = await con.fetch(_TIME_TO_OFFER, *period, day_seconds)
        training = await con.fetch(_TRAINING, *period)
        nudges = await con.fetch(_NUDGE_EFFECT, *period, now, day_seconds)
        at_entry = await con.fetch(_ESF_AT_ENTRY, *period)
        results = await con.fetch(_ESF_RESULTS, *period, now, day_seconds)
        reached = await con.fetch(_REACHED, period_to)
    return ProgrammeReport(
        generated_at=now,
        period_from=period_from,
        period_to=period_to,
        funnel=[
            FunnelStage(
                partner_id=row["partner_id"],
                stage=stage,
                participants=row[stage],
                enrolled=row["enrolled"],
                share_of_enrolled=share(row[stage], row["enrolled"]),
            )
            for row in funnel
            for stage in STAGES
        ],
        phases=[
            PhaseCount(
                partner_id=row["partner_id"],
                phase=Phase(row["phase"]),
                status=Status(row["status"]),
                participants=row["participants"],
            )
            for row in phases
        ],
        outcomes=[
            OutcomeCount(
                partner_id=row["partner_id"],
                outcome=Outcome(row["outcome"]),
                participants=row["participants"],
                closed=row["closed"],
                share_of_closed=share(row["participants"], row["closed"]),
            )
            for row in outcomes
        ],
        time_to_offer=[
            TimeToOffer(
                partner_id=row["partner_id"],
                participants=row["participants"],
                offered=row["offered"],
                median_days_to_offer=_days(row["median_days_to_offer"]),
                offered_within_4_months=row["offered_within_4_months"],
                share_of_offered=share(row["offered_within_4_months"], row["offered"]),
                share_of_participants=share(row["offered_within_4_months"], row["participants"]),
            )
            for row in offers
        ],
        training=[
            CourseCompletion(
                **row,
                completion_share=share(row["completed"], row["completed"] + row["dropped"]),
            )
            for row in map(dict, training)
        ],
        nudge_effect=[
            NudgeEffect(
                partner_id=row["partner_id"],
                level=row["level"],
                channel=row["channel"],
                nudges=row["nudges"],
                failed=row["failed"],
                judged=row["judged"],
                contact_within_7_days=row["contact_within_7_days"],
                share_with_contact=share(row["contact_within_7_days"], row["judged"]),
                median_days_to_contact=_days(row["median_days_to_contact"]),
            )
            for row in nudges
        ],
        esf_at_entry=_indicators(at_entry, (("entry_profiles", "participants"), *_AT_ENTRY)),
        esf_results=_indicators(results, _RESULTS),
        targets=_progress(targets, reached, period_to or now.date()),
    )


def _progress(
    targets: Targets, reached: Iterable[asyncpg.Record], on: date
) -> list[TargetProgress]:
    """Each partner's quota, then the programme's target, with the participants reached."""
    counts = {row["partner_id"]: row["participants"] for row in reached}
    due = targets.expected_share(on)
    goals = [*sorted(targets.partners.items()), (None, targets.programme.participants)]
    return [
        TargetProgress(
            partner_id=partner,
            target=target,
            participants=counts.get(partner, 0),
            share_of_target=share(counts.get(partner, 0), target),
            expected_by_now=round(target * due),
        )
        for partner, target in goals
    ]


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _indicators(
    rows: Sequence[asyncpg.Record], figures: Iterable[tuple[str, str]]
) -> list[Indicator]:
    """One indicator per figure, partner and gender, with its denominator.

    Rows come per partner and in total, each for every gender together and for each gender;
    a gender nobody has is there too, with zeros.
    """
    figures = tuple(figures)
    found = {(row["partner_id"], row["gender"]): row for row in rows}
    partners = sorted({partner for partner, _ in found}, key=lambda p: (p is None, p or ""))
    indicators: list[Indicator] = []
    for partner in partners:
        for gender in (None, *GENDERS):
            row = found.get((partner, gender))
            for name, base in figures:
                count, denominator = (row[name], row[base]) if row is not None else (0, 0)
                indicators.append(
                    Indicator(
                        partner_id=partner,
                        gender=gender,
                        indicator=name,
                        participants=count,
                        denominator=denominator,
                        base=base,
                        share=share(count, denominator),
                    )
                )
    return indicators

"""The programme report from the read model: every figure is aggregated by PostgreSQL.

Each query groups by partner and by `()` (every partner together) with GROUPING SETS, so only
a handful of rows per table comes back, whatever the number of participants. All queries read
one snapshot (a repeatable-read, read-only transaction), so the tables agree with each other.
Durations are in programme days, as the trajectories count them (`PARCOURS_SECONDS_PER_DAY`).
"""

from collections.abc import Iterable
from datetime import UTC, datetime

import asyncpg

from infra.database import Connection
from reporting.figures import (
    CONTACT_WINDOW_DAYS,
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
    TimeToOffer,
    share,
)
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome, Phase, Status

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

# Everyone enrolled, with the partner they are with now; a trajectory the worker has not written
# yet stands at intake. `taking_part` leaves out those found ineligible at intake, and `left_at`
# is when a participant left: for follow-up, or by closing early.
_PEOPLE = """
people AS (
    SELECT p.participant_id,
           coalesce(t.partner_id, p.partner_id) AS partner_id,
           p.enrolled_at,
           coalesce(t.phase, 'intake') AS phase,
           coalesce(t.status, 'active') AS status,
           t.outcome,
           t.outcome IS DISTINCT FROM 'ineligible' AS taking_part,
           t.first_offer_at,
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
GROUP BY GROUPING SETS ((people.partner_id), ())
ORDER BY people.partner_id NULLS LAST
"""

_PHASES = f"""
WITH {_PEOPLE}
SELECT partner_id, phase, status, count(*) AS participants
FROM people
GROUP BY GROUPING SETS ((partner_id, phase, status), (phase, status))
ORDER BY partner_id NULLS LAST, array_position(ARRAY[{_ORDER_PHASES}], phase),
         array_position(ARRAY[{_ORDER_STATUSES}], status)
"""

_OUTCOMES = f"""
WITH {_PEOPLE}
SELECT partner_id, outcome, count(*) AS participants,
       (sum(count(*)) OVER (PARTITION BY grouping(partner_id), partner_id))::bigint AS closed
FROM people
WHERE outcome IS NOT NULL
GROUP BY GROUPING SETS ((partner_id, outcome), (outcome))
ORDER BY partner_id NULLS LAST, count(*) DESC, outcome
"""

# $1 is the length of a programme day in seconds.
_TIME_TO_OFFER = f"""
WITH {_PEOPLE}
SELECT partner_id,
       count(*) AS participants,
       count(first_offer_at) AS offered,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM first_offer_at - enrolled_at) / $1::float8
       ) AS median_days_to_offer,
       count(*) FILTER (
           WHERE first_offer_at - enrolled_at
                 <= make_interval(secs => {YOUTH_GUARANTEE_DAYS} * $1::float8)
       ) AS offered_within_4_months
FROM people
WHERE taking_part
GROUP BY GROUPING SETS ((partner_id), ())
ORDER BY partner_id NULLS LAST
"""

_TRAINING = """
SELECT c.course_id, c.title, c.provider, c.seats,
       count(*) AS requests,
       count(*) FILTER (WHERE s.status = 'waiting') AS waiting,
       count(*) FILTER (WHERE s.status = 'offered') AS offered,
       count(*) FILTER (WHERE s.status = 'seated') AS seated,
       count(*) FILTER (WHERE s.status = 'completed') AS completed,
       count(*) FILTER (WHERE s.status = 'dropped') AS dropped,
       count(*) FILTER (WHERE s.status = 'expired') AS expired,
       count(s.qualification) AS qualifications
FROM seat_requests s
JOIN courses c USING (course_id)
GROUP BY c.course_id
ORDER BY c.course_id
"""

# $1 is the report's time, $2 the length of a programme day in seconds. A nudge is judged once its
# window is over.
_NUDGE_EFFECT = f"""
SELECT partner_id, level, channel,
       count(*) AS nudges,
       count(*) FILTER (WHERE $1::timestamptz - sent_at >= window_length) AS judged,
       count(*) FILTER (
           WHERE $1::timestamptz - sent_at >= window_length
             AND contact_at - sent_at <= window_length
       ) AS contact_within_7_days,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM contact_at - sent_at) / $2::float8
       ) AS median_days_to_contact
FROM nudges, make_interval(secs => {CONTACT_WINDOW_DAYS} * $2::float8) AS window_length
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
SELECT people.partner_id,
       count(*) AS participants,
       count(e.participant_id) AS entry_profiles,
       count(*) FILTER (
           WHERE e.labour_status IN ('unemployed', 'long_term_unemployed')
       ) AS unemployed_incl_long_term,
       count(*) FILTER (WHERE e.labour_status = 'long_term_unemployed') AS long_term_unemployed,
       count(*) FILTER (WHERE e.labour_status = 'inactive') AS inactive,
       count(*) FILTER (WHERE e.labour_status = 'employed') AS employed,
       count(*) FILTER (WHERE e.age_at_entry < 30) AS aged_18_29,
       count(*) FILTER (WHERE e.education_level = 'isced_0_2') AS isced_0_2,
       count(*) FILTER (WHERE e.education_level = 'isced_3_4') AS isced_3_4,
       count(*) FILTER (WHERE e.education_level = 'isced_5_8') AS isced_5_8,
       count(*) FILTER (WHERE e.gender = 'woman') AS women,
       count(*) FILTER (WHERE e.gender = 'man') AS men,
       count(*) FILTER (WHERE e.gender = 'non_binary') AS non_binary,
       {_SENSITIVE_COUNTS}
FROM people
LEFT JOIN entry_profiles e USING (participant_id)
WHERE people.taking_part
GROUP BY GROUPING SETS ((people.partner_id), ())
ORDER BY people.partner_id NULLS LAST
"""

# $1 is the report's time, $2 the length of a programme day in seconds: "six months after
# leaving" counts those who left at least six months before.
_ESF_RESULTS = f"""
WITH {_PEOPLE},
left_long_enough AS (
    SELECT participant_id FROM people
    WHERE left_at <= $1::timestamptz - make_interval(secs => {SIX_MONTHS_DAYS} * $2::float8)
)
SELECT people.partner_id,
       count(*) AS participants,
       count(people.left_at) AS leavers,
       count(leaving.answered_at) AS on_leaving_answered,
       count(*) FILTER (WHERE leaving.job_searching) AS job_searching_on_leaving,
       count(*) FILTER (
           WHERE leaving.in_education_or_training
       ) AS in_education_or_training_on_leaving,
       count(*) FILTER (WHERE leaving.qualification_gained) AS qualification_on_leaving,
       count(*) FILTER (WHERE leaving.in_employment) AS in_employment_on_leaving,
       count(long_ago.participant_id) AS left_6_months_ago,
       count(six.answered_at) AS answered_6_months_after_leaving,
       count(*) FILTER (WHERE six.in_employment) AS in_employment_6_months_after_leaving
FROM people
LEFT JOIN follow_up_checks leaving
       ON leaving.participant_id = people.participant_id AND leaving.name = 'on_leaving'
      AND people.left_at IS NOT NULL
LEFT JOIN left_long_enough long_ago ON long_ago.participant_id = people.participant_id
LEFT JOIN follow_up_checks six
       ON six.participant_id = long_ago.participant_id AND six.name = '6_months'
WHERE people.taking_part
GROUP BY GROUPING SETS ((people.partner_id), ())
ORDER BY people.partner_id NULLS LAST
"""

_AT_ENTRY: tuple[tuple[str, str], ...] = (
    ("unemployed_incl_long_term", "entry_profiles"),
    ("long_term_unemployed", "entry_profiles"),
    ("inactive", "entry_profiles"),
    ("employed", "entry_profiles"),
    ("aged_18_29", "entry_profiles"),
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
)


async def programme_report(
    con: Connection, *, now: datetime | None = None, day_seconds: float = 86400.0
) -> ProgrammeReport:
    """The whole report as the read model stands at `now` (default: the present).

    Durations count programme days of `day_seconds`, as the trajectories do (the demo's last a
    second).
    """
    now = now or datetime.now(UTC)
    async with con.transaction(isolation="repeatable_read", readonly=True):
        funnel = await con.fetch(_FUNNEL)
        phases = await con.fetch(_PHASES)
        outcomes = await con.fetch(_OUTCOMES)
        offers = await con.fetch(_TIME_TO_OFFER, day_seconds)
        training = await con.fetch(_TRAINING)
        nudges = await con.fetch(_NUDGE_EFFECT, now, day_seconds)
        at_entry = await con.fetch(_ESF_AT_ENTRY)
        results = await con.fetch(_ESF_RESULTS, now, day_seconds)
    return ProgrammeReport(
        generated_at=now,
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
                judged=row["judged"],
                contact_within_7_days=row["contact_within_7_days"],
                share_with_contact=share(row["contact_within_7_days"], row["judged"]),
                median_days_to_contact=_days(row["median_days_to_contact"]),
            )
            for row in nudges
        ],
        esf_at_entry=_indicators(at_entry, (("entry_profiles", "participants"), *_AT_ENTRY)),
        esf_results=_indicators(results, _RESULTS),
    )


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _indicators(
    rows: Iterable[asyncpg.Record], figures: Iterable[tuple[str, str]]
) -> list[Indicator]:
    """One indicator per figure and row, with its denominator."""
    figures = tuple(figures)
    return [
        Indicator(
            partner_id=row["partner_id"],
            indicator=name,
            participants=row[name],
            denominator=row[base],
            base=base,
            share=share(row[name], row[base]),
        )
        for row in rows
        for name, base in figures
    ]

"""The programme report from the read model: every figure is aggregated by PostgreSQL.

Each query groups by partner and by `()` (every partner together) with GROUPING SETS, so only
a handful of rows per table comes back, whatever the number of participants; the ESF+ tables
group by gender as well. All queries read one snapshot (a repeatable-read, read-only
transaction), so the tables agree with each other. Durations are in programme days, as the
trajectories count them (`PARCOURS_SECONDS_PER_DAY`). Every query takes the period as $1 and $2
(first and last day in Brussels, either may be null): `docs/reports.md` says what each figure
counts in it, and gives each ESF+ indicator's definition, denominator and code.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import asyncpg

from infra.database import Connection
from trajectory.milestones import MilestoneType as M
from trajectory.phases import Outcome, Phase, Status
from trajectory.programme_report import (
    ANSWER_WINDOW_DAYS,
    CONTACT_WINDOW_DAYS,
    GENDERS,
    JOB_AFTER_TRAINING_DAYS,
    STAGES,
    YOUTH_GUARANTEE_AGE,
    YOUTH_GUARANTEE_DAYS,
    CourseCompletion,
    FunnelStage,
    Indicator,
    NudgeEffect,
    OutcomeCount,
    PhaseCount,
    ProgrammeReport,
    Stage,
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


def _days_after(moment: str, days: int, day_seconds: str) -> str:
    """SQL: `days` programme days (of `day_seconds` seconds) after `moment`."""
    return f"{moment} + make_interval(secs => {days} * {day_seconds}::float8)"


# Everyone enrolled, with the partner they are with now and those that held them at entry, at
# their first offer, on leaving and on closing (`partner_at`; the partner now when no stint is
# recorded); a trajectory the worker has not written yet stands at intake. `taking_part` leaves
# out those found ineligible at intake; `left_at` is the leaving day (for follow-up, or by closing
# early; a drop-out's is their last contact) and `exit_outcome` how they left. `person_id` is
# the same for every enrolment of one person.
_PEOPLE = """
people AS (
    SELECT p.participant_id,
           coalesce(p.person_id, p.participant_id) AS person_id,
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
           p.enrolled_at,
           p.pes_registered_on AS registered_on,
           p.age_at_entry,
           coalesce(t.phase, 'intake') AS phase,
           coalesce(t.status, 'active') AS status,
           t.outcome IS DISTINCT FROM 'ineligible' AS taking_part,
           coalesce(t.exit_outcome, t.outcome) AS exit_outcome,
           t.first_offer_at,
           t.first_offer_kind,
           t.first_offer_contract_type,
           t.first_offer_contract_months,
           coalesce(t.left_at, t.closed_at) AS left_at
    FROM participants p
    LEFT JOIN trajectories t USING (participant_id)
)
"""

# One person is one participant: of a person's enrolments that take part, the first is their
# entry (`first_take`) and the last their leaving (`last_take`). An ESF+ participant is a person
# whose first enrolment has a complete entry profile (`esf`, with that profile); the others are
# `excluded_incomplete` until a case manager completes it.
_TAKES = """
takes AS (
    SELECT participant_id, person_id,
           row_number() OVER (
               PARTITION BY person_id ORDER BY enrolled_at, participant_id
           ) = 1 AS first_take,
           row_number() OVER (
               PARTITION BY person_id ORDER BY enrolled_at DESC, participant_id DESC
           ) = 1 AS last_take
    FROM people
    WHERE taking_part
),
esf AS (
    SELECT takes.person_id, e.*
    FROM takes JOIN entry_profiles e USING (participant_id)
    WHERE takes.first_take
)
"""

# $3 is the report's time, $4 the length of a programme day in seconds: a 6-month check-in was
# asked once it is answered, missed, or its four weeks to answer are over.
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
       count(*) FILTER (WHERE six.in_employment) AS employed_at_6_months,
       count(*) FILTER (
           WHERE six.answered_at IS NOT NULL OR six.unanswered OR six.due_at <= $3::timestamptz
       ) AS asked_6_months,
       count(six.answered_at) AS answered_6_months
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

# How participants left, on their leaving day: the outcome fixed then, which a later check-in
# answer or the close after the last one never changes.
_OUTCOMES = f"""
WITH {_PEOPLE}
SELECT leaving_partner AS partner_id, exit_outcome AS outcome, count(*) AS participants,
       (sum(count(*)) OVER (
           PARTITION BY grouping(leaving_partner), leaving_partner
       ))::bigint AS leavers
FROM people
WHERE exit_outcome IS NOT NULL AND left_at IS NOT NULL AND {_in_period("left_at")}
GROUP BY GROUPING SETS ((leaving_partner, exit_outcome), (exit_outcome))
ORDER BY partner_id NULLS LAST, count(*) DESC, outcome
"""

# $3 is the length of a programme day in seconds, $4 the report's time. The clock starts at
# registration with the PES when the backend gave that day (midnight in Brussels), else at
# enrolment. The Youth Guarantee is for participants under 30 at entry, each person once.
_TIME_TO_OFFER = f"""
WITH {_PEOPLE}, {_TAKES},
clocks AS (
    SELECT offer_partner AS partner_id, first_offer_at, first_offer_kind,
           first_offer_contract_type, first_offer_contract_months,
           coalesce(
               (registered_on::timestamp AT TIME ZONE 'Europe/Brussels'), enrolled_at
           ) AS clock_from
    FROM people JOIN takes USING (participant_id)
    WHERE takes.first_take AND people.age_at_entry < {YOUTH_GUARANTEE_AGE}
      AND {_in_period("enrolled_at")}
),
judged AS (
    SELECT *,
           {_days_after("clock_from", YOUTH_GUARANTEE_DAYS, "$3")} <= $4::timestamptz
               AS four_months_passed,
           first_offer_at <= {_days_after("clock_from", YOUTH_GUARANTEE_DAYS, "$3")} AS timely
    FROM clocks
)
SELECT partner_id,
       count(*) AS participants,
       count(*) FILTER (WHERE four_months_passed) AS four_months_passed,
       count(first_offer_at) AS offered,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM first_offer_at - clock_from) / $3::float8
       ) AS median_days_to_offer,
       count(*) FILTER (WHERE four_months_passed AND timely) AS offered_within_4_months,
       count(*) FILTER (
           WHERE four_months_passed AND timely IS NOT TRUE
       ) AS without_offer_after_4_months,
       count(*) FILTER (WHERE first_offer_kind = 'employment') AS offers_employment,
       count(*) FILTER (WHERE first_offer_kind = 'education') AS offers_education,
       count(*) FILTER (WHERE first_offer_kind = 'apprenticeship') AS offers_apprenticeship,
       count(*) FILTER (WHERE first_offer_kind = 'traineeship') AS offers_traineeship,
       count(*) FILTER (WHERE first_offer_contract_type = 'permanent') AS permanent_job_offers,
       count(*) FILTER (WHERE first_offer_contract_type = 'fixed_term') AS fixed_term_job_offers,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY first_offer_contract_months) FILTER (
           WHERE first_offer_contract_type = 'fixed_term'
       ) AS median_fixed_term_months
FROM judged
GROUP BY GROUPING SETS ((partner_id), ())
ORDER BY partner_id NULLS LAST
"""

# $3 is the length of a programme day in seconds. A job after training is a placement in
# employment or self-employment started within three months of completing the course; in the
# sector when the placement says it is in the course's sector.
_TRAINING = f"""
SELECT c.course_id, c.title, c.provider, c.seats, c.selection,
       count(*) AS requests,
       count(*) FILTER (WHERE s.status = 'waiting') AS waiting,
       count(*) FILTER (WHERE s.status = 'applied') AS applied,
       count(*) FILTER (WHERE s.status = 'offered') AS offered,
       count(*) FILTER (WHERE s.status = 'seated') AS seated,
       count(*) FILTER (WHERE s.seated_at IS NOT NULL) AS seats_taken,
       count(*) FILTER (WHERE s.status = 'completed') AS completed,
       count(*) FILTER (WHERE s.status = 'dropped') AS dropped,
       count(*) FILTER (WHERE s.status = 'expired') AS expired,
       count(*) FILTER (WHERE s.qualified) AS qualifications,
       count(*) FILTER (
           WHERE s.status = 'completed' AND EXISTS (
               SELECT 1 FROM milestones m
               WHERE m.participant_id = s.participant_id AND m.type = 'placement_started'
                 AND m.payload ->> 'kind' IN ('employment', 'self_employment')
                 AND m.occurred_at >= s.ended_at
                 AND m.occurred_at <= {_days_after("s.ended_at", JOB_AFTER_TRAINING_DAYS, "$3")}
           )
       ) AS in_job_after_training,
       count(*) FILTER (
           WHERE s.status = 'completed' AND EXISTS (
               SELECT 1 FROM milestones m
               WHERE m.participant_id = s.participant_id AND m.type = 'placement_started'
                 AND m.payload ->> 'kind' IN ('employment', 'self_employment')
                 AND (m.payload ->> 'in_training_sector')::boolean
                 AND m.occurred_at >= s.ended_at
                 AND m.occurred_at <= {_days_after("s.ended_at", JOB_AFTER_TRAINING_DAYS, "$3")}
           )
       ) AS in_job_in_sector
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
    f"count(*) FILTER (WHERE esf.{q} = 'yes') AS {q},\n"
    f"count(*) FILTER (WHERE esf.{q} IN ('yes', 'no')) AS {q}_answered,\n"
    f"count(*) FILTER (WHERE esf.{q} = 'declined') AS {q}_declined"
    for q in SENSITIVE
)

# Each person once, on their first enrolment that takes part, entered in the period. The gender
# of someone without an entry profile is not recorded: they are counted apart
# (`excluded_incomplete`, on the rows of every gender together).
_ESF_AT_ENTRY = f"""
WITH {_PEOPLE}, {_TAKES}
SELECT people.entry_partner AS partner_id,
       coalesce(esf.gender, 'not_recorded') AS gender,
       count(*) AS taking_part,
       count(esf.person_id) AS participants,
       count(*) FILTER (WHERE esf.person_id IS NULL) AS excluded_incomplete,
       count(*) FILTER (WHERE esf.labour_status = 'unemployed') AS unemployed_incl_long_term,
       count(*) FILTER (WHERE esf.long_term_unemployed) AS long_term_unemployed,
       count(*) FILTER (WHERE esf.labour_status = 'inactive') AS inactive,
       0 AS employed,
       count(esf.person_id) FILTER (WHERE people.age_at_entry < 18) AS below_18,
       count(esf.person_id) FILTER (WHERE people.age_at_entry BETWEEN 18 AND 29) AS aged_18_29,
       count(esf.person_id) FILTER (WHERE people.age_at_entry >= 55) AS aged_55_and_over,
       count(*) FILTER (WHERE esf.education_level = 'isced_0_2') AS isced_0_2,
       count(*) FILTER (WHERE esf.education_level = 'isced_3_4') AS isced_3_4,
       count(*) FILTER (WHERE esf.education_level = 'isced_5_8') AS isced_5_8,
       {_SENSITIVE_COUNTS},
       0 AS living_in_rural_areas
FROM people
JOIN takes USING (participant_id)
LEFT JOIN esf ON esf.person_id = takes.person_id
WHERE takes.first_take AND {_in_period("people.enrolled_at")}
GROUP BY GROUPING SETS (
    (people.entry_partner), (), (people.entry_partner, coalesce(esf.gender, 'not_recorded')),
    (coalesce(esf.gender, 'not_recorded'))
)
"""

# $3 is the report's time, $4 the length of a programme day in seconds. ESF+ participants only
# (`esf`): `participants` are those who entered in the period, `leavers` those whose last
# enrolment left in it. On leaving, the last status within the four weeks counts: the answer
# to the check-in on leaving (a later answer replaces an earlier one), else, unanswered, the
# placement the participant left into. A qualification is a recognised certificate, from that
# answer or from a `training_completed` up to four weeks after leaving. Six months after
# leaving, the situation as of day 182: unanswered is unknown, never a no, and the answers over
# those asked (answered, missed, or whose four weeks to answer are over) are the response rate.
_ESF_RESULTS = f"""
WITH {_PEOPLE}, {_TAKES},
entered AS (
    SELECT takes.person_id, people.entry_partner AS partner_id
    FROM people JOIN takes USING (participant_id)
    WHERE takes.first_take AND {_in_period("people.enrolled_at")}
),
left_in_period AS (
    SELECT takes.person_id, people.participant_id, people.leaving_partner AS partner_id,
           people.left_at, people.exit_outcome
    FROM people JOIN takes USING (participant_id)
    WHERE takes.last_take AND people.left_at IS NOT NULL AND {_in_period("people.left_at")}
),
certified AS (
    SELECT DISTINCT m.participant_id FROM milestones m JOIN left_in_period l USING (participant_id)
    WHERE m.type = 'training_completed' AND m.payload ? 'certificate'
      AND m.occurred_at <= {_days_after("l.left_at", ANSWER_WINDOW_DAYS, "$4")}
),
leavers AS (
    SELECT l.person_id, l.partner_id,
           leaving.answered_at IS NOT NULL AS answered,
           CASE WHEN leaving.answered_at IS NOT NULL THEN leaving.in_employment
                ELSE l.exit_outcome IN ('employed', 'self_employed')
           END AS employed,
           CASE WHEN leaving.answered_at IS NOT NULL THEN leaving.in_education_or_training
                ELSE l.exit_outcome IN ('education', 'traineeship', 'apprenticeship')
           END AS in_education,
           leaving.answered_at IS NOT NULL AND leaving.job_searching
               AND NOT leaving.in_employment AS job_searching,
           leaving.certificate_kind IS NOT NULL OR certified.participant_id IS NOT NULL
               AS qualified,
           six.answered_at IS NOT NULL OR six.unanswered OR six.due_at <= $3::timestamptz
               AS asked_6_months,
           six.answered_at IS NOT NULL AS answered_6_months,
           six.answered_at IS NOT NULL AND six.in_employment AS employed_6_months
    FROM left_in_period l
    LEFT JOIN follow_up_checks leaving
           ON leaving.participant_id = l.participant_id AND leaving.name = 'on_leaving'
    LEFT JOIN follow_up_checks six
           ON six.participant_id = l.participant_id AND six.name = '6_months'
    LEFT JOIN certified ON certified.participant_id = l.participant_id
),
counted AS (
    SELECT person_id,
           coalesce(leavers.partner_id, entered.partner_id) AS partner_id,
           entered.person_id IS NOT NULL AS entered,
           leavers.person_id IS NOT NULL AS has_left,
           leavers.answered, leavers.employed, leavers.in_education, leavers.job_searching,
           leavers.qualified, leavers.asked_6_months, leavers.answered_6_months,
           leavers.employed_6_months
    FROM entered FULL JOIN leavers USING (person_id)
)
SELECT counted.partner_id,
       esf.gender,
       count(*) FILTER (WHERE counted.entered) AS participants,
       count(*) FILTER (WHERE counted.has_left) AS leavers,
       count(*) FILTER (
           WHERE counted.has_left AND esf.labour_status = 'inactive'
       ) AS inactive_leavers,
       count(*) FILTER (WHERE counted.answered) AS on_leaving_answered,
       count(*) FILTER (
           WHERE counted.job_searching AND esf.labour_status = 'inactive'
       ) AS job_searching_on_leaving,
       count(*) FILTER (WHERE counted.in_education) AS in_education_or_training_on_leaving,
       count(*) FILTER (WHERE counted.qualified) AS qualification_on_leaving,
       count(*) FILTER (WHERE counted.employed) AS in_employment_on_leaving,
       count(*) FILTER (WHERE counted.asked_6_months) AS asked_6_months,
       count(*) FILTER (WHERE counted.answered_6_months) AS answered_6_months,
       count(*) FILTER (WHERE counted.employed_6_months) AS in_employment_6_months_after_leaving,
       0 AS employed_at_entry_asked_6_months,
       0 AS employed_at_entry_answered_6_months,
       0 AS improved_situation_6_months_after_leaving
FROM counted
JOIN esf USING (person_id)
GROUP BY GROUPING SETS (
    (counted.partner_id), (), (counted.partner_id, esf.gender), (esf.gender)
)
"""

_REACHED = f"""
WITH {_PEOPLE}, {_TAKES}
SELECT people.entry_partner AS partner_id, count(*) AS participants
FROM people JOIN takes USING (participant_id)
WHERE takes.first_take
  AND (people.enrolled_at AT TIME ZONE 'Europe/Brussels')::date <= coalesce($1::date, 'infinity')
GROUP BY GROUPING SETS ((people.entry_partner), ())
"""

Figure = tuple[str | None, str, str]
"""An indicator as the report lists it: its code (None: not an Annex I indicator), its name,
which is the query's column of its count, and the column of its denominator (the `base`)."""

_AT_ENTRY: tuple[Figure, ...] = (
    ("EECO01", "participants", "taking_part"),
    (None, "excluded_incomplete", "taking_part"),
    ("EECO02", "unemployed_incl_long_term", "participants"),
    ("EECO03", "long_term_unemployed", "participants"),
    ("EECO04", "inactive", "participants"),
    ("EECO05", "employed", "participants"),
    ("EECO06", "below_18", "participants"),
    ("EECO07", "aged_18_29", "participants"),
    ("EECO08", "aged_55_and_over", "participants"),
    ("EECO09", "isced_0_2", "participants"),
    ("EECO10", "isced_3_4", "participants"),
    ("EECO11", "isced_5_8", "participants"),
    *(
        figure
        for code, q in zip(
            ("EECO12", "EECO13", "EECO14", "EECO15", "EECO16"), SENSITIVE, strict=True
        )
        for figure in ((code, q, f"{q}_answered"), (None, f"{q}_declined", "participants"))
    ),
    ("EECO17", "living_in_rural_areas", "participants"),
)
"""Each indicator at entry (Annex I, 1.1), in the order of the codes."""
_ALL_GENDERS_ONLY = frozenset({"excluded_incomplete"})
"""Counted apart: nobody of them has a recorded gender."""

_RESULTS: tuple[Figure, ...] = (
    (None, "leavers", "participants"),
    (None, "on_leaving_answered", "leavers"),
    ("EECR01", "job_searching_on_leaving", "inactive_leavers"),
    ("EECR02", "in_education_or_training_on_leaving", "leavers"),
    ("EECR03", "qualification_on_leaving", "leavers"),
    ("EECR04", "in_employment_on_leaving", "leavers"),
    ("EECR05", "in_employment_6_months_after_leaving", "answered_6_months"),
    (
        "EECR06",
        "improved_situation_6_months_after_leaving",
        "employed_at_entry_answered_6_months",
    ),
)
"""Each result on leaving (Annex I, 1.2) and six months after (1.3)."""
_LONGER_TERM = {
    "in_employment_6_months_after_leaving": ("asked_6_months", "answered_6_months"),
    "improved_situation_6_months_after_leaving": (
        "employed_at_entry_asked_6_months",
        "employed_at_entry_answered_6_months",
    ),
}
"""Longer-term results and the columns of those asked and of those who answered."""


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
        funnel = await con.fetch(_FUNNEL, *period, now)
        phases = await con.fetch(_PHASES, *period)
        outcomes = await con.fetch(_OUTCOMES, *period)
        offers = await con.fetch(_TIME_TO_OFFER, *period, day_seconds, now)
        training = await con.fetch(_TRAINING, *period, day_seconds)
        nudges = await con.fetch(_NUDGE_EFFECT, *period, now, day_seconds)
        at_entry = await con.fetch(_ESF_AT_ENTRY, *period)
        results = await con.fetch(_ESF_RESULTS, *period, now, day_seconds)
        reached = await con.fetch(_REACHED, period_to)
    return ProgrammeReport(
        generated_at=now,
        period_from=period_from,
        period_to=period_to,
        funnel=[_stage(row, stage) for row in funnel for stage in STAGES],
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
                leavers=row["leavers"],
                share_of_leavers=share(row["participants"], row["leavers"]),
            )
            for row in outcomes
        ],
        time_to_offer=[
            TimeToOffer(
                **{
                    **row,
                    "median_days_to_offer": _days(row["median_days_to_offer"]),
                    "median_fixed_term_months": _days(row["median_fixed_term_months"]),
                },
                share_within_4_months=share(
                    row["offered_within_4_months"], row["four_months_passed"]
                ),
            )
            for row in map(dict, offers)
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
        esf_at_entry=_indicators(at_entry, _AT_ENTRY, period),
        esf_results=_indicators(results, _RESULTS, period),
        targets=_progress(targets, reached, period_to or now.date()),
    )


def _stage(row: asyncpg.Record, stage: Stage) -> FunnelStage:
    """One stage of one partner's funnel; the longer-term one with its response rate."""
    longer_term = stage == "employed_at_6_months"
    return FunnelStage(
        partner_id=row["partner_id"],
        stage=stage,
        participants=row[stage],
        enrolled=row["enrolled"],
        share_of_enrolled=share(row[stage], row["enrolled"]),
        asked=row["asked_6_months"] if longer_term else None,
        response_rate=share(row["answered_6_months"], row["asked_6_months"])
        if longer_term
        else None,
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
            placeholder=partner in targets.placeholders,
            participants=counts.get(partner, 0),
            share_of_target=share(counts.get(partner, 0), target),
            expected_by_now=round(target * due),
        )
        for partner, target in goals
    ]


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _indicators(
    rows: Sequence[asyncpg.Record],
    figures: Iterable[Figure],
    period: tuple[date | None, date | None],
) -> list[Indicator]:
    """One indicator per figure, partner and gender, with its denominator; a longer-term result
    with those asked, those who did not answer (unknown) and the response rate.

    Rows come per partner and in total, each for every gender together and for each gender;
    a gender nobody has is there too, with zeros. What is counted apart because no gender is
    recorded is given for every gender together only.
    """
    figures = tuple(figures)
    found = {(row["partner_id"], row["gender"]): row for row in rows}
    partners = sorted({partner for partner, _ in found}, key=lambda p: (p is None, p or ""))
    indicators: list[Indicator] = []
    for partner in partners:
        for gender in (None, *GENDERS):
            row = found.get((partner, gender))
            for code, name, base in figures:
                if gender is not None and name in _ALL_GENDERS_ONLY:
                    continue
                count, denominator = (row[name], row[base]) if row is not None else (0, 0)
                asked = answered = None
                if name in _LONGER_TERM:
                    asked_column, answered_column = _LONGER_TERM[name]
                    asked, answered = (
                        (row[asked_column], row[answered_column]) if row is not None else (0, 0)
                    )
                indicators.append(
                    Indicator(
                        period_from=period[0],
                        period_to=period[1],
                        partner_id=partner,
                        gender=gender,
                        code=code,
                        indicator=name,
                        participants=count,
                        denominator=denominator,
                        base=base,
                        share=share(count, denominator),
                        asked=asked,
                        unknown=None if asked is None or answered is None else asked - answered,
                        response_rate=None if answered is None else share(answered, asked or 0),
                    )
                )
    return indicators

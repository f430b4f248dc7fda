"""A programme cohort over years, through the real workflows on the time-skipping server.

People enrol through the programme's first three quarters, each with a behaviour: steady, a
trainee who competes for the catalogue's seats (and may drop out), silent for good, silent then
back after dormancy, gone quiet for a while (nudged), withdrawn, moved away, ineligible. Their
partners report milestones by Update at each person's pace; the bench advances time one
programme day at a time with `env.sleep` and never waits on workflow results. The worker is
the real one (`python -m worker`) connected to the test server.
"""

import asyncio
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from api.enrolment import enrol
from bench.people import birth_date, national_number
from bench.stack import BIN, Process, codec_keys, embedded_postgres, wait_for_log
from infra.codec import Keyring, data_converter
from infra.contract import SEARCH_ATTRIBUTES
from infra.settings import get_settings
from tests.keys import milestone_key
from trajectory.catalogue import load_catalogue
from trajectory.eligibility import BRUSSELS_POSTCODES
from trajectory.enrolment import DeclaredStatus, Enrolment, Person
from trajectory.milestones import Milestone, MilestoneType
from trajectory.phases import Phase, Status
from trajectory.programme import PartnerProgramme
from trajectory.programmes import load_programmes
from trajectory.requests import RecordMilestone
from trajectory.state import TrajectoryState
from workflows.trajectory import ParticipantTrajectory

Say = Callable[[str], None]
CONCURRENCY = 48
ENROLMENT_SHARE = 0.75
"""People enrol during this share of the programme's years; the rest is for their journeys."""
BEHAVIOURS: dict[str, float] = {
    "steady": 0.33,
    "trainee": 0.25,
    "quiet_spell": 0.10,
    "silent": 0.10,
    "wakes": 0.05,
    "follow_up_silent": 0.07,
    "withdraws": 0.04,
    "moves": 0.02,
    "ineligible": 0.04,
}
KEEP_IN_TOUCH = (
    MilestoneType.COACHING_SESSION_HELD,
    MilestoneType.BASIC_SKILLS_SESSION,
    MilestoneType.REMOBILISATION_ACTIVITY,
    MilestoneType.PERSONAL_DEVELOPMENT_WORKSHOP,
    MilestoneType.APPLICATION_SENT,
    MilestoneType.JOB_DAY_ATTENDED,
)
PAYLOADS: dict[MilestoneType, dict[str, Any]] = {
    MilestoneType.DIGITAL_ASSESSED: {"level": 3},
    MilestoneType.COACH_ASSIGNED: {"coach_ref": "coach-7"},
    MilestoneType.COACHING_SESSION_HELD: {"mode": "individual"},
    MilestoneType.TRAINING_COMPLETED: {"qualification": "certificate"},
    MilestoneType.TRAINING_DROPPED: {"reason": "found the course too hard"},
    MilestoneType.WITHDRAWN: {"reason": "no longer wishes to take part"},
}
SEAT_PATIENCE_DAYS = 60
"""A trainee on a waiting list this long looks for a placement instead."""
NEVER = 10**9


@dataclass
class Member:
    """One person of the cohort and where their partner is with them."""

    number: int
    partner_id: str
    behaviour: str
    enrol_day: int
    pace: int
    stop_after: int
    """silent, withdraws, moves: the step at which it happens."""
    next_day: int = 0
    steps: int = 0
    handle: WorkflowHandle[ParticipantTrajectory, Any] | None = None
    waiting_since: int | None = None
    training_sessions: int = 0
    woken: bool = False
    gave_up_training: bool = False
    done: bool = False


@dataclass
class Tally:
    milestones: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    queries: int = 0
    query_s: float = 0.0
    update_s: float = 0.0
    enrolled: int = 0
    enrol_s: float = 0.0
    action_s: float = 0.0
    sleep_s: float = 0.0


def members(size: int, days: int, seed: int = 2026) -> list[Member]:
    pick = random.Random(seed)
    partners = sorted(load_programmes())
    kinds, weights = zip(*BEHAVIOURS.items(), strict=True)
    enrol_days = max(1, int(days * ENROLMENT_SHARE))
    return [
        Member(
            number=n,
            partner_id=partners[n % len(partners)],
            behaviour=pick.choices(kinds, weights)[0],
            enrol_day=pick.randrange(enrol_days),
            pace=pick.randint(3, 14),
            stop_after=pick.randint(1, 14),
        )
        for n in range(size)
    ]


def enrolment_of(member: Member, first_day: date, pick: random.Random) -> Enrolment:
    """The member's enrolment; birth dates count from the programme's first day, so that
    national numbers stay unique however late each member enrols."""
    programme = load_programmes()[member.partner_id]
    born = birth_date(first_day, member.number, member.number % 7)
    postcode = pick.choice(sorted(BRUSSELS_POSTCODES))
    employed = False
    if member.behaviour == "ineligible":
        postcode, employed = ("2000", False) if member.number % 2 else (postcode, True)
    return Enrolment(
        external_ref=f"COHORT-{member.number:05d}",
        partner_id=member.partner_id,
        person=Person(
            given_name="Cohort",
            family_name=f"Member{member.number}",
            birth_date=born,
            national_number=national_number(born, member.number % 997 + 1),
            postcode=postcode,
            language=programme.languages[member.number % len(programme.languages)],
        ),
        status=DeclaredStatus(
            employed=employed, in_education=False, in_training=False, other_measure=False
        ),
    )


def _touch(
    programme: PartnerProgramme, phase: Phase, later: int
) -> tuple[MilestoneType, dict[str, Any], int]:
    """A regular activity of the partner in this phase, or else a plain contact."""
    usable = programme.steps(phase).milestones
    kind = next((k for k in KEEP_IN_TOUCH if k in usable), MilestoneType.PARTICIPANT_CONTACT)
    return kind, PAYLOADS.get(kind, {}), later


def _payload(kind: MilestoneType, state: TrajectoryState, today: date) -> dict[str, Any]:
    if kind == MilestoneType.LANGUAGE_ASSESSED:
        return {"language": state.language, "level": "B1"}
    if kind == MilestoneType.PLACEMENT_STARTED:
        return {
            "kind": "employment",
            "start_date": today.isoformat(),
            "employer": "Canal Logistics",
        }
    if kind == MilestoneType.FOLLOW_UP_CONTACT:
        return {"in_employment": True}
    return PAYLOADS.get(kind, {})


def next_step(
    member: Member, state: TrajectoryState, day: int, now: datetime, pick: random.Random
) -> tuple[MilestoneType | None, dict[str, Any], int]:
    """The milestone the partner reports now (or None) and the day to look again."""
    programme = state.programme
    later = day + member.pace
    if state.status == Status.DORMANT:
        if member.behaviour == "wakes" and not member.woken:
            member.woken = True
            return MilestoneType.PARTICIPANT_CONTACT, {}, later
        return None, {}, day + 30
    if member.behaviour == "silent" and member.steps >= member.stop_after:
        return None, {}, NEVER  # the nudge ladder, dormancy and lost contact do the rest
    if member.behaviour == "wakes" and member.steps >= member.stop_after and not member.woken:
        return None, {}, day + 30
    if member.behaviour == "withdraws" and member.steps >= member.stop_after:
        return MilestoneType.WITHDRAWN, PAYLOADS[MilestoneType.WITHDRAWN], later
    if member.behaviour == "moves" and member.steps >= member.stop_after:
        return MilestoneType.MOVED_AWAY, {}, later
    if member.behaviour == "quiet_spell" and pick.random() < 0.15:
        later += pick.randint(20, 45)  # silent long enough to be nudged, then back
    seen = set(state.seen_types)
    phase = state.phase
    if phase in (Phase.INTAKE, Phase.ASSESSMENT, Phase.COACHING):
        missing = [kind for kind in programme.steps(phase).required if kind not in seen]
        if missing:
            kind = missing[0]
            return kind, _payload(kind, state, now.date()), later
    if phase == Phase.COACHING:
        wants_training = member.behaviour == "trainee" and not member.gave_up_training
        if wants_training and state.seat is not None and state.seat.status == "offered":
            return MilestoneType.TRAINING_ENROLLED, {"course_id": state.seat.course_id}, later
        if wants_training and state.seat is not None:
            member.waiting_since = member.waiting_since or day
            if day - member.waiting_since > SEAT_PATIENCE_DAYS:
                member.gave_up_training = True
            return _touch(programme, phase, later)
        if wants_training and state.training is None:
            course = pick.choice(load_catalogue().courses).course_id
            return MilestoneType.TRAINING_ENROLLED, {"course_id": course}, later
        kind = MilestoneType.PLACEMENT_STARTED
        return kind, _payload(kind, state, now.date()), later
    if phase == Phase.TRAINING:
        member.training_sessions += 1
        if member.training_sessions <= 6:
            return _touch(programme, phase, later)
        dropped = pick.random() < 0.2
        member.gave_up_training = dropped  # a dropout frees the seat for the next in line
        kind = MilestoneType.TRAINING_DROPPED if dropped else MilestoneType.TRAINING_COMPLETED
        return kind, PAYLOADS[kind], later
    if phase == Phase.PLACEMENT:
        if state.placement is not None:
            return None, {}, day + programme.placement_settling_days + 2
        if pick.random() < 0.5:
            return _touch(programme, phase, later)
        kind = MilestoneType.PLACEMENT_STARTED
        return kind, _payload(kind, state, now.date()), later
    if phase == Phase.FOLLOW_UP:
        check = next((c for c in state.follow_ups if not c.settled), None)
        if check is None:
            return None, {}, later
        if check.opens_at > now:
            return None, {}, day + max(1, (check.opens_at - now).days + 1)
        if member.behaviour == "follow_up_silent" and check.name != "on_leaving":
            return None, {}, day + 30
        kind = MilestoneType.FOLLOW_UP_CONTACT
        return kind, _payload(kind, state, now.date()), day + 30
    return None, {}, later


async def act(member: Member, day: int, now: datetime, tally: Tally, pick: random.Random) -> None:
    assert member.handle is not None
    began = time.monotonic()
    state = await member.handle.query(ParticipantTrajectory.state)
    tally.queries += 1
    tally.query_s += time.monotonic() - began
    if state.status == Status.CLOSED:
        member.done = True
        return
    if state.eligibility == "pending":
        member.next_day = day + 1
        return
    kind, payload, member.next_day = next_step(member, state, day, now, pick)
    if kind is None:
        return
    milestone = Milestone(
        milestone_id=f"cohort-{member.number}-{member.steps}",
        type=kind,
        occurred_at=now,
        payload=payload,
    )
    member.steps += 1
    began = time.monotonic()
    try:
        await member.handle.execute_update(
            ParticipantTrajectory.record_milestone, RecordMilestone.of(milestone, milestone_key())
        )
        tally.milestones += 1
        tally.update_s += time.monotonic() - began
    except WorkflowUpdateFailedError as error:
        cause = str(error.cause or error)[:100]
        tally.refused[f"{kind.value} in {state.phase.value}: {cause}"] += 1
        if kind == MilestoneType.TRAINING_ENROLLED:
            member.gave_up_training = True


async def _register_attributes(env: WorkflowEnvironment) -> None:
    """The test server adds search attributes but cannot list them: add without looking."""
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
                for key in SEARCH_ATTRIBUTES
            },
        )
    )


async def _init_connection(con: "asyncpg.Connection[asyncpg.Record]") -> None:
    await con.set_type_codec("jsonb", schema="pg_catalog", encoder=json.dumps, decoder=json.loads)


async def simulate(
    env: WorkflowEnvironment, pool: "asyncpg.Pool[asyncpg.Record]", cohort: list[Member],
    days: int, tally: Tally, say: Say,
) -> None:  # fmt: skip
    pick = random.Random(7)
    gate = asyncio.Semaphore(CONCURRENCY)
    start = await env.get_current_time()

    async def enrol_member(member: Member) -> None:
        async with gate:
            began = time.monotonic()
            enrolled = await enrol(
                env.client, pool, enrolment_of(member, start.date(), pick), day_seconds=86400.0
            )
            member.handle = enrolled.handle
            member.next_day = member.enrol_day + 1
            tally.enrolled += 1
            tally.enrol_s += time.monotonic() - began

    async def act_member(member: Member, day: int, now: datetime) -> None:
        async with gate:
            await act(member, day, now, tally, pick)

    for day in range(days):
        began = time.monotonic()
        now = await env.get_current_time()
        jobs = [enrol_member(m) for m in cohort if m.enrol_day == day]
        jobs += [
            act_member(m, day, now)
            for m in cohort
            if m.handle is not None and not m.done and m.next_day <= day
        ]
        await asyncio.gather(*jobs)
        slept = time.monotonic()
        tally.action_s += slept - began
        await env.sleep(timedelta(days=1))
        tally.sleep_s += time.monotonic() - slept
        if day % 90 == 0:
            open_now = sum(1 for m in cohort if m.handle is not None and not m.done)
            say(f"cohort: day {day} of {days} ({(now - start).days} skipped), {open_now} open")


async def _read_model(pool: "asyncpg.Pool[asyncpg.Record]") -> dict[str, Any]:
    outcomes = await pool.fetch(
        "SELECT coalesce(outcome, phase || ' (open)') AS o, count(*) AS n FROM trajectories"
        " GROUP BY 1 ORDER BY 2 DESC"
    )
    return {
        "outcomes": {row["o"]: row["n"] for row in outcomes},
        "nudges": await pool.fetchval("SELECT count(*) FROM nudges"),
        "milestones_recorded": await pool.fetchval("SELECT count(*) FROM milestones"),
        "phase_transitions": await pool.fetchval("SELECT count(*) FROM phase_transitions"),
        "reached_training": await pool.fetchval(
            "SELECT count(DISTINCT participant_id) FROM phase_transitions"
            " WHERE to_phase = 'training'"
        ),
        "ever_dormant": await pool.fetchval(
            "SELECT count(DISTINCT participant_id) FROM phase_transitions WHERE status = 'dormant'"
        ),
    }


async def run_cohort(path: Path, size: int, years: float, say: Say) -> dict[str, Any]:
    """Run the cohort; its wall time, what it did and where the time went."""
    days = int(years * 365.25)
    keys = codec_keys()
    # `enrol` seals personal data with this process's configured keys: the worker's own.
    os.environ["PARCOURS_CODEC_KEYS"] = keys
    os.environ["PARCOURS_DATA_DIR"] = str(path / "data")
    os.environ["PARCOURS_ENV"] = "development"
    get_settings.cache_clear()
    began = time.monotonic()
    postgres, url = await asyncio.to_thread(embedded_postgres, path)
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(Keyring.parse(keys)),
        test_server_existing_path=str(BIN / "temporal-test-server"),
    )
    worker: Process | None = None
    try:
        await _register_attributes(env)
        environment = {
            **os.environ,
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "DATABASE_URL": url,
            "PARCOURS_CODEC_KEYS": keys,
            "PARCOURS_ENV": "development",
            "PARCOURS_DATA_DIR": str(path / "data"),
        }
        worker = await Process.start(
            "cohort worker", (sys.executable, "-m", "worker"), environment, path / "worker.log"
        )
        await wait_for_log(worker, "worker_started")
        pool = await asyncpg.create_pool(url, init=_init_connection)
        try:
            cohort = members(size, days)
            tally = Tally()
            ready = time.monotonic()
            say(f"cohort: {size} people over {days} programme days")
            await simulate(env, pool, cohort, days, tally, say)
            simulated = time.monotonic() - ready
            read_model = await _read_model(pool)
        finally:
            await pool.close()
        return {
            "participants": size,
            "programme_days": days,
            "wall_s": round(simulated, 1),
            "setup_s": round(ready - began, 1),
            "enrolled": tally.enrolled,
            "milestones_sent": tally.milestones,
            "refused": dict(tally.refused.most_common(12)),
            "state_queries": tally.queries,
            "mean_query_ms": round(1000 * tally.query_s / max(1, tally.queries), 1),
            "mean_update_ms": round(1000 * tally.update_s / max(1, tally.milestones), 1),
            "mean_enrol_ms": round(1000 * tally.enrol_s / max(1, tally.enrolled), 1),
            "concurrency": CONCURRENCY,
            "time_in_actions_s": round(tally.action_s, 1),
            "time_in_env_sleep_s": round(tally.sleep_s, 1),
            "behaviours": dict(Counter(m.behaviour for m in cohort)),
            "worker_rss_mib": round(worker.rss() / 2**20, 1),
            **read_model,
        }
    finally:
        if worker is not None:
            await worker.stop()
        await env.shutdown()
        await asyncio.to_thread(postgres.cleanup)

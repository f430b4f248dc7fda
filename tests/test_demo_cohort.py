"""The demo cohort of `make dev`: believable people, all seven partners, sensible next steps."""

import asyncio
import contextlib
import dataclasses
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app, hold
from api.models import ParticipantPublic
from infra.database import Pool
from infra.settings import Settings
from starter.demo import behaviour
from starter.demo.behaviour import COURSE_ID, Action, Steering, next_action
from starter.demo.cohort import Behaviour, DemoParticipant, Profile, demo_cohort
from starter.demo.driver import Driver
from starter.demo.keys import DemoKeys
from tests.api_fixtures import Keys
from tests.keys import milestone_key
from trajectory.admission import milestone_refusal, missing_steps
from trajectory.eligibility import EligibilityFacts, check_eligibility
from trajectory.milestones import Milestone
from trajectory.milestones import MilestoneType as M
from trajectory.niss import parse_niss
from trajectory.phases import Outcome, Phase, Status
from trajectory.programmes import PARTNER_IDS, load_programme
from trajectory.recording import decide_eligibility, record
from trajectory.records import EligibilityDecision, SeatDecision, SeatOffer
from trajectory.requests import RecordMilestone
from trajectory.seat_rules import offer_seat
from trajectory.silence import fire, next_timer
from trajectory.snapshots import snapshot_of
from trajectory.state import TrajectoryState
from trajectory.steering import pause, resume

TODAY = date(2026, 3, 10)
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
DAY = timedelta(seconds=1)
"""The dev stack's clock: one programme day per second."""


def _facts(member: DemoParticipant, on: date) -> EligibilityFacts:
    person, status = member.enrolment.person, member.enrolment.status
    return EligibilityFacts(
        postcode=person.postcode,
        birth_date=person.birth_date,
        national_number=person.national_number,
        enrolled_on=on,
        employed=status.employed,
        in_education=status.in_education,
        in_training=status.in_training,
        other_measure_declared=status.other_measure,
        in_other_measure_registry=False,
    )


def _enrolled(partner_id: str, at: datetime = START) -> TrajectoryState:
    """An eligible participant who has just started, on the dev stack's clock."""
    state = TrajectoryState.enrol("p-demo", load_programme(partner_id), "1080", "fr", at, 1.0)
    decide_eligibility(state, EligibilityDecision(eligible=True), at)
    return state


def _member(profile: Profile, partner_id: str) -> DemoParticipant:
    """A demo participant of `partner_id` who follows `profile`."""
    member = next(m for m in demo_cohort(TODAY) if m.enrolment.partner_id == partner_id)
    return dataclasses.replace(member, profile=profile)


def _next_action(profile: Profile, state: TrajectoryState, now: datetime) -> Action | None:
    """What the driver does next, deciding from the state as the API shows it."""
    seen = ParticipantPublic.from_snapshot(snapshot_of(state, now))
    return next_action(_member(profile, state.partner_id), seen, now, DAY)


def _apply(state: TrajectoryState, action: Action | None, now: datetime) -> None:
    match action:
        case Milestone():
            _record(state, action, now)
        case Steering(kind="pause"):
            pause(state, action.reason, now)
        case Steering(kind="resume"):
            resume(state, action.reason, now)


def _record(
    state: TrajectoryState, milestone: Milestone, now: datetime, seat: SeatDecision | None = None
) -> None:
    """Record `milestone` as the workflow would once its validator allowed it."""
    recorded = RecordMilestone.of(milestone, milestone_key())
    if state.milestones.get(milestone.milestone_id) == recorded.fingerprint:
        return
    refusal = milestone_refusal(state, recorded, now)
    assert refusal is None, refusal
    record(state, recorded, now, seat)


def _milestone(action: object) -> Milestone:
    assert isinstance(action, Milestone), action
    return action


# -- the cohort -------------------------------------------------------------------------------


def test_the_cohort_has_six_participants_with_each_of_the_seven_partners() -> None:
    cohort = demo_cohort(TODAY)
    assert len(cohort) == 42
    per_partner = Counter(member.enrolment.partner_id for member in cohort)
    assert per_partner == dict.fromkeys(PARTNER_IDS, 6)
    assert [member.external_ref for member in cohort] == [f"DEMO-{n:04d}" for n in range(1, 43)]


def test_every_partner_sees_six_different_profiles_and_every_behaviour_occurs() -> None:
    cohort = demo_cohort(TODAY)
    for partner_id in PARTNER_IDS:
        profiles = {m.profile for m in cohort if m.enrolment.partner_id == partner_id}
        assert len(profiles) == 6, partner_id
    assert {member.profile.behaviour for member in cohort} == set(Behaviour)


def test_the_cohort_is_the_same_on_a_restart_the_same_day() -> None:
    assert demo_cohort(TODAY) == demo_cohort(TODAY)


def test_each_participant_speaks_a_language_of_their_partner() -> None:
    for member in demo_cohort(TODAY):
        assert (
            member.enrolment.person.language
            in load_programme(member.enrolment.partner_id).languages
        )


def test_only_the_ineligible_profiles_are_turned_away_at_intake_each_for_one_reason() -> None:
    reasons: list[str] = []
    for member in demo_cohort(TODAY):
        decision = check_eligibility(_facts(member, TODAY))
        if member.profile.behaviour == Behaviour.INELIGIBLE:
            assert len(decision.reasons) == 1, decision.reasons
            reasons.append(decision.reasons[0].code)
        else:
            assert decision.eligible, (member.external_ref, decision.reasons)
    assert set(reasons) == {"postcode_outside_region", "too_old", "employed"}


def test_every_national_number_is_valid_and_matches_the_birth_date_and_sex() -> None:
    cohort = demo_cohort(TODAY)
    numbers = {member.enrolment.person.national_number for member in cohort}
    assert len(numbers) == len(cohort)
    centuries = set()
    for member in cohort:
        person = member.enrolment.person
        info = parse_niss(person.national_number)
        assert info.birth_date == person.birth_date
        centuries.add(info.birth_year // 100)
    assert centuries == {19, 20}


# -- what the partner does next ---------------------------------------------------------------


def test_nothing_is_reported_before_the_partner_s_pace_then_the_intake_interview() -> None:
    state = _enrolled("jes")
    steady = Profile(Behaviour.STEADY, pace_days=4)
    assert _next_action(steady, state, START + 3 * DAY) is None
    action = _milestone(_next_action(steady, state, START + 4 * DAY))
    assert action.type == M.INTAKE_INTERVIEW_HELD
    assert action.milestone_id == "demo-0-intake_interview_held"


def test_the_same_state_gives_the_same_milestone_id_so_a_restarted_driver_records_once() -> None:
    state = _enrolled("inbrussel")
    steady = Profile(Behaviour.STEADY, pace_days=2)
    first = _milestone(_next_action(steady, state, START + 2 * DAY))
    again = _milestone(_next_action(steady, state, START + 3 * DAY))
    assert first.milestone_id == again.milestone_id
    _record(state, first, START + 2 * DAY)
    refusal = milestone_refusal(state, RecordMilestone.of(again, milestone_key()), START + 3 * DAY)
    assert refusal is not None and refusal.kind == "reused"  # the API answers 409: already there
    assert list(state.milestones) == [first.milestone_id]


def test_a_steady_participant_works_through_the_partner_s_coaching_steps_then_is_placed() -> None:
    state = _enrolled("infor-jeunes")
    steady = Profile(Behaviour.STEADY, pace_days=1, placement="education")
    now = START
    reported: list[M] = []
    while state.phase != Phase.PLACEMENT:
        now += DAY
        action = _milestone(_next_action(steady, state, now))
        reported.append(action.type)
        _record(state, action, now)
    assert reported == [
        M.INTAKE_INTERVIEW_HELD,
        M.SITUATION_STABILISED,  # from the first meeting, before any test
        M.LANGUAGE_ASSESSED,
        M.DIGITAL_ASSESSED,
        M.COACH_ASSIGNED,
        M.INTEGRATION_PROJECT_DEFINED,
        M.ACTION_PLAN_AGREED,
        M.PLACEMENT_STARTED,
    ]
    assert state.placement is not None and state.placement.kind == "education"


def test_a_trainee_enrols_in_the_bike_courier_course_once_coaching_is_done() -> None:
    state = _enrolled("jes")
    trainee = Profile(Behaviour.TRAINEE, pace_days=1, phase_steps=2, search_steps=1)
    now = START
    while state.phase != Phase.TRAINING:
        now += DAY
        _record(state, _milestone(_next_action(trainee, state, now)), now)
    assert state.training is not None and state.training.course_id == COURSE_ID
    kinds = []
    while state.phase == Phase.TRAINING:
        now += DAY
        action = _milestone(_next_action(trainee, state, now))
        kinds.append(action.type)
        _record(state, action, now)
    assert kinds == [M.BASIC_SKILLS_SESSION, M.BASIC_SKILLS_SESSION, M.TRAINING_COMPLETED]
    assert state.phase == Phase.PLACEMENT and state.placement is None


def test_a_trainee_on_the_waiting_list_keeps_coming_to_sessions_and_takes_an_offered_seat() -> None:
    state = _enrolled("groep-intro")
    trainee = Profile(Behaviour.TRAINEE, pace_days=1)
    now = START
    while state.phase == Phase.INTAKE or missing_steps(state):
        now += DAY
        _record(state, _milestone(_next_action(trainee, state, now)), now)
    now += DAY
    first = _milestone(_next_action(trainee, state, now))
    assert first.type == M.TRAINING_ENROLLED
    _record(state, first, now, SeatDecision(course_id=COURSE_ID, granted=False, position=3))
    assert state.phase == Phase.COACHING
    now += DAY
    assert _milestone(_next_action(trainee, state, now)).type == M.COACHING_SESSION_HELD
    offer_seat(
        state, SeatOffer(participant_id="p-demo", course_id=COURSE_ID, offered_until=now + 5 * DAY)
    )
    accept = _milestone(_next_action(trainee, state, now))
    assert accept.type == M.TRAINING_ENROLLED
    assert accept.milestone_id != first.milestone_id
    _record(state, accept, now, SeatDecision(course_id=COURSE_ID, granted=True))
    assert state.training is not None and state.training.course_id == COURSE_ID


def test_a_placement_that_ends_early_means_more_coaching_then_a_new_placement() -> None:
    state = _enrolled("orientaeuro")
    early_end = Profile(Behaviour.EARLY_END, pace_days=1, placement_days=5, phase_steps=2)
    now = START
    while state.placement is None:
        now += DAY
        _record(state, _milestone(_next_action(early_end, state, now)), now)
    assert _next_action(early_end, state, now + 2 * DAY) is None
    now += 5 * DAY
    ended = _milestone(_next_action(early_end, state, now))
    assert ended.type == M.PLACEMENT_ENDED
    _record(state, ended, now)
    assert state.phase == Phase.COACHING
    kinds = []
    while state.phase == Phase.COACHING:
        now += DAY
        action = _milestone(_next_action(early_end, state, now))
        kinds.append(action.type)
        _record(state, action, now)
    assert kinds == [M.COACHING_SESSION_HELD, M.COACHING_SESSION_HELD, M.PLACEMENT_STARTED]


def test_a_silent_participant_reports_nothing_even_when_nudged() -> None:
    state = _enrolled("backstage")
    silent = Profile(Behaviour.SILENT, pace_days=3, event_day=2)
    state.nudge_level = 2
    assert _next_action(silent, state, START + 30 * DAY) is None


def test_a_participant_who_wakes_gets_in_touch_only_after_some_time_dormant() -> None:
    state = _enrolled("groep-intro")
    wakes = Profile(Behaviour.WAKES, pace_days=3, event_day=2, wake_after_days=20)
    assert _next_action(wakes, state, START + 10 * DAY) is None
    dormant_at = START + 28 * DAY
    state.status, state.dormant_since = Status.DORMANT, dormant_at
    assert _next_action(wakes, state, dormant_at + 19 * DAY) is None
    contact = _milestone(_next_action(wakes, state, dormant_at + 20 * DAY))
    assert contact.type == M.PARTICIPANT_CONTACT
    _record(state, contact, dormant_at + 20 * DAY)
    assert state.status == Status.ACTIVE
    follows = _milestone(_next_action(wakes, state, dormant_at + 23 * DAY))
    assert follows.type == M.INTAKE_INTERVIEW_HELD


def test_a_case_manager_pauses_for_parental_leave_and_resumes_afterwards() -> None:
    state = _enrolled("art2work")
    paused = Profile(Behaviour.PAUSED, event_day=1, until_day=100, pause_reason="parental leave")
    pause = _next_action(paused, state, START + DAY)
    assert pause == Steering("pause", "parental leave")
    _apply(state, pause, START + DAY)
    assert _next_action(paused, state, START + 50 * DAY) is None
    resume = _next_action(paused, state, START + 100 * DAY)
    assert resume == Steering("resume", "back after parental leave")
    _apply(state, resume, START + 100 * DAY)
    assert (
        _milestone(_next_action(paused, state, START + 100 * DAY)).type == M.INTAKE_INTERVIEW_HELD
    )


@pytest.mark.parametrize(
    ("behaviour", "kind", "outcome"),
    [
        (Behaviour.WITHDRAWS, M.WITHDRAWN, Outcome.WITHDRAWN),
        (Behaviour.MOVES, M.MOVED_AWAY, Outcome.MOVED_AWAY),
    ],
)
def test_leaving_the_programme_closes_the_trajectory_and_then_nothing_more_is_sent(
    behaviour: Behaviour, kind: M, outcome: Outcome
) -> None:
    state = _enrolled("inbrussel")
    profile = Profile(behaviour, pace_days=3, event_day=20)
    now = START + 20 * DAY
    action = _milestone(_next_action(profile, state, now))
    assert action.type == kind
    _record(state, action, now)
    assert state.outcome == outcome
    assert _next_action(profile, state, now + 10 * DAY) is None


def test_follow_up_check_ins_are_answered_once_they_open() -> None:
    state = _enrolled("groep-intro")
    steady = Profile(Behaviour.STEADY, pace_days=1)
    now = START
    while state.placement is None:
        now += DAY
        _record(state, _milestone(_next_action(steady, state, now)), now)
    now = state.placement.settles_at
    leave = next_timer(state, now)
    assert leave is not None and leave.kind == "leave"
    fire(state, leave, now)
    assert state.phase == Phase.FOLLOW_UP
    answer = _milestone(_next_action(steady, state, now + DAY))
    assert answer.type == M.FOLLOW_UP_CONTACT and answer.payload_json()["in_employment"] is True
    _record(state, answer, now + DAY)
    assert _next_action(steady, state, now + 30 * DAY) is None


# -- the whole cohort on the dev stack's clock ------------------------------------------------


def test_after_two_minutes_every_phase_and_every_kind_of_ending_can_be_found() -> None:
    """The demo as `make dev` runs it: enrolled over 20 s, one step per 2 s tick, timers firing."""
    cohort = demo_cohort(START.date())
    states: dict[int, TrajectoryState] = {}
    for second in range(121):
        now = START + second * DAY
        for index, member in enumerate(cohort):
            if member.number not in states and second >= index * 20 / len(cohort):
                state = TrajectoryState.enrol(
                    f"p-{member.number}",
                    load_programme(member.enrolment.partner_id),
                    member.enrolment.person.postcode,
                    member.enrolment.person.language,
                    now,
                    1.0,
                )
                decide_eligibility(state, check_eligibility(_facts(member, now.date())), now)
                states[member.number] = state
        for running in states.values():
            while (timer := next_timer(running, now)) is not None and timer.at <= now:
                fire(running, timer, now)
        if second % 2 == 0:
            for member in cohort:
                if (current := states.get(member.number)) is not None:
                    seen = ParticipantPublic.from_snapshot(snapshot_of(current, now))
                    _apply(current, next_action(member, seen, now, DAY), now)

    assert {s.phase for s in states.values()} == set(Phase)
    # `needs_attention` is the engine's own trouble, which the demo's people never cause.
    assert {s.status for s in states.values()} == set(Status) - {Status.NEEDS_ATTENTION}
    assert {s.outcome for s in states.values()} >= {
        Outcome.INELIGIBLE,
        Outcome.WITHDRAWN,
        Outcome.MOVED_AWAY,
        Outcome.LOST_CONTACT,
    }
    assert any(s.nudge_level > 0 and s.status == Status.ACTIVE for s in states.values())
    assert any(s.status == Status.DORMANT for s in states.values())


# -- the driver through the API ---------------------------------------------------------------

DRIVEN_DAY = timedelta(seconds=0.1)
"""A programme day of the driven run: ten a second, so that seconds hold weeks (twenty let a
loaded machine fall behind until a trajectory ran out its maximum duration)."""
DRIVEN = {
    41: Behaviour.STEADY,
    34: Behaviour.PAUSED,
    4: Behaviour.TRAINEE,
    13: Behaviour.MOVES,
}
"""Demo participants of JES and InBrussel, whose partner keys the session has."""

_PROGRESS = """
SELECT p.external_ref, t.outcome,
    (SELECT count(*) FROM milestones m WHERE m.participant_id = p.participant_id
        AND m.recorded_by = 'partner' AND m.milestone_id LIKE 'demo-%') AS reported,
    ARRAY(SELECT to_phase FROM phase_transitions x WHERE x.participant_id = p.participant_id)
        AS phases,
    ARRAY(SELECT code FROM phase_transitions x WHERE x.participant_id = p.participant_id)
        AS causes
FROM participants p JOIN trajectories t USING (participant_id)
WHERE p.external_ref LIKE $1
"""


def _got_there(rows: list[asyncpg.Record]) -> bool:
    """Each driven participant went as far as a few seconds allow with their profile."""
    by_number = {int(row["external_ref"].rsplit("-", 1)[1]): row for row in rows}
    if by_number.keys() != DRIVEN.keys():
        return False
    steady, paused, trainee, moves = (by_number[n] for n in DRIVEN)
    return (
        steady["reported"] >= 7
        and "follow_up" in steady["phases"]
        and "paused" in paused["causes"]  # the case manager's reasons are sealed
        and "resumed" in paused["causes"]
        and "training" in trainee["phases"]
        and moves["outcome"] == "moved_away"
    )


async def test_the_driver_enrols_reports_and_steers_through_the_api_like_a_partner(
    dev_env: WorkflowEnvironment,
    dev_worker: Worker,
    pool: Pool,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The trainee's course is a copy no other test asks for: seats earlier tests took in the
    # session's database would put the trainee on a waiting list until its maximum duration.
    course_id = f"demo-{uuid.uuid4().hex[:10]}"
    await pool.execute(
        "INSERT INTO courses SELECT $1, catalogue_version, provider, title, domain, sector,"
        " occupation, bottleneck_occupation, language, min_language_level, min_digital_level,"
        " seats, starts_on, ends_on, location FROM courses WHERE course_id = $2",
        course_id,
        COURSE_ID,
    )
    monkeypatch.setattr(behaviour, "COURSE_ID", course_id)
    settings = Settings(
        temporal_namespace=dev_env.client.namespace, seconds_per_day=DRIVEN_DAY.total_seconds()
    )
    app = create_app(settings)
    hold(app, dev_env.client, pool, settings)
    run = uuid.uuid4().hex[:8]
    people = [
        dataclasses.replace(
            member,
            enrolment=member.enrolment.model_copy(
                update={"external_ref": f"DEMO-{run}-{member.number:04d}"}
            ),
        )
        for member in demo_cohort(date.today())
        if member.number in DRIVEN
    ]
    assert {member.number: member.profile.behaviour for member in people} == DRIVEN
    demo_keys = DemoKeys(
        backend=keys.backend,
        case_manager=keys.case_manager,
        partners={"jes": keys.jes, "inbrussel": keys.inbrussel},
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://parcours.test") as api:
        driver = Driver(api, demo_keys, day=DRIVEN_DAY, tick=0.2, spread=0.0)
        driving = asyncio.create_task(driver.run(people))
        try:
            # 14 s in a serial run here; the driver keeps to the wall clock, and on a loaded
            # machine the workflows' answers lag behind it.
            deadline = asyncio.get_running_loop().time() + 120
            while not _got_there(rows := await pool.fetch(_PROGRESS, f"DEMO-{run}-%")):
                if driving.done():  # every trajectory closed: the read model may still follow
                    driving.result()
                assert asyncio.get_running_loop().time() < deadline, [dict(r) for r in rows]
                await asyncio.sleep(0.2)
        finally:
            driving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driving

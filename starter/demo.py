"""The demo cohort: 42 made-up youths whose partners report milestones through the HTTP API.

The driver acts as a real integration would: the backend enrols with `POST /v1/participants`,
each partner reads its participants and reports milestones with its own key, and a case manager
pauses and resumes. It keeps no state of its own. Every tick it reads each participant's state
and decides the next step from the profile, the phase, the milestone count and elapsed
programme days; a step's milestone id follows from that count, so a re-sent step is recorded
once and a restarted driver carries on where the trajectories are.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any, Literal, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field

from api.models import ParticipantPublic
from infra.database import Pool, open_pool
from infra.logging import configure_logging
from infra.settings import Settings, get_settings
from readmodel.api_keys import create_key, list_keys, revoke_key
from trajectory.actors import Role
from trajectory.eligibility import BRUSSELS_POSTCODES
from trajectory.enrolment import (
    DeclaredStatus,
    EducationLevel,
    Enrolment,
    EntryProfile,
    LabourStatus,
    Person,
    SensitiveAnswer,
)
from trajectory.ladder import NudgeLadder
from trajectory.milestones import Milestone, MilestoneType, PlacementKind
from trajectory.phases import Phase, Status
from trajectory.programme import PartnerProgramme
from trajectory.programmes import PARTNER_IDS, load_programme

log = structlog.stdlib.get_logger(__name__)

T = TypeVar("T")

M = MilestoneType

COHORT_SIZE = 42
ENROLMENT_SPREAD = timedelta(seconds=20)
"""The whole cohort is enrolled within this wall-clock time, one after the other."""
COURSE_ID = "bike-courier-2026"

FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("Mohamed", "male"), ("Yasmine", "female"), ("Adam", "male"), ("Sara", "female"),
    ("Rayan", "male"), ("Lina", "female"), ("Ilyas", "male"), ("Aya", "female"),
    ("Noah", "male"), ("Inès", "female"), ("Ayoub", "male"), ("Nora", "female"),
    ("Louis", "male"), ("Salma", "female"), ("Mehdi", "male"), ("Emma", "female"),
    ("Jonas", "male"), ("Fatima", "female"), ("Amadou", "male"), ("Lore", "female"),
    ("Youssef", "male"), ("Amira", "female"), ("Lucas", "male"), ("Hiba", "female"),
)  # fmt: skip
FAMILY_NAMES: tuple[str, ...] = (
    "El Amrani", "Peeters", "Benali", "Janssens", "Diallo", "Dubois", "Yilmaz", "Maes",
    "Bah", "Lambert", "El Idrissi", "Claes", "Kaya", "Mertens", "Bouzid", "Dupont",
    "Nkosi", "Willems", "Haddad", "Jacobs", "Kabongo", "Lemaire", "Ouali", "Goossens",
)  # fmt: skip
POSTCODES: tuple[str, ...] = tuple(sorted(BRUSSELS_POSTCODES))


def national_number(born: date, counter: int) -> str:
    """A valid INSZ/NISS: birth date, counter (odd for men) and the mod-97 check digits."""
    nine = f"{born:%y%m%d}{counter:03d}"
    checked = int(("2" if born.year >= 2000 else "") + nine)
    return f"{nine}{97 - checked % 97:02d}"


# -- who is in the cohort ---------------------------------------------------------------------


class Behaviour(StrEnum):
    """How a demo participant goes through the programme."""

    STEADY = "steady"
    """Reports every required step, is placed, answers the follow-up check-ins."""
    TRAINEE = "trainee"
    """Like steady, with a training course and a job search before the placement."""
    EARLY_END = "early_end"
    """The first placement ends early: back to coaching, then placed again."""
    SILENT = "silent"
    """Stops answering: nudged, dormant, then lost contact."""
    WAKES = "wakes"
    """Stops answering until dormant, then gets back in touch and carries on."""
    WITHDRAWS = "withdraws"
    MOVES = "moves"
    INELIGIBLE = "ineligible"
    """Lives outside the region, is too old, or has a job: closed at intake."""
    PAUSED = "paused"
    """A case manager pauses the trajectory (illness, parental leave) and resumes it later."""


@dataclass(frozen=True)
class Profile:
    """A behaviour and its clock, in programme days since enrolment or since the last step."""

    behaviour: Behaviour
    pace_days: float = 4.0
    """Programme days between two steps the partner reports."""
    placement: PlacementKind = "employment"
    event_day: float = 0.0
    """silent, wakes: day they go quiet; withdraws, moves: day it happens; paused: day paused."""
    until_day: float = 0.0
    """paused: day the case manager resumes the trajectory."""
    wake_after_days: float = 0.0
    """wakes: days dormant before they get back in touch."""
    phase_steps: int = 0
    """trainee: contacts during the course; early_end: sessions before the next placement."""
    search_steps: int = 0
    """trainee: applications after the course before the placement."""
    placement_days: float = 0.0
    """early_end: days the first placement lasts."""
    pause_reason: str = "illness"


B = Behaviour
PROFILES: tuple[Profile, ...] = (
    Profile(B.STEADY, pace_days=3),
    Profile(B.INELIGIBLE),
    Profile(B.SILENT, pace_days=3, event_day=2),
    Profile(B.TRAINEE, pace_days=4, phase_steps=10, search_steps=6, placement="traineeship"),
    Profile(B.STEADY, pace_days=9, placement="education"),
    Profile(B.EARLY_END, pace_days=4, placement_days=10, phase_steps=8),
    Profile(B.WAKES, pace_days=4, event_day=2, wake_after_days=25),
    Profile(B.PAUSED, pace_days=3, event_day=1, until_day=150, pause_reason="parental leave"),
    Profile(B.WITHDRAWS, pace_days=5, event_day=40),
    Profile(B.STEADY, pace_days=13, placement="apprenticeship"),
    Profile(B.SILENT, pace_days=6, event_day=40),
    Profile(B.TRAINEE, pace_days=6, phase_steps=14, search_steps=4),
    Profile(B.MOVES, pace_days=5, event_day=55),
    Profile(B.PAUSED, pace_days=4, event_day=9, until_day=135, pause_reason="long illness"),
    Profile(B.STEADY, pace_days=6, placement="traineeship"),
    Profile(B.EARLY_END, pace_days=8, placement_days=20, phase_steps=5),
    Profile(B.WAKES, pace_days=10, event_day=65, wake_after_days=20),
    Profile(B.PAUSED, pace_days=4, event_day=30, until_day=70, placement="self_employment"),
    Profile(B.STEADY, pace_days=22),
    Profile(B.SILENT, pace_days=8, event_day=60),
)
"""Dealt out by index; 20 and 7 share no factor, so every partner gets six different profiles."""


@dataclass(frozen=True)
class DemoParticipant:
    number: int
    profile: Profile
    enrolment: Enrolment

    @property
    def external_ref(self) -> str:
        return self.enrolment.external_ref


def demo_cohort(today: date) -> list[DemoParticipant]:
    """The cohort, the same for a given day: six participants per partner, profiles dealt out."""
    cohort: list[DemoParticipant] = []
    ineligible = 0
    for index in range(COHORT_SIZE):
        number = index + 1
        profile = PROFILES[index % len(PROFILES)]
        partner_id = PARTNER_IDS[index % len(PARTNER_IDS)]
        languages = load_programme(partner_id).languages
        given_name, sex = FIRST_NAMES[index % len(FIRST_NAMES)]
        family_name = FAMILY_NAMES[(index * 5) % len(FAMILY_NAMES)]
        age, postcode, employed = 18 + (index * 7) % 12, POSTCODES[index % len(POSTCODES)], False
        if profile.behaviour == B.INELIGIBLE:
            reason = ineligible % 3
            ineligible += 1
            postcode = "2000" if reason == 0 else postcode
            age = 32 if reason == 1 else age
            employed = reason == 2
        born = today.replace(year=today.year - age, day=1) - timedelta(days=(index * 37) % 300)
        counter = 2 * (index % 400) + (1 if sex == "male" else 2)
        mailbox = unicodedata.normalize("NFKD", f"{given_name}.{family_name}.{number}")
        email = mailbox.encode("ascii", "ignore").decode().lower().replace(" ", "-")
        person = Person(
            given_name=given_name,
            family_name=family_name,
            birth_date=born,
            national_number=national_number(born, counter),
            postcode=postcode,
            phone=f"+32 470 {number:02d} {index * 13 % 100:02d} {index * 29 % 100:02d}",
            email=f"{email}@example.org",
            language=languages[index % len(languages)],
        )
        status = DeclaredStatus(
            employed=employed, in_education=False, in_training=False, other_measure=False
        )
        enrolment = Enrolment(
            external_ref=f"DEMO-{number:04d}",
            partner_id=partner_id,
            person=person,
            status=status,
            entry_profile=_entry_profile(number, sex, employed),
        )
        cohort.append(DemoParticipant(number=number, profile=profile, enrolment=enrolment))
    return cohort


def _entry_profile(number: int, sex: str, employed: bool) -> EntryProfile:
    """A plausible ESF+ situation at entry for a Brussels NEET youth; some decline to answer."""

    def roll(question: str) -> int:
        return zlib.crc32(f"{question}-{number}".encode()) % 100

    def sensitive(question: str, yes_percent: int, declined_percent: int) -> SensitiveAnswer:
        chance = roll(question)
        if chance < declined_percent:
            return "declined"
        return "yes" if chance < declined_percent + yes_percent else "no"

    labour: LabourStatus = "inactive"
    if employed:
        labour = "employed"
    elif (chance := roll("labour")) < 70:
        labour = "unemployed" if chance < 45 else "long_term_unemployed"
    education: EducationLevel = "isced_5_8"
    if (chance := roll("education")) < 88:
        education = "isced_0_2" if chance < 50 else "isced_3_4"
    return EntryProfile(
        labour_status=labour,
        education_level=education,
        gender="non_binary" if roll("gender") < 4 else "woman" if sex == "female" else "man",
        disability=sensitive("disability", 8, 10),
        third_country_national=sensitive("third_country_national", 20, 5),
        foreign_background=sensitive("foreign_background", 60, 8),
        minority=sensitive("minority", 15, 20),
        homeless=sensitive("homeless", 5, 6),
    )


# -- what the partner reports next ------------------------------------------------------------


@dataclass(frozen=True)
class Steering:
    """A case manager's pause or resume: `POST /v1/participants/{id}/pause` or `/resume`."""

    kind: Literal["pause", "resume"]
    reason: str


Action = Milestone | Steering
"""A milestone the partner reports, or a case manager's pause or resume."""

KEEP_IN_TOUCH: tuple[MilestoneType, ...] = (
    M.COACHING_SESSION_HELD, M.BASIC_SKILLS_SESSION, M.REMOBILISATION_ACTIVITY,
    M.PERSONAL_DEVELOPMENT_WORKSHOP, M.PAID_MICRO_PROJECT_COMPLETED, M.JOB_DAY_ATTENDED,
)  # fmt: skip
"""Regular activities, in preference order; `participant_contact` when a phase has none."""
EMPLOYERS: tuple[str, ...] = ("Canal Logistics", "Midi Catering", "Zenne Care", "Atelier Ninove")
CONTRACTS: dict[PlacementKind, str] = {
    "employment": "CDI",
    "traineeship": "first job internship",
    "apprenticeship": "dual learning",
}
WAKE_UP_ID = "demo-wake-up"
"""The contact of a participant back from dormancy; outside the count of the other steps."""


@cache
def _programme(partner_id: str) -> PartnerProgramme:
    return load_programme(partner_id)


def required_steps(programme: PartnerProgramme) -> tuple[MilestoneType, ...]:
    """The required steps of intake, assessment and coaching, in the programme's order."""
    return tuple(
        kind
        for phase in (Phase.INTAKE, Phase.ASSESSMENT, Phase.COACHING)
        for kind in programme.steps(phase).required
    )


def next_action(
    member: DemoParticipant, state: ParticipantPublic, now: datetime, day: timedelta
) -> Action | None:
    """What happens next to this participant, or None while nothing is due.

    `state` is the participant's state as the API answers it; `day` is a programme day.
    """
    profile = member.profile
    if state.status == Status.CLOSED or profile.behaviour == B.INELIGIBLE:
        return None
    programme = _programme(state.partner_id)
    age = (now - state.enrolled_at) / day
    woken = _woken(profile, state, day)
    position = state.milestone_count - (1 if woken else 0)
    match profile.behaviour:
        case B.PAUSED if profile.event_day <= age < profile.until_day:
            active = state.status == Status.ACTIVE
            return Steering("pause", profile.pause_reason) if active else None
        case B.PAUSED if state.status == Status.PAUSED:
            return Steering("resume", f"back after {profile.pause_reason}")
        case B.WITHDRAWS if age >= profile.event_day:
            reason = {"reason": "no longer wishes to take part"}
            return _milestone(member, state, now, position, M.WITHDRAWN, reason)
        case B.MOVES if age >= profile.event_day:
            return _milestone(member, state, now, position, M.MOVED_AWAY)
        case B.SILENT if age >= profile.event_day:
            return None
        case B.WAKES if age >= profile.event_day and not woken:
            dormant_days = (now - _dormant_since(programme, state, day)) / day
            if state.status == Status.DORMANT and dormant_days >= profile.wake_after_days:
                return Milestone(
                    milestone_id=WAKE_UP_ID, type=M.PARTICIPANT_CONTACT, occurred_at=now
                )
            return None
    last = state.last_milestone.occurred_at if state.last_milestone else state.enrolled_at
    if state.status == Status.PAUSED or (now - last) / day < profile.pace_days:
        return None
    return _progress(member, programme, state, now, day, position)


def _progress(
    member: DemoParticipant,
    programme: PartnerProgramme,
    state: ParticipantPublic,
    now: datetime,
    day: timedelta,
    position: int,
) -> Action | None:
    """The partner's next step towards a placement and through the follow-up.

    A profile's steps come in a fixed order, so `position` (the steps recorded so far) says
    which is next: the required steps, then for a trainee the course enrolment, `phase_steps`
    contacts, the course's end, `search_steps` applications and the placement.
    """
    profile = member.profile
    required = required_steps(programme)
    after_required = position - len(required)

    def step(kind: MilestoneType, payload: dict[str, Any] | None = None) -> Milestone:
        return _milestone(member, state, now, position, kind, payload)

    def keep_in_touch() -> Milestone:
        return step(_keep_in_touch(programme, state.phase))

    def placement_started() -> Milestone:
        return step(M.PLACEMENT_STARTED, _placement(profile, state, now))

    running = state.last_milestone is not None and state.last_milestone.type == M.PLACEMENT_STARTED
    match state.phase:
        case Phase.INTAKE | Phase.ASSESSMENT | Phase.COACHING if after_required < 0:
            kind = required[position]
            return step(kind) if kind in programme.steps(state.phase).milestones else None
        case Phase.COACHING if profile.behaviour == B.EARLY_END and after_required > 1:
            back_in_coaching = after_required - 2
            if back_in_coaching < profile.phase_steps:
                return keep_in_touch()
            return placement_started()
        case Phase.COACHING if profile.behaviour == B.TRAINEE:
            # Sessions while on the waiting list count as contacts of the course later on.
            if state.waiting_position is not None and state.seat_offered_until is None:
                return keep_in_touch()
            return step(M.TRAINING_ENROLLED, {"course_id": COURSE_ID})
        case Phase.COACHING:
            return placement_started()
        case Phase.TRAINING if after_required - 1 < profile.phase_steps:
            return keep_in_touch()
        case Phase.TRAINING:
            return step(M.TRAINING_COMPLETED, {"qualification": "bike courier"})
        case Phase.PLACEMENT if running:
            assert state.last_milestone is not None
            if (
                profile.behaviour == B.EARLY_END
                and after_required == 1
                and (now - state.last_milestone.occurred_at) / day >= profile.placement_days
            ):
                return step(M.PLACEMENT_ENDED, {"reason": "trial period not passed"})
            return None
        case Phase.PLACEMENT if after_required - 2 - profile.phase_steps < profile.search_steps:
            return keep_in_touch()
        case Phase.PLACEMENT:
            return placement_started()
        case Phase.FOLLOW_UP if (opens := _check_in_opens(programme, state, day)) is not None and (
            (now - opens) / day >= profile.pace_days
        ):
            employed = profile.placement != "education"
            return step(M.FOLLOW_UP_CONTACT, {"in_employment": employed})
    return None


def _woken(profile: Profile, state: ParticipantPublic, day: timedelta) -> bool:
    """Whether a participant who went quiet got back in touch: any contact since that day."""
    quiet_from = state.enrolled_at + day * profile.event_day
    return profile.behaviour == B.WAKES and state.last_contact_at >= quiet_from


def _dormant_since(
    programme: PartnerProgramme, state: ParticipantPublic, day: timedelta
) -> datetime:
    """When silence made the trajectory dormant: the rung after the ladder's last one."""
    ladder = NudgeLadder(programme, state.phase, day)
    return ladder.rung(len(programme.nudge_ladder) + 1, state.last_contact_at).due_at


def _check_in_opens(
    programme: PartnerProgramme, state: ParticipantPublic, day: timedelta
) -> datetime | None:
    """When the pending follow-up check-in opens (or opened), read off its next deadline.

    In follow-up the next deadline is the ladder's next rung counted from the check-in's opening
    (or a later contact), so taking the ladder's wait off the deadline gives that moment back.
    """
    if (deadline := state.next_deadline) is None:
        return None
    wait = NudgeLadder(programme, state.phase, day).rung(state.nudge_level + 1, deadline).due_at
    return deadline - (wait - deadline)


def _keep_in_touch(programme: PartnerProgramme, phase: Phase) -> MilestoneType:
    """A regular activity of the partner in this phase (applications when job hunting)."""
    used = programme.steps(phase).milestones
    preferred = (M.APPLICATION_SENT,) if phase == Phase.PLACEMENT else ()
    return next((t for t in (*preferred, *KEEP_IN_TOUCH) if t in used), M.PARTICIPANT_CONTACT)


def _placement(profile: Profile, state: ParticipantPublic, now: datetime) -> dict[str, Any]:
    kind = profile.placement
    details: dict[str, Any] = {"kind": kind, "start_date": now.date().isoformat()}
    if kind in CONTRACTS:
        details |= {"employer": _pick(state, EMPLOYERS), "contract": CONTRACTS[kind]}
    return details


def _pick(state: ParticipantPublic, options: tuple[T, ...]) -> T:
    """The same choice every time for the same participant."""
    return options[zlib.crc32(state.participant_id.encode()) % len(options)]


def _payload(
    member: DemoParticipant, state: ParticipantPublic, kind: MilestoneType, position: int
) -> dict[str, Any]:
    """Plausible details of each milestone type that has some."""
    match kind:
        case M.LANGUAGE_ASSESSED:
            level = _pick(state, ("A2", "B1", "B2", "C1"))
            return {"language": member.enrolment.person.language, "level": level}
        case M.DIGITAL_ASSESSED:
            return {"level": _pick(state, (2, 3, 4, 5))}
        case M.COACH_ASSIGNED:
            return {"coach_ref": f"{state.partner_id}-coach-{_pick(state, (1, 2, 3))}"}
        case M.COACHING_SESSION_HELD:
            return {"mode": ("individual", "group")[position % 2]}
        case M.JOB_DAY_ATTENDED:
            return {"sector": _pick(state, ("logistics", "hospitality", "retail", "care"))}
    return {}


def _milestone(
    member: DemoParticipant,
    state: ParticipantPublic,
    now: datetime,
    position: int,
    kind: MilestoneType,
    payload: dict[str, Any] | None = None,
) -> Milestone:
    """The step at `position`: the same position always yields the same milestone id."""
    return Milestone(
        milestone_id=f"demo-{position}-{kind.value}",
        type=kind,
        occurred_at=now,
        payload=_payload(member, state, kind, position) if payload is None else payload,
    )


# -- keys -------------------------------------------------------------------------------------

DEMO_KEYS_ENV = "PARCOURS_DEMO_KEYS"
"""How `make dev` hands the demo its keys (JSON), so that they never reach a disk in clear."""
STANDALONE_KEY_LABEL = "demo"
"""The label of the keys the demo issues itself when it runs without `make dev`."""


class DemoKeys(BaseModel):
    """The keys the demo acts with: the backend's, a case manager's and each partner's."""

    model_config = ConfigDict(frozen=True)

    backend: str = Field(repr=False)
    case_manager: str = Field(repr=False)
    partners: dict[str, str] = Field(repr=False)


async def issue_demo_keys(pool: Pool, label: str) -> DemoKeys:
    """New keys labelled `label`, one per partner; the earlier ones of that label are revoked.

    Only a key's hash is stored, so each start issues new keys rather than showing old ones.
    """
    for key in await list_keys(pool):
        if key.label == label and key.revoked_at is None:
            await revoke_key(pool, key.key_id)
    backend = await create_key(pool, Role.BACKEND, label=label)
    case_manager = await create_key(pool, Role.CASE_MANAGER, label=label)
    partners = {p: (await create_key(pool, Role.PARTNER, p, label=label)).key for p in PARTNER_IDS}
    return DemoKeys(backend=backend.key, case_manager=case_manager.key, partners=partners)


def api_url(settings: Settings) -> str:
    """Where the HTTP API answers on this machine."""
    return f"http://{settings.api_host}:{settings.api_port}"


# -- the driver -------------------------------------------------------------------------------

CONCURRENCY = 8
"""Requests in flight at once."""
REQUEST_TIMEOUT = 40.0
"""Seconds a request may take; the API waits up to 30 for a trajectory's answer."""


@dataclass
class Driver:
    """Enrols the cohort through the API and moves each trajectory one step per tick."""

    api: httpx.AsyncClient
    keys: DemoKeys
    day: timedelta
    """The length of a programme day, as the API was started with."""
    tick: float
    """Seconds from the start of one round over the cohort to the next."""
    spread: float
    """Seconds from one new enrolment to the next."""
    in_flight: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENCY))

    async def run(self, cohort: list[DemoParticipant]) -> None:
        """Drive until every trajectory is closed."""
        enrolled: dict[int, str] = {}
        finished: set[int] = set()
        enrolling = asyncio.create_task(self._enrol(cohort, enrolled))
        clock = asyncio.get_running_loop()
        try:
            while True:
                next_round = clock.time() + self.tick
                await asyncio.gather(
                    *(
                        self._step(member, enrolled[member.number], finished)
                        for member in cohort
                        if member.number in enrolled and member.number not in finished
                    )
                )
                if enrolling.done():
                    enrolling.result()  # an unexpected failure stops the demo, not only enrolment
                    if len(finished) == len(cohort):
                        log.info("demo_cohort_finished", participants=len(cohort))
                        return
                await asyncio.sleep(max(0.0, next_round - clock.time()))
        finally:
            enrolling.cancel()

    async def _enrol(self, cohort: list[DemoParticipant], into: dict[int, str]) -> None:
        """Enrol everyone, new people `spread` apart; a failed enrolment is tried again later."""
        clock = asyncio.get_running_loop()
        waiting = list(cohort)
        while waiting:
            for member in list(waiting):
                next_slot = clock.time() + self.spread
                body = member.enrolment.model_dump(mode="json")
                answer = await self._request("POST", "/v1/participants", self.keys.backend, body)
                if answer is None or answer.status_code not in (200, 201):
                    _log_failure("demo_enrolment_failed", answer, demo=member.number)
                    continue
                participant_id: str = answer.json()["participant_id"]
                into[member.number] = participant_id
                waiting.remove(member)
                if answer.status_code == 201:
                    log.info(
                        "demo_participant_enrolled",
                        demo=member.number,
                        participant_id=participant_id,
                        partner_id=member.enrolment.partner_id,
                        profile=member.profile.behaviour.value,
                    )
                    await asyncio.sleep(max(0.0, next_slot - clock.time()))
            if waiting:
                await asyncio.sleep(self.tick)

    async def _step(self, member: DemoParticipant, participant_id: str, finished: set[int]) -> None:
        """Read the participant's state, decide, and send the next step; a refusal is logged."""
        context: dict[str, Any] = {"demo": member.number, "participant_id": participant_id}
        path = f"/v1/participants/{participant_id}"
        answer = await self._request("GET", path, self._partner_key(member))
        if answer is None or answer.status_code != 200:
            _log_failure("demo_read_failed", answer, **context)
            return
        state = ParticipantPublic.model_validate(answer.json())
        if state.status == Status.CLOSED:
            finished.add(member.number)
            return
        action = next_action(member, state, datetime.now(UTC), self.day)
        if action is None:
            return
        answer = await self._act(member, path, action)
        if answer is None or answer.status_code != 200:
            _log_failure("demo_step_failed", answer, **context, step=_describe(action))
            return
        after = ParticipantPublic.model_validate(answer.json())
        log.info(
            "demo_step",
            **context,
            step=_describe(action),
            phase=after.phase.value,
            status=after.status.value,
        )

    async def _act(
        self, member: DemoParticipant, path: str, action: Action
    ) -> httpx.Response | None:
        """Send `action` with the key of whoever takes that step: the partner or a case manager."""
        match action:
            case Steering():
                body = {"reason": action.reason}
                return await self._request(
                    "POST", f"{path}/{action.kind}", self.keys.case_manager, body
                )
        body = action.report_json()
        return await self._request("POST", f"{path}/milestones", self._partner_key(member), body)

    def _partner_key(self, member: DemoParticipant) -> str:
        return self.keys.partners[member.enrolment.partner_id]

    async def _request(
        self, method: str, path: str, key: str, body: dict[str, Any] | None = None
    ) -> httpx.Response | None:
        """One call, at most `CONCURRENCY` at once; None (logged) when the API does not answer."""
        async with self.in_flight:
            try:
                return await self.api.request(
                    method, path, json=body, headers={"Authorization": f"Bearer {key}"}
                )
            except httpx.HTTPError as error:
                log.warning("demo_request_failed", method=method, path=path, error=repr(error))
                return None


def _detail(answer: httpx.Response) -> str:
    """The `detail` of an error answer, or the start of whatever came back."""
    try:
        return str(answer.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]


def _log_failure(event: str, answer: httpx.Response | None, **context: Any) -> None:
    """A refused (409) or failed call is logged; it is tried again at a later tick."""
    if answer is not None:
        log.warning(event, **context, status=answer.status_code, reason=_detail(answer))


def _describe(action: Action) -> str:
    match action:
        case Milestone():
            return action.type.value
    return action.kind


async def _demo_keys(settings: Settings) -> DemoKeys:
    """The keys `make dev` handed over, or new ones when the demo runs on its own."""
    if (handed_over := os.environ.get(DEMO_KEYS_ENV)) is not None:
        return DemoKeys.model_validate_json(handed_over)
    pool = await open_pool(settings)
    try:
        return await issue_demo_keys(pool, STANDALONE_KEY_LABEL)
    finally:
        await pool.close()


async def _drive(settings: Settings) -> None:
    keys = await _demo_keys(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(base_url=api_url(settings), timeout=REQUEST_TIMEOUT) as api:
        driver = Driver(
            api,
            keys,
            day=timedelta(seconds=settings.seconds_per_day),
            tick=min(max(2 * settings.seconds_per_day, 1.0), 60.0),
            spread=ENROLMENT_SPREAD.total_seconds() / COHORT_SIZE,
        )
        log.info("demo_started", api=api_url(settings), seconds_per_day=settings.seconds_per_day)
        driving = asyncio.create_task(driver.run(demo_cohort(date.today())))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({driving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if driving.done():
            driving.result()
        else:
            driving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driving
            log.info("demo_stopped")


def main(_: argparse.Namespace) -> int:
    """`python -m starter demo`: drive the demo cohort through a running API until stopped."""
    configure_logging()
    # Its INFO lines log every request; the demo logs its steps itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(_drive(get_settings()))
    return 0

"""Who is in the demo cohort: 42 made-up young people, six per partner, each with a profile of
how they go through the programme."""

import unicodedata
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

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
from trajectory.milestones import PlacementKind
from trajectory.niss import niss_for
from trajectory.programmes import PARTNER_IDS, load_programme

COHORT_SIZE = 42

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


PROFILES: tuple[Profile, ...] = (
    Profile(Behaviour.STEADY, pace_days=3),
    Profile(Behaviour.INELIGIBLE),
    Profile(Behaviour.SILENT, pace_days=3, event_day=2),
    Profile(
        Behaviour.TRAINEE, pace_days=4, phase_steps=10, search_steps=6, placement="traineeship"
    ),
    Profile(Behaviour.STEADY, pace_days=9, placement="education"),
    Profile(Behaviour.EARLY_END, pace_days=4, placement_days=10, phase_steps=8),
    Profile(Behaviour.WAKES, pace_days=4, event_day=2, wake_after_days=25),
    Profile(
        Behaviour.PAUSED, pace_days=3, event_day=1, until_day=150, pause_reason="parental leave"
    ),
    Profile(Behaviour.WITHDRAWS, pace_days=5, event_day=40),
    Profile(Behaviour.STEADY, pace_days=13, placement="apprenticeship"),
    Profile(Behaviour.SILENT, pace_days=6, event_day=40),
    Profile(Behaviour.TRAINEE, pace_days=6, phase_steps=14, search_steps=4),
    Profile(Behaviour.MOVES, pace_days=5, event_day=55),
    Profile(Behaviour.PAUSED, pace_days=4, event_day=9, until_day=135, pause_reason="long illness"),
    Profile(Behaviour.STEADY, pace_days=6, placement="traineeship"),
    Profile(Behaviour.EARLY_END, pace_days=8, placement_days=20, phase_steps=5),
    Profile(Behaviour.WAKES, pace_days=10, event_day=65, wake_after_days=20),
    Profile(Behaviour.PAUSED, pace_days=4, event_day=30, until_day=70, placement="self_employment"),
    Profile(Behaviour.STEADY, pace_days=22),
    Profile(Behaviour.SILENT, pace_days=8, event_day=60),
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
        if profile.behaviour == Behaviour.INELIGIBLE:
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
            national_number=niss_for(born, counter),
            postcode=postcode,
            phone=f"+32 470 {number:02d} {index * 13 % 100:02d} {index * 29 % 100:02d}",
            email=f"{email}@example.org",
            language=languages[index % len(languages)],
        )
        status = DeclaredStatus(
            employed=employed, in_education=False, in_training=False, other_measure=False
        )
        profile_at_entry = None if employed else _entry_profile(number, sex)
        unemployed = profile_at_entry is not None and profile_at_entry.labour_status == "unemployed"
        enrolment = Enrolment(
            external_ref=f"DEMO-{number:04d}",
            partner_id=partner_id,
            person=person,
            status=status,
            entry_profile=profile_at_entry,
            pes_registered_on=today - timedelta(days=30 * (number % 20)) if unemployed else None,
        )
        cohort.append(DemoParticipant(number=number, profile=profile, enrolment=enrolment))
    return cohort


def _entry_profile(number: int, sex: str) -> EntryProfile:
    """A plausible ESF+ situation at entry for a Brussels NEET youth; some decline to answer.
    (Someone employed has none: they are no NEET, and intake finds them ineligible.)"""

    def roll(question: str) -> int:
        return zlib.crc32(f"{question}-{number}".encode()) % 100

    def sensitive(question: str, yes_percent: int, declined_percent: int) -> SensitiveAnswer:
        chance = roll(question)
        if chance < declined_percent:
            return "declined"
        return "yes" if chance < declined_percent + yes_percent else "no"

    labour: LabourStatus = "unemployed" if roll("labour") < 70 else "inactive"
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

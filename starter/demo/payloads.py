"""What the demo's milestones say: plausible details for each type, the same every time for the
same participant, under a milestone id that follows from the step's position."""

import zlib
from datetime import datetime
from typing import Any, TypeVar

from api.models import ParticipantPublic
from starter.demo.cohort import DemoParticipant, Profile
from trajectory.milestones import Milestone, MilestoneType, PlacementKind

T = TypeVar("T")

EMPLOYERS: tuple[str, ...] = ("Canal Logistics", "Midi Catering", "Zenne Care", "Atelier Ninove")
CONTRACTS: dict[PlacementKind, str] = {
    "employment": "CDI",
    "traineeship": "first job internship",
    "apprenticeship": "dual learning",
}


def pick(state: ParticipantPublic, options: tuple[T, ...]) -> T:
    """The same choice every time for the same participant."""
    return options[zlib.crc32(state.participant_id.encode()) % len(options)]


def placement_details(profile: Profile, state: ParticipantPublic, now: datetime) -> dict[str, Any]:
    """A placement of the profile's kind starting today, with an employer where it has one."""
    kind = profile.placement
    details: dict[str, Any] = {"kind": kind, "start_date": now.date().isoformat()}
    if kind in CONTRACTS:
        details |= {"employer": pick(state, EMPLOYERS), "contract": CONTRACTS[kind]}
    return details


def milestone_details(
    member: DemoParticipant, state: ParticipantPublic, kind: MilestoneType, position: int
) -> dict[str, Any]:
    """Plausible details of each milestone type that has some."""
    match kind:
        case MilestoneType.LANGUAGE_ASSESSED:
            level = pick(state, ("A2", "B1", "B2", "C1"))
            return {"language": member.enrolment.person.language, "level": level}
        case MilestoneType.DIGITAL_ASSESSED:
            return {"level": pick(state, (2, 3, 4, 5))}
        case MilestoneType.COACH_ASSIGNED:
            return {"coach_ref": f"{state.partner_id}-coach-{pick(state, (1, 2, 3))}"}
        case MilestoneType.COACHING_SESSION_HELD:
            return {"mode": ("individual", "group")[position % 2]}
        case MilestoneType.JOB_DAY_ATTENDED:
            return {"sector": pick(state, ("logistics", "hospitality", "retail", "care"))}
    return {}


def milestone(
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
        payload=milestone_details(member, state, kind, position) if payload is None else payload,
    )

"""What happens next to a demo participant: the profile's rules, read off the participant's
state as the API answers it, so the driver keeps no state of its own."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from api.models import ParticipantPublic
from starter.demo.cohort import Behaviour, DemoParticipant, Profile
from starter.demo.payloads import milestone, placement_details
from trajectory.ladder import NudgeLadder
from trajectory.milestones import Milestone, MilestoneType
from trajectory.phases import Phase, Status
from trajectory.programme import PartnerProgramme
from trajectory.programmes import load_programme

COURSE_ID = "warehouse-operative-2027"
"""The course trainees enrol in: first come, first served, with a waiting list (the bike-courier
course selects its trainees, which a demo partner cannot do)."""


@dataclass(frozen=True)
class Steering:
    """A case manager's pause or resume: `POST /v1/participants/{id}/pause` or `/resume`."""

    kind: Literal["pause", "resume"]
    reason: str


Action = Milestone | Steering
"""A milestone the partner reports, or a case manager's pause or resume."""

KEEP_IN_TOUCH: tuple[MilestoneType, ...] = (
    MilestoneType.COACHING_SESSION_HELD,
    MilestoneType.BASIC_SKILLS_SESSION,
    MilestoneType.REMOBILISATION_ACTIVITY,
    MilestoneType.PERSONAL_DEVELOPMENT_WORKSHOP,
    MilestoneType.PAID_MICRO_PROJECT_COMPLETED,
    MilestoneType.JOB_DAY_ATTENDED,
)
"""Regular activities, in preference order; `participant_contact` when a phase has none."""
WAKE_UP_ID = "demo-wake-up"
"""The contact of a participant back from dormancy; outside the count of the other steps."""


@cache
def _programme(partner_id: str) -> PartnerProgramme:
    return load_programme(partner_id)


def required_steps(programme: PartnerProgramme) -> tuple[MilestoneType, ...]:
    """The required steps of intake, assessment and coaching, in the programme's order; a step
    one phase requires again (Infor Jeunes' stabilisation) counts once, as `next_steps` has it."""
    return tuple(
        dict.fromkeys(
            kind
            for phase in (Phase.INTAKE, Phase.ASSESSMENT, Phase.COACHING)
            for kind in programme.steps(phase).required
        )
    )


def next_action(
    member: DemoParticipant, state: ParticipantPublic, now: datetime, day: timedelta
) -> Action | None:
    """What happens next to this participant, or None while nothing is due.

    `state` is the participant's state as the API answers it; `day` is a programme day.
    """
    profile = member.profile
    if state.status == Status.CLOSED or profile.behaviour == Behaviour.INELIGIBLE:
        return None
    programme = _programme(state.partner_id)
    age = (now - state.enrolled_at) / day
    woken = _woken(profile, state, day)
    position = state.milestone_count - (1 if woken else 0)
    match profile.behaviour:
        case Behaviour.PAUSED if profile.event_day <= age < profile.until_day:
            active = state.status == Status.ACTIVE
            return Steering("pause", profile.pause_reason) if active else None
        case Behaviour.PAUSED if state.status == Status.PAUSED:
            return Steering("resume", f"back after {profile.pause_reason}")
        case Behaviour.WITHDRAWS if age >= profile.event_day:
            reason = {"reason": "no longer wishes to take part"}
            return milestone(member, state, now, position, MilestoneType.WITHDRAWN, reason)
        case Behaviour.MOVES if age >= profile.event_day:
            return milestone(member, state, now, position, MilestoneType.MOVED_AWAY)
        case Behaviour.SILENT if age >= profile.event_day:
            return None
        case Behaviour.WAKES if age >= profile.event_day and not woken:
            dormant_days = (now - _dormant_since(programme, state, day)) / day
            if state.status == Status.DORMANT and dormant_days >= profile.wake_after_days:
                return Milestone(
                    milestone_id=WAKE_UP_ID, type=MilestoneType.PARTICIPANT_CONTACT, occurred_at=now
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
        return milestone(member, state, now, position, kind, payload)

    def keep_in_touch() -> Milestone:
        return step(_keep_in_touch(programme, state.phase))

    def placement_started() -> Milestone:
        return step(MilestoneType.PLACEMENT_STARTED, placement_details(profile, state, now))

    running = (
        state.last_milestone is not None
        and state.last_milestone.type == MilestoneType.PLACEMENT_STARTED
    )
    match state.phase:
        case Phase.INTAKE | Phase.ASSESSMENT | Phase.COACHING if after_required < 0:
            kind = required[position]
            return step(kind) if kind in programme.steps(state.phase).milestones else None
        case Phase.COACHING if profile.behaviour == Behaviour.EARLY_END and after_required > 1:
            back_in_coaching = after_required - 2
            if back_in_coaching < profile.phase_steps:
                return keep_in_touch()
            return placement_started()
        case Phase.COACHING if profile.behaviour == Behaviour.TRAINEE:
            # Sessions while on the waiting list count as contacts of the course later on.
            if state.waiting_position is not None and state.seat_offered_until is None:
                return keep_in_touch()
            return step(MilestoneType.TRAINING_ENROLLED, {"course_id": COURSE_ID})
        case Phase.COACHING:
            return placement_started()
        case Phase.TRAINING if after_required - 1 < profile.phase_steps:
            return keep_in_touch()
        case Phase.TRAINING:
            return step(MilestoneType.TRAINING_COMPLETED, {"qualification": "forklift driver"})
        case Phase.PLACEMENT if running:
            assert state.last_milestone is not None
            if (
                profile.behaviour == Behaviour.EARLY_END
                and after_required == 1
                and (now - state.last_milestone.occurred_at) / day >= profile.placement_days
            ):
                return step(MilestoneType.PLACEMENT_ENDED, {"reason": "trial period not passed"})
            return None
        case Phase.PLACEMENT if after_required - 2 - profile.phase_steps < profile.search_steps:
            return keep_in_touch()
        case Phase.PLACEMENT:
            return placement_started()
        case Phase.FOLLOW_UP if (opens := _check_in_opens(programme, state, day)) is not None and (
            (now - opens) / day >= profile.pace_days
        ):
            employed = profile.placement != "education"
            return step(MilestoneType.FOLLOW_UP_CONTACT, {"in_employment": employed})
    return None


def _woken(profile: Profile, state: ParticipantPublic, day: timedelta) -> bool:
    """Whether a participant who went quiet got back in touch: any contact since that day."""
    quiet_from = state.enrolled_at + day * profile.event_day
    return profile.behaviour == Behaviour.WAKES and state.last_contact_at >= quiet_from


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
    preferred = (MilestoneType.APPLICATION_SENT,) if phase == Phase.PLACEMENT else ()
    return next(
        (t for t in (*preferred, *KEEP_IN_TOUCH) if t in used), MilestoneType.PARTICIPANT_CONTACT
    )

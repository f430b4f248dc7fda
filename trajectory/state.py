"""The trajectory as a state machine: which milestone is allowed now, and what it changes.

Pure and deterministic: the workflow passes in the current time and carries out the effects.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from trajectory.catalogue import Assessment, Recommendation
from trajectory.daytime import next_daytime
from trajectory.ladder import NudgeLadder, Rung
from trajectory.milestones import (
    UNIVERSAL,
    DigitalAssessed,
    FollowUpContact,
    JobOfferReceived,
    LanguageAssessed,
    LastMilestone,
    Milestone,
    MilestoneType,
    Payload,
    PlacementKind,
    PlacementStarted,
    TrainingEnrolled,
)
from trajectory.phases import Outcome, Phase, Status
from trajectory.programme import FollowUpCheckpoint, PartnerProgramme
from trajectory.records import (
    EligibilityDecision,
    FollowUpRecord,
    NudgeRequest,
    PhaseTransition,
    Rejection,
    SeatDecision,
    SeatOffer,
    TrajectorySnapshot,
)
from trajectory.tasks import (
    WORKING_DAYS_TO_DO,
    CoachTask,
    OpenTask,
    TaskDone,
    due_after_working_days,
    task_id_for,
)

FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far in the future `occurred_at` may lie (clock skew between systems)."""
PLACEMENT_START_TOLERANCE = timedelta(days=90)
"""How far ahead a placement may be reported to start."""
FOLLOW_UP_WINDOW_DAYS = 28
"""A follow-up check-in may be answered from four weeks before it is due."""

OUTCOME_OF_PLACEMENT: dict[PlacementKind, Outcome] = {
    "employment": Outcome.EMPLOYED,
    "self_employment": Outcome.SELF_EMPLOYED,
    "traineeship": Outcome.TRAINEESHIP,
    "apprenticeship": Outcome.APPRENTICESHIP,
    "education": Outcome.EDUCATION,
}
ON_LEAVING = FollowUpCheckpoint(name="on_leaving", due_days=FOLLOW_UP_WINDOW_DAYS)
"""The result on leaving (ESF+: within four weeks) when a programme does not schedule one."""


class Placement(BaseModel):
    kind: PlacementKind
    start_date: date
    reported_at: datetime
    settles_at: datetime = Field(
        description="when the participant leaves the programme for follow-up"
    )
    employer: str | None = None
    contract: str | None = None


class Training(BaseModel):
    course_id: str
    enrolled_at: datetime


class FollowUpCheck(BaseModel):
    name: str
    opens_at: datetime
    due_at: datetime
    answered_at: datetime | None = None
    answer: FollowUpContact | None = None
    unanswered: bool = False

    @property
    def settled(self) -> bool:
        return self.answered_at is not None or self.unanswered

    def record(self) -> FollowUpRecord:
        answer = self.answer
        return FollowUpRecord(
            name=self.name,
            due_at=self.due_at,
            answered_at=self.answered_at,
            unanswered=self.unanswered,
            in_employment=answer.in_employment if answer else None,
            in_education_or_training=answer.in_education_or_training if answer else None,
            job_searching=answer.job_searching if answer else None,
            qualification_gained=answer.qualification_gained if answer else None,
        )


class SeatClaim(BaseModel):
    """A course the participant waits for, or whose freed seat is offered to them."""

    course_id: str
    status: Literal["waiting", "offered"]
    position: int | None = None
    offered_until: datetime | None = None


TimerKind = Literal[
    "nudge", "dormant", "lost_contact", "max_duration", "leave", "follow_up_missed", "offer_lapses"
]


@dataclass(frozen=True)
class Timer:
    """The next thing that happens if nobody reports anything."""

    kind: TimerKind
    at: datetime
    summary: str
    rung: Rung | None = None


@dataclass(frozen=True)
class Effects:
    """What a fired timer asks the workflow to carry out."""

    transitions: list[PhaseTransition]
    nudge: NudgeRequest | None = None
    lapsed_offer: SeatClaim | None = None


class MilestoneRefused(Exception):
    """A milestone that is not allowed now; the message says why in a coach's words."""


class TrajectoryState(BaseModel):
    """Everything a trajectory knows; carried whole across continue-as-new."""

    participant_id: str
    programme: PartnerProgramme
    postcode: str
    language: str
    enrolled_at: datetime
    day_seconds: float = Field(default=86400.0, gt=0, description="length of a programme day")
    phase: Phase = Phase.INTAKE
    status: Status = Status.ACTIVE
    status_before_pause: Status | None = None
    pause_reason: str | None = None
    paused_at: datetime | None = None
    attention: str | None = Field(
        default=None, description="why the engine needs a case manager (no personal data)"
    )
    status_before_attention: Status | None = None
    attention_since: datetime | None = None
    eligibility: Literal["pending", "eligible", "ineligible"] = "pending"
    ineligibility: list[Rejection] = Field(default_factory=list)
    outcome: Outcome | None = None
    close_reason: str | None = None
    closed_at: datetime | None = None
    closed_in: Phase | None = Field(default=None, description="the phase the trajectory closed in")
    milestone_ids: list[str] = Field(default_factory=list)
    milestone_fingerprints: dict[str, str] = Field(
        default_factory=dict, description="what each milestone id said (unknown before release 3)"
    )
    seen_types: list[MilestoneType] = Field(default_factory=list)
    last_milestone: LastMilestone | None = None
    last_contact_at: datetime
    nudge_level: int = 0
    nudge_seq: int = 0
    dormant_since: datetime | None = None
    assessment: Assessment = Field(default_factory=Assessment)
    recommendations: list[Recommendation] = Field(default_factory=list)
    training: Training | None = None
    seat: SeatClaim | None = None
    placement: Placement | None = None
    first_offer_at: datetime | None = None
    left_at: datetime | None = None
    follow_ups: list[FollowUpCheck] = Field(default_factory=list)
    asks_every_leaver: bool = Field(
        default=False,
        description="closing asks for the result on leaving too (not in histories before it)",
    )
    offers_as_youth_guarantee: bool = Field(
        default=False,
        description="a self-employment start is no first offer (not in histories before it)",
    )
    max_deadline: datetime
    transition_seq: int = 0
    revision: int = 0
    tracks_tasks: bool = Field(
        default=False, description="coach tasks are kept and worked (since release 4)"
    )
    tasks: list[CoachTask] = Field(default_factory=list)

    @classmethod
    def enrol(
        cls,
        participant_id: str,
        programme: PartnerProgramme,
        postcode: str,
        language: str,
        enrolled_at: datetime,
        day_seconds: float,
    ) -> "TrajectoryState":
        """A new trajectory in intake, eligibility still to be checked."""
        day = timedelta(seconds=day_seconds)
        return cls(
            participant_id=participant_id,
            programme=programme,
            postcode=postcode,
            language=language,
            enrolled_at=enrolled_at,
            day_seconds=day_seconds,
            last_contact_at=enrolled_at,
            max_deadline=enrolled_at + day * programme.max_duration_days,
        )

    @property
    def partner_id(self) -> str:
        return self.programme.partner_id

    @property
    def day(self) -> timedelta:
        return timedelta(seconds=self.day_seconds)

    @property
    def is_closed(self) -> bool:
        """Closed, also while a step after closing waits for a case manager."""
        held = self.status == Status.NEEDS_ATTENTION
        return self.status == Status.CLOSED or (
            held and self.status_before_attention == Status.CLOSED
        )

    @property
    def awaiting_results(self) -> bool:
        """Closed, with a check-in after leaving still to answer or to miss."""
        return (
            self.asks_every_leaver
            and self.is_closed
            and any(not check.settled for check in self.follow_ups)
        )

    # -- what is allowed ------------------------------------------------------------------------

    def reuses_id(self, milestone: Milestone) -> bool:
        """Whether `milestone` repeats a recorded id but says something else."""
        said = self.milestone_fingerprints.get(milestone.milestone_id)
        return said is not None and said != milestone.fingerprint()

    def refusal(self, milestone: Milestone, now: datetime) -> str | None:
        """Why `milestone` cannot be recorded now, or None when it can (or is a repeat)."""
        if milestone.milestone_id in self.milestone_ids:
            return None
        partner = self.programme.name
        kind = milestone.type.value
        asked = milestone.type == MilestoneType.FOLLOW_UP_CONTACT and self.awaiting_results
        if self.is_closed and not asked:
            return f"the trajectory is closed ({self.outcome}); nothing more can be recorded"
        if milestone.occurred_at > now + FUTURE_TOLERANCE:
            return "occurred_at lies in the future"
        if milestone.occurred_at.date() < self.enrolled_at.date():
            return "occurred_at lies before the participant's enrolment"
        if self.status == Status.NEEDS_ATTENTION:
            return f"the trajectory needs a case manager's attention ({self.attention}); try later"
        if self.status == Status.PAUSED and milestone.type not in (
            MilestoneType.WITHDRAWN,
            MilestoneType.MOVED_AWAY,
        ):
            if milestone.actor is not None and milestone.actor.role == "partner":
                return "the trajectory is paused; a case manager must resume it first"
            reason = self.pause_reason or "no reason given"
            return f"the trajectory is paused ({reason}); resume it first"
        if (
            not asked
            and milestone.type not in UNIVERSAL
            and milestone.type not in self.programme.steps(self.phase).milestones
        ):
            used_in = [
                p.value for p, s in self.programme.phases.items() if milestone.type in s.milestones
            ]
            if not used_in:
                return f"{partner}'s programme does not use {kind}"
            where = ", ".join(used_in)
            return f"{kind} is not allowed in {self.phase.value}; {partner} records it in {where}"
        steps = None if asked else self.programme.steps(self.phase)
        before = steps.after.get(milestone.type, ()) if steps is not None else ()
        if earlier := [step.value for step in before if step not in self.seen_types]:
            return f"{partner} records {kind} after {', '.join(earlier)}"
        return self._transition_refusal(milestone, now)

    def _transition_refusal(self, milestone: Milestone, now: datetime) -> str | None:
        details = milestone.details()
        match milestone.type:
            case MilestoneType.TRAINING_ENROLLED | MilestoneType.PLACEMENT_STARTED if (
                self.phase == Phase.COACHING and (missing := self.missing_steps(milestone.type))
            ):
                return (
                    f"coaching is not finished: {self.programme.name} first needs "
                    f"{', '.join(missing)}"
                )
            case MilestoneType.TRAINING_ENROLLED if (
                isinstance(details, TrainingEnrolled)
                and self.seat is not None
                and self.seat.status == "waiting"
                and self.seat.course_id == details.course_id
            ):
                return (
                    f"already on the waiting list of {details.course_id} "
                    f"(place {self.seat.position}); a freed seat will be offered"
                )
            case MilestoneType.PLACEMENT_STARTED if self.placement is not None:
                return (
                    f"a placement is already running since {self.placement.start_date}; "
                    "report placement_ended first"
                )
            case MilestoneType.PLACEMENT_STARTED if isinstance(details, PlacementStarted) and (
                details.start_date > (now + PLACEMENT_START_TOLERANCE).date()
            ):
                return (
                    "start_date is more than 90 days ahead; report the placement when it is closer"
                )
            case MilestoneType.TRAINING_COMPLETED | MilestoneType.TRAINING_DROPPED if (
                self.training is not None and milestone.occurred_at < self.training.enrolled_at
            ):
                return (
                    "the training cannot end before it started "
                    f"(enrolled {self.training.enrolled_at.date()})"
                )
            case MilestoneType.PLACEMENT_ENDED if self.placement is None:
                return "no placement is running; nothing can end"
            case MilestoneType.PLACEMENT_ENDED if (
                self.placement is not None
                and milestone.occurred_at.date() < self.placement.start_date
            ):
                return f"the placement cannot end before it started ({self.placement.start_date})"
            case MilestoneType.FOLLOW_UP_CONTACT if self.open_follow_up(now) is None:
                upcoming = next((c for c in self.follow_ups if not c.settled), None)
                when = f"; the next one opens {upcoming.opens_at.date()}" if upcoming else ""
                return f"no follow-up check-in is open now{when}"
        return None

    def missing_steps(self, leaving_by: MilestoneType | None = None) -> list[str]:
        """Required milestones of the current phase not yet recorded, in the programme's order;
        only those that `leaving_by` needs to end the phase when it is named."""
        return [step.value for step in self.next_steps(leaving_by)]

    def next_steps(self, leaving_by: MilestoneType | None = None) -> list[MilestoneType]:
        """What the programme still expects in the current phase, in its order (DESIGN 8.1)."""
        if self.is_closed or self.phase not in self.programme.phases:
            return []
        return self.programme.steps(self.phase).missing(self.seen_types, leaving_by)

    def open_task(self) -> str | None:
        """The coach's call or street worker's outreach the ladder asked for, until contact."""
        ladder = self.programme.nudge_ladder
        asked = [s for s in ladder[: self.nudge_level] if s.action != "message"]
        if not asked or self.status == Status.CLOSED:
            return None
        step = asked[-1]
        return f"{step.action.replace('_', ' ')} by {step.channel.value}"

    def open_tasks(self) -> list[OpenTask]:
        """Coach tasks nobody has closed yet, oldest first (none once the trajectory closed)."""
        if self.is_closed:
            return []
        return [
            OpenTask(task_id=t.task_id, kind=t.kind, due_at=t.due_at)
            for t in self.tasks
            if t.is_open
        ]

    def task_refusal(self, done: TaskDone) -> str | None:
        """Why the task cannot be closed now, or None when it can."""
        task = next((t for t in self.tasks if t.task_id == done.task_id), None)
        if task is None:
            return f"no open task {done.task_id}"
        if task.done_at is not None:
            return f"task {task.task_id} was done on {task.done_at:%Y-%m-%d}"
        if self.is_closed:
            return f"the trajectory is closed ({self.outcome}); its tasks are over"
        return None

    def open_follow_up(self, now: datetime) -> FollowUpCheck | None:
        """The check-in that can be answered now, if any."""
        return next((c for c in self.follow_ups if not c.settled and c.opens_at <= now), None)

    # -- what changes ---------------------------------------------------------------------------

    def record(
        self, milestone: Milestone, now: datetime, seat: SeatDecision | None = None
    ) -> list[PhaseTransition]:
        """Apply an allowed milestone; a repeated `milestone_id` changes nothing.

        `seat` is the seat decision for `training_enrolled`; without one (trajectories started
        before seats were counted) the participant goes straight into training.
        """
        if milestone.milestone_id in self.milestone_ids:
            return []
        if (reason := self.refusal(milestone, now)) is not None:
            raise MilestoneRefused(reason)
        self.milestone_ids.append(milestone.milestone_id)
        self.milestone_fingerprints[milestone.milestone_id] = milestone.fingerprint()
        if milestone.type not in self.seen_types:
            self.seen_types.append(milestone.type)
        self.last_milestone = LastMilestone(type=milestone.type, occurred_at=milestone.occurred_at)
        self.revision += 1
        changes: list[PhaseTransition] = []
        if milestone.is_contact:
            changes += self._contact(max(self.last_contact_at, milestone.occurred_at), now)
        changes += self._follow(milestone, now, seat)
        return changes + self._advance(now)

    def _contact(self, at: datetime, now: datetime) -> list[PhaseTransition]:
        self.last_contact_at = at
        self.nudge_level = 0
        if self.status != Status.DORMANT:
            return []
        self.dormant_since = None
        return [self._move(self.phase, Status.ACTIVE, "re-mobilised: contact while dormant", now)]

    def _follow(
        self, milestone: Milestone, now: datetime, seat: SeatDecision | None
    ) -> list[PhaseTransition]:
        details = milestone.details()
        kind = milestone.type.value
        match milestone.type:
            case MilestoneType.WITHDRAWN:
                return self.close(Outcome.WITHDRAWN, "participant withdrew", now)
            case MilestoneType.MOVED_AWAY:
                return self.close(Outcome.MOVED_AWAY, "participant moved away", now)
            case MilestoneType.JOB_OFFER_RECEIVED:
                self._offered(details, milestone.occurred_at)
            case MilestoneType.LANGUAGE_ASSESSED if isinstance(details, LanguageAssessed):
                self.assessment.languages[details.language] = details.level
            case MilestoneType.DIGITAL_ASSESSED if isinstance(details, DigitalAssessed):
                self.assessment.digital_level = details.level
            case MilestoneType.TRAINING_ENROLLED if isinstance(details, TrainingEnrolled):
                if seat is not None and not seat.granted:
                    self.seat = SeatClaim(
                        course_id=details.course_id, status="waiting", position=seat.position
                    )
                    return []
                self.seat = None
                self.training = Training(
                    course_id=details.course_id, enrolled_at=milestone.occurred_at
                )
                return [self._move(Phase.TRAINING, self.status, kind, now)]
            case MilestoneType.TRAINING_COMPLETED:
                return [self._move(Phase.PLACEMENT, self.status, kind, now)]
            case MilestoneType.TRAINING_DROPPED:
                return [self._move(Phase.COACHING, self.status, kind, now)]
            case MilestoneType.PLACEMENT_STARTED if isinstance(details, PlacementStarted):
                self._offered(details, milestone.occurred_at)
                starts = datetime.combine(details.start_date, now.timetz())
                self.placement = Placement(
                    kind=details.kind,
                    start_date=details.start_date,
                    reported_at=milestone.occurred_at,
                    settles_at=max(starts, now) + self.day * self.programme.placement_settling_days,
                    employer=details.employer,
                    contract=details.contract,
                )
                if self.phase != Phase.PLACEMENT:
                    return [self._move(Phase.PLACEMENT, self.status, kind, now)]
            case MilestoneType.PLACEMENT_ENDED:
                self.placement = None
                return [self._move(Phase.COACHING, self.status, "placement ended early", now)]
            case MilestoneType.FOLLOW_UP_CONTACT:
                check = self.open_follow_up(now)
                if check is not None and isinstance(details, FollowUpContact):
                    check.answered_at = milestone.occurred_at
                    check.answer = details
                    return self._after_follow_up(now)
        return []

    def _offered(self, details: Payload, at: datetime) -> None:
        """Keep the first offer: of employment, continued education, an apprenticeship or a
        traineeship, accepted or not (Youth Guarantee); starting one's own business is none."""
        kind = details.kind if isinstance(details, JobOfferReceived | PlacementStarted) else None
        if self.offers_as_youth_guarantee and kind == "self_employment":
            return
        self.first_offer_at = self.first_offer_at or at

    def _advance(self, now: datetime) -> list[PhaseTransition]:
        """Leave intake and assessment on their own once their required steps are done."""
        moved: list[PhaseTransition] = []
        following = {Phase.INTAKE: Phase.ASSESSMENT, Phase.ASSESSMENT: Phase.COACHING}
        while (
            self.phase in following
            and self.eligibility == "eligible"
            and not self.is_closed
            and not self.missing_steps()
        ):
            moved.append(self._move(following[self.phase], self.status, "required steps done", now))
        return moved

    def decide_eligibility(
        self, decision: EligibilityDecision, now: datetime, *, close_stands: bool = False
    ) -> list[PhaseTransition]:
        """Record the intake eligibility check; the ineligible end at once.

        With `close_stands`, a check that answers after a case manager closed the trajectory
        is recorded without replacing the case manager's outcome.
        """
        self.revision += 1
        if close_stands and self.is_closed:
            self.eligibility = "eligible" if decision.eligible else "ineligible"
            self.ineligibility = decision.reasons
            return []
        if decision.eligible:
            self.eligibility = "eligible"
            return self._advance(now)
        self.eligibility = "ineligible"
        self.ineligibility = decision.reasons
        reasons = "; ".join(r.code for r in decision.reasons)
        return self.close(Outcome.INELIGIBLE, f"not eligible: {reasons}", now)

    def close(self, outcome: Outcome, reason: str, now: datetime) -> list[PhaseTransition]:
        """End the trajectory with `outcome`."""
        self.outcome = outcome
        self.close_reason = reason
        self.closed_at = now
        self.closed_in = self.phase
        self.nudge_level = 0
        if self.asks_every_leaver:
            self._ask_results(now)
        return [self._move(Phase.CLOSED, Status.CLOSED, reason, now)]

    def _ask_results(self, now: datetime) -> None:
        """Whoever leaves without follow-up is asked for a result on leaving (ESF+); a close
        into a job, training or education gets the programme's whole follow-up schedule.

        Those found ineligible never took part, and a trajectory already followed up keeps its
        own check-ins.
        """
        if self.follow_ups or self.outcome in (None, Outcome.INELIGIBLE):
            return
        schedule = self.programme.follow_up
        if self.outcome not in OUTCOME_OF_PLACEMENT.values():
            schedule = tuple(c for c in schedule if c.name == "on_leaving") or (ON_LEAVING,)
        self.left_at = self.left_at or now
        self.follow_ups = self._checks(schedule, now)

    def pause(self, reason: str | None, now: datetime) -> list[PhaseTransition]:
        """Stop every clock (illness, parental leave, detention, ...)."""
        self.status_before_pause = self.status
        self.pause_reason = reason
        self.paused_at = now
        return [
            self._move(self.phase, Status.PAUSED, f"paused: {reason or 'no reason given'}", now)
        ]

    def resume(self, reason: str | None, now: datetime) -> list[PhaseTransition]:
        """Restart the clocks where they stopped: every deadline moves by the time paused."""
        assert self.paused_at is not None and self.status_before_pause is not None
        self._shift(now - self.paused_at)
        status, self.status_before_pause, self.paused_at, self.pause_reason = (
            self.status_before_pause,
            None,
            None,
            None,
        )
        return [self._move(self.phase, status, f"resumed: {reason or 'no reason given'}", now)]

    def hold(self, attention: str, now: datetime) -> list[PhaseTransition]:
        """Stop the clocks and wait for a case manager: the engine cannot go on by itself."""
        self.attention = attention
        if self.status == Status.NEEDS_ATTENTION:
            return []
        self.status_before_attention, self.attention_since = self.status, now
        return [
            self._move(self.phase, Status.NEEDS_ATTENTION, f"needs attention: {attention}", now)
        ]

    def attend(self, reason: str | None, now: datetime) -> list[PhaseTransition]:
        """A case manager took over: the clocks go on where they stopped, the step is retried."""
        assert self.attention_since is not None and self.status_before_attention is not None
        status = self.status_before_attention
        if status not in (Status.PAUSED, Status.CLOSED):
            self._shift(now - self.attention_since)
        self.attention = self.status_before_attention = self.attention_since = None
        return [self._move(self.phase, status, f"attended to: {reason or 'no reason given'}", now)]

    @property
    def needs_attention(self) -> bool:
        """Whether the trajectory waits for a case manager before the engine goes on."""
        return self.status == Status.NEEDS_ATTENTION

    def _shift(self, shift: timedelta) -> None:
        """Move every running deadline by `shift`: time the clocks stood still."""
        self.last_contact_at += shift
        self.max_deadline += shift
        if self.dormant_since is not None:
            self.dormant_since += shift
        if self.placement is not None:
            self.placement.settles_at += shift
        for check in self.follow_ups:
            if not check.settled:
                check.opens_at += shift
                check.due_at += shift

    def reassign(
        self, programme: PartnerProgramme, reason: str | None, now: datetime
    ) -> list[PhaseTransition]:
        """Hand the participant to another partner; from now on that partner's steps apply."""
        previous = self.programme.name
        self.programme = programme
        cause = f"reassigned from {previous} to {programme.name}: {reason or 'no reason given'}"
        return [self._move(self.phase, self.status, cause, now), *self._advance(now)]

    def seats_held_at_close(self) -> list[tuple[str, Literal["dropped", "expired"]]]:
        """Seats a closed trajectory still holds or waits for: the course it was following,
        and a seat offered or a waiting-list place. Each must be handed on."""
        if not self.is_closed:
            return []
        held: list[tuple[str, Literal["dropped", "expired"]]] = []
        if self.closed_in == Phase.TRAINING and self.training is not None:
            held.append((self.training.course_id, "dropped"))
        if self.seat is not None:
            held.append((self.seat.course_id, "expired"))
        return held

    def complete_task(self, done: TaskDone, now: datetime) -> list[PhaseTransition]:
        """Close a task; a participant reached counts as contact and resets the ladder."""
        if (reason := self.task_refusal(done)) is not None:
            raise MilestoneRefused(reason)
        task = next(t for t in self.tasks if t.task_id == done.task_id)
        task.done_at, task.reached = now, done.reached
        self.revision += 1
        if done.reached:
            return self._contact(max(self.last_contact_at, now), now)
        return []

    def offer_seat(self, offer: SeatOffer) -> None:
        """A freed seat is offered; the coach accepts it by reporting `training_enrolled`."""
        self.revision += 1
        self.seat = SeatClaim(
            course_id=offer.course_id, status="offered", offered_until=offer.offered_until
        )

    def _move(self, phase: Phase, status: Status, cause: str, now: datetime) -> PhaseTransition:
        self.transition_seq += 1
        self.revision += 1
        change = PhaseTransition(
            seq=self.transition_seq,
            from_phase=self.phase,
            to_phase=phase,
            status=status,
            cause=cause,
            at=now,
        )
        self.phase, self.status = phase, status
        return change

    # -- what happens on silence ----------------------------------------------------------------

    def next_timer(self, now: datetime) -> Timer | None:
        """The earliest deadline that fires if nothing is reported; None when no clock runs."""
        offer = self._offer_timer(now)
        if self.awaiting_results:
            check = next(c for c in self.follow_ups if not c.settled)
            missed = Timer("follow_up_missed", check.due_at, f"{check.name} check-in unanswered")
            return min((t for t in (offer, missed) if t is not None), key=lambda t: t.at)
        if (
            self.status in (Status.PAUSED, Status.CLOSED, Status.NEEDS_ATTENTION)
            or self.eligibility != "eligible"
        ):
            return offer
        timers: list[Timer] = [offer] if offer else []
        if self.phase != Phase.FOLLOW_UP:
            timers.append(Timer("max_duration", self.max_deadline, "maximum duration reached"))
        if self.status == Status.DORMANT:
            assert self.dormant_since is not None
            at = self.dormant_since + self.day * self.programme.remobilisation_days
            timers.append(Timer("lost_contact", at, "re-mobilisation window ends: lost contact"))
        elif (silence := self._silence(now)) is not None:
            timers.append(silence)
        if self.phase == Phase.PLACEMENT and self.placement is not None:
            timers.append(
                Timer("leave", self.placement.settles_at, "placement settled: leaves for follow-up")
            )
        return min(timers, key=lambda t: t.at)

    def _offer_timer(self, now: datetime) -> Timer | None:
        """An offered seat lapses at its deadline, or at once when it cannot be taken."""
        if self.seat is None or self.seat.status != "offered":
            return None
        assert self.seat.offered_until is not None
        if self.phase != Phase.COACHING or self.status != Status.ACTIVE:
            return Timer("offer_lapses", now, f"{self.phase.value}: cannot take the seat offered")
        summary = f"seat offer in {self.seat.course_id} lapses"
        return Timer("offer_lapses", self.seat.offered_until, summary)

    def _silence(self, now: datetime) -> Timer | None:
        phase = self.phase.value
        since = self.last_contact_at
        if self.phase == Phase.PLACEMENT and self.placement is not None:
            return None
        if self.phase == Phase.FOLLOW_UP:
            check = next((c for c in self.follow_ups if not c.settled), None)
            if check is None:
                return None
            since = max(since, check.opens_at)
        rung = NudgeLadder(self.programme, self.phase, self.day).rung(self.nudge_level + 1, since)
        days = self.programme.steps(self.phase).inactivity_days
        cause = f"{phase} silence timeout {days} days"
        ending = f"{phase} silence after every nudge"
        if (task := self._task_of_last_rung()) is not None and task.due_at < rung.due_at:
            rung = replace(rung, due_at=task.due_at)
            cause = ending = f"{task.kind.replace('_', ' ')} task {task.task_id} overdue"
        if rung.step is None:
            kind: TimerKind = "follow_up_missed" if self.phase == Phase.FOLLOW_UP else "dormant"
            return Timer(kind, rung.due_at, f"{ending}: {kind.replace('_', ' ')}", rung)
        at = rung.due_at
        if rung.step.action == "message":
            at += (next_daytime(max(at, now)) - max(at, now)) * (self.day_seconds / 86400)
        summary = f"{cause}: nudge {rung.level} by {rung.step.channel.value}"
        return Timer("nudge", at, summary, rung)

    def _task_of_last_rung(self) -> CoachTask | None:
        """The open task the rung climbed last opened: past its due date it raises the next."""
        if self.nudge_level == 0:
            return None
        return next((t for t in self.tasks if t.is_open and t.nudge_seq == self.nudge_seq), None)

    def fire(self, timer: Timer, now: datetime) -> Effects:
        """Carry out a timer that fell due; returns the changes and what the workflow must do."""
        self.revision += 1
        match timer.kind:
            case "max_duration":
                cause = "maximum duration reached"
                return Effects(self.close(Outcome.MAX_DURATION_REACHED, cause, now))
            case "lost_contact":
                cause = "no contact during re-mobilisation"
                return Effects(self.close(Outcome.LOST_CONTACT, cause, now))
            case "dormant":
                self.dormant_since = now
                self.nudge_level += 1
                cause = "silence after every nudge"
                return Effects([self._move(self.phase, Status.DORMANT, cause, now)])
            case "follow_up_missed":
                check = next(c for c in self.follow_ups if not c.settled)
                check.unanswered = True
                self.nudge_level = 0
                return Effects(self._after_follow_up(now))
            case "leave":
                return Effects(self._leave(now))
            case "offer_lapses":
                lapsed, self.seat = self.seat, None
                return Effects([], lapsed_offer=lapsed)
        assert timer.rung is not None and timer.rung.step is not None
        self.nudge_level = timer.rung.level
        self.nudge_seq += 1
        step = timer.rung.step
        languages = self.programme.languages
        task: CoachTask | None = None
        if step.action != "message" and self.tracks_tasks:
            task = CoachTask(
                task_id=task_id_for(self.participant_id, self.nudge_seq),
                kind=step.action,
                nudge_seq=self.nudge_seq,
                opened_at=now,
                due_at=due_after_working_days(now, WORKING_DAYS_TO_DO, self.day),
            )
            self.tasks.append(task)
        nudge = NudgeRequest(
            participant_id=self.participant_id,
            partner_id=self.partner_id,
            seq=self.nudge_seq,
            level=self.nudge_level,
            action=step.action,
            channel=step.channel,
            language=self.language if self.language in languages else languages[0],
            phase=self.phase,
            silent_since=self.last_contact_at,
            sent_at=now,
            task_id=task.task_id if task else None,
            task_due_at=task.due_at if task else None,
        )
        return Effects([], nudge=nudge)

    def _leave(self, now: datetime) -> list[PhaseTransition]:
        self.left_at = now
        self.nudge_level = 0
        self.follow_ups = self._checks(self.programme.follow_up, now)
        return [self._move(Phase.FOLLOW_UP, self.status, "left the programme in a placement", now)]

    def _checks(self, schedule: Iterable[FollowUpCheckpoint], now: datetime) -> list[FollowUpCheck]:
        """The check-ins after leaving `now`, each open from four weeks before it is due."""
        window = self.day * FOLLOW_UP_WINDOW_DAYS
        return [
            FollowUpCheck(
                name=c.name,
                opens_at=max(now, now + self.day * c.due_days - window),
                due_at=now + self.day * c.due_days,
            )
            for c in schedule
        ]

    def _after_follow_up(self, now: datetime) -> list[PhaseTransition]:
        if self.is_closed or any(not c.settled for c in self.follow_ups):
            return []
        assert self.placement is not None
        return self.close(OUTCOME_OF_PLACEMENT[self.placement.kind], "follow-up complete", now)

    # -- what the outside sees ------------------------------------------------------------------

    def snapshot(self, now: datetime) -> TrajectorySnapshot:
        timer = self.next_timer(now)
        return TrajectorySnapshot(
            participant_id=self.participant_id,
            partner_id=self.partner_id,
            phase=self.phase,
            status=self.status,
            nudge_level=self.nudge_level,
            milestone_count=len(self.milestone_ids),
            last_milestone=self.last_milestone,
            last_contact_at=self.last_contact_at,
            outcome=self.outcome,
            next_deadline=timer.at if timer else None,
            enrolled_at=self.enrolled_at,
            closed_at=self.closed_at,
            first_offer_at=self.first_offer_at,
            left_at=self.left_at,
            placement_kind=self.placement.kind if self.placement else None,
            course_id=self.seat.course_id
            if self.seat
            else (self.training.course_id if self.training else None),
            waiting_position=self.seat.position if self.seat else None,
            seat_offered_until=self.seat.offered_until if self.seat else None,
            revision=self.revision,
            attention=self.attention,
            next_steps=self.next_steps(),
            open_tasks=self.open_tasks(),
        )


class TrajectoryInput(BaseModel):
    """How a trajectory starts; `state` is set only when it continues as new.

    Kept out of the workflow's module, which the sandbox executes again for every run.
    """

    participant_id: str = Field(description="opaque id, never personal data")
    programme: PartnerProgramme
    postcode: str
    language: str
    day_seconds: float = Field(default=86400.0, gt=0, description="length of a programme day")
    history_limit: int = Field(
        default=10_000, description="continue as new beyond this many events"
    )
    state: TrajectoryState | None = None
    revived: bool = Field(
        default=False, description="a new run after one stopped from outside: show it at once"
    )

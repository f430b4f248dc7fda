"""Silence and the clocks: the re-mobilisation ladder and every timer of a trajectory (DESIGN §4).

`next_timer` says what happens next if nobody reports anything; `fire` carries it out when it
falls due. Any real contact resets the ladder (`contact`).
"""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from trajectory.daytime import next_daytime
from trajectory.follow_ups import OUTCOME_OF_PLACEMENT, check_ins, next_check
from trajectory.ladder import NudgeLadder, Rung
from trajectory.phases import Cause, Outcome, Phase, Status
from trajectory.records import NudgeRequest, PhaseTransition
from trajectory.seats import SeatClaim
from trajectory.state import TrajectoryState
from trajectory.steering import close, close_when_followed_up
from trajectory.task_rules import task_of_last_rung
from trajectory.tasks import WORKING_DAYS_TO_DO, CoachTask, due_after_working_days, task_id_for

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
    task: CoachTask | None = None
    """The task the rung opens: it joins the state once the rung is written (`open_task`)."""
    lapsed_offer: SeatClaim | None = None


def contact(state: TrajectoryState, at: datetime, now: datetime) -> list[PhaseTransition]:
    """The participant was reached at `at`: the ladder starts again, a dormant one wakes."""
    state.last_contact_at = max(state.last_contact_at, at)
    state.nudge_level = 0
    state.undelivered_at = None
    if state.status != Status.DORMANT:
        return []
    state.dormant_since = None
    return [state.move(state.phase, Status.ACTIVE, Cause.RE_MOBILISED, now)]


def next_timer(state: TrajectoryState, now: datetime) -> Timer | None:
    """The earliest deadline that fires if nothing is reported; None when no clock runs."""
    offer = _offer_timer(state, now)
    if state.awaiting_results and (check := next_check(state.follow_ups)) is not None:
        missed = Timer("follow_up_missed", check.due_at, f"{check.name} check-in unanswered")
        return min((t for t in (offer, missed) if t is not None), key=lambda t: t.at)
    if state.clocks_stopped or state.is_closed or state.eligibility != "eligible":
        return offer
    timers: list[Timer] = [offer] if offer else []
    if state.phase != Phase.FOLLOW_UP:
        timers.append(Timer("max_duration", state.max_deadline, "maximum duration reached"))
    if state.status == Status.DORMANT:
        assert state.dormant_since is not None
        at = state.dormant_since + state.day * state.programme.remobilisation_days
        timers.append(Timer("lost_contact", at, "re-mobilisation window ends: lost contact"))
    elif (silence := _silence(state, now)) is not None:
        timers.append(silence)
    if state.phase == Phase.PLACEMENT and state.placement is not None:
        summary = "placement settled: leaves for follow-up"
        timers.append(Timer("leave", state.placement.settles_at, summary))
    return min(timers, key=lambda t: t.at)


def _offer_timer(state: TrajectoryState, now: datetime) -> Timer | None:
    """An offered seat lapses at its deadline, or at once when it cannot be taken."""
    if state.seat is None or state.seat.status != "offered":
        return None
    assert state.seat.offered_until is not None
    if state.phase != Phase.COACHING or state.status != Status.ACTIVE:
        return Timer("offer_lapses", now, f"{state.phase.value}: cannot take the seat offered")
    return Timer(
        "offer_lapses", state.seat.offered_until, f"seat offer in {state.seat.course_id} lapses"
    )


def _silence(state: TrajectoryState, now: datetime) -> Timer | None:
    """The next rung of the ladder, counted from the last contact (or the open check-in)."""
    since = state.last_contact_at
    if state.phase == Phase.PLACEMENT and state.placement is not None:
        return None
    if state.phase == Phase.FOLLOW_UP:
        check = next_check(state.follow_ups)
        if check is None:
            return None
        since = max(since, check.opens_at)
    phase = state.phase.value
    rung = NudgeLadder(state.programme, state.phase, state.day).rung(state.nudge_level + 1, since)
    days = state.programme.steps(state.phase).inactivity_days
    cause = f"{phase} silence timeout {days} days"
    ending = f"{phase} silence after every nudge"
    if rung.step is not None and state.undelivered_at is not None:
        rung = replace(rung, due_at=min(rung.due_at, state.undelivered_at))
        cause = f"nudge {state.nudge_level} not delivered"
    if (task := task_of_last_rung(state)) is not None and task.due_at < rung.due_at:
        rung = replace(rung, due_at=task.due_at)
        cause = ending = f"{task.kind.replace('_', ' ')} task {task.task_id} overdue"
    if rung.step is None:
        kind: TimerKind = "follow_up_missed" if state.phase == Phase.FOLLOW_UP else "dormant"
        return Timer(kind, rung.due_at, f"{ending}: {kind.replace('_', ' ')}", rung)
    at = rung.due_at
    if rung.step.action == "message":
        at += (next_daytime(max(at, now)) - max(at, now)) * (state.day_seconds / 86400)
    return Timer("nudge", at, f"{cause}: nudge {rung.level} by {rung.step.channel.value}", rung)


def fire(state: TrajectoryState, timer: Timer, now: datetime) -> Effects:
    """Carry out a timer that fell due; returns the changes and what the workflow must do."""
    state.revision += 1
    match timer.kind:
        case "max_duration":
            return Effects(
                close(state, Outcome.MAX_DURATION_REACHED, Cause.MAX_DURATION_REACHED, now)
            )
        case "lost_contact":
            return Effects(close(state, Outcome.LOST_CONTACT, Cause.LOST_CONTACT, now))
        case "dormant":
            state.dormant_since = now
            state.nudge_level += 1
            return Effects([state.move(state.phase, Status.DORMANT, Cause.DORMANT, now)])
        case "follow_up_missed":
            check = next_check(state.follow_ups)
            assert check is not None
            check.unanswered = True
            state.nudge_level = 0
            return Effects(close_when_followed_up(state, now))
        case "leave":
            return Effects(_leave(state, now))
        case "offer_lapses":
            lapsed, state.seat = state.seat, None
            return Effects([], lapsed_offer=lapsed)
    return _climb(state, timer, now)


def open_task(state: TrajectoryState, task: CoachTask) -> None:
    """The rung that asked for `task` is written: from now on it can be listed and closed."""
    state.tasks.append(task)


def rung_not_delivered(state: TrajectoryState, nudge_seq: int, now: datetime) -> bool:
    """Rung `nudge_seq`'s message reached nobody: unless contact or a later rung came since, the
    next rung falls due now (a person without a usable channel gets the coach's call sooner).
    False when it no longer matters."""
    if nudge_seq != state.nudge_seq or state.nudge_level == 0 or state.is_closed:
        return False
    state.undelivered_at = now
    state.revision += 1
    return True


def _climb(state: TrajectoryState, timer: Timer, now: datetime) -> Effects:
    """Climb to the timer's rung: a message, or a task for a coach or a street worker."""
    assert timer.rung is not None and timer.rung.step is not None
    state.nudge_level = timer.rung.level
    state.nudge_seq += 1
    state.undelivered_at = None
    step = timer.rung.step
    languages = state.programme.languages
    task: CoachTask | None = None
    if step.action != "message":
        task = CoachTask(
            task_id=task_id_for(state.participant_id, state.nudge_seq),
            kind=step.action,
            nudge_seq=state.nudge_seq,
            opened_at=now,
            due_at=due_after_working_days(now, WORKING_DAYS_TO_DO, state.day),
        )
    nudge = NudgeRequest(
        participant_id=state.participant_id,
        partner_id=state.partner_id,
        seq=state.nudge_seq,
        level=state.nudge_level,
        action=step.action,
        channel=step.channel,
        language=state.language if state.language in languages else languages[0],
        phase=state.phase,
        silent_since=state.last_contact_at,
        sent_at=now,
        task_id=task.task_id if task else None,
        task_due_at=task.due_at if task else None,
    )
    return Effects([], nudge=nudge, task=task)


def _leave(state: TrajectoryState, now: datetime) -> list[PhaseTransition]:
    """The placement settled: the participant leaves for follow-up, into that placement."""
    assert state.placement is not None
    state.left_at = now
    state.exit_outcome = OUTCOME_OF_PLACEMENT[state.placement.kind]
    state.nudge_level = 0
    state.follow_ups = check_ins(state.programme.follow_up, now, state.day, now)
    return [state.move(Phase.FOLLOW_UP, state.status, Cause.LEFT_IN_PLACEMENT, now)]

"""Phases, statuses and outcomes of a participant trajectory (DESIGN §1)."""

from enum import StrEnum


class Phase(StrEnum):
    """Where a participant is on the way from intake to follow-up."""

    INTAKE = "intake"
    ASSESSMENT = "assessment"
    COACHING = "coaching"
    TRAINING = "training"
    PLACEMENT = "placement"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"


OPEN_PHASES: tuple[Phase, ...] = (
    Phase.INTAKE,
    Phase.ASSESSMENT,
    Phase.COACHING,
    Phase.TRAINING,
    Phase.PLACEMENT,
    Phase.FOLLOW_UP,
)


class Status(StrEnum):
    """Whether the trajectory's clocks run (DESIGN §8 `ParcoursStatus`)."""

    ACTIVE = "active"
    PAUSED = "paused"
    DORMANT = "dormant"
    CLOSED = "closed"
    NEEDS_ATTENTION = "needs_attention"
    """The engine cannot go on by itself; clocks stop until a case manager acts (DESIGN §8.1)."""


class Outcome(StrEnum):
    """How a trajectory ended."""

    EMPLOYED = "employed"
    SELF_EMPLOYED = "self_employed"
    TRAINEESHIP = "traineeship"
    APPRENTICESHIP = "apprenticeship"
    EDUCATION = "education"
    INELIGIBLE = "ineligible"
    WITHDRAWN = "withdrawn"
    MOVED_AWAY = "moved_away"
    LOST_CONTACT = "lost_contact"
    OTHER_SUPPORT_MEASURE = "other_support_measure"
    MAX_DURATION_REACHED = "max_duration_reached"


class Cause(StrEnum):
    """Why a trajectory changed phase or status: a code the read model and reports keep in clear.

    The words of a person (a case manager's reason) travel apart, in `PhaseTransition.reason`.
    """

    REQUIRED_STEPS_DONE = "required_steps_done"
    ASSESSMENT_IMPORTED = "assessment_imported"
    """The PES assessed the person before enrolment: the partner does not assess again."""
    TRAINING_ENROLLED = "training_enrolled"
    TRAINING_COMPLETED = "training_completed"
    TRAINING_DROPPED = "training_dropped"
    PLACEMENT_STARTED = "placement_started"
    PLACEMENT_ENDED = "placement_ended"
    LEFT_IN_PLACEMENT = "left_in_placement"
    FOLLOW_UP_COMPLETE = "follow_up_complete"
    DORMANT = "dormant"
    RE_MOBILISED = "re_mobilised"
    LOST_CONTACT = "lost_contact"
    MAX_DURATION_REACHED = "max_duration_reached"
    WITHDRAWN = "withdrawn"
    MOVED_AWAY = "moved_away"
    INELIGIBLE = "ineligible"
    PAUSED = "paused"
    RESUMED = "resumed"
    NEEDS_ATTENTION = "needs_attention"
    ATTENDED = "attended"
    REASSIGNED = "reassigned"
    CLOSED_BY_CASE_MANAGER = "closed_by_case_manager"
    ERASURE_REQUESTED = "erasure_requested"
    """The person asked to be erased: the trajectory ends and asks nothing more of them."""

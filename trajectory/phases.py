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

"""How a trajectory says no: the error types its callers tell apart (the API maps each to HTTP)."""

from temporalio.exceptions import ActivityError, ApplicationError

from trajectory.admission import Refusal

REFUSED = "Refused"
"""Error type of a request the trajectory refuses now; the message says why."""
NOT_FOUND = "NotFound"
"""Error type for a partner that does not hold the participant (any more)."""
REUSED = "MilestoneIdReused"
"""Error type of a recorded milestone id sent again with other content."""
UNKNOWN_PARTICIPANT = "UnknownParticipant"
"""Error type of an activity that finds no participant row: nothing to retry."""

_TYPES = {"refused": REFUSED, "reused": REUSED, "not_found": NOT_FOUND}


def refused(reason: str) -> ApplicationError:
    """The error a caller sees when the trajectory refuses a request."""
    return ApplicationError(reason, type=REFUSED, non_retryable=True)


def as_error(refusal: Refusal) -> ApplicationError:
    """The error a caller sees for `refusal`."""
    return ApplicationError(refusal.reason, type=_TYPES[refusal.kind], non_retryable=True)


def of_type(error: ActivityError, kind: str) -> bool:
    """Whether an activity failed with an application error of type `kind`."""
    return isinstance(error.cause, ApplicationError) and error.cause.type == kind

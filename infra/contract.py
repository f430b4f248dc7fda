"""Temporal names other systems rely on (DESIGN §8); safe to import from workflow code.

Changing one of these is a contract change: version it instead.
"""

from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributeKey

TASK_QUEUE = "parcours"


def workflow_id(participant_id: str) -> str:
    """The id of a participant's trajectory; the participant id is opaque, so no personal data."""
    return f"trajectory-{participant_id}"


def participant_id_of(trajectory_id: str) -> str:
    """The participant id in a trajectory's workflow id."""
    return trajectory_id.removeprefix("trajectory-")


PARTNER: SearchAttributeKey[str] = SearchAttributeKey.for_keyword("ParcoursPartner")
PHASE: SearchAttributeKey[str] = SearchAttributeKey.for_keyword("ParcoursPhase")
STATUS: SearchAttributeKey[str] = SearchAttributeKey.for_keyword("ParcoursStatus")
NUDGE_LEVEL: SearchAttributeKey[int] = SearchAttributeKey.for_int("ParcoursNudgeLevel")
POSTCODE: SearchAttributeKey[str] = SearchAttributeKey.for_keyword("ParcoursPostcode")
LAST_CONTACT: SearchAttributeKey[datetime] = SearchAttributeKey.for_datetime("ParcoursLastContact")
OUTCOME: SearchAttributeKey[str] = SearchAttributeKey.for_keyword("ParcoursOutcome")
ENROLLED_AT: SearchAttributeKey[datetime] = SearchAttributeKey.for_datetime("ParcoursEnrolledAt")

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    PARTNER,
    PHASE,
    STATUS,
    NUDGE_LEVEL,
    POSTCODE,
    LAST_CONTACT,
    OUTCOME,
    ENROLLED_AT,
)
"""Every custom search attribute a trajectory sets, for registration on a namespace."""

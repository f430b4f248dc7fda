"""Intake facts: what the person declared and the decision (the PES registry of other measures
is `readmodel.other_measures`)."""

import asyncpg

from infra.database import Connection
from trajectory.records import EligibilityDecision

_DECLARED_STATUS = """
SELECT status_employed, status_in_education, status_in_training, status_other_measure
FROM persons WHERE participant_id = $1
"""

_RECORD_ELIGIBILITY = """
INSERT INTO eligibility_checks (participant_id, eligible, reasons) VALUES ($1, $2, $3)
ON CONFLICT (participant_id) DO UPDATE
SET eligible = EXCLUDED.eligible, reasons = EXCLUDED.reasons, checked_at = now()
"""


async def declared_status(con: Connection, participant_id: str) -> asyncpg.Record | None:
    """Employment, education, training and other-measure answers given at enrolment."""
    return await con.fetchrow(_DECLARED_STATUS, participant_id)


async def record_eligibility(
    con: Connection, participant_id: str, decision: EligibilityDecision
) -> None:
    """Keep the intake decision and its reasons (the last check wins)."""
    await con.execute(
        _RECORD_ELIGIBILITY,
        participant_id,
        decision.eligible,
        [reason.model_dump() for reason in decision.reasons],
    )

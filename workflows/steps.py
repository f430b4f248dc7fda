"""The trajectory's activities as the workflow calls them: each with its timeout, retries and
a summary in words for the Web UI."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.training import TrainingActivities
    from activities.trajectory import TrajectoryActivities
    from trajectory.catalogue import UNKNOWN_COURSE, Recommendation
    from trajectory.delivery import NudgeOutcome
    from trajectory.eligibility import enrolment_day
    from trajectory.programme import PartnerProgramme
    from trajectory.records import (
        EligibilityDecision,
        EligibilityRequest,
        NudgeRequest,
        RecommendationRequest,
    )
    from trajectory.state import TrajectoryState
    from workflows.errors import UNKNOWN_PARTICIPANT

ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=30,
    non_retryable_error_types=[UNKNOWN_PARTICIPANT, "UnknownPartner", UNKNOWN_COURSE],
)
"""About half an hour of attempts; then the trajectory waits for a case manager."""

_NUDGE_VERBS = {"message": "nudge", "coach_call": "coach call task", "outreach": "outreach request"}


async def check_eligibility(state: TrajectoryState) -> EligibilityDecision:
    """The intake check: a local activity, so a new trajectory settles in one workflow task."""
    request = EligibilityRequest(
        participant_id=state.participant_id, enrolled_on=enrolment_day(state.enrolled_at)
    )
    return await workflow.execute_local_activity_method(
        TrajectoryActivities.check_eligibility,
        request,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=RETRY,
        summary="intake eligibility check",
    )


async def load_programme(partner_id: str) -> PartnerProgramme:
    return await workflow.execute_activity_method(
        TrajectoryActivities.load_programme,
        partner_id,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=RETRY,
        summary=f"load the {partner_id} programme",
    )


async def send_nudge(nudge: NudgeRequest) -> NudgeOutcome:
    """Carry out the rung; whether its message can reach the person (a task always can)."""
    return await workflow.execute_activity_method(
        TrajectoryActivities.send_nudge,
        nudge,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=RETRY,
        summary=(
            f"{_NUDGE_VERBS[nudge.action]} {nudge.level} by {nudge.channel.value} "
            f"in {nudge.language}"
        ),
    )


async def recommend_training(state: TrajectoryState) -> list[Recommendation]:
    """Rank the catalogue once the assessment is done."""
    return await workflow.execute_activity_method(
        TrainingActivities.recommend_training,
        RecommendationRequest(participant_id=state.participant_id, assessment=state.assessment),
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=RETRY,
        summary="recommend training from the assessment",
    )

"""Training seats and recommendations: the workflow's requests carried out on the read model."""

import structlog
from temporalio import activity

from activities.context import bound_to_workflow
from infra.database import Pool
from readmodel import seats
from trajectory.catalogue import Recommendation, recommend
from trajectory.records import (
    RecommendationRequest,
    SeatDecision,
    SeatOffer,
    SeatRelease,
    SeatRequest,
)

log = structlog.stdlib.get_logger(__name__)


class TrainingActivities:
    """Seat decisions and recommendations, bound to the process's pool."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @activity.defn
    async def request_seat(self, request: SeatRequest) -> SeatDecision:
        """A seat when one is free (or was offered to this participant), else a place in line."""
        with bound_to_workflow(request.participant_id):
            async with self._pool.acquire() as con, con.transaction():
                decision = await seats.request_seat(con, request)
            log.info(
                "seat_requested",
                course_id=request.course_id,
                granted=decision.granted,
                position=decision.position,
            )
            return decision

    @activity.defn
    async def release_seat(self, release: SeatRelease) -> SeatOffer | None:
        """Hand a seat back; the next in line who is still in the programme is offered it."""
        with bound_to_workflow(release.participant_id):
            async with self._pool.acquire() as con, con.transaction():
                offer = await seats.release_seat(con, release)
            log.info(
                "seat_released",
                course_id=release.course_id,
                outcome=release.outcome,
                offered_to=offer.participant_id if offer else None,
            )
            return offer

    @activity.defn
    async def recommend_training(self, request: RecommendationRequest) -> list[Recommendation]:
        """Rank the catalogue for the participant's assessment and keep the ranking."""
        with bound_to_workflow(request.participant_id):
            async with self._pool.acquire() as con, con.transaction():
                ranked = recommend(request.assessment, await seats.seats_left(con))
                await seats.store_recommendations(con, request.participant_id, ranked)
            log.info("training_recommended", courses=[r.course_id for r in ranked])
            return ranked

"""A Youth Guarantee first offer: employment, continued education, an apprenticeship or a
traineeship, accepted or not; starting one's own business is not an offer (DESIGN §9)."""

from tests.journeys import Start
from trajectory.milestones import MilestoneType as M


async def test_a_youth_who_starts_their_own_business_has_had_no_offer_yet(start: Start) -> None:
    journey = await start("jes")
    for _ in range(3):
        await journey.finish_phase()
    await journey.report(M.JOB_OFFER_RECEIVED, {"kind": "self_employment"})
    placed = await journey.place("self_employment")
    assert placed.first_offer_at is None


async def test_a_traineeship_offer_turned_down_still_counts_as_the_first_offer(
    start: Start,
) -> None:
    journey = await start("inbrussel")
    for _ in range(3):
        await journey.finish_phase()
    offered = await journey.report(M.JOB_OFFER_RECEIVED, {"kind": "traineeship"})
    assert offered.first_offer_at is not None
    placed = await journey.place("employment")
    assert placed.first_offer_at == offered.first_offer_at

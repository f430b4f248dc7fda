"""A runaway integration cannot grow a trajectory without bound: a trajectory records at most
`MILESTONES_PER_DAY` milestones in a programme day, and says so when it refuses one more."""

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.journeys import Start
from trajectory.admission import MILESTONES_PER_DAY
from trajectory.milestones import MilestoneType as M


async def test_an_integration_looping_on_contacts_is_stopped_for_the_day_then_goes_on(
    start: Start,
) -> None:
    journey = await start("jes")
    for n in range(MILESTONES_PER_DAY):
        await journey.report(M.PARTICIPANT_CONTACT, milestone_id=f"loop-{n}")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await journey.report(M.PARTICIPANT_CONTACT, milestone_id="one-too-many")
    assert f"{MILESTONES_PER_DAY} milestones were recorded today" in str(refused.value.cause)

    await journey.skip(1)
    tomorrow = await journey.report(M.PARTICIPANT_CONTACT, milestone_id="next-day")
    assert tomorrow.milestone_count == MILESTONES_PER_DAY + 1

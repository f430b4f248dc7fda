"""What the trajectory's own Python costs per milestone, beside the payload conversions.

    PYTHONPATH=. .venv/bin/python bench/state_cost.py

Applies 2,000 `participant_contact` milestones to one JES trajectory's state exactly as the
workflow does for each Update (admission, recording, the next timer, the snapshot and the
read-model step, all pydantic models), then encodes and decodes what one Update moves (its
input and its answer) and, for scale, the whole state as continue-as-new carries it, through
the production data converter (pydantic JSON and AES-GCM). Prints microseconds per milestone.
"""

import asyncio
import time
from datetime import UTC, datetime

from infra.codec import Keyring, data_converter
from trajectory.admission import milestone_refusal
from trajectory.milestones import Milestone, MilestoneType
from trajectory.programmes import load_programme
from trajectory.recording import decide_eligibility, record
from trajectory.records import EligibilityDecision, ReadModelChanges
from trajectory.requests import RecordMilestone
from trajectory.silence import next_timer
from trajectory.snapshots import snapshot_of
from trajectory.state import TrajectoryState

MILESTONES = 2_000
NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
FINGERPRINT_KEY = bytes(32)
"""Any key: the API's HMAC costs the same under each."""


def per_milestone_us(state: TrajectoryState, inputs: list[RecordMilestone]) -> float:
    began = time.perf_counter()
    for recorded in inputs:
        state.today = -1  # a fresh programme day each time: the daily limit is not the point
        assert milestone_refusal(state, recorded, NOW) is None
        changed = record(state, recorded, NOW, None)
        timer = next_timer(state, NOW)
        ReadModelChanges(
            snapshot=snapshot_of(state, NOW, timer),
            milestone=recorded,
            transitions=changed.transitions,
            at=NOW,
        )
    return (time.perf_counter() - began) / len(inputs) * 1e6


async def conversion_us(
    state: TrajectoryState, inputs: list[RecordMilestone]
) -> tuple[float, float]:
    converter = data_converter(Keyring.generate("bench"))
    answer = snapshot_of(state, NOW)
    began = time.perf_counter()
    for recorded in inputs[:500]:
        for value in (recorded, answer):
            await converter.decode(await converter.encode([value]), [type(value)])
    one_update = (time.perf_counter() - began) / 500 * 1e6
    began = time.perf_counter()
    for _ in range(100):
        await converter.decode(await converter.encode([state]), [TrajectoryState])
    return one_update, (time.perf_counter() - began) / 100 * 1e6


def main() -> None:
    state = TrajectoryState.enrol("p-bench", load_programme("jes"), "1080", "fr", NOW, 86400)
    decide_eligibility(state, EligibilityDecision(eligible=True), NOW)
    inputs = [
        RecordMilestone.of(
            Milestone(
                milestone_id=f"m-{n}", type=MilestoneType.PARTICIPANT_CONTACT, occurred_at=NOW
            ),
            FINGERPRINT_KEY,
        )
        for n in range(MILESTONES)
    ]
    domain = per_milestone_us(state, inputs)
    one_update, whole_state = asyncio.run(conversion_us(state, inputs))
    print(f"admission, recording, timer, snapshot, read-model step: {domain:.0f} us per milestone")
    print(f"an Update's input and answer, encoded and decoded: {one_update:.0f} us")
    print(
        f"the whole state ({len(state.milestones)} milestones), encoded and decoded: "
        f"{whole_state:.0f} us"
    )


if __name__ == "__main__":
    main()

"""The order each programme works in, enforced by the trajectory and told by `next_steps`."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.keys import milestone_key
from trajectory.admission import milestone_refusal, next_steps
from trajectory.milestones import Milestone, MilestoneType
from trajectory.phases import Phase
from trajectory.programmes import PARTNER_IDS, load_programme
from trajectory.recording import decide_eligibility, record
from trajectory.records import EligibilityDecision
from trajectory.requests import RecordMilestone
from trajectory.snapshots import snapshot_of
from trajectory.state import TrajectoryState

ENROLLED = datetime(2026, 3, 2, 9, tzinfo=UTC)
PAYLOADS = {
    MilestoneType.LANGUAGE_ASSESSED: {"language": "fr", "level": "B1"},
    MilestoneType.DIGITAL_ASSESSED: {"level": 3},
    MilestoneType.COACH_ASSIGNED: {"coach_ref": "coach-7"},
    MilestoneType.COACHING_SESSION_HELD: {"mode": "individual"},
    MilestoneType.TRAINING_ENROLLED: {"course_id": "kitchen-assistant-2027"},
    MilestoneType.PLACEMENT_STARTED: {"kind": "employment", "start_date": "2026-03-10"},
}


class Coach:
    """A partner's coach who reports one milestone a day on an eligible participant."""

    def __init__(self, partner_id: str) -> None:
        self.state = TrajectoryState.enrol(
            participant_id="p-order",
            programme=load_programme(partner_id),
            postcode="1080",
            language="fr",
            enrolled_at=ENROLLED,
            day_seconds=86400,
        )
        self.now = ENROLLED
        decide_eligibility(self.state, EligibilityDecision(eligible=True), self.now)

    def milestone(self, kind: MilestoneType) -> RecordMilestone:
        self.now += timedelta(days=1)
        return RecordMilestone.of(
            Milestone(
                milestone_id=f"{kind.value}-{self.now:%j}",
                type=kind,
                occurred_at=self.now,
                payload=PAYLOADS.get(kind, {}),
            ),
            milestone_key(),
        )

    def refusal(self, kind: MilestoneType) -> str | None:
        refusal = milestone_refusal(self.state, self.milestone(kind), self.now)
        return refusal.reason if refusal else None

    def report(self, kind: MilestoneType) -> None:
        record(self.state, self.milestone(kind), self.now, None)

    def follow_next_steps(self) -> list[MilestoneType]:
        """Report what `next_steps` names until the phase expects nothing more."""
        reported: list[MilestoneType] = []
        phase = self.state.phase
        while self.state.phase == phase and (steps := next_steps(self.state)):
            assert self.refusal(steps[0]) is None, (self.state.partner_id, steps[0])
            self.report(steps[0])
            reported.append(steps[0])
        return reported


@pytest.mark.parametrize("partner_id", PARTNER_IDS)
def test_every_partner_s_required_steps_can_be_reported_in_the_order_next_steps_gives(
    partner_id: str,
) -> None:
    coach = Coach(partner_id)
    programme = coach.state.programme
    for phase in (Phase.INTAKE, Phase.ASSESSMENT, Phase.COACHING):
        assert coach.state.phase == phase
        assert snapshot_of(coach.state, coach.now).next_steps == list(
            programme.steps(phase).required
        )
        assert coach.follow_next_steps() == list(programme.steps(phase).required)
    assert coach.state.phase == Phase.COACHING
    assert snapshot_of(coach.state, coach.now).next_steps == []
    assert coach.refusal(MilestoneType.PLACEMENT_STARTED) is None
    assert coach.refusal(MilestoneType.TRAINING_ENROLLED) is None


def _in_coaching(partner_id: str) -> Coach:
    coach = Coach(partner_id)
    coach.follow_next_steps()
    coach.follow_next_steps()
    assert coach.state.phase == Phase.COACHING
    return coach


def test_an_inbrussel_action_plan_before_the_job_day_is_refused() -> None:
    coach = _in_coaching("inbrussel")
    assert next_steps(coach.state)[0] == MilestoneType.JOB_DAY_ATTENDED
    assert coach.refusal(MilestoneType.ACTION_PLAN_AGREED) == (
        "InBrussel records action_plan_agreed after obstacles_identified"
    )
    assert coach.refusal(MilestoneType.OBSTACLES_IDENTIFIED) == (
        "InBrussel records obstacles_identified after job_day_attended"
    )
    coach.report(MilestoneType.JOB_DAY_ATTENDED)
    assert coach.refusal(MilestoneType.OBSTACLES_IDENTIFIED) is None


def test_infor_jeunes_defines_no_project_before_the_situation_is_stabilised() -> None:
    coach = _in_coaching("infor-jeunes")
    coach.report(MilestoneType.COACH_ASSIGNED)
    refusal = coach.refusal(MilestoneType.INTEGRATION_PROJECT_DEFINED)
    assert refusal is not None
    assert refusal.endswith("records integration_project_defined after situation_stabilised")
    assert next_steps(coach.state) == [
        MilestoneType.SITUATION_STABILISED,
        MilestoneType.INTEGRATION_PROJECT_DEFINED,
        MilestoneType.ACTION_PLAN_AGREED,
    ]


def test_a_jes_youth_trains_before_the_employer_mentor_match_but_is_placed_only_after_it() -> None:
    coach = _in_coaching("jes")
    coach.report(MilestoneType.COACH_ASSIGNED)
    coach.report(MilestoneType.BASIC_SKILLS_SESSION)
    assert next_steps(coach.state) == [MilestoneType.EMPLOYER_MENTOR_MATCHED]
    assert coach.refusal(MilestoneType.TRAINING_ENROLLED) is None
    assert coach.refusal(MilestoneType.PLACEMENT_STARTED) == (
        "coaching is not finished: JES first needs employer_mentor_matched"
    )


def test_a_closed_trajectory_expects_nothing_more() -> None:
    coach = Coach("jes")
    coach.report(MilestoneType.WITHDRAWN)
    assert snapshot_of(coach.state, coach.now).next_steps == []

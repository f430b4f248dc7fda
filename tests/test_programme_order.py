"""The order each programme works in, as the programme description gives it (DESIGN §9),
enforced by the trajectory and told by `next_steps` from enrolment on."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.keys import milestone_key
from trajectory.admission import milestone_refusal, next_steps
from trajectory.catalogue import Assessment
from trajectory.milestones import Milestone, MilestoneType
from trajectory.phases import Cause, Phase
from trajectory.programmes import PARTNER_IDS, load_programme
from trajectory.recording import decide_eligibility, record
from trajectory.records import EligibilityDecision, PhaseTransition
from trajectory.requests import RecordMilestone
from trajectory.snapshots import snapshot_of
from trajectory.state import TrajectoryState
from trajectory.steering import reassign

ENROLLED = datetime(2026, 3, 2, 9, tzinfo=UTC)
PAYLOADS = {
    MilestoneType.LANGUAGE_ASSESSED: {"language": "fr", "level": "B1"},
    MilestoneType.DIGITAL_ASSESSED: {"level": 3},
    MilestoneType.COACH_ASSIGNED: {"coach_ref": "coach-7"},
    MilestoneType.COACHING_SESSION_HELD: {"mode": "individual"},
    MilestoneType.TRAINING_ENROLLED: {"course_id": "kitchen-assistant-2027"},
    MilestoneType.PLACEMENT_STARTED: {"kind": "employment", "start_date": "2026-03-10"},
}
PES_ASSESSMENT = Assessment(languages={"fr": "B2", "nl": "A2"}, digital_level=4)


class Coach:
    """A partner's coach who reports one milestone a day on an eligible participant."""

    def __init__(self, partner_id: str, assessment: Assessment | None = None) -> None:
        self.state = TrajectoryState.enrol(
            participant_id="p-order",
            programme=load_programme(partner_id),
            postcode="1080",
            language="fr",
            enrolled_at=ENROLLED,
            day_seconds=86400,
            assessment=assessment,
        )
        self.now = ENROLLED
        self.moves: list[PhaseTransition] = decide_eligibility(
            self.state, EligibilityDecision(eligible=True), self.now
        )

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
        assert self.refusal(kind) is None, (self.state.partner_id, kind)
        self.moves += record(self.state, self.milestone(kind), self.now, None).transitions

    def follow_next_steps(self) -> list[MilestoneType]:
        """Report what `next_steps` names until the phase expects nothing more."""
        reported: list[MilestoneType] = []
        phase = self.state.phase
        while self.state.phase == phase and (steps := next_steps(self.state)):
            self.report(steps[0])
            reported.append(steps[0])
        return reported


@pytest.mark.parametrize("partner_id", PARTNER_IDS)
def test_every_partner_s_required_steps_can_be_reported_in_the_order_next_steps_gives(
    partner_id: str,
) -> None:
    coach = Coach(partner_id)
    programme = coach.state.programme
    reported: list[MilestoneType] = []
    for phase in (Phase.INTAKE, Phase.ASSESSMENT, Phase.COACHING):
        assert coach.state.phase == phase
        expected = [step for step in programme.steps(phase).required if step not in reported]
        assert snapshot_of(coach.state, coach.now).next_steps == expected
        assert coach.follow_next_steps() == expected
        reported += expected
    assert coach.state.phase == Phase.COACHING
    assert snapshot_of(coach.state, coach.now).next_steps == []
    assert coach.refusal(MilestoneType.PLACEMENT_STARTED) is None
    assert coach.refusal(MilestoneType.TRAINING_ENROLLED) is None


def test_an_inbrussel_youth_begins_with_a_job_day_before_any_test_or_interview() -> None:
    coach = Coach("inbrussel")
    assert next_steps(coach.state) == [
        MilestoneType.JOB_DAY_ATTENDED,
        MilestoneType.INTAKE_INTERVIEW_HELD,
    ]
    assert coach.refusal(MilestoneType.INTAKE_INTERVIEW_HELD) == (
        "InBrussel records intake_interview_held after job_day_attended"
    )
    coach.report(MilestoneType.JOB_DAY_ATTENDED)
    coach.report(MilestoneType.INTAKE_INTERVIEW_HELD)
    assert coach.state.phase == Phase.ASSESSMENT
    assert coach.follow_next_steps() == [
        MilestoneType.LANGUAGE_ASSESSED,
        MilestoneType.DIGITAL_ASSESSED,
    ]
    # the Job Day of intake counts in coaching: obstacles, action plan, then applications
    assert next_steps(coach.state) == [
        MilestoneType.OBSTACLES_IDENTIFIED,
        MilestoneType.ACTION_PLAN_AGREED,
        MilestoneType.APPLICATION_SENT,
    ]
    assert coach.refusal(MilestoneType.APPLICATION_SENT) == (
        "InBrussel records application_sent after action_plan_agreed"
    )
    assert coach.refusal(MilestoneType.ACTION_PLAN_AGREED) == (
        "InBrussel records action_plan_agreed after obstacles_identified"
    )


def test_the_inbrussel_order_holds_across_phases_for_a_youth_handed_over_later() -> None:
    coach = Coach("jes")
    coach.follow_next_steps()
    coach.follow_next_steps()
    assert coach.state.phase == Phase.COACHING
    reassign(coach.state, load_programme("inbrussel"), None, coach.now)
    assert next_steps(coach.state)[0] == MilestoneType.JOB_DAY_ATTENDED
    assert coach.refusal(MilestoneType.OBSTACLES_IDENTIFIED) == (
        "InBrussel records obstacles_identified after job_day_attended"
    )
    coach.report(MilestoneType.JOB_DAY_ATTENDED)
    assert coach.refusal(MilestoneType.OBSTACLES_IDENTIFIED) is None


def test_an_inbrussel_youth_tested_before_a_job_day_is_refused_even_in_assessment() -> None:
    coach = Coach("jes")
    coach.follow_next_steps()
    assert coach.state.phase == Phase.ASSESSMENT
    reassign(coach.state, load_programme("inbrussel"), None, coach.now)
    assert coach.refusal(MilestoneType.LANGUAGE_ASSESSED) == (
        "InBrussel records language_assessed after job_day_attended"
    )
    coach.report(MilestoneType.JOB_DAY_ATTENDED)
    assert coach.refusal(MilestoneType.LANGUAGE_ASSESSED) is None


def test_infor_jeunes_stabilises_the_situation_from_the_first_meeting_before_any_test() -> None:
    coach = Coach("infor-jeunes")
    assert next_steps(coach.state) == [
        MilestoneType.INTAKE_INTERVIEW_HELD,
        MilestoneType.SITUATION_STABILISED,
    ]
    coach.report(MilestoneType.INTAKE_INTERVIEW_HELD)
    assert (coach.state.phase, next_steps(coach.state)) == (
        Phase.INTAKE,
        [MilestoneType.SITUATION_STABILISED],
    )
    assert coach.refusal(MilestoneType.LANGUAGE_ASSESSED) is not None
    coach.report(MilestoneType.SITUATION_STABILISED)
    assert coach.follow_next_steps() == [
        MilestoneType.LANGUAGE_ASSESSED,
        MilestoneType.DIGITAL_ASSESSED,
    ]
    # then the integration project, then every step of the plan to realise it
    assert next_steps(coach.state) == [
        MilestoneType.COACH_ASSIGNED,
        MilestoneType.INTEGRATION_PROJECT_DEFINED,
        MilestoneType.ACTION_PLAN_AGREED,
    ]
    assert coach.refusal(MilestoneType.ACTION_PLAN_AGREED) == (
        "Infor Jeunes Bruxelles (Trec-One) records action_plan_agreed after "
        "integration_project_defined"
    )


def test_backstage_re_mobilises_from_the_first_meeting_before_any_test() -> None:
    coach = Coach("backstage")
    assert next_steps(coach.state) == [
        MilestoneType.INTAKE_INTERVIEW_HELD,
        MilestoneType.REMOBILISATION_ACTIVITY,
    ]
    coach.report(MilestoneType.INTAKE_INTERVIEW_HELD)
    assert coach.refusal(MilestoneType.LANGUAGE_ASSESSED) is not None
    coach.report(MilestoneType.REMOBILISATION_ACTIVITY)
    assert coach.state.phase == Phase.ASSESSMENT
    assert coach.refusal(MilestoneType.LANGUAGE_ASSESSED) is None


@pytest.mark.parametrize("partner_id", PARTNER_IDS)
def test_a_youth_the_pes_assessed_passes_the_assessment_phase_and_is_not_tested_again(
    partner_id: str,
) -> None:
    coach = Coach(partner_id, assessment=PES_ASSESSMENT)
    assert coach.state.assessment == PES_ASSESSMENT
    coach.follow_next_steps()
    assert coach.state.phase == Phase.COACHING
    passed = [m for m in coach.moves if m.from_phase == Phase.ASSESSMENT]
    assert [(m.to_phase, m.code) for m in passed] == [(Phase.COACHING, Cause.ASSESSMENT_IMPORTED)]
    assert MilestoneType.LANGUAGE_ASSESSED not in coach.state.seen_types
    refusal = coach.refusal(MilestoneType.LANGUAGE_ASSESSED)
    assert refusal is not None and "not allowed in coaching" in refusal


def test_orientaeuro_follows_up_during_support_once_the_project_is_defined() -> None:
    coach = Coach("orientaeuro")
    coach.follow_next_steps()
    coach.follow_next_steps()
    assert coach.state.phase == Phase.COACHING
    coach.report(MilestoneType.COACH_ASSIGNED)
    for follow_up in (
        MilestoneType.COMPANY_DAY_ATTENDED,
        MilestoneType.PAID_MICRO_PROJECT_COMPLETED,
    ):
        assert coach.refusal(follow_up) == (
            f"OrientaEuro records {follow_up.value} after integration_project_defined"
        )
    coach.report(MilestoneType.INTEGRATION_PROJECT_DEFINED)
    coach.report(MilestoneType.PAID_MICRO_PROJECT_COMPLETED)
    coach.report(MilestoneType.COMPANY_DAY_ATTENDED)
    assert coach.state.phase == Phase.COACHING
    after_leaving = coach.state.programme.steps(Phase.FOLLOW_UP).milestones
    assert after_leaving == {MilestoneType.FOLLOW_UP_CONTACT}


def test_a_jes_youth_trains_before_the_employer_mentor_match_but_is_placed_only_after_it() -> None:
    coach = Coach("jes")
    coach.follow_next_steps()
    coach.follow_next_steps()
    coach.report(MilestoneType.COACH_ASSIGNED)
    coach.report(MilestoneType.BASIC_SKILLS_SESSION)
    assert next_steps(coach.state) == [MilestoneType.EMPLOYER_MENTOR_MATCHED]
    assert coach.refusal(MilestoneType.TRAINING_ENROLLED) is None
    assert coach.refusal(MilestoneType.PLACEMENT_STARTED) == (
        "coaching is not finished: JES first needs employer_mentor_matched"
    )


@pytest.mark.parametrize("partner_id", PARTNER_IDS)
def test_each_partner_file_marks_what_the_programme_description_does_not_give(
    partner_id: str,
) -> None:
    assumed = set(load_programme(partner_id).assumptions)
    clocks = {"nudge_ladder", "dormant_after_days", "remobilisation_days", "max_duration_days"}
    assert clocks <= assumed
    assert {
        f"phases.{phase.value}.inactivity_days" for phase in Phase if phase != Phase.CLOSED
    } <= (assumed)


def test_a_closed_trajectory_expects_nothing_more() -> None:
    coach = Coach("jes")
    coach.report(MilestoneType.WITHDRAWN)
    assert snapshot_of(coach.state, coach.now).next_steps == []

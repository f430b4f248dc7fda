"""The seven partners' programmes: each loads, each is its own, a broken one is refused."""

from typing import Any

import pytest
from pydantic import ValidationError

from trajectory.milestones import MilestoneType as M
from trajectory.phases import OPEN_PHASES, Phase
from trajectory.programme import PartnerProgramme
from trajectory.programmes import PARTNER_IDS, UnknownPartner, load_programme, load_programmes


def _definition(partner_id: str) -> dict[str, Any]:
    return load_programme(partner_id).model_dump(mode="json")


def test_the_seven_partners_of_the_contract_all_load() -> None:
    programmes = load_programmes()
    assert tuple(programmes) == PARTNER_IDS
    assert PARTNER_IDS == (
        "art2work", "backstage", "groep-intro", "inbrussel", "infor-jeunes", "jes", "orientaeuro",
    )  # fmt: skip
    for partner_id, programme in programmes.items():
        assert programme.partner_id == partner_id
        assert programme.version >= 1
        assert set(programme.phases) == set(OPEN_PHASES)


def test_loading_twice_gives_the_same_definition() -> None:
    assert load_programme("jes") is load_programme("jes")


def test_no_two_partners_share_the_same_coaching_steps() -> None:
    coaching = [load_programme(p).steps(Phase.COACHING) for p in PARTNER_IDS]
    assert len({(s.milestones, s.required) for s in coaching}) == len(PARTNER_IDS)


def test_no_two_partners_share_the_same_clocks() -> None:
    clocks = {
        (
            *(p.steps(phase).inactivity_days for phase in OPEN_PHASES),
            p.dormant_after_days,
            p.remobilisation_days,
            p.max_duration_days,
        )
        for p in load_programmes().values()
    }
    assert len(clocks) == len(PARTNER_IDS)


def test_every_partner_requires_only_steps_it_uses() -> None:
    for programme in load_programmes().values():
        for phase in OPEN_PHASES:
            steps = programme.steps(phase)
            assert set(steps.required) <= steps.milestones, (programme.partner_id, phase)


def test_every_partner_runs_the_common_backbone() -> None:
    for programme in load_programmes().values():
        intake, assessment = programme.steps(Phase.INTAKE), programme.steps(Phase.ASSESSMENT)
        coaching, training = programme.steps(Phase.COACHING), programme.steps(Phase.TRAINING)
        assert M.INTAKE_INTERVIEW_HELD in intake.required
        assert {M.LANGUAGE_ASSESSED, M.DIGITAL_ASSESSED} <= set(assessment.required)
        assert {
            M.COACH_ASSIGNED,
            M.ACTION_PLAN_AGREED,
            M.COACHING_SESSION_HELD,
            M.TRAINING_ENROLLED,
            M.PLACEMENT_STARTED,
            M.JOB_OFFER_RECEIVED,
        } <= coaching.milestones
        assert 2 <= len(coaching.required) <= 4
        assert {M.TRAINING_COMPLETED, M.TRAINING_DROPPED} <= training.milestones
        assert training.required == ()
        placement = programme.steps(Phase.PLACEMENT)
        assert {M.PLACEMENT_STARTED, M.PLACEMENT_ENDED} <= placement.milestones
        assert M.FOLLOW_UP_CONTACT in programme.steps(Phase.FOLLOW_UP).milestones
        assert [c.as_of_days for c in programme.follow_up] == [0, 182, 365, 547]


def test_only_jes_sends_street_workers_after_the_coach_has_called() -> None:
    for programme in load_programmes().values():
        actions = [rung.action for rung in programme.nudge_ladder]
        if programme.partner_id == "jes":
            assert programme.has_street_workers
            assert actions == ["message", "message", "coach_call", "outreach"]
        else:
            assert actions == ["message", "message", "coach_call"]
        assert programme.nudge_ladder[0].after_days == 0


def test_jes_finds_youths_on_the_street_and_matches_them_with_a_mentoring_employer() -> None:
    jes = load_programme("jes")
    assert M.STREET_OUTREACH_CONTACT in jes.steps(Phase.INTAKE).milestones
    assert {M.BASIC_SKILLS_SESSION, M.EMPLOYER_MENTOR_MATCHED} <= set(
        jes.steps(Phase.COACHING).required
    )


def test_inbrussel_starts_with_a_job_day_then_obstacles_a_plan_and_applications() -> None:
    required = load_programme("inbrussel").steps(Phase.COACHING).required
    assert required == (
        M.JOB_DAY_ATTENDED,
        M.OBSTACLES_IDENTIFIED,
        M.ACTION_PLAN_AGREED,
        M.APPLICATION_SENT,
    )


def test_infor_jeunes_stabilises_the_situation_before_the_integration_project() -> None:
    required = load_programme("infor-jeunes").steps(Phase.COACHING).required
    assert {M.SITUATION_STABILISED, M.INTEGRATION_PROJECT_DEFINED, M.ACTION_PLAN_AGREED} <= set(
        required
    )


def test_orientaeuro_coaches_in_three_languages_at_three_brussels_sites() -> None:
    orientaeuro = load_programme("orientaeuro")
    assert orientaeuro.languages == ("fr", "en", "es")
    assert [s.name for s in orientaeuro.sites] == ["Etterbeek", "Kunst-Wet", "Molenbeek"]
    coaching = orientaeuro.steps(Phase.COACHING)
    assert M.COMPANY_DAY_ATTENDED in coaching.required
    assert M.PAID_MICRO_PROJECT_COMPLETED in coaching.milestones


def test_backstage_can_remobilise_from_the_first_meeting() -> None:
    backstage = load_programme("backstage")
    assert M.REMOBILISATION_ACTIVITY in backstage.steps(Phase.INTAKE).milestones
    assert M.REMOBILISATION_ACTIVITY in backstage.steps(Phase.COACHING).required


def test_art2work_works_around_the_canal_with_personal_development() -> None:
    art2work = load_programme("art2work")
    assert {s.postcode for s in art2work.sites} == {"1000", "1080"}
    assert M.PERSONAL_DEVELOPMENT_WORKSHOP in art2work.steps(Phase.COACHING).required


def test_groep_intro_gives_each_youth_a_coach_in_dutch_or_french_in_anderlecht() -> None:
    groep_intro = load_programme("groep-intro")
    assert set(groep_intro.languages) == {"nl", "fr"}
    assert [(s.name, s.postcode) for s in groep_intro.sites] == [("Anderlecht", "1070")]
    assert {M.COACH_ASSIGNED, M.COACHING_SESSION_HELD} <= set(
        groep_intro.steps(Phase.COACHING).required
    )


def test_a_definition_requiring_a_step_it_does_not_use_is_refused() -> None:
    definition = _definition("inbrussel")
    definition["phases"]["coaching"]["required"].append("company_day_attended")
    with pytest.raises(ValidationError, match="required but not used: company_day_attended"):
        PartnerProgramme.model_validate(definition)


def test_a_definition_whose_order_cannot_be_followed_is_refused() -> None:
    definition = _definition("infor-jeunes")
    definition["order"]["situation_stabilised"] = ["action_plan_agreed"]
    with pytest.raises(
        ValidationError, match="intake: situation_stabilised comes after action_plan_agreed"
    ):
        PartnerProgramme.model_validate(definition)


def test_a_definition_ordering_a_step_it_never_uses_is_refused() -> None:
    definition = _definition("inbrussel")
    definition["order"]["application_sent"] = ["employer_mentor_matched"]
    with pytest.raises(ValidationError, match="ordered but not used: employer_mentor_matched"):
        PartnerProgramme.model_validate(definition)


def test_a_definition_can_mark_only_its_clocks_and_channels_as_assumed() -> None:
    definition = _definition("jes")
    definition["assumptions"].append("phases.coaching.required")
    with pytest.raises(ValidationError, match=r"phases\.coaching\.required is not a setting"):
        PartnerProgramme.model_validate(definition)


def test_a_definition_letting_training_start_on_a_step_it_does_not_require_is_refused() -> None:
    definition = _definition("jes")
    definition["phases"]["coaching"]["required_before"]["training_enrolled"].append(
        "job_day_attended"
    )
    with pytest.raises(ValidationError, match="required_before names steps not required"):
        PartnerProgramme.model_validate(definition)


def test_a_definition_sending_street_workers_it_does_not_have_is_refused() -> None:
    definition = _definition("orientaeuro")
    outreach = {"action": "outreach", "channel": "street_worker", "after_days": 5}
    definition["nudge_ladder"].append(outreach)
    with pytest.raises(ValidationError, match="an outreach rung needs street workers"):
        PartnerProgramme.model_validate(definition)


def test_a_definition_allowing_training_completion_during_coaching_is_refused() -> None:
    definition = _definition("groep-intro")
    definition["phases"]["coaching"]["milestones"].append("training_completed")
    with pytest.raises(ValidationError, match="engine does not allow training_completed"):
        PartnerProgramme.model_validate(definition)


def test_an_unknown_partner_is_refused_with_the_known_ones_named() -> None:
    with pytest.raises(UnknownPartner, match="no programme for partner 'actiris'") as refused:
        load_programme("actiris")
    assert "jes" in str(refused.value)
    assert refused.value.partner_id == "actiris"


@pytest.mark.parametrize("sneaky", ["../programme", "jes.json", "JES", "", "programmes/jes"])
def test_a_partner_id_that_is_not_a_packaged_file_name_is_unknown(sneaky: str) -> None:
    with pytest.raises(UnknownPartner):
        load_programme(sneaky)

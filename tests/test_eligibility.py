"""Intake eligibility: who may enter the Brussels youth programme, and why not."""

from datetime import date
from typing import Any

import pytest

from trajectory.eligibility import BRUSSELS_POSTCODES, EligibilityFacts, check_eligibility

ENROLLED_ON = date(2025, 3, 10)


def _niss_for(birth: date, counter: str = "123") -> str:
    """A valid number for `birth`, computed from the published mod-97 rule."""
    nine = f"{birth:%y%m%d}{counter}"
    body = int("2" + nine) if birth.year >= 2000 else int(nine)
    return f"{nine}{97 - body % 97:02d}"


def _facts(**changes: Any) -> EligibilityFacts:
    """A 24-year-old NEET from Molenbeek, unless a scenario changes something."""
    birth = changes.get("birth_date", date(2000, 11, 2))
    values: dict[str, Any] = {
        "postcode": "1080",
        "birth_date": birth,
        "national_number": _niss_for(birth),
        "enrolled_on": ENROLLED_ON,
        "employed": False,
        "in_education": False,
        "in_training": False,
        "other_measure_declared": False,
        "in_other_measure_registry": False,
    }
    values.update(changes)
    return EligibilityFacts(**values)


def _codes(facts: EligibilityFacts) -> list[str]:
    return [r.code for r in check_eligibility(facts).reasons]


def test_a_young_neet_from_molenbeek_is_eligible() -> None:
    decision = check_eligibility(_facts())
    assert decision.eligible is True
    assert decision.reasons == []


def test_the_region_has_exactly_the_postcodes_of_its_19_communes() -> None:
    assert len(BRUSSELS_POSTCODES) == 22
    assert {"1000", "1081", "1082", "1083", "1210"} <= BRUSSELS_POSTCODES
    assert "1300" not in BRUSSELS_POSTCODES


def test_someone_living_in_vilvoorde_is_refused_for_living_outside_the_region() -> None:
    assert _codes(_facts(postcode="1800")) == ["postcode_outside_region"]


def test_a_postcode_typed_with_spaces_around_it_still_counts_as_brussels() -> None:
    assert check_eligibility(_facts(postcode=" 1030 ")).eligible is True


def test_a_17_year_old_is_refused_as_too_young() -> None:
    assert _codes(_facts(birth_date=date(2007, 6, 1))) == ["too_young"]


def test_a_young_person_enrolled_on_their_18th_birthday_is_eligible() -> None:
    assert check_eligibility(_facts(birth_date=date(2007, 3, 10))).eligible is True


def test_a_young_person_enrolled_the_day_before_their_18th_birthday_is_too_young() -> None:
    assert _codes(_facts(birth_date=date(2007, 3, 11))) == ["too_young"]


def test_a_30_year_old_on_the_eve_of_their_31st_birthday_is_eligible() -> None:
    assert check_eligibility(_facts(birth_date=date(1994, 3, 11))).eligible is True


def test_a_young_person_enrolled_on_their_31st_birthday_is_too_old() -> None:
    assert _codes(_facts(birth_date=date(1994, 3, 10))) == ["too_old"]


def test_someone_born_on_29_february_turns_18_on_1_march_in_a_common_year() -> None:
    birth = date(2004, 2, 29)
    assert _codes(_facts(birth_date=birth, enrolled_on=date(2022, 2, 28))) == ["too_young"]
    assert check_eligibility(_facts(birth_date=birth, enrolled_on=date(2022, 3, 1))).eligible


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"employed": True}, "employed"),
        ({"in_education": True}, "in_education"),
        ({"in_training": True}, "in_training"),
        ({"other_measure_declared": True}, "other_support_measure"),
        ({"in_other_measure_registry": True}, "other_support_measure"),
    ],
    ids=["has a job", "at school", "in a course", "says followed elsewhere", "in registry"],
)
def test_someone_not_neet_or_already_followed_is_refused_with_that_reason(
    change: dict[str, bool], code: str
) -> None:
    decision = check_eligibility(_facts(**change))
    assert decision.eligible is False
    assert [r.code for r in decision.reasons] == [code]


def test_the_registry_and_the_person_both_reporting_another_measure_give_one_reason() -> None:
    decision = check_eligibility(
        _facts(other_measure_declared=True, in_other_measure_registry=True)
    )
    assert [r.code for r in decision.reasons] == ["other_support_measure"]
    assert "declared" in decision.reasons[0].detail
    assert "registry" in decision.reasons[0].detail


def test_a_mistyped_national_number_is_refused() -> None:
    valid = _niss_for(date(2000, 11, 2))
    wrong = valid[:9] + ("00" if valid[9:] != "00" else "01")
    assert _codes(_facts(national_number=wrong)) == ["invalid_national_number"]


def test_a_national_number_of_someone_born_on_another_day_is_refused() -> None:
    other = _niss_for(date(2000, 11, 3))
    assert _codes(_facts(national_number=other)) == ["birth_date_mismatch"]


def test_a_national_number_with_an_unknown_birth_day_matches_any_day_of_that_year() -> None:
    nine = "000000123"
    number = f"{nine}{97 - int('2' + nine) % 97:02d}"
    assert check_eligibility(_facts(national_number=number)).eligible is True


def test_a_national_number_with_an_unknown_birth_day_from_another_year_is_refused() -> None:
    nine = "010000123"
    number = f"{nine}{97 - int('2' + nine) % 97:02d}"
    assert _codes(_facts(national_number=number)) == ["birth_date_mismatch"]


def test_a_bis_number_for_someone_outside_the_register_is_accepted() -> None:
    nine = "005102123"  # born 2 November 2000, BIS with sex known (+40)
    number = f"{nine}{97 - int('2' + nine) % 97:02d}"
    assert check_eligibility(_facts(national_number=number)).eligible is True


def test_every_failing_rule_is_reported_at_once() -> None:
    decision = check_eligibility(
        _facts(
            postcode="1300",
            birth_date=date(1990, 1, 1),
            national_number="12345678901",
            employed=True,
            in_education=True,
            in_training=True,
            in_other_measure_registry=True,
        )
    )
    assert decision.eligible is False
    assert {r.code for r in decision.reasons} == {
        "postcode_outside_region",
        "too_old",
        "employed",
        "in_education",
        "in_training",
        "other_support_measure",
        "invalid_national_number",
    }


def test_rejection_details_are_readable_and_hold_no_personal_data() -> None:
    birth = date(1990, 1, 1)
    number = _niss_for(date(1990, 1, 2))
    decision = check_eligibility(
        _facts(postcode="1300", birth_date=birth, national_number=number, employed=True)
    )
    assert len(decision.reasons) == 4
    for reason in decision.reasons:
        assert reason.detail[0].isupper() and reason.detail.endswith(".")
        for personal in (number, number[:6], "1300", birth.isoformat(), "1990"):
            assert personal not in reason.detail

"""National register numbers as they arrive at intake: typed by hand, with or without separators."""

from datetime import date

import pytest

from trajectory.niss import InvalidNiss, niss_for, normalise_niss, parse_niss


def _with_check(nine: str, born_from_2000: bool) -> str:
    """A number built from the published rule, independently of the module under test."""
    body = int("2" + nine) if born_from_2000 else int(nine)
    return f"{nine}{97 - body % 97:02d}"


def _corrupt_check(number: str) -> str:
    return number[:9] + f"{(int(number[9:]) % 97) + 1:02d}"


def test_a_man_born_in_1995_is_recognised_with_his_birth_date() -> None:
    info = parse_niss(_with_check("950314123", born_from_2000=False))
    assert info.birth_date == date(1995, 3, 14)
    assert info.birth_year == 1995
    assert info.sex == "male"
    assert info.is_bis is False


def test_a_woman_born_in_2004_is_told_apart_from_1904_by_the_check_digits() -> None:
    info = parse_niss(_with_check("040229246", born_from_2000=True))
    assert info.birth_date == date(2004, 2, 29)
    assert info.birth_year == 2004
    assert info.sex == "female"


def test_the_same_digits_with_the_pre_2000_check_mean_1904() -> None:
    info = parse_niss(_with_check("040229246", born_from_2000=False))
    assert info.birth_year == 1904
    assert info.birth_date == date(1904, 2, 29)


def test_a_number_typed_with_dots_dashes_and_spaces_is_accepted() -> None:
    digits = _with_check("990101001", born_from_2000=False)
    typed = f"{digits[:2]}.{digits[2:4]}.{digits[4:6]}-{digits[6:9]} {digits[9:]}"
    assert normalise_niss(typed) == digits
    assert parse_niss(typed).birth_date == date(1999, 1, 1)


def test_a_typo_in_the_check_digits_is_refused() -> None:
    valid = _with_check("950314123", born_from_2000=False)
    with pytest.raises(InvalidNiss, match="check digits"):
        parse_niss(_corrupt_check(valid))


def test_a_typo_in_the_birth_date_is_caught_by_the_check_digits() -> None:
    valid = _with_check("950314123", born_from_2000=False)
    with pytest.raises(InvalidNiss, match="check digits"):
        parse_niss("950315123" + valid[9:])


def test_a_bis_number_issued_without_the_sex_leaves_sex_unknown() -> None:
    info = parse_niss(_with_check("982315123", born_from_2000=False))
    assert info.is_bis is True
    assert info.birth_date == date(1998, 3, 15)
    assert info.sex is None


def test_a_bis_number_issued_with_the_sex_keeps_it() -> None:
    info = parse_niss(_with_check("014715002", born_from_2000=True))
    assert info.is_bis is True
    assert info.birth_date == date(2001, 7, 15)
    assert info.sex == "female"


def test_an_unknown_birth_day_keeps_the_year_but_no_date() -> None:
    info = parse_niss(_with_check("970600131", born_from_2000=False))
    assert info.birth_date is None
    assert info.birth_year == 1997
    assert info.sex == "male"


def test_an_unknown_birth_month_and_day_keeps_the_year_but_no_date() -> None:
    info = parse_niss(_with_check("030000044", born_from_2000=True))
    assert info.birth_date is None
    assert info.birth_year == 2003


@pytest.mark.parametrize(
    "typed",
    ["9503141234", "950314123456", "95031412A45", "", "95/03/14-123.45", "٩٥٠٣١٤١٢٣٤٥"],
    ids=["ten digits", "twelve digits", "a letter", "empty", "slashes", "non-latin digits"],
)
def test_anything_but_eleven_digits_is_refused(typed: str) -> None:
    with pytest.raises(InvalidNiss, match="11 digits"):
        parse_niss(typed)


@pytest.mark.parametrize(
    ("nine", "reason"),
    [
        ("951314123", "month"),
        ("953314123", "month"),
        ("955314123", "month"),
        ("950332123", "day"),
        ("950230123", "does not exist"),
    ],
    ids=["month 13", "bis month 33", "bis month 53", "day 32", "30 February"],
)
def test_a_number_with_a_correct_check_but_an_impossible_date_is_refused(
    nine: str, reason: str
) -> None:
    with pytest.raises(InvalidNiss, match=reason):
        parse_niss(_with_check(nine, born_from_2000=False))


def test_the_reason_for_a_refusal_never_repeats_the_number() -> None:
    valid = _with_check("950314123", born_from_2000=False)
    wrong = _corrupt_check(valid)
    with pytest.raises(InvalidNiss) as refused:
        parse_niss(wrong)
    assert wrong not in str(refused.value)
    assert "950314" not in str(refused.value)


@pytest.mark.parametrize(
    ("born", "counter", "sex"),
    [
        (date(1999, 12, 31), 1, "male"),
        (date(2000, 1, 1), 2, "female"),
        (date(2004, 2, 29), 997, "male"),
        (date(1994, 7, 3), 450, "female"),
    ],
)
def test_a_made_up_number_follows_the_register_rule_for_its_birth_date_and_sex(
    born: date, counter: int, sex: str
) -> None:
    number = niss_for(born, counter)

    nine = f"{born:%y%m%d}{counter:03d}"
    assert number == _with_check(nine, born_from_2000=born.year >= 2000)
    info = parse_niss(number)
    assert (info.birth_date, info.sex, info.is_bis) == (born, sex, False)

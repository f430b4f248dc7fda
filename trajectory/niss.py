"""Belgian national register (INSZ/NISS) and BIS numbers: format and mod-97 check (DESIGN §9).

Layout: `YYMMDD` birth date, a 3-digit counter (odd for men, even for women) and two check
digits equal to 97 - (first nine digits mod 97); for births from 2000 the check is computed on
"2" followed by the nine digits, which is how the century is told apart. Month or day is 00 when
unknown. BIS numbers add 40 to the month when the sex was known at registration and 20 when it
was not (the counter then says nothing about sex).

Error messages never repeat the number: they may end up in logs.
"""

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

_SEPARATORS = re.compile(r"[.\- ]")
_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")
_BIS_SEX_UNKNOWN = 20
_BIS_SEX_KNOWN = 40


class InvalidNiss(ValueError):
    """A national register number that is malformed or fails its check; the message says why."""


class NissInfo(BaseModel):
    """What a valid number tells about its holder."""

    model_config = ConfigDict(frozen=True)

    birth_date: date | None
    """None when the month or the day is unknown (00)."""
    birth_year: int
    sex: Literal["male", "female"] | None
    """None for a BIS number issued without the sex."""
    is_bis: bool


def normalise_niss(value: str) -> str:
    """The 11 digits of `value`, without the usual `.`, `-` and space separators."""
    digits = _SEPARATORS.sub("", value.strip())
    if not _ELEVEN_DIGITS.fullmatch(digits):
        raise InvalidNiss(
            "a national register number has 11 digits (separators '.', '-' and spaces allowed)"
        )
    return digits


def _check_digits(nine: str, born_from_2000: bool) -> int:
    body = int(("2" + nine) if born_from_2000 else nine)
    return 97 - body % 97


def niss_for(born: date, counter: int) -> str:
    """The national register number of someone born on `born` with `counter` (1 to 998, odd for
    men): made-up people for demos and tests that the register's rule accepts."""
    nine = f"{born:%y%m%d}{counter:03d}"
    return f"{nine}{_check_digits(nine, born_from_2000=born.year >= 2000):02d}"


def parse_niss(value: str) -> NissInfo:
    """Validate a national register or BIS number and decode its birth date and sex.

    The century follows from which check matches; both cannot match because 2_000_000_000 is
    not a multiple of 97.
    """
    digits = normalise_niss(value)
    nine, check = digits[:9], int(digits[9:])
    if check == _check_digits(nine, born_from_2000=True):
        century = 2000
    elif check == _check_digits(nine, born_from_2000=False):
        century = 1900
    else:
        raise InvalidNiss("the check digits do not match the rest of the number")

    year = century + int(digits[0:2])
    month, day, counter = int(digits[2:4]), int(digits[4:6]), int(digits[6:9])
    is_bis = month > 12
    sex_known = True
    if month >= _BIS_SEX_KNOWN:
        month -= _BIS_SEX_KNOWN
    elif month >= _BIS_SEX_UNKNOWN:
        month -= _BIS_SEX_UNKNOWN
        sex_known = False
    if month > 12:
        raise InvalidNiss("the month part is neither a month, 00, nor a BIS month (+20 or +40)")
    if day > 31:
        raise InvalidNiss("the day part is not a day of the month")

    birth_date: date | None = None
    if month and day:
        try:
            birth_date = date(year, month, day)
        except ValueError:
            raise InvalidNiss("the birth date in the number does not exist") from None

    sex: Literal["male", "female"] | None = None
    if sex_known:
        sex = "male" if counter % 2 else "female"
    return NissInfo(birth_date=birth_date, birth_year=year, sex=sex, is_bis=is_bis)

"""Text the engine accepts: free text a person can read and PostgreSQL can store, and days and
times written as text."""

import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field

_ALLOWED_CONTROLS = {"\t", "\n", "\r"}

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Bidirectional embeddings, overrides and isolates: they reorder how the text around them is
shown (the "Trojan Source" trick), so a name or a reason would read other than it is."""


def _named(char: str) -> str:
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'no name').lower()})"


def plain_text(value: str) -> str:
    """Refuse control characters and lone surrogates: PostgreSQL cannot store NUL or them."""
    for char in value:
        category = unicodedata.category(char)
        if (category == "Cc" and char not in _ALLOWED_CONTROLS) or category == "Cs":
            raise ValueError(f"contains {_named(char)}, a control character or invalid code point")
    return value


VISIBLE_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"
"""What `visible_text` accepts, as a JSON Schema pattern: no control character but tab, line
feed and carriage return, no bidirectional control. (Lone surrogates, which it refuses too, are
no Unicode characters: a JSON text in UTF-8 cannot carry one, so the pattern need not say it.)"""

PlainText = Annotated[
    str, AfterValidator(plain_text), Field(json_schema_extra={"pattern": VISIBLE_TEXT_PATTERN})
]
"""A string checked by `plain_text`; every free-text field of a request is one.

Its schema gives `VISIBLE_TEXT_PATTERN`, which is what the API accepts: the API also refuses
bidirectional controls (`hidden_controls`), the workflow's own models do not (see `visible_text`).
"""


def visible_text(value: str) -> str:
    """`plain_text` that also shows as it reads: no bidirectional controls.

    For new input only (`hidden_controls` at the API, person names): the workflow's own models
    keep `plain_text`, so the histories of trajectories that already hold such text replay.
    """
    plain_text(value)
    for char in value:
        if char in BIDI_CONTROLS:
            raise ValueError(f"contains {_named(char)}, which reorders how the text is shown")
    return value


def hidden_controls(value: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[str, str]]:
    """Each text field of a request model that `visible_text` refuses: (`a.b.0`, why)."""
    if isinstance(value, str):
        try:
            visible_text(value)
        except ValueError as refusal:
            yield ".".join(str(part) for part in loc), str(refusal)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from hidden_controls(getattr(value, name), (*loc, name))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from hidden_controls(item, (*loc, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from hidden_controls(item, (*loc, str(key)))


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _not_a_number(value: Any) -> Any:
    """Refuse a number where a date or a time is due: pydantic would read it as seconds since
    1970, which no schema that says `format: date` or `date-time` allows."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("should be written as text (ISO 8601), not a number")
    return value


def _a_day(value: Any) -> Any:
    """A day written YYYY-MM-DD, as `format: date` says (pydantic also reads other forms)."""
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("should be a date, YYYY-MM-DD")
    return _not_a_number(value)


IsoDate = Annotated[date, BeforeValidator(_a_day)]
"""A day in a request: `YYYY-MM-DD` only."""
IsoTime = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]
"""A moment in a request: ISO 8601 text with its offset, never a number."""

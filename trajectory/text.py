"""Free text the engine accepts: what PostgreSQL can store and a person can read."""

import unicodedata
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel

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


PlainText = Annotated[str, AfterValidator(plain_text)]
"""A string checked by `plain_text`; every free-text field of a request is one."""


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

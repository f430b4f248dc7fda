"""Free text the engine accepts: what PostgreSQL can store and a person can read."""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def plain_text(value: str) -> str:
    """Refuse control characters and lone surrogates: PostgreSQL cannot store NUL or them."""
    for char in value:
        category = unicodedata.category(char)
        if (category == "Cc" and char not in _ALLOWED_CONTROLS) or category == "Cs":
            raise ValueError("contains a control character or an invalid code point")
    return value


PlainText = Annotated[str, AfterValidator(plain_text)]
"""A string checked by `plain_text`; every free-text field of a request is one."""

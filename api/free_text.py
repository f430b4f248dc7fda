"""Who reads which free text (DESIGN 8.1): a partner's view leaves out case managers' words.

A partner reads the free text of entries a partner wrote (its own milestones and task notes, or
those of the partner that held the participant before); whatever else carries words (a case
manager's reason or note, a steering change made from the Web UI or the CLI, where the actor is
unknown) stays out of a partner's answers. Every other role reads them all.
"""

from collections.abc import Mapping
from typing import Any

from api.auth import Caller
from trajectory.actors import Actor, Role

FREE_TEXT = frozenset({"reason", "note"})
"""Fields of an entry that hold someone's words (a milestone's are in its payload)."""


def may_read(caller: Caller, written_by: Actor | None) -> bool:
    """Whether `caller` may read free text that `written_by` wrote (None: unknown or engine)."""
    return caller.role != Role.PARTNER or (written_by is not None and written_by.role == "partner")


def with_texts(detail: Mapping[str, Any], texts: Mapping[str, Any]) -> dict[str, Any]:
    """`detail` with the unsealed `texts` in their places (a payload's inside the payload)."""
    merged = dict(detail)
    for field, text in texts.items():
        if isinstance(text, Mapping):
            merged[field] = {**merged.get(field, {}), **text}
        else:
            merged[field] = text
    return merged

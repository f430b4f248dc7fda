"""Who did something, as the read model's `actor_*` columns hold it (null for the engine)."""

from collections.abc import Mapping
from typing import Any

from trajectory.actors import Actor

ACTOR_COLUMNS = ("actor_role", "actor_partner_id", "actor_key_id", "actor_user_id")
"""The columns, in the order `actor_values` gives them."""


def actor_values(actor: Actor | None) -> tuple[str | None, str | None, str | None, str | None]:
    """The actor's values for `ACTOR_COLUMNS`."""
    if actor is None:
        return (None, None, None, None)
    return (actor.role, actor.partner_id, actor.key_id, actor.user_id)


def actor_from_row(row: Mapping[str, Any]) -> Actor | None:
    """The actor a row's `ACTOR_COLUMNS` hold, None for the engine."""
    if row["actor_role"] is None:
        return None
    return Actor(
        role=row["actor_role"],
        partner_id=row["actor_partner_id"],
        key_id=row["actor_key_id"],
        user_id=row["actor_user_id"],
    )

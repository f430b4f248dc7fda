"""Who did something to a trajectory, as far as the engine can tell (DESIGN §8.1)."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    """What a caller may do: enrol (backend), steer (case manager) or report (partner)."""

    BACKEND = "backend"
    CASE_MANAGER = "case_manager"
    PARTNER = "partner"


class Actor(BaseModel):
    """The caller behind a milestone or a steering action; `None` stands for the engine itself.

    Keys identify callers today (`key_id` is the key's public prefix); `user_id` is kept for
    people signed in through OIDC later.
    """

    model_config = ConfigDict(frozen=True)

    role: Role
    partner_id: str | None = None
    key_id: str | None = None
    user_id: str | None = Field(default=None, max_length=200)

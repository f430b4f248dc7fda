"""The programme's targets, as configuration: 3,000 participants over its four years (2024 to
2027), and each partner's quota, placeholders marked as such (`trajectory/targets.json`, or the
file `PARCOURS_TARGETS_FILE` names)."""

import os
from datetime import date
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ProgrammeTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    participants: int = Field(gt=0)
    starts_on: date
    ends_on: date


class Targets(BaseModel):
    """How many participants the programme, and each partner, should reach by its end."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str | None = None
    programme: ProgrammeTarget
    partners: dict[str, int]
    placeholders: frozenset[str] = Field(
        default=frozenset(),
        description="the partners whose quota is a placeholder until their agreement fixes it",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Targets":
        if self.programme.ends_on <= self.programme.starts_on:
            raise ValueError("the programme must end after it starts")
        if sum(self.partners.values()) != self.programme.participants:
            raise ValueError("the partners' quotas must add up to the programme's target")
        if unknown := sorted(self.placeholders - set(self.partners)):
            raise ValueError(f"placeholders name partners without a quota: {', '.join(unknown)}")
        return self

    def expected_share(self, on: date) -> float:
        """The share of the target due by `on`, at an even pace over the programme's days."""
        start, end = self.programme.starts_on, self.programme.ends_on
        elapsed = (min(max(on, start), end) - start).days
        return elapsed / (end - start).days


def load_targets() -> Targets:
    """The configured targets."""
    configured = os.environ.get("PARCOURS_TARGETS_FILE")
    text = (
        Path(configured).read_text(encoding="utf-8")
        if configured
        else (files("trajectory") / "targets.json").read_text(encoding="utf-8")
    )
    return Targets.model_validate_json(text)

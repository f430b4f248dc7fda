"""A partner's programme: its steps, clocks and nudge ladder, as validated data (DESIGN §2)."""

from collections.abc import Collection
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trajectory.milestones import LanguageCode, MilestoneType, engine_phases
from trajectory.phases import OPEN_PHASES, Phase


class Channel(StrEnum):
    """How a nudge reaches the participant or who acts on it."""

    SMS = "sms"
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    PHONE = "phone"
    STREET_WORKER = "street_worker"


class PhaseSteps(BaseModel):
    """What a partner does in one phase and how long silence may last there."""

    model_config = ConfigDict(frozen=True)

    milestones: frozenset[MilestoneType] = Field(
        description="milestone types the partner uses here"
    )
    required: tuple[MilestoneType, ...] = Field(
        default=(),
        description="types recorded before the phase may end, in the programme's order",
    )
    after: dict[MilestoneType, tuple[MilestoneType, ...]] = Field(
        default_factory=dict, description="a type recorded here only once these types are"
    )
    required_before: dict[MilestoneType, tuple[MilestoneType, ...]] = Field(
        default_factory=dict,
        description="a milestone that leaves the phase needing only these of `required`",
    )
    inactivity_days: int = Field(ge=1, le=365, description="silence allowed since the last contact")

    @model_validator(mode="after")
    def _in_order(self) -> "PhaseSteps":
        """Every required step is reachable by recording `required` in its listed order."""
        if len(set(self.required)) != len(self.required):
            raise ValueError("a required step is listed twice")
        if extra := sorted(set(self.required) - self.milestones):
            raise ValueError(f"required but not used: {', '.join(extra)}")
        for kind, before in self.after.items():
            if unused := sorted({kind, *before} - self.milestones):
                raise ValueError(f"ordered but not used: {', '.join(unused)}")
            if kind in self.required:
                earlier = self.required[: self.required.index(kind)]
                if late := [step for step in before if step not in earlier]:
                    raise ValueError(
                        f"{kind} comes after {', '.join(late)}, which must be required before it"
                    )
        for kind, needed in self.required_before.items():
            if kind not in self.milestones:
                raise ValueError(f"required_before names {kind}, which is not used")
            if extra := sorted(set(needed) - set(self.required)):
                raise ValueError(f"{kind}: required_before names steps not required: {extra}")
        return self

    def missing(
        self, seen: Collection[MilestoneType], leaving_by: MilestoneType | None = None
    ) -> list[MilestoneType]:
        """Required steps not in `seen`, in order; only what `leaving_by` needs when named."""
        needed = (
            self.required_before.get(leaving_by, self.required) if leaving_by else self.required
        )
        return [step for step in self.required if step in needed and step not in seen]


class NudgeStep(BaseModel):
    """One rung of the re-mobilisation ladder, climbed after `after_days` of further silence."""

    model_config = ConfigDict(frozen=True)

    action: Literal["message", "coach_call", "outreach"]
    channel: Channel
    after_days: int = Field(
        ge=0, le=90, description="days after the previous rung (or the timeout)"
    )


class Site(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    postcode: str = Field(pattern=r"^\d{4}$")


class FollowUpCheckpoint(BaseModel):
    """A check-in after leaving, `due_days` after the leaving date."""

    model_config = ConfigDict(frozen=True)

    name: Literal["on_leaving", "6_months", "12_months", "18_months"]
    due_days: int = Field(ge=0, le=600)


class PartnerProgramme(BaseModel):
    """One versioned definition per partner; a new partner is a new definition, not new code."""

    model_config = ConfigDict(frozen=True)

    partner_id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,31}$")
    version: int = Field(ge=1)
    name: str
    description: str
    languages: tuple[LanguageCode, ...] = Field(min_length=1)
    sites: tuple[Site, ...] = Field(min_length=1)
    has_street_workers: bool = False
    phases: dict[Phase, PhaseSteps]
    nudge_ladder: tuple[NudgeStep, ...] = Field(min_length=1)
    dormant_after_days: int = Field(
        ge=1, le=90, description="silence after the last rung before dormant"
    )
    remobilisation_days: int = Field(
        ge=1, le=365, description="how long a dormant trajectory may wake"
    )
    placement_settling_days: int = Field(
        ge=0, le=120, description="days a placement must last before the participant leaves"
    )
    follow_up: tuple[FollowUpCheckpoint, ...] = Field(min_length=1)
    max_duration_days: int = Field(ge=30, le=1500, description="longest time before leaving")

    @model_validator(mode="after")
    def _consistent(self) -> "PartnerProgramme":
        missing = [p for p in OPEN_PHASES if p not in self.phases]
        if missing:
            raise ValueError(f"phases missing: {', '.join(missing)}")
        if Phase.CLOSED in self.phases:
            raise ValueError("closed is not a phase with steps")
        for phase, steps in self.phases.items():
            for milestone_type in steps.milestones:
                if phase not in engine_phases(milestone_type):
                    raise ValueError(f"{phase}: the engine does not allow {milestone_type} here")
        if any(s.action == "outreach" for s in self.nudge_ladder) and not self.has_street_workers:
            raise ValueError("an outreach rung needs street workers")
        due = [c.due_days for c in self.follow_up]
        if due != sorted(due):
            raise ValueError("follow-up checkpoints must be in order")
        return self

    def steps(self, phase: Phase) -> PhaseSteps:
        """The partner's steps in `phase` (open phases only)."""
        return self.phases[phase]

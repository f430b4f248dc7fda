"""A partner's programme: its steps, clocks and nudge ladder, as validated data (DESIGN §2)."""

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
    required: frozenset[MilestoneType] = Field(
        default=frozenset(), description="types that must be recorded before the phase may end"
    )
    inactivity_days: int = Field(ge=1, le=365, description="silence allowed since the last contact")


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
            if not steps.required <= steps.milestones:
                extra = sorted(steps.required - steps.milestones)
                raise ValueError(f"{phase}: required but not used: {', '.join(extra)}")
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

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
    required_before: dict[MilestoneType, tuple[MilestoneType, ...]] = Field(
        default_factory=dict,
        description="a milestone that leaves the phase needing only these of `required`",
    )
    inactivity_days: int = Field(ge=1, le=365, description="silence allowed since the last contact")

    @model_validator(mode="after")
    def _consistent(self) -> "PhaseSteps":
        if len(set(self.required)) != len(self.required):
            raise ValueError("a required step is listed twice")
        if extra := sorted(set(self.required) - self.milestones):
            raise ValueError(f"required but not used: {', '.join(extra)}")
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


CheckpointName = Literal["on_leaving", "6_months", "12_months", "18_months"]


class FollowUpCheckpoint(BaseModel):
    """A check-in after leaving: the situation as of `as_of_days` after the leaving day, which
    may be answered from that day on, for four weeks (`follow_ups.ANSWER_WINDOW_DAYS`)."""

    model_config = ConfigDict(frozen=True)

    name: CheckpointName
    as_of_days: int = Field(ge=0, le=600, description="days after leaving the status is taken")


_ASSUMABLE = frozenset(
    {
        "languages",
        "sites",
        "nudge_ladder",
        "dormant_after_days",
        "remobilisation_days",
        "placement_settling_days",
        "follow_up",
        "max_duration_days",
        *(f"phases.{phase.value}.inactivity_days" for phase in OPEN_PHASES),
    }
)
"""What a partner file may mark as assumed: the clocks and channels, never the steps."""


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
    order: dict[MilestoneType, tuple[MilestoneType, ...]] = Field(
        default_factory=dict,
        description="a type recorded, in any phase, only once these types are (the programme's "
        "order across phases)",
    )
    assumptions: tuple[str, ...] = Field(
        default=(),
        description="settings the programme description does not give, to be confirmed by the "
        "partner agreement: field names, `phases.<phase>.inactivity_days` for one phase",
    )

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
        due = [c.as_of_days for c in self.follow_up]
        if due != sorted(due):
            raise ValueError("follow-up checkpoints must be in order")
        self._ordered()
        for path in self.assumptions:
            if path not in _ASSUMABLE:
                raise ValueError(f"assumptions: {path} is not a setting of a programme")
        return self

    def _ordered(self) -> None:
        """Each ordered type is used, and every phase's required steps can be recorded in their
        listed order: what must come first is required earlier in the phase or before it."""
        used = {kind for steps in self.phases.values() for kind in steps.milestones}
        for kind, before in self.order.items():
            if unused := sorted({kind, *before} - used):
                raise ValueError(f"ordered but not used: {', '.join(unused)}")
        done: set[MilestoneType] = set()
        for phase in OPEN_PHASES:
            required = self.phases[phase].required
            for index, kind in enumerate(required):
                earlier = done | set(required[:index])
                if late := [step for step in self.order.get(kind, ()) if step not in earlier]:
                    raise ValueError(
                        f"{phase}: {kind} comes after {', '.join(late)}, which must be required "
                        "before it"
                    )
            done |= set(required)

    def earlier(self, kind: MilestoneType) -> tuple[MilestoneType, ...]:
        """The types the programme records before `kind`, in whatever phase."""
        return self.order.get(kind, ())

    def steps(self, phase: Phase) -> PhaseSteps:
        """The partner's steps in `phase` (open phases only)."""
        return self.phases[phase]

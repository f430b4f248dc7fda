"""The re-mobilisation ladder: when each rung of silence falls due (DESIGN §4)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from trajectory.phases import Phase
from trajectory.programme import NudgeStep, PartnerProgramme


@dataclass(frozen=True)
class Rung:
    """A rung of the ladder; `level` counts from 1, and the rung after the last is dormancy."""

    level: int
    step: NudgeStep | None
    due_at: datetime

    @property
    def is_dormancy(self) -> bool:
        return self.step is None


@dataclass(frozen=True)
class NudgeLadder:
    """The ladder of one partner in one phase, on a clock where a programme day lasts `day`."""

    programme: PartnerProgramme
    phase: Phase
    day: timedelta

    def rung(self, level: int, silent_since: datetime) -> Rung:
        """Rung `level` (1-based) for a silence that began at `silent_since`."""
        steps = self.programme.nudge_ladder
        days = self.programme.steps(self.phase).inactivity_days
        days += sum(step.after_days for step in steps[:level])
        if level > len(steps):
            return Rung(
                level, None, silent_since + self.day * (days + self.programme.dormant_after_days)
            )
        return Rung(level, steps[level - 1], silent_since + self.day * days)

"""The trajectory's one timer: set for the next deadline, and kept while deadlines only move
later, so that most Updates cost no timer at all."""

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from trajectory.silence import Timer

SHORTEST = timedelta(milliseconds=10)
"""A deadline already past rings almost at once."""


class Alarm:
    """Rings at the earliest deadline it was set for. A change that moves the next deadline
    later leaves it set: it rings early, the trajectory finds nothing due and sets it again.
    (A timer cancelled and started on every contact cost two events and two timer operations
    per milestone: `bench/profile_milestones.py`.)"""

    def __init__(self) -> None:
        self._ringing: asyncio.Task[None] | None = None
        self._at: datetime | None = None
        self.rang = False

    def set_for(self, timer: Timer | None) -> None:
        """Ring at `timer` (never, for None) unless already set to ring before it."""
        if timer is None:
            self._stop()
        elif self._at is None or timer.at < self._at:
            self._stop()
            self._at = timer.at
            delay = max(timer.at - workflow.now(), SHORTEST)
            self._ringing = asyncio.create_task(self._ring(delay, timer.summary))

    def answered(self) -> None:
        """The trajectory saw it ring; it rings again only when set again."""
        self.rang, self._ringing, self._at = False, None, None

    async def _ring(self, delay: timedelta, summary: str) -> None:
        await workflow.sleep(delay, summary=summary)
        self.rang = True

    def _stop(self) -> None:
        if self._ringing is not None:
            self._ringing.cancel()
        self._ringing, self._at = None, None

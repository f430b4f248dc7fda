"""Needs attention: a step that fails for good waits for a case manager, then runs again.

The trajectory never fails and never retries for ever: it shows `needs_attention` with what
failed (no personal data), and tries the step again once a case manager resumes it.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, RetryState

with workflow.unsafe.imports_passed_through():
    from trajectory.records import PhaseTransition
    from trajectory.state import TrajectoryState
    from trajectory.steering import hold
    from workflows.errors import REFUSED

Share = Callable[[list[PhaseTransition]], object]
"""How a change reaches the loop, the Web UI and the read model (the workflow's own)."""


def _why(error: FailureError) -> str:
    cause = error.cause if isinstance(error, ActivityError) else error
    if isinstance(error, ActivityError) and error.retry_state in (
        RetryState.MAXIMUM_ATTEMPTS_REACHED,
        RetryState.TIMEOUT,
    ):
        return "still failing after every retry"
    if isinstance(cause, ApplicationError) and cause.type:
        return cause.type
    return type(cause).__name__


class Attention:
    """Runs steps that a case manager must see to when they fail for good."""

    def __init__(self, state: TrajectoryState, share: Share) -> None:
        self._state = state
        self._share = share
        self._background: set[asyncio.Task[Any]] = set()
        self.intake_held = False
        """The intake check waited for a case manager: the read model may follow meanwhile."""

    async def until_done(
        self,
        what: str,
        step: Callable[[], Awaitable[Any]],
        *,
        failed: FailureError | None = None,
        while_open: bool = False,
    ) -> Any:
        """`step`'s result, after as many holds as it takes; None when `while_open` and a case
        manager closed the trajectory instead. (Typed `Any`: a generic method here would hide
        the workflow class from the SDK's typed handles.)"""
        while True:
            if failed is not None:
                await self.hold(what, failed)
                if while_open and self._state.is_closed:
                    return None
            try:
                return await step()
            except FailureError as error:
                if isinstance(error, ApplicationError) and error.type == REFUSED:
                    raise  # the step's answer, not its failure
                failed = error

    def in_background(self, what: str, step: Callable[[], Awaitable[Any]]) -> None:
        """`until_done`, without holding up the caller (an Update answering now)."""
        task = asyncio.create_task(self.until_done(what, step))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def hold(self, what: str, error: FailureError) -> None:
        """Show that `what` failed for good, and wait until a case manager resumes or closes."""
        state = self._state
        attention = f"{what} failed: {_why(error)}"
        workflow.logger.warning(
            "needs_attention",
            extra={"participant_id": state.participant_id, "attention": attention},
        )
        self.intake_held = self.intake_held or state.eligibility == "pending"
        self._share(hold(state, attention, workflow.now()))
        await workflow.wait_condition(lambda: not state.needs_attention)

    @property
    def idle(self) -> bool:
        """No step runs in the background."""
        return not self._background
